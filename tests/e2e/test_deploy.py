"""playbooks/deploy.yml against the emulator: converges, is idempotent, plans honestly, survives restarts and faults.

Live-capable (docs/dev/live-mode.md): the inventory is a run-prefixed copy of inventories/local (tests/live/e2e.py),
whose gates probe the Worker's workers.dev URL live and wait (bounded) for it to propagate; every object the run
made is deleted before and after each test. Call counts, the emulator's restart and fault injection are the
emulator's (skipped live, named); the zone-wide security play changes the whole test zone, so it runs on the
emulator only.
"""
import json
import os

import httpx
import pytest

from tests.e2e.conftest import PAID_ZONE, REPO, run_playbook
from tests.live.e2e import clean_slate, worker_endpoint, write_inventory
from tests.support.target import live_requested

if live_requested():   # live, each release waits (bounded) for propagation at its gates
    pytestmark = pytest.mark.timeout(1800)


@pytest.fixture(scope="module")
def inventory(target, tmp_path_factory):
    return write_inventory(target, tmp_path_factory.mktemp("deploy") / "inventory")


@pytest.fixture
def fresh(target):
    """A target holding none of this run's objects (the emulator: no resources, faults or counts at all)."""
    clean_slate(target)
    yield target
    if target.is_emulator:
        target.emulator.clear_faults()


def play(target, inventory, *args, env=None, **kwargs):
    """playbooks/deploy.yml (by default) with the run's inventory; on the emulator its gates probe the edge."""
    env = dict(env or {})
    if target.is_emulator:
        env.setdefault("CFOPS_EDGE_URL", target.emulator.edge_url)
    return run_playbook(target, *args, inventory=inventory, env=env, **kwargs)


def api(target, path, method="GET"):
    response = httpx.request(
        method, target.base_url + path.format(account=target.account_id),
        headers={"Authorization": "Bearer " + target.token}, timeout=30,
    )
    response.raise_for_status()
    return response.json()["result"]


def namespaces_titled(target, title):
    listed = api(target, "/accounts/{account}/storage/kv/namespaces?per_page=100")
    return [ns for ns in listed if ns["title"] == title]


def assert_deployed(target, names):
    worker = names.worker
    settings = api(target, "/accounts/{account}/workers/scripts/%s/settings" % worker)
    bindings = {b["name"]: b for b in settings["bindings"]}
    cache = namespaces_titled(target, names.cache)
    assert len(cache) == 1, "exactly one %s namespace, got %s" % (names.cache, cache)
    assert bindings["CACHE"]["type"] == "kv_namespace"
    assert bindings["CACHE"]["namespace_id"] == cache[0]["id"]
    assert bindings["ENVIRONMENT"] == {"type": "plain_text", "name": "ENVIRONMENT", "text": "local"}
    assert bindings["CF_VERSION_METADATA"] == {"type": "version_metadata", "name": "CF_VERSION_METADATA"}
    assert bindings["API_KEY"]["type"] == "secret_text"
    assert "text" not in bindings["API_KEY"]
    assert settings["compatibility_date"] == "2024-09-23"
    secrets = api(target, "/accounts/{account}/workers/scripts/%s/secrets" % worker)
    assert [s["name"] for s in secrets] == ["API_KEY"]
    # The gate probes the workers.dev URL, which the release turned on (API uploads start with it off).
    assert api(target, "/accounts/{account}/workers/scripts/%s/subdomain" % worker)["enabled"] is True


def write_calls(emulator):
    return {(c["method"], c["route"]): c["count"] for c in emulator.calls()["calls"] if c["method"] != "GET"}


def first_deploy_writes(emulator):
    writes = write_calls(emulator)
    return (writes[("POST", "/accounts/{account_id}/storage/kv/namespaces")] == 1
            and writes[("PUT", "/accounts/{account_id}/workers/scripts/{script_name}")] == 1)


def deployment_count(target, worker):
    return len(api(target, "/accounts/{account}/workers/scripts/%s/deployments" % worker)["deployments"])


