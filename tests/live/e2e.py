"""What the live-capable end-to-end tests share (docs/dev/live-mode.md, "End-to-end tests"): a run-prefixed copy of
inventories/local, a clean slate per test, the Worker's public URL, R2 through the S3 API, and emulator-only checks
that run at once on the emulator and are reported as one named skip in live mode.

    inventory = write_inventory(target, tmp_path / "inventory")   # names: run_names(target)
    only = EmulatorChecks(target)
    only.reset_calls()
    ...live-capable assertions...
    only("the second run wrote nothing (call counts)", lambda emu: emu.calls()["writes"] == 0)
    only.done()                                                   # live: skip, naming every check left out

Live-mode waits are bounded: CFOPS_LIVE_PROPAGATION_SECONDS (how long a deployment change or a new workers.dev
name may take to answer, default 120, at most 600) and CFOPS_LIVE_ANALYTICS_DELAY (how far Cloudflare's GraphQL
analytics lag the traffic, default 180, at most 900). A rehearsal against the emulator (no lag) sets both low.
"""
import dataclasses
import hashlib
import os
import shutil
import urllib.parse

import yaml

from tests.support.target import EmulatorOnly, TargetError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EMULATOR_SUBDOMAIN = "cfops-local"   # the emulator's workers.dev subdomain (inventories/local)
PROPAGATION = ("CFOPS_LIVE_PROPAGATION_SECONDS", 120, 600)
ANALYTICS_DELAY = ("CFOPS_LIVE_ANALYTICS_DELAY", 180, 900)


def bounded_seconds(setting, environ=None):
    """A live-mode wait in seconds from its variable: the default when unset, never above the cap."""
    name, default, cap = setting
    raw = (os.environ if environ is None else environ).get(name, "")
    if not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise TargetError("%s must be a whole number of seconds, got %r" % (name, raw))
    if not 0 <= value <= cap:
        raise TargetError("%s must be from 0 to %d seconds, got %d" % (name, cap, value))
    return value


@dataclasses.dataclass
class RunNames:
    """The names of the example application's objects, each with the run prefix."""
    worker: str
    cache: str
    counter: str
    d1: str
    r2_bucket: str
    upload_bucket: str


def run_names(target):
    return RunNames(worker=target.name("books-api"), cache=target.name("books-api-cache"),
                    counter=target.name("counter-do"), d1=target.name("books"), r2_bucket=target.name("books-assets"),
                    upload_bucket=target.name("books-backups"))


# The Worker's public URL -------------------------------------------------------------------------------------------

def workers_subdomain(target):
    """The account's workers.dev subdomain (``<subdomain>.workers.dev``); the emulator's is fixed. A live account
    without one cannot run the release tests: they skip, saying why (this suite never sets an account's subdomain)."""
    if target.is_emulator:
        return EMULATOR_SUBDOMAIN
    try:
        found = target.api("GET", "/accounts/%s/workers/subdomain" % target.account_id)["result"] or {}
    except TargetError as exc:
        found = {"error": str(exc)}
    if not found.get("subdomain"):
        import pytest
        pytest.skip("account %s has no workers.dev subdomain (%s), and live mode never sets one"
                    % (target.account_id, found.get("error") or "none set"))
    return found["subdomain"]


def worker_endpoint(target, script):
    """``(base URL, Host header)`` where users reach ``script``: the emulator's edge with the workers.dev name; live,
    ``https://<script>.<subdomain>.workers.dev``; a rehearsal (CFOPS_LIVE_EDGE_URL) the emulator's edge again."""
    host = "%s.%s.workers.dev" % (script, workers_subdomain(target))
    if target.is_emulator:
        return target.emulator.edge_url, host
    edge = os.environ.get("CFOPS_LIVE_EDGE_URL", "").rstrip("/")
    return (edge or "https://" + host), host


# The run-prefixed inventory ----------------------------------------------------------------------------------------

def write_inventory(target, directory, release=True):
    """A copy of inventories/local whose objects carry the run prefix, written to ``directory``; its path.

    The copy keeps every setting of inventories/local (its base files resolved, not linked) and adds
    group_vars/all/zz-run.yml: the project root (the repository), and in live mode where the gates probe (the
    workers.dev URL), how long a change may take to be seen serving, and analytics windows that allow for
    Cloudflare's ingestion lag (``release=False``: not those, for the backup tests, which need no workers.dev
    subdomain). inventories/ itself is never changed."""
    directory = str(directory)
    shutil.copytree(os.path.join(REPO, "inventories", "local"), directory)   # symlinks copied as the files they name
    names = run_names(target)
    _update_yaml(os.path.join(directory, "host_vars", "books-api.yml"), {
        "worker_name": names.worker, "worker_kv_namespaces": [{"binding": "CACHE", "title": names.cache}]})
    _update_yaml(os.path.join(directory, "host_vars", "books-data.yml"), {"backup_kv_namespaces": [names.cache]})
    run_vars = {"cfops_project_root": REPO}
    if release and not target.is_emulator:
        run_vars.update(live_release_vars(target))
    with open(os.path.join(directory, "group_vars", "all", "zz-run.yml"), "w", encoding="utf-8") as handle:
        handle.write("---\n# Written by tests/live/e2e.py for run %s (%s mode).\n" % (
            target.run_prefix, "emulator" if target.is_emulator else "live"))
        yaml.safe_dump(run_vars, handle, default_flow_style=False, sort_keys=True)
    return directory


