"""Worker triggers: zone routes, custom domains, cron triggers and the workers.dev subdomain.

``host_map(db)`` is what the edge runtime (emulator/runtime) serves: every hostname/path pattern that
reaches a Worker script. Every committed write publishes the ``"triggers"`` hook topic.
"""
import re

from emulator import DEFAULT_ACCOUNT_ID, hooks
from emulator.api import workers_model
from emulator.api.zones import zone_of
from emulator.envelope import ApiError, ok
from emulator.routing import Route
from emulator.store import new_id, now_iso

SCHEMA = """
CREATE TABLE IF NOT EXISTS worker_routes (
    id TEXT PRIMARY KEY,
    zone_id TEXT NOT NULL,
    pattern TEXT NOT NULL,
    script TEXT,                 -- NULL: a route that disables Workers on the pattern
    created_on TEXT NOT NULL,
    UNIQUE (zone_id, pattern)
);
CREATE TABLE IF NOT EXISTS worker_domains (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    zone_id TEXT NOT NULL,
    zone_name TEXT NOT NULL,
    hostname TEXT NOT NULL UNIQUE,
    service TEXT NOT NULL,
    environment TEXT NOT NULL,
    cert_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS worker_schedules (
    account_id TEXT NOT NULL,
    script_name TEXT NOT NULL,
    cron TEXT NOT NULL,
    created_on TEXT NOT NULL,
    modified_on TEXT NOT NULL,
    PRIMARY KEY (account_id, script_name, cron)
);
CREATE TABLE IF NOT EXISTS worker_account_subdomains (
    account_id TEXT PRIMARY KEY,
    subdomain TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS worker_script_subdomains (
    account_id TEXT NOT NULL,
    script_name TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    previews_enabled INTEGER NOT NULL,
    PRIMARY KEY (account_id, script_name)
);
"""
RESOURCE_TABLES = ("worker_routes", "worker_domains", "worker_schedules", "worker_account_subdomains",
                   "worker_script_subdomains")

# Error codes. CONFIRMED (live API messages quoted in public issues): 10019, 10022, 10100, 10007.
INVALID_BODY = 10006
SCRIPT_NOT_FOUND = workers_model.SCRIPT_NOT_FOUND
ROUTE_SCRIPT_NOT_FOUND = 10019   # "Cannot configure a route for a Worker which does not exist. ..."
DUPLICATE_ROUTE = 10020          # UNCONFIRMED
PATTERN_OUTSIDE_ZONE = 10022     # "Route pattern must include zone name: <pattern>"
INVALID_ROUTE = 10021            # UNCONFIRMED
ROUTE_NOT_FOUND = 10005          # UNCONFIRMED
DOMAIN_NOT_FOUND = 100101        # UNCONFIRMED
DOMAIN_OUTSIDE_ZONE = 100102     # UNCONFIRMED
DOMAIN_TAKEN = 100117            # UNCONFIRMED
INVALID_CRON = 10100             # "invalid cron string"
TOO_MANY_CRONS = 10101           # UNCONFIRMED
INVALID_SUBDOMAIN = 10032        # UNCONFIRMED
SUBDOMAIN_TAKEN = 10031          # UNCONFIRMED

# https://developers.cloudflare.com/workers/platform/limits/: cron triggers per account (Workers Paid).
MAX_CRONS_PER_ACCOUNT = 250
DEFAULT_SUBDOMAIN = "cfops-local"
WORKERS_DEV = "workers.dev"

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
_SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def _publish():
    hooks.publish("triggers")


# Cron syntax (https://developers.cloudflare.com/workers/configuration/cron-triggers/#supported-cron-expressions):
# minute 0-59, hour 0-23, day of month 1-31 (L, W), month 1-12 or JAN-DEC, day of week 1-7 or SUN-SAT
# (Sunday = 1; L and # allowed). Kept in sync with plugins/module_utils/_worker_triggers.py.
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_FIELDS = (("minute", 0, 59, ()), ("hour", 0, 23, ()), ("day of month", 1, 31, ()),
           ("month", 1, 12, _MONTHS), ("day of week", 1, 7, _DAYS))


