"""Zones: the objects DNS records, rulesets, settings, health checks and Worker routes hang off.

Zone-scoped paths (``/zones/{zone_id}/...``) carry no account id, so handlers load the zone with
``zone_of(db, req)``: it answers 404 for an unknown zone and 403 when the token is limited to another
account, the way Cloudflare does.
"""
import hashlib
import re

from emulator.api.paging import direction_arg, page_window, paginate
from emulator.envelope import ApiError, ok
from emulator.routing import Route
from emulator.store import now_iso

SCHEMA = """
CREATE TABLE IF NOT EXISTS zones (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL DEFAULT 'full',
    paused INTEGER NOT NULL DEFAULT 0,
    plan TEXT NOT NULL DEFAULT 'free',  -- legacy plan id: free, pro, business, enterprise
    created_on TEXT NOT NULL,
    modified_on TEXT NOT NULL
);
"""
# Zones survive a state reset like accounts do: they are the fixture everything zone-scoped needs.
RESOURCE_TABLES = ()

INVALID_ZONE = 1001          # "Invalid zone identifier" (UNCONFIRMED status: 404)
UNAUTHORIZED = 9109          # "Unauthorized to access requested resource"
INVALID_ZONE_NAME = 1099     # UNCONFIRMED; see emulator/README.md
ZONE_EXISTS = 1061           # "<name> already exists"
INVALID_BODY = 1004

_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
NAME_SERVERS = ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"]
PLANS = {
    "free": ("0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "Free Website", 0),
    "pro": ("a577b510288e82b26c2f5ee1c2d2a5b5", "Pro Website", 20),
    "business": ("bf7e4ecb4b0e42e3a9f1c6cd2a1c0b2e", "Business Website", 200),
    "enterprise": ("94f3b7b768b0458b56d2cac4fe5ec0f9", "Enterprise Website", 0),
}


def parse_zone_spec(spec):
    """``NAME`` or ``NAME:PLAN`` (``python -m emulator --zone example.com:pro``) -> (name, plan)."""
    name, _sep, plan = spec.partition(":")
    plan = (plan or "free").lower()
    if plan not in PLANS:
        raise ValueError("unknown plan %r in --zone %s (plans: %s)" % (plan, spec, ", ".join(PLANS)))
    return name, plan


def zone_id_for(account_id, name):
    """A stable id, so a zone seeded at every start keeps its id across restarts."""
    return hashlib.md5(("%s/%s" % (account_id, name)).encode("utf-8")).hexdigest()


def ensure_zone(store, account_id, name, plan="free"):
    """Create ``name`` in the account unless it exists, on ``plan`` (``python -m emulator --zone NAME[:PLAN]``)."""
    name = name.strip().lower().rstrip(".")
    with store.write() as db:
        now = now_iso()
        db.execute("INSERT OR IGNORE INTO zones (id, account_id, name, plan, created_on, modified_on) VALUES (?, ?, ?, ?, ?, ?)",
                   (zone_id_for(account_id, name), account_id, name, plan, now, now))
        db.execute("UPDATE zones SET plan = ? WHERE name = ?", (plan, name))
        return dict(db.execute("SELECT * FROM zones WHERE name = ?", (name,)).fetchone())


def zone_view(row):
    return {
        "id": row["id"],
        "name": row["name"],
        "status": "active",
        "paused": bool(row["paused"]),
        "type": row["type"],
        "development_mode": 0,
        "name_servers": list(NAME_SERVERS),
        "original_name_servers": None,
        "original_registrar": None,
        "original_dnshost": None,
        "created_on": row["created_on"],
        "modified_on": row["modified_on"],
        "activated_on": row["created_on"],
        "meta": {"step": 4, "custom_certificate_quota": 0, "page_rule_quota": 3, "phishing_detected": False},
        "owner": {"id": None, "type": "user", "email": None},
        "account": {"id": row["account_id"], "name": ""},
        "permissions": ["#zone:read", "#zone:edit", "#dns_records:read", "#dns_records:edit"],
        "plan": plan_view(row["plan"]),
    }


def plan_view(plan):
    plan_id, name, price = PLANS.get(plan, PLANS["free"])
    return {"id": plan_id, "name": name, "price": price, "currency": "USD", "frequency": "monthly" if price else "",
            "is_subscribed": plan != "free", "can_subscribe": plan != "enterprise", "legacy_id": plan,
            "legacy_discount": False, "externally_managed": plan == "enterprise"}


def zone_of(db, req):
    """The zone row of the path's ``zone_id``, checked against the token's account."""
    row = db.execute("SELECT * FROM zones WHERE id = ?", (req.params["zone_id"],)).fetchone()
    if row is None:
        raise ApiError(404, INVALID_ZONE, "Invalid zone identifier")
    limited_to = (req.token or {}).get("account_id")
    if limited_to is not None and limited_to != row["account_id"]:
        raise ApiError(403, UNAUTHORIZED, "Unauthorized to access requested resource")
    return row


def list_zones(req):
    page, per_page = page_window(req, 20, 5, 50)
    clauses, args = [], []
    limited_to = req.token["account_id"]
    if limited_to is not None:
        clauses.append("account_id = ?")
        args.append(limited_to)
    if req.arg("name"):
        clauses.append("name = ?")
        args.append(req.arg("name").lower().rstrip("."))
    if req.arg("account.id"):
        clauses.append("account_id = ?")
        args.append(req.arg("account.id"))
    sql = "SELECT * FROM zones"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    order = "DESC" if direction_arg(req) == "desc" else "ASC"
    sql += " ORDER BY name %s" % order
    with req.store.read() as db:
        rows = db.execute(sql, args).fetchall()
    chunk, info = paginate([zone_view(row) for row in rows], page, per_page)
    return ok(chunk, info)


def get_zone(req):
    with req.store.read() as db:
        return ok(zone_view(zone_of(db, req)))


def create_zone(req):
    body = req.json_object(INVALID_BODY)
    name = body.get("name")
    account = body.get("account") or {}
    account_id = account.get("id") if isinstance(account, dict) else None
    if not isinstance(name, str) or not _NAME.match(name.lower().rstrip(".")):
        raise ApiError(400, INVALID_ZONE_NAME, "Invalid zone name: %r" % (name,))
    if not isinstance(account_id, str) or not req.store.account_exists(account_id):
        raise ApiError(400, INVALID_BODY, "account.id is required and must be an account of the token")
    limited_to = req.token["account_id"]
    if limited_to is not None and limited_to != account_id:
        raise ApiError(403, UNAUTHORIZED, "Unauthorized to access requested resource")
    name = name.lower().rstrip(".")
    with req.store.write() as db:
        if db.execute("SELECT 1 FROM zones WHERE name = ?", (name,)).fetchone():
            raise ApiError(400, ZONE_EXISTS, "%s already exists" % name)
        now = now_iso()
        db.execute("INSERT INTO zones (id, account_id, name, type, created_on, modified_on) VALUES (?, ?, ?, ?, ?, ?)",
                   (zone_id_for(account_id, name), account_id, name, body.get("type") or "full", now, now))
        row = db.execute("SELECT * FROM zones WHERE name = ?", (name,)).fetchone()
    return ok(zone_view(row))


def delete_zone(req):
    with req.store.write() as db:
        row = zone_of(db, req)
        db.execute("DELETE FROM zones WHERE id = ?", (row["id"],))
    return ok({"id": row["id"]})


ROUTES = [
    Route("GET", "/zones", list_zones),
    Route("POST", "/zones", create_zone),
    Route("GET", "/zones/{zone_id}", get_zone),
    Route("DELETE", "/zones/{zone_id}", delete_zone),
]
