# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""Deployments of a release: reading what serves, compare-and-set, rollout splits, the plan's diff.

The pieces of the worker_release action that talk to the deployments API or compute a plan, without
Ansible: testable on their own. The rollout loop itself (gates, waits, output) is in the action.

Compare-and-set: Cloudflare's deployments API takes no precondition, so before every deployment change
and before a rollback the release reads the current deployment and compares its id with the one it
made or found (``expect_current``); after each write it reads again and checks that its deployment is
the newest and directly follows the expected one (``verify_written``). Of two jobs that write at once,
the later writer sees its predecessor was not the one it expected, and the earlier one sees a newer
deployment that is not its own: both notice, neither silently undoes the other, and a rollback is made
only over the release's own deployment.
"""

from __future__ import annotations

import difflib
import hashlib
import re

from ansible_collections.cfops.cloudflare.plugins.module_utils import _workers as workers
from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import cloudflare_argument_spec
from ansible_collections.cfops.cloudflare.plugins.module_utils._workers import SECRET_BINDING_TYPES, scripts_path

# Contract 2: the plain-text binding each version the collection uploads carries.
FINGERPRINT_BINDING = "CFOPS_RELEASE_FINGERPRINT"
LEGACY_FINGERPRINT_ANNOTATION = "workers/commit_sha"
MESSAGE_ANNOTATION = "workers/message"
# Deployment messages of a release: "cfops release <fingerprint prefix>[ <tag>]: <share>%".
RELEASE_MESSAGE = re.compile(r"^cfops release (?P<fingerprint>[0-9a-f]{12})\b")
ROLLBACK_MESSAGE_PREFIX = "rollback"
TEXT_DIFF_LIMIT = 64 * 1024
GATES = ("probes", "analysis", "both", "none")


def argument_spec():
    """The options of cfops.cloudflare.worker_release (its action plugin and its documentation stub)."""
    spec = dict(cloudflare_argument_spec(), **workers.code_argument_spec())
    # Contract 2 adds version_metadata to the shared code options; until then the release takes it itself.
    spec.setdefault("version_metadata", dict(type="str"))
    spec.update(
        script_name=dict(type="str", required=True),
        version_message=dict(type="str"),
        tag=dict(type="str"),
        secret_digest_key=dict(type="str", no_log=True),
        workers_dev=dict(type="bool"),
        steps=dict(type="list", elements="float", default=[10, 25, 50, 100]),
        smoke_test=dict(type="bool", default=True),
        gate=dict(type="str", choices=list(GATES), default="probes"),
        url=dict(type="str"),
        host_header=dict(type="str"),
        requests=dict(type="int", default=30),
        concurrency=dict(type="int", default=4),
        warmup=dict(type="int", default=0),
        timeout=dict(type="float", default=5),
        expect_status=dict(type="list", elements="int", default=[200]),
        validate_certs=dict(type="bool", default=True),
        max_error_rate=dict(type="float", default=0.05),
        max_error_rate_increase=dict(type="float", default=0.01),
        max_p95_ms=dict(type="float", default=500),
        alpha=dict(type="float", default=0.01),
        min_requests=dict(type="int", default=30),
        latency_margin=dict(type="float", default=0.5),
        latency_slack_ms=dict(type="float", default=50),
        on_insufficient=dict(type="str", choices=["fail", "pass"], default="fail"),
        analysis_window=dict(type="float", default=60),
        analysis_max_window=dict(type="float", default=300),
        analysis_delay=dict(type="float", default=60),
        analysis_min_requests=dict(type="int", default=100),
        analysis_max_p99_ms=dict(type="float"),
        settle_timeout=dict(type="float", default=30),
        wait_timeout=dict(type="float", default=300),
        rollback_on_failure=dict(type="bool", default=True),
        rollback_force=dict(type="bool", default=True),
    )
    return spec


class ConflictError(Exception):
    """Another job changed the Worker's deployment; the message names that deployment."""


def deployments_path(account_id, script_name):
    return scripts_path(account_id, script_name, "deployments")


def read_deployments(client, account_id, script_name):
    """``(exists, [deployments newest first])``; a missing Worker is ``(False, [])``."""
    try:
        answer = client.get(deployments_path(account_id, script_name)) or {}
    except CloudflareAPIError as exc:
        if exc.status == 404:
            return False, []
        raise
    return True, answer.get("deployments") or []