def _value(text, low, high, names):
    if text.upper() in names:
        return names.index(text.upper()) + low
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(text)
    return int(text)


def _check_cron_item(item, low, high, names, field):
    base, _sep, step = item.partition("/")
    if step and (not step.isdigit() or int(step) < 1):
        raise ValueError(item)
    if field == "day of month" and base.upper() in ("L", "LW"):
        return
    if field == "day of month" and base.upper().endswith("W"):
        base = base[:-1]
    if field == "day of week":
        if base.upper() == "L":
            return
        if base.upper().endswith("L"):
            base = base[:-1]
        elif "#" in base:
            base, _sep, nth = base.partition("#")
            if nth not in ("1", "2", "3", "4", "5"):
                raise ValueError(item)
    if base == "*":
        return
    first, _sep, last = base.partition("-")
    start = _value(first, low, high, names)
    if last and _value(last, low, high, names) < start:
        raise ValueError(item)


def cron_problem(cron):
    """None when ``cron`` is a Cloudflare cron expression, else why not."""
    if not isinstance(cron, str):
        return "a cron must be a string"
    fields = cron.split()
    if len(fields) != 5:
        return "a cron has 5 fields (minute hour day-of-month month day-of-week), got %d" % len(fields)
    for text, (field, low, high, names) in zip(fields, _FIELDS):
        for item in text.split(","):
            try:
                _check_cron_item(item, low, high, names, field)
            except ValueError:
                return "the %s field %r is not valid (allowed %d-%d%s)" % (
                    field, text, low, high, " or %s-%s" % (names[0], names[-1]) if names else "")
    return None


# Routes ----------------------------------------------------------------------------------------------------

def split_pattern(pattern):
    """``(host, path)`` of a route pattern such as ``*.example.com/api/*`` (scheme dropped)."""
    rest = pattern.split("://", 1)[1] if "://" in pattern else pattern
    host, slash, path = rest.partition("/")
    return host.lower(), "/" + path if slash else "/"


def host_in_zone(host, zone_name):
    bare = host.split(":", 1)[0]
    if bare.startswith("*."):
        bare = bare[2:]
    elif bare.startswith("*"):
        bare = bare[1:]
    return bare == zone_name or bare.endswith("." + zone_name)


def route_view(row):
    return {"id": row["id"], "pattern": row["pattern"], "script": row["script"] or ""}


def _route_body(req, db, zone):
    body = req.json_object(INVALID_BODY)
    pattern = body.get("pattern")
    script = body.get("script")
    if not isinstance(pattern, str) or not pattern.strip():
        raise ApiError(400, INVALID_ROUTE, "A route needs a pattern such as example.com/*")
    if script is not None and not isinstance(script, str):
        raise ApiError(400, INVALID_ROUTE, "script must be the name of a Worker")
    host, _path = split_pattern(pattern)
    if not host_in_zone(host, zone["name"]):
        raise ApiError(400, PATTERN_OUTSIDE_ZONE, "Route pattern must include zone name: %s" % pattern)
    if script and workers_model.find_script(db, zone["account_id"], script) is None:
        raise ApiError(400, ROUTE_SCRIPT_NOT_FOUND, "Cannot configure a route for a Worker which does not exist. "
                       "Please ensure this Worker exists and try again.")
    return pattern, script or None


def _route(db, zone, route_id):
    row = db.execute("SELECT * FROM worker_routes WHERE id = ? AND zone_id = ?", (route_id, zone["id"])).fetchone()
    if row is None:
        raise ApiError(404, ROUTE_NOT_FOUND, "Route not found")
    return row


def _pattern_taken(db, zone_id, pattern, except_id=""):
    return db.execute("SELECT 1 FROM worker_routes WHERE zone_id = ? AND pattern = ? AND id != ?",
                      (zone_id, pattern, except_id)).fetchone() is not None


def list_routes(req):
    with req.store.read() as db:
        zone = zone_of(db, req)
        rows = db.execute("SELECT * FROM worker_routes WHERE zone_id = ? ORDER BY pattern", (zone["id"],)).fetchall()
    return ok([route_view(row) for row in rows])


