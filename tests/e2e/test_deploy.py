"""playbooks/deploy.yml against the emulator: converges, is idempotent, plans honestly, survives restarts and faults."""
import json
import os

import httpx

from tests.e2e.conftest import REPO, run_playbook

WORKER = "books-api-local"
CACHE_TITLE = "books-api-local-cache"


def api(emulator, path, method="GET"):
    response = httpx.request(
        method, emulator.base_url + path.format(account=emulator.account_id),
        headers={"Authorization": "Bearer " + emulator.token}, timeout=10,
    )
    response.raise_for_status()
    return response.json()["result"]


def namespaces_titled(emulator, title):
    listed = api(emulator, "/accounts/{account}/storage/kv/namespaces?per_page=100")
    return [ns for ns in listed if ns["title"] == title]


def assert_deployed(emulator):
    settings = api(emulator, "/accounts/{account}/workers/scripts/%s/settings" % WORKER)
    bindings = {b["name"]: b for b in settings["bindings"]}
    cache = namespaces_titled(emulator, CACHE_TITLE)
    assert len(cache) == 1, "exactly one %s namespace, got %s" % (CACHE_TITLE, cache)
    assert bindings["CACHE"]["type"] == "kv_namespace"
    assert bindings["CACHE"]["namespace_id"] == cache[0]["id"]
    assert bindings["ENVIRONMENT"] == {"type": "plain_text", "name": "ENVIRONMENT", "text": "local"}
    assert bindings["CF_VERSION_METADATA"] == {"type": "version_metadata", "name": "CF_VERSION_METADATA"}
    assert bindings["API_KEY"]["type"] == "secret_text"
    assert "text" not in bindings["API_KEY"]
    assert settings["compatibility_date"] == "2024-09-23"
    secrets = api(emulator, "/accounts/{account}/workers/scripts/%s/secrets" % WORKER)
    assert [s["name"] for s in secrets] == ["API_KEY"]
    # The gate probes the workers.dev URL, which the release turned on (API uploads start with it off).
    assert api(emulator, "/accounts/{account}/workers/scripts/%s/subdomain" % WORKER)["enabled"] is True


def write_calls(emulator):
    return {(c["method"], c["route"]): c["count"] for c in emulator.calls()["calls"] if c["method"] != "GET"}


def test_first_deploy_creates_the_worker_and_second_run_changes_and_writes_nothing(fresh):
    first = run_playbook(fresh)
    assert first.rc == 0, first.output
    assert first.recap["books-api"]["changed"] == 1, first.recap   # one task: the release
    assert_deployed(fresh)
    # The namespace, the script upload (its version serves at once), workers.dev: then the gate at 100%.
    writes = write_calls(fresh)
    assert writes[("POST", "/accounts/{account_id}/storage/kv/namespaces")] == 1
    assert writes[("PUT", "/accounts/{account_id}/workers/scripts/{script_name}")] == 1
    assert "books-api-local: first deploy uploaded version " in first.stdout
    assert "books-api-local 100%     | probes new n=30 err 0% p95 " in first.stdout

    fresh.reset_calls()
    second = run_playbook(fresh)
    assert second.rc == 0, second.output
    assert second.changed == 0, second.recap
    calls = fresh.calls()
    assert calls["writes"] == 0, calls
    # Pre-flight in one pass: deployments, the serving version, the KV namespaces, the workers.dev switch.
    assert calls["reads"] <= 4, calls
    assert_deployed(fresh)


def test_restarting_the_emulator_between_runs_changes_nothing(fresh):
    assert run_playbook(fresh).rc == 0
    fresh.restart()
    fresh.reset_calls()
    again = run_playbook(fresh)
    assert again.rc == 0, again.output
    assert again.changed == 0, again.recap
    assert fresh.calls()["writes"] == 0
    assert_deployed(fresh)


