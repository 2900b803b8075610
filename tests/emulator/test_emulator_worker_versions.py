"""Worker versions, deployments (gradual, rollback refusals), Durable Object migrations, active_deployments."""
import json
import uuid

import httpx
import pytest

from emulator import hooks
from emulator.api import schemas, resource_tables, worker_versions
from emulator.store import Store
from tests.emulator import helpers
from tests.emulator.helpers import MODULE, create_namespace, error_codes, upload_parts

SCRIPT = "books-api"
V2 = b'export default { fetch() { return new Response("v2"); } };\n'
# The Durable Object classes this file's migrations create, rename or transfer into: Cloudflare applies a new-class
# migration only to a class the script exports (10070, emulator/fidelity/workers.yml).
DO_MODULE = MODULE + b"export class Counter {}\nexport class Tally {}\nexport class Room {}\nexport class X {}\n"


def upload_script(api, account_id, name, metadata=None, modules=None):
    if modules is None and (metadata or {}).get("migrations"):
        modules = [("index.js", DO_MODULE, "application/javascript+module")]
    return helpers.upload_script(api, account_id, name, metadata, modules)


def path(account_id, *rest):
    return "/accounts/%s/workers/scripts/%s%s" % (account_id, SCRIPT, "".join("/" + part for part in rest))


def metadata(**extra):
    document = {"main_module": "index.js", "compatibility_date": "2024-09-23"}
    document.update(extra)
    return document


def upload_version(client, account_id, code=V2, **extra):
    return client.post(path(account_id, "versions"),
                       files=upload_parts(metadata(**extra), [("index.js", code, "application/javascript+module")]))


def deploy(client, account_id, split, message=None, force=False):
    body = {"strategy": "percentage", "versions": [{"version_id": v, "percentage": p} for v, p in split]}
    if message:
        body["annotations"] = {"workers/message": message}
    return client.post(path(account_id, "deployments"), json=body, params={"force": "true"} if force else None)


def deployments(api, account_id):
    return api.get(path(account_id, "deployments")).json()["result"]["deployments"]


def active(emulator):
    store = Store(emulator.data_dir, schemas(), resource_tables())
    try:
        with store.read() as db:
            return worker_versions.active_deployments(db)
    finally:
        store.close()


@pytest.fixture
def script(api, account_id):
    assert upload_script(api, account_id, SCRIPT).status_code == 200
    return SCRIPT


# Versions ----------------------------------------------------------------------------------------------------

def test_script_upload_creates_a_version_and_a_full_deployment(api, account_id, script):
    versions = api.get(path(account_id, "versions")).json()["result"]["items"]
    assert [v["number"] for v in versions] == [1]
    [deployment] = deployments(api, account_id)
    assert deployment["versions"] == [{"version_id": versions[0]["id"], "percentage": 100}]
    assert deployment["strategy"] == "percentage"


def test_version_upload_does_not_deploy(api, fresh, account_id, script):
    response = upload_version(api, account_id, annotations={"workers/message": "fix the cache", "workers/tag": "v2"},
                              bindings=[{"type": "plain_text", "name": "ENVIRONMENT", "text": "local"}])
    assert response.status_code == 200, response.text
    version = response.json()["result"]
    assert version["number"] == 2 and version["annotations"]["workers/tag"] == "v2"
    assert version["resources"]["bindings"] == [{"type": "plain_text", "name": "ENVIRONMENT", "text": "local"}]
    detail = api.get(path(account_id, "versions", version["id"])).json()["result"]
    assert detail["annotations"] == {"workers/message": "fix the cache", "workers/tag": "v2"}
    assert detail["resources"]["script_runtime"]["compatibility_date"] == "2024-09-23"
    assert len(deployments(api, account_id)) == 1
    [serving] = active(fresh)
    assert serving["versions"][0]["modules"][0]["content"] == MODULE


def test_version_list_is_newest_first_and_paged(api, account_id, script):
    for _attempt in range(4):
        upload_version(api, account_id)
    page = api.get(path(account_id, "versions"), params={"per_page": 2, "page": 2}).json()
    assert [v["number"] for v in page["result"]["items"]] == [3, 2]
    assert page["result_info"]["total_count"] == 5 and page["result_info"]["total_pages"] == 3


