"""The admin API: call counts, faults, accounts, tokens, state reset."""
import concurrent.futures
import time

import httpx
import pytest

from tests.emulator.helpers import create_namespace, error_codes, make_client, upload_script
from tests.support.emulator import EmulatorError

NAMESPACES = "/accounts/{account_id}/storage/kv/namespaces"


def namespaces_path(account_id):
    return NAMESPACES.format(account_id=account_id)


def titles(api, account_id):
    return [ns["title"] for ns in api.get(namespaces_path(account_id), params={"per_page": 100}).json()["result"]]


def test_health(fresh):
    assert fresh.health() == {"ok": True}


# Call counts -------------------------------------------------------------------------------------------------

def test_calls_are_counted_by_method_and_route_template(fresh, api, account_id):
    namespace = create_namespace(api, account_id, "counted")
    api.get(namespaces_path(account_id))
    api.get(namespaces_path(account_id))
    api.put(namespaces_path(account_id) + "/%s/bulk" % namespace, json=[{"key": "k", "value": "v"}])
    api.post(namespaces_path(account_id) + "/%s/bulk/get" % namespace, json={"keys": ["k"]})
    upload_script(api, account_id, "counted-worker")
    upload_script(api, account_id, "counted-worker")
    calls = fresh.calls()
    by_route = {(c["method"], c["route"]): (c["count"], c["write"]) for c in calls["calls"]}
    assert by_route == {
        ("POST", NAMESPACES): (1, True),
        ("GET", NAMESPACES): (2, False),
        ("PUT", NAMESPACES + "/{namespace_id}/bulk"): (1, True),
        ("POST", NAMESPACES + "/{namespace_id}/bulk/get"): (1, False),
        ("PUT", "/accounts/{account_id}/workers/scripts/{script_name}"): (2, True),
    }
    assert (calls["total"], calls["reads"], calls["writes"], calls["faulted"]) == (7, 3, 4, 0)


def test_failed_and_unrouted_calls_count_and_admin_calls_do_not(fresh, unchecked, account_id):
    unchecked.get("/accounts/%s/nowhere" % account_id)
    unchecked.get(namespaces_path("f" * 32))  # 403 still counts
    fresh.calls()
    fresh.faults()
    calls = fresh.calls()
    assert calls["total"] == 2 and calls["reads"] == 2
    assert {c["route"] for c in calls["calls"]} == {"(no route)", NAMESPACES}


def test_reset_zeroes_the_counts(fresh, api, account_id):
    api.get(namespaces_path(account_id))
    assert fresh.calls()["total"] == 1
    fresh.reset_calls()
    assert fresh.calls() == {"total": 0, "reads": 0, "writes": 0, "faulted": 0, "calls": []}


def test_counting_is_thread_safe(fresh, validator, account_id):
    def worker(_number):
        with make_client(fresh, validator) as client:
            for _attempt in range(25):
                assert client.get(namespaces_path(account_id)).status_code == 200

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(worker, range(8)))
    assert fresh.calls()["total"] == 200


# Faults ------------------------------------------------------------------------------------------------------------

def test_429_with_retry_after_and_not_applied(fresh, api, account_id):
    fresh.inject_fault(method="POST", path=NAMESPACES, action="status", status=429, retry_after=7)
    response = api.post(namespaces_path(account_id), json={"title": "limited"})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json()["errors"] == [{"code": 10000, "message": "Rate limited"}]
    assert titles(api, account_id) == []
    assert fresh.calls()["faulted"] == 1
    assert fresh.faults() == []  # count 1 used up


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors(fresh, api, account_id, status):
    fresh.inject_fault(method="GET", path="/accounts/*/storage/kv/namespaces", action="status", status=status, count=2)
    for _attempt in range(2):
        response = api.get(namespaces_path(account_id))
        assert response.status_code == status
        assert error_codes(response) == [10013]
    assert api.get(namespaces_path(account_id)).status_code == 200
    assert fresh.calls()["faulted"] == 2


