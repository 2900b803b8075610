"""The release engine for real: playbooks/deploy.yml, rollback.yml and releases.yml against the emulator,
whose edge runs each deployed version of the example Worker (examples/books-api) in workerd.

What a user notices: the deployments made (and their order), which version the edge serves, the lines the
play prints, the API calls made. Windows, settle bounds and probe counts are short so the file stays fast;
nothing sleeps for a fixed time (the engine waits until a change is observed serving)."""
import contextlib
import hashlib
import json
import os
import pwd
import re
import subprocess
import threading
import time

import httpx
import pytest

from tests.e2e.conftest import BIN, REPO, run_playbook
from tests.e2e.traffic import Traffic
from tests.live.e2e import ANALYTICS_DELAY, PROPAGATION, bounded_seconds, clean_slate, worker_endpoint, write_inventory
from tests.support.target import live_requested

# Live, a release waits for propagation and for the analytics lag at its steps (tests/live/e2e.py bounds both).
pytestmark = pytest.mark.timeout(2400 if live_requested() else 600)

# Few probes: these tests judge behaviour; a release failing every request fails at any sample size.
QUICK = ["-e", "worker_gate_requests=10", "-e", "worker_gate_min_requests=10", "-e", "worker_gate_settle_seconds=10"]
FAILING_HEALTH = ["-e", '{"worker_vars": {"ENVIRONMENT": "local", "FAIL_HEALTH": "true"}}', "-e", "worker_release_tag=bad"]
STEP_LINE = r"^{name} {share:<8} \| probes {who} n=10 err 0% p95 \d+ ms{stable} \| pass \| [\d.]+ s$"


@pytest.fixture(scope="module")
def inventory(target, tmp_path_factory):
    return write_inventory(target, tmp_path_factory.mktemp("release") / "inventory")


@pytest.fixture
def fresh(target):
    """A target holding none of this run's objects (the emulator: no resources, faults or counts at all)."""
    clean_slate(target)
    yield target
    if target.is_emulator:
        target.emulator.clear_faults()


def waits(target):
    """``(propagation, analytics delay)`` in seconds: 0 on the emulator (it serves a change at once and answers
    the analytics at once), live the bounded waits of tests/live/e2e.py."""
    if target.is_emulator:
        return 0, 0
    return bounded_seconds(PROPAGATION), bounded_seconds(ANALYTICS_DELAY)


def quick(target):
    """QUICK, whose settle bound live is the propagation bound (the run's inventory)."""
    propagation, _delay = waits(target)
    return QUICK if target.is_emulator else QUICK[:-2] + ["-e", "worker_gate_settle_seconds=%d" % max(10, propagation)]


def play(target, inventory, *args, env=None, **kwargs):
    env = dict(env or {})
    if target.is_emulator:
        env.setdefault("CFOPS_EDGE_URL", target.emulator.edge_url)
    return run_playbook(target, *args, inventory=inventory, env=env, **kwargs)


def api(target, worker, path):
    response = httpx.get(target.base_url + "/accounts/%s/workers/scripts/%s%s" % (target.account_id, worker, path),
                         headers={"Authorization": "Bearer " + target.token}, timeout=30)
    response.raise_for_status()
    return response.json()["result"]


def deployments(target, worker):
    """Newest first."""
    return api(target, worker, "/deployments")["deployments"]


def splits(target, worker):
    """Every deployment's split, oldest first, as {version_id: percentage}."""
    return [{v["version_id"]: v["percentage"] for v in d["versions"]} for d in reversed(deployments(target, worker))]


def serving(target, worker):
    return splits(target, worker)[-1]


@contextlib.contextmanager
def users_client(target, names):
    """``(client, base URL)`` reaching the Worker as its users do (its Host header). On the emulator it returns once
    the edge serves every change made so far (the admin API); live, callers read again within the propagation bound."""
    base, host = worker_endpoint(target, names.worker)
    with httpx.Client(timeout=30, trust_env=base.startswith("https://"), headers={"Host": host}) as client:
        if target.is_emulator:
            emulator = target.emulator
            client.post(emulator.root_url + "/__emulator/edge/sync", headers=emulator.admin_headers(), timeout=60).raise_for_status()
        yield client, base


