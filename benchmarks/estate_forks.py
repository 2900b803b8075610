"""Figures for an estate deployed with many forks under Cloudflare's per-user rate limit: 20 Workers, 20 forks.

The emulator enforces the limit (CFOPS_EMULATOR_RATE_LIMIT): Cloudflare's rate of 1,200 requests per 300 s,
scaled to a shorter window (default 40 per 10 s, the same 4 requests a second) so the run takes seconds, not
five minutes; past it every call of the user gets a 429 for one window, as on Cloudflare. One play, 20 hosts,
``forks=20``: each host uploads its Worker (worker_script) and sets a DNS record (dns_record), so the forks
together need more calls than one window allows. Run twice: without the shared budget (each fork on its own,
retrying after Retry-After) and with it (CFOPS_API_BUDGET set to the same limit: one budget for every fork).
Prints failed tasks, 429 answers, API calls, wall time and the budget's floor (the time the limit needs for
those calls: (ceil(calls / limit) - 1) windows). Not a test: it prints figures.

    .venv/bin/python benchmarks/estate_forks.py [--workers 20] [--limit 40/10]
"""
import argparse
import math
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.e2e.conftest import run_playbook  # noqa: E402
from tests.support.emulator import EmulatorProcess  # noqa: E402

PLAY = """---
- name: An estate of Workers, one per host, all forks at once
  hosts: workers
  gather_facts: false
  tasks:
    - name: Upload the Worker
      cfops.cloudflare.worker_script:
        name: "bench-{{ inventory_hostname }}"
        main_module: "%(script)s"
        compatibility_date: "2025-01-15"
    - name: Its DNS record
      cfops.cloudflare.dns_record:
        zone: example.com
        name: "{{ inventory_hostname }}"
        type: CNAME
        content: "bench-{{ inventory_hostname }}.workers.dev"
        proxied: true
"""
SCRIPT = "export default { async fetch() { return new Response('ok'); } };\n"


def count_429(log_path, offset):
    with open(log_path, "rb") as handle:
        handle.seek(offset)
        return len(re.findall(rb" 429 [0-9.]+ms", handle.read()))


def deploy(emulator, work, label, workers, budget):
    emulator.reset_state()
    emulator.reset_calls()
    time.sleep(emulator.window + 0.5)  # a window of its own
    inventory = os.path.join(work, "inventory.ini")
    python = sys.executable
    with open(inventory, "w") as handle:
        handle.write("[workers]\n")
        for index in range(workers):
            handle.write("w%02d ansible_connection=local ansible_python_interpreter=%s\n" % (index + 1, python))
    script = os.path.join(work, "worker.js")
    with open(script, "w") as handle:
        handle.write(SCRIPT)
    playbook = os.path.join(work, "estate.yml")
    with open(playbook, "w") as handle:
        handle.write(PLAY % {"script": script})
    env = {"ANSIBLE_FORKS": str(workers), "CFOPS_API_BUDGET": budget or "off",
           "CFOPS_API_BUDGET_DIR": os.path.join(work, "budget-%s" % label.split()[0])}
    offset = os.path.getsize(emulator.log_path)
    started = time.monotonic()
    run = run_playbook(emulator, playbook=playbook, inventory=inventory, env=env, timeout=3600)
    elapsed = time.monotonic() - started
    failed = sum(int(n) for n in re.findall(r"failed=(\d+)", run.output))
    calls = emulator.calls()
    return {"label": label, "seconds": elapsed, "failed": failed, "r429": count_429(emulator.log_path, offset),
            "calls": calls["total"], "rc": run.rc}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=20)
    parser.add_argument("--limit", default="40/10", help="REQUESTS/SECONDS the emulator enforces (default 40/10)")
    args = parser.parse_args()
    requests, seconds = args.limit.split("/")
    requests, seconds = int(requests), float(seconds)
    os.environ["CFOPS_EMULATOR_RATE_LIMIT"] = args.limit
    rows = []
    with tempfile.TemporaryDirectory() as work, EmulatorProcess(data_dir=os.path.join(work, "emu")) as emulator:
        emulator.window = seconds
        rows.append(deploy(emulator, work, "no shared budget", args.workers, None))
        rows.append(deploy(emulator, work, "shared budget", args.workers, args.limit))
    print("%d Workers + %d DNS records, forks=%d, emulator limited to %d requests / %g s (Cloudflare: 1,200 / 300 s)"
          % (args.workers, args.workers, args.workers, requests, seconds))
    print("%-18s %6s %8s %7s %8s %10s" % ("run", "failed", "429s", "calls", "wall s", "floor s"))
    for row in rows:
        successful = row["calls"] - row["r429"]
        floor = (math.ceil(successful / float(requests)) - 1) * seconds
        print("%-18s %6d %8d %7d %8.1f %10.1f" % (row["label"], row["failed"], row["r429"], row["calls"],
                                                  row["seconds"], floor))


if __name__ == "__main__":
    main()
