"""Which version answers at the edge: version overrides, the version_metadata binding, 0 % versions,
and Worker code that tries the emulator's admin side. Real API over HTTP, real workerd."""
import os

import httpx
import pytest

from tests.emulator.edge_helpers import (
    METADATA, api_client, create_deployment, deploy, edge_client, edge_process, hit, marker_worker, script_path, served,
    upload_version, workers_dev)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    yield from edge_process(tmp_path_factory)


@pytest.fixture
def api(edge):
    yield from api_client(edge)


@pytest.fixture
def client(edge):
    yield from edge_client(edge)


OVERRIDES = "Cloudflare-Workers-Version-Overrides"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def two_versions(api, edge, name, split):
    """``name`` with versions "old" and "new" deployed at ``split(old, new)`` percentages; (old, new) ids."""
    old = deploy(api, edge, name, marker_worker("old"), bindings=METADATA)
    new = upload_version(api, edge, name, marker_worker("new"), bindings=METADATA)
    old_share, new_share = split
    create_deployment(api, edge, name, [(new, new_share), (old, old_share)])
    assert edge.edge_sync()
    return old, new


def labels(client, name, count, **headers):
    return [served(hit(client, workers_dev(name), headers=headers)) for _request in range(count)]


def test_an_override_sends_every_request_to_the_named_version_of_the_deployment(api, edge, client):
    old, new = two_versions(api, edge, "ovr", (99, 1))
    assert set(labels(client, "ovr", 20, **{OVERRIDES: 'ovr="%s"' % new})) == {("new", new)}
    assert set(labels(client, "ovr", 20, **{OVERRIDES: 'ovr="%s"' % old})) == {("old", old)}
    # Other members of the dictionary are other Workers' business; parameters do not matter.
    mixed = 'other-worker="%s", ovr="%s";note=1' % (old, new)
    assert set(labels(client, "ovr", 10, **{OVERRIDES: mixed})) == {("new", new)}


@pytest.mark.parametrize("header", [
    'ovr=%(new)s',                 # a Token, not a String: the member is not an override
    'ovr="%(new)s',                # not a valid dictionary (unterminated string): the header is ignored
    'ovr="%(new)s",',              # a trailing comma is invalid too
    'OVR="%(new)s"',               # keys are lowercase
    'ovr="%(new)s" junk',          # trailing garbage
    'another="%(new)s"',           # names another Worker
])
def test_an_invalid_override_is_ignored_and_the_percentages_decide(api, edge, client, header):
    old, new = two_versions(api, edge, "ovr-bad", (50, 50))
    seen = labels(client, "ovr-bad", 40, **{OVERRIDES: header % {"new": new}})
    # An applied override would send all 40 to "new"; ignored, the 50/50 split shows both (1 - 2**-39).
    assert set(seen) == {("old", old), ("new", new)}, seen


def test_an_override_naming_a_version_outside_the_deployment_is_ignored(api, edge, client):
    old = deploy(api, edge, "outside", marker_worker("old"), bindings=METADATA)
    # Uploaded, not deployed (the edge preloads it, so only the rule keeps it from serving).
    other = upload_version(api, edge, "outside", marker_worker("other"), bindings=METADATA)
    assert edge.edge_sync()
    assert set(labels(client, "outside", 10, **{OVERRIDES: 'outside="%s"' % other})) == {("old", old)}


def test_a_version_at_0_percent_serves_only_through_an_override(api, edge, client):
    old = deploy(api, edge, "smoke", marker_worker("old"), bindings=METADATA)
    new = upload_version(api, edge, "smoke", marker_worker("new"), bindings=METADATA)
    response = api.post(script_path(edge, "smoke", "deployments"), json={
        "strategy": "percentage", "versions": [{"version_id": new, "percentage": 0}, {"version_id": old, "percentage": 100}]})
    assert response.status_code == 200, response.text
    assert edge.edge_sync()
    assert set(labels(client, "smoke", 30)) == {("old", old)}
    assert set(labels(client, "smoke", 5, **{OVERRIDES: 'smoke="%s"' % new})) == {("new", new)}


