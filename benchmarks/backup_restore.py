"""Figures for playbooks/backup.yml and playbooks/restore.yml against the emulator.

Fills an environment with KV keys, a D1 database and R2 objects (defaults: 50,000 keys, ~100 MB of
D1 rows, 1 GiB of R2 objects in 8 objects of 128 MiB), backs it up, wipes it (keys deleted, database
deleted, objects deleted), restores it and prints for each playbook run: wall time, API calls
(reads/writes, counted by the emulator; R2 object transfers go through the S3 endpoint and are not
API calls) and the peak memory (max RSS) of the ansible-playbook process tree, which shows whether
the modules stream (a module holding 1 GiB would show it). Not a test: it asserts nothing.

    .venv/bin/python benchmarks/backup_restore.py [--kv-keys N] [--d1-mb N] [--r2-mb N] [--r2-objects N]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import boto3
import httpx
from botocore.config import Config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tests.support.emulator import EmulatorProcess  # noqa: E402

BIN = os.path.dirname(sys.executable)
KV_TITLE = "bench-cache"
D1_NAME = "bench-db"
R2_BUCKET = "bench-assets"
MIB = 1024 * 1024


class Env:
    def __init__(self, emulator):
        self.emulator = emulator
        self.http = httpx.Client(base_url=emulator.base_url + "/accounts/" + emulator.account_id,
                                 headers={"Authorization": "Bearer " + emulator.token}, timeout=600)
        keys = emulator.admin("GET", "/r2/credentials")["credentials"][0]
        self.s3 = boto3.client("s3", endpoint_url=emulator.s3_url, region_name="auto",
                               aws_access_key_id=keys["access_key_id"], aws_secret_access_key=keys["secret_access_key"],
                               config=Config(s3={"addressing_style": "path"}))

    def call(self, method, path, **kwargs):
        response = self.http.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()["result"]


def fill(env, kv_keys, d1_mb, r2_mb, r2_objects, scratch):
    namespace = env.call("POST", "/storage/kv/namespaces", json={"title": KV_TITLE})["id"]
    for start in range(0, kv_keys, 10000):
        env.call("PUT", "/storage/kv/namespaces/%s/bulk" % namespace, json=[
            {"key": "item:%07d" % i, "value": "value %d " % i + "x" * 100, "metadata": {"i": i}}
            for i in range(start, min(kv_keys, start + 10000))])
    database = env.call("POST", "/d1/database", json={"name": D1_NAME})["uuid"]
    env.call("POST", "/d1/database/%s/query" % database, json={"sql": "CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT)"})
    rows_per_mb = MIB // 1000  # rows of 1,000 characters
    for _megabyte in range(d1_mb):
        env.call("POST", "/d1/database/%s/query" % database, json={"sql": (
            "INSERT INTO rows (body) SELECT hex(randomblob(500)) FROM "
            "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < %d) SELECT x FROM c)" % rows_per_mb)})
    env.call("POST", "/r2/buckets", json={"name": R2_BUCKET})
    object_bytes = r2_mb * MIB // max(1, r2_objects)
    source = os.path.join(scratch, "object.bin")
    with open(source, "wb") as handle:
        for _megabyte in range(object_bytes // MIB):
            handle.write(os.urandom(MIB))
    for number in range(r2_objects):
        env.s3.upload_file(source, R2_BUCKET, "objects/%03d.bin" % number)
    os.unlink(source)


def wipe(env):
    namespace = [n for n in env.call("GET", "/storage/kv/namespaces", params={"per_page": 100}) if n["title"] == KV_TITLE][0]["id"]
    cursor = None
    while True:
        response = env.http.get("/storage/kv/namespaces/%s/keys" % namespace, params={"limit": 1000, **({"cursor": cursor} if cursor else {})}).json()
        keys = [key["name"] for key in response["result"]]
        if keys:
            env.call("POST", "/storage/kv/namespaces/%s/bulk/delete" % namespace, json=keys)
        cursor = (response.get("result_info") or {}).get("cursor")
        if not cursor:
            break
    database = [d for d in env.call("GET", "/d1/database") if d["name"] == D1_NAME][0]["uuid"]
    env.call("DELETE", "/d1/database/%s" % database)
    for page in env.s3.get_paginator("list_objects_v2").paginate(Bucket=R2_BUCKET):
        for item in page.get("Contents", []):
            env.s3.delete_object(Bucket=R2_BUCKET, Key=item["Key"])


def run_playbook(emulator, playbook, extra_vars):
    """ansible-playbook as a child; returns (rc, seconds, peak RSS MiB of its process tree, output)."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""), CLOUDFLARE_API_BASE_URL=emulator.base_url,
               CLOUDFLARE_API_TOKEN=emulator.token, CLOUDFLARE_ACCOUNT_ID=emulator.account_id)
    started = time.monotonic()
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen([os.path.join(BIN, "ansible-playbook"), playbook, "-i", "inventories/local",
                                    "-e", json.dumps(extra_vars)], cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.monotonic() - started
        output.seek(0)
        text = output.read().decode("utf-8", "replace")
    return process.returncode, elapsed, usage.ru_maxrss / 1024.0, text


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kv-keys", type=int, default=50000)
    parser.add_argument("--d1-mb", type=int, default=100)
    parser.add_argument("--r2-mb", type=int, default=1024)
    parser.add_argument("--r2-objects", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, EmulatorProcess(data_dir=os.path.join(scratch, "emulator")) as emulator:
        env = Env(emulator)
        started = time.monotonic()
        fill(env, args.kv_keys, args.d1_mb, args.r2_mb, args.r2_objects, scratch)
        print("filled: %d KV keys, ~%d MiB of D1 rows, %d MiB of R2 objects in %d objects (%.1f s)"
              % (args.kv_keys, args.d1_mb, args.r2_mb, args.r2_objects, time.monotonic() - started), flush=True)
        extra_vars = {"backup_root": os.path.join(scratch, "backups"), "backup_kv_namespaces": [KV_TITLE],
                      "backup_d1_databases": [D1_NAME], "backup_r2_buckets": [R2_BUCKET]}
        rows = []
        for label, playbook, before in (("backup", "playbooks/backup.yml", None),
                                        ("restore after wipe", "playbooks/restore.yml", wipe),
                                        ("restore again (no-op)", "playbooks/restore.yml", None)):
            if before:
                before(env)
            emulator.reset_calls()
            rc, seconds, peak, output = run_playbook(emulator, playbook, extra_vars)
            if rc != 0:
                raise SystemExit("%s failed:\n%s" % (label, output[-4000:]))
            calls = emulator.calls()
            rows.append((label, calls["reads"], calls["writes"], seconds, peak))
        set_bytes = 0
        for directory, _dirs, files in os.walk(extra_vars["backup_root"]):
            set_bytes += sum(os.path.getsize(os.path.join(directory, name)) for name in files)
    print("backup set on disk: %.1f MiB" % (set_bytes / MIB))
    print("%-22s %7s %7s %9s %16s" % ("run", "reads", "writes", "wall (s)", "peak RSS (MiB)"))
    for label, reads, writes, seconds, peak in rows:
        print("%-22s %7d %7d %9.1f %16.1f" % (label, reads, writes, seconds, peak))
    print("peak RSS is the largest single process of the ansible-playbook tree (ansible itself or one module run).")


if __name__ == "__main__":
    main()