def create_route(req):
    with req.store.write() as db:
        zone = zone_of(db, req)
        pattern, script = _route_body(req, db, zone)
        if _pattern_taken(db, zone["id"], pattern):
            raise ApiError(409, DUPLICATE_ROUTE, "A route with the same pattern already exists: %s" % pattern)
        route_id = new_id()
        db.execute("INSERT INTO worker_routes (id, zone_id, pattern, script, created_on) VALUES (?, ?, ?, ?, ?)",
                   (route_id, zone["id"], pattern, script, now_iso()))
        row = _route(db, zone, route_id)
    _publish()
    return ok(route_view(row))


def get_route(req):
    with req.store.read() as db:
        return ok(route_view(_route(db, zone_of(db, req), req.params["route_id"])))


def update_route(req):
    with req.store.write() as db:
        zone = zone_of(db, req)
        row = _route(db, zone, req.params["route_id"])
        pattern, script = _route_body(req, db, zone)
        if _pattern_taken(db, zone["id"], pattern, except_id=row["id"]):
            raise ApiError(409, DUPLICATE_ROUTE, "A route with the same pattern already exists: %s" % pattern)
        db.execute("UPDATE worker_routes SET pattern = ?, script = ? WHERE id = ?", (pattern, script, row["id"]))
        row = _route(db, zone, row["id"])
    _publish()
    return ok(route_view(row))


def delete_route(req):
    with req.store.write() as db:
        row = _route(db, zone_of(db, req), req.params["route_id"])
        db.execute("DELETE FROM worker_routes WHERE id = ?", (row["id"],))
    _publish()
    return ok({"id": row["id"]})


# Custom domains --------------------------------------------------------------------------------------------

def domain_view(row):
    return {"id": row["id"], "cert_id": row["cert_id"], "environment": row["environment"], "hostname": row["hostname"],
            "service": row["service"], "zone_id": row["zone_id"], "zone_name": row["zone_name"]}


def _zone_for_hostname(db, account_id, hostname, zone_id=None, zone_name=None):
    """The zone of the account that ``hostname`` is in (the longest match; the named one when given)."""
    rows = db.execute("SELECT * FROM zones WHERE account_id = ?", (account_id,)).fetchall()
    candidates = [row for row in rows if hostname == row["name"] or hostname.endswith("." + row["name"])]
    if zone_id:
        candidates = [row for row in candidates if row["id"] == zone_id]
    if zone_name:
        candidates = [row for row in candidates if row["name"] == zone_name.lower()]
    if not candidates:
        raise ApiError(400, DOMAIN_OUTSIDE_ZONE, "Hostname %r is not in %s of this account" % (
            hostname, "zone %s" % (zone_name or zone_id) if zone_id or zone_name else "any zone"))
    return max(candidates, key=lambda row: len(row["name"]))


def list_domains(req):
    clauses, args = ["account_id = ?"], [req.account_id]
    for name in ("zone_name", "service", "zone_id", "hostname", "environment"):
        if req.arg(name):
            clauses.append("%s = ?" % name)
            args.append(req.arg(name))
    with req.store.read() as db:
        rows = db.execute("SELECT * FROM worker_domains WHERE %s ORDER BY hostname" % " AND ".join(clauses), args).fetchall()
    return ok([domain_view(row) for row in rows])


