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
and before a rollback the release reads the current deployment and compares it with the one it made or
found (``expect_current``); after each write it reads again and checks that its deployment is the newest
and directly follows the expected one (``verify_written``). Of two jobs that write at once, each notices:
the one whose deployment was replaced (``overtaken``) wrote nothing that serves and waits; the one whose
write replaced another's (``replaced``) puts that deployment back (``restore``: same split, same message,
which the other job's next check accepts as its own) and waits. A rollback is made only over the
release's own deployment, so it never undoes someone else's release.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re

from ansible_collections.cfops.cloudflare.plugins.module_utils import _workers as workers
from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import cloudflare_argument_spec
from ansible_collections.cfops.cloudflare.plugins.module_utils._workers import SECRET_BINDING_TYPES, scripts_path

MESSAGE_ANNOTATION = workers.MESSAGE_ANNOTATION
# Deployment messages of a release: "cfops release <fingerprint prefix>[ <tag>]: <share>%".
RELEASE_MESSAGE = re.compile(r"^cfops release (?P<fingerprint>[0-9a-f]{12})\b")
ROLLBACK_MESSAGE_PREFIX = "rollback"
TEXT_DIFF_LIMIT = 64 * 1024
GATES = ("probes", "analysis", "both", "none")


def argument_spec():
    """The options of cfops.cloudflare.worker_release (its action plugin and its documentation stub)."""
    spec = dict(cloudflare_argument_spec(), **workers.code_argument_spec())
    spec.update(
        script=dict(type="str", required=True, aliases=["script_name"],
                    deprecated_aliases=[dict(name="script_name", version="2.0.0", collection_name="cfops.cloudflare")]),
        commit_sha=dict(type="str"),
        workers_dev=dict(type="bool"),
        # A step is the new version's share (10) or the whole split ({new: 10, old: 90}); checked by steps_of.
        steps=dict(type="list", elements="raw", default=[10, 25, 50, 100]),
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
        analysis_interval=dict(type="float", default=10),
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
    """Another job changed the Worker's deployment; the message names that deployment.

    ``kind``: ``changed`` (found before our write: we wrote nothing), ``overtaken`` (another job deployed
    right after our write: its deployment stays) or ``replaced`` (our write replaced a deployment another
    job made between our check and our write: ``other`` is that deployment, to be put back)."""

    def __init__(self, message, kind="changed", other=None, ours=None):
        super().__init__(message)
        self.kind, self.other, self.ours = kind, other, ours


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


def migration_tag_of(version):
    return ((version.get("resources") or {}).get("script_runtime") or {}).get("migration_tag")


def split(deployment):
    """``[(version_id, percentage)]`` of a deployment, the largest share first."""
    items = [(v["version_id"], float(v["percentage"])) for v in (deployment or {}).get("versions") or []]
    return sorted(items, key=lambda item: (-item[1], item[0]))


def message_of(deployment):
    return ((deployment or {}).get("annotations") or {}).get(MESSAGE_ANNOTATION) or ""


def same_deployment(current, expected):
    """Whether ``current`` is the deployment ``expected``: the same id, or the same split and message (a
    deployment another job put back after its write had replaced ours, see ConflictError ``replaced``)."""
    if current is None or expected is None:
        return current is None and expected is None
    if current.get("id") is not None and current.get("id") == expected.get("id"):
        return True
    return split(current) == split(expected) and bool(message_of(expected)) and message_of(current) == message_of(expected)


def describe_deployment(deployment):
    """``deployment 0b5a1e0c (2025-01-15T10:00:00Z, "message"): 4a1c2b3d 90% + 8b8d0000 10%``."""
    if not deployment:
        return "no deployment"
    message = message_of(deployment).strip()
    parts = " + ".join("%s %s%%" % (short(v), pct(p)) for v, p in split(deployment))
    return "deployment %s (%s%s): %s" % (short(deployment.get("id")), deployment.get("created_on") or "?",
                                         (', "%s"' % message) if message else "", parts)


def short(identifier):
    return (identifier or "?")[:8]


def pct(value):
    """A share in percent without a needless decimal: ``10`` not ``10.0``; ``12.5`` stays."""
    value = float(value)
    return ("%d" % value) if value == int(value) else ("%g" % value)


def rate_pct(share):
    """An error rate (0-1) in percent: ``0%``, ``3.3%``, ``100%``."""
    value = round(float(share) * 100, 1)
    return pct(value) + "%"


def release_message(fingerprint, tag, share):
    return "cfops release %s%s: %s%%" % (fingerprint[:12], (" " + tag) if tag else "", pct(share))


def is_foreign_rollout(deployment, fingerprint):
    """A split between two versions that this release did not make: someone else's rollout is under way."""
    if len(split(deployment)) < 2:
        return False
    match = RELEASE_MESSAGE.match(message_of(deployment))
    return not (match and fingerprint.startswith(match.group("fingerprint")))


def expect_current(client, account_id, script_name, expected, action):
    """The current deployment, after checking it is ``expected`` (a deployment, or None: no deployment);
    ConflictError ``changed`` otherwise."""
    _found, deployments = read_deployments(client, account_id, script_name)
    current = deployments[0] if deployments else None
    if not same_deployment(current, expected):
        raise ConflictError(
            "Worker %s: before %s, the current deployment is %s, not %s that this release made or found: another job "
            "changed it" % (script_name, action, describe_deployment(current),
                            short(expected.get("id")) if expected else "none"), "changed", current)
    return current


def verify_written(deployments, written, expected_previous, script_name):
    """After a write (``deployments`` read right after it, newest first): ``written`` must be the newest,
    right after ``expected_previous`` (None: the write made the first deployment)."""
    newest = deployments[0] if deployments else None
    if newest is None or newest.get("id") != written.get("id"):
        raise ConflictError("Worker %s: another job deployed right after this release (%s replaced our %s)"
                            % (script_name, describe_deployment(newest), short(written.get("id"))), "overtaken", newest)
    previous = deployments[1] if len(deployments) > 1 else None
    if not same_deployment(previous, expected_previous):
        raise ConflictError("Worker %s: another job deployed between this release's check and its write (%s); our %s "
                            "replaced it" % (script_name, describe_deployment(previous), short(written.get("id"))),
                            "replaced", previous, newest)
    return newest


def deploy_split(client, account_id, script_name, versions, message, expected, force=False):
    """Compare-and-set a deployment of ``[(version_id, percentage)]`` over ``expected``; returns the
    deployment made (ConflictError when another job's deployment came first, right after, or in between)."""
    expect_current(client, account_id, script_name, expected, "deploying %s" % " + ".join(
        "%s %s%%" % (short(v), pct(p)) for v, p in versions))
    written = post_deployment(client, account_id, script_name, versions, message, force)
    _found, deployments = read_deployments(client, account_id, script_name)
    return verify_written(deployments, written, expected, script_name)


def post_deployment(client, account_id, script_name, versions, message, force=False):
    """POST the deployment. After an ambiguous failure (the API may have applied it) the newest deployment
    is read instead of posting again: one with this split and message is ours."""
    body = {"strategy": "percentage", "versions": [{"version_id": v, "percentage": p} for v, p in versions],
            "annotations": {MESSAGE_ANNOTATION: message}}
    wanted = {"versions": body["versions"], "annotations": body["annotations"]}

    def find_existing():
        _found, deployments = read_deployments(client, account_id, script_name)
        newest = deployments[0] if deployments else None
        return newest if newest and same_deployment(newest, dict(wanted, id=None)) else None
    return client.create(deployments_path(account_id, script_name), find_existing, json=body,
                         params={"force": "true"} if force else None) or {}


def restore(client, account_id, script_name, other, ours):
    """Put back ``other`` (a deployment our write ``ours`` replaced), with its split and message, so the
    other job's release goes on as if we had not written; returns the deployment made."""
    return deploy_split(client, account_id, script_name, split(other), message_of(other), ours, force=True)


def steps_of(steps):
    """The new version's share at each step from ``steps`` (numbers or ``{new: N, old: M}``); InvalidInputError
    naming every bad step."""
    shares, problems = [], []
    for step in steps or []:
        if isinstance(step, dict):
            try:
                new, old = float(step.get("new", -1)), float(step.get("old", 100 - float(step.get("new", 0))))
            except (TypeError, ValueError):
                new, old = -1.0, 0.0
            if abs(new + old - 100) > 1e-9:
                problems.append("step %s: new + old = %s%%, must total 100%%"
                                % (json.dumps(step, sort_keys=True), pct(new + old)))
            shares.append(new)
            continue
        if isinstance(step, bool) or not isinstance(step, (int, float, str)):
            problems.append("step %s is not a share above 0 and at most 100" % json.dumps(step))
            continue
        try:
            share = float(step)
        except ValueError:
            share = -1.0
        if not 0 < share <= 100:
            problems.append("step %s is not a share above 0 and at most 100" % json.dumps(step))
        shares.append(share)
    if not shares or problems or shares != sorted(set(shares)) or shares[-1] != 100:
        raise InvalidInputError(
            "steps must be ascending shares of the new version (0 < share <= 100, or {new: N, old: M} with "
            "N + M = 100) ending at 100, like [10, 25, 50, 100]; got %s%s"
            % (json.dumps(steps), (": " + "; ".join(problems)) if problems else ""))
    return shares


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
        if before is not None and all(side is None or (_is_text(side) and len(side) <= limit) for side in (old, new)):
            # A module new to (or gone from) the Worker is diffed against nothing: shown whole.
            lines.extend(difflib.unified_diff((old or b"").decode("utf-8").splitlines(),
                                              (new or b"").decode("utf-8").splitlines(),
                                              "a/" + name if old is not None else "/dev/null",
                                              "b/" + name if new is not None else "/dev/null", lineterm=""))
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


def bindings_diff(before, after, ignore=(workers.FINGERPRINT_BINDING,)):
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
