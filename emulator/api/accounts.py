"""Accounts, the user, memberships and token verification, for user-owned and account-owned API tokens.

A token is a user's API token (``owner`` 'user': it can span accounts) or an account API token (``owner``
'account': owned by one account). Cloudflare verifies each kind at its own path: ``/user/tokens/verify``
and ``/accounts/{account_id}/tokens/verify``; the other path answers 1000 "Invalid API Token" (wrangler's
``user/whoami.ts`` tells the kinds apart by exactly that code). An account token has no user: ``/user``
answers 9109 and ``/memberships`` 10000, the codes wrangler's whoami expects there.
Evidence: ``emulator/fidelity/accounts.yml``.
"""
import hashlib

from emulator.api.paging import direction_arg, page_window, paginate
from emulator.envelope import ApiError, ok
from emulator.routing import Route

SCHEMA = ""              # accounts and tokens are core tables (emulator/store.py)
RESOURCE_TABLES = ()     # state reset keeps accounts and tokens

INVALID_TOKEN = 1000             # wrangler user/whoami.ts getTokenType: "Invalid API Token"
UNAUTHORIZED = 9109              # wrangler user/whoami.ts getEmail: no User Details permission
AUTHENTICATION_ERROR = 10000     # wrangler core/handle-errors.ts isAuthenticationError (memberships)

# The one user behind every user-owned token of the emulator.
USER_ID = hashlib.md5(b"cfops local user").hexdigest()
USER_EMAIL = "local-user@cfops.invalid"
SUPER_ADMIN = "Super Administrator - All Privileges"


def account_view(row):
    return {
        "id": row["id"],
        "name": row["name"],
        "type": "standard",
        "settings": {"enforce_twofactor": False, "use_account_custom_ns_by_default": False},
        "created_on": row["created_on"],
    }


def _visible_accounts(req, name=None, descending=False):
    sql, args, clauses = "SELECT * FROM accounts", [], []
    if req.token["account_id"] is not None:
        clauses.append("id = ?")
        args.append(req.token["account_id"])
    if name:
        clauses.append("instr(lower(name), lower(?)) > 0")
        args.append(name)
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    order = "DESC" if descending else "ASC"
    sql += " ORDER BY name %s, id %s" % (order, order)
    with req.store.read() as db:
        return db.execute(sql, args).fetchall()


def list_accounts(req):
    page, per_page = page_window(req, 20, 5, 50)
    rows = _visible_accounts(req, req.arg("name"), direction_arg(req) == "desc")
    chunk, info = paginate([account_view(row) for row in rows], page, per_page)
    return ok(chunk, info)


def get_account(req):
    with req.store.read() as db:
        row = db.execute("SELECT * FROM accounts WHERE id = ?", (req.account_id,)).fetchone()
    return ok(account_view(row))  # authentication already proved the account exists


def _verified(req):
    return ok({"id": req.token["id"], "status": "active"},
              messages=[{"code": 10000, "message": "This API Token is valid and active"}])


def _invalid_token():
    return ApiError(401, INVALID_TOKEN, "Invalid API Token")


def verify_user_token(req):
    if req.token["owner"] != "user":
        raise _invalid_token()  # an account token is not a user's token
    return _verified(req)


def verify_account_token(req):
    # Authentication already checked that the token may use this account.
    if req.token["owner"] != "account":
        raise _invalid_token()  # assumption (fidelity/accounts.yml): a user token is not an account token
    return _verified(req)


def get_user(req):
    if req.token["owner"] != "user":
        raise ApiError(403, UNAUTHORIZED, "Unauthorized to access requested resource")
    return ok({"id": USER_ID, "email": USER_EMAIL, "first_name": "Local", "last_name": "User", "username": USER_ID,
               "country": None, "zipcode": None, "telephone": None, "betas": [], "organizations": [],
               "has_pro_zones": False, "has_business_zones": False, "has_enterprise_zones": False,
               "suspended": False, "two_factor_authentication_enabled": False,
               "two_factor_authentication_locked": False})


def membership_view(row):
    return {"id": hashlib.md5(("membership " + row["id"]).encode()).hexdigest(),
            "account": account_view(row), "roles": [SUPER_ADMIN], "status": "accepted", "api_access_enabled": None}


def list_memberships(req):
    if req.token["owner"] != "user":
        raise ApiError(403, AUTHENTICATION_ERROR, "Authentication error")
    page, per_page = page_window(req, 20, 5, 50)
    status = req.arg("status")
    rows = _visible_accounts(req, req.arg("account.name") or req.arg("name"), direction_arg(req) == "desc")
    views = [membership_view(row) for row in rows if status in (None, "", "accepted")]
    chunk, info = paginate(views, page, per_page)
    return ok(chunk, info)


ROUTES = [
    Route("GET", "/accounts", list_accounts),
    Route("GET", "/accounts/{account_id}", get_account),
    Route("GET", "/user", get_user),
    Route("GET", "/memberships", list_memberships),
    Route("GET", "/user/tokens/verify", verify_user_token),
    Route("GET", "/accounts/{account_id}/tokens/verify", verify_account_token),
]
