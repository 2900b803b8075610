# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""Rulesets: rule validation before any write (expression structure, fields, actions per phase, rate limits
by plan), the rule sugar the modules accept, and the plan of an entrypoint's new rule list matched by ``ref``."""

from __future__ import annotations

import copy
import re

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import build_path
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError

PHASES = (
    "ddos_l4", "ddos_l7", "http_config_settings", "http_custom_errors", "http_log_custom_fields", "http_ratelimit",
    "http_request_cache_settings", "http_request_dynamic_redirect", "http_request_firewall_custom",
    "http_request_firewall_managed", "http_request_late_transform", "http_request_origin", "http_request_redirect",
    "http_request_sanitize", "http_request_sbfm", "http_request_select_configuration", "http_request_transform",
    "http_response_compression", "http_response_firewall_managed", "http_response_headers_transform",
    "magic_transit", "magic_transit_ids_managed", "magic_transit_managed",
)
_CHALLENGES = ("challenge", "js_challenge", "managed_challenge")
# https://developers.cloudflare.com/ruleset-engine/reference/phases-list/ (phases not listed: any action).
PHASE_ACTIONS = {
    "http_request_firewall_custom": ("block", "log", "skip") + _CHALLENGES,
    "http_ratelimit": ("block", "log") + _CHALLENGES,
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
}
# Names for Cloudflare's managed rulesets (ids from Cloudflare's WAF documentation).
MANAGED_RULESETS = {
    "cloudflare_managed": "efb7b8c949ac4650a09736fc376e9aee",
    "owasp": "4814384a9e5d4991b9815dcfc25d2f1f",
    "exposed_credentials": "c2e184081120413c86c3ab7e14069605",
    "free_managed": "77454fe2d30c4220b5701f6fdfb893ba",
}
# Rate limiting rule periods and mitigation timeouts by plan
# (https://developers.cloudflare.com/waf/rate-limiting-rules/#availability).
RATELIMIT_PERIODS = {"free": (10,), "pro": (10, 60), "business": (10, 60, 600),
                     "enterprise": (10, 60, 120, 300, 600, 3600)}
RATELIMIT_TIMEOUTS = {"free": (10,), "pro": (10, 60, 3600), "business": (10, 60, 3600, 86400),
                      "enterprise": (10, 60, 120, 300, 600, 3600, 86400)}
DEFAULT_CHARACTERISTICS = ["ip.src", "cf.colo.id"]

# Rules language fields (https://developers.cloudflare.com/ruleset-engine/rules-language/fields/), commonly used.
FIELDS = frozenset("""
http.cookie http.host http.referer http.user_agent http.x_forwarded_for http.request.full_uri http.request.method
http.request.uri http.request.uri.path http.request.uri.path.extension http.request.uri.query http.request.version
http.request.timestamp.sec http.request.body.raw http.request.body.size http.request.body.truncated
http.request.headers http.request.headers.names http.request.headers.values http.request.headers.truncated
http.request.cookies http.request.uri.args http.request.uri.args.names http.request.uri.args.values
http.request.accepted_languages http.response.code http.response.headers http.response.headers.names
http.response.headers.values http.response.content_type.media_type
ip.src ip.src.lat ip.src.lon ip.src.city ip.src.postal_code ip.src.metro_code ip.src.region ip.src.region_code
ip.src.timezone.name ip.src.asnum ip.src.country ip.src.continent ip.src.subdivision_1_iso_code
ip.src.subdivision_2_iso_code ip.src.is_in_european_union ip.geoip.asnum ip.geoip.country ip.geoip.continent
ip.geoip.subdivision_1_iso_code ip.geoip.subdivision_2_iso_code ip.geoip.is_in_european_union
ssl cf.threat_score cf.client.bot cf.verified_bot_category cf.bot_management.score cf.bot_management.verified_bot
cf.bot_management.static_resource cf.bot_management.js_detection.passed cf.bot_management.ja3_hash
cf.bot_management.ja4 cf.waf.score cf.waf.score.sqli cf.waf.score.xss cf.waf.score.rce cf.waf.score.class
cf.waf.credential_check.password_leaked cf.edge.server_port cf.edge.server_ip cf.colo.id cf.ray_id
cf.tls_client_auth.cert_verified cf.hostname.metadata cf.zone.name cf.zone.plan cf.unique_visitor_id
cf.api_gateway.auth_id_present cf.api_gateway.request_violates_schema cf.worker.upstream_zone
raw.http.request.full_uri raw.http.request.uri raw.http.request.uri.path raw.http.request.uri.query
raw.http.request.uri.args
""".split())
FUNCTIONS = frozenset("""
any all concat ends_with starts_with len lower upper url_decode to_string regex_replace wildcard_replace
remove_bytes lookup_json_string lookup_json_integer encode_base64 decode_base64 substring split join has_key
has_value cidr cidr6 uuidv4 is_timed_hmac_valid_v0 bit_slice
""".split())
_COMPARISON = frozenset(("eq", "ne", "lt", "le", "gt", "ge", "contains", "matches", "wildcard", "strict", "in",
                         "==", "!=", "<", "<=", ">", ">=", "~"))
