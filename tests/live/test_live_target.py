"""The live-mode plumbing (tests/support/target.py) on whatever target the session has: run prefix, cleanup,
the foreign-object guard, and emulator-only steps that skip in live mode and only there."""
import pytest

from tests.support.emulator import EmulatorProcess
from tests.support.target import FAMILY, CloudflareTarget, EmulatorOnly, TargetError, dns_owner


def _kv_titles(target):
    return {title for title, _id in target.inventory()["kv_namespaces"]}


def _add_custom_rule(target, rule):
    """Add one rule to the zone's custom-rules entrypoint, keeping the rules it has (a live zone may hold some)."""
    entrypoint = "/zones/%s/rulesets/phases/http_request_firewall_custom/entrypoint" % target.zone_id
    try:
        ruleset_id = target.api("GET", entrypoint)["result"]["id"]
    except TargetError:  # no entrypoint yet: this makes it, with this one rule
        target.api("PUT", entrypoint, json={"rules": [rule]})
        return
    target.api("POST", "/zones/%s/rulesets/%s/rules" % (target.zone_id, ruleset_id), json=rule)


def test_objects_named_with_the_run_prefix_are_removed_by_cleanup(cf_target):
    """Whatever the test registered: every object whose name starts with the run prefix goes."""
    kv = cf_target.name("plumbing-kv")
    cf_target.api("POST", "/accounts/%s/storage/kv/namespaces" % cf_target.account_id, json={"title": kv})
    record = cf_target.api("POST", "/zones/%s/dns_records" % cf_target.zone_id,
                           json={"type": "TXT", "name": cf_target.hostname("plumbing"), "content": "cfops live plumbing",
                                 "ttl": 1})["result"]
    srv = cf_target.api("POST", "/zones/%s/dns_records" % cf_target.zone_id,
                        json={"type": "SRV", "name": "_sip._tcp." + cf_target.hostname("plumbing"), "ttl": 1,
                              "data": {"priority": 1, "weight": 5, "port": 5060, "target": "sip.example.com"}})["result"]
    rule = cf_target.name("plumbing-rule")
    _add_custom_rule(cf_target, {"ref": rule, "expression": 'http.request.uri.path eq "/cfops-plumbing"', "action": "block"})
    assert kv in _kv_titles(cf_target)
    assert "dns_records" not in cf_target.foreign()  # an SRV record under a prefixed name is the run's own
    deleted = cf_target.cleanup()
    assert kv in deleted["kv_namespaces"] and {record["name"], srv["name"]} <= set(deleted["dns_records"])
    assert deleted["ruleset_rules"] == [rule]
    assert kv not in _kv_titles(cf_target)
    assert not [name for name, _id in cf_target.inventory()["dns_records"] if cf_target.owns(dns_owner(name))]


def test_emulator_only_steps_run_on_the_emulator_and_skip_live(cf_target):
    """Call counts exist only on the emulator: in live mode this test is reported as skipped, never as passed."""
    cf_target.reset_calls()
    cf_target.api("GET", "/zones/%s/dns_records" % cf_target.zone_id)
    assert cf_target.calls()["reads"] == 1


def test_the_run_prefix_is_the_familys_with_8_hex(cf_target):
    assert cf_target.run_prefix.startswith(FAMILY) and len(cf_target.run_prefix) == len(FAMILY) + 9
    assert cf_target.owns(cf_target.name("x")) and not cf_target.owns("cfops-test-00000000-x")


def test_a_foreign_account_is_refused_unless_allowed(tmp_path):
    """On a scratch emulator (never on a live account): a Worker-less account with one foreign KV namespace."""
    with EmulatorProcess(data_dir=str(tmp_path / "foreign")) as emu:
        target = CloudflareTarget.from_emulator(emu)
        target.api("POST", "/accounts/%s/storage/kv/namespaces" % target.account_id, json={"title": "production-cache"})
        target.api("POST", "/accounts/%s/storage/kv/namespaces" % target.account_id, json={"title": FAMILY + "0badc0de-old"})
        with pytest.raises(TargetError, match=r"refusing to run: .*kv_namespaces: production-cache.*CFOPS_LIVE_ALLOW_FOREIGN=1"):
            target.check_account()
        allowed = CloudflareTarget.from_emulator(emu)
        allowed.allow_foreign = True
        assert allowed.check_account() == {"kv_namespaces": ["production-cache"]}  # an old run's leftover is not foreign
        allowed.cleanup()
        assert _kv_titles(allowed) == {"production-cache", FAMILY + "0badc0de-old"}  # only this run's objects go


def test_live_settings_come_from_the_environment():
    with pytest.raises(TargetError, match="live mode needs CFOPS_LIVE_ACCOUNT_ID, CFOPS_LIVE_ZONE"):
        CloudflareTarget.from_env({"CFOPS_LIVE_API_TOKEN": "t"})
    target = CloudflareTarget.from_env({"CFOPS_LIVE_API_TOKEN": "t", "CFOPS_LIVE_ACCOUNT_ID": "a", "CFOPS_LIVE_ZONE": "Ex.COM.",
                                        "CFOPS_LIVE_RUN_PREFIX": "cfops-test-0123abcd-"})
    assert (target.base_url, target.zone, target.run_prefix, target.is_emulator) == (
        "https://api.cloudflare.com/client/v4", "ex.com", "cfops-test-0123abcd-", False)
    with pytest.raises(EmulatorOnly, match="emulator-only: fault injection"):
        target.inject_fault(method="GET", path="/zones")
