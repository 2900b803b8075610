# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""cfops.cloudflare.worker_release: the release engine, run on the controller (see the module's DOCUMENTATION).

One task does the whole release in-process with the collection's API client, so a step's numbers are
printed while it runs (Ansible's Display) and the no-op costs one task and a few reads.
"""

from __future__ import annotations

import concurrent.futures
import math
import subprocess
import time

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.cfops.cloudflare.plugins.module_utils import _release as rel
from ansible_collections.cfops.cloudflare.plugins.module_utils import _validate
from ansible_collections.cfops.cloudflare.plugins.module_utils import _workers as workers
from ansible_collections.cfops.cloudflare.plugins.module_utils._analytics import AnalyticsUnavailable, query_versions
from ansible_collections.cfops.cloudflare.plugins.module_utils._canary import (
    FAIL,
    INSUFFICIENT,
    PASS,
    WAIT,
    PolicyError,
    judge,
    looks,
    next_action,
    policy,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._client import (
    HAS_HTTPX,
    CloudflareAPIError,
    CloudflareClient,
    parse_multipart,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError, clean_token
from ansible_collections.cfops.cloudflare.plugins.module_utils._kv import NAMESPACES_PER_PAGE, namespaces_path
from ansible_collections.cfops.cloudflare.plugins.module_utils._probe import (
    ProbeInputError,
    failure_summary,
    measure,
    override_header,
    run_probe,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._worker_triggers import script_subdomain_path

display = Display()

PROGRESS_EVERY = 5.0
SETTLE_POLL = 0.25
SETTLE_PROBES = 2
QUIET_POLL = 2.0
STRAY_BUDGET = 3
NO_SAMPLE = {"requests": 0, "errors": 0, "latency_ms": None, "quantile": "p99"}


class ReleaseFailed(Exception):
    """The release failed after it started writing; ``result`` says what happened."""

    def __init__(self, message, result):
        super().__init__(message)
        self.result = result


class StepFailed(Exception):
    """A gate failed; the message has the measured numbers."""


class Overtaken(Exception):
    """Another job's deployment came before, after or between ours: wait for that release, then start again."""


def label(share):
    return "smoke 0%" if share == 0 else "%s%%" % rel.pct(share)


class Release:
    """One release of one Worker. ``out(line)`` prints; ``sleep``/``now`` are injectable for tests."""

    def __init__(self, client, params, out, check_mode=False, diff=False, sleep=time.sleep, now=time.time):
        self.client, self.p, self.out = client, params, out
        self.account, self.name = params["account_id"], params["script"]
        self.check_mode, self.diff = check_mode, diff
        self.sleep, self.now = sleep, now
        self.started = now()
        self.steps_done = []
        self.kv_to_create = []
        self.analysed = 0.0
        self.result = {"changed": False, "outcome": "unchanged", "steps": [], "plan": []}

    # --- input (no API call) -----------------------------------------------------------------------------------

    def check_input(self):
        p = self.p
        workers.validate_script_name(self.name, "script")
        self.modules = workers.check_code_input(p)
        self.steps = rel.steps_of(p["steps"])
        self.probing = p["gate"] in ("probes", "both")
        self.analysing = p["gate"] in ("analysis", "both")
        if p["url"] and not p["url"].startswith(("http://", "https://")):
            raise InvalidInputError("url must be an http(s) URL, got %r" % p["url"])
        if self.probing and not p["url"]:
            raise InvalidInputError("gate %s probes the Worker: url is required" % p["gate"])
        # The smoke test at 0% is a probe of the new version: it needs the URL, whatever judges the steps.
        self.smoke = bool(p["smoke_test"] and p["url"] and p["gate"] != "none")
        if self.probing or self.smoke:
            if p["requests"] < p["min_requests"]:
                raise InvalidInputError("requests (%d) must be at least min_requests (%d): a gate never passes on fewer "
                                        "responses" % (p["requests"], p["min_requests"]))
            try:
                override_header(self.name, "0")
            except ProbeInputError as exc:
                raise InvalidInputError(str(exc) + "; use gate: analysis and smoke_test: false") from None
        try:
            common = dict(alpha=p["alpha"], max_error_rate=p["max_error_rate"], max_error_rate_increase=p["max_error_rate_increase"],
                          latency_margin=p["latency_margin"], latency_slack_ms=p["latency_slack_ms"],
                          on_insufficient=p["on_insufficient"])
            self.probe_policy = policy(min_requests=p["min_requests"], max_latency_ms=p["max_p95_ms"],
                                       min_latency_requests=min(20, p["min_requests"]), **common)
            self.traffic_policy = policy(min_requests=p["analysis_min_requests"],
                                         max_latency_ms=p["analysis_max_p99_ms"] or p["max_p95_ms"], **common)
        except PolicyError as exc:
            raise InvalidInputError(str(exc)) from None
        if p["analysis_max_window"] < p["analysis_window"]:
            raise InvalidInputError("analysis_max_window (%g s) must be at least analysis_window (%g s)"
                                    % (p["analysis_max_window"], p["analysis_window"]))

    # --- pre-flight: one pass of reads -------------------------------------------------------------------------

    def preflight(self):
        """The deployments, the serving versions, the KV namespaces (only if one is bound by title)."""
        self.exists, deployments = rel.read_deployments(self.client, self.account, self.name)
        self.current = deployments[0] if deployments else None
        self.serving = rel.split(self.current)
        self.versions = {vid: rel.read_version(self.client, self.account, self.name, vid) for vid, _share in self.serving}
        self.desired = self.build_desired()
        self.fingerprint = workers.release_fingerprint(self.desired, self.p["version_message"], self.p["tag"],
                                                       self.p["secret_digest_key"] or self.p["api_token"])
        main = self.versions.get(self.serving[0][0]) if self.serving else None
        self.migrations = workers.pending_migrations(self.p["migrations"], rel.migration_tag_of(main) if main else None)
        if self.migrations:
            workers.check_deleted_classes_unbound(self.migrations, self.desired["bindings"], self.name)

    def build_desired(self):
        """What the release uploads (``_workers.desired_code``), KV namespaces bound by title resolved here:
        the release creates a missing one (planned with a placeholder id until then)."""
        desired = workers.desired_code(self.client, self.account, dict(self.p, kv_namespaces=[]), self.modules)
        desired["bindings"] = self.resolve_kv() + desired["bindings"]
        return desired

    def resolve_kv(self):
        specs = self.p["kv_namespaces"]
        if not specs:
            return []
        namespaces = self.client.list_pages(namespaces_path(self.account), per_page=NAMESPACES_PER_PAGE)
        known = {ns["id"] for ns in namespaces}
        missing = sorted(s["namespace_id"] for s in specs if s.get("namespace_id") and s["namespace_id"] not in known)
        if missing:
            raise InvalidInputError("Worker %s binds KV namespace id(s) that do not exist in the account: %s"
                                    % (self.name, ", ".join(missing)))
        titles = {ns["title"] for ns in namespaces}
        self.kv_to_create = sorted({s["title"] for s in specs if s.get("title") and s["title"] not in titles})
        namespaces = namespaces + [{"id": "(new: %s)" % title, "title": title} for title in self.kv_to_create]
        return workers.resolve_kv_bindings(specs, namespaces, self.account)

    def create_kv(self):
        created = {}
        for title in self.kv_to_create:
            path = namespaces_path(self.account)

            def find(title=title):
                return next((ns for ns in self.client.list_pages(path, per_page=NAMESPACES_PER_PAGE) if ns["title"] == title), None)
            created[title] = self.client.create(path, json={"title": title}, find_existing=find)["id"]
            self.out("%s: created KV namespace %s (%s)" % (self.name, title, created[title]))
        for binding in self.desired["bindings"]:
            if binding.get("type") == "kv_namespace" and str(binding.get("namespace_id")).startswith("(new: "):
                binding["namespace_id"] = created[binding["namespace_id"][6:-1]]
        self.kv_to_create = []
        self.fingerprint = workers.release_fingerprint(self.desired, self.p["version_message"], self.p["tag"],
                                                       self.p["secret_digest_key"] or self.p["api_token"])

    def marker(self, version_id):
        return workers.version_fingerprint_of(self.versions.get(version_id) or {})

    # --- what kind of release ----------------------------------------------------------------------------------

    def kind(self):
        if not self.exists or not self.current:
            return "first deploy"
        if self.migrations:
            return "migration"
        if len(self.serving) == 1 and self.marker(self.serving[0][0]) == self.fingerprint:
            return "unchanged"
        if any(self.marker(v) == self.fingerprint for v, _share in self.serving):
            return "resumed rollout"
        return "gradual rollout"

    def resumed_version(self):
        return next(v for v, _share in self.serving if self.marker(v) == self.fingerprint)

    def old_version(self):
        """The version serving the largest share that is not the release's."""
        return next((v for v, _share in self.serving if self.marker(v) != self.fingerprint), None)

    def planned_steps(self, kind):
        if kind in ("first deploy", "migration"):
            return [100.0]
        steps = list(self.steps)
        smoke = [0.0] if self.smoke and self.old_version() else []
        if kind == "resumed rollout":
            share = dict(self.serving)[self.resumed_version()]
            return (smoke + steps) if share == 0 else rel.remaining_steps(steps, share)
        return smoke + steps

    # --- the plan (check mode) ---------------------------------------------------------------------------------

    def plan(self, kind):
        steps = " -> ".join(label(s) for s in self.planned_steps(kind))
        if kind == "first deploy":
            line = "would create Worker %s (%s; bindings %s; secrets %s), serving at once, then gate it at 100%%" % (
                self.name, ", ".join(m["name"] for m in self.modules),
                ", ".join(b["name"] for b in self.desired["bindings"]) or "none",
                ", ".join(sorted(self.desired["secrets"])) or "none")
        elif kind == "migration":
            line = ("would apply Durable Object migrations up to tag %s with a full upload, which serves at once "
                    "(Cloudflare cannot roll out migrations gradually), then gate it at 100%%" % self.migrations["new_tag"])
        else:
            line = "would %s version (fingerprint %s) and roll it out: %s" % (
                "resume the rollout of the" if kind == "resumed rollout" else "upload a", self.fingerprint[:12], steps)
        if self.kv_to_create:
            line = "would create KV namespace(s) %s; %s" % (", ".join(self.kv_to_create), line)
        if self.current and rel.is_foreign_rollout(self.current, self.fingerprint):
            line = "would wait for another release rolling out (%s), then %s" % (
                rel.describe_deployment(self.current), line[len("would "):])
        if self.workers_dev_change():
            line += "; would turn the workers.dev URL %s" % ("on" if self.p["workers_dev"] else "off")
        self.result.update(outcome="planned", plan=[line])
        if self.diff:
            self.result["diff"] = {"prepared": self.plan_diff()}
        self.out("%s: %s (check mode: nothing written)" % (self.name, line))
        return self.result

    def plan_diff(self):
        """``--diff``: modules (unified diff up to a size limit, digests beyond), settings, bindings, secrets by name."""
        main = self.versions.get(self.serving[0][0]) if self.serving else None
        after_modules = {m["name"]: m["content"] for m in self.modules}
        before_modules = self.read_serving_modules() if main else {}
        runtime = ((main or {}).get("resources") or {}).get("script_runtime") or {}
        lines = rel.modules_diff(before_modules, after_modules)
        lines += rel.settings_diff(runtime, {"compatibility_date": self.p["compatibility_date"],
                                             "compatibility_flags": self.p["compatibility_flags"],
                                             "migration_tag": (self.migrations or {}).get("new_tag") or runtime.get("migration_tag")})
        after_bindings = self.desired["bindings"] + [{"type": "secret_text", "name": n} for n in sorted(self.desired["secrets"])]
        lines += rel.bindings_diff(((main or {}).get("resources") or {}).get("bindings"), after_bindings)
        annotations = (main or {}).get("annotations") or {}
        for key, value in ((workers.TAG_ANNOTATION, self.p["tag"]), (workers.MESSAGE_ANNOTATION, self.p["version_message"])):
            if main and (annotations.get(key) or None) != (value or None):
                lines.append("%s: %s -> %s" % (key, annotations.get(key) or "(none)", value or "(none)"))
        if main and self.marker(self.serving[0][0]) != self.fingerprint and not lines:
            lines.append("secrets: a value changed (%s; the release fingerprint covers a keyed digest of the values, "
                         "never the values)" % ", ".join(sorted(self.desired["secrets"])))
        serving = " + ".join("%s %s%%" % (rel.short(v), rel.pct(s)) for v, s in self.serving) or "nothing"
        return "--- %s (serving: %s)\n+++ %s (this release)\n%s\n" % (self.name, serving, self.name, "\n".join(lines))

    def read_serving_modules(self):
        """The serving code (``content/v2``: the script's content, which serves the largest share); None if unreadable."""
        try:
            response = self.client.get_raw(workers.scripts_path(self.account, self.name, "content", "v2"))
        except CloudflareAPIError:
            return None
        content_type = response.headers.get("content-type", "")
        if content_type.startswith("multipart/"):
            return {part.get("filename") or part.get("name"): part["content"]
                    for part in parse_multipart(content_type, response.content)}
        return {response.headers.get("cf-entrypoint") or "(script)": response.content}

    # --- probes and analysis ----------------------------------------------------------------------------------

    def probe(self, version=None, requests=None):
        headers = {"Host": self.p["host_header"]} if self.p["host_header"] else {}
        if version:
            headers.update(override_header(self.name, version))
        return run_probe(self.p["url"], requests or self.p["requests"], concurrency=self.p["concurrency"],
                         timeout=self.p["timeout"], headers=headers, warmup=0, validate_certs=self.p["validate_certs"])

    def observed(self, targets):
        """Whether every target (version, or None for plain routing) answers with the expected marker."""
        seen = {}
        for target, expected in targets:
            samples = self.probe(target, SETTLE_PROBES)
            seen[target] = samples
            if any(s["version"] != expected for s in samples):
                return False, seen
        return True, seen

    def settle(self, share, targets):
        """Wait (at most settle_timeout) until the split is observed serving; returns the seconds waited."""
        started = last_note = self.now()
        while True:
            ok, seen = self.observed(targets)
            waited = self.now() - started
            if ok:
                return waited
            if waited >= self.p["settle_timeout"]:
                raise StepFailed("the deployment was not observed serving within %g s (%s)" % (
                    self.p["settle_timeout"], "; ".join(self.describe_seen(t, samples) for t, samples in seen.items())))
            if self.now() - last_note >= PROGRESS_EVERY:
                self.out("%s %s: waiting for the split to serve (%.0f s of at most %g s)"
                         % (self.name, label(share), waited, self.p["settle_timeout"]))
                last_note = self.now()
            self.sleep(SETTLE_POLL)

    def describe_seen(self, target, samples):
        expected = {str(c) for c in self.p["expect_status"]}
        failures = failure_summary(samples, expected, self.p["url"])
        versions = ", ".join(sorted({rel.short(s["version"]) for s in samples}))
        return "%s answered from %s%s" % ("version " + rel.short(target) if target else "plain routing", versions,
                                          (": " + failures) if failures else "")

    def probe_sample(self, version, expected_marker):
        """``requests`` responses of one version. A response from another version (a change still
        propagating, an override not applied) is not this version's evidence: it is counted as a stray and
        replaced by another request, up to STRAY_BUDGET times the sample."""
        samples = self.probe(version)
        own = [s for s in samples if s["version"] == expected_marker]
        while len(own) < self.p["requests"] and len(samples) < STRAY_BUDGET * self.p["requests"]:
            more = self.probe(version, self.p["requests"] - len(own))
            samples += more
            own += [s for s in more if s["version"] == expected_marker]
        numbers = measure(own, self.p["expect_status"])
        expected = {str(c) for c in self.p["expect_status"]}
        return {"requests": numbers["requests"], "errors": numbers["errors"], "latency_ms": numbers["p95_ms"],
                "quantile": "p95", "strays": len(samples) - len(own),
                "failures": failure_summary(samples if not own else own, expected, self.p["url"])}

    def measure_probes(self, new, old):
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            canary = pool.submit(self.probe_sample, new if old else None, new)
            stable = pool.submit(self.probe_sample, old, old) if old else None
            return canary.result(), (stable.result() if stable else None)

    def analyse(self, share, new, old, since):
        """Traffic analysis from ``since``: Cloudflare's analytics read every ``analysis_interval`` s and judged
        at a few looks (a quarter, half and all of the minimum sample, each at alpha / looks); a pass needs the
        minimum sample and the whole window, a thin window is extended up to the longest, then
        on_insufficient decides. Returns (verdict, canary sample, stable sample)."""
        p, policy = self.p, self.traffic_policy
        window, longest, delay, interval = p["analysis_window"], p["analysis_max_window"], p["analysis_delay"], p["analysis_interval"]
        # The query's bounds have whole seconds: it starts at the next one, so no invocation from before the
        # window (the previous step, the probes) is counted; the window's time runs from ``started``.
        started, since = since, float(math.ceil(since))
        thresholds = looks(policy["min_requests"])
        alpha = policy["alpha"] / len(thresholds)
        done_looks, polls, last_note = 0, 0, self.now()
        while True:
            polls += 1
            target = min(started + delay + polls * interval, started + delay + longest)
            # The window's end is a read too: the earliest a step can pass.
            if self.now() < started + delay + window < target:
                target = started + delay + window
            while self.now() < target:
                self.sleep(min(1.0, max(0.05, target - self.now())))
            until = self.now() - delay
            try:
                per_version = query_versions(self.client, self.account, self.name, since, until)
            except AnalyticsUnavailable as exc:
                return {"decision": p["on_insufficient"], "reasons": ["traffic analysis unavailable: %s" % exc],
                        "unavailable": True}, None, None
            canary = per_version.get(new) or dict(NO_SAMPLE)
            stable = (per_version.get(old) or dict(NO_SAMPLE)) if old else None
            elapsed, n = until - started, canary["requests"]
            final = (n >= policy["min_requests"] and elapsed >= window) or elapsed >= longest
            if final or (done_looks < len(thresholds) and n >= thresholds[done_looks]):
                done_looks = max(done_looks + 1, sum(1 for t in thresholds if n >= t))
                verdict = judge(canary, stable, policy, alpha=alpha, latency=final)
                action = next_action(verdict, elapsed, longest, policy) if final else \
                    (FAIL if verdict["decision"] == FAIL else WAIT)
                if action != WAIT:
                    if verdict["decision"] == INSUFFICIENT:
                        verdict = dict(verdict, decision=action, reasons=verdict["reasons"] + [
                            "window extended to %.0f s; on_insufficient: %s" % (elapsed, action)])
                    return verdict, canary, stable
            if self.now() - last_note >= PROGRESS_EVERY:
                self.out("%s %s: analysing traffic, canary n=%d of %d, %.0f s (window %g s, at most %g s)" % (
                    self.name, label(share), n, policy["min_requests"], elapsed, window, longest))
                last_note = self.now()

    # --- steps -------------------------------------------------------------------------------------------------

    def gate(self, share, new, old):
        """Settle, measure, judge one step; prints its line; raises StepFailed."""
        started = self.now()
        in_split = old if share < 100 else None
        probing = self.probing or share == 0
        # Settle whenever the Worker can be probed (whatever judges the step): the analysis window starts
        # when the split is observed serving.
        if self.p["url"]:
            targets = ([(new, new)] + ([(in_split, in_split)] if in_split else [])) if share < 100 else [(None, new)]
            self.settle(share, targets)
        parts, failures = [], []
        record = {"step": share}
        if probing:
            canary, stable = self.measure_probes(new, in_split)
            verdict = judge(canary, stable, self.probe_policy)
            record["probes"] = {"canary": canary, "stable": stable, "decision": verdict["decision"]}
            parts.append("probes %s" % self.describe_samples(canary, stable, "canary" if 0 < share < 100 else "new"))
            if verdict["decision"] != PASS:
                failures += ["probes: " + r for r in verdict["reasons"]]
                if canary.get("failures"):
                    failures.append("probe failures: %s" % canary["failures"])
        if self.analysing and share > 0 and not failures:
            # The window starts after the probes: their requests are not users' traffic.
            analysis_started = self.now()
            verdict, canary_t, stable_t = self.analyse(share, new, in_split, analysis_started)
            self.analysed += self.now() - analysis_started
            record["traffic"] = {"canary": canary_t, "stable": stable_t, "decision": verdict["decision"]}
            parts.append("traffic " + (self.describe_samples(canary_t, stable_t, "canary") if canary_t else "unavailable"))
            if verdict["decision"] != PASS:
                failures += ["traffic: " + r for r in verdict["reasons"]]
            elif verdict["reasons"]:
                # Passed by on_insufficient: say so.
                parts.append("(%s)" % "; ".join(verdict["reasons"]))
        decision = FAIL if failures else PASS
        elapsed = self.now() - started
        line = "%s %-8s | %s | %s | %.1f s" % (self.name, label(share), " | ".join(parts) or "no gate", decision, elapsed)
        self.out(line)
        record.update(decision=decision, seconds=round(elapsed, 2), reasons=failures, line=line)
        self.result["steps"].append(record)
        if failures:
            raise StepFailed("; ".join(failures))

    @staticmethod
    def describe_samples(canary, stable, name):
        def one(name, sample):
            latency = ""
            if sample.get("latency_ms") is not None:
                latency = " %s %.0f ms" % (sample.get("quantile", "p95"), sample["latency_ms"])
            rate = float(sample["errors"]) / sample["requests"] if sample["requests"] else 0.0
            return "%s n=%d err %s%s" % (name, sample["requests"], rel.rate_pct(rate), latency)
        text = one(name, canary)
        if stable:
            text += ", " + one("stable", stable)
        return text

    # --- the release -------------------------------------------------------------------------------------------

    def run(self):
        self.check_input()
        self.deadline = self.now() + self.p["wait_timeout"]
        while True:
            # A fresh start (also after another job's release): the steps are this attempt's.
            self.steps_done, self.result["steps"] = [], []
            self.preflight()
            if self.current and rel.is_foreign_rollout(self.current, self.fingerprint) and not self.check_mode:
                self.wait_for_quiet()
                continue
            kind = self.kind()
            self.result.update(kind=kind, fingerprint=self.fingerprint, url=self.p["url"])
            if kind == "unchanged":
                return self.unchanged()
            self.result["changed"] = True
            if self.check_mode:
                return self.plan(kind)
            if self.kv_to_create:
                self.create_kv()
            try:
                if kind in ("first deploy", "migration"):
                    return self.full_upload(kind)
                return self.rollout(kind)
            except Overtaken as exc:
                if self.now() >= self.deadline:
                    raise ReleaseFailed("%s. Waited %.0f s (wait_timeout); run again when that release has finished."
                                        % (exc, self.now() - self.started), dict(self.result, outcome="conflict"))
                self.out("%s: %s; waiting for that release, then starting again" % (self.name, exc))
                self.sleep(QUIET_POLL)

    def unchanged(self):
        version = self.serving[0][0]
        self.result["version"] = version
        if self.workers_dev_change():
            self.result["changed"] = True
            if self.check_mode:
                self.result["plan"] = ["would turn the workers.dev URL %s" % ("on" if self.p["workers_dev"] else "off")]
            else:
                self.apply_workers_dev()
        self.finish("version %s already serves 100%% (fingerprint %s), nothing written"
                    % (rel.short(version), self.fingerprint[:12]) if not self.result["changed"] else
                    "version %s already serves 100%%" % rel.short(version))
        return self.result

    def wait_for_quiet(self):
        started = self.now()
        last_note = None
        while self.current and rel.is_foreign_rollout(self.current, self.fingerprint):
            if self.now() >= self.deadline:
                raise rel.ConflictError("Worker %s: another release is rolling out (%s); waited %.0f s (wait_timeout). Run "
                                        "again when it has finished, or raise wait_timeout."
                                        % (self.name, rel.describe_deployment(self.current), self.now() - started))
            if last_note is None or self.now() - last_note >= PROGRESS_EVERY:
                self.out("%s: waiting for another release to finish (%s), %.0f s of at most %.0f s"
                         % (self.name, rel.describe_deployment(self.current), self.now() - started,
                            max(0.0, self.deadline - started)))
                last_note = self.now()
            self.sleep(QUIET_POLL)
            _found, deployments = rel.read_deployments(self.client, self.account, self.name)
            self.current = deployments[0] if deployments else None

    def conflict(self, exc):
        """A step's write met another job's deployment: put back one we replaced, then wait (Overtaken)."""
        if exc.kind == "replaced":
            try:
                rel.restore(self.client, self.account, self.name, exc.other, exc.ours)
            except rel.ConflictError as again:
                raise ReleaseFailed("%s; putting it back failed: %s. Check what serves (playbooks/releases.yml)."
                                    % (exc, again), dict(self.result, outcome="conflict")) from None
            return Overtaken("%s; put it back" % exc)
        return Overtaken(str(exc))

    def full_upload(self, kind):
        """A first deploy or a migration: one script upload, which serves at once, then a gate at 100%."""
        if self.exists:
            rel.expect_current(self.client, self.account, self.name, self.current, "the %s upload" % kind)
        elif rel.read_deployments(self.client, self.account, self.name)[0]:
            raise Overtaken("Worker %s: another job created it since this release looked" % self.name)
        plan = workers.plan_script(None, self.desired, fingerprint=self.fingerprint)
        metadata = workers.upload_metadata(self.desired, plan["upload_bindings"], plan["keep_bindings"],
                                           self.p["version_message"], self.p["tag"], self.migrations)
        self.client.put(workers.scripts_path(self.account, self.name), files=workers.upload_files(metadata, self.modules))
        _found, deployments = rel.read_deployments(self.client, self.account, self.name)
        newest = deployments[0] if deployments else {}
        new = rel.split(newest)[0][0] if newest else None
        uploaded = rel.read_version(self.client, self.account, self.name, new) if new else {}
        if workers.version_fingerprint_of(uploaded) != self.fingerprint:
            raise Overtaken("Worker %s: another job uploaded right after this release (%s)"
                            % (self.name, rel.describe_deployment(newest)))
        previous = self.before_ours(deployments[1:])
        if not rel.same_deployment(previous, self.current):
            raise ReleaseFailed("Worker %s: another job deployed between this release's check and its %s upload (%s), "
                                "which our upload replaced; a full upload cannot be undone safely. Check what serves "
                                "(playbooks/releases.yml) and run again." % (self.name, kind, rel.describe_deployment(previous)),
                                dict(self.result, outcome="conflict"))
        self.result.update(version=new, previous=(self.serving[0][0] if self.serving else None))
        self.apply_workers_dev()
        self.out("%s: %s uploaded version %s, serving 100%% at once" % (self.name, kind, rel.short(new)))
        try:
            if self.probing or self.analysing:
                self.gate(100.0, new, None)
            self.steps_done.append(100.0)
        except StepFailed as exc:
            raise self.failure(kind, new, 100.0, str(exc),
                               "No automatic rollback (%s); version %s serves 100%%: fix the release and deploy again, or "
                               "roll back by hand with playbooks/rollback.yml -e version_id=<id>" % (
                                   "first deploy: no earlier version" if kind == "first deploy"
                                   else "Cloudflare cannot roll back across a Durable Object migration", rel.short(new)))
        self.result["outcome"] = "released"
        self.finish("version %s serves 100%% (%s)" % (rel.short(new), kind))
        return self.result

    def before_ours(self, older):
        """The first of ``older`` deployments that is not this release's (a retried upload makes two)."""
        for deployment in older:
            if rel.same_deployment(deployment, self.current):
                return deployment
            versions = rel.split(deployment)
            if len(versions) != 1 or workers.version_fingerprint_of(
                    rel.read_version(self.client, self.account, self.name, versions[0][0])) != self.fingerprint:
                return deployment
        return None

    def find_or_upload_version(self):
        path = workers.scripts_path(self.account, self.name, "versions")
        listed = (self.client.get(path, params={"deployable": "true"}) or {}).get("items") or []
        for item in workers.newest_first(listed)[:workers.VERSIONS_COMPARED]:
            version = self.versions.get(item["id"]) or rel.read_version(self.client, self.account, self.name, item["id"])
            if workers.version_fingerprint_of(version) == self.fingerprint:
                return version["id"], False
        metadata = workers.version_upload_metadata(self.desired, self.fingerprint, self.p["version_message"],
                                                   self.p["tag"], self.p["commit_sha"])
        uploaded = self.client.create(path, lambda: self.find_version(path), files=workers.upload_files(metadata, self.modules)) or {}
        return uploaded["id"], True

    def find_version(self, path):
        """After an ambiguous upload failure: the newest version, if it is this release's."""
        listed = workers.newest_first((self.client.get(path, params={"deployable": "true"}) or {}).get("items") or [])
        if listed:
            version = rel.read_version(self.client, self.account, self.name, listed[0]["id"])
            if workers.version_fingerprint_of(version) == self.fingerprint:
                return version
        return None

    def rollout(self, kind):
        if kind == "resumed rollout":
            new, uploaded = self.resumed_version(), False
        else:
            new, uploaded = self.find_or_upload_version()
        old = self.old_version()
        steps = self.planned_steps(kind)
        self.result.update(version=new, previous=old)
        self.out("%s: %s of version %s (%s) over %s: %s" % (
            self.name, kind, rel.short(new), "uploaded" if uploaded else "already uploaded",
            rel.short(old) if old else "nothing", " -> ".join(label(s) for s in steps)))
        self.apply_workers_dev()
        last = self.current
        share = None
        try:
            for share in steps:
                message = rel.release_message(self.fingerprint, self.p["tag"], share)
                try:
                    # force: the stable version keeps the secret values it was uploaded with while the new one
                    # rolls out (Cloudflare refuses a split with an older version's secrets without it).
                    last = rel.deploy_split(self.client, self.account, self.name, rel.step_split(new, old, share),
                                            message, last, force=bool(old) and share < 100)
                except rel.ConflictError as exc:
                    raise self.conflict(exc) from None
                if self.probing or self.analysing or share == 0:
                    self.gate(share, new, old)
                self.steps_done.append(share)
        except StepFailed as exc:
            raise self.rollback(kind, new, old, share, str(exc), last) from None
        self.result["outcome"] = "released"
        self.finish("version %s serves 100%% (was %s)" % (rel.short(new), rel.short(old) if old else "nothing"))
        return self.result

    def rollback(self, kind, new, old, share, reason, last):
        if not (self.p["rollback_on_failure"] and old):
            return self.failure(kind, new, share, reason, "No automatic rollback (%s); now serving %s at %s%%" % (
                "disabled by rollback_on_failure" if old else "no earlier version", rel.short(new), rel.pct(share)))
        message = "%s (automatic) of %s: %s" % (rel.ROLLBACK_MESSAGE_PREFIX, new, reason[:200])
        try:
            rel.deploy_split(self.client, self.account, self.name, [(old, 100.0)], message, last,
                             force=self.p["rollback_force"])
        except rel.ConflictError as exc:
            if exc.kind == "replaced":
                try:
                    rel.restore(self.client, self.account, self.name, exc.other, exc.ours)
                    exc = rel.ConflictError("%s; put it back" % exc)
                except rel.ConflictError as again:
                    exc = rel.ConflictError("%s; putting it back failed: %s" % (exc, again))
            elif exc.kind == "overtaken":
                return self.failure(kind, new, share, reason, "Rolled back to %s, then %s" % (old, exc), outcome="rolled back")
            return self.failure(kind, new, share, reason, "Not rolled back, so as not to undo another job's release: %s"
                                % exc, outcome="conflict")
        verified = ""
        if self.p["url"]:
            try:
                self.settle(100.0, [(None, old)])
                samples = self.probe()
                from_old = sum(1 for s in samples if s["version"] == old)
                verified = " (verified: %d of %d responses from it)" % (from_old, len(samples))
            except StepFailed as exc:
                verified = " (not verified: %s)" % exc
        self.result["rolled_back_to"] = old
        return self.failure(kind, new, share, reason, "Rolled back: version %s serves 100%% again%s" % (old, verified),
                            outcome="rolled back")

    def failure(self, kind, new, share, reason, what_now, outcome="failed"):
        message = "Release of Worker %s version %s (%s) failed at %s: %s. %s." % (
            self.name, new, kind, label(share or 0), reason, what_now)
        self.finish("FAILED at %s, %s" % (label(share or 0), outcome))
        return ReleaseFailed(message, dict(self.result, outcome=outcome))

    def workers_dev_change(self):
        """Whether the workers.dev switch must change (one read, only when workers_dev is set)."""
        wanted = self.p["workers_dev"]
        if wanted is None:
            return False
        if not self.exists:
            return bool(wanted)
        if getattr(self, "subdomain", None) is None:
            self.subdomain = self.client.get(script_subdomain_path(self.account, self.name)) or {}
        return bool(self.subdomain.get("enabled")) != wanted

    def apply_workers_dev(self):
        """Turn workers.dev on or off as asked, before the first probe needs it."""
        self.exists = True
        if not self.workers_dev_change():
            return
        self.client.post(script_subdomain_path(self.account, self.name),
                         json={"enabled": self.p["workers_dev"], "previews_enabled": bool(self.subdomain.get("previews_enabled"))},
                         idempotent=True)
        self.subdomain = dict(self.subdomain, enabled=self.p["workers_dev"])
        self.result["changed"] = True
        self.out("%s: workers.dev URL turned %s" % (self.name, "on" if self.p["workers_dev"] else "off"))

    def finish(self, what):
        calls = self.client.calls
        seconds = self.now() - self.started
        steps = "/".join(("smoke 0" if s == 0 else rel.pct(s)) for s in self.steps_done)
        self.result.update(seconds=round(seconds, 2), api_calls=dict(calls))
        analysing = (", %.1f s of it analysing traffic" % self.analysed) if self.analysed else ""
        self.result.update(analysis_seconds=round(self.analysed, 2))
        self.result["summary"] = "%s: %s%s, %.1f s%s, %d reads, %d writes%s" % (
            self.name, what, (", steps %s%%" % steps) if steps else "", seconds, analysing, calls["reads"], calls["writes"],
            (", URL %s" % self.p["url"]) if self.p["url"] else "")
        self.out(self.result["summary"])


def _run_on_controller(argv, data):
    """The release runs on the controller: node's syntax check of the Worker code runs here (bounded)."""
    proc = subprocess.run(argv, input=data, capture_output=True, timeout=30, check=False)
    return proc.returncode, proc.stdout, proc.stderr


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        super().run(tmp, task_vars)
        _validate.set_command_runner(_run_on_controller)
        if not HAS_HTTPX:
            raise AnsibleActionFail("the Python library httpx is required on the controller")
        validation, params = self.validate_argument_spec(argument_spec=rel.argument_spec())
        for deprecation in validation._deprecations:  # an action's validation only collects them (a module's shows them)
            display.deprecated(deprecation["msg"], version=deprecation["version"], collection_name=deprecation["collection_name"])
        for option in ("api_token", "account_id"):
            if not params[option]:
                raise AnsibleActionFail("%s is required: set it (module_defaults) or CLOUDFLARE_%s" % (option, option.upper()))
        try:  # stripped as the modules strip it, so the secret digest keyed by it (by default) is theirs too
            params["api_token"] = clean_token(params["api_token"])
        except InvalidInputError as exc:
            raise AnsibleActionFail(str(exc)) from None
        client = CloudflareClient(params["api_token"], base_url=params["api_base_url"], timeout=params["api_timeout"],
                                  max_retries=params["api_max_retries"], max_retry_time=params["api_max_retry_time"])
        client.writes_allowed = not self._task.check_mode
        release = Release(client, params, display.display, check_mode=self._task.check_mode, diff=self._task.diff)
        try:
            return self.with_stats(release.run(), params["script"])
        except ReleaseFailed as exc:
            return self.failed(exc.result, str(exc), client)
        except (InvalidInputError, rel.ConflictError) as exc:
            return dict(release.result, failed=True, msg=str(exc), api_calls=dict(client.calls))
        except CloudflareAPIError as exc:
            return dict(release.result, failed=True, msg=exc.message, status=exc.status, errors=exc.errors,
                        api_calls=dict(client.calls))
        finally:
            client.close()

    @staticmethod
    def failed(result, message, client):
        """A failed release's result, short: the message says it all, the step lines were printed."""
        keep = ("changed", "outcome", "kind", "version", "previous", "rolled_back_to", "summary")
        short = {key: result[key] for key in keep if result.get(key) is not None}
        short["steps"] = [{"step": s["step"], "decision": s["decision"], "seconds": s["seconds"]} for s in result["steps"]]
        return dict(short, failed=True, msg=message, api_calls=dict(client.calls))

    def with_stats(self, result, name):
        """The release for the play's stats (what set_stats would record: ``releases.<worker>``), no extra task."""
        record = {key: result.get(key) or "" for key in ("outcome", "kind", "version", "previous", "summary")}
        record["steps"] = [{"step": s["step"], "decision": s["decision"], "seconds": s["seconds"]} for s in result["steps"]]
        result["ansible_stats"] = {"data": {"releases": {name: record}},
                                   "per_host": False, "aggregate": True}
        return result
