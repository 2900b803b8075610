"""Figures for KV at scale: N keys (default 50,000; --keys 1000000 for the million-key run, ~7 minutes) written with
kv_entry from a file (digest=true), then the no-op re-run, then kv_export.

Real ansible-playbook runs against the emulator. For each: wall time, API calls (reads, writes), the list and
value-read calls, and the module's peak memory (VmHWM). The goal with digest=true: a no-op makes at most
ceil(N/1,000) + 1 calls (the key listing only). Not a test: it asserts only that the runs succeed.

    .venv/bin/python benchmarks/kv_scale.py [--keys 50000] [--value-bytes 100]
"""
import argparse
import json
import math
import os
import sys
import tempfile

import httpx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kv_bulk  # noqa: E402
from tests.support.emulator import EmulatorProcess  # noqa: E402


def run(emulator, work, label, module, options):
    label, seconds, reads, writes, peak = kv_bulk.run(emulator, work, label, module, options)
    by_route = {}
    for call in emulator.calls()["calls"]:
        name = call["route"].rsplit("/", 1)[-1]
        by_route[name] = by_route.get(name, 0) + call["count"]
    return label, seconds, reads, writes, by_route.get("keys", 0), by_route.get("get", 0), peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=50000)
    parser.add_argument("--value-bytes", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work, EmulatorProcess(data_dir=os.path.join(work, "emulator")) as emulator:
        httpx.post(emulator.base_url + "/accounts/%s/storage/kv/namespaces" % emulator.account_id,
                   json={"title": kv_bulk.TITLE}, headers={"Authorization": "Bearer " + emulator.token},
                   timeout=60, trust_env=False).raise_for_status()
        source = os.path.join(work, "entries.jsonl")
        with open(source, "w") as handle:  # kv_export's format: one entry a line
            for index in range(args.keys):
                handle.write(json.dumps({"key": "key:%07d" % index, "value": ("v%d-" % index).ljust(args.value_bytes, "x"),
                                         "metadata": {"n": index}}) + "\n")
        export = os.path.join(work, "export.jsonl")
        rows = [
            run(emulator, work, "kv_entry write, digest", "kv_entry", ["src: %s" % source, "digest: true"]),
            run(emulator, work, "kv_entry no-op, digest", "kv_entry", ["src: %s" % source, "digest: true"]),
            run(emulator, work, "kv_export", "kv_export", ["dest: %s" % export]),
        ]
    print("KV at scale: %d keys of %d-byte values with metadata; no-op goal with digests: <= %d calls"
          % (args.keys, args.value_bytes, math.ceil(args.keys / 1000) + 1))
    print("%-26s %8s %7s %7s %7s %10s %16s" % ("run", "wall s", "reads", "writes", "lists", "bulk gets", "module peak MiB"))
    for label, seconds, reads, writes, lists, gets, peak in rows:
        print("%-26s %8.1f %7d %7d %7d %10d %16.1f" % (label, seconds, reads, writes, lists, gets, peak))


if __name__ == "__main__":
    main()
