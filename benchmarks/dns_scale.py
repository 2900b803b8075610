"""Figures for DNS at scale: zones of 1,000 / 5,000 / 20,000 records from empty and no-op, from a file (src) and,
for comparison, through variables (records: "{{ dns_records }}", the 1.1 way).

Real ansible-playbook runs of one cfops.cloudflare.dns_records task against the emulator (a Pro zone: 3,500
operations per batch). For each run: wall time, API calls, the peak resident memory (VmHWM) of the controller
(ansible-playbook and its worker forks) and of the module process, sampled from /proc, and the size of the
task's result. The goal: controller memory growing by less than 20 MiB from 1,000 to 20,000 records, and wall
time dominated by the API calls. Not a test: it asserts only that the runs succeed, and prints figures.

    .venv/bin/python benchmarks/dns_scale.py [--sizes 1000 5000 20000] [--no-vars]
"""
import argparse
import json
import os
import re
import sys
import tempfile
import threading
import time

import yaml

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.e2e.conftest import run_playbook  # noqa: E402
from tests.support.emulator import EmulatorProcess  # noqa: E402

PLAY = """---
- name: DNS scale benchmark
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Sync the zone
      cfops.cloudflare.dns_records:
        zone: example.com
        %(source)s
        exclusive: true
        force: true
      register: synced
    - name: Result size
      ansible.builtin.debug:
        msg: "RESULT_BYTES={{ synced | to_json | length }}"
"""


class PeakMemory:
    """Peak VmHWM (KiB) of the controller's processes and of the module's, sampled from /proc."""

    def __init__(self):
        self.controller_kib = 0
        self.module_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()

    def _run(self):
        while not self._stop.wait(0.02):
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    with open("/proc/%s/cmdline" % pid, "rb") as handle:
                        cmdline = handle.read()
                    if b"AnsiballZ_dns_records" in cmdline:
                        kind = "module_kib"
                    elif b"ansible-playbook" in cmdline and b"dns_scale" in cmdline:
                        kind = "controller_kib"
                    else:
                        continue
                    with open("/proc/%s/status" % pid) as handle:
                        for line in handle:
                            if line.startswith("VmHWM:"):
                                setattr(self, kind, max(getattr(self, kind), int(line.split()[1])))
                except OSError:
                    continue


def records(count, generation=0):
    return [{"name": "host%05d" % index, "type": "A", "ttl": 300,
             "content": "10.%d.%d.%d" % (generation, index // 250 % 250, index % 250 + 1)} for index in range(count)]


def measure(emulator, work, label, source, *args):
    playbook = os.path.join(work, "dns_scale.yml")
    with open(playbook, "w") as handle:
        handle.write(PLAY % {"source": source})
    emulator.reset_calls()
    with PeakMemory() as memory:
        started = time.monotonic()
        run = run_playbook(emulator, *args, playbook=playbook, inventory="localhost,", timeout=3600)
        elapsed = time.monotonic() - started
    if run.rc != 0:
        raise SystemExit("%s failed:\n%s" % (label, run.output[-3000:]))
    calls = emulator.calls()
    result_bytes = int(re.search(r"RESULT_BYTES=(\d+)", run.output).group(1))
    return {"label": label, "seconds": elapsed, "reads": calls["reads"], "writes": calls["writes"],
            "controller": memory.controller_kib / 1024.0, "module": memory.module_kib / 1024.0, "result": result_bytes}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    parser.add_argument("--no-vars", action="store_true", help="skip the through-variables comparison")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as work, \
            EmulatorProcess(data_dir=os.path.join(work, "emu"), zones=["example.com:pro"]) as emulator:
        for size in args.sizes:
            src = os.path.join(work, "records-%d.json" % size)
            with open(src, "w") as handle:
                json.dump(records(size, generation=size % 250), handle)
            rows.append(measure(emulator, work, "src  %6d from empty" % size, "src: %s" % src))
            rows.append(measure(emulator, work, "src  %6d no-op" % size, "src: %s" % src))
        if not args.no_vars:
            size = max(args.sizes)
            variables = os.path.join(work, "vars-%d.yml" % size)
            with open(variables, "w") as handle:
                yaml.safe_dump({"dns_records": records(size, generation=7)}, handle)
            source = 'records: "{{ dns_records }}"'
            rows.append(measure(emulator, work, "vars %6d from a zone" % size, source, "-e", "@" + variables))
            rows.append(measure(emulator, work, "vars %6d no-op" % size, source, "-e", "@" + variables))
    header = ("run", "wall s", "reads", "writes", "controller MiB", "module MiB", "result kB")
    print("%-26s %8s %6s %6s %16s %12s %12s" % header)
    for row in rows:
        print("%-26s %8.1f %6d %6d %16.1f %12.1f %12.1f" % (row["label"], row["seconds"], row["reads"], row["writes"],
                                                            row["controller"], row["module"], row["result"] / 1000))
    src_rows = [row for row in rows if row["label"].startswith("src")]
    if len(src_rows) >= 2:
        print("controller peak growth, src, %d -> %d records: %+.1f MiB"
              % (min(args.sizes), max(args.sizes), max(r["controller"] for r in src_rows[-2:])
                 - max(r["controller"] for r in src_rows[:2])))


if __name__ == "__main__":
    main()
