"""Sets that never collide: two applications back up at once (one ansible-playbook run, both hosts in parallel)
while a second job backs up one of them again, all into the same backup root and upload bucket. Every job gets
a set of its own in its application's directory, each manifest lists exactly its application's data, and both
applications restore from their newest sets."""
import json
import os
import shutil
import threading

import pytest
import yaml

from tests.e2e.conftest import REPO, run_playbook
from tests.e2e.test_backup_restore import UPLOAD_BUCKET, Api

APPS = {
    "books-data": {"kv": "books-api-local-cache", "r2": "books-local-assets"},
    "authors-data": {"kv": "authors-local-cache", "r2": "authors-local-assets"},
}


def inventory(tmp_path):
    """inventories/local with a second application in the data group."""
    root = tmp_path / "inventory"
    shutil.copytree(os.path.join(REPO, "inventories", "local"), root)
    hosts = yaml.safe_load((root / "hosts.yml").read_text())
    hosts["all"]["children"]["data"]["hosts"] = {name: None for name in APPS}
    (root / "hosts.yml").write_text(yaml.safe_dump(hosts))
    for name, data in APPS.items():
        (root / "host_vars" / ("%s.yml" % name)).write_text(yaml.safe_dump({
            "backup_kv_namespaces": [data["kv"]], "backup_d1_databases": [], "backup_r2_buckets": [data["r2"]]}))
    return root


def fill(api):
    s3 = api.s3()
    s3.create_bucket(Bucket=UPLOAD_BUCKET)
    for name, data in APPS.items():
        namespace = api.call("POST", "/storage/kv/namespaces", json={"title": data["kv"]})["id"]
        api.call("PUT", "/storage/kv/namespaces/%s/bulk" % namespace,
                 json=[{"key": "%s:%d" % (name, i), "value": "v%d" % i} for i in range(50)])
        s3.create_bucket(Bucket=data["r2"])
        for i in range(20):
            s3.put_object(Bucket=data["r2"], Key="%s/%d.bin" % (name, i), Body=os.urandom(2000))


def snapshot(api):
    return {name: (api.kv_snapshot(data["kv"]), api.r2_snapshot(data["r2"])) for name, data in APPS.items()}


def wipe(api):
    s3 = api.s3()
    for data in APPS.values():
        namespace = api.kv_namespace_id(data["kv"])
        keys = [key["name"] for key in api.call("GET", "/storage/kv/namespaces/%s/keys" % namespace)]
        api.call("POST", "/storage/kv/namespaces/%s/bulk/delete" % namespace, json=keys)
        for item in s3.list_objects_v2(Bucket=data["r2"]).get("Contents", []):
            s3.delete_object(Bucket=data["r2"], Key=item["Key"])


@pytest.mark.timeout(900)
def test_two_applications_and_two_jobs_at_once_get_sets_of_their_own_and_both_restore(fresh, tmp_path):
    api = Api(fresh)
    fill(api)
    before = snapshot(api)
    hosts = str(inventory(tmp_path))
    extra = json.dumps({"backup_root": str(tmp_path / "backups"), "backup_upload_bucket": UPLOAD_BUCKET})
    runs = {}
    jobs = [threading.Thread(target=lambda: runs.update(both=run_playbook(fresh, "-e", extra, playbook="playbooks/backup.yml",
                                                                          inventory=hosts))),
            threading.Thread(target=lambda: runs.update(again=run_playbook(fresh, "-e", extra, "--limit", "books-data",
                                                                           playbook="playbooks/backup.yml", inventory=hosts)))]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join(600)
    for name, run in runs.items():
        assert run.rc == 0, (name, run.output)
    sets = {name: sorted(n for n in os.listdir(tmp_path / "backups" / name) if not n.startswith("."))
            for name in APPS}
    assert len(sets["books-data"]) == 2 and len(sets["authors-data"]) == 1, sets
    for name, names in sets.items():
        for set_name in names:
            manifest = json.loads((tmp_path / "backups" / name / set_name / "manifest.json").read_text())
            assert manifest["application"] == name
            assert {(item["kind"], item["name"]) for item in manifest["items"]} == {
                ("kv", APPS[name]["kv"]), ("r2", APPS[name]["r2"])}
            assert len([f for f in manifest["files"] if f.startswith("r2/%s/" % APPS[name]["r2"])]) == 20
    markers = sorted(item["Key"] for item in api.s3().list_objects_v2(Bucket=UPLOAD_BUCKET)["Contents"]
                     if item["Key"].endswith(".complete"))
    assert markers == sorted("backups/local/%s/%s.complete" % (name, set_name) for name, names in sets.items()
                             for set_name in names)

    wipe(api)
    restore = run_playbook(fresh, "-e", extra, playbook="playbooks/restore.yml", inventory=hosts)
    assert restore.rc == 0, restore.output
    assert snapshot(api) == before