def test_sdk_reads_versions_and_deploys(sdk, api, account_id, script):
    version_id = upload_version(api, account_id).json()["result"]["id"]
    assert [v.number for v in sdk.workers.scripts.versions.list(SCRIPT, account_id=account_id)] == [2, 1]
    # versions.get is left out: SDK 5.x cannot build its own response model (pydantic ResourcesBindings error).
    created = sdk.workers.scripts.deployments.create(
        SCRIPT, account_id=account_id, strategy="percentage", versions=[{"version_id": version_id, "percentage": 100}])
    assert created.versions[0].version_id == version_id
    assert deployments(api, account_id)[0]["id"] == created.id


def test_version_upload_refuses_migrations(unchecked, account_id, script):
    response = upload_version(unchecked, account_id, migrations={"new_tag": "v1", "new_classes": ["Counter"]})
    assert response.status_code == 400 and error_codes(response) == [worker_versions.MIGRATIONS_NOT_ALLOWED]
    assert "Durable Object migration" in response.json()["errors"][0]["message"]


def test_version_upload_for_a_missing_script_is_10007(api, account_id):
    response = upload_version(api, account_id)
    assert response.status_code == 404 and error_codes(response) == [10007]


def test_a_version_read_echoes_only_message_tag_and_triggered_by(api, account_id, script):
    # wrangler's ApiVersion type and Terraform's worker_version annotations know only these three; the
    # SDK's VersionGetResponse has no annotations at all. The others are accepted on upload (SDK params).
    response = upload_version(api, account_id, annotations={
        "workers/message": "m", "workers/tag": "t", "workers/commit_sha": "c" * 40, "workers/alias": "preview"})
    assert response.status_code == 200, response.text
    version = api.get(path(account_id, "versions", response.json()["result"]["id"])).json()["result"]
    assert version["annotations"] == {"workers/message": "m", "workers/tag": "t"}
    listed = api.get(path(account_id, "versions"), params={"deployable": "true"}).json()["result"]["items"]
    assert [item["annotations"] for item in listed] == [{"workers/message": "m", "workers/tag": "t"},
                                                        {"workers/triggered_by": "upload"}]


def test_a_versions_modules_download_by_version_id(api, account_id, script):
    # wrangler's `versions secret put` reads content/v2?version={id} to upload the same code again.
    first = api.get(path(account_id, "versions")).json()["result"]["items"][0]["id"]
    second = upload_version(api, account_id).json()["result"]["id"]
    assert V2 in api.get(path(account_id, "content", "v2"), params={"version": second}).content
    assert MODULE in api.get(path(account_id, "content", "v2"), params={"version": first}).content
    assert MODULE in api.get(path(account_id, "content", "v2")).content        # what serves: version 1
    assert api.get(path(account_id, "content", "v2"), params={"version": str(uuid.uuid4())}).status_code == 404


def test_a_script_upload_annotates_its_version(api, account_id):
    # The SDK's script upload metadata takes workers/message and workers/tag for "the version created by this upload".
    response = upload_script(api, account_id, SCRIPT, metadata(annotations={"workers/message": "first", "workers/tag": "1.0"}))
    assert response.status_code == 200, response.text
    version_id = response.json()["result"]["deployment_id"]     # wrangler reads the new version's id from here
    version = api.get(path(account_id, "versions", version_id)).json()["result"]
    assert version["annotations"] == {"workers/message": "first", "workers/tag": "1.0", "workers/triggered_by": "upload"}
    assert deployments(api, account_id)[0]["versions"] == [{"version_id": version_id, "percentage": 100}]


def test_a_script_upload_refuses_version_only_annotations(unchecked, account_id):
    response = upload_script(unchecked, account_id, SCRIPT, metadata(annotations={"workers/commit_sha": "abc"}))
    assert response.status_code == 400 and error_codes(response) == [10021]
    assert "workers/commit_sha" in response.json()["errors"][0]["message"]


