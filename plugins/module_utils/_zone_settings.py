# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""Zone settings: the known settings and their allowed values (Cloudflare's API schema, zones_*_value),
validation before any write, and the changes to send."""

from __future__ import annotations

import copy

from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError

ON_OFF = ("on", "off")
# Setting -> allowed values; None: a structured value checked by _check_structured.
SETTINGS = {
    "0rtt": ON_OFF, "always_online": ON_OFF, "always_use_https": ON_OFF, "automatic_https_rewrites": ON_OFF,
    "brotli": ON_OFF, "browser_check": ON_OFF, "development_mode": ON_OFF, "early_hints": ON_OFF,
    "email_obfuscation": ON_OFF, "hotlink_protection": ON_OFF, "http2": ON_OFF, "http3": ON_OFF,
    "ip_geolocation": ON_OFF, "ipv6": ON_OFF, "mirage": ON_OFF, "opportunistic_encryption": ON_OFF,
    "opportunistic_onion": ON_OFF, "orange_to_orange": ON_OFF, "origin_error_page_pass_thru": ON_OFF,
    "prefetch_preload": ON_OFF, "replace_insecure_js": ON_OFF, "response_buffering": ON_OFF,
    "rocket_loader": ON_OFF, "server_side_exclude": ON_OFF, "sha1_support": ON_OFF,
    "sort_query_string_for_cache": ON_OFF, "tls_1_2_only": ON_OFF, "tls_client_auth": ON_OFF,
    "true_client_ip_header": ON_OFF, "waf": ON_OFF, "webp": ON_OFF, "websockets": ON_OFF, "advanced_ddos": ON_OFF,
    "ssl": ("off", "flexible", "full", "strict"),
    "min_tls_version": ("1.0", "1.1", "1.2", "1.3"),
    "tls_1_3": ("on", "off", "zrt"),
    "security_level": ("off", "essentially_off", "low", "medium", "high", "under_attack"),
    "cache_level": ("aggressive", "basic", "simplified"),
    "cname_flattening": ("flatten_at_root", "flatten_all"),
    "h2_prioritization": ("on", "off", "custom"),
    "image_resizing": ("on", "off", "open"),
    "polish": ("off", "lossless", "lossy"),
    "pseudo_ipv4": ("off", "add_header", "overwrite_header"),
    "max_upload": (100, 200, 500),
    "browser_cache_ttl": (0, 30, 60, 120, 300, 1200, 1800, 3600, 7200, 10800, 14400, 18000, 28800, 43200, 57600,
                          72000, 86400, 172800, 259200, 345600, 432000, 691200, 1382400, 2073600, 2678400, 5356800,
                          16070400, 31536000),
    "challenge_ttl": (300, 900, 1800, 2700, 3600, 7200, 10800, 14400, 28800, 57600, 86400, 604800, 2592000, 31536000),
    "security_header": None, "minify": None, "nel": None, "ciphers": None, "proxy_read_timeout": None,
}
HSTS_KEYS = {"enabled": bool, "max_age": int, "include_subdomains": bool, "preload": bool, "nosniff": bool}
HSTS_MAX_AGE = 31536000


def _bad(name, detail):
    return InvalidInputError("setting %s: %s" % (name, detail))


def _check_structured(name, value):
    if name == "security_header":
        hsts = value.get("strict_transport_security") if isinstance(value, dict) else None
        if not isinstance(hsts, dict) or set(value) != {"strict_transport_security"}:
            raise _bad(name, "expected {strict_transport_security: {enabled, max_age, include_subdomains, preload, "
                             "nosniff}}")
        for key, item in hsts.items():
            kind = HSTS_KEYS.get(key)
            if kind is None:
                raise _bad(name, "unknown strict_transport_security key %r (allowed: %s)"
                           % (key, ", ".join(sorted(HSTS_KEYS))))
            if kind is bool and not isinstance(item, bool) or kind is int and (
                    not isinstance(item, int) or isinstance(item, bool) or not 0 <= item <= HSTS_MAX_AGE):
                raise _bad(name, "strict_transport_security.%s must be %s, got %r"
                           % (key, "true or false" if kind is bool else "seconds from 0 to %d" % HSTS_MAX_AGE, item))
    elif name == "minify":
        if not isinstance(value, dict) or any(k not in ("css", "html", "js") or v not in ON_OFF for k, v in value.items()):
            raise _bad(name, "expected {css, html, js} each on or off")
    elif name == "nel":
        if not isinstance(value, dict) or set(value) != {"enabled"} or not isinstance(value["enabled"], bool):
            raise _bad(name, "expected {enabled: true|false}")
    elif name == "ciphers":
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise _bad(name, "expected a list of cipher names")
    elif not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 6000:
        raise _bad(name, "expected seconds from 1 to 6000, got %r" % (value,))


def normalized(name, value):
    """``value`` as the API takes it ("1.2" for 1.2, "on"/"off" for YAML booleans), or InvalidInputError."""
    if name not in SETTINGS:
        raise InvalidInputError("unknown setting %r; known settings: %s" % (name, ", ".join(sorted(SETTINGS))))
    allowed = SETTINGS[name]
    if allowed is None:
        _check_structured(name, value)
        return copy.deepcopy(value)
    if isinstance(value, bool) and allowed[0] in ON_OFF:
        value = "on" if value else "off"  # YAML turns a bare on/off into a boolean
    elif isinstance(value, float) and isinstance(allowed[0], str):
        value = "%.1f" % value  # min_tls_version: 1.2 written without quotes
    elif isinstance(value, str) and isinstance(allowed[0], int) and value.isdigit():
        value = int(value)
    if value not in allowed or isinstance(value, bool):
        raise _bad(name, "%r is not one of %s" % (value, ", ".join(str(item) for item in allowed)))
    return value


def desired_settings(settings):
    """Every setting checked (all problems found before any write); ``{name: value}`` as the API takes it."""
    return {name: normalized(name, value) for name, value in sorted(settings.items())}


def merged_value(current, desired):
    """The value the zone would have: for security_header, the HSTS keys not given keep their current value."""
    if isinstance(current, dict) and isinstance(desired, dict):
        result = copy.deepcopy(current)
        for key, value in desired.items():
            result[key] = merged_value(current.get(key), value)
        return result
    return desired


def changed_settings(current, desired):
    """``(changes, before, after)``: the ``{id, value}`` items to send and the diff of only those settings."""
    changes, before, after = [], {}, {}
    for name, value in desired.items():
        now = current.get(name, {})
        if now.get("editable") is False and merged_value(now.get("value"), value) != now.get("value"):
            raise _bad(name, "Cloudflare does not let this zone change it (editable: false; usually a plan limit)")
        target = merged_value(now.get("value"), value)
        if target != now.get("value"):
            changes.append({"id": name, "value": target})
            before[name], after[name] = now.get("value"), target
    return changes, before, after