def read_version(client, account_id, script_name, version_id):
    return client.get(scripts_path(account_id, script_name, "versions", version_id)) or {}


def marker_of(version):
    """The release fingerprint a version carries (Contract 2 binding, else the 1.1 annotation), or None."""
    for binding in (version.get("resources") or {}).get("bindings") or []:
        if binding.get("name") == FINGERPRINT_BINDING and binding.get("type") == "plain_text":
            return binding.get("text")
    return (version.get("annotations") or {}).get(LEGACY_FINGERPRINT_ANNOTATION)


def migration_tag_of(version):
    return ((version.get("resources") or {}).get("script_runtime") or {}).get("migration_tag")


def split(deployment):
    """``[(version_id, percentage)]`` of a deployment, the largest share first."""
    items = [(v["version_id"], float(v["percentage"])) for v in (deployment or {}).get("versions") or []]
    return sorted(items, key=lambda item: (-item[1], item[0]))


def describe_deployment(deployment):
    """``dep 0b5a1e0c (2025-01-15T10:00:00Z, "message"): 4a1c2b3d 90% + 8b8d0000 10%``."""
    if not deployment:
        return "no deployment"
    message = ((deployment.get("annotations") or {}).get(MESSAGE_ANNOTATION) or "").strip()
    parts = " + ".join("%s %s%%" % (short(v), pct(p)) for v, p in split(deployment))
    return "deployment %s (%s%s): %s" % (short(deployment.get("id")), deployment.get("created_on") or "?",
                                         (', "%s"' % message) if message else "", parts)


def short(identifier):
    return (identifier or "?")[:8]


def pct(value):
    """``10`` not ``10.0``; ``12.5`` stays."""
    value = float(value)
    return ("%d" % value) if value == int(value) else ("%g" % value)


def release_message(fingerprint, tag, share):
    return "cfops release %s%s: %s%%" % (fingerprint[:12], (" " + tag) if tag else "", pct(share))


def is_foreign_rollout(deployment, fingerprint):
    """A split between two versions that this release did not make: someone else's rollout is under way."""
    if len(split(deployment)) < 2:
        return False
    match = RELEASE_MESSAGE.match((deployment.get("annotations") or {}).get(MESSAGE_ANNOTATION) or "")
    return not (match and fingerprint.startswith(match.group("fingerprint")))


def expect_current(client, account_id, script_name, expected_id, action):
    """The current deployment, after checking it is ``expected_id``; ConflictError otherwise."""
    _found, deployments = read_deployments(client, account_id, script_name)
    current = deployments[0] if deployments else None
    if (current or {}).get("id") != expected_id:
        raise ConflictError(
            "Worker %s: before %s, the current deployment is %s, not %s that this release made or found: another job "
            "changed it. Stopping without touching it; run again once that release is finished."
            % (script_name, action, describe_deployment(current), short(expected_id)))
    return current


def verify_written(client, account_id, script_name, written, expected_previous_id):
    """After a write: our deployment must be the newest, right after ``expected_previous_id``."""
    _found, deployments = read_deployments(client, account_id, script_name)
    ids = [d.get("id") for d in deployments]
    if not ids or ids[0] != written.get("id"):
        newer = deployments[0] if deployments else None
        raise ConflictError("Worker %s: another job deployed right after this release (%s replaced our %s). Stopping "
                            "without a rollback: the newer deployment stays."
                            % (script_name, describe_deployment(newer), short(written.get("id"))))
    if expected_previous_id is not None and (len(ids) < 2 or ids[1] != expected_previous_id):
        between = deployments[1] if len(deployments) > 1 else None
        raise ConflictError("Worker %s: another job deployed between this release's check and its write (%s); our "
                            "%s replaced it. Stopping without a rollback; check what serves and run again."
                            % (script_name, describe_deployment(between), short(written.get("id"))))
    return deployments[0]