def users_get(target, names, path="/health", until=None):
    """What a user gets on ``path`` (the decoded JSON). The emulator's edge first serves every change made so far
    (its admin API); live, the answer is read again until ``until(answer)`` holds, within the propagation bound."""
    deadline = time.monotonic() + waits(target)[0]
    with users_client(target, names) as (client, base):
        while True:
            answer = client.get(base + path).json()
            if until is None or until(answer) or time.monotonic() >= deadline:
                return answer
            time.sleep(2)


def edge_versions(target, names, expected=None, requests=10):
    """What users get on /health: {(status, version the Worker reports): count}. Live, read again (within the
    propagation bound) until it is ``expected``; the caller asserts."""
    deadline = time.monotonic() + waits(target)[0]
    with users_client(target, names) as (client, base):
        while True:
            seen = {}
            for _request in range(requests):
                response = client.get(base + "/health")
                key = (response.status_code, response.json().get("version"))
                seen[key] = seen.get(key, 0) + 1
            if expected is None or seen == expected or time.monotonic() >= deadline:
                return seen
            time.sleep(2)


def gate_url(target, names):
    return worker_endpoint(target, names.worker)[0] + "/health"


def deploy(target, inventory, *args, **kwargs):
    run = play(target, inventory, *quick(target), *args, **kwargs)
    assert run.rc == 0, run.output[-4000:]
    return run


@pytest.fixture
def released(fresh, inventory, names):
    """The target with the example Worker's first release serving; yields its version id."""
    deploy(fresh, inventory)
    [version] = serving(fresh, names.worker)
    if fresh.is_emulator:
        fresh.emulator.reset_calls()
    return version


def test_a_release_is_smoke_tested_at_0_then_rolled_out_with_a_line_per_step_on_one_screen(fresh, inventory, names, only, released):
    worker = names.worker
    run = deploy(fresh, inventory, "-e", "worker_release_tag=v2")
    [new] = serving(fresh, worker)
    assert new != released
    # The new version first serves 0% (smoke-tested with the override header, no user reaches it), then the steps.
    assert splits(fresh, worker)[-5:] == [{new: 0, released: 100}, {new: 10, released: 90}, {new: 25, released: 75},
                                          {new: 50, released: 50}, {new: 100}]
    assert edge_versions(fresh, names, {(200, new): 10}) == {(200, new): 10}
    lines = run.stdout.splitlines()
    if not fresh.is_emulator:   # live, waits for propagation print progress lines: not counted as the rollout's
        lines = [line for line in lines if ": waiting for the split to serve (" not in line]
    assert "%s: gradual rollout of version %s (uploaded) over %s: smoke 0%% -> 10%% -> 25%% -> 50%% -> 100%%" \
        % (worker, new[:8], released[:8]) in lines
    stable = r", stable n=10 err 0% p95 \d+ ms"
    for share, who, other in (("smoke 0%", "new", stable), ("10%", "canary", stable), ("25%", "canary", stable),
                              ("50%", "canary", stable), ("100%", "new", "")):
        line_re = STEP_LINE.format(name=re.escape(worker), share=share, who=who, stable=other)
        assert any(re.match(line_re, line) for line in lines), (share, run.stdout)
    summary = [line for line in lines if line.startswith("%s: version %s serves 100%% (was %s)" % (worker, new[:8], released[:8]))]
    assert len(summary) == 1 and ", steps smoke 0/10/25/50/100%, " in summary[0]
    assert summary[0].endswith("URL %s" % gate_url(fresh, names))
    assert ".0%" not in run.stdout
    # The whole play, a 4-step rollout of one Worker, fits on a screen.
    assert len(lines) <= 45, "%d lines:\n%s" % (len(lines), run.stdout)

    only.reset_calls()
    again = deploy(fresh, inventory, "-e", "worker_release_tag=v2")
    assert again.changed == 0, again.recap
    only("the second run wrote nothing (call counts)", lambda emu: emu.calls()["writes"] == 0)
    assert "%s: version %s already serves 100%% (fingerprint " % (worker, new[:8]) in again.stdout
    assert "nothing written" in again.stdout
    assert serving(fresh, worker) == {new: 100}
    only.done()


