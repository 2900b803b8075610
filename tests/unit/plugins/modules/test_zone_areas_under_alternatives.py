"""The zone-scoped modules under the answers Cloudflare may give where no source settles it.

The fidelity ledger (emulator/fidelity/{zones,dns,rulesets,healthchecks,zone_settings}.yml) marks these
as assumptions; each test here runs the real module (a subprocess, as Ansible runs it) against a real
local HTTP server answering each plausible alternative, and checks what a user notices: the result,
the message, and that nothing was written when the module should stop.
"""
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply, envelope, failure

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
COLLECTIONS = os.path.join(REPO, ".collections")
ZONE_ID = "0123456789abcdef0123456789abcdef"
ZONE = {"id": ZONE_ID, "name": "example.com", "plan": {"legacy_id": "free"}}
PAID_ZONE = dict(ZONE, plan={"legacy_id": "pro"})  # health checks need a Pro plan or higher
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def run_module(module, server, tmp_path, **args):
    """Run plugins/modules/<module>.py with ``args`` (plus the server's URL and a token); its JSON result."""
    args = dict(args, api_token="unit-test-token", api_base_url=server.base_url, api_max_retries=0)
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=COLLECTIONS + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-m", "ansible_collections.cfops.cloudflare.plugins.modules." + module, str(path)],
                          capture_output=True, env=env, cwd=REPO, timeout=120, check=False)
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise AssertionError("module %s printed no JSON result: %s %s" % (module, done.stdout[-2000:], done.stderr[-2000:]))


def writes(server):
    return [(r.method, r.path) for r in server.requests if r.method in WRITES]


def routed(routes):
    """A handler answering ``{(METHOD, path suffix): Reply}``; an unscripted call is a test failure (500)."""
    def handler(request):
        for (method, suffix), reply in routes.items():
            if request.method == method and request.path.endswith(suffix):
                return reply() if callable(reply) else reply
        return Reply(500, {"unscripted": "%s %s" % (request.method, request.path)})
    return handler


# Zones --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("status, code, message", [
    (404, 1001, "Invalid zone identifier"),   # what the emulator answers
    (400, 1001, "Invalid zone identifier"),   # as quoted in terraform-provider-cloudflare#192
    (403, 9109, "Unauthorized to access requested resource"),
    (403, 10000, "Authentication error"),
])
def test_an_unknown_zone_id_fails_with_cloudflares_message_before_any_write(server, tmp_path, status, code, message):
    server.handler = routed({("GET", "/zones/" + ZONE_ID): failure(status, (code, message))})
    result = run_module("dns_record", server, tmp_path, zone=ZONE_ID, name="www", type="A", content="192.0.2.1")
    assert result["failed"] is True
    assert message in result["msg"] and ("HTTP %d" % status) in result["msg"]
    assert writes(server) == []


# DNS ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("errors", [
    [{"code": 9007, "message": "Content for CNAME record is invalid."}],                        # top level
    [{"code": 1004, "message": "DNS Validation Error",                                          # wrapped, as quoted
      "error_chain": [{"code": 9007, "message": "Content for CNAME record is invalid."}]}],     # in external-dns#753
])
def test_a_refused_dns_write_shows_cloudflares_reason_at_top_level_or_in_the_error_chain(server, tmp_path, errors):
    server.handler = routed({
        ("GET", "/zones/" + ZONE_ID): Reply(200, envelope(ZONE)),
        ("GET", "/dns_records"): Reply(200, envelope([], {"page": 1, "per_page": 100, "count": 0, "total_count": 0,
                                                          "total_pages": 1})),
        ("POST", "/dns_records/batch"): Reply(400, {"success": False, "errors": errors, "messages": [], "result": None}),
    })
    result = run_module("dns_record", server, tmp_path, zone=ZONE_ID, name="www", type="CNAME", content="origin.example.net")
    assert result["failed"] is True
    assert "Content for CNAME record is invalid." in result["msg"]


# Rulesets -----------------------------------------------------------------------------------------------

RULE = {"ref": "block-admin", "expression": 'http.request.uri.path eq "/admin"', "action": "block"}
WRITTEN = {"id": "e" * 32, "version": "1", "phase": "http_request_firewall_custom", "kind": "zone", "name": "default",
           "rules": [dict(RULE, id="f" * 32, version="1", enabled=True)]}


