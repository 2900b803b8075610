"""No secret of a backup or restore reaches the output at -vvvv with --diff: not the API token, not R2's secret
access key (derived from the token, or given as R2_SECRET_ACCESS_KEY), through a backup with the upload to R2, a
check-mode restore from the R2 copy, and the restore itself - also when calls fail and are retried."""
import hashlib
import json
import uuid

import pytest

from tests.e2e.conftest import run_playbook
from tests.e2e.test_backup_restore import D1_NAME, KV_TITLE, R2_BUCKET, UPLOAD_BUCKET, Api, fill
from tests.support.emulator import EmulatorProcess


@pytest.fixture
def private_emulator(tmp_path):
    with EmulatorProcess(data_dir=str(tmp_path / "emu"), token="tok-" + uuid.uuid4().hex) as emu:
        yield emu


@pytest.mark.timeout(900)
@pytest.mark.parametrize("key_pair", ["derived", "given"])
def test_backup_and_restore_from_r2_at_vvvv_show_no_secret(private_emulator, tmp_path, key_pair):
    emulator = private_emulator
    fill(Api(emulator))
    derived_secret = hashlib.sha256(emulator.token.encode()).hexdigest()
    env = {}
    if key_pair == "given":
        pair = next(item for item in emulator.admin("GET", "/r2/credentials")["credentials"]
                    if item["secret_access_key"] == derived_secret)
        env = {"R2_ACCESS_KEY_ID": pair["access_key_id"], "R2_SECRET_ACCESS_KEY": pair["secret_access_key"]}
    common = {"backup_kv_namespaces": [KV_TITLE], "backup_d1_databases": [D1_NAME], "backup_r2_buckets": [R2_BUCKET],
              "backup_upload_bucket": UPLOAD_BUCKET}
    first = json.dumps(dict(common, backup_root=str(tmp_path / "first")))
    fresh = json.dumps(dict(common, backup_root=str(tmp_path / "fresh-container")))
    emulator.inject_fault(method="*", path="s3:*", action="status", status=503, every=4, count=1000)
    runs = [
        run_playbook(emulator, "-vvvv", "--diff", "-e", first, playbook="playbooks/backup.yml", env=env),
        run_playbook(emulator, "-vvvv", "--diff", "--check", "-e", fresh, playbook="playbooks/restore.yml", env=env),
        run_playbook(emulator, "-vvvv", "--diff", "-e", fresh, playbook="playbooks/restore.yml", env=env),
    ]
    for run in runs:
        assert run.rc == 0, run.output[-3000:]
        for secret in (emulator.token, derived_secret):
            assert secret not in run.output
    assert "from set" in runs[2].output and "r2://%s/" % UPLOAD_BUCKET in " ".join(runs[2].output.split())
