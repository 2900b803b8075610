"""The bounded form of the benchmark's fault run: a backup (with the upload to R2) while every third API call and
every third S3 call of each kind fails - server errors, throttling with Retry-After, dropped connections, writes
applied and then answered with an error - converges in one run with nothing lost, and so does the restore of it
(the D1 ingest aside: benchmarks/backup_restore.py and test_backup_d1_restore.py say why)."""
import json
import os
import random

import pytest

from tests.e2e.conftest import run_playbook
from tests.e2e.test_backup_restore import APP, D1_NAME, KV_TITLE, R2_BUCKET, UPLOAD_BUCKET, Api

MIB = 1024 * 1024
OBJECTS = 300
S3_FAULTS = [
    {"path": "s3:PutObject", "action": "status", "status": 500, "apply": True},
    {"path": "s3:UploadPart", "action": "drop"},
    {"path": "s3:GetObject", "action": "drop"},
    {"path": "s3:HeadObject", "action": "status", "status": 500},
    {"path": "s3:List*", "action": "status", "status": 503, "retry_after": 1},
    {"path": "s3:CreateMultipartUpload", "action": "status", "status": 500, "apply": True},
    {"path": "s3:CompleteMultipartUpload", "action": "status", "status": 500, "apply": True},
    {"path": "s3:DeleteObjects", "action": "status", "status": 500, "apply": True},
]
# Every API call of the backup; for the restore, the KV and R2 calls (not the D1 ingest: see the module docstring).
API_FAULTS_BACKUP = [{"path": "*", "action": "status", "status": 500}]
API_FAULTS_RESTORE = [{"path": "/accounts/*/storage/*", "action": "status", "status": 500},
                      {"path": "/accounts/*/r2/*", "action": "status", "status": 500, "apply": True}]


def fill(api):
    namespace = api.call("POST", "/storage/kv/namespaces", json={"title": KV_TITLE})["id"]
    api.call("PUT", "/storage/kv/namespaces/%s/bulk" % namespace,
             json=[{"key": "k%04d" % i, "value": "v%d" % i, "metadata": {"i": i}} for i in range(500)])
    api.call("POST", "/d1/database", json={"name": D1_NAME})
    api.d1_query(D1_NAME, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    api.d1_query(D1_NAME, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300) "
                          "INSERT INTO t (v) SELECT hex(randomblob(40)) FROM c")
    s3 = api.s3()
    for bucket in (R2_BUCKET, UPLOAD_BUCKET):
        s3.create_bucket(Bucket=bucket)
    rng = random.Random(12)
    for i in range(OBJECTS):
        s3.put_object(Bucket=R2_BUCKET, Key="o/%04d.bin" % i, Body=os.urandom(rng.randint(1024, 64 * 1024)))
    for i in range(2):  # larger than the 5 MiB parts: multipart both ways
        s3.put_object(Bucket=R2_BUCKET, Key="large/%d.bin" % i, Body=os.urandom(12 * MIB + i))


def inject(emulator, faults):
    for fault in faults:
        emulator.inject_fault(method="*", every=3, count=1_000_000, **fault)


def snapshot(api):
    return {"kv": api.kv_snapshot(KV_TITLE), "d1": api.d1_snapshot(D1_NAME), "r2": api.r2_snapshot(R2_BUCKET)}


@pytest.mark.timeout(1200)
def test_backup_and_restore_converge_in_one_run_while_a_third_of_the_calls_fail(fresh, tmp_path):
    api = Api(fresh)
    fill(api)
    before = snapshot(api)
    extra = json.dumps({"backup_root": str(tmp_path), "backup_kv_namespaces": [KV_TITLE], "backup_d1_databases": [D1_NAME],
                        "backup_r2_buckets": [R2_BUCKET], "backup_upload_bucket": UPLOAD_BUCKET,
                        "backup_r2_part_size_mb": 5, "restore_r2_part_size_mb": 5})
    fresh.reset_calls()
    inject(fresh, S3_FAULTS + API_FAULTS_BACKUP)
    backup = run_playbook(fresh, "-e", extra, playbook="playbooks/backup.yml")
    calls = fresh.calls()
    fresh.clear_faults()
    assert backup.rc == 0, backup.output
    assert calls["faulted"] >= calls["total"] // 4, calls  # about a third of every kind failed
    routes = {call["route"] for call in calls["calls"]}
    assert {"s3:GetObject", "s3:PutObject", "s3:UploadPart", "s3:CreateMultipartUpload", "s3:CompleteMultipartUpload",
            "s3:ListObjectsV2"} <= routes, routes
    (set_name,) = [name for name in os.listdir(tmp_path / APP) if not name.startswith(".")]
    set_dir = tmp_path / APP / set_name
    manifest = json.loads((set_dir / "manifest.json").read_text())
    assert len([f for f in manifest["files"] if f.startswith("r2/%s/" % R2_BUCKET)]) == OBJECTS + 2
    # Nothing lost on the way to R2 either: the copy is the set, byte for byte, and marked complete.
    copy = api.r2_snapshot(UPLOAD_BUCKET)
    prefix = "backups/local/%s/%s/" % (APP, set_name)
    assert {key[len(prefix):]: data for key, data in copy.items() if key.startswith(prefix)} == {
        path.relative_to(set_dir).as_posix(): path.read_bytes() for path in set_dir.rglob("*") if path.is_file()}
    assert "backups/local/%s/%s.complete" % (APP, set_name) in copy
    assert not api.s3().list_multipart_uploads(Bucket=UPLOAD_BUCKET).get("Uploads")  # no upload left behind

    api.call("DELETE", "/d1/database/%s" % api.d1_id(D1_NAME))
    s3 = api.s3()
    for i in range(0, OBJECTS, 2):
        s3.delete_object(Bucket=R2_BUCKET, Key="o/%04d.bin" % i)
    s3.delete_object(Bucket=R2_BUCKET, Key="large/0.bin")
    for i in range(40):
        s3.put_object(Bucket=R2_BUCKET, Key="stray/%d" % i, Body=b"not in the backup")
    namespace = api.kv_namespace_id(KV_TITLE)
    api.call("POST", "/storage/kv/namespaces/%s/bulk/delete" % namespace, json=["k%04d" % i for i in range(0, 500, 3)])
    fresh.reset_calls()
    inject(fresh, S3_FAULTS + API_FAULTS_RESTORE)
    restore = run_playbook(fresh, "-e", extra, playbook="playbooks/restore.yml")
    calls = fresh.calls()
    fresh.clear_faults()
    assert restore.rc == 0, restore.output
    assert calls["faulted"] > 0 and "s3:DeleteObjects" in {call["route"] for call in calls["calls"]}, calls
    assert snapshot(api) == before