def deploy_split(client, account_id, script_name, versions, message, expected_id, force=False):
    """Compare-and-set a deployment of ``[(version_id, percentage)]``; returns the deployment made."""
    expect_current(client, account_id, script_name, expected_id, "deploying %s" % " + ".join(
        "%s %s%%" % (short(v), pct(p)) for v, p in versions))
    body = {"strategy": "percentage", "versions": [{"version_id": v, "percentage": p} for v, p in versions],
            "annotations": {MESSAGE_ANNOTATION: message}}
    written = client.post(deployments_path(account_id, script_name), json=body,
                          params={"force": "true"} if force else None) or {}
    return verify_written(client, account_id, script_name, written, expected_id)


def step_split(new_version, old_version, share):
    """The deployment of one step: the new version at ``share``, the old one the rest (none at 100 %)."""
    if share >= 100 or not old_version:
        return [(new_version, 100.0)]
    return [(new_version, float(share)), (old_version, 100.0 - float(share))]


def remaining_steps(steps, current_share):
    """The steps still to do when the new version already serves ``current_share`` (a resumed rollout)."""
    return [share for share in steps if share > current_share]


# --- the plan's diff -----------------------------------------------------------------------------------------------

def _is_text(content):
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in content


def _digest(content):
    if content is None:
        return "(none)"
    return "sha256:%s, %d bytes" % (hashlib.sha256(content).hexdigest()[:16], len(content))


def modules_diff(before, after, limit=TEXT_DIFF_LIMIT):
    """Unified diff lines of the modules: ``before``/``after`` are ``{name: bytes}`` (before may be None: unknown).

    Text modules up to ``limit`` bytes on both sides are diffed line by line; others by SHA-256."""
    lines = []
    names = sorted(set(after) | set(before or {}))
    for name in names:
        old, new = (before or {}).get(name), after.get(name)
        if old == new:
            continue
        if old is not None and new is not None and _is_text(old) and _is_text(new) \
                and len(old) <= limit and len(new) <= limit:
            lines.extend(difflib.unified_diff(old.decode("utf-8").splitlines(), new.decode("utf-8").splitlines(),
                                              "a/" + name, "b/" + name, lineterm=""))
            continue
        if before is None:
            lines.append("module %s: %s (the serving code could not be read)" % (name, _digest(new)))
        else:
            lines.append("module %s: %s -> %s" % (name, _digest(old), _digest(new)))
    return lines


def _binding_view(binding):
    if binding.get("type") in SECRET_BINDING_TYPES:
        return "%s %s (secret)" % (binding.get("type"), binding.get("name"))
    fields = ", ".join("%s=%s" % (k, binding[k]) for k in sorted(binding) if k not in ("name", "type"))
    return "%s %s%s" % (binding.get("type"), binding.get("name"), (" " + fields) if fields else "")


def bindings_diff(before, after, ignore=(FINGERPRINT_BINDING,)):
    """``+``/``-`` lines of bindings by name: vars, resources, secrets by name only.

    Only the fields the release sends are compared (the API adds others, e.g. a D1 ``database_id``)."""
    before_by_name = {b.get("name"): b for b in before or [] if b.get("name") not in ignore}
    after_by_name = {b.get("name"): b for b in after if b.get("name") not in ignore}
    lines = []
    for name in sorted(set(before_by_name) | set(after_by_name)):
        old, new = before_by_name.get(name), after_by_name.get(name)
        if new is not None and old is not None:
            if new.get("type") in SECRET_BINDING_TYPES and old.get("type") in SECRET_BINDING_TYPES:
                continue
            if all(old.get(key) == value for key, value in new.items()):
                continue
        if old is not None:
            lines.append("-binding " + _binding_view(old))
        if new is not None:
            lines.append("+binding " + _binding_view(new))
    return lines


def settings_diff(before, after):
    """Lines for compatibility date/flags and migration tag: ``{compatibility_date, compatibility_flags, migration_tag}``."""
    lines = []
    for key in ("compatibility_date", "compatibility_flags", "migration_tag"):
        old, new = (before or {}).get(key), after.get(key)
        if key == "compatibility_flags":
            old, new = sorted(old or []), sorted(new or [])
        if old != new:
            lines.append("%s: %s -> %s" % (key.replace("_", " "), old if old not in (None, []) else "(none)",
                                           new if new not in (None, []) else "(none)"))
    return lines
