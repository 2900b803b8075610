"""healthcheck on a zone without health checks (they need a Pro plan or higher).

A zone whose plan Cloudflare reports as Free is refused before any write, in check mode too; an absent or
unknown plan is left to Cloudflare. What Cloudflare answers when it refuses is an assumption (ledger
emulator/fidelity/healthchecks.yml, healthcheck-refusal-on-a-free-zone): each plausible answer gives a message
naming the zone, the plan and Cloudflare's answer, and other refusals keep Cloudflare's own message.
"""
import json

import pytest

from ansible_collections.cfops.cloudflare.plugins.modules import healthcheck
from ansible_collections.cfops.cloudflare.tests.unit.plugins.modules.module_runner import module_result, writes
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply, envelope, failure

ZONE_ID = "z" * 32
NEEDS_PRO = "Health Checks need a Pro plan or higher (Pro, Business or Enterprise)"
EXISTING = {"id": "h" * 32, "name": "books", "address": "books.example.com", "type": "HTTPS", "interval": 30,
            "retries": 2, "timeout": 5, "consecutive_fails": 1, "consecutive_successes": 1, "check_regions": None,
            "description": "", "suspended": False, "tcp_config": None,
            "http_config": {"path": "/", "method": "GET", "port": 443, "expected_codes": ["200"], "expected_body": "",
                            "header": None, "follow_redirects": False, "allow_insecure": False}}


def zone(plan):
    return {"id": ZONE_ID, "name": "example.com", "plan": plan, "account": {"id": "a" * 32}}


def script(server, plan, current=(), list_reply=None, write_reply=None):
    """Answer the zone lookups with ``plan``, the list with ``current`` (or ``list_reply``), writes with
    ``write_reply`` (or the written health check)."""
    def handler(request):
        if request.path == "/client/v4/zones":
            return Reply(200, envelope([zone(plan)]))
        if request.path == "/client/v4/zones/" + ZONE_ID:
            return Reply(200, envelope(zone(plan)))
        if request.method == "GET":
            return list_reply or Reply(200, envelope(list(current), {"total_pages": 1}))
        return write_reply or Reply(200, envelope(dict(EXISTING, **json.loads(request.body))))
    server.handler = handler


def run(server, capsys, **args):
    options = dict(zone="example.com", name="books", address="books.example.com")
    options.update(args)
    return module_result(healthcheck.main, capsys, server, **options)


@pytest.mark.parametrize("legacy_id, name", [("free", "Free Website"), ("partners_free", "Partners Free")])
@pytest.mark.parametrize("check_mode", [False, True])
def test_a_known_free_zone_fails_before_any_write(server, capsys, legacy_id, name, check_mode):
    script(server, {"id": "0" * 32, "legacy_id": legacy_id, "name": name, "price": 0})
    result = run(server, capsys, _ansible_check_mode=check_mode)
    assert result["failed"] is True
    assert result["msg"] == ("health check 'books': zone 'example.com' is on the Free plan (Cloudflare reports its plan "
                             "as '%s'), and %s: upgrade the zone or leave its health checks out. Nothing was changed."
                             % (name, NEEDS_PRO))
    assert writes(server) == [] and result["api_calls"]["writes"] == 0
    assert not any(request.path.endswith("/healthchecks") for request in server.requests)


@pytest.mark.parametrize("plan", [{}, {"id": "x" * 32, "name": "Some New Plan"}, {"legacy_id": "lite"},
                                  {"legacy_id": "pro", "name": "Pro Website"}])
def test_an_absent_unknown_or_paid_plan_is_left_to_cloudflare(server, capsys, plan):
    script(server, plan)
    result = run(server, capsys)
    assert result.get("failed") is not True, result
    assert result["changed"] is True and [r.method for r in writes(server)] == ["POST"]


@pytest.mark.parametrize("status, code, message", [
    (400, 1002, "health checks disabled for zone"),            # what public clients see on Free zones; the emulator
    (403, 1034, "Zone not entitled to this functionality"),    # the shape of other plan-gated features
    (403, 10000, "Health Checks are not available for your plan"),
    (400, 1135, "This feature is not available for your plan type"),
    (402, None, "health checks are not allowed: upgrade required"),
])
@pytest.mark.parametrize("plan, shown", [({}, "plan not reported"), ({"legacy_id": "pro"}, "plan pro")])
@pytest.mark.parametrize("current, method", [((), "POST"), ((EXISTING,), "PUT")])
def test_a_refusal_because_of_the_plan_says_so_whatever_the_shape(
        server, capsys, status, code, message, plan, shown, current, method):
    script(server, plan, current=current, write_reply=failure(status, (code, message)))
    result = run(server, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith("health check 'books': Cloudflare refused it because of the plan of zone "
                                    "'example.com' (%s): %s, and this zone's plan or subscription does not include "
                                    "them. Cloudflare answered: %s " % (shown, NEEDS_PRO, method)), result["msg"]
    assert ("failed with HTTP %d: " % status) in result["msg"] and message in result["msg"]
    assert [r.method for r in writes(server)] == [method]
    assert result["status"] == status


@pytest.mark.parametrize("state", ["present", "absent"])
def test_a_refused_list_on_a_zone_without_health_checks_says_so(server, capsys, state):
    script(server, {}, list_reply=failure(403, (1002, "health checks disabled for zone")))
    result = run(server, capsys, state=state)
    assert result["failed"] is True
    assert NEEDS_PRO in result["msg"] and "zone 'example.com'" in result["msg"]
    assert "GET /zones/%s/healthchecks" % ZONE_ID in result["msg"] and "health checks disabled for zone" in result["msg"]
    assert writes(server) == []


@pytest.mark.parametrize("status, code, message", [
    (400, 1002, "interval must be longer than timeout x (retries + 1)"),   # 1002 is also an invalid health check
    (400, 1005, "a health check named 'books' already exists in this zone"),
    (403, 9109, "Unauthorized to access requested resource"),
    (403, 10000, "Authentication error"),
])
def test_other_refusals_keep_cloudflares_message(server, capsys, status, code, message):
    script(server, {"legacy_id": "pro"}, write_reply=failure(status, (code, message)))
    result = run(server, capsys)
    assert result["failed"] is True
    answer = "POST /zones/%s/healthchecks failed with HTTP %d: [%d] %s" % (ZONE_ID, status, code, message)
    assert result["msg"].startswith(answer), result["msg"]
    assert "Pro plan" not in result["msg"]
