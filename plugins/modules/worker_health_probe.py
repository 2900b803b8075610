#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: worker_health_probe
short_description: Smoke-test a Worker's URL and judge its health gates (error rate, p95 latency, version)
version_added: 1.1.0
description:
  - Sends O(requests) GET requests (O(concurrency) at a time) to O(url) and measures the status codes,
    the latency and the version marker of every response, then judges three gates - the error rate
    against O(max_error_rate), the 95th percentile latency against O(max_p95_ms) and, when
    O(expect_version) is given, that every response came from that version.
  - A response is an error when its status is not in O(expect_status), or when the request failed;
    a failed request is counted under C(error:<cause>) - C(dns) (name resolution), C(connect), C(tls),
    C(timeout), C(protocol) (the connection broke) - and the gate's message names the cause with an example.
  - The version marker of a response is the O(version_field) of its JSON body, which the Worker fills from
    its C(version_metadata) binding (Cloudflare adds no version header); O(version_header) reads a response
    header first instead, for a Worker that sets one.
  - With O(target_version) (and O(script)) every request carries Cloudflare's
    C(Cloudflare-Workers-Version-Overrides) header, so it reaches that version when it is in the Worker's
    current deployment (at any share, 0% included); a version outside the deployment is ignored by
    Cloudflare and the request is routed by the percentages, which the version marker then shows.
  - It never fails the task because a gate failed, unless O(fail_on_gate=true); the result's
    RV(passed) and RV(failed_gates) say what failed, with the measured value and the threshold, so a
    role can decide (roll back, then fail). It fails when O(url) or the options are not usable.
  - It does not call the Cloudflare API and takes no credentials, so it is outside the
    C(group/cfops.cloudflare.cloudflare) action group.
