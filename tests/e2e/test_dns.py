"""DNS end to end: the dns role from the inventory, adoption of a live zone, bad input stopped before any write."""
import httpx
import yaml

from emulator.api.zones import zone_id_for
from tests.e2e.conftest import run_playbook

ROLE_PLAYBOOK = "tests/e2e/playbooks/dns_role.yml"


def api(emulator):
    return httpx.Client(base_url=emulator.base_url, headers={"Authorization": "Bearer " + emulator.token},
                        timeout=30, trust_env=False)


def records_path(emulator):
    return "/zones/%s/dns_records" % zone_id_for(emulator.account_id, "example.com")


def live(emulator):
    with api(emulator) as client:
        result = client.get(records_path(emulator), params={"per_page": 5000000}).json()["result"]
    return sorted((r["name"], r["type"], r["content"]) for r in result)


def seed(emulator, records):
    with api(emulator) as client:
        response = client.post(records_path(emulator) + "/batch", json={"posts": records})
        assert response.status_code == 200, response.text


def vars_file(tmp_path, **variables):
    path = tmp_path / "vars.yml"
    path.write_text(yaml.safe_dump(variables))
    return "@%s" % path


def test_role_applies_the_inventory_records_then_changes_and_writes_nothing(fresh):
    first = run_playbook(fresh, playbook=ROLE_PLAYBOOK)
    assert first.rc == 0, first.output
    assert "4 added, 0 changed, 0 removed in 1 batch call(s)" in first.output
    assert ("books.example.com", "AAAA", "100::") in live(fresh)
    fresh.reset_calls()
    second = run_playbook(fresh, playbook=ROLE_PLAYBOOK)
    assert second.rc == 0 and second.changed == 0, second.output
    calls = fresh.calls()
    assert calls["writes"] == 0 and calls["reads"] == 2, calls  # zone lookup + one page of records


def test_staging_inventory_uses_its_own_hostname(fresh):
    # staging is protected: its account and API are the inventory's, pointed here on the command line.
    run = run_playbook(fresh, "--check", "-e", "cfops_api_base_url=%s" % fresh.base_url,
                       "-e", "cfops_account_id=%s" % fresh.account_id, playbook=ROLE_PLAYBOOK, inventory="inventories/staging")
    assert run.rc == 0, run.output
    assert "4 added" in run.output
    assert fresh.calls()["writes"] == 0 and live(fresh) == []


def test_adopting_a_live_zone_writes_inventory_that_changes_nothing(fresh, tmp_path):
    seed(fresh, [
        {"type": "A", "name": "www", "content": "192.0.2.10", "ttl": 300, "comment": "web", "tags": ["team:web"]},
        {"type": "A", "name": "www", "content": "192.0.2.11", "ttl": 300},
        {"type": "CNAME", "name": "docs", "content": "docs.example.net", "proxied": True},
        {"type": "MX", "name": "@", "content": "mx1.example.net", "priority": 10},
        {"type": "TXT", "name": "@", "content": "v=spf1 include:example.net -all"},
        {"type": "SRV", "name": "_sip._tcp", "data": {"priority": 1, "weight": 5, "port": 5060, "target": "sip.example.com"}},
        {"type": "CAA", "name": "@", "data": {"flags": 0, "tag": "issue", "value": "letsencrypt.org"}},
    ])
    dest = tmp_path / "dns.yml"
    adopt = run_playbook(fresh, "-e", "dns_adopt_dest=%s" % dest, playbook="playbooks/adopt_dns.yml")
    assert adopt.rc == 0, adopt.output
    adopted = yaml.safe_load(dest.read_text())
    assert adopted["dns_zone"] == "example.com" and len(adopted["dns_records"]) == 7
    assert {"name": "www", "type": "A", "content": "192.0.2.10", "ttl": 300, "proxied": False, "comment": "web",
            "tags": ["team:web"]} in adopted["dns_records"]
    fresh.reset_calls()
    again = run_playbook(fresh, "-e", "@%s" % dest, "-e", "dns_exclusive=true", playbook=ROLE_PLAYBOOK)
    assert again.rc == 0 and again.changed == 0, again.output
    assert fresh.calls()["writes"] == 0


def test_invalid_ip_fails_naming_the_record_with_zero_writes(fresh, tmp_path):
    records = [{"name": "ok", "type": "A", "content": "192.0.2.1"}, {"name": "api", "type": "A", "content": "192.0.2.300"}]
    run = run_playbook(fresh, "-e", vars_file(tmp_path, dns_records=records), playbook=ROLE_PLAYBOOK)
    assert run.rc != 0
    assert "records[1] (api A 192.0.2.300): content '192.0.2.300' is not a valid IPv4 address" in run.output
    assert fresh.calls()["writes"] == 0 and live(fresh) == []


def test_cname_beside_another_record_fails_naming_both_with_zero_writes(fresh, tmp_path):
    seed(fresh, [{"type": "TXT", "name": "books", "content": "owner=team-books"}])
    fresh.reset_calls()
    records = [{"name": "books", "type": "CNAME", "content": "books-api.example.workers.dev", "proxied": True}]
    run = run_playbook(fresh, "-e", vars_file(tmp_path, dns_records=records), playbook=ROLE_PLAYBOOK)
    assert run.rc != 0
    assert ("CNAME books CNAME books-api.example.workers.dev cannot sit beside other records at the same name "
            "(books TXT owner=team-books)") in run.output
    assert fresh.calls()["writes"] == 0


def test_exclusive_above_the_threshold_stops_with_the_counts_until_forced(fresh, tmp_path):
    seed(fresh, [{"type": "A", "name": "h%02d" % i, "content": "192.0.2.%d" % i} for i in range(10)])
    fresh.reset_calls()
    keep = [{"name": "h%02d" % i, "type": "A", "content": "192.0.2.%d" % i} for i in range(6)]
    extra = vars_file(tmp_path, dns_records=keep, dns_exclusive=True)
    refused = run_playbook(fresh, "-e", extra, playbook=ROLE_PLAYBOOK)
    assert refused.rc != 0
    assert ("refusing to change 0 and remove 4 of the zone's 10 records (40.0%, above max_change_percent=30.0); "
            "nothing was written") in refused.output
    assert fresh.calls()["writes"] == 0 and len(live(fresh)) == 10
    forced = run_playbook(fresh, "-e", extra, "-e", "dns_force=true", playbook=ROLE_PLAYBOOK)
    assert forced.rc == 0, forced.output
    assert "0 added, 0 changed, 4 removed in 1 batch call(s)" in forced.output
    assert len(live(fresh)) == 6
