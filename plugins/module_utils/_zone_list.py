# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""The zones of an account, every page (zone_info, the inventory plugin)."""

from __future__ import annotations

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import build_path

# GET /zones takes per_page 5..50 (emulator/fidelity/zones.yml, GET /zones); the largest keeps reads few.
ZONES_PER_PAGE = 50


def list_zones(client, account_id=None, name=None):
    """Every zone the token can see, of ``account_id`` and named ``name`` when given, as the API returns them."""
    params = {}
    if account_id:
        params["account.id"] = account_id
    if name:
        params["name"] = name.strip().lower().rstrip(".")
    zones = client.list_pages(build_path("zones"), params=params, per_page=ZONES_PER_PAGE)
    if name:
        # The name filter is exact on the emulator; the live API also takes operators, so match exactly here.
        zones = [zone for zone in zones if zone.get("name") == params["name"]]
    return zones


def zone_info_view(zone):
    """What zone_info returns for one zone (fields absent from an answer come back empty, never missing)."""
    plan = zone.get("plan") or {}
    return {
        "id": zone["id"],
        "name": zone["name"],
        "status": zone.get("status"),
        "paused": bool(zone.get("paused")),
        "type": zone.get("type"),
        "plan": plan.get("legacy_id") or "free",
        "plan_name": plan.get("name"),
        "name_servers": list(zone.get("name_servers") or []),
        "original_name_servers": list(zone.get("original_name_servers") or []),
        "account_id": (zone.get("account") or {}).get("id"),
        "created_on": zone.get("created_on"),
        "activated_on": zone.get("activated_on"),
    }