_LOGICAL = frozenset(("and", "or", "xor", "&&", "||", "^^"))
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<raw>r\#*".*?"\#*)
  | (?P<ip>(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?|[0-9a-fA-F]*:[0-9a-fA-F:.]+(?:/\d{1,3})?)
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<list>\$[a-z0-9_]+)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
  | (?P<op>==|!=|<=|>=|&&|\|\||\^\^|[<>~!(){}\[\],*])
""", re.VERBOSE | re.DOTALL)
_PAIRS = {")": "(", "}": "{", "]": "["}
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
_RULE_KEYS = ("ref", "action", "expression", "description", "enabled", "action_parameters", "ratelimit", "logging")


def entrypoint_path(scope, scope_id, phase):
    """``/zones/{id}/rulesets/phases/{phase}/entrypoint`` (scope ``zones``) or the account's."""
    return build_path(scope, scope_id, "rulesets", "phases", phase, "entrypoint")


def expression_problem(expression):
    """Why ``expression`` cannot be a rule expression (None when its structure and field names are fine)."""
    if not isinstance(expression, str) or not expression.strip():
        return "an expression is required"
    tokens, position = [], 0
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None:
            what = "an unterminated string" if expression[position] == '"' else "unrecognised input %r" \
                % expression[position]
            return "%s at column %d" % (what, position + 1)
        if match.lastgroup != "space":
            tokens.append((match.lastgroup, match.group(0), position + 1))
        position = match.end()
    stack = []
    previous = None
    for index, (kind, text, column) in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        word = text.lower() if kind in ("word", "op") else None
        is_value = kind in ("string", "raw", "ip", "number", "list") or (
            kind == "word" and word not in _COMPARISON | _LOGICAL | {"not"} and (following is None or following[1] != "("))
        in_set = any(opening == "{" for opening, _column in stack)
        if is_value and not in_set and previous is not None and previous[0]:
            return "an operator is missing before %r at column %d" % (text, column)
        if text in ("(", "{", "["):
            stack.append((text, column))
        elif text in _PAIRS:
            if not stack or stack[-1][0] != _PAIRS[text]:
                return "unbalanced %r at column %d" % (text, column)
            stack.pop()
        elif kind == "word" and following is not None and following[1] == "(":
            if text not in FUNCTIONS:
                return "unknown function %r at column %d" % (text, column)
        elif kind == "word" and word not in _COMPARISON | _LOGICAL | {"not", "true", "false"} and text not in FIELDS:
            return "unknown field %r at column %d" % (text, column)
        if word in _COMPARISON | _LOGICAL | {"not"} and not (word == "strict" and following and following[1] == "wildcard"):
            if following is None or following[1].lower() in _COMPARISON | _LOGICAL | {")", "}", "]", ","}:
                return "%r at column %d needs a value after it" % (text, column)
        # previous[0]: the last token ended a value (so another value may not follow without an operator)
        previous = (is_value or text in (")", "]"), text)
    if stack:
        return "unclosed %r at column %d" % stack[-1]
    first = tokens[0][1].lower() if tokens else ""
    if first in _COMPARISON | _LOGICAL:
        return "the expression starts with the operator %r" % tokens[0][1]
    return None


def _fail(ref, message):
    raise InvalidInputError("rule %r: %s" % (ref, message))


