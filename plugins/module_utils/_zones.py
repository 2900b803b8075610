# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""Zone lookup shared by the zone-scoped modules (DNS, rulesets, settings, health checks, routes)."""

from __future__ import annotations

import re

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import build_path
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError

_ZONE_ID = re.compile(r"^[0-9a-f]{32}$")


def is_zone_id(value):
    return bool(_ZONE_ID.match(value or ""))


def zone_path(zone_id, *rest):
    return build_path("zones", zone_id, *rest)


def _zone_view(zone):
    """``{"id", "name", "plan"}``; ``plan`` is the plan's legacy id (free, pro, business, enterprise)."""
    return {"id": zone["id"], "name": zone["name"], "plan": (zone.get("plan") or {}).get("legacy_id") or "free"}


def resolve_zone(client, zone, account_id=None):
    """``{"id", "name", "plan"}`` of ``zone`` (a zone name or a 32-hex zone id), in one read.

    A name that no zone of the token carries is bad input: the error names it before any write.
    """
    if not zone:
        raise InvalidInputError("zone is required: a zone name such as example.com or its 32-character id")
    if is_zone_id(zone):
        found = client.get(zone_path(zone))
        return _zone_view(found)
    name = zone.strip().lower().rstrip(".")
    params = {"name": name, "per_page": 50}
    if account_id:
        params["account.id"] = account_id
    matches = client.get(build_path("zones"), params=params) or []
    for match in matches:
        if match.get("name") == name:
            return _zone_view(match)
    raise InvalidInputError("zone %r was not found in the account the token can see; create it in Cloudflare first "
                            "or give its 32-character zone id" % name)
