"""Figures for r2_object against the emulator: 1 GB of objects put, then got, through real playbook runs.

The data is 4 files of 256 MiB (random bytes), so each goes up as a multipart upload (the default 100 MiB
parts: 3 parts each) and comes down as one streamed GET, verified against its SHA-256. Prints, for the put
run and the get run: wall time, throughput, S3 calls, and the peak resident memory (VmHWM) of the module
processes themselves (sampled from /proc while they run), next to the object size: the module streams,
so its peak stays far below 256 MiB. A second put run shows the skip of identical objects (HEAD only).
Not a test: it asserts nothing and prints figures.

    .venv/bin/python benchmarks/r2_transfer.py [--files N] [--file-mb MB] [--part-mb MB]
"""
import argparse
import os
import sys
import tempfile
import threading
import time

import httpx

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.e2e.conftest import run_playbook  # noqa: E402
from tests.support.emulator import EmulatorProcess  # noqa: E402

MIB = 1024 * 1024
BUCKET = "bench-r2-transfer"
PLAY = """
- name: r2_object transfer benchmark
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Transfer each file
      cfops.cloudflare.r2_object:
        mode: %(mode)s
        bucket: %(bucket)s
        key: "bench/{{ item }}"
        %(path_option)s: "%(directory)s/{{ item }}"
        part_size_mb: %(part_mb)d
      loop: %(names)s
"""


class ModulePeakMemory:
    """Peak RSS (VmHWM) of every process running the r2_object module, sampled from /proc."""

    def __init__(self):
        self.peaks = {}
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
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    with open("/proc/%s/cmdline" % pid, "rb") as handle:
                        if b"AnsiballZ_r2_object" not in handle.read():
                            continue
                    with open("/proc/%s/status" % pid) as handle:
                        for line in handle:
                            if line.startswith("VmHWM:"):
                                kib = int(line.split()[1])
                                self.peaks[pid] = max(self.peaks.get(pid, 0), kib)
                except OSError:
                    continue

    @property
    def peak_mib(self):
        return max(self.peaks.values(), default=0) / 1024.0


def make_files(directory, count, size_mb):
    names = []
    for index in range(count):
        name = "object-%02d.bin" % index
        with open(os.path.join(directory, name), "wb") as handle:
            for _megabyte in range(size_mb):
                handle.write(os.urandom(MIB))
        names.append(name)
    return names


def run(emulator, label, mode, directory, names, part_mb, total_bytes):
    playbook = os.path.join(directory, "..", "%s.yml" % label.replace(" ", "-"))
    with open(playbook, "w") as handle:
        handle.write(PLAY % {"mode": mode, "bucket": BUCKET, "path_option": "src" if mode == "put" else "dest",
                             "directory": directory, "part_mb": part_mb, "names": names})
    emulator.reset_calls()
    with ModulePeakMemory() as memory:
        started = time.monotonic()
        result = run_playbook(emulator, playbook=playbook, timeout=3600)
        elapsed = time.monotonic() - started
    if result.rc != 0:
        raise SystemExit("%s failed:\n%s" % (label, result.output[-3000:]))
    calls = emulator.calls()
    return {"label": label, "seconds": elapsed, "mib_s": total_bytes / MIB / elapsed, "reads": calls["reads"],
            "writes": calls["writes"], "peak_mib": memory.peak_mib, "modules": len(memory.peaks)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=4, help="number of files (default 4)")
    parser.add_argument("--file-mb", type=int, default=256, help="size of each file in MiB (default 256)")
    parser.add_argument("--part-mb", type=int, default=100, help="r2_object part_size_mb (default 100)")
    args = parser.parse_args()
    total = args.files * args.file_mb * MIB
    with tempfile.TemporaryDirectory() as work, EmulatorProcess(data_dir=os.path.join(work, "emulator")) as emulator:
        httpx.post(emulator.base_url + "/accounts/%s/r2/buckets" % emulator.account_id, json={"name": BUCKET},
                   headers={"Authorization": "Bearer " + emulator.token}).raise_for_status()
        sources, copies = os.path.join(work, "sources"), os.path.join(work, "copies")
        os.makedirs(sources)
        os.makedirs(copies)
        names = make_files(sources, args.files, args.file_mb)
        rows = [run(emulator, "put", "put", sources, names, args.part_mb, total),
                run(emulator, "put again (identical)", "put", sources, names, args.part_mb, total),
                run(emulator, "get", "get", copies, names, args.part_mb, total)]
        for name in names:
            with open(os.path.join(sources, name), "rb") as left, open(os.path.join(copies, name), "rb") as right:
                while True:
                    a, b = left.read(MIB), right.read(MIB)
                    if a != b:
                        raise SystemExit("%s differs after the round trip" % name)
                    if not a:
                        break
    print("r2_object: %d x %d MiB = %.2f GB, part_size_mb %d, emulator on 127.0.0.1"
          % (args.files, args.file_mb, total / 1e9, args.part_mb))
    print("%-24s %9s %9s %7s %7s %22s" % ("run", "wall s", "MiB/s", "reads", "writes", "module peak RSS (MiB)"))
    for row in rows:
        print("%-24s %9.1f %9.1f %7d %7d %22.1f" % (row["label"], row["seconds"], row["mib_s"], row["reads"], row["writes"],
                                                    row["peak_mib"]))
    print("round trip: every byte identical; object size %d MiB, so a peak far below it means streaming" % args.file_mb)


if __name__ == "__main__":
    main()