def test_d1_bindings_come_back_with_database_id_whichever_field_was_sent(api, account_id, script):
    # wrangler and Terraform upload `id`, the SDK's upload type names `database_id`; the settings type
    # (and Terraform: "The API returns database_id for D1 bindings") carries database_id.
    database = api.post("/accounts/%s/d1/database" % account_id, json={"name": "books"}).json()["result"]["uuid"]
    for sent in ({"type": "d1", "name": "DB", "id": database}, {"type": "d1", "name": "DB", "database_id": database}):
        response = upload_script(api, account_id, SCRIPT, metadata(bindings=[sent]))
        assert response.status_code == 200, response.text
        [shown] = api.get(path(account_id, "settings")).json()["result"]["bindings"]
        assert shown == {"type": "d1", "name": "DB", "id": database, "database_id": database}
        version_id = response.json()["result"]["deployment_id"]
        assert api.get(path(account_id, "versions", version_id)).json()["result"]["resources"]["bindings"] == [shown]


def test_a_d1_binding_without_an_id_is_refused_with_cloudflares_message(unchecked, account_id, script):
    response = upload_script(unchecked, account_id, SCRIPT, metadata(bindings=[{"type": "d1", "name": "DB"}]))
    assert response.status_code == 400 and error_codes(response) == [10021]
    assert response.json()["errors"][0]["message"] == "binding DB of type d1 must have a valid `id` specified"


# Deployments -------------------------------------------------------------------------------------------------

def test_gradual_deployment_and_the_script_row_follows_the_main_version(api, fresh, account_id, script):
    first = api.get(path(account_id, "versions")).json()["result"]["items"][0]["id"]
    second = upload_version(api, account_id).json()["result"]["id"]
    created = deploy(api, account_id, [(second, 10), (first, 90)], message="canary 10%")
    assert created.status_code == 200, created.text
    assert created.json()["result"]["annotations"] == {"workers/message": "canary 10%"}
    assert api.get(path(account_id, "deployments", created.json()["result"]["id"])).json()["result"]["versions"][0] == \
        {"version_id": second, "percentage": 10}
    assert api.get(path(account_id, "content", "v2")).content.count(MODULE) == 1  # 90% is still version 1
    [serving] = active(fresh)
    assert [(v["version_id"], v["percentage"]) for v in serving["versions"]] == [(second, 10), (first, 90)]
    deploy(api, account_id, [(second, 100)])
    assert V2 in api.get(path(account_id, "content", "v2")).content


@pytest.mark.parametrize("split, message", [
    ([("A", 50), ("B", 40)], "add up to 90%"),
    ([("A", 100.5), ("B", -0.5)], "between 0 and 100"),
    ([("A", 50), ("A", 50)], "twice"),
    ([("A", 40), ("B", 30), ("C", 30)], "1 or 2 versions"),
    ([], "1 or 2 versions"),
])
def test_bad_splits_are_refused(unchecked, account_id, script, split, message):
    response = deploy(unchecked, account_id, split)
    assert response.status_code == 400 and error_codes(response) == [10021]
    assert message in response.json()["errors"][0]["message"]


@pytest.fixture
def plain(fresh):
    """A client without schema validation, for what the 2024 OpenAPI subset contradicts newer sources on."""
    with httpx.Client(base_url=fresh.base_url, headers={"Authorization": "Bearer " + fresh.token}, timeout=10,
                      trust_env=False) as client:
        yield client


def test_a_version_at_0_percent_is_deployed_without_traffic(api, plain, fresh, account_id, script):
    # wrangler `versions deploy new@0% old@100%`; Cloudflare's version-overrides docs smoke-test a version at 0 %.
    # The 2024 OpenAPI subset still says minimum 0.01 (request and response), hence the plain client.
    first = api.get(path(account_id, "versions")).json()["result"]["items"][0]["id"]
    second = upload_version(api, account_id).json()["result"]["id"]
    created = deploy(plain, account_id, [(second, 0), (first, 100)])
    assert created.status_code == 200, created.text
    assert created.json()["result"]["versions"] == [{"version_id": second, "percentage": 0},
                                                    {"version_id": first, "percentage": 100}]
    assert plain.get(path(account_id, "content", "v2")).content.count(MODULE) == 1   # the 100 % version mirrors
    [serving] = active(fresh)
    assert [(v["version_id"], v["percentage"]) for v in serving["versions"]] == [(second, 0), (first, 100)]


