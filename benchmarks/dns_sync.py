"""Figures for DNS sync: a 5,000-record zone from empty, then 1% of it changed, against the emulator.

Three real ansible-playbook runs of the dns role (one cfops.cloudflare.dns_records task): the zone
from empty, a no-op re-run, and the same list with 1% of the records changed. Then the same 1%
change written as a loop of cfops.cloudflare.dns_record tasks, one task per record. Prints the
API calls the emulator counted (reads/writes) and the wall time of each. The emulator's zone is on
the Free plan, whose batch calls take at most 200 operations (3,500 on Pro and above).
A loop over all 5,000 records is not run (minutes of module start-ups); its cost is extrapolated
from the 1% loop and marked as such. Not a test: it asserts nothing and prints figures.

    .venv/bin/python benchmarks/dns_sync.py [--records 5000] [--percent 1]
"""
import argparse
import os
import sys
import tempfile
import time

import yaml

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.e2e.conftest import run_playbook  # noqa: E402
from tests.support.emulator import EmulatorProcess  # noqa: E402

ROLE_PLAYBOOK = "tests/e2e/playbooks/dns_role.yml"
LOOP_PLAYBOOK = """---
- name: The same change, one dns_record task per record
  hosts: zones
  gather_facts: false
  module_defaults:
    group/cfops.cloudflare.cloudflare:
      api_token: "{{ cloudflare_api_token }}"
      api_base_url: "{{ cloudflare_api_base_url }}"
  tasks:
    - name: One record
      cfops.cloudflare.dns_record:
        zone: example.com
        name: "{{ item.name }}"
        type: "{{ item.type }}"
        content: "{{ item.content }}"
        ttl: "{{ item.ttl }}"
      loop: "{{ dns_changed }}"
"""


def zone_records(count, generation=0, changed_every=0):
    """``count`` A records; every ``changed_every``-th one points at another address in ``generation`` > 0."""
    records = []
    for index in range(count):
        last = index % 250 + 1
        if changed_every and index % changed_every == 0:
            last = (last + generation) % 250 + 1
        records.append({"name": "host%05d" % index, "type": "A", "content": "10.%d.%d.%d" % (index // 62500, index // 250 % 250, last),
                        "ttl": 300})
    return records


def measure(emulator, label, *args, playbook=ROLE_PLAYBOOK):
    emulator.reset_calls()
    started = time.monotonic()
    run = run_playbook(emulator, *args, playbook=playbook, timeout=3600)
    elapsed = time.monotonic() - started
    if run.rc != 0:
        raise SystemExit("%s failed:\n%s" % (label, run.output[-3000:]))
    calls = emulator.calls()
    return {"label": label, "reads": calls["reads"], "writes": calls["writes"], "seconds": elapsed}


def write_vars(directory, name, **variables):
    path = os.path.join(directory, name)
    with open(path, "w") as handle:
        yaml.safe_dump(variables, handle)
    return "@" + path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--percent", type=float, default=1.0)
    args = parser.parse_args()
    every = max(1, int(round(100 / args.percent)))
    rows = []
    with tempfile.TemporaryDirectory() as work, EmulatorProcess(data_dir=os.path.join(work, "emu")) as emulator:
        initial = zone_records(args.records)
        changed = zone_records(args.records, generation=1, changed_every=every)
        back = [record for record, new in zip(initial, changed) if record != new]
        rows.append(measure(emulator, "dns_records: %d from empty" % args.records,
                            "-e", write_vars(work, "initial.yml", dns_records=initial)))
        rows.append(measure(emulator, "dns_records: no-op re-run", "-e", write_vars(work, "initial.yml", dns_records=initial)))
        rows.append(measure(emulator, "dns_records: %d changed (%g%%)" % (len(back), args.percent),
                            "-e", write_vars(work, "changed.yml", dns_records=changed)))
        loop_path = os.path.join(work, "loop.yml")
        with open(loop_path, "w") as handle:
            handle.write(LOOP_PLAYBOOK)
        loop = measure(emulator, "dns_record loop: %d changed" % len(back),
                       "-e", write_vars(work, "back.yml", dns_changed=back), playbook=loop_path)
        rows.append(loop)
    print("%-36s %7s %7s %10s" % ("run", "reads", "writes", "wall (s)"))
    for row in rows:
        print("%-36s %7d %7d %10.2f" % (row["label"], row["reads"], row["writes"], row["seconds"]))
    per_task = loop["seconds"] / max(len(back), 1)
    print("%-36s %7d %7d %10.0f   (extrapolated from the loop above: %.2f s and %d calls per task; not run)"
          % ("dns_record loop: %d from empty" % args.records, 2 * args.records, args.records, per_task * args.records,
             per_task, (loop["reads"] + loop["writes"]) // max(len(back), 1)))


if __name__ == "__main__":
    main()
