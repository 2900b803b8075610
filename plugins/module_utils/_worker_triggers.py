# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""Worker triggers shared by worker_route, worker_custom_domain, worker_cron, worker_subdomain and
wrangler_config: API paths, cron syntax, route patterns and the zone a hostname belongs to."""

from __future__ import annotations

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import build_path
from ansible_collections.cfops.cloudflare.plugins.module_utils import _validate
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._zones import resolve_zone

ZONES_PER_PAGE = 50

# Cloudflare's cron syntax (https://developers.cloudflare.com/workers/configuration/cron-triggers/):
# minute 0-59, hour 0-23, day of month 1-31 (also L, LW, <n>W), month 1-12 or JAN-DEC,
# day of week 1-7 or SUN-SAT with Sunday = 1 (also L, <n>L, <n>#<1-5>); items may be *, a-b, lists and /steps.
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 1, 7, _DAYS),
)


# Paths -------------------------------------------------------------------------------------------------------

def routes_path(zone_id, route_id=None):
    segments = ["zones", zone_id, "workers", "routes"]
    return build_path(*(segments + [route_id] if route_id else segments))


def domains_path(account_id, domain_id=None):
    segments = ["accounts", account_id, "workers", "domains"]
    return build_path(*(segments + [domain_id] if domain_id else segments))


def schedules_path(account_id, script_name):
    return build_path("accounts", account_id, "workers", "scripts", script_name, "schedules")


def script_subdomain_path(account_id, script_name):
    return build_path("accounts", account_id, "workers", "scripts", script_name, "subdomain")


def account_subdomain_path(account_id):
    return build_path("accounts", account_id, "workers", "subdomain")


# Cron syntax -------------------------------------------------------------------------------------------------

def _cron_value(text, low, high, names):
    if text.upper() in names:
        return names.index(text.upper()) + low
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(text)
    return int(text)


def _check_cron_item(item, field, low, high, names):
    base, _sep, step = item.partition("/")
    if step and (not step.isdigit() or int(step) < 1):
        raise ValueError(item)
    upper = base.upper()
    if field == "day of month":
        if upper in ("L", "LW"):
            return
        if upper.endswith("W"):
            base = base[:-1]
    if field == "day of week":
        if upper == "L":
            return
        if upper.endswith("L"):
            base = base[:-1]
        elif "#" in base:
            base, _sep, nth = base.partition("#")
            if nth not in ("1", "2", "3", "4", "5"):
                raise ValueError(item)
    if base == "*":
        return
    first, _sep, last = base.partition("-")
    start = _cron_value(first, low, high, names)
    if last and _cron_value(last, low, high, names) < start:
        raise ValueError(item)


def cron_problem(cron):
    """None when ``cron`` is a cron expression Cloudflare accepts, else what is wrong with it."""
    if not isinstance(cron, str) or not cron.strip():
        return "a cron expression must be a non-empty string"
    fields = cron.split()
    if len(fields) != 5:
        return "it has %d fields; Cloudflare crons have 5 (minute hour day-of-month month day-of-week)" % len(fields)
    for text, (field, low, high, names) in zip(fields, CRON_FIELDS):
        for item in text.split(","):
            try:
                _check_cron_item(item, field, low, high, names)
            except ValueError:
                allowed = "%d-%d" % (low, high)
                if names:
                    allowed += " or %s-%s" % (names[0], names[-1])
                hint = " (Sunday is 1 or SUN, not 0)" if field == "day of week" else ""
                return "the %s field %r is not valid: allowed %s%s" % (field, text, allowed, hint)
    return None


def validate_crons(crons):
    """The crons in order without duplicates; InvalidInputError naming the first bad expression."""
    unique = []
    for cron in crons:
        problem = cron_problem(cron)
        if problem:
            raise InvalidInputError("crons: %r is not a valid cron expression: %s" % (cron, problem))
        normalized = " ".join(cron.split())
        if normalized not in unique:
            unique.append(normalized)
    return unique


# Route patterns and zones ------------------------------------------------------------------------------------

def pattern_host(pattern):
    """The host part of a route pattern (``*.example.com/api/*`` gives ``*.example.com``), lower case."""
    rest = pattern.split("://", 1)[1] if "://" in pattern else pattern
    return rest.split("/", 1)[0].split(":", 1)[0].lower()


def bare_host(host):
    """``host`` without a leading wildcard (``*.example.com`` and ``*example.com`` give ``example.com``)."""
    if host.startswith("*."):
        return host[2:]
    return host.lstrip("*")


def host_in_zone(host, zone_name):
    host = bare_host(host.lower().rstrip("."))
    return host == zone_name or host.endswith("." + zone_name)


def check_pattern_syntax(pattern):
    if not pattern or not pattern.strip() or " " in pattern.strip() or not pattern_host(pattern).strip("*."):
        raise InvalidInputError("pattern %r is not a route pattern such as example.com/* or *.example.com/api/*"
                                % (pattern,))
    _validate.route_pattern(pattern)


def validate_pattern(pattern, zone_name):
    """InvalidInputError unless ``pattern`` (a Workers route) lies in the zone ``zone_name``."""
    check_pattern_syntax(pattern)
    if not host_in_zone(pattern_host(pattern), zone_name):
        raise InvalidInputError("pattern %r is outside the zone %s: its host must be %s or one of its subdomains"
                                % (pattern, zone_name, zone_name))


def list_zones(client, account_id):
    params = {"account.id": account_id} if account_id else None
    return client.list_pages(build_path("zones"), params=params, per_page=ZONES_PER_PAGE)


def zone_for_host(zones, host):
    """The zone (``{"id", "name"}``) of ``zones`` that ``host`` belongs to, the longest name winning; or None."""
    matches = [zone for zone in zones if host_in_zone(host, zone["name"])]
    if not matches:
        return None
    best = max(matches, key=lambda zone: len(zone["name"]))
    return {"id": best["id"], "name": best["name"]}


def find_zone_for_host(client, account_id, host, option):
    """The account's zone that ``host`` belongs to, in one listing; a clear error when there is none."""
    zones = list_zones(client, account_id)
    zone = zone_for_host(zones, host)
    if zone is None:
        raise InvalidInputError("%s %r is not in any zone of the account (zones: %s); add the zone first or set zone"
                                % (option, host, ", ".join(sorted(z["name"] for z in zones)) or "none"))
    return zone


def zone_of_host(client, zone, host, account_id, option, value=None):
    """The zone for ``host``: O(zone) (name or id) when given, else the account's zone the host belongs to.

    Either way a host outside that zone is bad input, reported (as ``option`` ``value``) before any write.
    """
    if not zone:
        return find_zone_for_host(client, account_id, host, option)
    found = resolve_zone(client, zone, account_id)
    if not host_in_zone(host, found["name"]):
        raise InvalidInputError("%s %r is outside the zone %s: its host must be %s or one of its subdomains"
                                % (option, value or host, found["name"], found["name"]))
    return found