def test_unknown_version_is_refused(api, account_id, script):
    response = deploy(api, account_id, [("6b2f2d4e-0000-4000-8000-000000000000", 100)])
    assert response.status_code == 404 and error_codes(response) == [worker_versions.VERSION_NOT_FOUND]
    assert len(deployments(api, account_id)) == 1


def test_rollback_after_a_secret_change_needs_force(api, account_id, script):
    first = api.get(path(account_id, "versions")).json()["result"]["items"][0]["id"]
    assert api.put(path(account_id, "secrets"), json={"name": "API_KEY", "text": "s3cret", "type": "secret_text"}).status_code == 200
    response = deploy(api, account_id, [(first, 100)])
    assert response.status_code == 400 and error_codes(response) == [worker_versions.SECRETS_CHANGED]
    assert "The following secrets have changed: API_KEY" in response.json()["errors"][0]["message"]
    assert deploy(api, account_id, [(first, 100)], force=True).status_code == 200


def test_secret_change_needs_the_latest_version_deployed(unchecked, account_id, script):
    upload_version(unchecked, account_id)
    response = unchecked.put(path(account_id, "secrets"), json={"name": "API_KEY", "text": "x", "type": "secret_text"})
    assert response.status_code == 400 and error_codes(response) == [worker_versions.VERSION_NOT_DEPLOYED]


def test_rollback_to_a_version_whose_kv_namespace_is_gone_is_refused(api, account_id):
    kv_id = create_namespace(api, account_id, "cache")
    upload_script(api, account_id, SCRIPT, metadata(bindings=[{"type": "kv_namespace", "name": "CACHE", "namespace_id": kv_id}]))
    first = api.get(path(account_id, "versions")).json()["result"]["items"][0]["id"]
    upload_script(api, account_id, SCRIPT)
    api.delete("/accounts/%s/storage/kv/namespaces/%s" % (account_id, kv_id))
    response = deploy(api, account_id, [(first, 100)])
    assert response.status_code == 400 and error_codes(response) == [worker_versions.BOUND_RESOURCE_MISSING]
    assert kv_id in response.json()["errors"][0]["message"]


def test_only_the_last_100_versions_are_deployable(api, account_id, script):
    oldest = api.get(path(account_id, "versions")).json()["result"]["items"][0]["id"]
    for _attempt in range(100):
        assert upload_version(api, account_id).status_code == 200
    deployable = api.get(path(account_id, "versions"), params={"deployable": "true"}).json()["result"]["items"]
    assert len(deployable) == 100 and oldest not in {v["id"] for v in deployable}
    response = deploy(api, account_id, [(oldest, 100)])
    assert response.status_code == 400 and error_codes(response) == [worker_versions.VERSION_NOT_DEPLOYABLE]


def test_delete_an_old_deployment_but_not_the_active_one(api, account_id, script):
    upload_script(api, account_id, SCRIPT, modules=[("index.js", V2, "application/javascript+module")])
    current, old = deployments(api, account_id)
    response = api.delete(path(account_id, "deployments", current["id"]))
    assert response.status_code == 400 and error_codes(response) == [worker_versions.ACTIVE_DEPLOYMENT]
    assert api.delete(path(account_id, "deployments", old["id"])).status_code == 200
    assert [d["id"] for d in deployments(api, account_id)] == [current["id"]]
    assert api.get(path(account_id, "deployments", old["id"])).status_code == 404


def test_deleting_the_script_removes_what_serves(api, fresh, account_id, script):
    assert active(fresh) != []
    api.delete(path(account_id))
    assert active(fresh) == []


# Durable Object migrations -------------------------------------------------------------------------------------

def do_binding(name, class_name, script_name=None):
    binding = {"type": "durable_object_namespace", "name": name, "class_name": class_name}
    if script_name:
        binding["script_name"] = script_name
    return binding