def test_first_deploy_creates_the_worker_and_second_run_changes_and_writes_nothing(fresh, inventory, names, only):
    first = play(fresh, inventory)
    assert first.rc == 0, first.output
    assert first.recap["books-api"]["changed"] == 1, first.recap   # one task: the release
    assert_deployed(fresh, names)
    # The namespace, the script upload (its version serves at once), workers.dev: then the gate at 100%.
    only("the first deploy created one namespace and uploaded the script once (call counts)", first_deploy_writes)
    assert "%s: first deploy uploaded version " % names.worker in first.stdout
    assert "%s 100%%     | probes new n=30 err 0%% p95 " % names.worker in first.stdout

    only.reset_calls()
    second = play(fresh, inventory)
    assert second.rc == 0, second.output
    assert second.changed == 0, second.recap
    only("the second run wrote nothing (call counts)", lambda emu: emu.calls()["writes"] == 0)
    # Pre-flight in one pass: deployments, the serving version, the KV namespaces, the workers.dev switch.
    only("the second run's pre-flight made at most 4 reads (call counts)", lambda emu: emu.calls()["reads"] <= 4)
    assert_deployed(fresh, names)
    only.done()


def test_restarting_the_emulator_between_runs_changes_nothing(fresh, inventory, names):
    emulator = fresh.require_emulator("restarting the emulator between runs")
    assert play(fresh, inventory).rc == 0
    emulator.restart()
    emulator.reset_calls()
    again = play(fresh, inventory)
    assert again.rc == 0, again.output
    assert again.changed == 0, again.recap
    assert emulator.calls()["writes"] == 0
    assert_deployed(fresh, names)


def test_check_mode_on_an_empty_account_plans_the_worker_and_writes_nothing(fresh, inventory, names, only):
    run = play(fresh, inventory, "--check", "--diff")
    assert run.rc == 0, run.output
    assert run.changed >= 1
    only("check mode wrote nothing (call counts)", lambda emu: emu.calls()["writes"] == 0)
    assert namespaces_titled(fresh, names.cache) == []
    assert "%s: would create KV namespace(s) %s; would create Worker %s " \
           "(index.js, http.js; bindings CACHE, ENVIRONMENT, CF_VERSION_METADATA; secrets API_KEY), serving at once, " \
           "then gate it at 100%%" % (names.worker, names.cache, names.worker) in run.stdout
    # The diff shows the code it would upload, whole.
    assert "+++ b/index.js" in run.stdout and "+++ b/http.js" in run.stdout
    assert "+binding secret_text API_KEY (secret)" in run.stdout
    only.done()


def test_check_mode_after_a_deploy_reports_no_change(fresh, inventory, names, only):
    assert play(fresh, inventory).rc == 0
    only.reset_calls()
    run = play(fresh, inventory, "--check", "--diff")
    assert run.rc == 0, run.output
    assert run.changed == 0, run.recap
    only("check mode wrote nothing (call counts)", lambda emu: emu.calls()["writes"] == 0)
    only.done()


def changed_code_args(tmp_path):
    """Extra vars that release the example's code with one changed line and a new variable."""
    for name in ("index.js", "http.js"):
        source = open(os.path.join(REPO, "examples", "books-api", "src", name)).read()
        if name == "index.js":
            source = source.replace('worker: "books-api",', 'worker: "books-api", flavour: "v2",')
        (tmp_path / name).write_text(source)
    return ["-e", "worker_main_module=%s" % (tmp_path / "index.js"),
            "-e", '{"worker_additional_modules": ["%s"]}' % (tmp_path / "http.js"),
            "-e", '{"worker_vars": {"ENVIRONMENT": "local", "RELEASE": "2"}}']