def _ratelimit(ref, action, ratelimit, plan):
    ratelimit = dict(ratelimit or {})
    if not ratelimit:
        _fail(ref, "the http_ratelimit phase needs 'ratelimit' (period, requests_per_period, mitigation_timeout)")
    ratelimit.setdefault("characteristics", list(DEFAULT_CHARACTERISTICS))
    if "cf.colo.id" not in ratelimit["characteristics"]:
        _fail(ref, "ratelimit.characteristics must include 'cf.colo.id' (got %s)" % ratelimit["characteristics"])
    periods = RATELIMIT_PERIODS.get(plan, RATELIMIT_PERIODS["enterprise"])
    period = ratelimit.get("period")
    if not isinstance(period, int) or isinstance(period, bool):
        _fail(ref, "ratelimit.period (seconds) is required; allowed on the %s plan: %s"
              % (plan, ", ".join(map(str, periods))))
    if period < periods[0]:
        _fail(ref, "ratelimit.period %d is below the %s plan's minimum period of %d seconds (allowed: %s)"
              % (period, plan, periods[0], ", ".join(map(str, periods))))
    if period not in periods:
        _fail(ref, "ratelimit.period %d is not available on the %s plan (allowed: %s)"
              % (period, plan, ", ".join(map(str, periods))))
    requests = ratelimit.get("requests_per_period")
    if "score_per_period" not in ratelimit and (not isinstance(requests, int) or isinstance(requests, bool)
                                                or requests < 1):
        _fail(ref, "ratelimit.requests_per_period must be a positive integer, got %r" % (requests,))
    timeouts = RATELIMIT_TIMEOUTS.get(plan, RATELIMIT_TIMEOUTS["enterprise"])
    if action in _CHALLENGES:
        ratelimit.setdefault("mitigation_timeout", 0)
        if ratelimit["mitigation_timeout"] != 0:
            _fail(ref, "ratelimit.mitigation_timeout must be 0 when the action is %s" % action)
    else:
        ratelimit.setdefault("mitigation_timeout", period)
        if ratelimit["mitigation_timeout"] not in timeouts:
            _fail(ref, "ratelimit.mitigation_timeout %r is not available on the %s plan (allowed: %s)"
                  % (ratelimit["mitigation_timeout"], plan, ", ".join(map(str, timeouts))))
    if ratelimit.get("counting_expression"):
        problem = expression_problem(ratelimit["counting_expression"])
        if problem:
            _fail(ref, "ratelimit.counting_expression: %s" % problem)
    return ratelimit


def _headers(ref, headers):
    """``{name: value}`` (value None removes the header) to the rewrite action's ``headers`` object."""
    result = {}
    for name, value in sorted(headers.items()):
        if not _HEADER_NAME.match(name):
            _fail(ref, "%r is not a valid HTTP header name" % name)
        if isinstance(value, dict):
            result[name] = value
        elif value is None:
            result[name] = {"operation": "remove"}
        elif isinstance(value, str) and value:
            result[name] = {"operation": "set", "value": value}
        else:
            _fail(ref, "header %s: give a non-empty string value (or null to remove the header)" % name)
    return result


def desired_rule(rule, phase, plan):
    """The API form of one ``rules`` item, or InvalidInputError naming the rule's ``ref``.

    Sugar: ``headers`` (``{name: value}``) makes a rewrite rule; ``managed_ruleset`` (an id or one of
    MANAGED_RULESETS' names) with optional ``overrides`` makes an execute rule; in the http_ratelimit
    phase the action defaults to block and ``ratelimit.characteristics`` to ip.src + cf.colo.id.
    """
    rule = copy.deepcopy(rule)
    ref = rule.get("ref")
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidInputError("every rule needs a 'ref' (a stable name that identifies it), got %r" % (rule,))
    parameters = dict(rule.pop("action_parameters", None) or {})
    headers = rule.pop("headers", None)
    if headers:
        rule.setdefault("action", "rewrite")
        parameters["headers"] = _headers(ref, headers)
    managed = rule.pop("managed_ruleset", None)
    overrides = rule.pop("overrides", None)
    if managed:
        rule.setdefault("action", "execute")
        parameters["id"] = MANAGED_RULESETS.get(managed, managed)
        if overrides:
            parameters["overrides"] = overrides
    if phase == "http_ratelimit":
        rule.setdefault("action", "block")
    rule.setdefault("expression", "true" if headers or managed else None)
    unknown = sorted(set(rule) - set(_RULE_KEYS))
    if unknown:
        _fail(ref, "unknown key %r (allowed: %s, headers, managed_ruleset, overrides)" % (unknown[0], ", ".join(_RULE_KEYS)))
    action = rule.get("action")
    allowed = PHASE_ACTIONS.get(phase)
    if not action:
        _fail(ref, "an action is required")
    if allowed is not None and action not in allowed:
        _fail(ref, "action %r is not allowed in phase %s (allowed: %s)" % (action, phase, ", ".join(allowed)))
    problem = expression_problem(rule.get("expression"))
    if problem:
        _fail(ref, "invalid expression %r: %s" % (rule.get("expression"), problem))
    if action == "execute" and not re.match(r"^[0-9a-f]{32}$", str(parameters.get("id", ""))):
        _fail(ref, "an execute rule needs managed_ruleset: one of %s or a 32-hex ruleset id"
              % ", ".join(sorted(MANAGED_RULESETS)))
    if phase == "http_ratelimit":
        rule["ratelimit"] = _ratelimit(ref, action, rule.get("ratelimit"), plan)
    elif rule.get("ratelimit"):
        _fail(ref, "ratelimit is only allowed in the http_ratelimit phase")
    else:
        rule.pop("ratelimit", None)
    if parameters:
        rule["action_parameters"] = parameters
    rule.setdefault("description", "")
    rule.setdefault("enabled", True)
    if rule.get("logging") is None:
        rule.pop("logging", None)
    return {key: rule[key] for key in _RULE_KEYS if key in rule}


