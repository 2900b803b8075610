"""Each playbook converges in ONE run while about 30% of its calls fail, then a second run changes nothing.

Seeded random faults (emulator/faults.py ``rate``/``seed``) over the API and R2's S3 endpoint: server errors
(some applied before the error, as an ambiguous failure looks), dropped connections (some applied) and
hangs past the client's timeout, on reads and writes alike. Each run is bounded by a timeout."""
import os

import pytest

from tests.e2e.conftest import PAID_ZONE, run_playbook
from tests.e2e.test_backup_restore import Api, local_backup_vars, fill, snapshot, wipe

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


def converges_in_one_run_then_changes_nothing(emulator, *args, again=True, env=None, **kwargs):
    """The run under faults succeeds; then (``again``) a run without faults changes nothing and writes nothing."""
    env = dict(ENV, **(env or {}))
    emulator.reset_calls()
    inject(emulator, SEED)
    first = run_playbook(emulator, *args, env=env, timeout=RUN_TIMEOUT, **kwargs)
    calls = emulator.calls()
    emulator.clear_faults()
    assert first.rc == 0, first.output[-6000:]
    if not again:
        return calls
    emulator.reset_calls()
    second = run_playbook(emulator, *args, env=env, timeout=RUN_TIMEOUT, **kwargs)
    assert second.rc == 0, second.output[-6000:]
    assert second.changed == 0, second.stdout[-6000:]
    assert emulator.calls()["writes"] == 0, emulator.calls()
    return calls


def assert_the_faults_hit(*runs):
    """About 30% of the calls failed: at least an eighth, even over a few dozen calls."""
    total, faulted = sum(calls["total"] for calls in runs), sum(calls["faulted"] for calls in runs)
    assert faulted >= max(3, total // 8), (faulted, total)


@pytest.mark.timeout(300)
def test_deploy_converges_under_faults(fresh):
    # A first deploy, then a release of a new version (a rotated secret) through the gated rollout.
    first = converges_in_one_run_then_changes_nothing(fresh, again=False)
    second = converges_in_one_run_then_changes_nothing(fresh, env={"BOOKS_API_KEY": "rotated-under-faults"})
    assert_the_faults_hit(first, second)


@pytest.mark.timeout(300)
def test_security_converges_under_faults(fresh):
    # On the Pro zone: health checks need a Pro plan or higher.
    assert_the_faults_hit(converges_in_one_run_then_changes_nothing(fresh, "-e", "edge_security_zone=" + PAID_ZONE,
                                                                    playbook="playbooks/security.yml"))


@pytest.mark.timeout(400)
def test_backup_then_restore_converge_under_faults(fresh, tmp_path):
    api = Api(fresh)
    fill(api)
    before = snapshot(api)
    # Every backup run makes a new set (changed by design): what converged is shown by the restore of the
    # set made under faults giving back every key, row and object.
    backup = converges_in_one_run_then_changes_nothing(fresh, "-e", local_backup_vars(tmp_path), playbook="playbooks/backup.yml",
                                                       again=False)
    wipe(api)
    restore = converges_in_one_run_then_changes_nothing(fresh, "-e", local_backup_vars(tmp_path), playbook="playbooks/restore.yml")
    assert_the_faults_hit(backup, restore)
    assert snapshot(api) == before