def test_check_mode_with_diff_shows_the_changed_code_vars_and_secrets_by_name_and_writes_nothing(fresh, inventory, only, tmp_path):
    assert play(fresh, inventory).rc == 0
    only.reset_calls()
    run = play(fresh, inventory, "--check", "--diff", *changed_code_args(tmp_path), env={"BOOKS_API_KEY": "rotated-value"})
    assert run.rc == 0, run.output
    assert run.changed == 1, run.recap
    only("check mode wrote nothing (call counts)", lambda emu: emu.calls()["writes"] == 0)
    out = run.stdout
    assert "would upload a version (fingerprint " in out and "smoke 0% -> 10% -> 25% -> 50% -> 100%" in out
    assert "--- a/index.js\n+++ b/index.js\n@@ " in out
    assert '-        worker: "books-api",\n+        worker: "books-api", flavour: "v2",' in out
    assert "http.js" not in out.split("+++ b/index.js")[1].split("+binding")[0]   # unchanged: not shown
    assert "+binding plain_text RELEASE text=2" in out
    assert "rotated-value" not in run.output
    only.done()


def test_check_mode_with_only_a_rotated_secret_says_a_secret_changed_by_name(fresh, inventory, only):
    assert play(fresh, inventory).rc == 0
    only.reset_calls()
    run = play(fresh, inventory, "--check", "--diff", env={"BOOKS_API_KEY": "rotated-value"})
    assert run.rc == 0 and run.changed == 1, run.output
    assert "secrets: a value changed (API_KEY;" in run.stdout
    assert "rotated-value" not in run.output
    only("check mode wrote nothing (call counts)", lambda emu: emu.calls()["writes"] == 0)
    only.done()


def test_a_code_change_uploads_one_version_and_deploys_each_step_once_then_settles(fresh, inventory, names, only, tmp_path):
    assert play(fresh, inventory).rc == 0
    code_args = changed_code_args(tmp_path)
    deployed_before = deployment_count(fresh, names.worker)
    only.reset_calls()
    changed = play(fresh, inventory, *code_args)
    assert changed.rc == 0, changed.output
    assert changed.recap["books-api"]["changed"] == 1, changed.recap
    only("the release uploaded one version and made 5 deployments (call counts)", lambda emu: write_calls(emu) == {
        ("POST", "/accounts/{account_id}/workers/scripts/{script_name}/versions"): 1,
        ("POST", "/accounts/{account_id}/workers/scripts/{script_name}/deployments"): 5})
    # What the API shows: one deployment per step (smoke 0%, 10, 25, 50, 100%).
    assert deployment_count(fresh, names.worker) == deployed_before + 5
    only.reset_calls()
    settled = play(fresh, inventory, *code_args)
    assert settled.rc == 0 and settled.changed == 0, settled.output
    only("the settled run wrote nothing (call counts)", lambda emu: emu.calls()["writes"] == 0)
    # The secret set earlier survived the version upload.
    assert [s["name"] for s in api(fresh, "/accounts/{account}/workers/scripts/%s/secrets" % names.worker)] == ["API_KEY"]
    only.done()


COUNTER_VARS = '{"worker_additional_modules": [], "worker_kv_namespaces": [], "worker_secrets": {}, "worker_vars": {}}'


def counter_release(names, version):
    classes = {"v1": "Counter", "v2": "Tally"}
    migrations = [{"tag": "v1", "new_sqlite_classes": ["Counter"]}]
    if version == "v2":
        migrations.append({"tag": "v2", "renamed_classes": [{"from": "Counter", "to": "Tally"}]})
    # The gate's URL and Host header follow worker_name (the run's inventory).
    return ["-e", "worker_name=%s" % names.counter, "-e", COUNTER_VARS,
            "-e", "worker_main_module=%s" % os.path.join(REPO, "examples", "counter-do", version, "index.js"),
            "-e", json.dumps({"worker_durable_objects": [{"binding": "COUNTER", "class_name": classes[version]}],
                              "worker_migrations": migrations})]