def test_a_release_answering_5xx_is_stopped_by_the_smoke_test_before_any_user_and_rolled_back(fresh, inventory, names, released):
    worker = names.worker
    run = play(fresh, inventory, *quick(fresh), *FAILING_HEALTH)
    assert run.rc != 0
    assert serving(fresh, worker) == {released: 100}
    assert edge_versions(fresh, names, {(200, released): 10}) == {(200, released): 10}
    # The new version never had a share: no user reached it.
    history = splits(fresh, worker)
    new = [v for split in history for v in split if v != released]
    assert new and all(split.get(new[0], 0) == 0 for split in history)
    assert "failed at smoke 0%: probes: error rate 100% > 5% (10 of 10 requests" in run.output
    assert "probe failures: status 500 x10" in run.output
    assert "Rolled back: version %s serves 100%% again (verified: 10 of 10 responses from it)" % released in run.output
    assert deployments(fresh, worker)[0]["annotations"]["workers/message"].startswith("rollback (automatic) of ")


def test_a_release_that_throws_for_users_is_caught_by_traffic_analysis_at_the_first_step(fresh, inventory, names, released):
    # Users call /books/1 at a fixed rate; half of the new version's invocations throw (ERROR_RATE), which the
    # analytics count as errors. Its /health still answers: the smoke test passes, the traffic catches it.
    # Live, the analysis reads only what Cloudflare has aggregated (the inventory's worker_analysis_delay), so the
    # users' traffic runs that much longer.
    worker = names.worker
    propagation, delay = waits(fresh)
    analysis = ["-e", "worker_gate=analysis", "-e", "worker_analysis_window=2", "-e", "worker_analysis_min_requests=10",
                "-e", '{"worker_vars": {"ENVIRONMENT": "local", "ERROR_RATE": "0.5"}}']
    base, host = worker_endpoint(fresh, worker)
    with Traffic(base, host, rate=40, limit=120 + delay + 2 * propagation) as users:
        started = time.time()
        run = play(fresh, inventory, *quick(fresh), *analysis)
    assert run.rc != 0, run.output[-3000:]
    assert serving(fresh, worker) == {released: 100}
    assert re.search(r"^%s smoke 0%% +\| probes new n=10 err 0%% .*\| pass \|" % re.escape(worker), run.stdout, re.M), run.stdout
    assert re.search(r"^%s 10%% +\| traffic canary n=\d+ err [\d.]+%% p99 \d+ ms, stable n=\d+ err 0%% p99 \d+ ms "
                     r"\| fail \|" % re.escape(worker), run.stdout, re.M), run.stdout
    assert "failed at 10%: traffic: error rate " in run.output
    assert max(split.get(v, 0) for split in splits(fresh, worker) for v in split if v != released) == 10
    # The blast radius: a few of the users' requests failed, all while the canary had 10%.
    failed = users.failed(since=started)
    if fresh.is_emulator:
        assert 1 <= len(failed) <= 40, len(failed)
    else:   # the canary serves 10% for as long as the analysis waits: at most 10% of the requests (half of 10% expected)
        sent = [sample for sample in users.samples if sample[0] >= started]
        assert 1 <= len(failed) <= 0.1 * len(sent), (len(failed), len(sent))


def start_deploy(target, inventory, *args):
    """playbooks/deploy.yml in the background (another job); ``.communicate()`` gives its output."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""), CLOUDFLARE_API_BASE_URL=target.base_url,
               CLOUDFLARE_API_TOKEN=target.token, CLOUDFLARE_ACCOUNT_ID=target.account_id)
    if target.is_emulator:
        env["CFOPS_EDGE_URL"] = target.emulator.edge_url
    return subprocess.Popen([os.path.join(BIN, "ansible-playbook"), "playbooks/deploy.yml", "-i", inventory,
                             *quick(target), *args], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish_together(jobs, timeout=300):
    """Wait for background jobs read side by side; ``(outputs, finish times)``, each time when that job ended
    (reading them one after the other would date a job that ended first by when the other one did)."""
    outputs, finished = [None] * len(jobs), [None] * len(jobs)

    def read(index):
        outputs[index] = jobs[index].communicate(timeout=timeout)[0]
        finished[index] = time.monotonic()

    readers = [threading.Thread(target=read, args=(index,)) for index in range(len(jobs))]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(timeout + 10)
    assert None not in finished, "a job did not finish within %ss" % timeout
    return outputs, finished


def wait_until(predicate, timeout=120, interval=0.1):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(interval)


def poll_interval(target):
    """How often a test reads the deployments while a job runs: live, within Cloudflare's API rate limit."""
    return 0.1 if target.is_emulator else 2.0


