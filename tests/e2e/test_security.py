"""playbooks/security.yml for real: zone settings, WAF, rate limits, headers and health checks on the emulator.

Health checks need a Pro plan or higher: the playbook runs on the emulator's Pro zone (PAID), and on the Free
example.com it fails before any write, saying so."""
import json

import httpx
import pytest

from emulator.api.zones import zone_id_for
from tests.e2e.conftest import PAID_ZONE, run_playbook

pytestmark = pytest.mark.slow
PLAYBOOK = "playbooks/security.yml"


def api_get(emulator, path):
    response = httpx.get(emulator.base_url + path, headers={"Authorization": "Bearer " + emulator.token},
                         timeout=10, trust_env=False)
    return response


def zone_path(emulator, *rest, zone=PAID_ZONE):
    return "/".join(["/zones", zone_id_for(emulator.account_id, zone)] + list(rest))


def extra_vars(**values):
    return ["-e", json.dumps(values)]


PAID = extra_vars(edge_security_zone=PAID_ZONE)


def test_security_playbook_applies_then_changes_nothing(fresh):
    first = run_playbook(fresh, *PAID, playbook=PLAYBOOK)
    assert first.rc == 0, first.output
    assert first.changed > 0

    custom = api_get(fresh, zone_path(fresh, "rulesets/phases/http_request_firewall_custom/entrypoint")).json()
    assert [rule["ref"] for rule in custom["result"]["rules"]] == ["block-cms-probes", "challenge-bad-reputation"]
    limits = api_get(fresh, zone_path(fresh, "rulesets/phases/http_ratelimit/entrypoint")).json()["result"]["rules"]
    assert limits[0]["ratelimit"] == {"characteristics": ["ip.src", "cf.colo.id"], "period": 10,
                                      "requests_per_period": 20, "mitigation_timeout": 10}
    headers = api_get(fresh, zone_path(fresh, "rulesets/phases/http_response_headers_transform/entrypoint")).json()
    set_headers = headers["result"]["rules"][0]["action_parameters"]["headers"]
    assert set_headers["X-Frame-Options"] == {"operation": "set", "value": "DENY"}
    assert set_headers["Content-Security-Policy"] == {"operation": "set", "value": "default-src *"}
    settings = {item["id"]: item["value"] for item in api_get(fresh, zone_path(fresh, "settings")).json()["result"]}
    assert (settings["ssl"], settings["min_tls_version"], settings["always_use_https"]) == ("strict", "1.2", "on")
    assert settings["security_header"]["strict_transport_security"]["max_age"] == 31536000
    [health] = api_get(fresh, zone_path(fresh, "healthchecks")).json()["result"]
    assert (health["name"], health["http_config"]["path"]) == ("books-api-health", "/health")

    fresh.reset_calls()
    second = run_playbook(fresh, *PAID, playbook=PLAYBOOK)
    assert second.rc == 0, second.output
    assert second.changed == 0, second.stdout
    assert fresh.calls()["writes"] == 0


def test_reordered_rules_keep_their_ids(fresh):
    assert run_playbook(fresh, *PAID, playbook=PLAYBOOK).rc == 0
    path = zone_path(fresh, "rulesets/phases/http_request_firewall_custom/entrypoint")
    before = {rule["ref"]: rule["id"] for rule in api_get(fresh, path).json()["result"]["rules"]}
    rules = [{"ref": "challenge-bad-reputation", "expression": "cf.threat_score gt 20", "action": "managed_challenge"},
             {"ref": "block-cms-probes", "expression": 'starts_with(http.request.uri.path, "/wp-")', "action": "block"}]
    run = run_playbook(fresh, *PAID, *extra_vars(edge_security_waf_rules=rules), playbook=PLAYBOOK)
    assert run.rc == 0, run.output
    after = api_get(fresh, path).json()["result"]["rules"]
    assert [(rule["ref"], rule["id"]) for rule in after] == [(ref, before[ref]) for ref in
                                                             ("challenge-bad-reputation", "block-cms-probes")]


@pytest.mark.parametrize("variables, message", [
    ({"edge_security_waf_rules": [{"ref": "broken-rule", "expression": 'http.request.uri.path eq "/x" and',
                                   "action": "block"}]},
     "rule 'broken-rule': invalid expression 'http.request.uri.path eq \"/x\" and': 'and' at column 31 needs a value"),
    ({"edge_security_waf_rules": [{"ref": "typo-rule", "expression": 'http.uri.path eq "/x"', "action": "block"}]},
     "rule 'typo-rule': invalid expression 'http.uri.path eq \"/x\"': unknown field 'http.uri.path'"),
    ({"edge_security_rate_limits": [{"ref": "too-fast", "expression": "true",
                                     "ratelimit": {"period": 1, "requests_per_period": 5}}]},
     "rule 'too-fast': ratelimit.period 1 is below the free plan's minimum period of 10 seconds (allowed: 10)"),
    ({"edge_security_settings": {"min_tls": "1.2"}}, "unknown setting 'min_tls'; known settings: "),
    ({"edge_security_settings": {"ssl": "strictest"}}, "setting ssl: 'strictest' is not one of off, flexible, full, strict"),
])
def test_bad_input_fails_before_any_write(fresh, variables, message):
    # On the Free example.com: its rate limit periods are the Free plan's, and the bad input fails first.
    run = run_playbook(fresh, *extra_vars(**variables), playbook=PLAYBOOK)
    assert run.rc != 0
    assert message in run.output
    assert fresh.calls()["writes"] == 0  # not even the DNS records: the edge checks run first


def test_health_checks_on_a_free_zone_fail_before_any_write_saying_why(fresh):
    run = run_playbook(fresh, playbook=PLAYBOOK)
    assert run.rc != 0
    assert ("health check 'books-api-health': zone 'example.com' is on the Free plan (Cloudflare reports its plan as "
            "'Free Website'), and Health Checks need a Pro plan or higher (Pro, Business or Enterprise): upgrade the "
            "zone or leave its health checks out. Nothing was changed.") in run.output
    assert fresh.calls()["writes"] == 0  # the check pass stops it: not even the DNS records or the settings
    assert api_get(fresh, zone_path(fresh, "healthchecks", zone="example.com")).json()["result"] == []


def test_prod_needs_confirmation(fresh):
    run = run_playbook(fresh, "-e", "cfops_environment=prod", "-e", "cfops_require_confirm=true", playbook=PLAYBOOK)
    assert run.rc != 0
    assert "prod is protected: re-run with -e confirm=prod to change it." in run.output
    assert fresh.calls()["total"] == 0
