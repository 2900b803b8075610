"""Rulesets: phase entrypoints of zones and accounts, their rules, and Cloudflare's validation of them.

A PUT of an entrypoint replaces its rules.  A rule keeps its id when the new rule names it (``id``) or
carries the same ``ref``; a rule whose content is unchanged keeps its version.  The ruleset version
increments on every write, as Cloudflare's does.  Expressions are parsed (``ruleset_expressions``),
actions checked against the phase, and ``ratelimit`` against the zone plan's allowed periods.
"""
import json
import re

from emulator.api import ruleset_expressions
from emulator.api.zones import zone_of
from emulator.envelope import ApiError, ok, raw
from emulator.routing import Route
from emulator.store import new_id, now_iso

SCHEMA = """
CREATE TABLE IF NOT EXISTS rulesets (
    id TEXT PRIMARY KEY,
    scope TEXT NOT NULL,          -- 'zones' or 'accounts'
    scope_id TEXT NOT NULL,
    phase TEXT NOT NULL,
    kind TEXT NOT NULL,           -- 'zone' (zone entrypoint), 'root' (account entrypoint) or 'custom'
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL,
    last_updated TEXT NOT NULL,
    rules TEXT NOT NULL           -- JSON array of stored rules
);
CREATE UNIQUE INDEX IF NOT EXISTS rulesets_entrypoint ON rulesets (scope, scope_id, phase) WHERE kind != 'custom';
"""
RESOURCE_TABLES = ("rulesets",)

# Error codes: see emulator/README.md (UNCONFIRMED: Cloudflare's rulesets errors mostly carry a source
# pointer; the numeric codes below are the emulator's choice).
INVALID_RULESET = 20021
RULESET_NOT_FOUND = 10003
RULE_NOT_FOUND = 10004
INVALID_BODY = 10026

PHASES = (
    "ddos_l4", "ddos_l7", "http_config_settings", "http_custom_errors", "http_log_custom_fields", "http_ratelimit",
    "http_request_cache_settings", "http_request_dynamic_redirect", "http_request_firewall_custom",
    "http_request_firewall_managed", "http_request_late_transform", "http_request_origin", "http_request_redirect",
    "http_request_sanitize", "http_request_sbfm", "http_request_select_configuration", "http_request_transform",
    "http_response_compression", "http_response_firewall_managed", "http_response_headers_transform",
    "magic_transit", "magic_transit_ids_managed", "magic_transit_managed",
)
ACTIONS = ("block", "challenge", "compress_response", "ddos_dynamic", "execute", "force_connection_close",
           "js_challenge", "log", "log_custom_field", "managed_challenge", "redirect", "rewrite", "route", "score",
           "serve_error", "set_cache_settings", "set_config", "skip")
