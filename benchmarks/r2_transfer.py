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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _harness import api_post, print_table, scratch_emulator, timed_playbook  # noqa: E402

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
    timed = timed_playbook(emulator, label, playbook, memory={"module": [b"AnsiballZ_r2_object"]})
    return {"label": label, "seconds": timed.seconds, "mib_s": total_bytes / MIB / timed.seconds, "reads": timed.reads,
            "writes": timed.writes, "peak_mib": timed.memory.peak_mib("module"), "modules": timed.memory.processes("module")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=4, help="number of files (default 4)")
    parser.add_argument("--file-mb", type=int, default=256, help="size of each file in MiB (default 256)")
    parser.add_argument("--part-mb", type=int, default=100, help="r2_object part_size_mb (default 100)")
    args = parser.parse_args()
    total = args.files * args.file_mb * MIB
    with scratch_emulator() as (work, emulator):
        api_post(emulator, "/r2/buckets", {"name": BUCKET})
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
    print_table([("run", "%-24s"), ("wall s", "%9.1f"), ("MiB/s", "%9.1f"), ("reads", "%7d"), ("writes", "%7d"),
                 ("module peak RSS (MiB)", "%22.1f")],
                [(row["label"], row["seconds"], row["mib_s"], row["reads"], row["writes"], row["peak_mib"]) for row in rows])
    print("round trip: every byte identical; object size %d MiB, so a peak far below it means streaming" % args.file_mb)


if __name__ == "__main__":
    main()
