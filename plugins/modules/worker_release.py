#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: worker_release
short_description: Release a Cloudflare Worker gradually behind version-targeted probes and canary analysis
version_added: 1.2.0
description:
  - The release engine of the C(cfops.cloudflare.worker) role, run on the controller as an action plugin in
    one task - pre-flight, upload, a smoke test at 0%, the rollout steps with their gates, the automatic
    rollback and a summary - printing one line per step with the measured numbers while it runs.
  - B(Pre-flight) reads the deployments, the serving version(s) (their C(CFOPS_RELEASE_FINGERPRINT) binding
    and migration tag), the KV namespaces when one is bound by title, and the workers.dev switch when
    O(workers_dev) is set. When the version serving 100% carries the release's fingerprint the task ends
    there - V(changed=false), no write.
  - B(First deploy) and B(Durable Object migrations) are a full script upload, which serves at once
    (Cloudflare cannot roll migrations out gradually), then a gate at 100%; there is nothing to roll back to.
  - B(A gradual rollout) uploads the release as a version (or finds it among the newest versions), deploys it
    at 0% next to the stable version and smoke-tests it with Cloudflare's C(Cloudflare-Workers-Version-Overrides)
    header before any user reaches it, then for each of O(steps) deploys the split, waits until the split is
    observed serving (at most O(settle_timeout)) and judges the step - the canary and the stable version probed
    separately with the override header (O(gate=probes)), Cloudflare's analytics of real traffic per version
    (O(gate=analysis)), or both.
  - B(The decision) needs O(min_requests) canary responses to pass; it fails on an exact one-sided test of the
    canary's error rate against O(max_error_rate), and against the stable version's (Fisher's exact test, at
    O(alpha), beyond O(max_error_rate_increase)), and on latency above O(max_p95_ms) or above the stable
    version's by O(latency_margin) plus O(latency_slack_ms). Thin traffic extends the analysis window up to
    O(analysis_max_window), then O(on_insufficient) decides (C(fail) by default). The analytics are read every
    O(analysis_interval) and judged at a quarter, half and all of O(analysis_min_requests), each look at O(alpha)
    divided by the number of looks, so a clearly bad release stops early without failing good ones more often.
  - B(Compare-and-set) - before every deployment change and before a rollback the current deployment must be the
    one the release made or found, and after each write the release checks its deployment is the newest, right
    after that one. A release that finds another job's rollout under way waits for it (at most O(wait_timeout)),
    then releases over it; one whose deployment another job replaced waits the same way; one whose write replaced
    another job's deployment puts it back first. A rollback is made only over the release's own deployment, so
    it never undoes someone else's release.
  - While the stable version is in the split the steps are deployed with C(force) - it keeps the secret values
    it was uploaded with, which Cloudflare otherwise refuses once a newer version changed a secret.
  - B(A failed gate) rolls back to the stable version at 100% (O(rollback_force) past Cloudflare's "secrets
    changed" refusal), verifies it with probes and fails the task naming the step, the measured numbers and
    the version that serves now.
  - B(Check mode) reads only and returns the plan; with C(--diff) the modules as a unified diff (text up to
    64 KiB, digests beyond), compatibility settings, bindings, secrets by name.
  - The version marker is the Worker's own answer - the JSON C(version) field of the probed URL, which the
    Worker fills from its C(version_metadata) binding (O(version_metadata)). See docs/deploying-workers.md.
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
  - cfops.cloudflare.worker_code
attributes:
  check_mode:
    support: full
    details: Reads only; returns the plan (and with C(--diff) the diff against the serving version).
  diff_mode:
    support: full
options:
  script:
    description:
      - The Worker.
      - The old name C(script_name) still works as a deprecated alias, until 2.0.0.
    type: str
    required: true
    aliases: [script_name]
  commit_sha:
    description: A git commit SHA stored with an uploaded version (C(workers/commit_sha)); not part of the fingerprint.
    type: str
  workers_dev:
    description: Turn the workers.dev URL on or off; unset leaves it as it is.
    type: bool
  steps:
    description:
      - "The new version's share at each step, ascending, above 0, ending at 100 - a number (C(10)) or the whole
        split (C({new: 10, old: 90})). Every bad step is named before any API call."
    type: list
    elements: raw
    default: [10, 25, 50, 100]
  smoke_test:
    description: Deploy the new version at 0% first and probe it with the override header before any user reaches it.
    type: bool
    default: true
  gate:
    description: What judges each step - version-targeted probes, traffic analysis, both, or nothing.
    type: str
    choices: [probes, analysis, both, none]
    default: probes
  url:
    description: The URL the probes GET (required with O(gate=probes) or O(gate=both)); its JSON C(version) is the marker.
    type: str
  host_header:
    description: A C(Host) header for the probes (a workers.dev name behind the local emulator's edge).
    type: str
  requests:
    description: Probe requests per version and step.
    type: int
    default: 30
  concurrency:
    description: Probe requests in flight at once.
    type: int
    default: 4
  warmup:
    description: Unused by the engine (settling already sends requests); kept for the role's variables.
    type: int
    default: 0
  timeout:
    description: Seconds per probe request.
    type: float
    default: 5
  expect_status:
    description: Statuses that count as success.
    type: list
    elements: int
    default: [200]
  validate_certs:
    description: Verify the TLS certificate of O(url).
    type: bool
    default: true
  max_error_rate:
    description: The environment's highest error rate, 0 to 1 (exact one-sided binomial test at O(alpha)).
    type: float
    default: 0.05
  max_error_rate_increase:
    description: How far, 0 to 1, the canary's error rate may exceed the stable version's before a significant rise fails it.
    type: float
    default: 0.01
  max_p95_ms:
    description: The highest probe p95 latency in milliseconds (and the analysis P99's unless O(analysis_max_p99_ms)).
    type: float
    default: 500
  alpha:
    description: Significance level of the error-rate tests.
    type: float
    default: 0.01
  min_requests:
    description: Canary probe responses needed to pass a step (O(requests) must be at least this).
    type: int
    default: 30
  latency_margin:
    description: The canary's latency may exceed the stable version's by this share (0.5 = 50%) plus O(latency_slack_ms).
    type: float
    default: 0.5
  latency_slack_ms:
    description: Milliseconds added to the relative latency limit.
    type: float
    default: 50
  on_insufficient:
    description: The decision when the analysis window reached O(analysis_max_window) (or analytics is unavailable) without enough traffic.
    type: str
    choices: [fail, pass]
    default: fail
  analysis_window:
    description: Seconds of traffic each step's analysis judges.
    type: float
    default: 60
  analysis_interval:
    description:
      - Seconds between two reads of the analytics during a window. A read whose canary sample passed a
        quarter, half or all of O(analysis_min_requests) is a look, judged at O(alpha) divided by the number
        of looks, so a clearly failing release stops early without raising the false-failure rate.
      - Cloudflare's GraphQL API allows 300 queries per 5 minutes per user.
    type: float
    default: 10
  analysis_max_window:
    description: The longest a thin window is extended to, in seconds.
    type: float
    default: 300
  analysis_delay:
    description: Seconds Cloudflare's analytics needs to ingest invocations; the window is queried that long after it ends.
    type: float
    default: 60
  analysis_min_requests:
    description: Canary invocations the analysis needs to pass a step.
    type: int
    default: 100
  analysis_max_p99_ms:
    description: The highest wall-time P99 from analytics (the dataset has no p95); defaults to O(max_p95_ms).
    type: float
  settle_timeout:
    description: The longest wait, in seconds, for a deployment change to be observed serving (probes with the override header).
    type: float
    default: 30
  wait_timeout:
    description: The longest wait, in seconds, for another job's rollout of this Worker to finish.
    type: float
    default: 300
  rollback_on_failure:
    description: Roll back to the stable version when a gate fails.
    type: bool
    default: true
  rollback_force:
    description: Force the automatic rollback past Cloudflare's "secrets changed since that version" refusal.
    type: bool
    default: true
notes:
  - Runs on the controller (an action plugin); this file documents it.
  - Traffic analysis uses the GraphQL Analytics API's C(workersInvocationsAdaptive) per C(scriptVersion) (the token
    needs Account Analytics Read). Its errors are invocations that threw, exceeded resources or failed internally;
    a 5xx the Worker returns is caught by the probes.
seealso:
  - module: cfops.cloudflare.worker_health_probe
  - module: cfops.cloudflare.worker_version
  - module: cfops.cloudflare.worker_deployment
"""

EXAMPLES = r"""
- name: Release books-api behind probes of each version
  cfops.cloudflare.worker_release:
    script: books-api-prod
    main_module: "{{ playbook_dir }}/../examples/books-api/src/index.js"
    additional_modules: ["{{ playbook_dir }}/../examples/books-api/src/http.js"]
    compatibility_date: "2024-09-23"
    kv_namespaces: [{binding: CACHE, title: books-api-prod-cache}]
    text_vars: {ENVIRONMENT: prod}
    secrets: {API_KEY: "{{ vault_books_api_key }}"}
    version_metadata: CF_VERSION_METADATA
    tag: "1.4.0"
    url: https://books-api-prod.example.workers.dev/health
    gate: both
    max_error_rate: 0.01
"""

RETURN = r"""
outcome:
  description: C(unchanged), C(released), C(planned) (check mode), C(rolled back), C(failed) or C(conflict).
  returned: always
  type: str
  sample: released
kind:
  description: C(first deploy), C(migration), C(gradual rollout), C(resumed rollout) or C(unchanged).
  returned: after pre-flight
  type: str
  sample: gradual rollout
version:
  description: The release's version id.
  returned: when known
  type: str
  sample: 8b8d0000-0000-4000-8000-000000000002
previous:
  description: The version that served before (the stable one).
  returned: when the release started
  type: str
  sample: 4a1c0000-0000-4000-8000-000000000001
fingerprint:
  description: The release fingerprint (C(CFOPS_RELEASE_FINGERPRINT) of its version).
  returned: after pre-flight
  type: str
  sample: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
steps:
  description: Each step judged - its share, decision, seconds, reasons, the printed line and the probes' and the traffic analysis' numbers per version.
  returned: always
  type: list
  elements: dict
  sample: [{step: 10, decision: pass, seconds: 12.3, reasons: []}]
plan:
  description: What check mode would do.
  returned: always
  type: list
  elements: str
  sample: ["would upload a version (fingerprint 2c26b46b68ff) and roll it out: smoke 0% -> 10% -> 25% -> 50% -> 100%"]
summary:
  description: The final line - version, steps, time (and how much of it analysing traffic), API reads and writes, URL.
  returned: always
  type: str
  sample: "books-api-prod: version 8b8d0000 serves 100% (was 4a1c0000), steps smoke 0/10/25/50/100%, 261.2 s, 240.3 s
    of it analysing traffic, 61 reads, 6 writes, URL https://books-api-prod.example.workers.dev/health"
analysis_seconds:
  description: Seconds spent in traffic-analysis windows (waiting by design).
  returned: always
  type: float
  sample: 240.3
rolled_back_to:
  description: The version an automatic rollback restored.
  returned: when rolled back
  type: str
  sample: 4a1c0000-0000-4000-8000-000000000001
api_calls:
  description: The number of Cloudflare API calls made.
  returned: always
  type: dict
  sample: {reads: 3, writes: 0}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cfops.cloudflare.plugins.module_utils._release import argument_spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    module.fail_json(msg="cfops.cloudflare.worker_release runs on the controller as an action plugin; "
                         "this module file only documents it")


if __name__ == "__main__":
    main()
