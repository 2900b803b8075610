# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""Workers invocations per version from Cloudflare's GraphQL Analytics API, for the canary analysis.

The query and the answer's shape follow /work/plan/analytics-contract.md (docs/deploying-workers.md
cites the sources): ``POST /graphql`` on the API base, ``viewer.accounts(filter: {accountTag})
.workersInvocationsAdaptive`` grouped by the ``scriptVersion`` dimension, ``sum { requests errors }``
(errors = invocations that threw, exceeded resources or failed internally; a handled 5xx is a success
there) and wall-time quantiles in microseconds. The dataset has no p95 (P90 then P99): the gate judges
the P99, which is never below the p95.

Whatever the answer lacks (the version dimension, a field, the account, permission) makes the analysis
*unavailable* with the reason, never a silent zero: the release then decides the configured way.
"""

from __future__ import annotations

import datetime

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError

GRAPHQL_PATH = "/graphql"
# Per version one row; two versions per deployment, and some slack for versions in the window.
ROW_LIMIT = 100
LATENCY_FIELD = "wallTimeP99"
LATENCY_QUANTILE = "p99"
MICROSECONDS_PER_MS = 1000.0

_QUERY = (
    "query CfopsCanary($accountTag: string, $scriptName: string, $datetimeStart: string, $datetimeEnd: string) "
    "{ viewer { accounts(filter: {accountTag: $accountTag}) { workersInvocationsAdaptive(limit: %d, "
    "filter: {scriptName: $scriptName, datetime_geq: $datetimeStart, datetime_leq: $datetimeEnd}) "
    "{ dimensions { scriptVersion } sum { requests errors } quantiles { wallTimeP50 wallTimeP90 wallTimeP99 }%s } } } }"
)
# Plausible but undocumented (contract: "plausible"): asked for, and dropped if the API refuses it.
_SAMPLING = " avg { sampleInterval }"


class AnalyticsUnavailable(Exception):
    """The analysis cannot be made from this answer; the message says why, for the step's line."""


def iso(moment):
    """RFC 3339 UTC with Z, second precision (the bounds filter invocation start times, inclusive)."""
    return datetime.datetime.fromtimestamp(moment, tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_request(account_id, script_name, since, until, sampling=True):
    return {
        "operationName": "CfopsCanary",
        "query": _QUERY % (ROW_LIMIT, _SAMPLING if sampling else ""),
        "variables": {"accountTag": account_id, "scriptName": script_name,
                      "datetimeStart": iso(since), "datetimeEnd": iso(until)},
    }


def _messages(errors):
    return "; ".join(str((error or {}).get("message", error)) if isinstance(error, dict) else str(error)
                     for error in errors)


def _is_unknown_sampling_field(errors):
    text = _messages(errors).lower()
    return "unknown field" in text and "sampleinterval" in text


def _post(client, body):
    """The GraphQL answer body. A refusal may come as HTTP 200 with ``errors`` or as a 4xx (the docs give
    400 for an unknown field): both come back as a body with ``errors``; other failures raise."""
    try:
        return client.request("POST", GRAPHQL_PATH, json=body, read_only=True)
    except CloudflareAPIError as exc:
        if exc.status == 400 and exc.errors:
            return {"data": None, "errors": exc.errors}
        hint = " (the token needs Account Analytics Read)" if exc.status in (401, 403) else ""
        raise AnalyticsUnavailable("the analytics query failed: %s%s" % (exc.message, hint)) from None


def query_versions(client, account_id, script_name, since, until):
    """``{version id: {"requests", "errors", "latency_ms", "quantile", "sample_interval", "estimated_requests"}}``.

    ``requests``/``errors`` are the counts observed (an adaptive sample's sums divided by its sample
    interval, so the tests see the real sample size); versions without invocations are absent.
    """
    body = _post(client, build_request(account_id, script_name, since, until))
    if isinstance(body, dict) and body.get("errors") and _is_unknown_sampling_field(body["errors"]):
        body = _post(client, build_request(account_id, script_name, since, until, sampling=False))
    return parse_answer(body)


def parse_answer(body):
    if not isinstance(body, dict):
        raise AnalyticsUnavailable("the analytics answer is not a JSON object")
    if body.get("errors"):
        raise AnalyticsUnavailable("the analytics query was refused: %s" % _messages(body["errors"]))
    accounts = (((body.get("data") or {}).get("viewer") or {}).get("accounts"))
    if not accounts:
        raise AnalyticsUnavailable("the analytics answer has no account (does the token read this account's analytics?)")
    rows = accounts[0].get("workersInvocationsAdaptive")
    if rows is None:
        raise AnalyticsUnavailable("the analytics answer has no workersInvocationsAdaptive node")
    versions = {}
    for row in rows:
        version = (row.get("dimensions") or {}).get("scriptVersion")
        if not version:
            raise AnalyticsUnavailable("the analytics rows carry no scriptVersion: invocations cannot be told apart by version")
        sums = row.get("sum") or {}
        if not isinstance(sums.get("requests"), (int, float)) or not isinstance(sums.get("errors"), (int, float)):
            raise AnalyticsUnavailable("the analytics row of version %s has no sum.requests/sum.errors" % version)
        interval = (row.get("avg") or {}).get("sampleInterval")
        interval = float(interval) if isinstance(interval, (int, float)) and interval >= 1 else 1.0
        latency = (row.get("quantiles") or {}).get(LATENCY_FIELD)
        entry = versions.setdefault(version, {"requests": 0, "errors": 0, "latency_ms": None,
                                              "quantile": LATENCY_QUANTILE, "sample_interval": interval,
                                              "estimated_requests": 0})
        entry["requests"] += int(round(sums["requests"] / interval))
        entry["errors"] += int(round(sums["errors"] / interval))
        entry["estimated_requests"] += int(sums["requests"])
        entry["sample_interval"] = max(entry["sample_interval"], interval)
        if isinstance(latency, (int, float)):
            # Rows of one version are one group; a second row (never expected) keeps the worse quantile.
            value = latency / MICROSECONDS_PER_MS
            entry["latency_ms"] = value if entry["latency_ms"] is None else max(entry["latency_ms"], value)
    return versions
