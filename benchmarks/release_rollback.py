"""Figure for the release pipeline's automatic rollback: time from "gate failed" to "old version serving again".

Deploys examples/books-api to an emulator with its edge (workerd), then releases a version whose /health
answers 500 (FAIL_HEALTH=true) through playbooks/deploy.yml, --runs times. A watcher polls the edge's
/health the whole time and records which version answered. For each run it prints:

- watcher: from the role's "gate failed" timestamp to the first watcher response from which on every
  response came from the old version (what a user of the Worker sees);
- role: from "gate failed" to the end of the role's verification probe (rollback call, settle time and
  verification included: when the play can say "rolled back, verified").

Not a test: it asserts nothing and prints figures.

    .venv/bin/python benchmarks/release_rollback.py [--runs N]
"""
import argparse
import os
import re
import sys
import tempfile
import threading
import time

import httpx

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.e2e.conftest import run_playbook  # noqa: E402
from tests.support.emulator import EmulatorProcess  # noqa: E402

HOST = "books-api-local.cfops-local.workers.dev"
BAD_RELEASE = ["-e", '{"worker_vars": {"ENVIRONMENT": "local", "FAIL_HEALTH": "true"}}', "-e", "worker_release_tag=bad"]
TIMING = re.compile(r"rollback timing: gate_failed_at=(?P<failed>[0-9.]+) verified_at=(?P<verified>[0-9.]+)")


class Watcher(threading.Thread):
    """Polls the edge's /health and records (time, status, version) until stopped."""

    def __init__(self, edge_url, interval=0.02):
        super().__init__(daemon=True)
        self.url, self.interval, self.samples, self.stopping = edge_url + "/health", interval, [], threading.Event()

    def run(self):
        with httpx.Client(timeout=5, trust_env=False) as client:
            while not self.stopping.is_set():
                try:
                    response = client.get(self.url, headers={"Host": HOST})
                    self.samples.append((time.time(), response.status_code, response.headers.get("x-cfops-version-id")))
                except httpx.HTTPError:
                    self.samples.append((time.time(), None, None))
                time.sleep(self.interval)

    def stop(self):
        self.stopping.set()
        self.join(timeout=10)


def serving_again_at(samples, since, version):
    """The time of the first sample after ``since`` from which every sample came from ``version`` with a 200."""
    start = None
    for at, status, seen in samples:
        if at < since:
            continue
        if status == 200 and seen == version:
            start = at if start is None else start
        else:
            start = None
    return start


def serving_version(emulator):
    response = httpx.get(emulator.base_url + "/accounts/%s/workers/scripts/books-api-local/deployments" % emulator.account_id,
                         headers={"Authorization": "Bearer " + emulator.token}, timeout=10)
    return response.json()["result"]["deployments"][0]["versions"][0]["version_id"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="bad releases to time (default 3)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as data_dir, EmulatorProcess(data_dir=data_dir, edge=True, startup_timeout=90) as emulator:
        first = run_playbook(emulator)
        if first.rc != 0:
            raise SystemExit("first deploy failed:\n%s" % first.output[-3000:])
        good = serving_version(emulator)
        for number in range(1, args.runs + 1):
            watcher = Watcher(emulator.edge_url)
            watcher.start()
            started = time.monotonic()
            run = run_playbook(emulator, *BAD_RELEASE)
            wall = time.monotonic() - started
            time.sleep(0.5)
            watcher.stop()
            timing = TIMING.search(run.output)
            if run.rc == 0 or timing is None:
                raise SystemExit("run %d: expected a failed gate and a verified rollback:\n%s" % (number, run.output[-3000:]))
            failed_at, verified_at = float(timing["failed"]), float(timing["verified"])
            seen_at = serving_again_at(watcher.samples, failed_at, good)
            step = re.search(r"failed\s+at\s+(\d+)%", run.output)
            rows.append({"run": number, "step": step.group(1) if step else "?",
                         "watcher": (seen_at - failed_at) if seen_at else None, "role": verified_at - failed_at,
                         "samples": len(watcher.samples), "wall": wall})
    print("%-4s %9s %22s %22s %9s %13s" % ("run", "gate at", "watcher: old again (s)", "role: verified (s)", "samples", "play wall (s)"))
    for row in rows:
        watcher = "%.2f" % row["watcher"] if row["watcher"] is not None else "never"
        print("%-4d %8s%% %22s %22.2f %9d %13.1f" % (row["run"], row["step"], watcher, row["role"], row["samples"], row["wall"]))
    print("watcher: the edge polled every 20 ms; role: includes worker_gate_settle_seconds and the verification probe.")


if __name__ == "__main__":
    main()
