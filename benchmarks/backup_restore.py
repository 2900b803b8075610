"""Figures for playbooks/backup.yml and playbooks/restore.yml at the scale of issue 12, next to `aws s3 sync`.

The data set (defaults): 10,000 R2 objects of 1 KiB to 1 MiB (log-uniform sizes, random bytes), 50,000 KV keys
with metadata, and a D1 database of about 100 MiB. The script fills a fresh emulator (non-edge, on a free port),
then measures, each as one real ansible-playbook run:

  backup                       the whole set (KV export, D1 dump, every R2 object), written and verified
  restore after a wipe         KV keys deleted, the D1 database deleted, every R2 object deleted
  no-op restore                the same restore again: nothing to write
  backup with 33 % failing     every third API call and every third S3 call of each kind fails (500s, 503
                               SlowDown with Retry-After, dropped connections, writes applied then answered 500);
                               it must converge in one run and give a set equal to the first one (nothing lost)

and, side by side in the same run over the same bucket, `aws s3 sync` (awscli, a separate virtualenv: it cannot
share the project's, see the notes below) against the emulator's S3 endpoint and `cfops.cloudflare.r2_sync` alone:
download into an empty directory, upload into an empty bucket, and a no-op upload (both only list).

For every run: wall time, calls counted by the emulator (API and S3 separately, writes), the peak RSS of the
largest single process of the run (ansible-playbook or a module; `aws` for awscli). The round trip is checked:
after the restore every KV key, value and metadata, the D1 dump and every R2 object's size and MD5 equal the
original. Not a test: it prints figures and fails only when a run fails or the round trip differs.

    .venv/bin/python benchmarks/backup_restore.py [--objects N] [--kv-keys N] [--d1-mb N] [--aws PATH]

awscli: `python3.11 -m venv .tmp/awscli-venv && .tmp/awscli-venv/bin/pip install awscli==1.46.3` (awscli caps
docutils at 0.19 while the project pins 0.23, so it cannot go into .venv). Without it the side-by-side is skipped.

Results on the 2-core development machine (shared with other jobs), defaults: benchmarks/backup_restore.txt (backup 34 s,
restore after a wipe 42 s, no-op restore 20 s with 10 S3 calls (listings), 33 % failing 271 s and converged; r2_sync
download 23.5 s vs aws s3 sync 34.3 s, upload 31.1 s vs 45.1 s, no-op 5.5 s vs 2.2 s (every file hashed: MD5 is
checked, not mtimes) and 2.2 s with the manifest, as the restore runs it).
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import httpx

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, ".collections"))

from ansible_collections.cfops.cloudflare.plugins.module_utils._s3 import S3Client, file_digests  # noqa: E402
from tests.support.emulator import EmulatorProcess  # noqa: E402

BIN = os.path.dirname(sys.executable)
KV_TITLE = "bench-cache"
D1_NAME = "bench-db"
R2_BUCKET = "bench-assets"
MIB = 1024 * 1024
DEFAULT_AWS = os.path.join(REPO, ".tmp", "awscli-venv", "bin", "aws")
FAULTS = [  # every third call of each kind (see the module docstring)
    {"path": "*", "action": "status", "status": 500},
    {"path": "s3:GetObject", "action": "drop"},
    {"path": "s3:PutObject", "action": "status", "status": 500, "apply": True},
    {"path": "s3:UploadPart", "action": "drop"},
    {"path": "s3:List*", "action": "status", "status": 503, "retry_after": 1},
    {"path": "s3:HeadObject", "action": "status", "status": 500},
    {"path": "s3:*Multipart*", "action": "status", "status": 500, "apply": True},
    {"path": "s3:DeleteObjects", "action": "status", "status": 500, "apply": True},
]


class Env:
    def __init__(self, emulator):
        self.emulator = emulator
        self.http = httpx.Client(base_url=emulator.base_url + "/accounts/" + emulator.account_id,
                                 headers={"Authorization": "Bearer " + emulator.token}, timeout=600)
        pair = emulator.admin("GET", "/r2/credentials")["credentials"][0]
        self.key_pair = pair["access_key_id"], pair["secret_access_key"]
        self.s3 = S3Client(emulator.s3_url, *self.key_pair, pool=16, timeout=600)

    def call(self, method, path, **kwargs):
        response = self.http.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()["result"]

    def namespace(self):
        return [n for n in self.call("GET", "/storage/kv/namespaces", params={"per_page": 100}) if n["title"] == KV_TITLE][0]["id"]

    def database(self):
        found = [d for d in self.call("GET", "/d1/database", params={"name": D1_NAME}) if d["name"] == D1_NAME]
        return found[0]["uuid"] if found else None


def kv_value(i):
    return {"key": "item:%07d" % i, "value": "value %d " % i + "x" * (i % 200), "metadata": {"i": i}}


def fill(env, args, scratch):
    namespace = env.call("POST", "/storage/kv/namespaces", json={"title": KV_TITLE})["id"]
    for start in range(0, args.kv_keys, 10000):
        env.call("PUT", "/storage/kv/namespaces/%s/bulk" % namespace,
                 json=[kv_value(i) for i in range(start, min(args.kv_keys, start + 10000))])
    database = env.call("POST", "/d1/database", json={"name": D1_NAME})["uuid"]
    env.call("POST", "/d1/database/%s/query" % database, json={"sql": "CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT)"})
    for _megabyte in range(args.d1_mb):  # rows of 1,000 characters, ~1 MiB a query
        env.call("POST", "/d1/database/%s/query" % database, json={"sql": (
            "INSERT INTO rows (body) SELECT hex(randomblob(500)) FROM "
            "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1048) SELECT x FROM c)")})
    for bucket in (R2_BUCKET, "bench-backups", "bench-aws", "bench-ours"):
        env.call("POST", "/r2/buckets", json={"name": bucket})
    rng = random.Random(12)
    sizes = [int(1024 * (1024 ** rng.random())) for _index in range(args.objects)]  # 1 KiB .. 1 MiB, log-uniform
    source = os.path.join(scratch, "random.bin")
    with open(source, "wb") as handle:
        handle.write(os.urandom(MIB + 4096))

    def put(index):
        path = os.path.join(scratch, "object-%d.bin" % (index % 64))
        offset = (index * 7919) % 4096
        with open(source, "rb") as handle:
            handle.seek(offset)
            data = handle.read(sizes[index])
        data = index.to_bytes(4, "big") + data[4:]  # every object distinct
        with open(path + ".%d" % index, "wb") as out:
            out.write(data)
        size, md5, sha256 = file_digests(path + ".%d" % index)
        env.s3.put_object(R2_BUCKET, "objects/%02d/%05d.bin" % (index % 100, index), path + ".%d" % index, size, md5, sha256, {})
        os.unlink(path + ".%d" % index)
        return size

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        total = sum(pool.map(put, range(args.objects)))
    os.unlink(source)
    return total


def wipe(env):
    namespace = env.namespace()
    cursor = None
    while True:
        params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        response = env.http.get("/storage/kv/namespaces/%s/keys" % namespace, params=params).json()
        keys = [key["name"] for key in response["result"]]
        if keys:
            env.call("POST", "/storage/kv/namespaces/%s/bulk/delete" % namespace, json=keys)
        cursor = (response.get("result_info") or {}).get("cursor")
        if not cursor:
            break
    env.call("DELETE", "/d1/database/%s" % env.database())
    delete_all(env, R2_BUCKET)


def delete_all(env, bucket):
    keys = [item["key"] for item in env.s3.list_objects(bucket)]
    for start in range(0, len(keys), 1000):
        env.s3.delete_objects(bucket, keys[start:start + 1000])


def r2_state(env, bucket, prefix=""):
    return {item["key"][len(prefix):]: (item["size"], item["etag"]) for item in env.s3.list_objects(bucket, prefix)}


def kv_state(env, args):
    namespace = env.namespace()
    keys, cursor = [], None
    while True:
        response = env.http.get("/storage/kv/namespaces/%s/keys" % namespace,
                                params={"limit": 1000, **({"cursor": cursor} if cursor else {})}).json()
        keys.extend(key["name"] for key in response["result"])
        cursor = (response.get("result_info") or {}).get("cursor")
        if not cursor:
            break
    values = {}
    for start in range(0, len(keys), 100):
        result = env.call("POST", "/storage/kv/namespaces/%s/bulk/get" % namespace,
                          json={"keys": keys[start:start + 100], "type": "text", "withMetadata": True})
        values.update({key: (item["value"], item["metadata"]) for key, item in result["values"].items()})
    return values


def expected_kv(args):
    return {entry["key"]: (entry["value"], entry["metadata"]) for entry in map(kv_value, range(args.kv_keys))}


def d1_dump_sha256(env, scratch):
    database = env.database()
    body = {"output_format": "polling"}
    while True:
        reply = env.call("POST", "/d1/database/%s/export" % database, json=body)
        if reply.get("status") == "complete":
            break
        body["current_bookmark"] = reply["at_bookmark"]
    digest = hashlib.sha256()
    with httpx.stream("GET", reply["result"]["signed_url"], timeout=600) as response:
        for chunk in response.iter_bytes(MIB):
            digest.update(chunk)
    return digest.hexdigest()


class TreePeak:
    """The largest peak RSS (VmHWM) of any process in the tree below ``pid``, sampled from /proc every 50 ms.

    (``wait4``'s ru_maxrss is no good here: a child forked from this large benchmark process starts with its RSS.)"""

    def __init__(self, pid):
        self.pid = pid
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(0.05):
            parents = {}
            for name in os.listdir("/proc"):
                if name.isdigit():
                    try:
                        with open("/proc/%s/stat" % name, "rb") as handle:
                            parents[int(name)] = int(handle.read().rsplit(b")", 1)[1].split()[1])
                    except (OSError, IndexError, ValueError):
                        continue
            for pid in parents:
                ancestor = pid
                while ancestor not in (self.pid, 0, 1) and ancestor in parents:
                    ancestor = parents[ancestor]
                if ancestor != self.pid:
                    continue
                try:
                    with open("/proc/%d/status" % pid, encoding="ascii") as handle:
                        for line in handle:
                            if line.startswith("VmHWM:"):
                                self.peak_kib = max(self.peak_kib, int(line.split()[1]))
                except OSError:
                    continue

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.peak_kib / 1024.0


def timed(command, env_vars, cwd=REPO):
    """Run ``command``; ``(rc, seconds, peak RSS MiB of its largest process, output)``."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, cwd=cwd, env=env_vars, stdout=output, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
        sampler = TreePeak(process.pid)
        process.wait()
        seconds = time.monotonic() - started
        peak = sampler.stop()
        output.seek(0)
        text = output.read().decode("utf-8", "replace")
    return process.returncode, seconds, peak, text


def playbook_env(emulator):
    return dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                PATH=BIN + os.pathsep + os.environ.get("PATH", ""), CLOUDFLARE_API_BASE_URL=emulator.base_url,
                CLOUDFLARE_API_TOKEN=emulator.token, CLOUDFLARE_ACCOUNT_ID=emulator.account_id)


class Figures:
    def __init__(self, emulator):
        self.emulator = emulator
        self.rows = []

    def measure(self, label, command, env_vars, cwd=REPO):
        self.emulator.reset_calls()
        rc, seconds, peak, output = timed(command, env_vars, cwd)
        calls = self.emulator.calls()
        if rc != 0:
            raise SystemExit("%s failed (rc %d):\n%s" % (label, rc, output[-6000:]))
        s3 = [call for call in calls["calls"] if call["route"].startswith("s3:")]
        s3_total = sum(call["count"] for call in s3)
        s3_writes = sum(call["count"] for call in s3 if call["write"])
        row = {"run": label, "seconds": seconds, "api": calls["total"] - s3_total, "api_writes": calls["writes"] - s3_writes,
               "s3": s3_total, "s3_writes": s3_writes, "faulted": calls["faulted"], "peak_mib": peak}
        self.rows.append(row)
        print("  %-34s %7.1f s  api %6d (%5d w)  s3 %6d (%5d w)  faulted %5d  peak %6.1f MiB" % (
            label, seconds, row["api"], row["api_writes"], row["s3"], row["s3_writes"], row["faulted"], peak), flush=True)
        return output

    def playbook(self, label, playbook, extra_vars):
        command = [os.path.join(BIN, "ansible-playbook"), playbook, "-i", "inventories/local", "-e", json.dumps(extra_vars)]
        output = self.measure(label, command, playbook_env(self.emulator))
        text = " ".join(output.split())
        word = "Backup of" if "backup" in playbook else "Restore of"
        start = text.rfind(word)
        print("      %s" % text[start:text.find(" PLAY RECAP", start)], flush=True)
        return output


SYNC_PLAY = """
- name: r2_sync alone
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  module_defaults:
    group/cfops.cloudflare.cloudflare:
      api_token: "{{ lookup('ansible.builtin.env', 'CLOUDFLARE_API_TOKEN') }}"
  tasks:
    - name: Sync
      cfops.cloudflare.r2_sync:
        bucket: "%(bucket)s"
        path: "%(path)s"
        direction: %(direction)s
        concurrency: %(concurrency)d
        manifest: "%(manifest)s"
      register: synced

    - name: Show what the module took
      ansible.builtin.debug:
        msg: "r2_sync took {{ synced.seconds }} s of it"
"""


def side_by_side(figures, env, args, scratch, set_dir=None):
    if not os.access(args.aws, os.X_OK):
        print("  (no awscli at %s: the side-by-side with aws s3 sync is skipped; see the docstring)" % args.aws)
        return
    config = os.path.join(scratch, "aws-config")
    with open(config, "w") as handle:
        handle.write("[default]\nregion = auto\ns3 =\n    addressing_style = path\n")
    aws_env = dict(os.environ, AWS_ACCESS_KEY_ID=env.key_pair[0], AWS_SECRET_ACCESS_KEY=env.key_pair[1], AWS_CONFIG_FILE=config,
                   AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_REQUEST_CHECKSUM_CALCULATION="when_required")
    url = figures.emulator.s3_url

    def aws(label, source, destination):
        figures.measure("aws s3 sync: " + label, [args.aws, "--endpoint-url", url, "s3", "sync", source, destination,
                                                  "--only-show-errors"], aws_env)

    def ours(label, bucket, path, direction, manifest=None):
        playbook = os.path.join(scratch, "sync.yml")
        with open(playbook, "w") as handle:
            text = SYNC_PLAY % {"bucket": bucket, "path": path, "direction": direction, "concurrency": args.concurrency,
                                "manifest": manifest}
            handle.write(text if manifest else text.replace('        manifest: "None"\n', ""))
        command = [os.path.join(BIN, "ansible-playbook"), playbook, "-i", "localhost,"]
        output = figures.measure("r2_sync:      " + label, command, playbook_env(figures.emulator))
        module = [line.strip() for line in output.splitlines() if "r2_sync took" in line]
        print("      (%s)" % (module[-1][len("msg: "):] if module else "?"), flush=True)

    aws_dir, our_dir = os.path.join(scratch, "aws-copy"), os.path.join(scratch, "r2-sync-copy")
    aws("download", "s3://%s" % R2_BUCKET, aws_dir)
    ours("download", R2_BUCKET, our_dir, "download")
    aws("upload to an empty bucket", aws_dir, "s3://bench-aws")
    ours("upload to an empty bucket", "bench-ours", our_dir, "upload")
    aws("no-op upload (lists only)", aws_dir, "s3://bench-aws")
    ours("no-op upload (lists only)", "bench-ours", our_dir, "upload")
    if set_dir:  # the restore's step: sizes and checksums from the verified manifest, no file read
        ours("no-op upload, manifest", "bench-ours", os.path.join(set_dir, "r2", R2_BUCKET), "upload",
             os.path.join(set_dir, "manifest.json"))
    if r2_state(env, "bench-ours") != r2_state(env, R2_BUCKET):
        raise SystemExit("r2_sync's copy differs from the bucket")
    shutil.rmtree(aws_dir)
    shutil.rmtree(our_dir)
    delete_all(env, "bench-aws")
    delete_all(env, "bench-ours")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10000)
    parser.add_argument("--kv-keys", type=int, default=50000)
    parser.add_argument("--d1-mb", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--aws", default=DEFAULT_AWS)
    parser.add_argument("--no-faults", action="store_true", help="skip the run with a third of the calls failing")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, EmulatorProcess(data_dir=os.path.join(scratch, "emulator")) as emulator:
        emulator.admin("POST", "/calls/reset")
        env = Env(emulator)
        started = time.monotonic()
        r2_bytes = fill(env, args, scratch)
        original_r2 = r2_state(env, R2_BUCKET)
        original_d1 = d1_dump_sha256(env, scratch)
        print("data: %d R2 objects (%.1f MiB, 1 KiB..1 MiB log-uniform), %d KV keys, D1 ~%d MiB (filled in %.0f s)" % (
            args.objects, r2_bytes / MIB, args.kv_keys, args.d1_mb, time.monotonic() - started), flush=True)
        figures = Figures(emulator)
        backups = os.path.join(scratch, "backups")
        extra = {"backup_root": backups, "backup_kv_namespaces": [KV_TITLE], "backup_d1_databases": [D1_NAME],
                 "backup_r2_buckets": [R2_BUCKET], "backup_r2_concurrency": args.concurrency,
                 "restore_r2_concurrency": args.concurrency}
        print("playbooks:")
        figures.playbook("backup", "playbooks/backup.yml", extra)
        wipe(env)
        figures.playbook("restore after a wipe", "playbooks/restore.yml", extra)
        if r2_state(env, R2_BUCKET) != original_r2:
            raise SystemExit("round trip: the R2 objects differ")
        if kv_state(env, args) != expected_kv(args):
            raise SystemExit("round trip: the KV keys differ")
        if d1_dump_sha256(env, scratch) != original_d1:
            raise SystemExit("round trip: the D1 database differs")
        print("      round trip: every R2 object (size, MD5), KV key (value, metadata) and the D1 dump identical")
        figures.playbook("no-op restore", "playbooks/restore.yml", extra)
        if not args.no_faults:
            (first,) = [n for n in os.listdir(os.path.join(backups, "books-data")) if not n.startswith(".")]
            for fault in FAULTS:
                emulator.inject_fault(method="*", every=3, count=10 ** 7, **fault)
            figures.playbook("backup, 33 % of calls failing", "playbooks/backup.yml", extra)
            emulator.clear_faults()
            sets = sorted(n for n in os.listdir(os.path.join(backups, "books-data")) if not n.startswith("."))
            manifests = [json.load(open(os.path.join(backups, "books-data", name, "manifest.json"))) for name in (first, sets[-1])]
            if [m["files"] for m in manifests][0] != [m["files"] for m in manifests][1]:
                raise SystemExit("the backup under faults differs from the first one")
            print("      converged in one run; its set is identical to the first backup's (every file's size, SHA-256, MD5)")
        print("side by side, the same bucket:")
        app_dir = os.path.join(backups, "books-data")
        newest = sorted(n for n in os.listdir(app_dir) if not n.startswith("."))[-1]
        side_by_side(figures, env, args, scratch, os.path.join(app_dir, newest))
    print(json.dumps({"objects": args.objects, "kv_keys": args.kv_keys, "d1_mb": args.d1_mb, "r2_bytes": r2_bytes,
                      "rows": figures.rows}, indent=1))


if __name__ == "__main__":
    main()
