"""playbooks/deploy.yml against the emulator: converges, is idempotent, survives restarts and faults."""
import httpx

from tests.e2e.conftest import run_playbook

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
    assert bindings["API_KEY"]["type"] == "secret_text"
    assert "text" not in bindings["API_KEY"]
    assert settings["compatibility_date"] == "2024-09-23"
    secrets = api(emulator, "/accounts/{account}/workers/scripts/%s/secrets" % WORKER)
    assert [s["name"] for s in secrets] == ["API_KEY"]


def test_first_deploy_creates_the_worker_and_second_run_changes_and_writes_nothing(fresh):
    first = run_playbook(fresh)
    assert first.rc == 0, first.output
    assert first.changed >= 3, first.recap  # namespace, script, secret
    assert_deployed(fresh)
    written = fresh.calls()["writes"]
    assert written >= 3

    fresh.reset_calls()
    second = run_playbook(fresh)
    assert second.rc == 0, second.output
    assert second.changed == 0, second.recap
    calls = fresh.calls()
    assert calls["writes"] == 0, calls
    assert calls["reads"] > 0
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


def test_check_mode_on_an_empty_account_writes_nothing(fresh):
    run = run_playbook(fresh, "--check", "--diff")
    assert run.rc == 0, run.output
    assert run.changed >= 1
    assert fresh.calls()["writes"] == 0
    assert namespaces_titled(fresh, CACHE_TITLE) == []


def test_check_mode_after_a_deploy_reports_no_change(fresh):
    assert run_playbook(fresh).rc == 0
    fresh.reset_calls()
    run = run_playbook(fresh, "--check", "--diff")
    assert run.rc == 0, run.output
    assert run.changed == 0, run.recap
    assert fresh.calls()["writes"] == 0


def replaced_code_args(tmp_path):
    """Extra vars that deploy a one-module v2 of the Worker instead of the example's code."""
    main = tmp_path / "index.js"
    main.write_text('export default { fetch() { return new Response("v2"); } };\n')
    return ["-e", "worker_main_module=%s" % main, "-e", '{"worker_additional_modules": []}']


def test_check_mode_with_a_code_change_previews_the_upload_and_the_secrets(fresh, tmp_path):
    assert run_playbook(fresh).rc == 0
    fresh.reset_calls()
    run = run_playbook(fresh, "--check", *replaced_code_args(tmp_path), "-e", "worker_update_secrets=always")
    assert run.rc == 0, run.output
    assert run.changed == 2, run.recap  # the upload and the secret rotation, both only previewed
    assert "TASK [cfops.cloudflare.worker : Set the Worker's secrets]" in run.stdout
    assert fresh.calls()["writes"] == 0


def test_a_code_change_uploads_once_then_settles(fresh, tmp_path):
    assert run_playbook(fresh).rc == 0
    code_args = replaced_code_args(tmp_path)
    fresh.reset_calls()
    changed = run_playbook(fresh, *code_args, "--diff")
    assert changed.rc == 0, changed.output
    # The release pipeline: one version upload, then one deployment per rollout step (10/25/50/100).
    assert changed.changed == 5, changed.recap
    calls = fresh.calls()["calls"]
    uploads = [c for c in calls if c["method"] == "POST" and c["route"].endswith("/workers/scripts/{script_name}/versions")]
    assert [u["count"] for u in uploads] == [1]
    steps = [c for c in calls if c["method"] == "POST" and c["route"].endswith("/workers/scripts/{script_name}/deployments")]
    assert [s["count"] for s in steps] == [4]
    fresh.reset_calls()
    settled = run_playbook(fresh, *code_args)
    assert settled.changed == 0 and fresh.calls()["writes"] == 0
    # The secret set earlier survived the code upload.
    assert [s["name"] for s in api(fresh, "/accounts/{account}/workers/scripts/%s/secrets" % WORKER)] == ["API_KEY"]


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
