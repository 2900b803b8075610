"""Worker triggers: zone routes, custom domains, cron triggers, workers.dev subdomains and the edge host map."""
import httpx
import pytest

from emulator import hooks
from emulator.api.zones import zone_id_for
from emulator.api.worker_triggers import cron_problem, host_map, split_pattern
from emulator.store import Store
from emulator.api import schemas, resource_tables
from tests.emulator.helpers import error_codes, upload_script

ZONE = "example.com"


@pytest.fixture
def plain(fresh):
    """A client without schema validation, for routes the 2024 OpenAPI subset lacks."""
    with httpx.Client(base_url=fresh.base_url, headers={"Authorization": "Bearer " + fresh.token}, timeout=10,
                      trust_env=False) as client:
        yield client


@pytest.fixture
def zone_id(account_id):
    return zone_id_for(account_id, ZONE)  # the zone the emulator seeds at every start


@pytest.fixture
def script(api, account_id):
    assert upload_script(api, account_id, "books-api").status_code == 200
    return "books-api"


def routes_path(zone_id, route_id=""):
    return "/zones/%s/workers/routes%s" % (zone_id, "/" + route_id if route_id else "")


def workers_path(account_id, *rest):
    return "/accounts/%s/workers/%s" % (account_id, "/".join(rest))


def edge_map(emulator):
    store = Store(emulator.data_dir, schemas(), resource_tables())
    try:
        with store.read() as db:
            return host_map(db)
    finally:
        store.close()


# Routes ----------------------------------------------------------------------------------------------------

def test_route_create_get_update_list_delete(api, zone_id, script, account_id):
    created = api.post(routes_path(zone_id), json={"pattern": "books.example.com/api/*", "script": script}).json()["result"]
    assert created == {"id": created["id"], "pattern": "books.example.com/api/*", "script": script}
    assert api.get(routes_path(zone_id, created["id"])).json()["result"] == created
    upload_script(api, account_id, "books-api-v2")
    moved = api.put(routes_path(zone_id, created["id"]),
                    json={"pattern": "books.example.com/v2/*", "script": "books-api-v2"}).json()["result"]
    assert moved == {"id": created["id"], "pattern": "books.example.com/v2/*", "script": "books-api-v2"}
    assert api.get(routes_path(zone_id)).json()["result"] == [moved]
    assert api.delete(routes_path(zone_id, created["id"])).status_code == 200
    assert api.get(routes_path(zone_id)).json()["result"] == []
    assert api.get(routes_path(zone_id, created["id"])).status_code == 404


def test_duplicate_pattern_is_rejected(api, unchecked, zone_id, script):
    api.post(routes_path(zone_id), json={"pattern": "example.com/*", "script": script})
    response = unchecked.post(routes_path(zone_id), json={"pattern": "example.com/*", "script": script})
    assert response.status_code == 409
    assert error_codes(response) == [10020]


def test_pattern_outside_the_zone_is_10022(unchecked, zone_id, script):
    response = unchecked.post(routes_path(zone_id), json={"pattern": "books.example.org/*", "script": script})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"code": 10022, "message": "Route pattern must include zone name: books.example.org/*"}]
    assert unchecked.get(routes_path(zone_id)).json()["result"] == []


def test_wildcard_hosts_in_the_zone_are_accepted(api, zone_id, script):
    for pattern in ("*.example.com/*", "*example.com/*", "https://shop.example.com/cart*"):
        assert api.post(routes_path(zone_id), json={"pattern": pattern, "script": script}).status_code == 200


def test_route_to_a_worker_that_does_not_exist_is_10019(unchecked, zone_id):
    response = unchecked.post(routes_path(zone_id), json={"pattern": "example.com/*", "script": "nope"})
    assert response.status_code == 400
    assert error_codes(response) == [10019]


def test_route_in_an_unknown_zone_is_404(unchecked):
    assert unchecked.get(routes_path("0" * 32)).status_code == 404


# Custom domains --------------------------------------------------------------------------------------------