author:
  - cfops platform team (@cfops)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details:
      - It only sends GET requests and never reports a change, so it runs in check mode as in a real run,
        against what serves at that moment (in a check-mode release nothing was deployed, so it probes the
        serving version).
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
options:
  url:
    description: The URL to GET, for example V(https://books-api-prod.example.workers.dev/health).
    type: str
    required: true
  host_header:
    description:
      - A C(Host) header to send instead of the URL's host, to reach a Worker route or workers.dev name
        through an address such as the local emulator's edge (V(http://127.0.0.1:8792)).
    type: str
  requests:
    description: How many requests to send (1 to 10000).
    type: int
    default: 20
  warmup:
    description:
      - Requests sent one by one before the measured ones and not counted, so that a cold start just after
        a deployment change (the runtime loading the new version) is not judged as latency.
    type: int
    default: 0
  concurrency:
    description: How many requests are in flight at once (1 to 64).
    type: int
    default: 4
  timeout:
    description: Seconds each request may take; a request that takes longer is an error.
    type: float
    default: 5
  expect_status:
    description: The status codes that count as success.
    type: list
    elements: int
    default: [200]
  expect_version:
    description:
      - The version id every response must carry (gate C(version)); a response with another marker or
        none fails the gate. Use it at 100% of a rollout and to verify a rollback.
    type: str
  canary_version:
    description:
      - Judge the error-rate and latency gates on the responses this version served only, so a canary at
        10% is judged on its own responses, not diluted by the old version's. When no response came
        from it, the gates are judged on every response (RV(gated_requests) says how many were judged).
    type: str
  version_header:
    description:
      - A response header that carries the version marker, read before O(version_field). Unset by default.
    type: str
  script:
    description:
      - The Worker's name, the key of the version-override header (required with O(target_version)).
      - The old name C(script_name) still works as a deprecated alias, until 2.0.0.
    type: str
    aliases: [script_name]
  target_version:
    description:
      - Send every request to this version with Cloudflare's C(Cloudflare-Workers-Version-Overrides) header.
      - Combine with O(expect_version) to prove the override was applied.
    type: str
  version_field:
    description: The field of a JSON response body that carries the version marker, read when the header is absent.
    type: str
    default: version
  max_error_rate:
    description: The highest acceptable share of errors, 0 to 1 (gate C(error_rate)).
    type: float
    default: 0.05
  max_p95_ms:
    description: The highest acceptable 95th percentile latency in milliseconds (gate C(p95_latency)).
    type: float
    default: 500
  fail_on_gate:
    description: Fail the task when a gate fails (the message names each gate, measured value and threshold).
    type: bool
    default: false
  validate_certs:
    description: Verify the server's TLS certificate.
    type: bool
    default: true
requirements:
  - httpx
notes:
  - Latency is the wall time of each request as the controller sees it, connection set-up included.
  - Percentiles use the nearest-rank method over the judged responses.
seealso:
  - module: cfops.cloudflare.worker_deployment
"""

EXAMPLES = r"""
- name: Smoke test the canary at its share of the traffic
  cfops.cloudflare.worker_health_probe:
    url: https://books-api-prod.example.workers.dev/health
    requests: 50
    canary_version: "{{ candidate.version.id }}"
    max_error_rate: 0.01
    max_p95_ms: 500
  register: gate

- name: Smoke-test a version deployed at 0% before any user reaches it
  cfops.cloudflare.worker_health_probe:
    url: https://books-api-prod.example.workers.dev/health
    script: books-api-prod
    target_version: "{{ candidate.version.id }}"
    expect_version: "{{ candidate.version.id }}"
    fail_on_gate: true

- name: Through the local emulator's edge
  cfops.cloudflare.worker_health_probe:
    url: http://127.0.0.1:8792/health
    host_header: books-api-local.cfops-local.workers.dev
    requests: 10
"""

RETURN = r"""
requests:
  description: Requests sent.
  returned: always
  type: int
  sample: 20
errors:
  description: Judged responses that were errors (unexpected status or failed request).
  returned: always
  type: int
  sample: 0
error_rate:
  description: RV(errors) divided by the judged responses, 0 to 1.
  returned: always
  type: float
  sample: 0.0
p50_ms:
  description: Median latency of the judged responses, in milliseconds.
  returned: always
  type: float
  sample: 12.4
p95_ms:
  description: 95th percentile latency of the judged responses, in milliseconds.
  returned: always
  type: float
  sample: 31.0
gated_requests:
  description: How many responses the error-rate and latency gates judged (all, or the canary's).
  returned: always
  type: int
  sample: 20
status_counts:
  description: Responses per status code (as a string); failed requests as C(error:<cause>).
  returned: always
  type: dict
  sample: {"200": 18, "500": 1, "error:timeout": 1}
failure_causes:
  description: Each reason requests failed (status or cause), with its count and an example error.
  returned: always
  type: str
  sample: "status 500 x1, timed out x1 (ReadTimeout: timed out)"
versions_seen:
  description: Responses per version marker, C(unknown) for responses without one.
  returned: always
  type: dict
  sample: {"18f97339-c287-4872-9bdd-e2135c07ec12": 20}
errors_by_version:
  description: Errors per version marker.
  returned: always
  type: dict
  sample: {"18f97339-c287-4872-9bdd-e2135c07ec12": 0}
passed:
  description: Whether every gate passed.
  returned: always
  type: bool
  sample: true
failed_gates:
  description: The gates that failed, each with what was measured and the threshold.
  returned: always
  type: list
  elements: dict
  sample:
    - gate: error_rate
      measured: 0.25
      threshold: 0.05
      message: "error rate 25.0% > 5.0% (5 of 20 responses failed: 500 x5)"
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.cfops.cloudflare.plugins.module_utils._probe import (
    HTTPX_IMPORT_ERROR,
    ProbeInputError,
    count,
    failure_summary,
    httpx,
    measure,
    override_header,
    percentile,
    version_marker,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._probe import run_probe as send_probes

# Re-exported for the module's unit tests.
__all__ = ["ProbeInputError", "percentile", "version_marker"]

MAX_REQUESTS = 10000
MAX_CONCURRENCY = 64


def check_input(params):
    if not params["url"].startswith(("http://", "https://")):
        raise ProbeInputError("url must start with http:// or https://, got %r" % params["url"])
    if not 1 <= params["requests"] <= MAX_REQUESTS:
        raise ProbeInputError("requests must be between 1 and %d, got %d" % (MAX_REQUESTS, params["requests"]))
    if not 0 <= params["warmup"] <= MAX_REQUESTS:
        raise ProbeInputError("warmup must be between 0 and %d, got %d" % (MAX_REQUESTS, params["warmup"]))
    if not 1 <= params["concurrency"] <= MAX_CONCURRENCY:
        raise ProbeInputError("concurrency must be between 1 and %d, got %d" % (MAX_CONCURRENCY, params["concurrency"]))
    if params["timeout"] <= 0:
        raise ProbeInputError("timeout must be more than 0 seconds, got %g" % params["timeout"])
    if not 0 <= params["max_error_rate"] <= 1:
        raise ProbeInputError("max_error_rate is a share between 0 and 1 (0.05 is 5%%), got %g" % params["max_error_rate"])
    if params["max_p95_ms"] <= 0:
        raise ProbeInputError("max_p95_ms must be more than 0, got %g" % params["max_p95_ms"])
    if not params["expect_status"]:
        raise ProbeInputError("expect_status must list at least one status code")
    if params.get("target_version"):
        if not params.get("script"):
            raise ProbeInputError("target_version needs script (the key of the version-override header)")
        override_header(params["script"], params["target_version"])


def request_headers(params):
    headers = {"Host": params["host_header"]} if params["host_header"] else {}
    if params.get("target_version"):
        headers.update(override_header(params["script"], params["target_version"]))
    return headers


def run_probe(params):
    return send_probes(params["url"], params["requests"], concurrency=params["concurrency"], timeout=params["timeout"],
                       headers=request_headers(params), warmup=params["warmup"], validate_certs=params["validate_certs"],
                       version_header=params["version_header"], version_field=params["version_field"])


def judge(samples, params):
    """The result of the probe: measurements of the judged responses and the gates that failed."""
    expected = {str(code) for code in params["expect_status"]}
    for sample in samples:
        sample["error"] = sample["status"] not in expected
    canary = [s for s in samples if params["canary_version"] and s["version"] == params["canary_version"]]
    judged = canary or samples
    numbers = measure(judged, params["expect_status"])
    result = dict(numbers)
    result.update(requests=len(samples), gated_requests=len(judged), status_counts=count(samples, "status"),
                  versions_seen=count(samples, "version"), failure_causes=failure_summary(samples, expected, params["url"]))
    result["errors_by_version"] = {version: sum(1 for s in samples if s["version"] == version and s["error"])
                                   for version in sorted({s["version"] for s in samples})}
    whose = "version %s's " % params["canary_version"] if canary else ""
    failed = []
    if numbers["error_rate"] > params["max_error_rate"]:
        failed.append({"gate": "error_rate", "measured": numbers["error_rate"], "threshold": params["max_error_rate"],
                       "message": "error rate %.1f%% > %.1f%% (%d of %d %sresponses failed: %s)"
                       % (numbers["error_rate"] * 100, params["max_error_rate"] * 100, numbers["errors"], len(judged),
                          whose, failure_summary(judged, expected, params["url"]))})
    if numbers["p95_ms"] > params["max_p95_ms"]:
        failed.append({"gate": "p95_latency", "measured": numbers["p95_ms"], "threshold": params["max_p95_ms"],
                       "message": "p95 latency %.0f ms > %.0f ms (over %d %sresponses)"
                       % (numbers["p95_ms"], params["max_p95_ms"], len(judged), whose)})
    if params["expect_version"]:
        others = {v: n for v, n in result["versions_seen"].items() if v != params["expect_version"]}
        if others:
            share = result["versions_seen"].get(params["expect_version"], 0) / float(len(samples))
            failed.append({"gate": "version", "measured": round(share, 4), "threshold": 1.0,
                           "message": "version %s served %.0f%% of responses, expected 100%% (others: %s)"
                           % (params["expect_version"], share * 100,
                              ", ".join("%s x%d" % item for item in others.items()))})
    result.update(passed=not failed, failed_gates=failed)
    return result


ARGUMENT_SPEC = dict(
    url=dict(type="str", required=True),
    host_header=dict(type="str"),
    requests=dict(type="int", default=20),
    warmup=dict(type="int", default=0),
    concurrency=dict(type="int", default=4),
    timeout=dict(type="float", default=5),
    expect_status=dict(type="list", elements="int", default=[200]),
    expect_version=dict(type="str"),
    canary_version=dict(type="str"),
    script=dict(type="str", aliases=["script_name"], deprecated_aliases=[dict(name="script_name", version="2.0.0", collection_name="cfops.cloudflare")]),
    target_version=dict(type="str"),
    version_header=dict(type="str"),
    version_field=dict(type="str", default="version"),
    max_error_rate=dict(type="float", default=0.05),
    max_p95_ms=dict(type="float", default=500),
    fail_on_gate=dict(type="bool", default=False),
    validate_certs=dict(type="bool", default=True),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if httpx is None:
        module.fail_json(msg=missing_required_lib("httpx"), exception=HTTPX_IMPORT_ERROR)
    try:
        check_input(module.params)
    except ProbeInputError as exc:
        module.fail_json(msg=str(exc))
    result = judge(run_probe(module.params), module.params)
    if module.params["fail_on_gate"] and not result["passed"]:
        module.fail_json(msg="health gate failed for %s: %s" % (module.params["url"], "; ".join(
            g["message"] for g in result["failed_gates"])), **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
