"""Zones: the seeded default zone, --zone NAME:PLAN, lookups by name, create/delete, unknown ids, and
the plan-dependent limits other areas read from the zone (DNS batch size, rate-limit periods)."""
import httpx
import pytest

from tests.support.emulator import EmulatorProcess


@pytest.fixture(scope="module")
def zones_emulator(tmp_path_factory):
    with EmulatorProcess(data_dir=str(tmp_path_factory.mktemp("zones")), zones=["example.com", "paid.example:pro"]) as emu:
        yield emu


@pytest.fixture
def http(zones_emulator):
    zones_emulator.reset_state()
    with httpx.Client(base_url=zones_emulator.base_url, headers={"Authorization": "Bearer " + zones_emulator.token},
                      timeout=30, trust_env=False) as client:
        yield client


def zone_id(http, name):
    (zone,) = http.get("/zones", params={"name": name}).json()["result"]
    return zone["id"]


def test_zones_are_seeded_with_their_plans(http):
    zones = {z["name"]: z["plan"]["legacy_id"] for z in http.get("/zones", params={"per_page": 50}).json()["result"]}
    assert zones == {"example.com": "free", "paid.example": "pro"}


def test_a_restart_keeps_zone_ids(zones_emulator, http):
    before = zone_id(http, "example.com")
    zones_emulator.restart()
    with httpx.Client(base_url=zones_emulator.base_url, headers={"Authorization": "Bearer " + zones_emulator.token},
                      trust_env=False) as client:
        assert zone_id(client, "example.com") == before


def test_create_get_delete_and_errors(http, zones_emulator):
    created = http.post("/zones", json={"name": "new.example", "account": {"id": zones_emulator.account_id}}).json()
    assert created["success"] and created["result"]["status"] == "active"
    again = http.post("/zones", json={"name": "new.example", "account": {"id": zones_emulator.account_id}})
    assert again.status_code == 400 and again.json()["errors"][0]["code"] == 1061
    bad = http.post("/zones", json={"name": "not a domain", "account": {"id": zones_emulator.account_id}})
    assert bad.status_code == 400 and "Invalid zone name" in bad.json()["errors"][0]["message"]
    assert http.get("/zones/%s" % created["result"]["id"]).json()["result"]["name"] == "new.example"
    assert http.delete("/zones/%s" % created["result"]["id"]).status_code == 200
    missing = http.get("/zones/%s" % created["result"]["id"])
    assert missing.status_code == 404 and missing.json()["errors"][0] == {"code": 1001, "message": "Invalid zone identifier"}


def _posts(count, zone_name):
    return {"posts": [{"type": "A", "name": "h%d.%s" % (i, zone_name), "content": "192.0.2.%d" % (i % 250 + 1), "ttl": 1}
                      for i in range(count)]}


def test_dns_batch_limit_follows_the_plan(http):
    free = http.post("/zones/%s/dns_records/batch" % zone_id(http, "example.com"), json=_posts(201, "example.com"))
    assert free.status_code == 400
    assert "at most 200 operations" in free.json()["errors"][0]["message"]
    pro = http.post("/zones/%s/dns_records/batch" % zone_id(http, "paid.example"), json=_posts(201, "paid.example"))
    assert pro.status_code == 200, pro.text
    assert len(pro.json()["result"]["posts"]) == 201


def test_rate_limit_periods_follow_the_plan(http):
    rule = {"ref": "api", "action": "block", "expression": 'starts_with(http.request.uri.path, "/api/")',
            "ratelimit": {"characteristics": ["cf.colo.id", "ip.src"], "period": 60, "requests_per_period": 100,
                          "mitigation_timeout": 60}}
    path = "/zones/%s/rulesets/phases/http_ratelimit/entrypoint"
    free = http.put(path % zone_id(http, "example.com"), json={"rules": [rule]})
    assert free.status_code == 400 and "not available on the Free plan" in free.text
    pro = http.put(path % zone_id(http, "paid.example"), json={"rules": [rule]})
    assert pro.status_code == 200, pro.text