def test_custom_domain_attach_is_an_upsert_and_filters_work(api, account_id, zone_id, script):
    body = {"hostname": "books.example.com", "service": script, "zone_id": zone_id, "environment": "production"}
    first = api.put(workers_path(account_id, "domains"), json=body).json()["result"]
    assert {k: first[k] for k in ("hostname", "service", "zone_id", "zone_name", "environment")} == {
        "hostname": "books.example.com", "service": script, "zone_id": zone_id, "zone_name": ZONE,
        "environment": "production"}
    again = api.put(workers_path(account_id, "domains"), json=body).json()["result"]
    assert again["id"] == first["id"]
    assert api.get(workers_path(account_id, "domains", first["id"])).json()["result"] == again
    assert [d["id"] for d in api.get(workers_path(account_id, "domains"), params={"service": script}).json()["result"]] \
        == [first["id"]]
    assert api.get(workers_path(account_id, "domains"), params={"hostname": "other.example.com"}).json()["result"] == []
    assert api.delete(workers_path(account_id, "domains", first["id"])).status_code == 200
    assert api.get(workers_path(account_id, "domains")).json()["result"] == []


def test_custom_domain_outside_every_zone_is_rejected(unchecked, account_id, zone_id, script):
    response = unchecked.put(workers_path(account_id, "domains"), json={
        "hostname": "books.example.org", "service": script, "zone_id": zone_id, "environment": "production"})
    assert response.status_code == 400
    assert error_codes(response) == [100102]
    assert "books.example.org" in response.json()["errors"][0]["message"]


# Cron triggers ---------------------------------------------------------------------------------------------

def test_schedules_put_replaces_the_whole_set(api, account_id, script):
    path = workers_path(account_id, "scripts", script, "schedules")
    assert api.get(path).json()["result"] == {"schedules": []}
    first = api.put(path, json=[{"cron": "*/5 * * * *"}, {"cron": "0 2 * * SUN"}]).json()["result"]["schedules"]
    assert [s["cron"] for s in first] == ["*/5 * * * *", "0 2 * * SUN"]
    second = api.put(path, json=[{"cron": "0 2 * * SUN"}]).json()["result"]["schedules"]
    assert [s["cron"] for s in second] == ["0 2 * * SUN"]
    assert second[0]["created_on"] == first[1]["created_on"]
    assert api.put(path, json=[]).json()["result"] == {"schedules": []}


def test_deleting_a_script_deletes_its_schedules_and_workers_dev_setting(api, account_id, script):
    api.put(workers_path(account_id, "scripts", script, "schedules"), json=[{"cron": "*/5 * * * *"}])
    api.post(workers_path(account_id, "scripts", script, "subdomain"), json={"enabled": True})
    assert api.delete(workers_path(account_id, "scripts", script)).status_code == 200
    assert upload_script(api, account_id, script).status_code == 200
    assert api.get(workers_path(account_id, "scripts", script, "schedules")).json()["result"] == {"schedules": []}
    assert api.get(workers_path(account_id, "scripts", script, "subdomain")).json()["result"]["enabled"] is False


@pytest.mark.parametrize("cron", ["* * * *", "60 * * * *", "0 24 * * *", "0 0 0 * *", "0 0 * 13 *", "0 2 * * 0",
                                  "0 0 * * FOO", "*/0 * * * *", "5-1 * * * *"])
def test_invalid_cron_is_10100_and_changes_nothing(unchecked, account_id, script, cron):
    path = workers_path(account_id, "scripts", script, "schedules")
    unchecked.put(path, json=[{"cron": "0 * * * *"}])
    response = unchecked.put(path, json=[{"cron": "0 1 * * *"}, {"cron": cron}])
    assert response.status_code == 400
    assert error_codes(response) == [10100]
    assert cron in response.json()["errors"][0]["message"]
    assert [s["cron"] for s in unchecked.get(path).json()["result"]["schedules"]] == ["0 * * * *"]


def test_cron_syntax_cloudflare_accepts():
    for cron in ("0 0 L * *", "0 0 LW * *", "0 0 15W * *", "0 0 * JAN-JUN MON-FRI", "0 0 * * 6#3", "0 0 * * 5L",
                 "*/15 9-17 * * 2-6", "0,30 * * * *"):
        assert cron_problem(cron) is None, cron