CHALLENGES = ("challenge", "js_challenge", "managed_challenge")
# Actions each phase accepts (https://developers.cloudflare.com/ruleset-engine/reference/phases-list/).
PHASE_ACTIONS = {
    "http_request_firewall_custom": ("block", "log", "skip") + CHALLENGES,
    "http_ratelimit": ("block", "log") + CHALLENGES,
    "http_request_firewall_managed": ("execute", "log", "skip"),
    "http_response_firewall_managed": ("execute", "log", "skip"),
    "http_request_transform": ("rewrite",),
    "http_request_late_transform": ("rewrite",),
    "http_response_headers_transform": ("rewrite",),
    "http_request_dynamic_redirect": ("redirect",),
    "http_request_redirect": ("redirect",),
    "http_request_origin": ("route",),
    "http_request_cache_settings": ("set_cache_settings",),
    "http_config_settings": ("set_config",),
    "http_custom_errors": ("serve_error",),
    "http_response_compression": ("compress_response",),
    "http_log_custom_fields": ("log_custom_field",),
    "http_request_sbfm": ("skip",),
    "ddos_l7": ("execute", "ddos_dynamic"),
    "ddos_l4": ("execute", "ddos_dynamic"),
}
# Cloudflare's managed rulesets that an execute rule can deploy (ids from Cloudflare's WAF docs).
MANAGED_RULESETS = {
    "efb7b8c949ac4650a09736fc376e9aee": ("Cloudflare Managed Ruleset", "http_request_firewall_managed"),
    "4814384a9e5d4991b9815dcfc25d2f1f": ("Cloudflare OWASP Core Ruleset", "http_request_firewall_managed"),
    "c2e184081120413c86c3ab7e14069605": ("Cloudflare Exposed Credentials Check Ruleset",
                                         "http_request_firewall_managed"),
    "77454fe2d30c4220b5701f6fdfb893ba": ("Cloudflare Free Managed Ruleset", "http_request_firewall_managed"),
}
# Rate limiting by plan (https://developers.cloudflare.com/waf/rate-limiting-rules/#availability).
RATELIMIT_PLANS = {
    "free": {"name": "Free", "periods": (10,), "timeouts": (10,), "characteristics": ("cf.colo.id", "ip.src")},
    "pro": {"name": "Pro", "periods": (10, 60), "timeouts": (10, 60, 3600), "characteristics": ("cf.colo.id", "ip.src")},
    "business": {"name": "Business", "periods": (10, 60, 600), "timeouts": (10, 60, 3600, 86400),
                 "characteristics": ("cf.colo.id", "ip.src", "ip.src.asnum", "cf.unique_visitor_id")},
    "enterprise": {"name": "Enterprise", "periods": (10, 60, 120, 300, 600, 3600),
                   "timeouts": (10, 60, 120, 300, 600, 3600, 86400), "characteristics": None},
}
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
_RULE_FIELDS = ("action", "expression", "description", "enabled", "ref", "action_parameters", "ratelimit", "logging")


def _plan(zone_row):
    """The zone's plan (``zones.plan`` when the zones table has it; the emulator's zones are Free otherwise)."""
    keys = zone_row.keys() if zone_row is not None else ()
    plan = zone_row["plan"] if "plan" in keys and zone_row["plan"] else "free"
    return plan if plan in RATELIMIT_PLANS else "free"


# Validation ----------------------------------------------------------------------------------------------

class _RuleError(Exception):
    def __init__(self, pointer, message):
        super().__init__(message)
        self.pointer, self.message = pointer, message


def _invalid(errors):
    """One ApiError listing every problem, each with the rule it belongs to."""
    first = errors[0]
    error = ApiError(400, INVALID_RULESET, first.message, more=[(INVALID_RULESET, e.message) for e in errors[1:]])
    for entry, problem in zip(error.errors, errors):
        entry["source"] = {"pointer": problem.pointer}
    return error


def _name(index, rule):
    ref = rule.get("ref") if isinstance(rule, dict) else None
    return "rule %d (ref %r)" % (index + 1, ref) if ref else "rule %d" % (index + 1)


def _check_expression(pointer, label, expression):
    if not isinstance(expression, str) or not expression.strip():
        raise _RuleError(pointer, "%s: an expression is required" % label)
    try:
        ruleset_expressions.parse(expression)
    except ruleset_expressions.ExpressionError as exc:
        raise _RuleError(pointer, "%s: %r is not a valid value for expression because the expression is invalid: %s"
                         % (label, expression, exc))