def attach_domain(req):
    body = req.json_object(INVALID_BODY)
    hostname = body.get("hostname")
    service = body.get("service")
    environment = body.get("environment") or "production"
    if not isinstance(hostname, str) or not _HOSTNAME.match(hostname.lower().rstrip(".")):
        raise ApiError(400, INVALID_BODY, "hostname must be a hostname such as api.example.com, got %r" % (hostname,))
    if not isinstance(service, str) or not service:
        raise ApiError(400, INVALID_BODY, "service must be the name of a Worker")
    hostname = hostname.lower().rstrip(".")
    with req.store.write() as db:
        zone = _zone_for_hostname(db, req.account_id, hostname, body.get("zone_id"), body.get("zone_name"))
        if workers_model.find_script(db, req.account_id, service) is None:
            raise workers_model.not_found()
        row = db.execute("SELECT * FROM worker_domains WHERE hostname = ?", (hostname,)).fetchone()
        if row is not None and row["account_id"] != req.account_id:
            raise ApiError(409, DOMAIN_TAKEN, "Hostname %r is already attached to a Worker" % hostname)
        if row is None:
            domain_id = new_id()
            db.execute("INSERT INTO worker_domains (id, account_id, zone_id, zone_name, hostname, service, environment, "
                       "cert_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (domain_id, req.account_id, zone["id"], zone["name"], hostname, service, environment, new_id()))
        else:
            domain_id = row["id"]
            db.execute("UPDATE worker_domains SET zone_id = ?, zone_name = ?, service = ?, environment = ? WHERE id = ?",
                       (zone["id"], zone["name"], service, environment, domain_id))
        row = db.execute("SELECT * FROM worker_domains WHERE id = ?", (domain_id,)).fetchone()
    _publish()
    return ok(domain_view(row))


def _domain(db, req):
    row = db.execute("SELECT * FROM worker_domains WHERE id = ? AND account_id = ?",
                     (req.params["domain_id"], req.account_id)).fetchone()
    if row is None:
        raise ApiError(404, DOMAIN_NOT_FOUND, "Domain not found")
    return row


def get_domain(req):
    with req.store.read() as db:
        return ok(domain_view(_domain(db, req)))


def detach_domain(req):
    with req.store.write() as db:
        row = _domain(db, req)
        db.execute("DELETE FROM worker_domains WHERE id = ?", (row["id"],))
    _publish()
    return ok(None)


# Cron triggers ---------------------------------------------------------------------------------------------

def _schedules(db, account_id, script_name):
    return [{"cron": row["cron"], "created_on": row["created_on"], "modified_on": row["modified_on"]}
            for row in db.execute("SELECT * FROM worker_schedules WHERE account_id = ? AND script_name = ? ORDER BY rowid",
                                  (account_id, script_name))]


def get_schedules(req):
    with req.store.read() as db:
        script = workers_model.load_script(db, req.account_id, req.params["script_name"])
        return ok({"schedules": _schedules(db, req.account_id, script.name)})


def put_schedules(req):
    body = req.json(INVALID_BODY)
    if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
        raise ApiError(400, INVALID_BODY, "The body must be an array of {\"cron\": \"...\"} objects")
    crons = []
    for item in body:
        cron = item.get("cron")
        problem = cron_problem(cron)
        if problem:
            raise ApiError(400, INVALID_CRON, "invalid cron string %r: %s" % (cron, problem))
        if cron not in crons:
            crons.append(cron)
    with req.store.write() as db:
        script = workers_model.load_script(db, req.account_id, req.params["script_name"])
        others = db.execute("SELECT COUNT(*) FROM worker_schedules WHERE account_id = ? AND script_name != ?",
                            (req.account_id, script.name)).fetchone()[0]
        if others + len(crons) > MAX_CRONS_PER_ACCOUNT:
            raise ApiError(400, TOO_MANY_CRONS, "An account can have at most %d cron triggers" % MAX_CRONS_PER_ACCOUNT)
        kept = {row["cron"]: row["created_on"] for row in db.execute(
            "SELECT cron, created_on FROM worker_schedules WHERE account_id = ? AND script_name = ?",
            (req.account_id, script.name))}
        db.execute("DELETE FROM worker_schedules WHERE account_id = ? AND script_name = ?", (req.account_id, script.name))
        now = now_iso()
        db.executemany("INSERT INTO worker_schedules (account_id, script_name, cron, created_on, modified_on) "
                       "VALUES (?, ?, ?, ?, ?)", [(req.account_id, script.name, cron, kept.get(cron, now), now)
                                                  for cron in crons])
        schedules = _schedules(db, req.account_id, script.name)
    _publish()
    return ok({"schedules": schedules})


# workers.dev -----------------------------------------------------------------------------------------------

def account_subdomain(db, account_id):
    row = db.execute("SELECT subdomain FROM worker_account_subdomains WHERE account_id = ?", (account_id,)).fetchone()
    if row is not None:
        return row["subdomain"]
    return DEFAULT_SUBDOMAIN if account_id == DEFAULT_ACCOUNT_ID else "cfops-" + account_id[:8]


def get_account_subdomain(req):
    with req.store.read() as db:
        return ok({"subdomain": account_subdomain(db, req.account_id)})


def put_account_subdomain(req):
    subdomain = req.json_object(INVALID_BODY).get("subdomain")
    if not isinstance(subdomain, str) or not _SUBDOMAIN.match(subdomain):
        raise ApiError(400, INVALID_SUBDOMAIN, "subdomain must be 1-63 lowercase letters, digits and '-', got %r"
                       % (subdomain,))
    with req.store.write() as db:
        taken = db.execute("SELECT 1 FROM worker_account_subdomains WHERE subdomain = ? AND account_id != ?",
                           (subdomain, req.account_id)).fetchone()
        if taken:
            raise ApiError(409, SUBDOMAIN_TAKEN, "The subdomain %r is already taken" % subdomain)
        db.execute("INSERT INTO worker_account_subdomains (account_id, subdomain) VALUES (?, ?) "
                   "ON CONFLICT(account_id) DO UPDATE SET subdomain = excluded.subdomain", (req.account_id, subdomain))
    _publish()
    return ok({"subdomain": subdomain})


# A script uploaded through the API is not on workers.dev until it is turned on (users of the plain API
# and of Terraform report it off: terraform-provider-cloudflare#2892, #3268); wrangler always POSTs the
# wanted state after its upload. Preview URLs follow it (wrangler's preview_urls default matches workers_dev).
DEFAULT_SCRIPT_SUBDOMAIN = {"enabled": False, "previews_enabled": False}


def script_subdomain(db, account_id, script_name):
    """``{enabled, previews_enabled}`` of a script (DEFAULT_SCRIPT_SUBDOMAIN until set)."""
    row = db.execute("SELECT * FROM worker_script_subdomains WHERE account_id = ? AND script_name = ?",
                     (account_id, script_name)).fetchone()
    if row is None:
        return dict(DEFAULT_SCRIPT_SUBDOMAIN)
    return {"enabled": bool(row["enabled"]), "previews_enabled": bool(row["previews_enabled"])}


def get_script_subdomain(req):
    with req.store.read() as db:
        script = workers_model.load_script(db, req.account_id, req.params["script_name"])
        return ok(script_subdomain(db, req.account_id, script.name))


def post_script_subdomain(req):
    body = req.json_object(INVALID_BODY)
    if not isinstance(body.get("enabled"), bool):
        raise ApiError(400, INVALID_BODY, "enabled (true or false) is required")
    if "previews_enabled" in body and not isinstance(body["previews_enabled"], bool):
        raise ApiError(400, INVALID_BODY, "previews_enabled must be true or false")
    with req.store.write() as db:
        script = workers_model.load_script(db, req.account_id, req.params["script_name"])
        current = script_subdomain(db, req.account_id, script.name)
        state = {"enabled": body["enabled"], "previews_enabled": body.get("previews_enabled", current["previews_enabled"])}
        db.execute("INSERT INTO worker_script_subdomains (account_id, script_name, enabled, previews_enabled) "
                   "VALUES (?, ?, ?, ?) ON CONFLICT(account_id, script_name) DO UPDATE SET enabled = excluded.enabled, "
                   "previews_enabled = excluded.previews_enabled",
                   (req.account_id, script.name, int(state["enabled"]), int(state["previews_enabled"])))
    _publish()
    return ok(state)


def delete_script_subdomain(req):
    """Turn the Worker off workers.dev, Preview URLs included (the SDK's ``subdomain.delete``)."""
    with req.store.write() as db:
        script = workers_model.load_script(db, req.account_id, req.params["script_name"])
        db.execute("INSERT INTO worker_script_subdomains (account_id, script_name, enabled, previews_enabled) "
                   "VALUES (?, ?, 0, 0) ON CONFLICT(account_id, script_name) DO UPDATE SET enabled = 0, "
                   "previews_enabled = 0", (req.account_id, script.name))
    _publish()
    return ok({"enabled": False, "previews_enabled": False})


# What the edge serves --------------------------------------------------------------------------------------

def host_map(db):
    """Every hostname/path pattern that reaches a Worker script, for the edge runtime.

    A list of ``{"kind": "route"|"custom_domain"|"workers_dev", "account_id", "script_name", "hostname",
    "path_pattern"}``; ``hostname`` may start with ``*`` (a route's wildcard host), ``path_pattern`` is a
    route's path (``/api/*``) or ``/*``. Only entries whose script exists are listed; routes come first, in
    pattern order, then custom domains, then workers.dev names. See docs/dev/interfaces.md.
    """
    scripts = {(row["account_id"], row["name"]) for row in db.execute("SELECT account_id, name FROM worker_scripts")}
    entries = []
    for row in db.execute("SELECT r.pattern, r.script, z.account_id FROM worker_routes r JOIN zones z ON z.id = r.zone_id "
                          "WHERE r.script IS NOT NULL ORDER BY r.pattern"):
        if (row["account_id"], row["script"]) in scripts:
            host, path = split_pattern(row["pattern"])
            entries.append({"kind": "route", "account_id": row["account_id"], "script_name": row["script"],
                            "hostname": host, "path_pattern": path})
    for row in db.execute("SELECT account_id, hostname, service FROM worker_domains ORDER BY hostname"):
        if (row["account_id"], row["service"]) in scripts:
            entries.append({"kind": "custom_domain", "account_id": row["account_id"], "script_name": row["service"],
                            "hostname": row["hostname"], "path_pattern": "/*"})
    for account_id, name in sorted(scripts):
        if script_subdomain(db, account_id, name)["enabled"]:
            entries.append({"kind": "workers_dev", "account_id": account_id, "script_name": name,
                            "hostname": "%s.%s.%s" % (name, account_subdomain(db, account_id), WORKERS_DEV),
                            "path_pattern": "/*"})
    return entries


def forget_script(db, account_id, script_name):
    """What goes with a deleted script (its cron triggers and workers.dev setting), as on Cloudflare.

    Routes and custom domains stay: Cloudflare keeps them (a route to a deleted script serves nothing)."""
    db.execute("DELETE FROM worker_schedules WHERE account_id = ? AND script_name = ?", (account_id, script_name))
    db.execute("DELETE FROM worker_script_subdomains WHERE account_id = ? AND script_name = ?", (account_id, script_name))


ACCOUNT_WORKERS = "/accounts/{account_id}/workers"
ZONE_ROUTES = "/zones/{zone_id}/workers/routes"
ROUTES = [
    Route("GET", ZONE_ROUTES, list_routes),
    Route("POST", ZONE_ROUTES, create_route),
    Route("GET", ZONE_ROUTES + "/{route_id}", get_route),
    Route("PUT", ZONE_ROUTES + "/{route_id}", update_route),
    Route("DELETE", ZONE_ROUTES + "/{route_id}", delete_route),
    Route("GET", ACCOUNT_WORKERS + "/domains", list_domains),
    Route("PUT", ACCOUNT_WORKERS + "/domains", attach_domain),
    Route("GET", ACCOUNT_WORKERS + "/domains/{domain_id}", get_domain),
    Route("DELETE", ACCOUNT_WORKERS + "/domains/{domain_id}", detach_domain),
    Route("GET", ACCOUNT_WORKERS + "/scripts/{script_name}/schedules", get_schedules),
    Route("PUT", ACCOUNT_WORKERS + "/scripts/{script_name}/schedules", put_schedules),
    Route("GET", ACCOUNT_WORKERS + "/subdomain", get_account_subdomain),
    Route("PUT", ACCOUNT_WORKERS + "/subdomain", put_account_subdomain),
    Route("GET", ACCOUNT_WORKERS + "/scripts/{script_name}/subdomain", get_script_subdomain),
    Route("POST", ACCOUNT_WORKERS + "/scripts/{script_name}/subdomain", post_script_subdomain),
    Route("DELETE", ACCOUNT_WORKERS + "/scripts/{script_name}/subdomain", delete_script_subdomain),
]
