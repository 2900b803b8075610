"""Accounts (page-style pagination), unknown routes and wrong methods."""
import uuid

import httpx

from tests.emulator.helpers import error_codes


def test_accounts_page_through_more_than_one_page(fresh, api, account_id):
    prefix = "paging-" + uuid.uuid4().hex[:8]
    created = sorted(uuid.uuid4().hex for _index in range(12))
    for index, new_id in enumerate(created):
        fresh.add_account(new_id, "%s-%02d" % (prefix, index))
    seen, page = [], 1
    while True:
        body = api.get("/accounts", params={"page": page, "per_page": 5, "name": prefix}).json()
        info = body["result_info"]
        assert info["per_page"] == 5 and info["page"] == page
        assert info["total_count"] == 12 and info["total_pages"] == 3
        assert info["count"] == len(body["result"])
        seen += [account["name"] for account in body["result"]]
        if page == info["total_pages"]:
            break
        page += 1
    assert seen == ["%s-%02d" % (prefix, index) for index in range(12)]
    descending = api.get("/accounts", params={"per_page": 5, "name": prefix, "direction": "desc"}).json()["result"]
    assert descending[0]["name"] == "%s-11" % prefix


def test_accounts_per_page_outside_5_to_50_is_rejected(unchecked):
    for per_page in (4, 51):
        response = unchecked.get("/accounts", params={"per_page": per_page})
        assert response.status_code == 400
        assert error_codes(response) == [1004]


def test_get_account(api, account_id):
    account = api.get("/accounts/%s" % account_id).json()["result"]
    assert account["id"] == account_id
    assert account["name"] == "cfops local account"


def test_unknown_route_is_404_with_code_7003(unchecked, account_id):
    response = unchecked.get("/accounts/%s/no-such-product" % account_id)
    assert response.status_code == 404
    assert error_codes(response) == [7003, 7000]
    assert "Could not route to /accounts/%s/no-such-product, perhaps your object identifier is invalid?" % account_id \
        == response.json()["errors"][0]["message"]


def test_wrong_method_is_405(unchecked, account_id):
    response = unchecked.patch("/accounts/%s/storage/kv/namespaces" % account_id, json={})
    assert response.status_code == 405
    assert error_codes(response) == [10405]
    assert response.headers["Allow"] == "GET, POST"


def test_paths_outside_client_v4_are_404(fresh):
    # Outside Cloudflare's namespace, so not schema-validated.
    response = httpx.get(fresh.root_url + "/v4/accounts", timeout=10, trust_env=False)
    assert response.status_code == 404
    assert response.json()["success"] is False