def _check_ratelimit(pointer, label, ratelimit, action, plan):
    limits = RATELIMIT_PLANS[plan]
    if not isinstance(ratelimit, dict):
        raise _RuleError(pointer, "%s: the http_ratelimit phase needs a 'ratelimit' object" % label)
    characteristics = ratelimit.get("characteristics")
    if not isinstance(characteristics, list) or not all(isinstance(c, str) for c in characteristics):
        raise _RuleError(pointer + "/characteristics", "%s: 'ratelimit.characteristics' must be a list of strings"
                         % label)
    if "cf.colo.id" not in characteristics:
        raise _RuleError(pointer + "/characteristics",
                         "%s: 'ratelimit.characteristics' must include 'cf.colo.id'" % label)
    allowed = limits["characteristics"]
    for characteristic in characteristics:
        if allowed is not None and characteristic not in allowed:
            raise _RuleError(pointer + "/characteristics", "%s: characteristic %r is not available on the %s plan "
                             "(allowed: %s)" % (label, characteristic, limits["name"], ", ".join(allowed)))
    period = ratelimit.get("period")
    if not isinstance(period, int) or isinstance(period, bool):
        raise _RuleError(pointer + "/period", "%s: 'ratelimit.period' (seconds) is required" % label)
    if period < min(limits["periods"]):
        raise _RuleError(pointer + "/period", "%s: 'ratelimit.period' %d is below the %s plan's minimum period of %d "
                         "seconds (allowed: %s)" % (label, period, limits["name"], min(limits["periods"]),
                                                    _join(limits["periods"])))
    if period not in limits["periods"]:
        raise _RuleError(pointer + "/period", "%s: 'ratelimit.period' %d is not available on the %s plan "
                         "(allowed: %s)" % (label, period, limits["name"], _join(limits["periods"])))
    requests = ratelimit.get("requests_per_period")
    score = ratelimit.get("score_per_period")
    if requests is None and score is None:
        raise _RuleError(pointer + "/requests_per_period", "%s: 'ratelimit.requests_per_period' is required" % label)
    for key, value in (("requests_per_period", requests), ("score_per_period", score)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise _RuleError(pointer + "/" + key, "%s: 'ratelimit.%s' must be a positive integer" % (label, key))
    timeout = ratelimit.get("mitigation_timeout", 0 if action in CHALLENGES else None)
    if action in CHALLENGES:
        if timeout != 0:
            raise _RuleError(pointer + "/mitigation_timeout", "%s: 'ratelimit.mitigation_timeout' must be 0 when the "
                             "action is %s" % (label, action))
    elif timeout not in limits["timeouts"] or isinstance(timeout, bool):
        raise _RuleError(pointer + "/mitigation_timeout", "%s: 'ratelimit.mitigation_timeout' %r is not available on "
                         "the %s plan (allowed: %s)" % (label, timeout, limits["name"], _join(limits["timeouts"])))
    if ratelimit.get("counting_expression"):
        _check_expression(pointer + "/counting_expression", label + " counting_expression",
                          ratelimit["counting_expression"])


def _join(values):
    return ", ".join(str(value) for value in values)


def _check_headers(pointer, label, headers):
    if not isinstance(headers, dict) or not headers:
        raise _RuleError(pointer, "%s: 'action_parameters.headers' must be a non-empty object" % label)
    for name, header in headers.items():
        where = "%s header %r" % (label, name)
        if not _HEADER_NAME.match(name):
            raise _RuleError(pointer + "/" + name, "%s: invalid header name" % where)
        if not isinstance(header, dict) or header.get("operation") not in ("set", "add", "remove"):
            raise _RuleError(pointer + "/" + name, "%s: 'operation' must be one of set, add, remove" % where)
        if header["operation"] == "remove":
            continue
        has_value, has_expression = "value" in header, "expression" in header
        if has_value == has_expression:
            raise _RuleError(pointer + "/" + name, "%s: give exactly one of 'value' or 'expression'" % where)
        if has_value and (not isinstance(header["value"], str) or not header["value"]):
            raise _RuleError(pointer + "/" + name + "/value", "%s: 'value' must be a non-empty string" % where)
        if has_expression:
            _check_expression(pointer + "/" + name + "/expression", where, header["expression"])


def _check_execute(pointer, label, parameters, phase):
    ruleset_id = parameters.get("id")
    managed = MANAGED_RULESETS.get(ruleset_id)
    if managed is None:
        raise _RuleError(pointer + "/id", "%s: 'action_parameters.id' %r is not a managed ruleset this zone can "
                         "execute" % (label, ruleset_id))
    if managed[1] != phase:
        raise _RuleError(pointer + "/id", "%s: ruleset %s belongs to phase %s" % (label, managed[0], managed[1]))
    overrides = parameters.get("overrides")
    if overrides is None:
        return
    if not isinstance(overrides, dict) or not overrides:
        raise _RuleError(pointer + "/overrides", "%s: 'overrides' must be a non-empty object" % label)
    if "action" in overrides and overrides["action"] not in ACTIONS:
        raise _RuleError(pointer + "/overrides/action", "%s: unknown override action %r" % (label, overrides["action"]))
    for index, override in enumerate(overrides.get("rules") or []):
        if not isinstance(override, dict) or not re.match(r"^[0-9a-f]{32}$", str(override.get("id", ""))):
            raise _RuleError(pointer + "/overrides/rules/%d" % index, "%s: rule override %d needs a 32-hex 'id'"
                             % (label, index + 1))
        if "action" in override and override["action"] not in ACTIONS:
            raise _RuleError(pointer + "/overrides/rules/%d/action" % index, "%s: unknown override action %r"
                             % (label, override["action"]))
    for index, override in enumerate(overrides.get("categories") or []):
        if not isinstance(override, dict) or not isinstance(override.get("category"), str):
            raise _RuleError(pointer + "/overrides/categories/%d" % index, "%s: category override %d needs a "
                             "'category'" % (label, index + 1))


def _check_action_parameters(pointer, label, rule, phase):
    action = rule["action"]
    parameters = rule.get("action_parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise _RuleError(pointer, "%s: 'action_parameters' must be an object" % label)
    parameters = parameters or {}
    if action == "block" and "response" in parameters:
        response = parameters["response"]
        if not isinstance(response, dict) or not isinstance(response.get("status_code"), int) \
                or not 400 <= response["status_code"] <= 499:
            raise _RuleError(pointer + "/response/status_code", "%s: a block response needs a status_code "
                             "between 400 and 499" % label)
    elif action == "execute":
        _check_execute(pointer, label, parameters, phase)
    elif action == "rewrite":
        if "headers" not in parameters and "uri" not in parameters:
            raise _RuleError(pointer, "%s: a rewrite needs 'headers' or 'uri' in action_parameters" % label)
        if "headers" in parameters:
            _check_headers(pointer + "/headers", label, parameters["headers"])
        if phase == "http_response_headers_transform" and "uri" in parameters:
            raise _RuleError(pointer + "/uri", "%s: response header rules cannot rewrite the URI" % label)
    elif action == "skip":
        keys = ("ruleset", "phases", "products", "rules")
        if not any(key in parameters for key in keys):
            raise _RuleError(pointer, "%s: a skip rule needs one of %s in action_parameters" % (label, ", ".join(keys)))
        if "ruleset" in parameters and parameters["ruleset"] != "current":
            raise _RuleError(pointer + "/ruleset", "%s: 'ruleset' can only be 'current'" % label)
        for skipped in parameters.get("phases") or []:
            if skipped not in PHASES:
                raise _RuleError(pointer + "/phases", "%s: unknown phase %r to skip" % (label, skipped))
    elif action == "redirect":
        from_value = parameters.get("from_value") or {}
        target = from_value.get("target_url") if isinstance(from_value, dict) else None
        if "from_list" not in parameters and not isinstance(target, dict):
            raise _RuleError(pointer, "%s: a redirect needs from_value.target_url or from_list" % label)


def check_rule(index, rule, phase, plan):
    """Raise _RuleError for the first problem of ``rule`` (index-th in the request)."""
    pointer = "/rules/%d" % index
    label = _name(index, rule)
    if not isinstance(rule, dict):
        raise _RuleError(pointer, "%s must be an object" % label)
    unknown = sorted(set(rule) - set(_RULE_FIELDS) - {"id", "version", "last_updated", "categories", "position"})
    if unknown:
        raise _RuleError(pointer + "/" + unknown[0], "%s: unknown field %r" % (label, unknown[0]))
    action = rule.get("action")
    if action not in ACTIONS:
        raise _RuleError(pointer + "/action", "%s: unknown action %r" % (label, action))
    allowed = PHASE_ACTIONS.get(phase)
    if allowed is not None and action not in allowed:
        raise _RuleError(pointer + "/action", "%s: action %r is not allowed in phase %s (allowed: %s)"
                         % (label, action, phase, ", ".join(allowed)))
    _check_expression(pointer + "/expression", label, rule.get("expression"))
    for key, kind in (("description", str), ("enabled", bool), ("ref", str)):
        if key in rule and not isinstance(rule[key], kind):
            raise _RuleError(pointer + "/" + key, "%s: '%s' must be a %s" % (label, key, kind.__name__))
    if "ref" in rule and not rule["ref"]:
        raise _RuleError(pointer + "/ref", "%s: 'ref' may not be empty" % label)
    _check_action_parameters(pointer + "/action_parameters", label, rule, phase)
    if phase == "http_ratelimit":
        _check_ratelimit(pointer + "/ratelimit", label, rule.get("ratelimit"), action, plan)
    elif "ratelimit" in rule:
        raise _RuleError(pointer + "/ratelimit", "%s: 'ratelimit' is only allowed in the http_ratelimit phase" % label)


def _check_rules(rules, phase, plan):
    if not isinstance(rules, list):
        raise ApiError(400, INVALID_RULESET, "'rules' must be an array")
    errors = []
    for index, rule in enumerate(rules):
        try:
            check_rule(index, rule, phase, plan)
        except _RuleError as exc:
            errors.append(exc)
    refs = {}
    for index, rule in enumerate(rules):
        ref = rule.get("ref") if isinstance(rule, dict) else None
        if ref is not None and ref in refs:
            errors.append(_RuleError("/rules/%d/ref" % index, "%s: duplicate ref %r (also rule %d)"
                                     % (_name(index, rule), ref, refs[ref] + 1)))
        refs.setdefault(ref, index)
    if errors:
        raise _invalid(errors)


# Storage and views -----------------------------------------------------------------------------------------

def _content(rule):
    """What makes two rules the same for versioning."""
    return {key: rule.get(key) for key in _RULE_FIELDS if key != "ref"}


def _merge_rules(old_rules, new_rules, version, now):
    """Stored rules for ``new_rules``: ids kept by id or ref, versions kept for unchanged rules."""
    by_id = {rule["id"]: rule for rule in old_rules}
    by_ref = {rule["ref"]: rule for rule in old_rules}
    merged = []
    for rule in new_rules:
        previous = by_id.get(rule.get("id")) or by_ref.get(rule.get("ref"))
        if rule.get("id") and rule["id"] not in by_id:
            raise ApiError(400, INVALID_RULESET, "rule id %s does not exist in this ruleset; leave 'id' out to add a "
                           "rule" % rule["id"])
        stored = {key: rule[key] for key in _RULE_FIELDS if key in rule}
        stored.setdefault("description", "")
        stored.setdefault("enabled", True)
        stored["id"] = previous["id"] if previous else new_id()
        stored.setdefault("ref", stored["id"])
        if previous is not None and _content(previous) == _content(stored):
            stored["version"], stored["last_updated"] = previous["version"], previous["last_updated"]
        else:
            stored["version"], stored["last_updated"] = str(version), now
        merged.append(stored)
    return merged


def _rule_view(rule):
    view = {key: rule[key] for key in ("id", "version", "action", "expression", "description", "last_updated", "ref",
                                       "enabled")}
    for key in ("action_parameters", "ratelimit", "logging"):
        if key in rule:
            view[key] = rule[key]
    return view


def _ruleset_view(row, with_rules=True):
    view = {"id": row["id"], "name": row["name"], "description": row["description"], "kind": row["kind"],
            "phase": row["phase"], "version": str(row["version"]), "last_updated": row["last_updated"]}
    if with_rules:
        view["rules"] = [_rule_view(rule) for rule in json.loads(row["rules"])]
    return view


def _managed_view(ruleset_id, with_rules=True):
    name, phase = MANAGED_RULESETS[ruleset_id]
    view = {"id": ruleset_id, "name": name, "description": name, "kind": "managed", "phase": phase,
            "version": "1", "last_updated": "2024-01-01T00:00:00.000000Z"}
    if with_rules:
        view["rules"] = []
    return view


def _scope(db, req):
    """``(scope, scope_id, plan)`` of the request's zone or account."""
    if "zone_id" in req.params:
        zone = zone_of(db, req)
        return "zones", zone["id"], _plan(zone)
    return "accounts", req.account_id, "enterprise"


def _phase(req):
    phase = req.params["ruleset_phase"]
    if phase not in PHASES:
        raise ApiError(400, INVALID_RULESET, "unknown phase %r (phases: %s)" % (phase, ", ".join(PHASES)))
    return phase


def _entrypoint(db, scope, scope_id, phase):
    return db.execute("SELECT * FROM rulesets WHERE scope = ? AND scope_id = ? AND phase = ? AND kind != 'custom'",
                      (scope, scope_id, phase)).fetchone()


def _ruleset(db, req, scope, scope_id):
    row = db.execute("SELECT * FROM rulesets WHERE id = ? AND scope = ? AND scope_id = ?",
                     (req.params["ruleset_id"], scope, scope_id)).fetchone()
    if row is None:
        raise ApiError(404, RULESET_NOT_FOUND, "could not find ruleset %s" % req.params["ruleset_id"])
    return row


def _save(db, row, rules):
    version = row["version"] + 1
    now = now_iso()
    merged = _merge_rules(json.loads(row["rules"]), rules, version, now)
    db.execute("UPDATE rulesets SET rules = ?, version = ?, last_updated = ? WHERE id = ?",
               (json.dumps(merged), version, now, row["id"]))
    return db.execute("SELECT * FROM rulesets WHERE id = ?", (row["id"],)).fetchone()


# Handlers ---------------------------------------------------------------------------------------------------

def list_rulesets(req):
    with req.store.read() as db:
        scope, scope_id = _scope(db, req)[:2]
        rows = db.execute("SELECT * FROM rulesets WHERE scope = ? AND scope_id = ? ORDER BY phase, id",
                          (scope, scope_id)).fetchall()
    result = [_ruleset_view(row, with_rules=False) for row in rows]
    result += [_managed_view(ruleset_id, with_rules=False) for ruleset_id in sorted(MANAGED_RULESETS)]
    return ok(result)


def get_entrypoint(req):
    phase = _phase(req)
    with req.store.read() as db:
        scope, scope_id = _scope(db, req)[:2]
        row = _entrypoint(db, scope, scope_id, phase)
    if row is None:
        raise ApiError(404, RULESET_NOT_FOUND, "could not find entrypoint ruleset in the '%s' phase" % phase)
    return ok(_ruleset_view(row))


def put_entrypoint(req):
    phase = _phase(req)
    body = req.json_object(INVALID_BODY)
    for key in ("name", "description"):
        if key in body and not isinstance(body[key], str):
            raise ApiError(400, INVALID_RULESET, "'%s' must be a string" % key)
    if "phase" in body and body["phase"] != phase:
        raise ApiError(400, INVALID_RULESET, "the body's phase %r does not match the path's %r" % (body["phase"], phase))
    with req.store.write() as db:
        scope, scope_id, plan = _scope(db, req)
        _check_rules(body.get("rules", []), phase, plan)
        row = _entrypoint(db, scope, scope_id, phase)
        if row is None:
            ruleset_id = new_id()
            db.execute("INSERT INTO rulesets (id, scope, scope_id, phase, kind, name, description, version, "
                       "last_updated, rules) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, '[]')",
                       (ruleset_id, scope, scope_id, phase, "zone" if scope == "zones" else "root",
                        body.get("name") or "default", body.get("description") or "", now_iso()))
            row = db.execute("SELECT * FROM rulesets WHERE id = ?", (ruleset_id,)).fetchone()
        elif "name" in body or "description" in body:
            db.execute("UPDATE rulesets SET name = ?, description = ? WHERE id = ?",
                       (body.get("name") or row["name"], body.get("description", row["description"]), row["id"]))
            row = db.execute("SELECT * FROM rulesets WHERE id = ?", (row["id"],)).fetchone()
        row = _save(db, row, body.get("rules", []))
    return ok(_ruleset_view(row))


def get_ruleset(req):
    with req.store.read() as db:
        scope, scope_id = _scope(db, req)[:2]
        if req.params["ruleset_id"] in MANAGED_RULESETS:
            return ok(_managed_view(req.params["ruleset_id"]))
        return ok(_ruleset_view(_ruleset(db, req, scope, scope_id)))


def delete_ruleset(req):
    with req.store.write() as db:
        scope, scope_id = _scope(db, req)[:2]
        row = _ruleset(db, req, scope, scope_id)
        db.execute("DELETE FROM rulesets WHERE id = ?", (row["id"],))
    return raw(b"", content_type="text/plain", status=204)  # no body, as the schema and the SDK (cast to None) say


def _position(rules, position):
    """Index where a rule goes (``position``: ``{before: id}``, ``{after: id}`` or ``{index: n}``, 1-based)."""
    if position is None:
        return len(rules)
    if not isinstance(position, dict) or len(position) != 1:
        raise ApiError(400, INVALID_RULESET, "'position' must be one of {before}, {after} or {index}")
    (key, value), = position.items()
    ids = [rule["id"] for rule in rules]
    if key == "index" and isinstance(value, int) and value >= 1:
        return min(value - 1, len(rules))
    if key in ("before", "after"):
        if value == "":
            return 0 if key == "before" else len(rules)
        if value in ids:
            return ids.index(value) + (1 if key == "after" else 0)
    raise ApiError(400, INVALID_RULESET, "invalid position %r" % (position,))


def _edit_rules(req, edit):
    body = req.json_object(INVALID_BODY) if req.method != "DELETE" else {}
    with req.store.write() as db:
        scope, scope_id, plan = _scope(db, req)
        row = _ruleset(db, req, scope, scope_id)
        rules = json.loads(row["rules"])
        rules = edit(rules, body)
        _check_rules(rules, row["phase"], plan)
        row = _save(db, row, rules)
    return ok(_ruleset_view(row))


def create_rule(req):
    def edit(rules, body):
        rule = {key: value for key, value in body.items() if key != "position"}
        if rule.get("id"):
            raise ApiError(400, INVALID_RULESET, "a new rule may not carry an 'id'")
        index = _position(rules, body.get("position"))
        return rules[:index] + [rule] + rules[index:]
    return _edit_rules(req, edit)


def _rule_index(rules, rule_id):
    for index, rule in enumerate(rules):
        if rule["id"] == rule_id:
            return index
    raise ApiError(404, RULE_NOT_FOUND, "could not find rule %s" % rule_id)


def update_rule(req):
    rule_id = req.params["rule_id"]

    def edit(rules, body):
        index = _rule_index(rules, rule_id)
        rule = dict(rules[index])
        rule.update((key, value) for key, value in body.items() if key != "position")
        rule["id"] = rule_id
        rest = rules[:index] + rules[index + 1:]
        where = _position(rest, body["position"]) if "position" in body else index
        return rest[:where] + [rule] + rest[where:]
    return _edit_rules(req, edit)


def delete_rule(req):
    rule_id = req.params["rule_id"]

    def edit(rules, body):
        index = _rule_index(rules, rule_id)
        return rules[:index] + rules[index + 1:]
    return _edit_rules(req, edit)


ROUTES = []
for _base in ("/zones/{zone_id}/rulesets", "/accounts/{account_id}/rulesets"):
    ROUTES += [
        Route("GET", _base, list_rulesets),
        Route("GET", _base + "/phases/{ruleset_phase}/entrypoint", get_entrypoint),
        Route("PUT", _base + "/phases/{ruleset_phase}/entrypoint", put_entrypoint),
        Route("GET", _base + "/{ruleset_id}", get_ruleset),
        Route("DELETE", _base + "/{ruleset_id}", delete_ruleset),
        Route("POST", _base + "/{ruleset_id}/rules", create_rule),
        Route("PATCH", _base + "/{ruleset_id}/rules/{rule_id}", update_rule),
        Route("DELETE", _base + "/{ruleset_id}/rules/{rule_id}", delete_rule),
    ]