@pytest.mark.parametrize("missing", [
    failure(404, (10003, "could not find entrypoint ruleset in the 'http_request_firewall_custom' phase")),  # the emulator
    failure(404, (10000, "not found")),          # a 404 with another code
    failure(404),                                # a 404 with no error entry
    Reply(200, envelope({"id": "e" * 32, "version": "0", "phase": "http_request_firewall_custom", "kind": "zone",
                         "name": "default", "rules": []})),  # an empty entrypoint instead of a 404
])
def test_a_phase_without_an_entrypoint_is_created_by_one_put_whatever_the_missing_answer(server, tmp_path, missing):
    server.handler = routed({
        ("GET", "/zones/" + ZONE_ID): Reply(200, envelope(ZONE)),
        ("GET", "/phases/http_request_firewall_custom/entrypoint"): missing,
        ("PUT", "/phases/http_request_firewall_custom/entrypoint"): Reply(200, envelope(WRITTEN)),
    })
    result = run_module("ruleset", server, tmp_path, zone=ZONE_ID, phase="http_request_firewall_custom", rules=[RULE])
    assert result.get("failed") is not True, result
    assert result["changed"] is True
    assert writes(server) == [("PUT", "/client/v4/zones/%s/rulesets/phases/http_request_firewall_custom/entrypoint" % ZONE_ID)]


def test_a_ruleset_validation_error_with_another_code_still_fails_with_cloudflares_message(server, tmp_path):
    server.handler = routed({
        ("GET", "/zones/" + ZONE_ID): Reply(200, envelope(ZONE)),
        ("GET", "/phases/http_request_firewall_custom/entrypoint"): failure(404),
        ("PUT", "/phases/http_request_firewall_custom/entrypoint"): failure(
            400, (20200, "'http.request.uri.path eq' is not a valid value for expression because the expression is invalid")),
    })
    result = run_module("ruleset", server, tmp_path, zone=ZONE_ID, phase="http_request_firewall_custom", rules=[RULE])
    assert result["failed"] is True and "is not a valid value for expression" in result["msg"]


# Health checks ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("code", [1002, 1004, 9999])
def test_a_refused_health_check_fails_with_cloudflares_message_whatever_the_code(server, tmp_path, code):
    server.handler = routed({
        ("GET", "/zones/" + ZONE_ID): Reply(200, envelope(PAID_ZONE)),
        ("GET", "/healthchecks"): Reply(200, envelope([], {"page": 1, "per_page": 1000, "count": 0, "total_count": 0,
                                                           "total_pages": 1})),
        ("POST", "/healthchecks"): failure(400, (code, "Health check address is not valid")),
    })
    result = run_module("healthcheck", server, tmp_path, zone=ZONE_ID, name="origin", address="origin.example.com")
    assert result["failed"] is True and "Health check address is not valid" in result["msg"]
    assert [w[0] for w in writes(server)] == ["POST"]


# DNS export ---------------------------------------------------------------------------------------------

EXPORT = (";;\n;; Domain:     example.com.\n;; Exported:   %s\n;;\n\n;; SOA Record\nexample.com.\t3600\tIN\tSOA\t"
          "ada.ns.cloudflare.com. dns.cloudflare.com. 2050000000 10000 2400 604800 3600\n\n;; A Records\n"
          "www.example.com.\t300\tIN\tA\t192.0.2.1\n")


def test_an_export_that_differs_only_in_its_exported_time_is_not_a_change(server, tmp_path):
    """Cloudflare's export starts with ';; Exported: <time>' (pdxruby/pdxruby.github.io#69): a second export of an
    unchanged zone must not report a change or rewrite the file."""
    times = iter(["2024-05-24 14:29:38", "2024-05-24 14:31:02", "2024-05-24 14:31:02"])
    server.handler = routed({
        ("GET", "/zones/" + ZONE_ID): Reply(200, envelope(ZONE)),
        ("GET", "/dns_records/export"): lambda: Reply(200, raw=(EXPORT % next(times)).encode(),
                                                      headers={"Content-Type": "text/plain"}),
    })
    dest = tmp_path / "example.com.zone"
    first = run_module("dns_zone_export", server, tmp_path, zone=ZONE_ID, dest=str(dest))
    assert first["changed"] is True and "14:29:38" in dest.read_text()
    second = run_module("dns_zone_export", server, tmp_path, zone=ZONE_ID, dest=str(dest))
    assert second["changed"] is False, second
    assert "14:29:38" in dest.read_text()  # not rewritten


