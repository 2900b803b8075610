"""The edge runtime: deployed Worker versions run in workerd (Miniflare) behind a local edge port.

``EdgeRuntime`` starts ``node sidecar.mjs`` (one Miniflare instance), pushes the serving
configuration (``config.serving_config``) at start and again after every ``emulator.hooks`` topic
"deployments" or "triggers" (bursts are debounced into one ``setOptions``). The sidecar reads its
commands from a pipe: when the emulator exits, even by SIGKILL, the pipe closes and the sidecar
disposes workerd and exits, so no node/workerd process outlives the emulator.

Besides HTTP requests the edge runs the Workers' other handlers: queue consumer batches
(``consumers.QueueConsumers``) and cron triggers (``cron.CronScheduler``, plus ``run_scheduled`` for the
admin trigger ``POST /__emulator/edge/scheduled``). Every invocation is recorded for the analytics
area (emulator/api/analytics.py): the sidecar reports fetches in batches, this module the others.
"""
import itertools
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time

from emulator import hooks
from emulator.api import analytics
from emulator.runtime.config import fingerprint, routing_table, script_key, serving_config, worker_name
from emulator.runtime.consumers import QueueConsumers
from emulator.runtime.cron import CronScheduler

HERE = os.path.dirname(os.path.abspath(__file__))
SIDECAR = os.path.join(HERE, "sidecar.mjs")
MINIFLARE = os.path.join(HERE, "node_modules", "miniflare", "package.json")
ANSWER_PREFIX = "cfops-edge "
RECORDS_PREFIX = "cfops-edge-records "
INVOKE_TIMEOUT = 15 * 60  # Cloudflare's wall-time limit for a queue consumer or cron invocation
# Miniflare's handler outcomes -> Cloudflare's invocation statuses (metrics-and-analytics#invocation-statuses).
OUTCOMES = {"ok": "success", "exception": "scriptThrewException", "exceededCpu": "exceededResources",
            "exceededMemory": "exceededResources", "canceled": "clientDisconnected"}
DEBOUNCE_SECONDS = 0.05   # a burst of API writes (upload, then deploy, then route) becomes one reload
VERSION_POLL_SECONDS = 0.5  # uploading a version publishes no hook; it is preloaded when seen here
APPLY_TIMEOUT = 60
TOPICS = ("deployments", "triggers")
FAILED_SERVICE = re.compile(r"core:user:v-([0-9a-f-]{36}): (.*)")


class EdgeError(RuntimeError):
    def __init__(self, message, runtime_errors=()):
        super().__init__(message)
        self.runtime_errors = list(runtime_errors)


def node_binary():
    node = os.environ.get("CFOPS_NODE") or shutil.which("node")
    if not node:
        raise EdgeError("the edge runtime needs Node.js (node 20+): `node` is not on PATH (or set CFOPS_NODE)")
    if not os.path.exists(MINIFLARE):
        raise EdgeError("the edge runtime needs the npm package miniflare in %s: run scripts/bootstrap.sh "
                        "(npm ci --no-audit --no-fund in emulator/runtime)" % os.path.join(HERE, "node_modules"))
    return node