def live_release_vars(target):
    """The release settings of the live-mode inventory.

    Probes go to the Worker's workers.dev URL (``worker_name`` stays a template, so ``-e worker_name=...`` moves
    it). Every gate first waits until the change is observed serving, at most worker_gate_settle_seconds: live that
    bound is the propagation bound, which also covers a workers.dev name the release has just turned on.
    Analytics: Cloudflare aggregates Workers invocations with a delay ("the last few minutes", docs of Workers
    metrics and analytics), so the analysis reads only up to now - worker_analysis_delay (the lag assumed, 180 s by
    default: above the "about a minute" public code reports) and judges a window of 60 s extended up to 300 s,
    reading every 15 s (the GraphQL API allows 300 queries per 5 minutes)."""
    propagation = bounded_seconds(PROPAGATION)
    delay = bounded_seconds(ANALYTICS_DELAY)
    subdomain = workers_subdomain(target)
    edge = os.environ.get("CFOPS_LIVE_EDGE_URL", "").rstrip("/")
    if edge:  # a rehearsal: the emulator's edge, reached with the workers.dev name
        gate = {"worker_gate_url": edge + "/health",
                "worker_gate_host_header": "{{ worker_name }}.%s.workers.dev" % subdomain}
    else:
        gate = {"worker_gate_url": "https://{{ worker_name }}.%s.workers.dev/health" % subdomain,
                "worker_gate_host_header": ""}
    return dict(gate, worker_gate_settle_seconds=max(10, propagation), worker_analysis_delay=delay,
                worker_analysis_window=60, worker_analysis_max_window=300, worker_analysis_interval=15,
                worker_release_wait_timeout=900)


def _update_yaml(path, values):
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    data.update(values)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("---\n# Run-prefixed by tests/live/e2e.py (the original: inventories/local).\n")
        yaml.safe_dump(data, handle, default_flow_style=False, sort_keys=False, allow_unicode=True)


# A clean slate --------------------------------------------------------------------------------------------------

def clean_slate(target):
    """Before (and after) each test: the emulator reset (state, faults, counts); live, every object of the run
    deleted, R2 buckets emptied through the S3 API first (the API cannot delete a bucket holding objects)."""
    if target.is_emulator:
        target.emulator.clear_faults()
        target.emulator.reset_state()
        target.emulator.reset_calls()
        return
    empty_run_buckets(target)
    target.cleanup()


def after_test(target):
    """After each test: the emulator's faults cleared; the run's R2 buckets emptied in both modes (so the cleanup by
    prefix at the end can delete them); live, every object of the run deleted too."""
    if target.is_emulator:
        target.emulator.clear_faults()
        empty_run_buckets(target)
    else:
        clean_slate(target)


def empty_run_buckets(target):
    s3 = s3_client(target)
    for bucket in target.r2_buckets():
        if not target.owns(bucket["name"]):
            continue
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["name"]):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=bucket["name"], Delete={"Objects": keys, "Quiet": True})


# R2 through the S3 API ------------------------------------------------------------------------------------------

def s3_endpoint(target):
    """R2's S3 endpoint of the account: ``https://<account>.r2.cloudflarestorage.com``; next to another API (the
    emulator, a rehearsal) its ``/r2-s3/<account>`` path on the same host."""
    if target.base_url.rstrip("/") == "https://api.cloudflare.com/client/v4":
        return "https://%s.r2.cloudflarestorage.com" % target.account_id
    parts = urllib.parse.urlsplit(target.base_url)
    return "%s://%s/r2-s3/%s" % (parts.scheme, parts.netloc, target.account_id)


def s3_key_pair(target):
    """R2's key pair of the target's token (Cloudflare's rule: the token id and the SHA-256 of its value); the id is
    read from the account token verify path, else the user token one (emulator/fidelity/accounts.yml)."""
    try:
        token_id = target.api("GET", "/accounts/%s/tokens/verify" % target.account_id)["result"]["id"]
    except TargetError:
        token_id = target.api("GET", "/user/tokens/verify")["result"]["id"]
    return token_id, hashlib.sha256(target.token.encode("utf-8")).hexdigest()


def s3_client(target):
    import boto3
    from botocore.config import Config
    key_id, secret = s3_key_pair(target)
    return boto3.client("s3", endpoint_url=s3_endpoint(target), region_name="auto", aws_access_key_id=key_id,
                        aws_secret_access_key=secret, config=Config(s3={"addressing_style": "path"}))


# Emulator-only checks -----------------------------------------------------------------------------------------

class EmulatorChecks:
    """Assertions only the emulator can answer (call counts, its files) inside a live-capable test. On the emulator
    each runs at once, where it stands; live each is noted and ``done()`` reports them as one skip naming them, after
    every live-capable assertion of the test ran."""

    def __init__(self, target):
        self.target = target
        self.left_out = []

    @property
    def emulator(self):
        return self.target.emulator

    def reset_calls(self):
        if self.target.is_emulator:
            self.target.emulator.reset_calls()

    def __call__(self, what, check):
        if not self.target.is_emulator:
            if what not in self.left_out:
                self.left_out.append(what)
            return None
        result = check(self.target.emulator)
        assert result, "%s: %r" % (what, self.target.emulator.calls())
        return result

    def done(self):
        if self.left_out:
            raise EmulatorOnly("; ".join(self.left_out))