HEALTHCHECK = {"id": "9" * 32, "name": "origin", "address": "origin.example.com", "type": "HTTPS", "interval": 60,
               "retries": 2, "timeout": 5, "consecutive_fails": 1, "consecutive_successes": 1, "suspended": False,
               "status": "unknown", "tcp_config": None,
               "http_config": {"path": "/", "method": "GET", "port": 443, "expected_codes": ["200"], "expected_body": "",
                               "header": None, "follow_redirects": False, "allow_insecure": False}}


@pytest.mark.parametrize("answered", [
    {"check_regions": None, "description": ""},          # what the emulator answers
    {"check_regions": ["WNAM"], "description": None},    # Cloudflare's own pick of regions, no description as null
])
def test_an_unchanged_health_check_is_left_alone_whatever_cloudflare_answers_for_its_defaults(server, tmp_path, answered):
    server.handler = routed({
        ("GET", "/zones/" + ZONE_ID): Reply(200, envelope(PAID_ZONE)),
        ("GET", "/healthchecks"): Reply(200, envelope([dict(HEALTHCHECK, **answered)], {
            "page": 1, "per_page": 100, "count": 1, "total_count": 1, "total_pages": 1})),
    })
    result = run_module("healthcheck", server, tmp_path, zone=ZONE_ID, name="origin", address="origin.example.com")
    assert result.get("failed") is not True, result
    assert result["changed"] is False and writes(server) == []


# Zone settings ------------------------------------------------------------------------------------------

def _setting(name, value, editable=True):
    return {"id": name, "value": value, "editable": editable, "modified_on": None}


@pytest.mark.parametrize("gone", [failure(404, (7003, "Could not route to /zones/.../settings"), (7000, "No route for that URI")),
                                  failure(405, (10405, "Method not allowed"))])
def test_zone_settings_use_the_per_setting_calls_where_the_aggregate_ones_are_gone(server, tmp_path, gone):
    server.handler = routed({
        ("GET", "/zones/" + ZONE_ID): Reply(200, envelope(ZONE)),
        ("GET", "/settings"): gone,
        ("GET", "/settings/ssl"): Reply(200, envelope(_setting("ssl", "flexible"))),
        ("GET", "/settings/min_tls_version"): Reply(200, envelope(_setting("min_tls_version", "1.2"))),
        ("PATCH", "/settings/ssl"): Reply(200, envelope(_setting("ssl", "strict"))),
    })
    result = run_module("zone_settings", server, tmp_path, zone=ZONE_ID, settings={"ssl": "strict", "min_tls_version": "1.2"})
    assert result.get("failed") is not True, result
    assert result["changed"] is True and result["changed_settings"] == ["ssl"]
    assert writes(server) == [("PATCH", "/client/v4/zones/%s/settings/ssl" % ZONE_ID)]
    assert server.requests[-1].json() == {"value": "strict"}


def test_zone_settings_use_one_aggregate_read_and_write_while_cloudflare_serves_them(server, tmp_path):
    server.handler = routed({
        ("GET", "/zones/" + ZONE_ID): Reply(200, envelope(ZONE)),
        ("GET", "/settings"): Reply(200, envelope([_setting("ssl", "flexible"), _setting("min_tls_version", "1.2")])),
        ("PATCH", "/settings"): Reply(200, envelope([_setting("ssl", "strict")])),
    })
    result = run_module("zone_settings", server, tmp_path, zone=ZONE_ID, settings={"ssl": "strict", "min_tls_version": "1.2"})
    assert result["changed"] is True and result["api_calls"] == {"reads": 2, "writes": 1}
    assert server.requests[-1].json() == {"items": [{"id": "ssl", "value": "strict"}]}