def job_bound(target, seconds):
    """How long to wait for a job: ``seconds`` on the emulator, plus a propagation wait per step live."""
    propagation, delay = waits(target)
    return seconds + 6 * propagation + delay


def release_args(name):
    return ["-e", "worker_release_tag=%s" % name, "-e", '{"worker_vars": {"ENVIRONMENT": "local", "RELEASE": "%s"}}' % name]


# Each step also waits out a short traffic-analysis window, so the release is under way for a few seconds (a timing
# device, not a judgement: no analytics delay, and too little traffic passes).
# Live the window is longer than the tests' poll of the deployments (poll_interval), so they see the release under way.
def slow_gate(target):
    window = 1 if target.is_emulator else 15
    return ["-e", "worker_gate=both", "-e", "worker_analysis_window=%d" % window, "-e", "worker_analysis_max_window=%d" % window,
            "-e", "worker_analysis_min_requests=1", "-e", "worker_analysis_delay=0", "-e", "worker_gate_on_insufficient=pass"]


def never_reverted(history, released):
    """Once a new release served 100%, the version from before never served 100% again."""
    full = [i for i, split in enumerate(history) if list(split.values()) == [100] and released not in split]
    return bool(full) and all(split != {released: 100} for split in history[full[0]:])


def test_a_second_job_waits_for_the_release_under_way_then_releases_over_it(fresh, inventory, names, released):
    worker = names.worker
    first = start_deploy(fresh, inventory, *release_args("a"), *slow_gate(fresh))
    wait_until(lambda: len(serving(fresh, worker)) == 2, timeout=job_bound(fresh, 120),
               interval=poll_interval(fresh))   # the first job's release is under way
    second = start_deploy(fresh, inventory, *release_args("b"))
    (first_out, second_out), _finished = finish_together([first, second], timeout=job_bound(fresh, 300))
    assert first.returncode == 0, first_out[-3000:]
    assert second.returncode == 0, second_out[-3000:]
    assert "%s: waiting for another release to finish (deployment " % worker in second_out, first_out + second_out
    history = splits(fresh, worker)
    a_version = next(v for split in history for v in split if v != released)
    [b_version] = serving(fresh, worker)
    assert "over %s" % a_version[:8] in second_out, second_out
    # The first job's rollout ran to 100% untouched, then the second's began from there.
    assert history[-10:] == [{a_version: 0, released: 100}, {a_version: 10, released: 90}, {a_version: 25, released: 75},
                             {a_version: 50, released: 50}, {a_version: 100},
                             {b_version: 0, a_version: 100}, {b_version: 10, a_version: 90}, {b_version: 25, a_version: 75},
                             {b_version: 50, a_version: 50}, {b_version: 100}], history
    assert edge_versions(fresh, names, {(200, b_version): 10}) == {(200, b_version): 10}


def test_two_jobs_started_at_once_neither_undoes_the_other(fresh, inventory, names, released):
    worker = names.worker
    jobs = [start_deploy(fresh, inventory, *release_args("a")), start_deploy(fresh, inventory, *release_args("b"))]
    outputs, finished = finish_together(jobs, timeout=job_bound(fresh, 300))
    history = splits(fresh, worker)
    [final] = serving(fresh, worker)
    assert edge_versions(fresh, names, {(200, final): 10}) == {(200, final): 10}
    assert never_reverted(history, released), history
    # A job that succeeded says so and the last one to succeed is what serves; one that did not says why.
    good = [(at, out) for at, out, job in zip(finished, outputs, jobs) if job.returncode == 0]
    assert good, outputs
    assert "%s: version %s serves 100%%" % (worker, final[:8]) in max(good)[1], outputs
    for job, out in zip(jobs, outputs):
        if job.returncode != 0:
            assert "another job" in out or "another release" in out, out[-3000:]


