"""healthcheck: header values (an Authorization header, typically) never show in the result or the diff,
also when the current value Cloudflare answers differs from the new one (Ansible's no_log masks only the
value given to the task, not the one it replaces)."""
import json

from ansible_collections.cfops.cloudflare.plugins.modules import healthcheck
from ansible_collections.cfops.cloudflare.tests.unit.plugins.modules.module_runner import module_result, writes
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply, envelope

# Health checks need a Pro plan or higher (a Free zone is refused before any write).
ZONE = {"id": "z" * 32, "name": "example.com", "plan": {"legacy_id": "pro"}, "account": {"id": "a" * 32}}
OLD, NEW = "Bearer OLD-SECRET-0123", "Bearer NEW-SECRET-4567"


def existing(header):
    return {"id": "h" * 32, "name": "books", "address": "books.example.com", "type": "HTTPS", "interval": 60, "retries": 2,
            "timeout": 5, "consecutive_fails": 1, "consecutive_successes": 1, "check_regions": None, "description": "",
            "suspended": False, "tcp_config": None,
            "http_config": {"path": "/", "method": "GET", "port": 443, "expected_codes": ["200"], "expected_body": "",
                            "header": header, "follow_redirects": False, "allow_insecure": False}}


def run(server, capsys, current, **args):
    answers = {("GET", "/client/v4/zones"): envelope([ZONE]),
               ("GET", "/client/v4/zones/%s/healthchecks" % ZONE["id"]): envelope(current, {"total_pages": 1})}

    def handler(request):
        if request.method in ("POST", "PUT"):
            return Reply(200, envelope(dict(existing(None), **json.loads(request.body))))
        return Reply(200, answers[(request.method, request.path)])
    server.handler = handler
    return module_result(healthcheck.main, capsys, server, zone="example.com", name="books", address="books.example.com",
                         _ansible_diff=True, **args)


def test_a_rotated_authorization_header_is_written_and_shows_neither_value(server, capsys):
    result = run(server, capsys, [existing({"Authorization": [OLD], "Host": ["books.example.com"]})],
                 header={"Authorization": [NEW], "Host": ["books.example.com"]})
    assert result["changed"] is True, result
    assert [json.loads(r.body)["http_config"]["header"]["Authorization"] for r in writes(server)] == [[NEW]]
    shown = json.dumps(result)
    assert "OLD-SECRET" not in shown and "NEW-SECRET" not in shown
    assert result["diff"]["before"]["http_config"]["header"] == {"Authorization": ["<redacted>"], "Host": ["<redacted>"]}
    after = result["diff"]["after"]["http_config"]["header"]
    assert after == {"Authorization": ["<redacted, changed>"], "Host": ["<redacted>"]}
    assert result["healthcheck"]["http_config"]["header"] == {"Authorization": ["<redacted>"], "Host": ["<redacted>"]}


def test_a_new_health_check_shows_no_header_value(server, capsys):
    result = run(server, capsys, [], header={"Authorization": [NEW]})
    assert result["changed"] is True
    assert "NEW-SECRET" not in json.dumps(result)
    assert result["diff"]["after"]["http_config"]["header"] == {"Authorization": ["<redacted>"]}


def test_an_unchanged_header_is_no_change_and_shows_no_value(server, capsys):
    result = run(server, capsys, [existing({"Authorization": [OLD]})], header={"Authorization": [OLD]})
    assert result["changed"] is False and writes(server) == []
    assert "OLD-SECRET" not in json.dumps(result)