def test_check_mode_on_an_empty_account_plans_the_worker_and_writes_nothing(fresh):
    run = run_playbook(fresh, "--check", "--diff")
    assert run.rc == 0, run.output
    assert run.changed >= 1
    assert fresh.calls()["writes"] == 0
    assert namespaces_titled(fresh, CACHE_TITLE) == []
    assert "books-api-local: would create KV namespace(s) books-api-local-cache; would create Worker books-api-local " \
           "(index.js, http.js; bindings CACHE, ENVIRONMENT, CF_VERSION_METADATA; secrets API_KEY), serving at once, " \
           "then gate it at 100%" in run.stdout
    # The diff shows the code it would upload, whole.
    assert "+++ b/index.js" in run.stdout and "+++ b/http.js" in run.stdout
    assert "+binding secret_text API_KEY (secret)" in run.stdout


def test_check_mode_after_a_deploy_reports_no_change(fresh):
    assert run_playbook(fresh).rc == 0
    fresh.reset_calls()
    run = run_playbook(fresh, "--check", "--diff")
    assert run.rc == 0, run.output
    assert run.changed == 0, run.recap
    assert fresh.calls()["writes"] == 0


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


def test_check_mode_with_diff_shows_the_changed_code_vars_and_secrets_by_name_and_writes_nothing(fresh, tmp_path):
    assert run_playbook(fresh).rc == 0
    fresh.reset_calls()
    run = run_playbook(fresh, "--check", "--diff", *changed_code_args(tmp_path), env={"BOOKS_API_KEY": "rotated-value"})
    assert run.rc == 0, run.output
    assert run.changed == 1, run.recap
    assert fresh.calls()["writes"] == 0
    out = run.stdout
    assert "would upload a version (fingerprint " in out and "smoke 0% -> 10% -> 25% -> 50% -> 100%" in out
    assert "--- a/index.js\n+++ b/index.js\n@@ " in out
    assert '-        worker: "books-api",\n+        worker: "books-api", flavour: "v2",' in out
    assert "http.js" not in out.split("+++ b/index.js")[1].split("+binding")[0]   # unchanged: not shown
    assert "+binding plain_text RELEASE text=2" in out
    assert "rotated-value" not in run.output


def test_check_mode_with_only_a_rotated_secret_says_a_secret_changed_by_name(fresh):
    assert run_playbook(fresh).rc == 0
    fresh.reset_calls()
    run = run_playbook(fresh, "--check", "--diff", env={"BOOKS_API_KEY": "rotated-value"})
    assert run.rc == 0 and run.changed == 1, run.output
    assert "secrets: a value changed (API_KEY;" in run.stdout
    assert "rotated-value" not in run.output and fresh.calls()["writes"] == 0


def test_a_code_change_uploads_one_version_and_deploys_each_step_once_then_settles(fresh, tmp_path):
    assert run_playbook(fresh).rc == 0
    code_args = changed_code_args(tmp_path)
    fresh.reset_calls()
    changed = run_playbook(fresh, *code_args)
    assert changed.rc == 0, changed.output
    assert changed.recap["books-api"]["changed"] == 1, changed.recap
    writes = write_calls(fresh)
    assert writes == {("POST", "/accounts/{account_id}/workers/scripts/{script_name}/versions"): 1,
                      ("POST", "/accounts/{account_id}/workers/scripts/{script_name}/deployments"): 5}, writes
    fresh.reset_calls()
    settled = run_playbook(fresh, *code_args)
    assert settled.changed == 0 and fresh.calls()["writes"] == 0
    # The secret set earlier survived the version upload.
    assert [s["name"] for s in api(fresh, "/accounts/{account}/workers/scripts/%s/secrets" % WORKER)] == ["API_KEY"]


COUNTER = ["-e", "worker_name=counter-do-local", "-e", '{"worker_additional_modules": [], "worker_kv_namespaces": [], '
           '"worker_secrets": {}, "worker_vars": {}}', "-e", "worker_gate_host_header=counter-do-local.cfops-local.workers.dev"]