def test_a_failed_gate_does_not_roll_back_over_another_jobs_deployment(fresh, inventory, names, released):
    worker = names.worker
    deploy(fresh, inventory, *release_args("v2"), "-e", '{"worker_rollout_steps": [100]}')
    [stable] = serving(fresh, worker)
    # The release's analysis never gets the traffic it needs: its gate fails once the window is over (live, after
    # the inventory's analytics delay too, while the hand deployment below is made).
    undecided = ["-e", "worker_gate=analysis", "-e", "worker_analysis_window=3", "-e", "worker_analysis_max_window=3",
                 "-e", "worker_analysis_min_requests=100000", "-e", "worker_gate_on_insufficient=fail"]
    job = start_deploy(fresh, inventory, *release_args("v3"), *undecided)
    wait_until(lambda: len(serving(fresh, worker)) == 2 and max(serving(fresh, worker).values()) == 90,
               timeout=job_bound(fresh, 120), interval=poll_interval(fresh))   # at 10%
    # Meanwhile someone else (another pipeline, a hand rollback) deploys the first version.
    hand = httpx.post(fresh.base_url + "/accounts/%s/workers/scripts/%s/deployments" % (fresh.account_id, worker),
                      params={"force": "true"}, headers={"Authorization": "Bearer " + fresh.token}, timeout=30,
                      json={"strategy": "percentage", "versions": [{"version_id": released, "percentage": 100}],
                            "annotations": {"workers/message": "hotfix by hand"}})
    hand.raise_for_status()
    out = job.communicate(timeout=job_bound(fresh, 300))[0]
    assert job.returncode != 0
    assert "failed at 10%: traffic: " in out
    assert "Not rolled back, so as not to undo another job's release: " in out
    assert "hotfix by hand" in out
    assert serving(fresh, worker) == {released: 100} and stable != released
    assert deployments(fresh, worker)[0]["annotations"]["workers/message"] == "hotfix by hand"


def test_a_rotated_secret_is_released_through_the_gates_and_the_next_deploy_keeps_it(fresh, inventory, names, only, tmp_path):
    # A Worker that shows a digest of its secret on /health (never the value), so the test sees what users get.
    main = tmp_path / "index.js"
    main.write_text("""export default { async fetch(request, env) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(env.API_KEY || ""));
  const key = [...new Uint8Array(digest)].slice(0, 4).map((b) => b.toString(16).padStart(2, "0")).join("");
  return Response.json({ ok: true, version: env.CF_VERSION_METADATA.id, key });
} };
""")
    code = ["-e", "worker_main_module=%s" % main, "-e", '{"worker_additional_modules": []}']

    def key_served(until=None):
        return users_get(fresh, names, until=until)

    deploy(fresh, inventory, *code, env={"BOOKS_API_KEY": "first-value"})
    before = key_served(until=lambda answer: answer.get("key") == hashlib.sha256(b"first-value").hexdigest()[:8])
    assert before["key"] == hashlib.sha256(b"first-value").hexdigest()[:8]
    rotated = deploy(fresh, inventory, *code, env={"BOOKS_API_KEY": "second-value"})
    after = key_served(until=lambda answer: answer.get("version") != before["version"])
    assert after["version"] != before["version"] and after["key"] == hashlib.sha256(b"second-value").hexdigest()[:8]
    assert "%s smoke 0%%" % names.worker in rotated.stdout and "%s 10%%" % names.worker in rotated.stdout
    assert "second-value" not in rotated.output and "first-value" not in rotated.output
    only.reset_calls()
    again = deploy(fresh, inventory, *code, env={"BOOKS_API_KEY": "second-value"})
    assert again.changed == 0, again.recap
    only("the next deploy wrote nothing (call counts)", lambda emu: emu.calls()["writes"] == 0)
    assert key_served() == after
    only.done()


def rollback(target, inventory, *args, env=None):
    return play(target, inventory, *quick(target), *args, playbook="playbooks/rollback.yml", env=env)


