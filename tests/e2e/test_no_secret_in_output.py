"""At -vvvv, with --diff, on create, no-op and rotation runs, no secret value reaches the output."""
import hashlib
import json
import uuid

import httpx
import pytest

from tests.e2e.conftest import run_playbook
from tests.support.emulator import EmulatorProcess


@pytest.fixture
def private_emulator(tmp_path):
    # Its own token, so the test can also prove the API token never shows.
    # With the edge: the deploys gate the Worker on its real responses.
    with EmulatorProcess(data_dir=str(tmp_path / "emu"), token="tok-" + uuid.uuid4().hex, edge=True) as emu:
        yield emu


def test_secret_and_token_never_appear_at_vvvv(private_emulator):
    secret, rotated = "s3cret-" + uuid.uuid4().hex, "r0tated-" + uuid.uuid4().hex
    env, env_rotated = {"BOOKS_API_KEY": secret}, {"BOOKS_API_KEY": rotated}
    runs = [
        run_playbook(private_emulator, "-vvvv", "--diff", env=env),  # create
        run_playbook(private_emulator, "-vvvv", "--diff", env=env),  # no-op
        # A rotated value is a new release (the fingerprint covers a keyed digest of the values): plan it, then do it.
        run_playbook(private_emulator, "-vvvv", "--diff", "--check", env=env_rotated),
        run_playbook(private_emulator, "-vvvv", "--diff", env=env_rotated),  # rotation
    ]
    for run in runs:
        assert run.rc == 0, run.output[-3000:]
        assert secret not in run.output and rotated not in run.output
        assert private_emulator.token not in run.output
    # The rotation really wrote the secret (so the value went through the modules).
    assert runs[2].changed >= 1 and runs[3].changed >= 1


def test_backup_and_restore_at_vvvv_show_neither_the_token_nor_the_derived_r2_secret(private_emulator, tmp_path):
    token = private_emulator.token
    http = httpx.Client(base_url=private_emulator.base_url + "/accounts/" + private_emulator.account_id,
                        headers={"Authorization": "Bearer " + token}, trust_env=False)
    namespace = http.post("/storage/kv/namespaces", json={"title": "books-api-local-cache"}).json()["result"]["id"]
    http.put("/storage/kv/namespaces/%s/values/greeting" % namespace, content=b"hello")
    for bucket in ("books-local-assets", "books-local-backups"):
        assert http.post("/r2/buckets", json={"name": bucket}).status_code == 200
    extra = json.dumps({"backup_root": str(tmp_path / "backups"), "backup_r2_buckets": ["books-local-assets"],
                        "backup_upload_bucket": "books-local-backups"})
    runs = [
        run_playbook(private_emulator, "-vvvv", "--diff", "-e", extra, playbook="playbooks/backup.yml"),
        run_playbook(private_emulator, "-vvvv", "--diff", "-e", extra, playbook="playbooks/restore.yml"),
    ]
    # R2's S3 secret is derived from the token (SHA-256 of its value): it must not show either.
    derived_secret = hashlib.sha256(token.encode()).hexdigest()
    for run in runs:
        assert run.rc == 0, run.output[-3000:]
        assert token not in run.output
        assert derived_secret not in run.output
