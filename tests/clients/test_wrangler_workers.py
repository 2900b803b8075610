"""wrangler 4.78.0, unmodified, deploying and releasing Workers against the emulator.

Each test runs the everyday commands a wrangler user runs and then reads the resulting state through
the API (as Cloudflare's dashboard would show it). A wrangler failure here means the emulator answers
differently from what wrangler expects of Cloudflare.
"""
import json
import re

import httpx
import pytest

pytestmark = pytest.mark.slow

WORKER = "hello-wrangler"
V1 = 'export default { fetch() { return new Response("v1"); } };\n'
V2 = 'export default { fetch() { return new Response("v2"); } };\n'
DO_CODE = ('export class Counter { constructor(state) { this.state = state; } '
           'async fetch() { return new Response("1"); } }\n'
           'export default { fetch() { return new Response("ok"); } };\n')
VERSION_ID = re.compile(r"Version ID:\s+([0-9a-f-]{36})")


class Api:
    """The emulator's API as Cloudflare's: reads to check what wrangler did."""

    def __init__(self, emulator):
        self.account_id = emulator.account_id
        self.client = httpx.Client(base_url=emulator.base_url, headers={"Authorization": "Bearer " + emulator.token},
                                   timeout=30, trust_env=False)

    def result(self, path):
        response = self.client.get("/accounts/%s/workers%s" % (self.account_id, path))
        assert response.status_code == 200, response.text
        return response.json()["result"]

    def content(self, path):
        return self.client.get("/accounts/%s/workers%s" % (self.account_id, path)).content

    def post(self, path, body):
        response = self.client.post("/accounts/%s%s" % (self.account_id, path), json=body)
        assert response.status_code == 200, response.text
        return response.json()["result"]

    def deployments(self):
        return self.result(script_path("deployments"))["deployments"]


@pytest.fixture
def api(fresh):
    reader = Api(fresh)
    yield reader
    reader.client.close()


def write_project(project, code=V1, **config):
    document = {"name": WORKER, "main": "src/index.js", "compatibility_date": "2025-01-15"}
    document.update(config)
    (project / "wrangler.jsonc").write_text(json.dumps(document, indent=2))
    (project / "src").mkdir(exist_ok=True)
    (project / "src" / "index.js").write_text(code)


def script_path(*rest):
    return "/scripts/%s%s" % (WORKER, "".join("/" + part for part in rest))


def version_id_of(run):
    match = VERSION_ID.search(run.output)
    assert match, run.output
    return match.group(1)


def no_unrouted_calls(emulator):
    """Every call wrangler made reached a route (an unknown path would have failed it, or been swallowed)."""
    unrouted = [call for call in emulator.calls()["calls"] if call["route"] == "(no route)"]
    assert unrouted == [], unrouted


def test_deploy_creates_the_worker_and_a_second_deploy_a_new_version(wrangler, fresh, project, api):
    write_project(project, vars={"GREETING": "hi"})
    first = version_id_of(wrangler("deploy"))
    # wrangler reads GET .../workers/services/{name} first; a missing Worker (10007) means "first deploy".
    [deployment] = api.deployments()
    assert deployment["versions"] == [{"version_id": first, "percentage": 100}]
    settings = api.result(script_path("settings"))
    assert {"type": "plain_text", "name": "GREETING", "text": "hi"} in settings["bindings"]
    # wrangler POSTs the workers.dev state it wants (workers_dev defaults to on without routes).
    assert api.result(script_path("subdomain"))["enabled"] is True

    write_project(project, code=V2, vars={"GREETING": "hi"})
    second = version_id_of(wrangler("deploy"))
    assert second != first
    assert api.deployments()[0]["versions"] == [{"version_id": second, "percentage": 100}]
    assert b'Response("v2")' in api.content(script_path("content", "v2"))
    no_unrouted_calls(fresh)