def test_schedules_of_an_unknown_script_are_404(unchecked, account_id):
    response = unchecked.get(workers_path(account_id, "scripts", "nope", "schedules"))
    assert response.status_code == 404
    assert error_codes(response) == [10007]


# workers.dev -----------------------------------------------------------------------------------------------

def test_account_subdomain_default_and_change(api, account_id):
    assert api.get(workers_path(account_id, "subdomain")).json()["result"] == {"subdomain": "cfops-local"}
    assert api.put(workers_path(account_id, "subdomain"), json={"subdomain": "books-team"}).json()["result"] == {
        "subdomain": "books-team"}
    assert api.get(workers_path(account_id, "subdomain")).json()["result"] == {"subdomain": "books-team"}


def test_an_api_uploaded_script_is_not_on_workers_dev_until_turned_on(api, plain, account_id, script):
    # Users of the plain API and of Terraform report API-uploaded Workers off workers.dev
    # (terraform-provider-cloudflare#2892, #3268); wrangler POSTs the wanted state after every upload.
    path = workers_path(account_id, "scripts", script, "subdomain")
    assert api.get(path).json()["result"] == {"enabled": False, "previews_enabled": False}
    assert api.post(path, json={"enabled": True}).json()["result"] == {"enabled": True, "previews_enabled": False}
    assert api.post(path, json={"enabled": True, "previews_enabled": True}).json()["result"] == {
        "enabled": True, "previews_enabled": True}
    assert api.get(path).json()["result"] == {"enabled": True, "previews_enabled": True}
    # DELETE (the SDK's subdomain.delete: "Disable all workers.dev subdomains for a Worker").
    # Not in the 2024 OpenAPI subset, hence the plain client.
    assert plain.delete(path).json()["result"] == {"enabled": False, "previews_enabled": False}
    assert api.get(path).json()["result"] == {"enabled": False, "previews_enabled": False}


def test_official_sdk_reads_and_writes_triggers(sdk, account_id, api):
    upload_script(api, account_id, "sdk-worker")
    assert sdk.workers.scripts.subdomain.create("sdk-worker", account_id=account_id, enabled=False).enabled is False
    schedules = sdk.workers.scripts.schedules.update("sdk-worker", account_id=account_id, body=[{"cron": "0 * * * *"}])
    assert [s.cron for s in schedules.schedules] == ["0 * * * *"]
    assert sdk.workers.subdomains.get(account_id=account_id).subdomain == "cfops-local"


# Edge host map and hooks -------------------------------------------------------------------------------------

def test_split_pattern():
    assert split_pattern("books.example.com/api/*") == ("books.example.com", "/api/*")
    assert split_pattern("https://*.example.com/*") == ("*.example.com", "/*")
    assert split_pattern("example.com") == ("example.com", "/")


def test_host_map_lists_routes_domains_and_workers_dev(api, fresh, account_id, zone_id, script):
    api.post(routes_path(zone_id), json={"pattern": "books.example.com/api/*", "script": script})
    api.post(routes_path(zone_id), json={"pattern": "*.example.com/*", "script": script})
    api.put(workers_path(account_id, "domains"), json={"hostname": "shop.example.com", "service": script,
                                                       "zone_id": zone_id, "environment": "production"})
    upload_script(api, account_id, "hidden")                      # never turned on: not on workers.dev
    api.post(workers_path(account_id, "scripts", script, "subdomain"), json={"enabled": True})
    entries = edge_map(fresh)
    base = {"account_id": account_id, "script_name": script}
    assert entries == [
        dict(base, kind="route", hostname="*.example.com", path_pattern="/*"),
        dict(base, kind="route", hostname="books.example.com", path_pattern="/api/*"),
        dict(base, kind="custom_domain", hostname="shop.example.com", path_pattern="/*"),
        dict(base, kind="workers_dev", hostname="books-api.cfops-local.workers.dev", path_pattern="/*"),
    ]


def test_writes_publish_the_triggers_topic():
    """In-process: the area's handlers publish after a committed write (the runtime subscribes)."""
    from emulator.api import worker_triggers
    seen = []
    hooks.subscribe(seen.append)
    try:
        worker_triggers._publish()
    finally:
        hooks.unsubscribe(seen.append)
    assert seen == ["triggers"]
