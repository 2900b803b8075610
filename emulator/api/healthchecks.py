"""Standalone health checks of a zone: create, list, read, replace (PUT), patch and delete, with validation."""
import json
import re

from emulator.api.paging import page_window, paginate
from emulator.api.zones import zone_of
from emulator.envelope import ApiError, ok
from emulator.routing import Route
from emulator.store import new_id, now_iso

SCHEMA = """
CREATE TABLE IF NOT EXISTS healthchecks (
    id TEXT PRIMARY KEY,
    zone_id TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,          -- JSON of the configurable fields
    created_on TEXT NOT NULL,
    modified_on TEXT NOT NULL,
    UNIQUE (zone_id, name)
);
"""
RESOURCE_TABLES = ("healthchecks",)

# UNCONFIRMED codes (see emulator/README.md).
INVALID_HEALTHCHECK = 1002
HEALTHCHECK_NOT_FOUND = 1003
DUPLICATE_NAME = 1005
# A Free zone has no health checks (x-cfPlanAvailability free: false; emulator/fidelity/healthchecks.yml): public
# clients run against Free zones handle 1002 "health checks disabled for zone" (the status 400 is assumed).
DISABLED_MESSAGE = "health checks disabled for zone"

TYPES = ("HTTP", "HTTPS", "TCP")
REGIONS = ("WNAM", "ENAM", "WEU", "EEU", "NSAM", "SSAM", "OC", "ME", "NAF", "SAF", "IN", "SEAS", "NEAS", "ALL_REGIONS")
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_CODE = re.compile(r"^[1-5](?:[0-9]{2}|xx)$")
DEFAULTS = {"description": "", "type": "HTTP", "interval": 60, "retries": 2, "timeout": 5, "suspended": False,
            "consecutive_fails": 1, "consecutive_successes": 1, "check_regions": None}
HTTP_DEFAULTS = {"method": "GET", "path": "/", "expected_codes": ["200"], "expected_body": "", "header": None,
                 "follow_redirects": False, "allow_insecure": False}
FIELDS = ("name", "address", "http_config", "tcp_config") + tuple(DEFAULTS)


def _bad(message):
    return ApiError(400, INVALID_HEALTHCHECK, message)


def _int(body, key, low, high):
    value = body[key]
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _bad("%s must be an integer from %d to %d, got %r" % (key, low, high, value))


def _http_config(config, kind):
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise _bad("http_config must be an object")
    unknown = sorted(set(config) - set(HTTP_DEFAULTS) - {"port"})
    if unknown:
        raise _bad("http_config: unknown field %r" % unknown[0])
    merged = dict(HTTP_DEFAULTS, port=443 if kind == "HTTPS" else 80)
    merged.update(config)
    if merged["method"] not in ("GET", "HEAD"):
        raise _bad("http_config.method must be GET or HEAD, got %r" % (merged["method"],))
    if not isinstance(merged["path"], str) or not merged["path"].startswith("/"):
        raise _bad("http_config.path must start with '/', got %r" % (merged["path"],))
    codes = merged["expected_codes"]
    if not isinstance(codes, list) or not codes or not all(isinstance(c, str) and _CODE.match(c) for c in codes):
        raise _bad("http_config.expected_codes must be a list of codes such as \"200\" or \"2xx\", got %r" % (codes,))
    header = merged["header"]
    if header is not None and (not isinstance(header, dict) or not all(
            isinstance(v, list) and all(isinstance(i, str) for i in v) for v in header.values())):
        raise _bad("http_config.header must map header names to lists of strings")
    if header and any(name.lower() == "user-agent" for name in header):
        raise _bad("http_config.header: the User-Agent header cannot be overridden")
    for key in ("follow_redirects", "allow_insecure"):
        if not isinstance(merged[key], bool):
            raise _bad("http_config.%s must be true or false" % key)
    if not isinstance(merged["port"], int) or not 1 <= merged["port"] <= 65535:
        raise _bad("http_config.port must be a port number")
    return merged


def checked(body):
    """The full stored configuration for ``body`` (defaults applied), or ApiError naming the bad field."""
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise _bad("unknown field %r" % unknown[0])
    config = dict(DEFAULTS)
    config.update(body)
    if not isinstance(config.get("name"), str) or not _NAME.match(config["name"]):
        raise _bad("name is required: letters, digits, '-' and '_' only, got %r" % (config.get("name"),))
    if not isinstance(config.get("address"), str) or not config["address"].strip():
        raise _bad("address is required: the hostname or IP address of the origin")
    if config["type"] not in TYPES:
        raise _bad("type must be one of %s, got %r" % (", ".join(TYPES), config["type"]))
    _int(config, "interval", 5, 3600)
    _int(config, "retries", 0, 5)
    _int(config, "timeout", 1, 10)
    _int(config, "consecutive_fails", 1, 10)
    _int(config, "consecutive_successes", 1, 10)
    if config["timeout"] * (config["retries"] + 1) >= config["interval"]:
        raise _bad("interval (%d s) must be longer than timeout x (retries + 1) = %d s"
                   % (config["interval"], config["timeout"] * (config["retries"] + 1)))
    if not isinstance(config["suspended"], bool):
        raise _bad("suspended must be true or false")
    if not isinstance(config["description"], str):
        raise _bad("description must be a string")
    regions = config["check_regions"]
    if regions is not None and (not isinstance(regions, list) or not regions
                                or any(region not in REGIONS for region in regions)):
        raise _bad("check_regions must be a list of %s, got %r" % (", ".join(REGIONS), regions))
    if config["type"] == "TCP":
        if config.get("http_config"):
            raise _bad("http_config is not allowed for a TCP health check")
        tcp = config.get("tcp_config") or {}
        if not isinstance(tcp, dict) or tcp.get("method", "connection_established") != "connection_established":
            raise _bad("tcp_config.method must be connection_established")
        config["tcp_config"] = {"method": "connection_established", "port": tcp.get("port", 80)}
        config["http_config"] = None
    else:
        if config.get("tcp_config"):
            raise _bad("tcp_config is only allowed for a TCP health check")
        config["http_config"] = _http_config(config.get("http_config"), config["type"])
        config["tcp_config"] = None
    return config