def test_migrations_set_the_tag_and_the_classes(api, account_id):
    response = upload_script(api, account_id, SCRIPT, metadata(
        migrations={"new_tag": "v1", "new_sqlite_classes": ["Counter"]}, bindings=[do_binding("COUNTER", "Counter")]))
    assert response.status_code == 200, response.text
    assert response.json()["result"]["migration_tag"] == "v1"
    response = upload_script(api, account_id, SCRIPT, metadata(
        migrations={"old_tag": "v1", "new_tag": "v3", "steps": [{"renamed_classes": [{"from": "Counter", "to": "Tally"}]},
                                                                {"new_classes": ["Room"]}]},
        bindings=[do_binding("TALLY", "Tally"), do_binding("ROOM", "Room")]))
    assert response.status_code == 200, response.text
    listed = api.get("/accounts/%s/workers/scripts" % account_id).json()["result"]
    assert listed[0]["migration_tag"] == "v3"
    version = api.get(path(account_id, "versions")).json()["result"]["items"][0]["id"]
    assert api.get(path(account_id, "versions", version)).json()["result"]["resources"]["script_runtime"]["migration_tag"] == "v3"


def test_a_wrong_old_tag_is_10079(api, account_id):
    upload_script(api, account_id, SCRIPT, metadata(migrations={"new_tag": "v1", "new_classes": ["Counter"]}))
    response = upload_script(api, account_id, SCRIPT, metadata(migrations={"old_tag": "v0", "new_tag": "v2", "new_classes": ["X"]}))
    assert response.status_code == 400 and error_codes(response) == [worker_versions.MIGRATION_TAG_MISMATCH]
    assert response.json()["errors"][0]["message"] == "Migration tag precondition failed; current tag is v1"


def test_deleting_a_class_still_bound_is_refused(api, account_id):
    upload_script(api, account_id, SCRIPT, metadata(migrations={"new_tag": "v1", "new_classes": ["Counter"]},
                                                    bindings=[do_binding("COUNTER", "Counter")]))
    response = upload_script(api, account_id, SCRIPT, metadata(
        migrations={"old_tag": "v1", "new_tag": "v2", "deleted_classes": ["Counter"]}, bindings=[do_binding("COUNTER", "Counter")]))
    # The live answer quoted in workers-sdk#8210.
    assert response.status_code == 400 and error_codes(response) == [worker_versions.DELETED_CLASS_STILL_BOUND]
    assert response.json()["errors"][0]["message"] == ("Cannot apply --delete-class migration to class 'Counter' without "
                                                       "also removing the binding that references it.")
    assert api.get("/accounts/%s/workers/scripts" % account_id).json()["result"][0]["migration_tag"] == "v1"
    # A binding naming another script with the same class name counts too (alchemy-run/alchemy#799).
    upload_script(api, account_id, "elsewhere", metadata(migrations={"new_tag": "v1", "new_classes": ["Counter"]}))
    response = upload_script(api, account_id, SCRIPT, metadata(
        migrations={"old_tag": "v1", "new_tag": "v2", "deleted_classes": ["Counter"]},
        bindings=[do_binding("COUNTER", "Counter", "elsewhere")]))
    assert error_codes(response) == [10061]


def test_binding_a_missing_class_is_refused_here_and_in_another_script(api, account_id):
    response = upload_script(api, account_id, SCRIPT, metadata(bindings=[do_binding("COUNTER", "Counter")]))
    assert response.status_code == 400 and "class 'Counter'" in response.json()["errors"][0]["message"]
    upload_script(api, account_id, "counters", metadata(migrations={"new_tag": "v1", "new_classes": ["Counter"]}))
    assert upload_script(api, account_id, SCRIPT, metadata(bindings=[do_binding("COUNTER", "Counter", "counters")])).status_code == 200
    response = upload_script(api, account_id, SCRIPT, metadata(bindings=[do_binding("ROOM", "Room", "counters")]))
    assert response.status_code == 400 and "script 'counters'" in response.json()["errors"][0]["message"]


def test_rollback_across_a_migration_is_refused(api, account_id, script):
    first = api.get(path(account_id, "versions")).json()["result"]["items"][0]["id"]
    upload_script(api, account_id, SCRIPT, metadata(migrations={"new_tag": "v1", "new_classes": ["Counter"]}))
    response = deploy(api, account_id, [(first, 100)], force=True)
    assert response.status_code == 400 and error_codes(response) == [worker_versions.MIGRATION_SINCE_VERSION]