class EdgeRuntime:
    def __init__(self, store, api_port, edge_port=0, data_dir=".", startup_timeout=60, credential=""):
        self.store = store
        # The emulator's per-start key to /__emulator/bindings/* (emulator/bindings.py): the sidecar gets it in
        # its environment (not its command line, which every local user can read) and hands it to the router and
        # the binding shims only, never to a Worker's own code.
        self.credential = credential
        self.api_port = api_port
        self.edge_port = edge_port
        self.persist_dir = os.path.join(data_dir, "edge", "durable-objects")
        self.startup_timeout = startup_timeout
        self.url = None
        self.last_apply_ms = None
        self.last_error = None  # why the latest reload failed (the edge then serves the previous configuration)
        self._process = None
        self._ids = itertools.count(1)
        self._answers = {}
        self._cond = threading.Condition()
        self._wanted = 0        # generation of the state the edge should serve (bumped by hooks)
        self._applied = 0       # generation the edge serves
        self._applied_fingerprint = None
        self._stopping = False
        self._reloader = None
        self._loaded = frozenset()   # version ids the running workerd has
        self._table_key = None
        self._table = {"routes": [], "scripts": {}}
        self._table_lock = threading.Lock()
        self._versions_signature = None
        self._poll_lock = threading.Lock()
        self._broken = {}  # version id -> why workerd could not load it (never retried: a version never changes)
        self._stdin_lock = threading.Lock()
        self._consumers = None
        self._cron = None

    # Lifecycle --------------------------------------------------------------------------------------

    def start(self):
        node = node_binary()
        os.makedirs(self.persist_dir, exist_ok=True)
        command = [node, SIDECAR, "--api-port", str(self.api_port), "--edge-port", str(self.edge_port),
                   "--persist", self.persist_dir]
        self._process = subprocess.Popen(command, cwd=HERE, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None,
                                         env=dict(os.environ, CFOPS_EDGE_CREDENTIAL=self.credential or ""))
        threading.Thread(target=self._read_answers, name="edge-answers", daemon=True).start()
        self._versions_changed()  # the baseline for VERSION_POLL_SECONDS
        try:
            self._apply_or_isolate(0, timeout=self.startup_timeout)
        except EdgeError as exc:
            self.stop()
            raise EdgeError("the edge runtime (node + miniflare/workerd) did not start within %ss: %s"
                            % (self.startup_timeout, exc))
        hooks.subscribe(self._on_topic)
        self._reloader = threading.Thread(target=self._reload_loop, name="edge-reload", daemon=True)
        self._reloader.start()
        from emulator.api import queues  # noqa: PLC0415 - the dead-letter write belongs to the queues area
        self._consumers = QueueConsumers(self.store, self._deliver_batch, queues.enqueue_message).start()
        self._cron = CronScheduler(self.store, self._fire_cron).start()
        return self

    def stop(self, timeout=10):
        for loop in (self._consumers, self._cron):
            if loop is not None:
                loop.stop()
        hooks.unsubscribe(self._on_topic)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        process, self._process = self._process, None
        if process is None:
            return
        try:
            process.stdin.close()  # the sidecar disposes workerd and exits when its stdin closes
        except OSError:
            pass
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=timeout)

    @property
    def pid(self):
        return self._process.pid if self._process else None

    # Reloads ----------------------------------------------------------------------------------------

    def _on_topic(self, topic):
        if topic in TOPICS:
            with self._cond:
                self._wanted += 1
                self._cond.notify_all()

    def _versions_changed(self):
        with self._poll_lock:
            with self.store.read() as db:
                signature = tuple(db.execute("SELECT COUNT(*), MAX(created_on) FROM worker_versions").fetchone())
            changed = self._versions_signature is not None and signature != self._versions_signature
            self._versions_signature = signature
            return changed

    def _reload_loop(self):
        while True:
            with self._cond:
                while not self._stopping and self._applied >= self._wanted:
                    if not self._cond.wait(VERSION_POLL_SECONDS):
                        self._cond.release()
                        try:
                            changed = self._versions_changed()
                        finally:
                            self._cond.acquire()
                        if changed:
                            self._wanted += 1
                if self._stopping:
                    return
            time.sleep(DEBOUNCE_SECONDS)
            with self._cond:
                generation = self._wanted
            try:
                self._apply_or_isolate(generation)
            except Exception as exc:  # noqa: BLE001 - keep serving the last good configuration
                self.last_error = str(exc)
                sys.stderr.write("cfops edge: reload failed, the edge keeps serving the previous deployments: %s\n" % exc)
                with self._cond:
                    self._applied = max(self._applied, generation)
                    self._cond.notify_all()

    def _config(self):
        with self.store.read() as db:
            return serving_config(db, broken=self._broken)

    def _apply_or_isolate(self, generation, timeout=APPLY_TIMEOUT):
        """Apply the state; when workerd cannot load a new version, serve everything else without it."""
        config = self._config()
        new = {worker["name"][len("v-"):] for worker in config["workers"]} - self._loaded
        try:
            self._apply(config, generation=generation, timeout=timeout)
            return
        except EdgeError as exc:
            if not new:
                raise
            failure = exc
        named = {}
        for line in failure.runtime_errors:
            match = FAILED_SERVICE.search(line)
            if match and match.group(1) in new:
                named[match.group(1)] = match.group(2)
        for version_id in named or new:
            self._broken[version_id] = named.get(version_id) or str(failure)
            sys.stderr.write("cfops edge: version %s cannot run, it answers 500: %s\n" % (version_id, self._broken[version_id]))
        self._apply(self._config(), generation=generation, timeout=timeout)

    def _apply(self, config, generation=0, timeout=APPLY_TIMEOUT):
        for problem in config.pop("skipped"):
            sys.stderr.write("cfops edge: %s\n" % problem)
        print_ = fingerprint(config)
        if print_ != self._applied_fingerprint:
            try:
                answer = self._call({"op": "apply", "config": config}, timeout)
            except EdgeError:
                self._applied_fingerprint = None  # workerd is down after a failed setOptions: the next apply must run
                raise
            self.url = answer["url"].rstrip("/")
            self.last_apply_ms = answer["ms"]
            self.last_error = None
            self._applied_fingerprint = print_
            self._loaded = frozenset(worker["name"][len("v-"):] for worker in config["workers"])
        with self._cond:
            self._applied = max(self._applied, generation)
            self._cond.notify_all()

    def sync(self, timeout=10):
        """Wait until the edge serves every change published so far; False on timeout or when that reload failed."""
        deadline = time.monotonic() + timeout
        changed = self._versions_changed()  # a version uploaded just now counts as a change too
        with self._cond:
            if changed:
                self._wanted += 1
                self._cond.notify_all()
            target = self._wanted
            while self._applied < target and not self._stopping:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return self._applied >= target and self.last_error is None

    def table(self):
        """The router's table (see config.routing_table), recomputed only after a change."""
        with self._cond:
            key = (self._wanted, self._loaded, len(self._broken))
        with self._table_lock:
            if key != self._table_key:
                with self.store.read() as db:
                    table = routing_table(db, key[1], dict(self._broken))
                # A script whose new version is still loading keeps serving its previous versions.
                for script in table.pop("pending"):
                    previous = self._table["scripts"].get(script)
                    if previous and all(v["version_id"] in key[1] for v in previous):
                        table["scripts"][script] = previous
                self._table, self._table_key = table, key
            return self._table

    def status(self):
        with self._cond:
            return {"url": self.url, "pid": self.pid, "wanted_generation": self._wanted,
                    "applied_generation": self._applied, "last_apply_ms": self.last_apply_ms, "last_error": self.last_error}

    # Queue batches and cron events ----------------------------------------------------------------------

    def _serving_version(self, account_id, script_name):
        """A version of the script's deployment drawn by its percentages (0 % versions never), or None."""
        versions = [v for v in self.table()["scripts"].get(script_key(account_id, script_name), []) if v["percentage"] > 0]
        if not versions:
            return None
        roll = random.random() * 100
        for version in versions:
            roll -= version["percentage"]
            if roll < 0:
                return version
        return versions[-1]

    def _invoke(self, kind, account_id, script_name, command):
        """Run one queue batch or cron event; ``(version, result)``, or ``(None, None)`` when nothing serves."""
        version = self._serving_version(account_id, script_name)
        if version is None:
            return None, None
        started_ms = int(time.time() * 1000)
        started = time.monotonic()
        if version.get("broken"):
            result = {"outcome": "exception", "ackAll": False, "retryBatch": {"retry": False}, "explicitAcks": [],
                      "retryMessages": [], "noRetry": False}
        else:
            answer = self._call(dict(command, op=kind, worker=worker_name(version["version_id"])), INVOKE_TIMEOUT)
            result = answer["result"]
        analytics.record(self.store, [{
            "account_id": account_id, "script_name": script_name, "version_id": version["version_id"], "ts_ms": started_ms,
            "kind": kind, "http_status": None, "outcome": OUTCOMES.get(result.get("outcome"), "internalError"),
            "wall_us": int((time.monotonic() - started) * 1e6), "response_bytes": 0}])
        return version, result

    def _deliver_batch(self, account_id, script_name, queue_name, messages):
        try:
            _version, result = self._invoke("queue", account_id, script_name, {"queue": queue_name, "messages": messages})
        except EdgeError as exc:
            sys.stderr.write("cfops edge: queue %s -> %s: %s\n" % (queue_name, script_name, exc))
            return None
        return result

    def _fire_cron(self, account_id, script_name, cron, scheduled_time_ms):
        try:
            self.run_scheduled(account_id, script_name, cron, scheduled_time_ms)
        except EdgeError as exc:
            sys.stderr.write("cfops edge: cron %r of %s: %s\n" % (cron, script_name, exc))

    def run_scheduled(self, account_id, script_name, cron, scheduled_time_ms=None):
        """Run the script's ``scheduled()`` now (a cron trigger, or the admin trigger); what happened."""
        if scheduled_time_ms is None:
            scheduled_time_ms = int(time.time() * 1000)
        version, result = self._invoke("scheduled", account_id, script_name,
                                       {"cron": cron, "scheduled_time_ms": scheduled_time_ms})
        if version is None:
            return {"ran": False, "error": "Worker %s has no active deployment at the edge" % script_name}
        return {"ran": True, "version_id": version["version_id"], "outcome": OUTCOMES.get(result.get("outcome"), "internalError"),
                "no_retry": bool(result.get("noRetry"))}

    # The pipe to the sidecar -----------------------------------------------------------------------------

    def _call(self, command, timeout):
        process = self._process
        if process is None or process.poll() is not None:
            raise EdgeError("the edge sidecar is not running (exit code %s)" % (process.returncode if process else None))
        command_id = next(self._ids)
        line = json.dumps(dict(command, id=command_id), separators=(",", ":")) + "\n"
        try:
            with self._stdin_lock:
                process.stdin.write(line.encode("utf-8"))
                process.stdin.flush()
        except OSError as exc:
            raise EdgeError("cannot write to the edge sidecar: %s" % exc)
        deadline = time.monotonic() + timeout
        with self._cond:
            while command_id not in self._answers:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or process.poll() is not None:
                    raise EdgeError("no answer from the edge sidecar (node %s) %s" % (
                        SIDECAR, "after %ss" % timeout if remaining <= 0 else "before it exited with %s" % process.returncode))
                self._cond.wait(min(remaining, 0.2))
            answer = self._answers.pop(command_id)
        if not answer.get("ok"):
            raise EdgeError("miniflare refused the configuration: %s" % answer.get("error"), answer.get("runtime_errors") or ())
        return answer

    def _read_answers(self):
        process = self._process
        for raw in iter(process.stdout.readline, b""):
            text = raw.decode("utf-8", "replace")
            if text.startswith(RECORDS_PREFIX):
                self._on_records(text[len(RECORDS_PREFIX):])
                continue
            if not text.startswith(ANSWER_PREFIX):
                sys.stderr.write(text)
                continue
            try:
                answer = json.loads(text[len(ANSWER_PREFIX):])
            except ValueError:
                sys.stderr.write(text)
                continue
            with self._cond:
                self._answers[answer.get("id")] = answer
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _on_records(self, text):
        """The sidecar's batch of fetch invocations -> analytics rows."""
        try:
            batch = json.loads(text)
        except ValueError:
            return
        rows = []
        for entry in batch:
            account_id, _sep, script_name = str(entry.get("script", "")).partition("/")
            rows.append({"account_id": account_id, "script_name": script_name, "version_id": entry.get("version", ""),
                         "ts_ms": entry.get("ts") or 0, "kind": "fetch", "http_status": entry.get("status"),
                         "outcome": entry.get("outcome") or "success", "wall_us": entry.get("wall_us") or 0,
                         "response_bytes": entry.get("bytes") or 0})
        analytics.record(self.store, rows)
