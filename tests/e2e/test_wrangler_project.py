"""A wrangler project through the release: playbooks/deploy.yml on a host whose inventory names only the
project's wrangler config (and environment) deploys what the config describes - code, vars, bindings
(KV, queues, Analytics Engine, version_metadata), routes, a custom domain, crons, a queue consumer - and a
changed Worker goes through the gated rollout to 100%. Placeholder ids are refused before any call."""
import json
import os
import re
import textwrap

import httpx
import pytest

from tests.e2e.conftest import REPO, run_playbook

WORKER = """\
export default {
  async fetch(request, env) {
    const metadata = env.CF_VERSION_METADATA || {};
    // The emulator's edge does not provide Analytics Engine bindings (the API stores them): write when there.
    if (env.EVENTS) env.EVENTS.writeDataPoint({ blobs: [new URL(request.url).pathname] });
    return Response.json({ ok: true, status: "ok", worker: "shelf", environment: env.ENVIRONMENT,
                           release: "%s", greeting: env.GREETING, version: metadata.id || "unknown" });
  },
  async queue(batch) { batch.ackAll(); },
  async scheduled() {},
};
"""


def api(emulator, method, path, **kwargs):
    answer = httpx.request(method, emulator.base_url + path.format(account_id=emulator.account_id),
                           headers={"Authorization": "Bearer " + emulator.token}, timeout=10, **kwargs)
    assert answer.status_code < 300, answer.text
    return answer.json()["result"]


def project(tmp_path, emulator, kv_id, release, config_name="wrangler.toml", account_id=None):
    """A wrangler project as a team keeps it, with an inventory host that names only its config."""
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "index.js").write_text(WORKER % release)
    account_id = account_id or emulator.account_id
    if config_name == "wrangler.toml":
        (tmp_path / config_name).write_text(textwrap.dedent("""\
            name = "shelf"
            main = "src/index.js"
            compatibility_date = "2024-09-23"
            account_id = "%(account)s"

            [env.local]
            workers_dev = true
            routes = [
              { pattern = "shelf.example.com/*", zone_name = "example.com" },
              { pattern = "shelf-app.example.com", custom_domain = true },
            ]
            version_metadata = { binding = "CF_VERSION_METADATA" }
            vars = { GREETING = "hello from wrangler" }
            kv_namespaces = [{ binding = "CACHE", id = "%(kv)s" }]
            analytics_engine_datasets = [{ binding = "EVENTS", dataset = "shelf_events" }]

            [env.local.triggers]
            crons = ["*/5 * * * *"]

            [[env.local.queues.producers]]
            binding = "TASKS"
            queue = "shelf-tasks"

            [[env.local.queues.consumers]]
            queue = "shelf-tasks"
            max_batch_size = 5
            max_batch_timeout = 2
            max_retries = 4
            """) % {"account": account_id, "kv": kv_id})
    else:
        (tmp_path / config_name).write_text(textwrap.dedent("""\
            // wrangler.jsonc straight from a template: ids never filled in
            {
              "name": "shelf",
              "main": "src/index.js",
              "compatibility_date": "2024-09-23",
              "account_id": "%(account)s",
              "env": {
                "local": {
                  "kv_namespaces": [{ "binding": "CACHE", "id": "%(kv)s" }],
                  "d1_databases": [{ "binding": "DB", "database_name": "shelf", "database_id": "00000000-0000-0000-0000-000000000000" }],
                },
              },
            }
            """) % {"account": account_id, "kv": kv_id})
    inventory = tmp_path / "inventory"
    (inventory / "group_vars").mkdir(parents=True, exist_ok=True)
    if not (inventory / "group_vars" / "all").exists():
        # The environment's shared settings (gates, account, API) are local's; the host is the project.
        os.symlink(os.path.join(REPO, "inventories", "local", "group_vars", "all"), inventory / "group_vars" / "all")
    (inventory / "hosts.yml").write_text(json.dumps({"all": {"children": {"workers": {"hosts": {"shelf": {
        "worker_wrangler_config": str(tmp_path / config_name),
        "worker_wrangler_environment": "local",
        "worker_vars": {"ENVIRONMENT": "local"},
    }}}}}}))
    return str(inventory)


def serving(emulator, name):
    deployments = api(emulator, "GET", "/accounts/{account_id}/workers/scripts/%s/deployments" % name)["deployments"]
    return [(v["version_id"], v["percentage"]) for v in deployments[0]["versions"]]