def test_durable_object_bindings_show_a_namespace_id_that_survives_a_rename(api, account_id):
    upload_script(api, account_id, SCRIPT, metadata(migrations={"new_tag": "v1", "new_sqlite_classes": ["Counter"]},
                                                    bindings=[do_binding("COUNTER", "Counter")]))
    [before] = api.get(path(account_id, "settings")).json()["result"]["bindings"]
    assert len(before["namespace_id"]) == 32 and int(before["namespace_id"], 16) >= 0
    upload_script(api, account_id, SCRIPT, metadata(
        migrations={"old_tag": "v1", "new_tag": "v2", "renamed_classes": [{"from": "Counter", "to": "Tally"}]},
        bindings=[do_binding("TALLY", "Tally")]))
    [after] = api.get(path(account_id, "settings")).json()["result"]["bindings"]
    assert after == {"type": "durable_object_namespace", "name": "TALLY", "class_name": "Tally",
                     "namespace_id": before["namespace_id"]}
    # Another script binding the class sees the same namespace; a sent namespace_id is the server's to fill.
    upload_script(api, account_id, "frontend", metadata(bindings=[dict(do_binding("T", "Tally", SCRIPT), namespace_id="x")]))
    [other] = api.get("/accounts/%s/workers/scripts/frontend/settings" % account_id).json()["result"]["bindings"]
    assert other["namespace_id"] == before["namespace_id"]


def test_the_script_settings_keep_each_class_namespace_id_for_the_edge(fresh, api, account_id):
    # Contract 2: the edge reads durable_object_classes[class]["namespace_id"] from the script settings JSON.
    upload_script(api, account_id, SCRIPT, metadata(migrations={"new_tag": "v1", "new_classes": ["Counter"]},
                                                    bindings=[do_binding("COUNTER", "Counter")]))
    store = Store(fresh.data_dir, schemas(), resource_tables())
    try:
        with store.read() as db:
            settings = json.loads(db.execute("SELECT settings FROM worker_scripts WHERE name = ?", (SCRIPT,)).fetchone()[0])
    finally:
        store.close()
    [shown] = api.get(path(account_id, "settings")).json()["result"]["bindings"]
    assert settings["durable_object_classes"]["Counter"] == {"storage": "legacy-kv", "namespace_id": shown["namespace_id"]}


def test_transfer_moves_a_class_between_scripts(api, account_id):
    upload_script(api, account_id, "old-home", metadata(migrations={"new_tag": "v1", "new_classes": ["Counter"]}))
    response = upload_script(api, account_id, SCRIPT, metadata(
        migrations={"new_tag": "v1", "transferred_classes": [{"from": "Counter", "from_script": "old-home", "to": "Counter"}]},
        bindings=[do_binding("COUNTER", "Counter")]))
    assert response.status_code == 200, response.text
    response = upload_script(api, "%s" % account_id, SCRIPT, metadata(bindings=[do_binding("OLD", "Counter", "old-home")]))
    assert response.status_code == 400


def test_a_new_class_the_script_does_not_export_is_10070_and_nothing_is_stored(api, unchecked, account_id):
    # Cloudflare: "Cannot apply new-class migration to class X that is not exported by script [code: 10070]"
    # (workers-sdk issue 4943); a service-worker script exports no class at all.
    for modules in ([("index.js", MODULE, "application/javascript+module")],
                    [("worker.js", b"addEventListener('fetch', () => {}); class Counter {}", "application/javascript")]):
        entry = {"main_module": modules[0][0]} if modules[0][2].endswith("+module") else {"body_part": modules[0][0]}
        response = helpers.upload_script(unchecked, account_id, SCRIPT, dict(
            entry, compatibility_date="2024-09-23", migrations={"new_tag": "v1", "new_sqlite_classes": ["Counter"]}), modules)
        assert response.status_code == 400 and error_codes(response) == [10070], response.text
        assert "class 'Counter' that is not exported by script" in response.json()["errors"][0]["message"]
    assert api.get("/accounts/%s/workers/scripts" % account_id).json()["result"] == []


