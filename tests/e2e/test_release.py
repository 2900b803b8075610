"""The release pipeline for real: playbooks/deploy.yml and playbooks/rollback.yml against the emulator
with its edge running the deployed Worker (examples/books-api) in workerd."""
import json

import httpx
import pytest

from tests.e2e.conftest import run_playbook

# Each test runs several real playbooks whose gates probe workerd: slow on a busy machine.
pytestmark = pytest.mark.timeout(1200)

WORKER = "books-api-local"
# Fewer probe requests than inventories/local asks for: the tests judge behaviour, not statistics.
QUICK = ["-e", "worker_gate_requests=12"]
HOST = WORKER + ".cfops-local.workers.dev"
BAD_RELEASE = ["-e", '{"worker_vars": {"ENVIRONMENT": "local", "FAIL_HEALTH": "true"}}', "-e", "worker_release_tag=bad",
               "-e", '{"worker_rollout_steps": [50, 100]}']


def deployments(emulator):
    response = httpx.get(emulator.base_url + "/accounts/%s/workers/scripts/%s/deployments" % (emulator.account_id, WORKER),
                         headers={"Authorization": "Bearer " + emulator.token}, timeout=10)
    response.raise_for_status()
    return response.json()["result"]["deployments"]


def serving(emulator):
    """The current deployment's split, as {version_id: percentage}."""
    return {v["version_id"]: v["percentage"] for v in deployments(emulator)[0]["versions"]}


def edge_versions(emulator, requests=10):
    """What the edge answers on /health: {(status, version marker): count}."""
    seen = {}
    with httpx.Client(timeout=10, trust_env=False) as client:
        # Returns once the edge serves every change made so far (the emulator's admin API).
        client.post(emulator.root_url + "/__emulator/edge/sync", timeout=60).raise_for_status()
        for _request in range(requests):
            response = client.get(emulator.edge_url + "/health", headers={"Host": HOST})
            key = (response.status_code, response.headers.get("x-cfops-version-id"))
            seen[key] = seen.get(key, 0) + 1
    return seen


def deploy(emulator, *args, **kwargs):
    run = run_playbook(emulator, *QUICK, *args, **kwargs)
    assert run.rc == 0, run.output[-4000:]
    return run


@pytest.fixture
def released(fresh):
    """The emulator with the example Worker's first release serving; yields its version id."""
    deploy(fresh)
    [version] = serving(fresh)
    return version


def test_good_release_rolls_out_step_by_step_then_a_rerun_writes_nothing(fresh, released):
    run = deploy(fresh, "-e", "worker_release_tag=v2")
    [new] = serving(fresh)
    assert new != released and serving(fresh) == {new: 100}
    # The deployments made, oldest first: 10/25/50 against the old version, then the new one alone.
    splits = [{v["version_id"]: v["percentage"] for v in d["versions"]} for d in reversed(deployments(fresh))]
    assert splits[-4:] == [{new: 10, released: 90}, {new: 25, released: 75}, {new: 50, released: 50}, {new: 100}]
    assert "Gates: 10%, 25%, 50%, 100% passed." in run.stdout
    assert edge_versions(fresh) == {(200, new): 10}

    fresh.reset_calls()
    again = deploy(fresh, "-e", "worker_release_tag=v2")
    assert again.changed == 0, again.recap
    assert fresh.calls()["writes"] == 0, fresh.calls()
    assert "already serves 100%, nothing written" in again.stdout


def test_a_release_whose_health_fails_is_rolled_back_and_the_play_says_why(fresh, released):
    run = run_playbook(fresh, *QUICK, *BAD_RELEASE)
    assert run.rc != 0
    assert serving(fresh) == {released: 100}
    assert edge_versions(fresh) == {(200, released): 10}
    message = run.output
    assert "Release of Worker books-api-local version " in message
    assert "failed: health gate error_rate failed at " in message
    assert "> 5.0% (" in message and "500 x" in message
    assert "Rolled back: version %s serves 100%% again (verified: " % released in message
    # The rollback is a deployment of its own, annotated with the reason.
    assert deployments(fresh)[0]["annotations"]["workers/message"].startswith("rollback (automatic) of ")


def test_rollback_playbook_restores_the_previous_version_and_twice_is_a_no_op(fresh, released, tmp_path):
    log = tmp_path / "rollbacks.log"
    deploy(fresh, "-e", "worker_release_tag=v2", "-e", '{"worker_rollout_steps": [100]}')
    [new] = serving(fresh)
    rollback_args = [*QUICK, "-e", "cfops_rollback_log=%s" % log]

    first = run_playbook(fresh, *rollback_args, playbook="playbooks/rollback.yml")
    assert first.rc == 0, first.output[-4000:]
    assert serving(fresh) == {released: 100}
    assert edge_versions(fresh) == {(200, released): 10}
    [record] = [json.loads(line) for line in log.read_text().splitlines()]
    assert record["worker"] == WORKER and record["from"] == [new] and record["to"] == released
    assert record["requested"] == "previous" and record["verified"] is True

    fresh.reset_calls()
    second = run_playbook(fresh, *rollback_args, playbook="playbooks/rollback.yml")
    assert second.rc == 0, second.output[-4000:]
    assert second.changed == 0 and fresh.calls()["writes"] == 0
    assert "already rolled back" in second.stdout
    assert serving(fresh) == {released: 100}
    assert len(log.read_text().splitlines()) == 1

    forward = run_playbook(fresh, *rollback_args, "-e", "version_id=%s" % new, playbook="playbooks/rollback.yml")
    assert forward.rc == 0, forward.output[-4000:]
    assert serving(fresh) == {new: 100}
    assert len(log.read_text().splitlines()) == 2


@pytest.mark.parametrize("playbook", ["playbooks/deploy.yml", "playbooks/rollback.yml"])
def test_prod_without_confirm_is_refused_before_any_call(fresh, playbook):
    run = run_playbook(fresh, playbook=playbook, inventory="inventories/prod")
    assert run.rc != 0
    assert "prod is protected: re-run with -e confirm=prod" in run.output
    assert fresh.calls()["reads"] == 0 and fresh.calls()["writes"] == 0


@pytest.mark.parametrize("steps, expected", [
    ('[10, {"new": 50, "old": 60}, 100]', 'step {"new": 50, "old": 60}: new + old = 110.0%, must total 100%'),
    ("[50, 25, 100]", "must be ascending shares of the new version"),
    ("[10, 50]", "ending at 100"),
])
def test_bad_rollout_steps_fail_before_any_call(fresh, steps, expected):
    run = run_playbook(fresh, "-e", '{"worker_rollout_steps": %s}' % steps)
    assert run.rc != 0
    assert expected in run.output
    assert fresh.calls()["writes"] == 0 and fresh.calls()["reads"] == 0
