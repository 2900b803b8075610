"""Zone settings: every setting of the 2024 schema with its allowed values, defaults and editability.

Only settings changed from their default are stored; a read answers the default otherwise (with
``modified_on: null``, as Cloudflare does for a setting never touched).
"""
import json

from emulator.api.zones import zone_of
from emulator.envelope import ApiError, ok
from emulator.routing import Route
from emulator.store import now_iso

SCHEMA = """
CREATE TABLE IF NOT EXISTS zone_settings (
    zone_id TEXT NOT NULL,
    setting_id TEXT NOT NULL,
    value TEXT NOT NULL,        -- JSON
    modified_on TEXT NOT NULL,
    PRIMARY KEY (zone_id, setting_id)
);
"""
RESOURCE_TABLES = ("zone_settings",)

INVALID_BODY = 1004          # "Missing 'items'" for a bulk PATCH without items (confirmed, node-cloudflare#98)
UNKNOWN_SETTING = 1006       # "Unrecognized zone setting name: <name>" (confirmed, terraform-provider-cloudflare#1810)
INVALID_VALUE = 1007         # "Invalid value for zone setting <name>" (confirmed, pulumi-cloudflare#1319)
NOT_EDITABLE = 1057          # "<name> cannot be modified for this zone" (confirmed, terraform-provider#1787)

ON_OFF = ("on", "off")
# Setting -> (allowed values or a checker name, default).  Values and defaults from the schema's zones_*_value.
SETTINGS = {
    "0rtt": (ON_OFF, "off"),
    "advanced_ddos": (ON_OFF, "on"),
    "always_online": (ON_OFF, "on"),
    "always_use_https": (ON_OFF, "off"),
    "automatic_https_rewrites": (ON_OFF, "on"),
    "brotli": (ON_OFF, "on"),
    "browser_cache_ttl": ((0, 30, 60, 120, 300, 1200, 1800, 3600, 7200, 10800, 14400, 18000, 28800, 43200, 57600,
                           72000, 86400, 172800, 259200, 345600, 432000, 691200, 1382400, 2073600, 2678400, 5356800,
                           16070400, 31536000), 14400),
    "browser_check": (ON_OFF, "on"),
    "cache_level": (("aggressive", "basic", "simplified"), "aggressive"),
    "challenge_ttl": ((300, 900, 1800, 2700, 3600, 7200, 10800, 14400, 28800, 57600, 86400, 604800, 2592000,
                       31536000), 1800),
    "ciphers": ("ciphers", []),
    "cname_flattening": (("flatten_at_root", "flatten_all"), "flatten_at_root"),
    "development_mode": (ON_OFF, "off"),
    "early_hints": (ON_OFF, "off"),
    "email_obfuscation": (ON_OFF, "on"),
    "h2_prioritization": (("on", "off", "custom"), "off"),
    "hotlink_protection": (ON_OFF, "off"),
    "http2": (ON_OFF, "on"),
    "http3": (ON_OFF, "on"),
    "image_resizing": (("on", "off", "open"), "off"),
    "ip_geolocation": (ON_OFF, "on"),
    "ipv6": (ON_OFF, "on"),
    "max_upload": ((100, 200, 500), 100),
    "min_tls_version": (("1.0", "1.1", "1.2", "1.3"), "1.0"),
    "minify": ("minify", {"css": "off", "html": "off", "js": "off"}),
    "mirage": (ON_OFF, "off"),
    "nel": ("nel", {"enabled": False}),
    "opportunistic_encryption": (ON_OFF, "on"),
    "opportunistic_onion": (ON_OFF, "on"),
    "orange_to_orange": (ON_OFF, "off"),
    "origin_error_page_pass_thru": (ON_OFF, "off"),
    "polish": (("off", "lossless", "lossy"), "off"),
    "prefetch_preload": (ON_OFF, "off"),
    "proxy_read_timeout": ("proxy_read_timeout", 100),
    "pseudo_ipv4": (("off", "add_header", "overwrite_header"), "off"),
    "replace_insecure_js": (ON_OFF, "on"),
    "response_buffering": (ON_OFF, "off"),
    "rocket_loader": (ON_OFF, "off"),
    # Cloudflare's default is HSTS off (the schema's example default shows it on).
    "security_header": ("security_header", {"strict_transport_security": {
        "enabled": False, "include_subdomains": False, "max_age": 0, "nosniff": False, "preload": False}}),
    "security_level": (("off", "essentially_off", "low", "medium", "high", "under_attack"), "medium"),
    "server_side_exclude": (ON_OFF, "on"),
    "sha1_support": (ON_OFF, "off"),
    "sort_query_string_for_cache": (ON_OFF, "off"),
    "ssl": (("off", "flexible", "full", "strict"), "off"),
    "tls_1_2_only": (ON_OFF, "off"),
    "tls_1_3": (("on", "off", "zrt"), "on"),
    "tls_client_auth": (ON_OFF, "off"),
    "true_client_ip_header": (ON_OFF, "off"),
    "waf": (ON_OFF, "off"),
    "webp": (ON_OFF, "off"),
    "websockets": (ON_OFF, "on"),
}
# Not editable on the Free plan (the emulator's zones are Free): Cloudflare answers 1057.
FREE_PLAN_READ_ONLY = frozenset(("advanced_ddos", "image_resizing", "mirage", "polish", "waf", "http2"))
HSTS_KEYS = {"enabled": bool, "include_subdomains": bool, "max_age": int, "nosniff": bool, "preload": bool}
HSTS_MAX_AGE = 31536000