def test_a_class_exported_by_name_list_or_from_another_module_takes_the_migration(api, account_id):
    main = b'export { Impl as Counter } from "./do/counter.js";\nexport * from "./rooms.js";\n' + MODULE
    modules = [("index.js", main, "application/javascript+module"),
               ("do/counter.js", b"export class Impl {}\n", "application/javascript+module"),
               ("rooms.js", b"export class Room {}\n", "application/javascript+module")]
    response = upload_script(api, account_id, SCRIPT, metadata(migrations={"new_tag": "v1", "new_classes": ["Counter", "Room"]}),
                             modules)
    assert response.status_code == 200, response.text
    assert response.json()["result"]["migration_tag"] == "v1"


# Other binding kinds ------------------------------------------------------------------------------------------

def test_new_binding_kinds_are_stored_and_validated(api, unchecked, account_id, script):
    bindings = [
        {"type": "queue", "name": "JOBS", "queue_name": "jobs"},
        {"type": "r2_bucket", "name": "FILES", "bucket_name": "files"},
        {"type": "service", "name": "AUTH", "service": SCRIPT, "environment": "production"},
        {"type": "analytics_engine", "name": "EVENTS", "dataset": "events"},
        {"type": "json", "name": "CONFIG", "json": {"a": 1}},
    ]
    # d1, r2 and queue existence is checked by their areas when they exist; shapes are checked here.
    response = upload_version(unchecked, account_id, bindings=bindings)
    if response.status_code == 200:
        stored = api.get(path(account_id, "versions", response.json()["result"]["id"])).json()["result"]["resources"]["bindings"]
        assert {b["name"] for b in stored} == {"JOBS", "FILES", "AUTH", "EVENTS", "CONFIG"}
    else:
        assert "does not exist" in response.json()["errors"][0]["message"]
    response = upload_version(unchecked, account_id, bindings=[{"type": "queue", "name": "JOBS"}])
    assert response.status_code == 400 and "queue binding 'JOBS' needs a string 'queue_name'" in response.json()["errors"][0]["message"]


# For the edge runtime -------------------------------------------------------------------------------------------

def test_active_deployments_carry_secret_values_and_compatibility(api, fresh, account_id, script):
    api.put(path(account_id, "secrets"), json={"name": "API_KEY", "text": "s3cret", "type": "secret_text"})
    [entry] = active(fresh)
    assert entry["script_name"] == SCRIPT and entry["deployment_id"] == deployments(api, account_id)[0]["id"]
    [version] = entry["versions"]
    assert version["percentage"] == 100 and version["main_module"] == "index.js"
    assert version["compatibility_date"] == "2024-09-23" and version["migration_tag"] is None
    assert version["tag"] == "" and version["created_on"].endswith("Z")     # for a version_metadata binding
    assert {"type": "secret_text", "name": "API_KEY", "text": "s3cret"} in version["bindings"]
    json.dumps([dict(v, modules=[]) for v in entry["versions"]])  # plain data besides the module bytes


def test_writes_publish_the_deployments_topic(tmp_path):
    """In-process through the real handlers: a committed upload and deployment each publish once."""
    from emulator.request import ApiRequest
    from emulator.api import workers
    import email.message
    store = Store(str(tmp_path), schemas(), resource_tables())
    store.ensure_account("a" * 32, "test")
    seen = []
    hooks.subscribe(seen.append)
    try:
        import httpx
        built = httpx.Request("PUT", "http://x/", files=upload_parts(metadata()))
        headers = email.message.Message()
        headers["Content-Type"] = built.headers["content-type"]
        req = ApiRequest("PUT", "/", {"account_id": "a" * 32, "script_name": SCRIPT}, {}, headers, built.read(), store)
        workers.upload_script(req)
        with store.read() as db:
            version_id = worker_versions.active_deployments(db)[0]["versions"][0]["version_id"]
        headers = email.message.Message()
        headers["Content-Type"] = "application/json"
        body = json.dumps({"strategy": "percentage", "versions": [{"version_id": version_id, "percentage": 100}]}).encode()
        worker_versions.create_deployment(ApiRequest("POST", "/", {"account_id": "a" * 32, "script_name": SCRIPT}, {},
                                                     headers, body, store))
    finally:
        hooks.unsubscribe(seen.append)
        store.close()
    assert seen == ["deployments", "deployments"]
