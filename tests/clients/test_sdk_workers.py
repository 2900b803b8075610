"""The official Python SDK (cloudflare 5.9.0), unmodified, over the Workers objects the modules manage:
scripts, versions, deployments, secrets, routes, custom domains, cron schedules and workers.dev.

Every call goes through the SDK's own request building and response models; a model the SDK cannot
build from the emulator's answer fails the test. Where the SDK itself cannot read a documented answer
(a bug on its side), the test says so and reads the raw response the SDK returns.
"""
import cloudflare
import pytest

from emulator.api.zones import zone_id_for

WORKER = "sdk-worker"
MODULE = b'export default { fetch() { return new Response("sdk"); } };\n'
V2 = b'export default { fetch() { return new Response("sdk v2"); } };\n'
DO_MODULE = b'export class Counter {}\nexport default { fetch() { return new Response("do"); } };\n'
FILES = [("index.js", MODULE, "application/javascript+module")]


def upload(sdk, account_id, name=WORKER, files=None, **metadata):
    document = {"main_module": "index.js", "compatibility_date": "2025-01-15"}
    document.update(metadata)
    return sdk.workers.scripts.update(name, account_id=account_id, metadata=document, files=files or FILES)


def raw_result(raw):
    assert raw.http_response.status_code == 200, raw.http_response.text
    return raw.http_response.json()["result"]


def read_version(sdk, account_id, version_id, name=WORKER):
    """``versions.get``: SDK 5.9.0 cannot build its own VersionGetResponse (its ``ResourcesBindings`` is a
    plain class pydantic refuses), so the answer the SDK fetched is read raw."""
    return raw_result(sdk.workers.scripts.versions.with_raw_response.get(version_id, account_id=account_id, script_name=name))


@pytest.fixture
def account_id(fresh):
    return fresh.account_id


def test_scripts_settings_and_content(sdk, account_id):
    namespace = sdk.kv.namespaces.create(account_id=account_id, title="sdk-cache")
    script = upload(sdk, account_id, bindings=[{"type": "kv_namespace", "name": "CACHE", "namespace_id": namespace.id},
                                               {"type": "plain_text", "name": "ENVIRONMENT", "text": "local"}],
                    annotations={"workers/message": "first", "workers/tag": "1.0"})
    assert script.id == WORKER and script.has_modules and len(script.tag) == 32
    assert [s.id for s in sdk.workers.scripts.list(account_id=account_id)] == [WORKER]
    settings = sdk.workers.scripts.script_and_version_settings.get(WORKER, account_id=account_id)
    assert [(b.type, b.name) for b in settings.bindings] == [("kv_namespace", "CACHE"), ("plain_text", "ENVIRONMENT")]
    assert settings.bindings[1].text == "local"
    assert MODULE in sdk.workers.scripts.content.get(WORKER, account_id=account_id).read()
    # The script upload's annotations are the new version's.
    [version] = list(sdk.workers.scripts.versions.list(WORKER, account_id=account_id))
    assert read_version(sdk, account_id, version.id)["annotations"] == {
        "workers/message": "first", "workers/tag": "1.0", "workers/triggered_by": "upload"}
    sdk.workers.scripts.delete(WORKER, account_id=account_id)
    with pytest.raises(cloudflare.NotFoundError):
        sdk.workers.scripts.settings.get(WORKER, account_id=account_id)


def test_server_filled_binding_fields_in_the_sdks_settings_type(sdk, account_id):
    database = sdk.d1.database.create(account_id=account_id, name="sdk-books")
    # The SDK's upload type names the D1 database `database_id`; its settings type reads `database_id` back.
    upload(sdk, account_id, files=[("index.js", DO_MODULE, "application/javascript+module")],
           bindings=[{"type": "d1", "name": "DB", "database_id": database.uuid},
                     {"type": "durable_object_namespace", "name": "COUNTER", "class_name": "Counter"},
                     {"type": "version_metadata", "name": "CF_VERSION_METADATA"}],
           migrations={"new_tag": "v1", "new_sqlite_classes": ["Counter"]})
    bindings = {b.name: b for b in sdk.workers.scripts.script_and_version_settings.get(WORKER, account_id=account_id).bindings}
    assert bindings["DB"].type == "d1" and bindings["DB"].database_id == database.uuid
    assert bindings["COUNTER"].type == "durable_object_namespace" and len(bindings["COUNTER"].namespace_id) == 32
    assert bindings["CF_VERSION_METADATA"].type == "version_metadata"
    assert [s.migration_tag for s in sdk.workers.scripts.list(account_id=account_id)] == ["v1"]