def _view(row):
    config = json.loads(row["body"])
    view = {"id": row["id"], "created_on": row["created_on"], "modified_on": row["modified_on"],
            "status": "suspended" if config["suspended"] else "unknown", "failure_reason": ""}
    view.update(config)
    return view


def _row(db, zone_id, healthcheck_id):
    row = db.execute("SELECT * FROM healthchecks WHERE id = ? AND zone_id = ?", (healthcheck_id, zone_id)).fetchone()
    if row is None:
        raise ApiError(404, HEALTHCHECK_NOT_FOUND, "health check not found")
    return row


def _name_taken(db, zone_id, name, except_id=""):
    if db.execute("SELECT 1 FROM healthchecks WHERE zone_id = ? AND name = ? AND id != ?",
                  (zone_id, name, except_id)).fetchone():
        raise ApiError(400, DUPLICATE_NAME, "a health check named %r already exists in this zone" % name)


def _require_paid_plan(zone):
    """Creating or changing a health check needs a Pro plan or higher; reads and deletes still answer."""
    if zone["plan"] == "free":
        raise ApiError(400, INVALID_HEALTHCHECK, DISABLED_MESSAGE)


def list_healthchecks(req):
    page, per_page = page_window(req, 25, 5, 1000)
    with req.store.read() as db:
        zone = zone_of(db, req)
        rows = db.execute("SELECT * FROM healthchecks WHERE zone_id = ? ORDER BY name", (zone["id"],)).fetchall()
    chunk, info = paginate([_view(row) for row in rows], page, per_page)
    return ok(chunk, info)


def create_healthcheck(req):
    body = req.json_object(INVALID_HEALTHCHECK)
    with req.store.write() as db:
        zone = zone_of(db, req)
        _require_paid_plan(zone)
        config = checked(body)
        _name_taken(db, zone["id"], config["name"])
        healthcheck_id, now = new_id(), now_iso()
        db.execute("INSERT INTO healthchecks (id, zone_id, name, body, created_on, modified_on) VALUES (?, ?, ?, ?, ?, ?)",
                   (healthcheck_id, zone["id"], config["name"], json.dumps(config), now, now))
        return ok(_view(_row(db, zone["id"], healthcheck_id)))


def get_healthcheck(req):
    with req.store.read() as db:
        zone = zone_of(db, req)
        return ok(_view(_row(db, zone["id"], req.params["healthcheck_id"])))


def _update(req, merge):
    body = req.json_object(INVALID_HEALTHCHECK)
    with req.store.write() as db:
        zone = zone_of(db, req)
        _require_paid_plan(zone)
        row = _row(db, zone["id"], req.params["healthcheck_id"])
        if merge:
            current = json.loads(row["body"])
            if "http_config" in body and isinstance(body["http_config"], dict) and current.get("http_config"):
                body["http_config"] = dict(current["http_config"], **body["http_config"])
            current.update(body)
            if current.get("type") == "TCP" and "type" in body:
                current.pop("http_config", None)
            elif "type" in body:
                current.pop("tcp_config", None)
            body = current
        config = checked(body)
        _name_taken(db, zone["id"], config["name"], except_id=row["id"])
        db.execute("UPDATE healthchecks SET name = ?, body = ?, modified_on = ? WHERE id = ?",
                   (config["name"], json.dumps(config), now_iso(), row["id"]))
        return ok(_view(_row(db, zone["id"], row["id"])))


def replace_healthcheck(req):
    return _update(req, merge=False)


def patch_healthcheck(req):
    return _update(req, merge=True)


def delete_healthcheck(req):
    with req.store.write() as db:
        zone = zone_of(db, req)
        row = _row(db, zone["id"], req.params["healthcheck_id"])
        db.execute("DELETE FROM healthchecks WHERE id = ?", (row["id"],))
    return ok({"id": row["id"]})


BASE = "/zones/{zone_id}/healthchecks"
ROUTES = [
    Route("GET", BASE, list_healthchecks),
    Route("POST", BASE, create_healthcheck),
    Route("GET", BASE + "/{healthcheck_id}", get_healthcheck),
    Route("PUT", BASE + "/{healthcheck_id}", replace_healthcheck),
    Route("PATCH", BASE + "/{healthcheck_id}", patch_healthcheck),
    Route("DELETE", BASE + "/{healthcheck_id}", delete_healthcheck),
]
