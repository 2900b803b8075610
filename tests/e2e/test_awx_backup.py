"""backup.yml the way AWX runs a scheduled job: through ansible-runner (AWX's own runner library)
with a private data directory, the collection installed from the project's
collections/requirements.yml (what a project sync does), the Cloudflare credential applied through
the custom credential type's injectors (extensions/awx/credential_type.yml) as environment
variables, and extra vars. AWX itself (Kubernetes, its database) cannot run here; what it would
show on the job is checked: status, the manifest in the job's artifacts (set_stats), no prompt,
and no secret in the job output.

Live-capable (docs/dev/live-mode.md): the inventory is a run-prefixed copy of inventories/local (tests/live/e2e.py),
the upload bucket is the run's, and everything the run made is deleted after each test."""
import json
import os
import subprocess
import sys

import ansible_runner
import httpx
import jinja2
import pytest
import yaml

from tests.e2e.conftest import REPO
from tests.live.e2e import after_test, clean_slate, run_names, write_inventory

BIN = os.path.dirname(sys.executable)


@pytest.fixture(scope="module")
def inventory(target, tmp_path_factory):
    return write_inventory(target, tmp_path_factory.mktemp("awx") / "inventory", release=False)


@pytest.fixture
def fresh(target):
    clean_slate(target)
    yield target
    after_test(target)


@pytest.fixture(scope="module")
def project_sync(tmp_path_factory):
    """Install the collection the way an AWX project sync does (collections/requirements.yml)."""
    collections = tmp_path_factory.mktemp("awx-collections")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections))
    result = subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "-r", "collections/requirements.yml",
                             "-p", str(collections)], cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (collections / "ansible_collections" / "cfops" / "cloudflare" / "MANIFEST.json").is_file()
    return collections


def credential_env(inputs):
    """The job environment AWX builds from the credential: the credential type's env injectors, rendered."""
    with open(os.path.join(REPO, "extensions", "awx", "credential_type.yml"), encoding="utf-8") as handle:
        credential_type = yaml.safe_load(handle)
    fields = {field["id"]: field.get("default", "") for field in credential_type["inputs"]["fields"]}
    fields.update(inputs)
    return {name: jinja2.Template(template).render(**fields) for name, template in credential_type["injectors"]["env"].items()}


def test_scheduled_backup_runs_unattended_through_ansible_runner(fresh, inventory, project_sync, tmp_path, monkeypatch):
    kv_title = run_names(fresh).cache
    # The execution environment has ansible-playbook on PATH; here it is the virtualenv's.
    monkeypatch.setenv("PATH", BIN + os.pathsep + os.environ.get("PATH", ""))
    http = httpx.Client(base_url=fresh.base_url, headers={"Authorization": "Bearer " + fresh.token})
    namespace = http.post("/accounts/%s/storage/kv/namespaces" % fresh.account_id, json={"title": kv_title}).json()["result"]["id"]
    http.put("/accounts/%s/storage/kv/namespaces/%s/bulk" % (fresh.account_id, namespace),
             json=[{"key": "k%d" % i, "value": "v%d" % i} for i in range(25)])

    private_data_dir = tmp_path / "job"
    private_data_dir.mkdir()
    backups = tmp_path / "backups"
    envvars = credential_env({"api_token": fresh.token, "account_id": fresh.account_id, "api_base_url": fresh.base_url})
    envvars.update({"ANSIBLE_COLLECTIONS_PATH": str(project_sync), "ANSIBLE_NOCOLOR": "1"})
    runner = ansible_runner.run(
        private_data_dir=str(private_data_dir),
        project_dir=REPO,
        playbook="playbooks/backup.yml",
        inventory=inventory,
        envvars=envvars,
        extravars={"backup_root": str(backups)},
        quiet=True,
        timeout=600,
    )
    stdout = runner.stdout.read()
    assert runner.status == "successful", stdout
    assert runner.rc == 0
    # Nothing prompted: a prompt would have failed the unattended job; no vars_prompt event either.
    events = list(runner.events)
    assert not [e for e in events if e.get("event") in ("playbook_on_vars_prompt",)]
    # The job's artifacts (what AWX shows as the job's "artifacts") come from set_stats.
    (stats_event,) = [e for e in events if e.get("event") == "playbook_on_stats"]
    artifact = stats_event["event_data"]["artifact_data"]["cfops_backup"]
    assert artifact["environment"] == "local"
    assert [(item["kind"], item["name"], item["count"]) for item in artifact["items"]] == [("kv", kv_title, 25)]
    set_dir = backups / artifact["application"] / artifact["set"]  # a directory per application
    manifest = json.loads((set_dir / "manifest.json").read_text())
    assert artifact["files"] == manifest["files"]
    assert int(artifact["total_bytes"]) == manifest["total_bytes"] > 0
    # The token came from the credential only and never shows in the job's output or artifacts.
    job_output = stdout + json.dumps(events)
    assert fresh.token not in job_output