def test_versions_and_deployments_with_a_version_at_0_percent(sdk, account_id):
    upload(sdk, account_id)
    [stable] = list(sdk.workers.scripts.versions.list(WORKER, account_id=account_id))
    # versions.create: the same model problem as versions.get, so its answer is read raw too.
    created = raw_result(sdk.workers.scripts.versions.with_raw_response.create(
        WORKER, account_id=account_id, files=[("index.js", V2, "application/javascript+module")],
        metadata={"main_module": "index.js", "compatibility_date": "2025-01-15",
                  "bindings": [{"type": "plain_text", "name": "CFOPS_RELEASE_FINGERPRINT", "text": "f" * 64}],
                  "annotations": {"workers/message": "second", "workers/tag": "2.0", "workers/commit_sha": "a" * 40}}))["id"]
    # The SDK pages on until an empty page; with deployable=true every version is on the first page.
    assert [v.number for v in sdk.workers.scripts.versions.list(WORKER, account_id=account_id)] == [2, 1]
    assert [v.id for v in sdk.workers.scripts.versions.list(WORKER, account_id=account_id, deployable=True)] == [
        created, stable.id]
    version = read_version(sdk, account_id, created)
    assert version["annotations"] == {"workers/message": "second", "workers/tag": "2.0"}     # no commit_sha echo
    assert {"type": "plain_text", "name": "CFOPS_RELEASE_FINGERPRINT", "text": "f" * 64} in version["resources"]["bindings"]

    smoke = sdk.workers.scripts.deployments.create(
        WORKER, account_id=account_id, strategy="percentage", annotations={"workers/message": "smoke test"},
        versions=[{"version_id": created, "percentage": 0}, {"version_id": stable.id, "percentage": 100}])
    assert [(v.version_id, v.percentage) for v in smoke.versions] == [(created, 0), (stable.id, 100)]
    assert sdk.workers.scripts.deployments.get(smoke.id, account_id=account_id, script_name=WORKER).annotations.workers_message == "smoke test"
    full = sdk.workers.scripts.deployments.create(WORKER, account_id=account_id, strategy="percentage",
                                                  versions=[{"version_id": created, "percentage": 100}])
    # deployments.list is typed as a V4 page of `items` (of DeploymentListResponse, itself `{deployments}`),
    # while the answer is `{deployments: [...]}`, which wrangler reads: read it raw.
    listed = raw_result(sdk.workers.scripts.deployments.with_raw_response.list(WORKER, account_id=account_id))["deployments"]
    assert [d["id"] for d in listed][:2] == [full.id, smoke.id]
    sdk.workers.scripts.deployments.delete(smoke.id, account_id=account_id, script_name=WORKER)
    with pytest.raises(cloudflare.NotFoundError):
        sdk.workers.scripts.deployments.get(smoke.id, account_id=account_id, script_name=WORKER)
    with pytest.raises(cloudflare.BadRequestError):
        sdk.workers.scripts.deployments.delete(full.id, account_id=account_id, script_name=WORKER)   # the active one


def test_secrets_one_by_one_and_in_bulk(sdk, account_id):
    upload(sdk, account_id)
    secret = sdk.workers.scripts.secrets.update(WORKER, account_id=account_id, name="API_KEY", text="v1", type="secret_text")
    assert (secret.name, secret.type) == ("API_KEY", "secret_text")
    assert sdk.workers.scripts.secrets.get("API_KEY", account_id=account_id, script_name=WORKER).name == "API_KEY"
    bulk = sdk.workers.scripts.secrets.bulk_update(WORKER, account_id=account_id, secrets={
        "API_KEY": None, "TOKEN": {"name": "TOKEN", "text": "t", "type": "secret_text"}})
    assert bulk is not None
    assert [s.name for s in sdk.workers.scripts.secrets.list(WORKER, account_id=account_id)] == ["TOKEN"]
    sdk.workers.scripts.secrets.delete("TOKEN", account_id=account_id, script_name=WORKER)
    assert list(sdk.workers.scripts.secrets.list(WORKER, account_id=account_id)) == []
    with pytest.raises(cloudflare.NotFoundError):
        sdk.workers.scripts.secrets.get("TOKEN", account_id=account_id, script_name=WORKER)


def test_routes_custom_domains_schedules_and_workers_dev(sdk, account_id):
    upload(sdk, account_id)
    zone_id = zone_id_for(account_id, "example.com")
    route = sdk.workers.routes.create(zone_id=zone_id, pattern="books.example.com/api/*", script=WORKER)
    assert sdk.workers.routes.get(route.id, zone_id=zone_id).pattern == "books.example.com/api/*"
    sdk.workers.routes.update(route.id, zone_id=zone_id, pattern="books.example.com/v2/*", script=WORKER)
    assert [(r.pattern, r.script) for r in sdk.workers.routes.list(zone_id=zone_id)] == [("books.example.com/v2/*", WORKER)]
    sdk.workers.routes.delete(route.id, zone_id=zone_id)
    assert list(sdk.workers.routes.list(zone_id=zone_id)) == []

    # The SDK's DomainUpdateParams has no environment; the answer still names one.
    domain = sdk.workers.domains.update(account_id=account_id, hostname="shop.example.com", service=WORKER, zone_id=zone_id)
    assert (domain.hostname, domain.service, domain.environment) == ("shop.example.com", WORKER, "production")
    assert [d.id for d in sdk.workers.domains.list(account_id=account_id, service=WORKER)] == [domain.id]
    assert sdk.workers.domains.get(domain.id, account_id=account_id).zone_name == "example.com"
    sdk.workers.domains.delete(domain.id, account_id=account_id)
    assert list(sdk.workers.domains.list(account_id=account_id)) == []

    schedules = sdk.workers.scripts.schedules.update(WORKER, account_id=account_id, body=[{"cron": "*/30 * * * *"}])
    assert [s.cron for s in schedules.schedules] == ["*/30 * * * *"]
    assert [s.cron for s in sdk.workers.scripts.schedules.get(WORKER, account_id=account_id).schedules] == ["*/30 * * * *"]

    # workers.dev: off for an API upload until turned on; delete turns it (and previews) off.
    state = sdk.workers.scripts.subdomain.get(WORKER, account_id=account_id)
    assert (state.enabled, state.previews_enabled) == (False, False)
    turned = sdk.workers.scripts.subdomain.create(WORKER, account_id=account_id, enabled=True, previews_enabled=True)
    assert (turned.enabled, turned.previews_enabled) == (True, True)
    removed = sdk.workers.scripts.subdomain.delete(WORKER, account_id=account_id)
    assert (removed.enabled, removed.previews_enabled) == (False, False)
    assert sdk.workers.subdomains.get(account_id=account_id).subdomain == "cfops-local"
    assert sdk.workers.subdomains.update(account_id=account_id, subdomain="sdk-team").subdomain == "sdk-team"
