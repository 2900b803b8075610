"""Health checks: create with defaults, list, replace, patch, delete, validation, and the refusal on a Free zone."""
import pytest

from emulator.api.zones import zone_id_for
from tests.emulator.helpers import error_codes
from tests.emulator.schema import SchemaValidator
from tests.support.emulator import EmulatorProcess

PAID_ZONE = "paid.example.com"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    # Health checks need a Pro plan or higher: the tests work on a Pro zone; example.com stays on Free.
    with EmulatorProcess(data_dir=str(tmp_path_factory.mktemp("healthchecks")),
                         zones=["example.com", PAID_ZONE + ":pro"]) as emu:
        yield emu


@pytest.fixture(scope="module")
def validator(emulator):
    return SchemaValidator(emulator.base_url)


@pytest.fixture
def path(account_id):
    return "/zones/%s/healthchecks" % zone_id_for(account_id, PAID_ZONE)


@pytest.fixture
def free_path(account_id):
    return "/zones/%s/healthchecks" % zone_id_for(account_id, "example.com")


def health(**extra):
    return dict({"name": "worker-health", "address": "books.example.com", "type": "HTTPS",
                 "http_config": {"path": "/health", "expected_codes": ["200"]}}, **extra)


def test_create_list_replace_patch_delete(api, path):
    created = api.post(path, json=health(check_regions=["WEU", "ENAM"])).json()["result"]
    assert (created["interval"], created["retries"], created["timeout"]) == (60, 2, 5)
    assert created["http_config"]["method"] == "GET" and created["http_config"]["port"] == 443
    assert created["status"] == "unknown"
    assert [item["id"] for item in api.get(path).json()["result"]] == [created["id"]]
    replaced = api.put(path + "/" + created["id"], json=health(interval=30, retries=1)).json()["result"]
    assert (replaced["interval"], replaced["retries"], replaced["check_regions"]) == (30, 1, None)
    patched = api.patch(path + "/" + created["id"], json={"name": "worker-health", "address": "books.example.com", "suspended": True}).json()["result"]
    assert patched["suspended"] is True and patched["status"] == "suspended" and patched["interval"] == 30
    assert api.request("DELETE", path + "/" + created["id"], json={}).json()["result"] == {"id": created["id"]}
    assert api.get(path + "/" + created["id"]).status_code == 404


@pytest.mark.parametrize("change, message", [
    ({"type": "FTP"}, "type must be one of HTTP, HTTPS, TCP"),
    ({"interval": 10, "timeout": 5, "retries": 2}, "interval (10 s) must be longer than timeout x (retries + 1) = 15 s"),
    ({"check_regions": ["MARS"]}, "check_regions must be a list of"),
    ({"http_config": {"expected_codes": ["2000"]}}, "http_config.expected_codes must be a list of codes"),
    ({"http_config": {"method": "POST"}}, "http_config.method must be GET or HEAD"),
    ({"name": "has space"}, "name is required: letters, digits"),
])
def test_validation(unchecked, path, change, message):
    response = unchecked.post(path, json=health(**change))
    assert response.status_code == 400 and error_codes(response) == [1002]
    assert message in response.json()["errors"][0]["message"]
    assert unchecked.get(path).json()["result"] == []


def test_duplicate_name(api, unchecked, path):
    api.post(path, json=health())
    response = unchecked.post(path, json=health())
    assert response.status_code == 400 and error_codes(response) == [1005]


def test_a_free_zone_refuses_creating_and_changing_health_checks(api, unchecked, fresh, free_path):
    response = unchecked.post(free_path, json=health())
    assert response.status_code == 400 and error_codes(response) == [1002]
    assert response.json()["errors"][0]["message"] == "health checks disabled for zone"
    # Reads still answer (a zone downgraded to Free can list and delete what it had), but nothing is changed.
    assert api.get(free_path).json()["result"] == []
    for method in ("PUT", "PATCH"):
        changed = unchecked.request(method, free_path + "/" + "0" * 32, json=health())
        assert changed.status_code == 400 and error_codes(changed) == [1002], method
    assert fresh.calls()["writes"] == 3