def test_versions_upload_then_a_gradual_and_a_0_percent_deployment(wrangler, fresh, project, api):
    write_project(project)
    stable = version_id_of(wrangler("deploy"))
    write_project(project, code=V2)
    run = wrangler("versions", "upload", "--message", "second release", "--tag", "v2")
    candidate = version_id_of(run)
    # Uploaded, not deployed.
    assert api.deployments()[0]["versions"] == [{"version_id": stable, "percentage": 100}]
    version = api.result(script_path("versions", candidate))
    assert version["annotations"]["workers/message"] == "second release"
    assert version["annotations"]["workers/tag"] == "v2"

    wrangler("versions", "deploy", "%s@10%%" % candidate, "%s@90%%" % stable, "-y")
    canary = [{"version_id": candidate, "percentage": 10}, {"version_id": stable, "percentage": 90}]
    assert api.deployments()[0]["versions"] == canary
    # The smoke-test split of Cloudflare's version-overrides docs: the candidate in the deployment at 0 %.
    wrangler("versions", "deploy", "%s@0%%" % candidate, "%s@100%%" % stable, "-y")
    smoke = [{"version_id": candidate, "percentage": 0}, {"version_id": stable, "percentage": 100}]
    assert api.deployments()[0]["versions"] == smoke

    listing = wrangler("deployments", "list").output
    assert "(0%) " + candidate in listing and "(100%) " + stable in listing and "(10%) " + candidate in listing
    assert "Tag:  v2" in listing and "Message:  second release" in listing
    versions = wrangler("versions", "list", "--json").json()
    assert [v["id"] for v in versions] == [stable, candidate]
    no_unrouted_calls(fresh)


def test_rollback_goes_back_to_the_previous_version_at_100_percent(wrangler, fresh, project, api):
    write_project(project)
    first = version_id_of(wrangler("deploy"))
    write_project(project, code=V2)
    second = version_id_of(wrangler("deploy"))
    run = wrangler("rollback", "--message", "bad release", "-y")
    assert "Worker Version %s has been deployed to 100%% of traffic" % first in run.output
    latest = api.deployments()[0]
    assert latest["versions"] == [{"version_id": first, "percentage": 100}]
    assert latest["annotations"]["workers/message"] == "bad release"
    assert second in {v["version_id"] for d in api.deployments() for v in d["versions"]}
    no_unrouted_calls(fresh)


def test_secret_put_and_list(wrangler, fresh, project, api):
    write_project(project)
    wrangler("deploy")
    wrangler("secret", "put", "API_KEY", input="s3cr3t-value\n")
    assert api.result(script_path("secrets")) == [{"name": "API_KEY", "type": "secret_text"}]
    assert {"name": "API_KEY", "type": "secret_text"} in api.result(script_path("settings"))["bindings"]
    listed = wrangler("secret", "list", "--format", "json").json()
    assert listed == [{"name": "API_KEY", "type": "secret_text"}]
    # A secret change is a new version deployed at once.
    assert api.deployments()[0]["annotations"]["workers/triggered_by"] == "secret"
    no_unrouted_calls(fresh)


def test_a_secret_change_while_a_newer_version_is_not_deployed_is_refused_as_cloudflare_does(wrangler, fresh, project, api):
    write_project(project)
    wrangler("deploy")
    write_project(project, code=V2)
    wrangler("versions", "upload")
    run = wrangler("secret", "put", "API_KEY", input="value\n", check=False)
    # wrangler recognises Cloudflare's 10215 and explains it.
    assert run.rc != 0 and "deploy the latest version first" in run.output, run.output
    assert api.result(script_path("secrets")) == []


def test_deploy_with_d1_durable_object_and_version_metadata_bindings(wrangler, fresh, project, api):
    database = api.post("/d1/database", {"name": "books"})["uuid"]
    config = dict(d1_databases=[{"binding": "DB", "database_name": "books", "database_id": database}],
                  durable_objects={"bindings": [{"name": "COUNTER", "class_name": "Counter"}]},
                  migrations=[{"tag": "v1", "new_sqlite_classes": ["Counter"]}],
                  version_metadata={"binding": "CF_VERSION_METADATA"})
    write_project(project, code=DO_CODE, **config)
    wrangler("deploy")
    bindings = {b["name"]: b for b in api.result(script_path("settings"))["bindings"]}
    # wrangler uploads the D1 binding with `id`; Cloudflare answers database_id too.
    assert bindings["DB"]["database_id"] == database
    assert len(bindings["COUNTER"]["namespace_id"]) == 32
    assert bindings["CF_VERSION_METADATA"] == {"type": "version_metadata", "name": "CF_VERSION_METADATA"}
    assert api.result("/scripts")[0]["migration_tag"] == "v1"
    # The second deploy uses the versions API with bindings_inherit=strict and sends no migration.
    version_id_of(wrangler("deploy"))
    again = {b["name"]: b for b in api.result(script_path("settings"))["bindings"]}
    assert again["COUNTER"]["namespace_id"] == bindings["COUNTER"]["namespace_id"]
    assert len(api.deployments()) == 2
    no_unrouted_calls(fresh)


def test_a_missing_worker_is_reported_by_wrangler(wrangler, fresh, project):
    write_project(project)
    run = wrangler("deployments", "list", check=False)
    assert run.rc != 0 and "This Worker does not exist on your account" in run.output, run.output
