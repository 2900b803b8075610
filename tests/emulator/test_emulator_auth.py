"""Bearer auth with Cloudflare's statuses and codes: 400/9106, 401/10000, 403/10000; user and account tokens."""
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


def account_token(emulator, account_id):
    token = "account-" + uuid.uuid4().hex
    row = emulator.admin("POST", "/tokens", json={"token": token, "account_id": account_id, "owner": "account"})
    assert row["owner"] == "account" and row["account_id"] == account_id
    return token, row["id"]


def test_the_default_token_is_a_users_token_verified_at_the_user_path(api, unchecked, account_id):
    result = api.get("/user/tokens/verify").json()["result"]
    assert result["status"] == "active" and re.fullmatch(r"[0-9a-f]{32}", result["id"])
    # Each kind verifies at its own path (cloudflare-docs#29486); the other answers 1000 "Invalid API Token".
    at_account = unchecked.get("/accounts/%s/tokens/verify" % account_id)
    assert at_account.status_code == 401
    assert at_account.json()["errors"] == [{"code": 1000, "message": "Invalid API Token"}]


def test_an_account_token_verifies_at_the_account_path_only(fresh, validator, account_id):
    token, token_id = account_token(fresh, account_id)
    with make_client(fresh, validator, token=token) as client:
        assert client.get("/accounts/%s/tokens/verify" % account_id).json()["result"] == {"id": token_id, "status": "active"}
        user_path = client.get("/user/tokens/verify")
        assert user_path.status_code == 401 and error_codes(user_path) == [1000]
        # It works on its account's resources and sees only that account.
        assert client.get("/accounts/%s/storage/kv/namespaces" % account_id).status_code == 200
        assert [a["id"] for a in client.get("/accounts").json()["result"]] == [account_id]
        # No user behind it: wrangler whoami reads 9109 from /user and 10000 from /memberships.
        user = client.get("/user")
        assert user.status_code == 403 and error_codes(user) == [9109]
        memberships = client.get("/memberships")
        assert memberships.status_code == 403 and error_codes(memberships) == [10000]


def test_an_account_token_is_refused_on_another_account(fresh, validator, account_id):
    other = uuid.uuid4().hex
    fresh.add_account(other, "other account")
    token, _token_id = account_token(fresh, other)
    with make_client(fresh, validator, token=token) as client:
        assert error_codes(client.get("/accounts/%s/storage/kv/namespaces" % account_id)) == [10000]
        assert client.get("/accounts/%s/tokens/verify" % account_id).status_code == 403


def test_the_user_and_memberships_of_a_user_token(fresh, api, account_id):
    other = uuid.uuid4().hex
    fresh.add_account(other, "zz member account")
    user = api.get("/user").json()["result"]
    assert re.fullmatch(r"[0-9a-f]{32}", user["id"]) and "@" in user["email"]
    memberships = api.get("/memberships").json()
    assert {m["account"]["id"] for m in memberships["result"]} >= {account_id, other}
    assert all(m["status"] == "accepted" and m["roles"] for m in memberships["result"])
    named = api.get("/memberships", params={"account.name": "zz member"}).json()["result"]
    assert [m["account"]["id"] for m in named] == [other]


def test_admin_token_owner_is_checked_and_the_old_body_still_works(fresh, account_id):
    assert fresh.add_token("plain-" + uuid.uuid4().hex, account_id)["owner"] == "user"
    for body, message in (({"owner": "robot"}, "owner must be one of"),
                          ({"owner": "account"}, "needs account_id")):
        with pytest.raises(Exception, match=message):
            fresh.admin("POST", "/tokens", json=dict({"token": "t-" + uuid.uuid4().hex}, **body))


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
        # A user token limited to an account is still a user token: verified at the user path.
        assert client.get("/user/tokens/verify").status_code == 200
        assert error_codes(client.get("/accounts/%s/tokens/verify" % other)) == [1000]


def test_the_default_token_sees_every_account(fresh, api, account_id):
    other = uuid.uuid4().hex
    fresh.add_account(other, "zz another account")
    assert [a["id"] for a in api.get("/accounts", params={"name": "zz another account"}).json()["result"]] == [other]
    assert api.get("/accounts/%s" % account_id).status_code == 200
    assert api.get("/accounts/%s" % other).json()["result"]["name"] == "zz another account"


def test_a_data_directory_from_before_token_owners_gets_the_column(tmp_path):
    import sqlite3

    from emulator.store import Store
    old = sqlite3.connect(str(tmp_path / "state.sqlite3"))
    old.executescript("CREATE TABLE accounts (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_on TEXT NOT NULL);"
                      "CREATE TABLE tokens (token TEXT PRIMARY KEY, id TEXT NOT NULL, account_id TEXT, created_on TEXT NOT NULL);"
                      "INSERT INTO tokens VALUES ('old-token', 'abc', NULL, '2024-01-01T00:00:00Z');")
    old.close()
    store = Store(str(tmp_path))
    try:
        assert store.find_token("old-token")["owner"] == "user"
    finally:
        store.close()
