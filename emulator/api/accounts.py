"""Accounts and token verification."""
from emulator.api.paging import direction_arg, page_window, paginate
from emulator.envelope import ok
from emulator.routing import Route

SCHEMA = ""              # accounts and tokens are core tables (emulator/store.py)
RESOURCE_TABLES = ()     # state reset keeps accounts and tokens


def account_view(row):
    return {
        "id": row["id"],
        "name": row["name"],
        "type": "standard",
        "settings": {"enforce_twofactor": False, "use_account_custom_ns_by_default": False},
        "created_on": row["created_on"],
    }


def list_accounts(req):
    page, per_page = page_window(req, 20, 5, 50)
    name = req.arg("name")
    sql, args = "SELECT * FROM accounts", []
    clauses = []
    if req.token["account_id"] is not None:
        clauses.append("id = ?")
        args.append(req.token["account_id"])
    if name:
        clauses.append("instr(lower(name), lower(?)) > 0")
        args.append(name)
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    order = "DESC" if direction_arg(req) == "desc" else "ASC"
    sql += " ORDER BY name %s, id %s" % (order, order)
    with req.store.read() as db:
        rows = db.execute(sql, args).fetchall()
    chunk, info = paginate([account_view(row) for row in rows], page, per_page)
    return ok(chunk, info)


def get_account(req):
    with req.store.read() as db:
        row = db.execute("SELECT * FROM accounts WHERE id = ?", (req.account_id,)).fetchone()
    return ok(account_view(row))  # authentication already proved the account exists


def verify_token(req):
    return ok({"id": req.token["id"], "status": "active"},
              messages=[{"code": 10000, "message": "This API Token is valid and active"}])


ROUTES = [
    Route("GET", "/accounts", list_accounts),
    Route("GET", "/accounts/{account_id}", get_account),
    Route("GET", "/user/tokens/verify", verify_token),
    Route("GET", "/accounts/{account_id}/tokens/verify", verify_token),
]