def desired_rules(rules, phase, plan):
    """All rules validated (every problem found before any write); refs must be unique."""
    if phase not in PHASES:
        raise InvalidInputError("unknown phase %r; phases: %s" % (phase, ", ".join(PHASES)))
    result, seen = [], set()
    for rule in rules:
        built = desired_rule(rule, phase, plan)
        if built["ref"] in seen:
            raise InvalidInputError("rule %r is listed twice; every ref must be unique" % built["ref"])
        seen.add(built["ref"])
        result.append(built)
    return result


def current_rule(rule):
    """The comparable part of a rule as the API returns it."""
    view = {key: copy.deepcopy(rule[key]) for key in _RULE_KEYS if key in rule}
    view.setdefault("description", "")
    view.setdefault("enabled", True)
    view.setdefault("ref", rule.get("id"))
    return view


def _covers(current, desired):
    """True when ``current`` has every value ``desired`` sets (dicts compared key by key, so fields that
    Cloudflare adds with its defaults do not make a permanent difference)."""
    if isinstance(desired, dict) and isinstance(current, dict):
        return all(key in current and _covers(current[key], value) for key, value in desired.items())
    return current == desired


def plan_rules(current, desired, exclusive, remove_refs=()):
    """The entrypoint's new rule list and what changes.

    ``current``: rules as read (with ``id``); ``desired``: validated rules.  Rules are matched by ``ref``;
    a matched rule is sent with its ``id`` so Cloudflare keeps it.  With ``exclusive`` the list is exactly
    ``desired`` in its order; otherwise rules not listed keep their places, listed rules take the listed
    order among the places they held, and new rules go last.  ``remove_refs`` are dropped.
    """
    by_ref = {rule.get("ref") or rule["id"]: rule for rule in current}
    desired_by_ref = {rule["ref"]: rule for rule in desired}
    changes = {"added": [], "updated": [], "removed": [], "reordered": False}
    merged = {}
    for ref, rule in desired_by_ref.items():
        existing = by_ref.get(ref)
        if existing is None:
            changes["added"].append(ref)
            merged[ref] = rule
            continue
        before = current_rule(existing)
        if not (_covers(before, rule) and set(before) <= set(rule) | {"logging"}):
            changes["updated"].append(ref)
            merged[ref] = dict(rule, id=existing["id"])
        else:
            merged[ref] = dict(before, id=existing["id"])
    if exclusive:
        refs = [rule["ref"] for rule in desired]
    else:
        current_refs = [rule.get("ref") or rule["id"] for rule in current]
        listed = iter([ref for ref in (rule["ref"] for rule in desired) if ref in by_ref])
        refs = [next(listed) if ref in desired_by_ref else ref for ref in current_refs]
        refs += [rule["ref"] for rule in desired if rule["ref"] not in by_ref]
    refs = [ref for ref in refs if ref not in remove_refs]
    changes["removed"] = sorted(ref for ref in by_ref if ref not in refs)
    kept = [ref for ref in refs if ref in by_ref]
    changes["reordered"] = kept != [ref for ref in (r.get("ref") or r["id"] for r in current) if ref in kept]
    final = [merged[ref] if ref in merged else dict(current_rule(by_ref[ref]), id=by_ref[ref]["id"]) for ref in refs]
    changes["added"].sort()
    changes["updated"].sort()
    return final, changes


def diff_view(rules):
    """``{order: [refs], rules: {ref: rule}}`` for ``--diff`` (rules keyed by ref, ids left out)."""
    return {"order": [rule["ref"] for rule in rules],
            "rules": {rule["ref"]: {key: value for key, value in current_rule(rule).items() if key != "ref"}
                      for rule in rules}}
