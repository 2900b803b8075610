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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _harness import api_post, print_table, scratch_emulator, timed_playbook  # noqa: E402

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


def run(emulator, work, label, module, options):
    playbook = os.path.join(work, "%s.yml" % module)
    with open(playbook, "w") as handle:
        handle.write(PLAY % {"module": module, "title": TITLE, "options": "\n        ".join(options)})
    timed = timed_playbook(emulator, label, playbook, memory={"module": [("AnsiballZ_%s" % module).encode()]})
    return label, timed.seconds, timed.reads, timed.writes, timed.memory.peak_mib("module")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=50000, help="number of keys (default 50000)")
    parser.add_argument("--value-bytes", type=int, default=100, help="size of each value (default 100)")
    args = parser.parse_args()
    with scratch_emulator() as (work, emulator):
        api_post(emulator, "/storage/kv/namespaces", {"title": TITLE})
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
    print_table([("run", "%-28s"), ("wall s", "%8.1f"), ("reads", "%7d"), ("writes", "%7d"),
                 ("module peak RSS (MiB)", "%24.1f")], rows)


if __name__ == "__main__":
    main()