def run_job(playbook, tmp_path, name, fresh, inventory, project_sync, extravars):
    """One AWX-like job: its own private data directory (a fresh container), the credential's env, extra vars."""
    private_data_dir = tmp_path / name
    private_data_dir.mkdir()
    envvars = credential_env({"api_token": fresh.token, "account_id": fresh.account_id, "api_base_url": fresh.base_url})
    envvars.update({"ANSIBLE_COLLECTIONS_PATH": str(project_sync), "ANSIBLE_NOCOLOR": "1"})
    runner = ansible_runner.run(private_data_dir=str(private_data_dir), project_dir=REPO, playbook=playbook,
                                inventory=inventory, envvars=envvars,
                                extravars=extravars, quiet=True, timeout=600)
    stdout = runner.stdout.read()
    stats = [e for e in runner.events if e.get("event") == "playbook_on_stats"]
    return runner, stdout, stats[0]["event_data"]["artifact_data"] if stats else {}


def test_a_scheduled_restore_on_a_fresh_container_restores_from_the_r2_copy(fresh, inventory, project_sync, tmp_path, monkeypatch):
    kv_title = run_names(fresh).cache
    monkeypatch.setenv("PATH", BIN + os.pathsep + os.environ.get("PATH", ""))
    http = httpx.Client(base_url=fresh.base_url, headers={"Authorization": "Bearer " + fresh.token})
    account = "/accounts/%s" % fresh.account_id
    namespace = http.post(account + "/storage/kv/namespaces", json={"title": kv_title}).json()["result"]["id"]
    http.put(account + "/storage/kv/namespaces/%s/bulk" % namespace, json=[{"key": "k%d" % i, "value": "v%d" % i} for i in range(25)])
    # The backup template's extra vars (extensions/awx/job_templates.yml) upload every set to cfops-backups; here to
    # the run's own bucket (in live mode the account is shared by runs).
    with open(os.path.join(REPO, "extensions", "awx", "job_templates.yml"), encoding="utf-8") as handle:
        templates = {t["playbook"]: t for t in yaml.safe_load(handle)["job_templates"]}
    upload = dict(templates["playbooks/backup.yml"]["extra_vars"])
    assert upload["backup_upload_bucket"] == "cfops-backups"
    upload["backup_upload_bucket"] = fresh.name("cfops-backups")
    http.post(account + "/r2/buckets", json={"name": upload["backup_upload_bucket"]})
    backup, stdout, artifacts = run_job("playbooks/backup.yml", tmp_path, "backup-job", fresh, inventory, project_sync,
                                        dict(upload, backup_root=str(tmp_path / "backup-container")))
    assert backup.status == "successful", stdout
    http.post(account + "/storage/kv/namespaces/%s/bulk/delete" % namespace, json=["k%d" % i for i in range(25)])
    # The restore job runs in a new container: nothing of the backup job's disk is there.
    restore, stdout, artifacts = run_job("playbooks/restore.yml", tmp_path, "restore-job", fresh, inventory, project_sync,
                                         dict(upload, backup_root=str(tmp_path / "restore-container")))
    assert restore.status == "successful", stdout
    assert artifacts["cfops_restore"]["source"].startswith("r2://%s/" % upload["backup_upload_bucket"])
    assert [(item["kind"], item["name"], item["changes"]["added"]) for item in artifacts["cfops_restore"]["items"]] == [
        ("kv", kv_title, 25)]
    keys = http.get(account + "/storage/kv/namespaces/%s/keys" % namespace).json()["result"]
    assert len(keys) == 25
    assert fresh.token not in stdout