def test_version_metadata_gives_the_version_id_tag_and_creation_time(api, edge, client):
    deploy(api, edge, "meta", marker_worker("v1"), bindings=METADATA)
    source = ('export default { fetch(request, env) { return Response.json(env.CF_VERSION_METADATA); } };')
    version_id = upload_version(api, edge, "meta", source, bindings=METADATA, annotations={"workers/tag": "release-42"})
    create_deployment(api, edge, "meta", [(version_id, 100)])
    assert edge.edge_sync()
    version = api.get(script_path(edge, "meta", "versions", version_id)).json()["result"]
    assert hit(client, workers_dev("meta")).json() == {
        "id": version_id, "tag": "release-42", "timestamp": version["metadata"]["created_on"]}


def test_the_example_worker_reports_its_version_in_health(api, edge, client):
    src = os.path.join(REPO, "examples", "books-api", "src")
    modules = [(name, open(os.path.join(src, name), "rb").read(), "application/javascript+module")
               for name in ("http.js",)]
    with open(os.path.join(src, "index.js")) as handle:
        version_id = deploy(api, edge, "books-api", handle.read(), extra_modules=modules, bindings=METADATA + [
            {"type": "plain_text", "name": "ENVIRONMENT", "text": "local"},
            {"type": "plain_text", "name": "RELEASE", "text": "r1"}])
    assert edge.edge_sync()
    health = hit(client, workers_dev("books-api"), "/health")
    assert health.status_code == 200
    assert health.json() == {"ok": True, "status": "ok", "worker": "books-api", "environment": "local", "release": "r1",
                             "version": version_id, "version_tag": ""}


def test_worker_code_cannot_reach_the_emulator_admin_side(api, edge, client):
    base = "http://127.0.0.1:%d" % edge.port
    source = """
export default {
  async fetch(request, env) {
    const admin = await fetch("%(base)s/__emulator/health");
    const scheduled = await fetch("%(base)s/__emulator/edge/scheduled", { method: "POST", body: "{}" });
    const byName = await fetch("http://localhost:%(port)d/__emulator/calls");
    const cloudflareApi = await fetch("%(base)s/client/v4/zones");
    return Response.json({ admin: admin.status, scheduled: scheduled.status, byName: byName.status,
                           api: cloudflareApi.status });
  },
};
""" % {"base": base, "port": edge.port}
    deploy(api, edge, "snoop", source)
    assert edge.edge_sync()
    calls_before = edge.calls()["total"]
    assert hit(client, workers_dev("snoop")).json() == {"admin": 403, "scheduled": 403, "byName": 403,
                                                        # The Cloudflare API itself is fair game (with a token).
                                                        "api": 400}
    assert edge.calls()["total"] - calls_before == 1  # only the Worker's own API call reached the API
    assert httpx.get(base + "/__emulator/health", trust_env=False).status_code == 200  # the test itself may


def counter_do(release):
    with open(os.path.join(REPO, "examples", "counter-do", release, "index.js")) as handle:
        return handle.read()


def test_durable_object_data_survives_a_renamed_classes_migration(api, edge, client):
    """Contract 2: the edge keys a class's storage by its namespace id, which renamed_classes keeps."""
    deploy(api, edge, "counter-do", counter_do("v1"), migrations={"new_tag": "v1", "new_sqlite_classes": ["Counter"]},
           bindings=[{"type": "durable_object_namespace", "name": "COUNTER", "class_name": "Counter"}])
    assert edge.edge_sync()
    assert [hit(client, workers_dev("counter-do"), "/count").json() for _request in range(3)] == [
        {"class": "Counter", "count": n} for n in (1, 2, 3)]
    deploy(api, edge, "counter-do", counter_do("v2"),
           migrations={"old_tag": "v1", "new_tag": "v2", "renamed_classes": [{"from": "Counter", "to": "Tally"}]},
           bindings=[{"type": "durable_object_namespace", "name": "COUNTER", "class_name": "Tally"}])
    assert edge.edge_sync()
    settings = api.get(script_path(edge, "counter-do", "settings")).json()["result"]
    binding = next(b for b in settings["bindings"] if b["name"] == "COUNTER")
    assert binding.get("namespace_id"), binding
    assert hit(client, workers_dev("counter-do"), "/count").json() == {"class": "Tally", "count": 4}
    assert hit(client, workers_dev("counter-do"), "/health").json()["release"] == "v2"
