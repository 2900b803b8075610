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

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _harness import print_table, scratch_emulator, timed_playbook  # noqa: E402

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


# The controller is ansible-playbook (and its forks) running this benchmark's playbook, dns_scale.yml.
MEMORY = {"module": [b"AnsiballZ_dns_records"], "controller": [b"ansible-playbook", b"dns_scale"]}


def records(count, generation=0):
    return [{"name": "host%05d" % index, "type": "A", "ttl": 300,
             "content": "10.%d.%d.%d" % (generation, index // 250 % 250, index % 250 + 1)} for index in range(count)]


def measure(emulator, work, label, source, *args):
    playbook = os.path.join(work, "dns_scale.yml")
    with open(playbook, "w") as handle:
        handle.write(PLAY % {"source": source})
    run = timed_playbook(emulator, label, playbook, *args, memory=MEMORY, inventory="localhost,")
    result_bytes = int(re.search(r"RESULT_BYTES=(\d+)", run.output).group(1))
    return {"label": label, "seconds": run.seconds, "reads": run.reads, "writes": run.writes,
            "controller": run.memory.peak_mib("controller"), "module": run.memory.peak_mib("module"),
            "result": result_bytes}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    parser.add_argument("--no-vars", action="store_true", help="skip the through-variables comparison")
    args = parser.parse_args()
    rows = []
    with scratch_emulator(zones=["example.com:pro"]) as (work, emulator):
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
    print_table([("run", "%-26s"), ("wall s", "%8.1f"), ("reads", "%6d"), ("writes", "%6d"), ("controller MiB", "%16.1f"),
                 ("module MiB", "%12.1f"), ("result kB", "%12.1f")],
                [(row["label"], row["seconds"], row["reads"], row["writes"], row["controller"], row["module"],
                  row["result"] / 1000) for row in rows])
    src_rows = [row for row in rows if row["label"].startswith("src")]
    if len(src_rows) >= 2:
        print("controller peak growth, src, %d -> %d records: %+.1f MiB"
              % (min(args.sizes), max(args.sizes), max(r["controller"] for r in src_rows[-2:])
                 - max(r["controller"] for r in src_rows[:2])))


if __name__ == "__main__":
    main()
