"""Cloudflare API product areas.  Each module brings ROUTES, its SQLite SCHEMA and the RESOURCE_TABLES
that ``POST /__emulator/state/reset`` empties.  A new area is one module added to AREAS."""
from emulator.api import (accounts, analytics, d1, dns, healthchecks, kv, queues, r2, rulesets, worker_secrets,
                          worker_triggers, worker_versions, workers, zone_settings, zones)

# One line per area; keep the order (zones before the areas whose tables refer to zones).
AREAS = (
    accounts,
    zones,
    kv,
    r2,
    d1,
    queues,
    workers,
    worker_secrets,
    worker_versions,
    worker_triggers,
    rulesets,
    zone_settings,
    healthchecks,
    dns,
    analytics,
)


def routes():
    return [route for area in AREAS for route in area.ROUTES]


def schemas():
    return [area.SCHEMA for area in AREAS if area.SCHEMA]


def resource_tables():
    return [table for area in AREAS for table in area.RESOURCE_TABLES]