def _bad(setting_id, detail):
    return ApiError(400, INVALID_VALUE, "Invalid value for zone setting %s: %s" % (setting_id, detail))


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _checked_object(setting_id, value, current):
    """The full value of an object-valued setting after a (partial) change, or ApiError."""
    if setting_id == "ciphers":
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise _bad(setting_id, "expected a list of cipher names")
        return value
    if setting_id == "proxy_read_timeout":
        if not _is_int(value) or not 1 <= value <= 6000:
            raise _bad(setting_id, "expected an integer number of seconds from 1 to 6000")
        return value
    if not isinstance(value, dict):
        raise _bad(setting_id, "expected an object")
    merged = json.loads(json.dumps(current))
    if setting_id == "minify":
        for key, item in value.items():
            if key not in ("css", "html", "js") or item not in ON_OFF:
                raise _bad(setting_id, "keys css, html, js with values on or off")
            merged[key] = item
        return merged
    if setting_id == "nel":
        if set(value) - {"enabled"} or not isinstance(value.get("enabled"), bool):
            raise _bad(setting_id, "expected {enabled: true|false}")
        return {"enabled": value["enabled"]}
    # security_header
    hsts = value.get("strict_transport_security")
    if set(value) - {"strict_transport_security"} or not isinstance(hsts, dict):
        raise _bad(setting_id, "expected {strict_transport_security: {enabled, max_age, include_subdomains, "
                               "preload, nosniff}}")
    for key, item in hsts.items():
        kind = HSTS_KEYS.get(key)
        if kind is None:
            raise _bad(setting_id, "unknown strict_transport_security key %r (allowed: %s)"
                       % (key, ", ".join(sorted(HSTS_KEYS))))
        if (kind is int and not _is_int(item)) or (kind is bool and not isinstance(item, bool)):
            expected = "an integer" if kind is int else "true or false"
            raise _bad(setting_id, "strict_transport_security.%s must be %s" % (key, expected))
        if key == "max_age" and not 0 <= item <= HSTS_MAX_AGE:
            raise _bad(setting_id, "strict_transport_security.max_age must be from 0 to %d" % HSTS_MAX_AGE)
        merged["strict_transport_security"][key] = item
    return merged


