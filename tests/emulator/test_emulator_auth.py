"""Bearer auth with Cloudflare's statuses and codes: 400/9106, 401/10000, 403/10000."""
import re
import uuid

import pytest

from emulator import api as emulator_api
from tests.emulator.helpers import error_codes, make_client

ACCOUNT_ROUTES = sorted({(route.method, route.template) for route in emulator_api.routes() if "{account_id}" in route.template})
OTHER_ACCOUNT = "f" * 32


def concrete(template, account):
    path = template.replace("{account_id}", account)
    return re.sub(r"\{[a-z_]+\}", lambda match: "x" + match.group(0)[1:-1].replace("_", "-"), path)


def test_missing_authorization_header_is_400_with_code_9106(fresh, validator):
    with make_client(fresh, validator, token="", check_requests=False) as client:
        response = client.get("/accounts")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"code": 9106, "message": "Missing X-Auth-Key, X-Auth-Email or Authorization headers"}]


def test_a_non_bearer_authorization_header_is_400(fresh, validator):
    with make_client(fresh, validator, check_requests=False) as client:
        response = client.get("/accounts", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert response.status_code == 400
    assert error_codes(response) == [6003, 6111]


def test_unknown_token_is_401_authentication_error(fresh, validator):
    with make_client(fresh, validator, token="not-a-known-token") as client:
        response = client.get("/user/tokens/verify")
    assert response.status_code == 401
    assert response.json()["errors"] == [{"code": 10000, "message": "Authentication error"}]
    assert response.json()["success"] is False and response.json()["result"] is None


def test_token_verify_on_user_and_account_paths(api, account_id):
    for path in ("/user/tokens/verify", "/accounts/%s/tokens/verify" % account_id):
        result = api.get(path).json()["result"]
        assert result["status"] == "active"
        assert re.fullmatch(r"[0-9a-f]{32}", result["id"])


@pytest.mark.parametrize("method,template", ACCOUNT_ROUTES, ids=[" ".join(route) for route in ACCOUNT_ROUTES])
def test_every_account_route_answers_403_for_an_unknown_account(unchecked, method, template):
    response = unchecked.request(method, concrete(template, OTHER_ACCOUNT))
    assert response.status_code == 403, response.text
    assert response.json()["errors"] == [{"code": 10000, "message": "Authentication error"}]


def test_a_token_limited_to_another_account_gets_403_and_sees_only_its_account(fresh, validator, account_id):
    other = uuid.uuid4().hex
    fresh.add_account(other, "other account")
    token = "limited-" + uuid.uuid4().hex
    fresh.add_token(token, other)
    with make_client(fresh, validator, token=token) as client:
        denied = client.get("/accounts/%s/storage/kv/namespaces" % account_id)
        assert denied.status_code == 403
        assert error_codes(denied) == [10000]
        assert client.get("/accounts/%s/storage/kv/namespaces" % other).status_code == 200
        assert [a["id"] for a in client.get("/accounts").json()["result"]] == [other]
        assert client.get("/accounts/%s/tokens/verify" % account_id).status_code == 403
        assert client.get("/accounts/%s/tokens/verify" % other).status_code == 200


def test_the_default_token_sees_every_account(fresh, api, account_id):
    other = uuid.uuid4().hex
    fresh.add_account(other, "zz another account")
    assert [a["id"] for a in api.get("/accounts", params={"name": "zz another account"}).json()["result"]] == [other]
    assert api.get("/accounts/%s" % account_id).status_code == 200
    assert api.get("/accounts/%s" % other).json()["result"]["name"] == "zz another account"
