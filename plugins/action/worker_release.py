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
import time

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.cfops.cloudflare.plugins.module_utils import _release as rel
from ansible_collections.cfops.cloudflare.plugins.module_utils import _workers as workers
from ansible_collections.cfops.cloudflare.plugins.module_utils._analytics import AnalyticsUnavailable, query_versions
from ansible_collections.cfops.cloudflare.plugins.module_utils._canary import (
    FAIL,
    INSUFFICIENT,
    PASS,
    WAIT,
    PolicyError,
    judge,
    next_action,
    policy,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._client import (
    HAS_HTTPX,
    CloudflareAPIError,
    CloudflareClient,
    parse_multipart,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
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
SETTLE_POLL = 0.5
SETTLE_PROBES = 2
QUIET_POLL = 2.0


class ReleaseFailed(Exception):
    """The release failed after it started writing; ``result`` says what happened."""

    def __init__(self, message, result):
        super().__init__(message)
        self.result = result


class Release:
    """One release of one Worker. ``out(line)`` prints; ``sleep``/``now`` are injectable for tests."""

    def __init__(self, client, params, out, check_mode=False, diff=False, sleep=time.sleep, now=time.time):
        self.client, self.p, self.out = client, params, out
        self.account, self.name = params["account_id"], params["script_name"]
        self.check_mode, self.diff = check_mode, diff
        self.sleep, self.now = sleep, now
        self.started = now()
        self.steps_done = []
        self.result = {"changed": False, "outcome": "unchanged", "steps": [], "plan": []}

    # --- input ---------------------------------------------------------------------------------------------

    def check_input(self):
        p = self.p
        workers.validate_script_name(self.name, "script_name")
        self.modules = workers.check_code_input(p)
        steps = p["steps"]
        if not steps or steps != sorted(set(steps)) or steps[-1] != 100 or steps[0] <= 0:
            raise InvalidInputError("steps must be ascending shares of the new version above 0, ending at 100, like "
                                    "[10, 25, 50, 100]; got %s" % ", ".join(rel.pct(s) for s in steps))
        self.probing = p["gate"] in ("probes", "both")
        self.analysing = p["gate"] in ("analysis", "both")
        if self.probing:
            if not p["url"] or not p["url"].startswith(("http://", "https://")):
                raise InvalidInputError("gate %s probes the Worker: url must be an http(s) URL, got %r" % (p["gate"], p["url"]))
            if p["requests"] < p["min_requests"]:
                raise InvalidInputError("requests (%d) must be at least min_requests (%d): a gate never passes on fewer "
                                        "responses" % (p["requests"], p["min_requests"]))
            try:
                override_header(self.name, "0")
            except ProbeInputError as exc:
                raise InvalidInputError(str(exc) + "; use gate: analysis") from None
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

    # --- pre-flight ------------------------------------------------------------------------------------------

    def preflight(self):
        """One pass of reads: deployments, the serving versions, KV namespaces (if bound by title), workers.dev."""
        self.exists, deployments = rel.read_deployments(self.client, self.account, self.name)
        self.current = deployments[0] if deployments else None
        self.serving = rel.split(self.current)
        self.versions = {vid: rel.read_version(self.client, self.account, self.name, vid) for vid, _share in self.serving}
        self.desired = self.build_desired()
        self.fingerprint = self.compute_fingerprint()
        main = self.versions.get(self.serving[0][0]) if self.serving else None
        current_tag = rel.migration_tag_of(main) if main else None
        self.migrations = workers.pending_migrations(self.p["migrations"], current_tag) if self.exists else \
            workers.pending_migrations(self.p["migrations"], None)
        if self.migrations:
            workers.check_deleted_classes_unbound(self.migrations, self.desired["bindings"], self.name)

    def build_desired(self):
        """What the release uploads (integration point of Contract 2's builders in _workers)."""
        p = self.p
        kv_bindings = self.resolve_kv()
        bindings, secrets = workers.desired_bindings(kv_bindings, p["text_vars"], p["json_vars"], p["secrets"])
        bindings += workers.resource_bindings(p)
        if p.get("version_metadata") and not any(b.get("type") == "version_metadata" for b in bindings):
            bindings.append({"type": "version_metadata", "name": p["version_metadata"]})
        return {"main_module": self.modules[0]["name"], "modules": self.modules,
                "compatibility_date": p["compatibility_date"], "compatibility_flags": p["compatibility_flags"],
                "bindings": bindings, "secrets": secrets}

    def resolve_kv(self):
        specs = self.p["kv_namespaces"]
        if not specs:
            return []
        namespaces = self.client.list_pages(namespaces_path(self.account), per_page=NAMESPACES_PER_PAGE)
        titles = {ns["title"] for ns in namespaces}
        self.kv_to_create = sorted({s["title"] for s in specs if s.get("title") and s["title"] not in titles})
        # Until created (and in check mode) a new namespace is planned with a placeholder id.
        namespaces = namespaces + [{"id": "(new: %s)" % title, "title": title} for title in self.kv_to_create]
        return workers.resolve_kv_bindings(specs, namespaces, self.account)

    def create_kv(self):
        created = {}
        for title in getattr(self, "kv_to_create", []):
            path = namespaces_path(self.account)

            def find(title=title):
                for ns in self.client.list_pages(path, per_page=NAMESPACES_PER_PAGE):
                    if ns["title"] == title:
                        return ns
                return None
            created[title] = self.client.create(path, json={"title": title}, find_existing=find)["id"]
            self.out("%s: created KV namespace %s (%s)" % (self.name, title, created[title]))
        for binding in self.desired["bindings"]:
            if binding.get("type") == "kv_namespace" and str(binding.get("namespace_id")).startswith("(new: "):
                binding["namespace_id"] = created[binding["namespace_id"][6:-1]]
        self.kv_to_create = []
        self.fingerprint = self.compute_fingerprint()

    def metadata(self, with_secret_values):
        d = self.desired
        secrets = sorted(d["secrets"].items())
        bindings = list(d["bindings"]) + [
            {"type": "secret_text", "name": name, "text": value} if with_secret_values else {"type": "secret_text", "name": name}
            for name, value in secrets]
        annotations = {key: value for key, value in ((rel.MESSAGE_ANNOTATION, self.p["version_message"]),
                                                     (workers.TAG_ANNOTATION, self.p["tag"])) if value}
        return {"main_module": d["main_module"], "compatibility_date": d["compatibility_date"],
                "compatibility_flags": list(d["compatibility_flags"] or []), "bindings": bindings,
                "annotations": annotations}

    def compute_fingerprint(self):
        """Integration point (Contract 2): ``_workers.release_fingerprint`` covers the keyed digest of the
        secret values; until it exists the 1.1 fingerprint (secrets by name) stands in."""
        metadata = self.metadata(with_secret_values=False)
        release_fingerprint = getattr(workers, "release_fingerprint", None)
        if release_fingerprint is not None:
            return release_fingerprint(metadata, self.modules, self.desired["secrets"],
                                       self.p["secret_digest_key"] or self.p["api_token"])
        return workers.version_fingerprint(metadata, self.modules)

    def upload_metadata(self):
        metadata = self.metadata(with_secret_values=True)
        metadata["bindings"].append({"type": "plain_text", "name": rel.FINGERPRINT_BINDING, "text": self.fingerprint})
        return metadata

    # --- the plan --------------------------------------------------------------------------------------------

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
        lines += rel.bindings_diff(((main or {}).get("resources") or {}).get("bindings"), self.metadata(False)["bindings"])
        annotations = (main or {}).get("annotations") or {}
        for key, value in (("workers/tag", self.p["tag"]), (rel.MESSAGE_ANNOTATION, self.p["version_message"])):
            if key in annotations and (annotations.get(key) or None) != (value or None):
                lines.append("%s: %s -> %s" % (key, annotations.get(key) or "(none)", value or "(none)"))
        if main and rel.marker_of(main) != self.fingerprint and not lines:
            lines.append("secrets: a value changed (the release fingerprint covers a keyed digest of the values, never "
                         "the values), or the message/tag")
        header = "--- %s (serving: %s)\n+++ %s (this release)\n" % (
            self.name, " + ".join("%s %s%%" % (rel.short(v), rel.pct(s)) for v, s in self.serving) or "nothing", self.name)
        return header + "\n".join(lines) + "\n"

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
            seen[target] = sorted({s["version"] for s in samples})
            if any(s["version"] != expected for s in samples):
                return False, seen
        return True, seen

    def settle(self, share, targets):
        """Wait (at most settle_timeout) until the split is observed serving; returns the seconds waited."""
        started = self.now()
        last_note = started
        while True:
            ok, seen = self.observed(targets)
            waited = self.now() - started
            if ok:
                return waited
            if waited >= self.p["settle_timeout"]:
                raise StepFailed("the deployment was not observed serving within %g s (responses came from %s)"
                                 % (self.p["settle_timeout"], "; ".join("%s: %s" % (rel.short(t) if t else "routing",
                                                                                    ", ".join(map(rel.short, v)))
                                                                        for t, v in seen.items())))
            if self.now() - last_note >= PROGRESS_EVERY:
                self.out("%s %s%%: waiting for the split to serve (%.0f s of at most %g s)"
                         % (self.name, rel.pct(share), waited, self.p["settle_timeout"]))
                last_note = self.now()
            self.sleep(SETTLE_POLL)

    def probe_sample(self, version, expected_marker):
        samples = self.probe(version)
        # A response from another version (override not applied) is not this version's evidence.
        own = [s for s in samples if s["version"] == expected_marker]
        numbers = measure(own, self.p["expect_status"])
        expected = {str(c) for c in self.p["expect_status"]}
        return {"requests": numbers["requests"], "errors": numbers["errors"], "latency_ms": numbers["p95_ms"],
                "quantile": "p95", "strays": len(samples) - len(own),
                "failures": failure_summary(own, expected, self.p["url"])}

    def measure_probes(self, new, old):
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            canary = pool.submit(self.probe_sample, new if old else None, new)
            stable = pool.submit(self.probe_sample, old, old) if old else None
            return canary.result(), (stable.result() if stable else None)

    def analyse(self, share, new, old, since):
        """Traffic analysis of the window from ``since``: extended while too thin, then decided (verdict, samples)."""
        window, longest, delay = self.p["analysis_window"], self.p["analysis_max_window"], self.p["analysis_delay"]
        last_note = self.now()
        target = since + window + delay
        while True:
            while self.now() < target:
                if self.now() - last_note >= PROGRESS_EVERY:
                    elapsed = max(0, self.now() - delay - since)
                    self.out("%s %s%%: analysis window %.0f s of %g s"
                             % (self.name, rel.pct(share), elapsed, target - delay - since))
                    last_note = self.now()
                self.sleep(min(1.0, max(0.05, target - self.now())))
            until = self.now() - delay
            try:
                per_version = query_versions(self.client, self.account, self.name, since, until)
            except AnalyticsUnavailable as exc:
                return {"decision": self.p["on_insufficient"], "reasons": ["traffic analysis unavailable: %s" % exc],
                        "unavailable": True}, None, None
            canary = per_version.get(new) or {"requests": 0, "errors": 0, "latency_ms": None, "quantile": "p99"}
            stable = (per_version.get(old) or {"requests": 0, "errors": 0, "latency_ms": None, "quantile": "p99"}) if old else None
            verdict = judge(canary, stable, self.traffic_policy)
            action = next_action(verdict, until - since, longest, self.traffic_policy)
            if action != WAIT:
                if verdict["decision"] == INSUFFICIENT:
                    verdict = dict(verdict, decision=action, reasons=verdict["reasons"] + [
                        "window extended to %.0f s; on_insufficient: %s" % (until - since, action)])
                return verdict, canary, stable
            self.out("%s %s%%: %s; extending the window" % (self.name, rel.pct(share), verdict["reasons"][0]))
            target = min(since + longest + delay, self.now() + max(5.0, window / 2.0))

    # --- steps -------------------------------------------------------------------------------------------------

    def gate(self, share, new, old):
        """Settle, measure, judge one step; prints its line; raises StepFailed."""
        started = self.now()
        in_split = old if share < 100 else None
        if self.probing:
            targets = [(new, new)] + ([(in_split, in_split)] if in_split else []) if share < 100 else [(None, new)]
            self.settle(share, targets)
        since = self.now()
        parts, failures, verdicts = [], [], []
        if self.probing:
            canary, stable = self.measure_probes(new, in_split)
            verdict = judge(canary, stable, self.probe_policy)
            verdicts.append(verdict)
            parts.append("probes %s" % self.describe_samples(canary, stable, "smoke" if share == 0 else "canary"))
            if verdict["decision"] != PASS:
                failures += ["probes: " + r for r in verdict["reasons"]]
                if canary.get("failures"):
                    failures.append("probe failures: %s" % canary["failures"])
        traffic = None
        if self.analysing and share > 0 and not failures:
            verdict, canary_t, stable_t = self.analyse(share, new, in_split, since)
            verdicts.append(verdict)
            traffic = {"decision": verdict["decision"], "reasons": verdict["reasons"], "canary": canary_t, "stable": stable_t}
            parts.append("traffic " + (self.describe_samples(canary_t, stable_t, "canary") if canary_t else "unavailable"))
            if verdict["decision"] != PASS:
                failures += ["traffic: " + r for r in verdict["reasons"]]
            elif verdict.get("unavailable"):
                parts.append("(%s)" % verdict["reasons"][0])
        decision = FAIL if failures else PASS
        elapsed = self.now() - started
        label = "smoke 0%" if share == 0 else "%s%%" % rel.pct(share)
        self.out("%s %-8s | %s | %s | %.1f s" % (self.name, label, " | ".join(parts) or "no gate", decision, elapsed))
        record = {"step": share, "decision": decision, "seconds": round(elapsed, 2), "reasons": failures}
        if traffic:
            record["traffic"] = traffic
        self.result["steps"].append(record)
        if failures:
            raise StepFailed("; ".join(failures))

    @staticmethod
    def describe_samples(canary, stable, label):
        def one(name, sample):
            latency = ""
            if sample.get("latency_ms") is not None:
                latency = " %s %.0f ms" % (sample.get("quantile", "p95"), sample["latency_ms"])
            rate = (100.0 * sample["errors"] / sample["requests"]) if sample["requests"] else 0.0
            return "%s n=%d err %.1f%%%s" % (name, sample["requests"], rate, latency)
        text = one(label, canary)
        if stable:
            text += ", " + one("stable", stable)
        return text

    # --- the release ---------------------------------------------------------------------------------------------

    def run(self):
        self.check_input()
        self.preflight()
        if self.exists and self.current and rel.is_foreign_rollout(self.current, self.fingerprint):
            self.wait_for_quiet()
            self.preflight()
        kind = self.kind()
        self.result.update(kind=kind, fingerprint=self.fingerprint, url=self.p["url"])
        if kind == "unchanged":
            version = self.serving[0][0]
            self.result["version"] = version
            self.apply_workers_dev()
            self.finish("version %s already serves 100%% (fingerprint %s), nothing written"
                        % (rel.short(version), self.fingerprint[:12]))
            return self.result
        self.result["changed"] = True
        if self.check_mode:
            return self.plan(kind)
        if getattr(self, "kv_to_create", None):
            self.create_kv()
        if kind in ("first deploy", "migration"):
            return self.full_upload(kind)
        return self.rollout(kind)

    def kind(self):
        if not self.exists:
            return "first deploy"
        if self.migrations:
            return "migration"
        if len(self.serving) == 1 and rel.marker_of(self.versions[self.serving[0][0]]) == self.fingerprint:
            return "unchanged"
        if any(rel.marker_of(self.versions[v]) == self.fingerprint for v, _share in self.serving):
            return "resumed rollout"
        return "gradual rollout"

    def wait_for_quiet(self):
        started, last_note = self.now(), self.now()
        while self.current and rel.is_foreign_rollout(self.current, self.fingerprint):
            waited = self.now() - started
            if waited >= self.p["wait_timeout"]:
                raise rel.ConflictError("Worker %s: another release is rolling out (%s); waited %.0f s (wait_timeout). Run "
                                        "again when it has finished, or raise wait_timeout."
                                        % (self.name, rel.describe_deployment(self.current), waited))
            if self.now() - last_note >= PROGRESS_EVERY or waited == 0:
                self.out("%s: waiting for another release to finish (%s), %.0f s of at most %g s"
                         % (self.name, rel.describe_deployment(self.current), waited, self.p["wait_timeout"]))
                last_note = self.now()
            self.sleep(QUIET_POLL)
            _found, deployments = rel.read_deployments(self.client, self.account, self.name)
            self.current = deployments[0] if deployments else None

    def plan(self, kind):
        steps = self.planned_steps(kind)
        lines = {"first deploy": "would create Worker %s (%d module(s), %d binding(s), secrets %s), serving at once, then "
                                 "gate it at 100%%" % (self.name, len(self.modules), len(self.desired["bindings"]),
                                                       ", ".join(sorted(self.desired["secrets"])) or "none"),
                 "migration": "would apply Durable Object migrations to %s with a full upload, which serves at once "
                              "(Cloudflare cannot roll out migrations gradually), then gate it at 100%%"
                              % (self.migrations or {}).get("new_tag"),
                 }.get(kind, "would upload a version (fingerprint %s) and roll it out: %s"
                       % (self.fingerprint[:12], " -> ".join(("smoke 0%" if s == 0 else rel.pct(s) + "%") for s in steps)))
        if getattr(self, "kv_to_create", None):
            lines = "would create KV namespace(s) %s; %s" % (", ".join(self.kv_to_create), lines)
        self.result.update(outcome="planned", plan=[lines])
        if self.diff:
            self.result["diff"] = {"prepared": self.plan_diff()}
        self.out("%s: %s (check mode: nothing written)" % (self.name, lines))
        return self.result

    def planned_steps(self, kind):
        if kind in ("first deploy", "migration"):
            return [100.0]
        old = self.old_version()
        steps = list(self.p["steps"])
        if kind == "resumed rollout":
            steps = rel.remaining_steps(steps, dict(self.serving)[self.resumed_version()])
        if old and self.probing and self.p["smoke_test"] and kind != "resumed rollout":
            steps = [0.0] + steps
        return steps

    def resumed_version(self):
        return next(v for v, _share in self.serving if rel.marker_of(self.versions[v]) == self.fingerprint)

    def old_version(self):
        """The version serving the largest share that is not the release's."""
        return next((v for v, _share in self.serving if rel.marker_of(self.versions[v]) != self.fingerprint), None)

    def full_upload(self, kind):
        metadata = workers.upload_metadata(self.desired, self.upload_metadata()["bindings"], keep_secrets=True)
        metadata["annotations"] = self.metadata(False)["annotations"]
        if self.migrations:
            metadata["migrations"] = self.migrations
        previous_id = (self.current or {}).get("id")
        if self.exists:
            rel.expect_current(self.client, self.account, self.name, previous_id, "the migration upload")
        self.client.put(workers.scripts_path(self.account, self.name), files=workers.upload_files(metadata, self.modules))
        _found, deployments = rel.read_deployments(self.client, self.account, self.name)
        current = deployments[0]
        new = rel.split(current)[0][0]
        self.result.update(version=new, previous=(rel.split(self.current)[0][0] if self.current else None))
        self.apply_workers_dev()
        self.out("%s: %s uploaded version %s, serving 100%% at once" % (self.name, kind, rel.short(new)))
        try:
            if self.probing or self.analysing:
                self.gate(100.0, new, None)
        except StepFailed as exc:
            raise self.failure(kind, new, 100.0, str(exc),
                               "no automatic rollback (%s); version %s serves 100%%: fix the release and deploy again, or roll back "
                               "by hand with playbooks/rollback.yml -e version_id=<id>" % (
                                   "first deploy: no earlier version" if kind == "first deploy"
                                   else "Cloudflare cannot roll back across a Durable Object migration", rel.short(new)))
        self.result["outcome"] = "released"
        self.finish("version %s serves 100%% (%s)" % (rel.short(new), kind))
        return self.result

    def find_or_upload_version(self):
        path = workers.scripts_path(self.account, self.name, "versions")
        listed = (self.client.get(path, params={"per_page": workers.VERSIONS_COMPARED}) or {}).get("items") or []
        for item in listed[:workers.VERSIONS_COMPARED]:
            version = rel.read_version(self.client, self.account, self.name, item["id"])
            if rel.marker_of(version) == self.fingerprint:
                return version["id"], False
        metadata = self.upload_metadata()
        metadata["keep_bindings"] = list(workers.VERSION_KEEP_BINDINGS)
        uploaded = self.client.post(path, files=workers.upload_files(metadata, self.modules)) or {}
        return uploaded["id"], True

    def rollout(self, kind):
        if kind == "resumed rollout":
            new, uploaded = self.resumed_version(), False
        else:
            new, uploaded = self.find_or_upload_version()
        old = self.old_version()
        self.result.update(version=new, previous=old)
        self.out("%s: %s of version %s (%s) over %s, steps %s" % (
            self.name, kind, rel.short(new), "uploaded" if uploaded else "already uploaded",
            rel.short(old) if old else "nothing",
            "/".join(("smoke 0" if s == 0 else rel.pct(s)) for s in self.planned_steps(kind)) + "%"))
        self.apply_workers_dev()
        last_id = (self.current or {}).get("id")
        share = None
        try:
            for share in self.planned_steps(kind):
                message = rel.release_message(self.fingerprint, self.p["tag"], share)
                written = rel.deploy_split(self.client, self.account, self.name, rel.step_split(new, old, share),
                                           message, last_id)
                last_id = written["id"]
                if self.probing or self.analysing:
                    self.gate(share, new, old)
                self.steps_done.append(share)
        except StepFailed as exc:
            raise self.rollback(kind, new, old, share, str(exc), last_id)
        except rel.ConflictError as exc:
            raise ReleaseFailed(str(exc), dict(self.result, outcome="conflict", failed=True))
        self.result["outcome"] = "released"
        self.finish("version %s serves 100%% (was %s)" % (rel.short(new), rel.short(old) if old else "nothing"))
        return self.result

    def rollback(self, kind, new, old, share, reason, last_id):
        if not (self.p["rollback_on_failure"] and old):
            return self.failure(kind, new, share, reason, "no automatic rollback (%s); now serving %s at %s%%" % (
                "disabled by rollback_on_failure" if old else "no earlier version", rel.short(new), rel.pct(share)))
        message = "rollback (automatic) of %s: %s" % (new, reason[:200])
        try:
            rel.deploy_split(self.client, self.account, self.name, [(old, 100.0)], message, last_id,
                             force=self.p["rollback_force"])
        except rel.ConflictError as exc:
            return self.failure(kind, new, share, reason, "not rolled back: %s" % exc)
        verified = ""
        if self.probing:
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
            self.name, new, kind, "smoke 0%" if share == 0 else "%s%%" % rel.pct(share or 0), reason, what_now)
        self.finish("FAILED at %s" % ("smoke 0%" if share == 0 else "%s%%" % rel.pct(share or 0)))
        return ReleaseFailed(message, dict(self.result, outcome=outcome, failed=True))

    def apply_workers_dev(self):
        wanted = self.p["workers_dev"]
        if wanted is None:
            return
        path = script_subdomain_path(self.account, self.name)
        before = self.client.get(path) or {}
        if bool(before.get("enabled")) != wanted:
            self.result["changed"] = True
            if not self.check_mode:
                self.client.post(path, json={"enabled": wanted, "previews_enabled": bool(before.get("previews_enabled"))},
                                 idempotent=True)
                self.out("%s: workers.dev URL turned %s" % (self.name, "on" if wanted else "off"))

    def finish(self, what):
        calls = self.client.calls
        seconds = self.now() - self.started
        steps = "/".join(("smoke 0" if s == 0 else rel.pct(s)) for s in self.steps_done)
        self.result.update(seconds=round(seconds, 2), api_calls=dict(calls))
        self.result["summary"] = "%s: %s%s%s, %.1f s, %d reads, %d writes" % (
            self.name, what, (", steps %s%%" % steps) if steps else "", (" at %s" % self.p["url"]) if self.p["url"] else "",
            seconds, calls["reads"], calls["writes"])
        self.out(self.result["summary"])


class StepFailed(Exception):
    """A gate failed; the message has the measured numbers."""


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        super().run(tmp, task_vars)
        if not HAS_HTTPX:
            raise AnsibleActionFail("the Python library httpx is required on the controller")
        _validation, params = self.validate_argument_spec(argument_spec=rel.argument_spec())
        for option in ("api_token", "account_id"):
            if not params[option]:
                raise AnsibleActionFail("%s is required: set it (module_defaults) or CLOUDFLARE_%s" % (option, option.upper()))
        client = CloudflareClient(params["api_token"], base_url=params["api_base_url"], timeout=params["api_timeout"],
                                  max_retries=params["api_max_retries"], max_retry_time=params["api_max_retry_time"])
        client.writes_allowed = not self._task.check_mode
        release = Release(client, params, display.display, check_mode=self._task.check_mode,
                          diff=self._task.diff)
        try:
            return release.run()
        except ReleaseFailed as exc:
            return dict(exc.result, failed=True, msg=str(exc), api_calls=dict(client.calls))
        except (InvalidInputError, rel.ConflictError) as exc:
            return dict(release.result, failed=True, msg=str(exc), api_calls=dict(client.calls))
        except CloudflareAPIError as exc:
            return dict(release.result, failed=True, msg=exc.message, status=exc.status, errors=exc.errors,
                        api_calls=dict(client.calls))
        finally:
            client.close()