def test_a_migration_release_is_planned_in_check_mode_then_applied_once(fresh, inventory, names, only):
    base, host = worker_endpoint(fresh, names.counter)
    edge = httpx.Client(base_url=base, headers={"Host": host}, trust_env=base.startswith("https://"), timeout=30)
    assert play(fresh, inventory, *counter_release(names, "v1")).rc == 0
    assert edge.get("/count").json() == {"class": "Counter", "count": 1}
    only.reset_calls()
    plan = play(fresh, inventory, "--check", "--diff", *counter_release(names, "v2"))
    assert plan.rc == 0, plan.output
    only("check mode wrote nothing (call counts)", lambda emu: emu.calls()["writes"] == 0)
    assert "%s: would apply Durable Object migrations up to tag v2 with a full upload" % names.counter in plan.stdout
    assert "migration tag: v1 -> v2" in plan.stdout
    applied = play(fresh, inventory, *counter_release(names, "v2"))
    assert applied.rc == 0, applied.output
    assert "%s: migration uploaded version " % names.counter in applied.stdout
    # The renamed class kept its data.
    assert edge.get("/count").json() == {"class": "Tally", "count": 2}
    only.reset_calls()
    again = play(fresh, inventory, *counter_release(names, "v2"))
    assert again.rc == 0 and again.changed == 0, again.output
    only("the third run wrote nothing (call counts)", lambda emu: emu.calls()["writes"] == 0)
    only.done()


def test_converges_with_rate_limits_on_half_the_calls_and_makes_no_duplicate(fresh, inventory, names):
    emulator = fresh.require_emulator("fault injection (429 on half the calls)")
    emulator.inject_fault(method="*", path="*", action="status", status=429, retry_after=1, every=2, count=1000)
    run = play(fresh, inventory)
    assert run.rc == 0, run.output
    assert emulator.calls()["faulted"] >= 3
    emulator.clear_faults()
    assert_deployed(fresh, names)


def test_converges_with_server_errors_on_half_the_calls_and_makes_no_duplicate(fresh, inventory, names):
    emulator = fresh.require_emulator("fault injection (503 after applying half the calls)")
    # 503 after the emulator applied the call: the client cannot know whether a create happened,
    # so it must look before it creates again.
    emulator.inject_fault(method="*", path="*", action="status", status=503, every=2, count=1000, apply=True)
    run = play(fresh, inventory)
    assert run.rc == 0, run.output
    assert emulator.calls()["faulted"] >= 3
    emulator.clear_faults()
    assert_deployed(fresh, names)


def test_a_dropped_connection_on_namespace_create_makes_no_duplicate(fresh, inventory, names):
    emulator = fresh.require_emulator("fault injection (a dropped connection)")
    emulator.inject_fault(method="POST", path="/accounts/*/storage/kv/namespaces", action="drop", count=1, apply=True)
    run = play(fresh, inventory)
    assert run.rc == 0, run.output
    emulator.clear_faults()
    assert_deployed(fresh, names)


def test_deploy_with_security_enabled_also_configures_the_zone(fresh, inventory):
    # Live this would rewrite the whole test zone (exclusive edge security, SSL strict, its DNS): not the run's objects.
    # Health checks need a paid zone: the security play runs on the session emulator's Pro zone.
    emulator = fresh.require_emulator("the security play configures the whole zone, not only the run's objects")
    first = play(fresh, inventory, "-e", "cfops_deploy_security=true", "-e", "edge_security_zone=" + PAID_ZONE)
    assert first.rc == 0, first.output
    assert first.recap["books-zone"]["changed"] > 0, first.output
    http = httpx.Client(base_url=emulator.base_url, headers={"Authorization": "Bearer " + emulator.token})
    (zone,) = http.get("/zones", params={"name": PAID_ZONE}).json()["result"]
    ssl = http.get("/zones/%s/settings/ssl" % zone["id"]).json()["result"]
    assert ssl["value"] == "strict"
    emulator.reset_calls()
    second = play(fresh, inventory, "-e", "cfops_deploy_security=true", "-e", "edge_security_zone=" + PAID_ZONE)
    assert second.rc == 0, second.output
    assert second.changed == 0, second.output
    assert emulator.calls()["writes"] == 0
    # Without the switch the zone is left alone.
    plain = play(fresh, inventory)
    assert plain.rc == 0 and plain.recap["books-zone"]["ok"] == 0, plain.output
