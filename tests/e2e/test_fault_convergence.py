"""Each playbook converges in ONE run while about 30% of its calls fail, then a second run changes nothing.

Seeded random faults (emulator/faults.py ``rate``/``seed``) over the API and R2's S3 endpoint: server errors
(some applied before the error, as an ambiguous failure looks), dropped connections (some applied) and
hangs past the client's timeout, on reads and writes alike. Each run is bounded by a timeout."""
import os

import pytest

from tests.e2e.conftest import run_playbook
from tests.e2e.test_backup_restore import D1_NAME, KV_TITLE, R2_BUCKET, Api, backup_vars, fill, snapshot, wipe

# CFOPS_FAULT_SEED explores other fault sequences; the default is the one the suite runs.
SEED = int(os.environ.get("CFOPS_FAULT_SEED", "2026"))
# About 1 - (0.92 * 0.93 * 0.94 * 0.93 * 0.95) = 29% of the calls fail, in five kinds.
FAULTS = [
    {"action": "status", "status": 500, "rate": 0.08},
    {"action": "status", "status": 503, "rate": 0.07, "apply": True},
    {"action": "drop", "rate": 0.06},
    {"action": "drop", "rate": 0.07, "apply": True},
    {"action": "hang", "rate": 0.05, "seconds": 2},
]
# Short client timeouts so a hang costs 1.5 s, not the default 30.
ENV = {"CLOUDFLARE_API_TIMEOUT": "1.5"}
RUN_TIMEOUT = 150


def inject(emulator, seed):
    for index, fault in enumerate(FAULTS):
        for path in ("*", "s3:*"):
            emulator.inject_fault(method="*", path=path, seed=seed + index, **fault)


def converges_in_one_run_then_changes_nothing(emulator, *args, again=True, **kwargs):
    """The run under faults succeeds; then (``again``) a run without faults changes nothing and writes nothing."""
    emulator.reset_calls()
    inject(emulator, SEED)
    first = run_playbook(emulator, *args, env=ENV, timeout=RUN_TIMEOUT, **kwargs)
    calls = emulator.calls()
    emulator.clear_faults()
    assert first.rc == 0, first.output[-6000:]
    # The faults really hit (about 30%: at least an eighth even on a short run's few dozen calls).
    assert calls["faulted"] >= max(3, calls["total"] // 8), calls
    if not again:
        return first
    emulator.reset_calls()
    second = run_playbook(emulator, *args, env=ENV, timeout=RUN_TIMEOUT, **kwargs)
    assert second.rc == 0, second.output[-6000:]
    assert second.changed == 0, second.stdout[-6000:]
    assert emulator.calls()["writes"] == 0, emulator.calls()
    return first


@pytest.mark.timeout(300)
def test_deploy_converges_under_faults(fresh):
    converges_in_one_run_then_changes_nothing(fresh)


@pytest.mark.timeout(300)
def test_security_converges_under_faults(fresh):
    converges_in_one_run_then_changes_nothing(fresh, playbook="playbooks/security.yml")


@pytest.mark.timeout(400)
def test_backup_then_restore_converge_under_faults(fresh, tmp_path):
    api = Api(fresh)
    fill(api)
    before = snapshot(api)
    # Every backup run makes a new set (changed by design): what converged is shown by the restore of the
    # set made under faults giving back every key, row and object.
    converges_in_one_run_then_changes_nothing(fresh, "-e", backup_vars(tmp_path), playbook="playbooks/backup.yml",
                                              again=False)
    wipe(api)
    converges_in_one_run_then_changes_nothing(fresh, "-e", backup_vars(tmp_path), playbook="playbooks/restore.yml")
    assert snapshot(api) == before
