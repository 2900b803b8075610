# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""HTTP probes of a Worker: send GETs, time them, read the version marker, name why a request failed.

Shared by the worker_health_probe module and the worker_release action. Version-targeted probes send
Cloudflare's ``Cloudflare-Workers-Version-Overrides`` request header (an RFC 8941 dictionary, key = the
Worker's name, value = the version id as a string; applied only to a version of the current deployment,
otherwise the request is routed by the percentages:
https://developers.cloudflare.com/workers/configuration/versions-and-deployments/version-overrides/).
The version marker is what the Worker itself answers (the ``version`` field of its JSON body, from its
``version_metadata`` binding); Cloudflare adds no version header.
"""

from __future__ import annotations

import concurrent.futures
import json
import math
import re
import socket
import ssl
import time
import traceback

try:
    import httpx
except ImportError:
    httpx = None
    HTTPX_IMPORT_ERROR = traceback.format_exc()
else:
    HTTPX_IMPORT_ERROR = None

OVERRIDE_HEADER = "Cloudflare-Workers-Version-Overrides"
UNKNOWN_VERSION = "unknown"
# Failed requests are counted under "error:<cause>" in the status counts.
CAUSES = {
    "dns": "name resolution failed",
    "connect": "connection failed",
    "tls": "TLS handshake failed",
    "timeout": "timed out",
    "protocol": "the connection broke",
    "error": "request failed",
}
# RFC 8941 sf-key: lcalpha or "*", then lcalpha, digits, "_", "-", ".", "*".
_SF_KEY = re.compile(r"^[a-z*][a-z0-9_.*-]*$")


class ProbeInputError(ValueError):
    pass


def override_header(script_name, version_id):
    """``{header: value}`` sending a request to ``version_id`` of Worker ``script_name``."""
    if not _SF_KEY.match(script_name or ""):
        raise ProbeInputError(
            "Worker name %r cannot be a key of the %s header (a structured-header key starts with a lowercase "
            "letter): version-targeted probes are not possible for it" % (script_name, OVERRIDE_HEADER))
    if not re.match(r"^[\x20-\x7e]*$", version_id or "") or not version_id:
        raise ProbeInputError("version id %r is not a printable ASCII string" % version_id)
    escaped = version_id.replace("\\", "\\\\").replace('"', '\\"')
    return {OVERRIDE_HEADER: '%s="%s"' % (script_name, escaped)}


def percentile(values, share):
    """Nearest-rank percentile (``share`` 0-1) of ``values``; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, int(math.ceil(share * len(ordered))))
    return round(ordered[rank - 1], 1)


def version_marker(headers, body, version_header, version_field):
    """The version a response came from: ``version_header`` when set and present, else the JSON body's
    (dotted) ``version_field``, else UNKNOWN_VERSION."""
    marker = headers.get(version_header) if (version_header and headers is not None) else None
    if marker:
        return marker
    try:
        value = json.loads(body) if body else None
    except ValueError:
        value = None
    for part in version_field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return str(value) if isinstance(value, (str, int)) and value != "" else UNKNOWN_VERSION


def _chain(exc):
    seen = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def failure_cause(exc):
    """``(cause, detail)`` of a failed request: dns, connect, tls, timeout, protocol or error."""
    detail = "%s: %s" % (type(exc).__name__, exc)
    chain = _chain(exc)
    text = " ".join(str(item) for item in chain).lower()
    if any(isinstance(item, socket.gaierror) for item in chain) or "name or service not known" in text \
            or "nodename nor servname" in text or "temporary failure in name resolution" in text \
            or "no address associated" in text or "getaddrinfo" in text:
        return "dns", detail
    if any(isinstance(item, ssl.SSLError) for item in chain) or "ssl" in text or "certificate" in text:
        return "tls", detail
    if isinstance(exc, httpx.TimeoutException):
        return "timeout", detail
    if isinstance(exc, httpx.ConnectError):
        return "connect", detail
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return "protocol", detail
    return "error", detail


def probe_once(client, url, headers, version_header, version_field):
    """One GET: ``{status, ms, version, detail}``; status ``error:<cause>`` when the request failed."""
    started = time.monotonic()
    try:
        response = client.get(url, headers=headers)
        status, detail = str(response.status_code), None
        marker = version_marker(response.headers, response.content, version_header, version_field)
    except httpx.HTTPError as exc:
        cause, detail = failure_cause(exc)
        status, marker = "error:" + cause, UNKNOWN_VERSION
    return {"status": status, "ms": (time.monotonic() - started) * 1000.0, "version": marker, "detail": detail}


def run_probe(url, requests, concurrency=4, timeout=5.0, headers=None, warmup=0, validate_certs=True,
              version_header=None, version_field="version"):
    """``requests`` GETs of ``url``, ``concurrency`` at a time, after ``warmup`` uncounted ones."""
    headers = dict(headers or {})
    with httpx.Client(timeout=timeout, verify=validate_certs, trust_env=False, follow_redirects=False) as client:
        for _number in range(warmup):
            probe_once(client, url, headers, version_header, version_field)
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            return list(pool.map(lambda _n: probe_once(client, url, headers, version_header, version_field),
                                 range(requests)))


def count(items, key):
    counts = {}
    for item in items:
        counts[item[key]] = counts.get(item[key], 0) + 1
    return dict(sorted(counts.items()))


def describe(status, url):
    """A status count key as words: ``500`` -> ``status 500``, ``error:dns`` -> ``name resolution failed``."""
    if status.startswith("error:"):
        return CAUSES.get(status[len("error:"):], "request failed")
    return "status " + status


def failure_summary(samples, expected, url):
    """``"status 500 x3, timed out x2 (ReadTimeout: ...)"``: each cause of failure with its count and an example."""
    parts = []
    failed = [s for s in samples if s["status"] not in expected]
    for status, number in count(failed, "status").items():
        example = next((s["detail"] for s in failed if s["status"] == status and s.get("detail")), None)
        parts.append("%s x%d%s" % (describe(status, url), number, (" (%s)" % example) if example else ""))
    return ", ".join(parts)


def measure(samples, expect_status):
    """The numbers of a set of responses: ``{requests, errors, error_rate, p50_ms, p95_ms, status_counts, versions_seen}``."""
    expected = {str(code) for code in expect_status}
    errors = sum(1 for s in samples if s["status"] not in expected)
    latencies = [s["ms"] for s in samples]
    return {
        "requests": len(samples), "errors": errors,
        "error_rate": round(errors / float(len(samples)), 4) if samples else 0.0,
        "p50_ms": percentile(latencies, 0.5), "p95_ms": percentile(latencies, 0.95),
        "status_counts": count(samples, "status"), "versions_seen": count(samples, "version"),
    }