def counter_release(version):
    classes = {"v1": "Counter", "v2": "Tally"}
    migrations = [{"tag": "v1", "new_sqlite_classes": ["Counter"]}]
    if version == "v2":
        migrations.append({"tag": "v2", "renamed_classes": [{"from": "Counter", "to": "Tally"}]})
    return COUNTER + ["-e", "worker_main_module=%s" % os.path.join(REPO, "examples", "counter-do", version, "index.js"),
                      "-e", json.dumps({"worker_durable_objects": [{"binding": "COUNTER", "class_name": classes[version]}],
                                        "worker_migrations": migrations})]


def test_a_migration_release_is_planned_in_check_mode_then_applied_once(fresh):
    edge = httpx.Client(base_url=fresh.edge_url, headers={"Host": "counter-do-local.cfops-local.workers.dev"}, trust_env=False)
    assert run_playbook(fresh, *counter_release("v1")).rc == 0
    assert edge.get("/count").json() == {"class": "Counter", "count": 1}
    fresh.reset_calls()
    plan = run_playbook(fresh, "--check", "--diff", *counter_release("v2"))
    assert plan.rc == 0, plan.output
    assert fresh.calls()["writes"] == 0
    assert "counter-do-local: would apply Durable Object migrations up to tag v2 with a full upload" in plan.stdout
    assert "migration tag: v1 -> v2" in plan.stdout
    applied = run_playbook(fresh, *counter_release("v2"))
    assert applied.rc == 0, applied.output
    assert "counter-do-local: migration uploaded version " in applied.stdout
    # The renamed class kept its data.
    assert edge.get("/count").json() == {"class": "Tally", "count": 2}
    fresh.reset_calls()
    again = run_playbook(fresh, *counter_release("v2"))
    assert again.rc == 0 and again.changed == 0 and fresh.calls()["writes"] == 0


def test_converges_with_rate_limits_on_half_the_calls_and_makes_no_duplicate(fresh):
    fresh.inject_fault(method="*", path="*", action="status", status=429, retry_after=1, every=2, count=1000)
    run = run_playbook(fresh)
    assert run.rc == 0, run.output
    assert fresh.calls()["faulted"] >= 3
    fresh.clear_faults()
    assert_deployed(fresh)


def test_converges_with_server_errors_on_half_the_calls_and_makes_no_duplicate(fresh):
    # 503 after the emulator applied the call: the client cannot know whether a create happened,
    # so it must look before it creates again.
    fresh.inject_fault(method="*", path="*", action="status", status=503, every=2, count=1000, apply=True)
    run = run_playbook(fresh)
    assert run.rc == 0, run.output
    assert fresh.calls()["faulted"] >= 3
    fresh.clear_faults()
    assert_deployed(fresh)


def test_a_dropped_connection_on_namespace_create_makes_no_duplicate(fresh):
    fresh.inject_fault(method="POST", path="/accounts/*/storage/kv/namespaces", action="drop", count=1, apply=True)
    run = run_playbook(fresh)
    assert run.rc == 0, run.output
    fresh.clear_faults()
    assert_deployed(fresh)


def test_deploy_with_security_enabled_also_configures_the_zone(fresh):
    first = run_playbook(fresh, "-e", "cfops_deploy_security=true")
    assert first.rc == 0, first.output
    assert first.recap["books-zone"]["changed"] > 0, first.output
    http = httpx.Client(base_url=fresh.base_url, headers={"Authorization": "Bearer " + fresh.token})
    (zone,) = http.get("/zones", params={"name": "example.com"}).json()["result"]
    ssl = http.get("/zones/%s/settings/ssl" % zone["id"]).json()["result"]
    assert ssl["value"] == "strict"
    fresh.reset_calls()
    second = run_playbook(fresh, "-e", "cfops_deploy_security=true")
    assert second.rc == 0, second.output
    assert second.changed == 0, second.output
    assert fresh.calls()["writes"] == 0
    # Without the switch the zone is left alone.
    plain = run_playbook(fresh)
    assert plain.rc == 0 and plain.recap["books-zone"]["ok"] == 0, plain.output
