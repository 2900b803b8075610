"""Live mode's plumbing, proven against the emulator without its admin API (no real account is reachable here).

`scripts/test.sh live` with CFOPS_LIVE_API_BASE_URL pointing at `python -m emulator --no-admin` runs exactly
what it runs against Cloudflare: the account guard, the live-capable pytest tests (emulator-only steps
skipped) and integration targets, and the cleanup of every object named with the run prefix.
"""
import os
import re
import subprocess

import pytest

from tests.support.emulator import EmulatorProcess
from tests.support.target import CloudflareTarget

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = pytest.mark.slow
# CI runs a few live-capable targets, one of each kind of cleanup: DNS records scoped by name (with a stand-in for the
# apex and an SRV record under a prefixed name), Workers with a zone route, a queue with its consumer Worker; and a
# KV target beside a foreign namespace. `scripts/test.sh live` against an emulator runs them all (docs/dev/live-mode.md).
CI_TARGETS = "dns_records worker_route queue_consumer"
# Of the live-capable e2e files (LIVE_E2E), CI rehearses test_r2_object.py, one release test and one backup test, to stay
# short; docs/dev/live-mode.md says how to rehearse all of them.
E2E_REHEARSAL = " ".join([
    "tests/e2e/test_r2_object.py",
    "tests/e2e/test_release.py::test_a_release_is_smoke_tested_at_0_then_rolled_out_with_a_line_per_step_on_one_screen",
    "tests/e2e/test_backup_restore.py::test_round_trip_is_byte_identical_and_a_second_restore_is_a_no_op",
])


@pytest.fixture
def no_admin_edge(tmp_path):
    """An emulator without its admin API whose edge runs the released Workers (the release test probes them)."""
    with EmulatorProcess(data_dir=str(tmp_path / "emulator"), admin=False, edge=True, startup_timeout=90) as emu:
        yield emu


@pytest.fixture
def no_admin(tmp_path):
    with EmulatorProcess(data_dir=str(tmp_path / "emulator"), admin=False) as emu:
        yield emu


def live(emulator, **extra):
    env = {key: value for key, value in os.environ.items() if not key.startswith("CFOPS_LIVE_")}
    env.update(CFOPS_LIVE_API_BASE_URL=emulator.base_url, CFOPS_LIVE_API_TOKEN=emulator.token,
               CFOPS_LIVE_ACCOUNT_ID=emulator.account_id, CFOPS_LIVE_ZONE="example.com", CFOPS_LIVE_TARGETS=CI_TARGETS,
               CFOPS_LIVE_E2E="tests/e2e/test_r2_object.py")
    env.update(extra)
    return subprocess.run(["bash", "scripts/test.sh", "live"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=1500, stdin=subprocess.DEVNULL, check=False)


@pytest.mark.timeout(1600)
def test_live_mode_runs_against_an_emulator_without_admin_and_leaves_nothing(no_admin_edge):
    # The emulator serves a change at once and its analytics have no lag: short live-mode waits.
    done = live(no_admin_edge, CFOPS_LIVE_E2E=E2E_REHEARSAL, CFOPS_LIVE_EDGE_URL=no_admin_edge.edge_url,
                CFOPS_LIVE_PROPAGATION_SECONDS="30", CFOPS_LIVE_ANALYTICS_DELAY="0")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "live: %s, account %s, zone example.com" % (no_admin_edge.base_url, no_admin_edge.account_id) in output
    # emulator-only steps are skipped there, and only there
    assert "SKIPPED" in output and "emulator-only: resetting call counts" in output
    assert re.search(r"Verify the emulator saw no write \(emulator only\)\] \**\nskipping: \[testhost\]", output)
    assert len(re.findall(r"testhost +: ok=\d+ .* failed=0 ", output)) == len(CI_TARGETS.split()), output[-4000:]
    # The release and the backup ran live (a run-prefixed inventory, the Worker probed on its workers.dev name, R2
    # through the token's key pair), their call counts skipped by name once every live-capable assertion passed.
    assert "emulator-only: the second run wrote nothing (call counts) (live mode has no admin API)" in output, output[-4000:]
    assert "emulator-only: check mode wrote nothing (call counts); the second restore wrote nothing (call counts); " \
           "the no-op restore's only S3 call is one ListObjectsV2 (call counts)" in output, output[-4000:]
    assert not re.search(r"^(FAILED|ERROR) ", output, re.M), output[-4000:]
    target = CloudflareTarget.from_emulator(no_admin_edge)
    assert {kind: names for kind, names in target.inventory().items() if names} == {}


def test_live_mode_cleans_up_the_run_prefix_even_when_the_run_fails(no_admin):
    prefix = "cfops-test-0123abcd-"
    target = CloudflareTarget.from_emulator(no_admin, run_prefix=prefix)
    target.api("POST", "/accounts/%s/storage/kv/namespaces" % target.account_id, json={"title": prefix + "leftover"})
    done = live(no_admin, CFOPS_LIVE_RUN_PREFIX=prefix, CFOPS_LIVE_TARGETS="no_such_target")
    assert done.returncode != 0 and "Target pattern not matched: no_such_target" in done.stderr
    assert "--- cleanup of %s\nlive: cleanup of %s deleted" % (prefix, prefix) in done.stdout
    assert target.inventory()["kv_namespaces"] == []


def test_live_mode_refuses_an_account_with_foreign_objects_unless_allowed(no_admin):
    target = CloudflareTarget.from_emulator(no_admin)
    target.api("POST", "/accounts/%s/storage/kv/namespaces" % target.account_id, json={"title": "production-cache"})
    refused = live(no_admin)
    assert refused.returncode != 0
    assert "refusing to run: account %s (zone example.com) holds objects this suite did not make (kv_namespaces: " \
           "production-cache)" % no_admin.account_id in refused.stderr
    allowed = live(no_admin, CFOPS_LIVE_ALLOW_FOREIGN="1", CFOPS_LIVE_TARGETS="kv_namespace_info")
    assert allowed.returncode == 0, (allowed.stdout + allowed.stderr)[-3000:]
    assert [name for name, _id in target.inventory()["kv_namespaces"]] == ["production-cache"]  # untouched


def test_live_mode_refuses_to_start_without_its_account():
    env = {key: value for key, value in os.environ.items() if not key.startswith("CFOPS_LIVE_")}
    done = subprocess.run(["bash", "scripts/test.sh", "live"], cwd=REPO, env=dict(env, CFOPS_LIVE_ZONE="example.com"),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "the live stage needs CFOPS_LIVE_API_TOKEN CFOPS_LIVE_ACCOUNT_ID" in done.stderr