def test_apply_true_applies_the_call_before_failing(fresh, api, account_id):
    fresh.inject_fault(method="POST", path=NAMESPACES, action="status", status=503, apply=True)
    assert api.post(namespaces_path(account_id), json={"title": "ambiguous"}).status_code == 503
    assert titles(api, account_id) == ["ambiguous"]


def test_hang_delays_then_answers_normally(fresh, api, account_id):
    fresh.inject_fault(method="GET", path=NAMESPACES, action="hang", seconds=1.0)
    started = time.monotonic()
    response = api.get(namespaces_path(account_id))
    assert response.status_code == 200
    assert 1.0 <= time.monotonic() - started < 8
    assert fresh.calls()["faulted"] == 1


def test_a_hang_longer_than_the_client_timeout_times_out(fresh, validator, account_id):
    fresh.inject_fault(method="GET", path=NAMESPACES, action="hang", seconds=2)
    with make_client(fresh, validator) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.get(namespaces_path(account_id), timeout=0.5)


def test_drop_closes_the_connection_without_applying(fresh, api, account_id):
    fresh.inject_fault(method="POST", path=NAMESPACES, action="drop")
    with pytest.raises(httpx.RemoteProtocolError):
        api.post(namespaces_path(account_id), json={"title": "dropped"})
    assert titles(api, account_id) == []
    assert fresh.calls()["faulted"] == 1


def test_drop_with_apply_creates_then_drops(fresh, api, account_id):
    fresh.inject_fault(method="POST", path="/accounts/*/storage/kv/namespaces", action="drop", apply=True)
    with pytest.raises(httpx.RemoteProtocolError):
        api.post(namespaces_path(account_id), json={"title": "created-anyway"})
    assert titles(api, account_id) == ["created-anyway"]


def test_every_second_call_is_faulted(fresh, api, account_id):
    fresh.inject_fault(method="*", path="*", action="status", status=503, every=2, count=3)
    statuses = [api.get(namespaces_path(account_id)).status_code for _attempt in range(8)]
    assert statuses == [200, 503, 200, 503, 200, 503, 200, 200]
    assert fresh.calls()["faulted"] == 3


def test_faults_match_method_and_path(fresh, api, account_id):
    fault_id = fresh.inject_fault(method="PUT", path="/accounts/{account_id}/workers/scripts/{script_name}",
                                  action="status", status=500, count=5)
    assert api.get(namespaces_path(account_id)).status_code == 200
    assert upload_script(api, account_id, "faulted").status_code == 500
    (active,) = fresh.faults()
    assert active["id"] == fault_id and active["remaining"] == 4 and active["seen"] == 1
    fresh.clear_faults()
    assert fresh.faults() == []
    assert upload_script(api, account_id, "faulted").status_code == 200


def test_invalid_fault_specs_are_rejected(fresh):
    with pytest.raises(EmulatorError):
        fresh.inject_fault(action="explode")
    with pytest.raises(EmulatorError):
        fresh.inject_fault(action="status", status=200)


# Accounts, tokens, state reset ----------------------------------------------------------------------------------

def test_state_reset_wipes_resources_but_keeps_accounts_and_tokens(fresh, validator, api, account_id):
    fresh.add_account("1" * 32, "kept account")
    fresh.add_token("kept-token", "1" * 32)
    create_namespace(api, account_id, "wiped")
    upload_script(api, account_id, "wiped-worker")
    fresh.reset_state()
    assert titles(api, account_id) == []
    assert api.get("/accounts/%s/workers/scripts" % account_id).json()["result"] == []
    assert [a["id"] for a in api.get("/accounts", params={"name": "kept account"}).json()["result"]] == ["1" * 32]
    with make_client(fresh, validator, token="kept-token") as kept:
        assert kept.get("/accounts/%s" % ("1" * 32)).status_code == 200


def test_admin_rejects_a_token_for_an_unknown_account(fresh):
    with pytest.raises(EmulatorError):
        fresh.add_token("orphan", "9" * 32)