def test_a_wrangler_project_goes_through_the_gated_release(fresh, tmp_path):
    kv_id = api(fresh, "POST", "/accounts/{account_id}/storage/kv/namespaces", json={"title": "shelf-cache"})["id"]
    api(fresh, "POST", "/accounts/{account_id}/queues", json={"queue_name": "shelf-tasks"})
    inventory = project(tmp_path, fresh, kv_id, "r1")

    first = run_playbook(fresh, playbook="playbooks/deploy.yml", inventory=inventory)
    assert first.rc == 0, first.output
    name = "shelf-local"  # wrangler's <name>-<environment>
    settings = api(fresh, "GET", "/accounts/{account_id}/workers/scripts/%s/settings" % name)
    bindings = {b["name"]: b for b in settings["bindings"]}
    assert bindings["CACHE"]["namespace_id"] == kv_id
    assert bindings["TASKS"]["queue_name"] == "shelf-tasks"
    assert bindings["EVENTS"]["type"] == "analytics_engine" and bindings["EVENTS"]["dataset"] == "shelf_events"
    assert bindings["CF_VERSION_METADATA"]["type"] == "version_metadata"
    assert bindings["GREETING"]["text"] == "hello from wrangler" and bindings["ENVIRONMENT"]["text"] == "local"
    routes = api(fresh, "GET", "/zones/%s/workers/routes" % zone_id(fresh))
    assert [(r["pattern"], r["script"]) for r in routes] == [("shelf.example.com/*", name)]
    domains = api(fresh, "GET", "/accounts/{account_id}/workers/domains")
    assert [(d["hostname"], d["service"]) for d in domains] == [("shelf-app.example.com", name)]
    schedules = api(fresh, "GET", "/accounts/{account_id}/workers/scripts/%s/schedules" % name)["schedules"]
    assert [s["cron"] for s in schedules] == ["*/5 * * * *"]
    consumers = api(fresh, "GET", "/accounts/{account_id}/queues/%s/consumers" % queue_id(fresh, "shelf-tasks"))
    assert [(c["script"], c["settings"]["batch_size"], c["settings"]["max_wait_time_ms"], c["settings"]["max_retries"])
            for c in consumers] == [(name, 5, 2000, 4)]

    fresh.reset_calls()
    same = run_playbook(fresh, playbook="playbooks/deploy.yml", inventory=inventory)
    assert same.rc == 0 and same.changed == 0, same.output
    assert fresh.calls()["writes"] == 0, fresh.calls()

    # A changed Worker: the gated rollout, every step judged by the probes, to 100%.
    project(tmp_path, fresh, kv_id, "r2")
    second = run_playbook(fresh, playbook="playbooks/deploy.yml", inventory=inventory)
    assert second.rc == 0, second.output
    for step in ("smoke 0%", "10%", "25%", "50%", "100%"):
        assert re.search(r"^%s %s\s+\| probes .*\| pass \|" % (name, step), second.stdout, re.M), second.stdout
    assert second.recap["shelf"]["changed"] == 1, second.recap  # the release; the triggers were already right
    [(version, percentage)] = serving(fresh, name)
    assert percentage == 100
    answer = httpx.get(fresh.edge_url + "/", headers={"Host": name + ".cfops-local.workers.dev"}, timeout=10).json()
    assert answer["release"] == "r2" and answer["version"] == version

    # releases.yml and rollback.yml find the Worker by the same config.
    releases = run_playbook(fresh, playbook="playbooks/releases.yml", inventory=inventory)
    assert releases.rc == 0 and "Worker shelf-local" in releases.stdout and version in releases.stdout, releases.output
    rollback = run_playbook(fresh, playbook="playbooks/rollback.yml", inventory=inventory)
    assert rollback.rc == 0, rollback.output
    previous = serving(fresh, name)[0][0]
    assert previous != version
    answer = httpx.get(fresh.edge_url + "/", headers={"Host": name + ".cfops-local.workers.dev"}, timeout=10).json()
    assert answer["release"] == "r1"


def zone_id(emulator):
    return api(emulator, "GET", "/zones", params={"name": "example.com"})[0]["id"]


def queue_id(emulator, queue_name):
    return [q["queue_id"] for q in api(emulator, "GET", "/accounts/{account_id}/queues") if q["queue_name"] == queue_name][0]


@pytest.mark.parametrize("config_name", ["wrangler.toml", "wrangler.jsonc"])
def test_placeholder_ids_are_refused_before_any_call(fresh, tmp_path, config_name):
    inventory = project(tmp_path, fresh, "<YOUR_KV_NAMESPACE_ID>", "r1", config_name, account_id="YOUR_ACCOUNT_ID")
    run = run_playbook(fresh, playbook="playbooks/deploy.yml", inventory=inventory)
    assert run.rc != 0, run.output
    text = " ".join(run.output.split())
    assert "has placeholder id(s), nothing was written: account_id = \"YOUR_ACCOUNT_ID\", " \
           "kv_namespaces[binding=CACHE].id = \"<YOUR_KV_NAMESPACE_ID>\"" in text, text
    if config_name == "wrangler.jsonc":
        assert 'd1_databases[binding=DB].database_id = "00000000-0000-0000-0000-000000000000"' in text
    assert fresh.calls()["total"] == 0, fresh.calls()


def test_a_wrangler_config_of_another_account_is_refused(fresh, tmp_path):
    inventory = project(tmp_path, fresh, "0123456789abcdef0123456789abcdef", "r1", account_id="ab" * 16)
    run = run_playbook(fresh, playbook="playbooks/deploy.yml", inventory=inventory)
    assert run.rc != 0, run.output
    assert "names account_id %s, but inventory local deploys to account %s" % ("ab" * 16, fresh.account_id) \
        in " ".join(run.output.split()), run.output
    assert fresh.calls()["total"] == 0