def test_rollback_playbook_restores_the_previous_version_logs_who_and_twice_is_a_no_op(
        fresh, inventory, names, only, released, tmp_path, monkeypatch):
    worker = names.worker
    log = tmp_path / "rollbacks.log"
    deploy(fresh, inventory, "-e", "worker_release_tag=v2", "-e", '{"worker_rollout_steps": [100]}')
    [new] = serving(fresh, worker)
    # Cron jobs and containers often have neither USER nor LOGNAME: the log still names the OS account.
    monkeypatch.delenv("USER", raising=False)
    monkeypatch.delenv("LOGNAME", raising=False)
    first = rollback(fresh, inventory, "-e", "cfops_rollback_log=%s" % log)
    assert first.rc == 0, first.output[-4000:]
    assert serving(fresh, worker) == {released: 100}
    assert edge_versions(fresh, names, {(200, released): 10}) == {(200, released): 10}
    [record] = [json.loads(line) for line in log.read_text().splitlines()]
    assert record["worker"] == worker and record["from"] == [new] and record["to"] == released
    assert record["requested"] == "previous" and record["verified"] is True
    assert record["user"] == pwd.getpwuid(os.getuid()).pw_name

    only.reset_calls()
    second = rollback(fresh, inventory, "-e", "cfops_rollback_log=%s" % log)
    assert second.rc == 0, second.output[-4000:]
    assert second.changed == 0, second.recap
    only("the second rollback wrote nothing (call counts)", lambda emu: emu.calls()["writes"] == 0)
    assert "already rolled back" in second.stdout
    assert len(log.read_text().splitlines()) == 1

    forward = rollback(fresh, inventory, "-e", "cfops_rollback_log=%s" % log, "-e", "version_id=%s" % new, "-e", "awx_user_name=alice")
    assert forward.rc == 0, forward.output[-4000:]
    assert serving(fresh, worker) == {new: 100}
    assert [json.loads(line)["user"] for line in log.read_text().splitlines()][1] == "alice"
    only.done()


def test_releases_playbook_lists_versions_and_deployments_in_one_command(fresh, inventory, names, only, released):
    worker = names.worker
    deploy(fresh, inventory, "-e", "worker_release_tag=v2", "-e", '{"worker_rollout_steps": [100]}')
    [new] = serving(fresh, worker)
    only.reset_calls()
    run = play(fresh, inventory, playbook="playbooks/releases.yml")
    assert run.rc == 0, run.output[-3000:]
    only("listing wrote nothing (call counts)", lambda emu: emu.calls()["writes"] == 0)
    out = run.stdout
    current = deployments(fresh, worker)[0]
    assert "* %s" % current["id"] in out and "%s 100%%" % new in out
    assert re.search(r"\* #\d+  %s  \S+  tag v2" % new, out), out
    assert re.search(r"   #\d+  %s  " % released, out), out
    assert "roll back: ansible-playbook playbooks/rollback.yml -i <inventory> -l books-api -e version_id=<id>" in out
    only.done()


def test_a_probe_that_cannot_connect_names_the_cause_and_the_release_is_rolled_back(fresh, inventory, names, released):
    closed = "http://127.0.0.1:9/health"  # the discard port: nothing listens on loopback
    run = play(fresh, inventory, *QUICK, "-e", "worker_gate_url=%s" % closed, "-e", "worker_gate_settle_seconds=1",
               "-e", "worker_release_tag=v2")
    assert run.rc != 0
    assert "was not observed serving within 1 s" in run.output
    assert "connection failed x2 (ConnectError: " in run.output
    assert serving(fresh, names.worker) == {released: 100}


@pytest.mark.parametrize("playbook", ["playbooks/deploy.yml", "playbooks/rollback.yml"])
def test_prod_without_confirm_is_refused_before_any_call(fresh, only, playbook):
    run = run_playbook(fresh, playbook=playbook, inventory="inventories/prod")
    assert run.rc != 0
    assert "prod is protected: re-run with -e confirm=prod" in run.output
    only("no call was made (call counts)", lambda emu: emu.calls()["reads"] == 0 and emu.calls()["writes"] == 0)
    only.done()


@pytest.mark.parametrize("steps, expected", [
    ('[10, {"new": 50, "old": 60}, 100]', 'step {"new": 50, "old": 60}: new + old = 110%, must total 100%'),
    ("[50, 25, 100]", "must be ascending shares of the new version"),
    ("[10, 50]", "ending at 100"),
])
def test_bad_rollout_steps_fail_before_any_call(fresh, inventory, only, steps, expected):
    run = play(fresh, inventory, "-e", '{"worker_rollout_steps": %s}' % steps)
    assert run.rc != 0
    assert expected in run.output
    only("no call was made (call counts)", lambda emu: emu.calls()["writes"] == 0 and emu.calls()["reads"] == 0)
    only.done()
