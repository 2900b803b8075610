"""Figures for KV bulk loading and export: 50,000 keys written with kv_entry from a file, exported with kv_export.

Real ansible-playbook runs against the emulator. Prints, for each run: wall time, API calls (reads, writes)
and the peak resident memory (VmHWM) of the module process, sampled from /proc while it runs:
  1. kv_entry src=<JSON file of N entries>  (1 key listing of an empty namespace + ceil(N/10000) bulk writes)
  2. the same again                         (idempotent: ceil(N/1000) listings + ceil(N/100) bulk gets, 0 writes)
  3. kv_export                              (ceil(N/1000) listings + ceil(N/100) bulk gets, streamed to a file)
  4. kv_import exclusive=true of that file into the same namespace (nothing to write)
Not a test: it asserts nothing beyond the runs succeeding, and prints figures.

    .venv/bin/python benchmarks/kv_bulk.py [--keys N] [--value-bytes B]
"""
import argparse
import json
import os
import sys
import tempfile
import threading
import time

import httpx

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.e2e.conftest import run_playbook  # noqa: E402
from tests.support.emulator import EmulatorProcess  # noqa: E402

TITLE = "bench-kv-bulk"
PLAY = """
- name: KV bulk benchmark
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Run the module
      cfops.cloudflare.%(module)s:
        namespace: %(title)s
        %(options)s
"""


class ModulePeakMemory:
    """Peak RSS (VmHWM, KiB) of the processes running ``AnsiballZ_<module>``, sampled from /proc."""

    def __init__(self, module):
        self.marker = ("AnsiballZ_%s" % module).encode()
        self.peak_kib = 0
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
                        if self.marker not in handle.read():
                            continue
                    with open("/proc/%s/status" % pid) as handle:
                        for line in handle:
                            if line.startswith("VmHWM:"):
                                self.peak_kib = max(self.peak_kib, int(line.split()[1]))
                except OSError:
                    continue


def run(emulator, work, label, module, options):
    playbook = os.path.join(work, "%s.yml" % module)
    with open(playbook, "w") as handle:
        handle.write(PLAY % {"module": module, "title": TITLE, "options": "\n        ".join(options)})
    emulator.reset_calls()
    with ModulePeakMemory(module) as memory:
        started = time.monotonic()
        result = run_playbook(emulator, playbook=playbook, timeout=3600)
        elapsed = time.monotonic() - started
    if result.rc != 0:
        raise SystemExit("%s failed:\n%s" % (label, result.output[-3000:]))
    calls = emulator.calls()
    return label, elapsed, calls["reads"], calls["writes"], memory.peak_kib / 1024.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=50000, help="number of keys (default 50000)")
    parser.add_argument("--value-bytes", type=int, default=100, help="size of each value (default 100)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work, EmulatorProcess(data_dir=os.path.join(work, "emulator")) as emulator:
        httpx.post(emulator.base_url + "/accounts/%s/storage/kv/namespaces" % emulator.account_id, json={"title": TITLE},
                   headers={"Authorization": "Bearer " + emulator.token}).raise_for_status()
        source = os.path.join(work, "entries.json")
        with open(source, "w") as handle:
            json.dump([{"key": "key:%06d" % index, "value": ("v%d-" % index).ljust(args.value_bytes, "x"),
                        "metadata": {"n": index}} for index in range(args.keys)], handle)
        export = os.path.join(work, "export.jsonl")
        rows = [
            run(emulator, work, "kv_entry src (write all)", "kv_entry", ["src: %s" % source]),
            run(emulator, work, "kv_entry src (again)", "kv_entry", ["src: %s" % source]),
            run(emulator, work, "kv_export", "kv_export", ["dest: %s" % export]),
            run(emulator, work, "kv_import exclusive", "kv_import", ["src: %s" % export, "exclusive: true"]),
        ]
        export_bytes = os.path.getsize(export)
    print("KV bulk: %d keys of %d-byte values with metadata, emulator on 127.0.0.1; export file %.1f MB"
          % (args.keys, args.value_bytes, export_bytes / 1e6))
    print("%-28s %8s %7s %7s %24s" % ("run", "wall s", "reads", "writes", "module peak RSS (MiB)"))
    for label, seconds, reads, writes, peak in rows:
        print("%-28s %8.1f %7d %7d %24.1f" % (label, seconds, reads, writes, peak))


if __name__ == "__main__":
    main()
