"""Figures for playbooks/deploy.yml against the emulator: a first deploy and no-op re-runs.

The release pipeline's no-op contract: when the release's version already serves 100%, a deploy makes
zero write calls (reads only: the token check, worker_info, worker_version's comparison). Prints API
calls (reads/writes), wall time and the peak memory of the ansible-playbook process tree, and whether
the zero-write goal is met. The emulator runs its edge, since the first deploy gates the Worker on its
real responses. Not a test: it asserts nothing and prints figures.

    .venv/bin/python benchmarks/deploy_noop.py [--runs N]
"""
import argparse
import os
import resource
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.e2e.conftest import run_playbook  # noqa: E402
from tests.support.emulator import EmulatorProcess  # noqa: E402


def measure(emulator, label):
    emulator.reset_calls()
    started = time.monotonic()
    run = run_playbook(emulator)
    elapsed = time.monotonic() - started
    if run.rc != 0:
        raise SystemExit("%s failed:\n%s" % (label, run.output[-3000:]))
    calls = emulator.calls()
    return {"label": label, "reads": calls["reads"], "writes": calls["writes"], "changed": run.changed, "seconds": elapsed}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="no-op runs to time (default 3)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as data_dir, EmulatorProcess(data_dir=data_dir, edge=True, startup_timeout=90) as emulator:
        rows.append(measure(emulator, "first deploy"))
        for number in range(1, args.runs + 1):
            rows.append(measure(emulator, "no-op deploy #%d" % number))
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    print("%-18s %6s %6s %8s %9s" % ("run", "reads", "writes", "changed", "wall (s)"))
    for row in rows:
        print("%-18s %6d %6d %8d %9.2f" % (row["label"], row["reads"], row["writes"], row["changed"], row["seconds"]))
    noop = [row for row in rows if row["label"].startswith("no-op")]
    print("no-op goal (0 writes): %s" % ("met" if all(row["writes"] == 0 for row in noop) else "NOT met"))
    print("peak memory of one child process (ansible-playbook, modules, emulator): %.1f MiB" % peak_mib)


if __name__ == "__main__":
    main()