def checked_value(setting_id, value, current):
    """``value`` for ``setting_id`` once validated (full object for object settings), else ApiError."""
    allowed = SETTINGS[setting_id][0]
    if isinstance(allowed, str):
        return _checked_object(setting_id, value, current)
    if value not in allowed or isinstance(value, bool) or type(value) is not type(allowed[0]):
        raise _bad(setting_id, "%r is not one of %s" % (value, ", ".join(str(item) for item in allowed)))
    return value


def _setting_id(setting_id):
    if setting_id not in SETTINGS:
        raise ApiError(400, UNKNOWN_SETTING, "Unrecognized zone setting name: %s" % setting_id)
    return setting_id


def _stored(db, zone_id):
    return {row["setting_id"]: row for row in
            db.execute("SELECT * FROM zone_settings WHERE zone_id = ?", (zone_id,)).fetchall()}


def _view(setting_id, stored):
    row = stored.get(setting_id)
    value = json.loads(row["value"]) if row is not None else SETTINGS[setting_id][1]
    return {"id": setting_id, "value": value, "editable": setting_id not in FREE_PLAN_READ_ONLY,
            "modified_on": row["modified_on"] if row is not None else None}


def list_settings(req):
    with req.store.read() as db:
        zone = zone_of(db, req)
        stored = _stored(db, zone["id"])
    return ok([_view(setting_id, stored) for setting_id in sorted(SETTINGS)])


def get_setting(req):
    setting_id = _setting_id(req.params["setting_id"])
    with req.store.read() as db:
        zone = zone_of(db, req)
        return ok(_view(setting_id, _stored(db, zone["id"])))


def _apply(db, zone_id, changes):
    """Validate every ``(setting_id, value)`` first, then store them all; the views of the changed settings."""
    stored = _stored(db, zone_id)
    checked = []
    for setting_id, value in changes:
        _setting_id(setting_id)
        if setting_id in FREE_PLAN_READ_ONLY:
            raise ApiError(400, NOT_EDITABLE, "%s cannot be modified for this zone" % setting_id)
        checked.append((setting_id, checked_value(setting_id, value, _view(setting_id, stored)["value"])))
    now = now_iso()
    for setting_id, value in checked:
        db.execute("INSERT INTO zone_settings (zone_id, setting_id, value, modified_on) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT(zone_id, setting_id) DO UPDATE SET value = excluded.value, "
                   "modified_on = excluded.modified_on", (zone_id, setting_id, json.dumps(value), now))
    stored = _stored(db, zone_id)
    return [_view(checked_id, stored) for checked_id, _value in checked]


def edit_setting(req):
    setting_id = _setting_id(req.params["setting_id"])
    body = req.json_object(INVALID_BODY)
    if "value" not in body:
        raise ApiError(400, INVALID_BODY, "Missing 'value'")
    if body.get("id", setting_id) != setting_id:
        raise ApiError(400, INVALID_BODY, "the body's id %r does not match the path's %r" % (body["id"], setting_id))
    with req.store.write() as db:
        zone = zone_of(db, req)
        return ok(_apply(db, zone["id"], [(setting_id, body["value"])])[0])


def edit_settings(req):
    """Bulk edit: the body is an array of ``{id, value}`` (schema) or ``{"items": [...]}`` (the live API)."""
    body = req.json(INVALID_BODY)
    items = body.get("items") if isinstance(body, dict) else body
    if not isinstance(items, list) or not items:
        raise ApiError(400, INVALID_BODY, "Missing 'items'")
    changes = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or "value" not in item:
            raise ApiError(400, INVALID_BODY, "item %d must be an object with 'id' and 'value'" % index)
        changes.append((item["id"], item["value"]))
    with req.store.write() as db:
        zone = zone_of(db, req)
        return ok(_apply(db, zone["id"], changes))


ROUTES = [
    Route("GET", "/zones/{zone_id}/settings", list_settings),
    Route("PATCH", "/zones/{zone_id}/settings", edit_settings),
    Route("GET", "/zones/{zone_id}/settings/{setting_id}", get_setting),
    Route("PATCH", "/zones/{zone_id}/settings/{setting_id}", edit_setting),
]
