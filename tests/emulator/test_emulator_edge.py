"""The edge: deployed Worker versions run in real workerd (Miniflare) behind ``--edge-port``.

Scripts, versions, deployments, KV, D1 and queues go through the real API over HTTP; requests go to the
edge with a Host header, as the release pipeline's smoke tests do.
"""
import json
import os
import signal
import sqlite3
import statistics
import time

import httpx
import pytest

from tests.emulator.edge_helpers import (
    METADATA, api_client, create_deployment, deploy, echo_worker, edge_client, edge_process, hit, marker_worker,
    script_path, served, upload_version, workers_dev)
from tests.support.emulator import EmulatorProcess

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


def test_the_active_deployment_serves_and_the_edge_adds_no_header_of_its_own(api, edge, client):
    deploy(api, edge, "hello", echo_worker("hello from workerd"))
    assert edge.edge_sync()
    response = hit(client, workers_dev("hello"), "/anything?x=1")
    assert response.status_code == 200
    assert response.text == "hello from workerd"
    # Cloudflare adds no version header; neither does the emulator (nor leaks its internal one).
    assert not [name for name in response.headers if name.lower().startswith("x-cfops")], dict(response.headers)


def test_an_unknown_host_is_404_with_a_clear_text(api, edge, client):
    deploy(api, edge, "known", echo_worker("known"))
    assert edge.edge_sync()
    response = hit(client, "nobody.example.net", "/x")
    assert response.status_code == 404
    assert "no Worker route, custom domain or workers.dev name matches nobody.example.net/x" in response.text


def test_a_worker_that_throws_gives_a_500(api, edge, client):
    deploy(api, edge, "broken", 'export default { fetch() { throw new Error("boom"); } };')
    assert edge.edge_sync()
    response = hit(client, workers_dev("broken"), "/health")
    assert response.status_code == 500
    assert response.text.startswith("Error 1101: Worker threw exception")


def test_a_version_workerd_cannot_load_answers_500_and_the_others_keep_serving(api, edge, client):
    good = deploy(api, edge, "steady", marker_worker("steady"), bindings=METADATA)
    deploy(api, edge, "canary", echo_worker("canary v1"))
    # Code that does not parse is refused at upload (10021, as Cloudflare does); a module that parses but imports
    # a module that was not uploaded is what still reaches the edge and cannot be loaded there.
    bad = upload_version(api, edge, "canary",
                         'import missing from "./missing.js";\nexport default { fetch() { return new Response(missing); } };')
    create_deployment(api, edge, "canary", [(bad, 100)])
    assert edge.edge_sync()
    response = hit(client, workers_dev("canary"))
    assert response.status_code == 500
    assert "failed to load" in response.text, response.text
    assert served(hit(client, workers_dev("steady"))) == ("steady", good)
    # Later changes still reach the edge.
    deploy(api, edge, "canary", echo_worker("canary v3"))
    assert edge.edge_sync()
    assert hit(client, workers_dev("canary")).text == "canary v3"


def test_a_10_90_split_lands_near_100_900_over_1000_requests(api, edge, client):
    old = deploy(api, edge, "split", marker_worker("old"), bindings=METADATA)
    new = upload_version(api, edge, "split", marker_worker("new"), bindings=METADATA)
    create_deployment(api, edge, "split", [(new, 10), (old, 90)])
    assert edge.edge_sync()
    counts = {old: 0, new: 0}
    latencies = []
    for _request in range(1000):
        started = time.perf_counter()
        response = hit(client, workers_dev("split"))
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200
        label, version_id = served(response)
        counts[version_id] += 1
        assert label == ("new" if version_id == new else "old")
    # Binomial(1000, 0.1): standard deviation 9.5, so 60..140 is beyond 4 sigma.
    assert 60 <= counts[new] <= 140, counts
    assert counts[old] == 1000 - counts[new]
    print("edge latency per request: mean %.2f ms, p95 %.2f ms" % (
        statistics.mean(latencies) * 1000, sorted(latencies)[949] * 1000))


def test_a_deployment_change_serves_within_a_second(api, edge, client):
    old = deploy(api, edge, "switch", marker_worker("old"), bindings=METADATA)
    new = upload_version(api, edge, "switch", marker_worker("new"), bindings=METADATA)
    assert edge.edge_sync()
    assert served(hit(client, workers_dev("switch")))[1] == old
    started = time.monotonic()
    create_deployment(api, edge, "switch", [(new, 100)])
    while served(hit(client, workers_dev("switch")))[1] != new:
        assert time.monotonic() - started < 1.0, "the new deployment did not serve within 1 s"
        time.sleep(0.01)
    elapsed = time.monotonic() - started
    print("deployment API call -> edge serving the new version: %.0f ms" % (elapsed * 1000))
    assert elapsed < 1.0, "the new deployment took %.2f s to serve" % elapsed
    # Rolling back is a deployment too.
    create_deployment(api, edge, "switch", [(old, 100)])
    assert edge.edge_sync()
    assert served(hit(client, workers_dev("switch"))) == ("old", old)


KV_WORKER = """
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/put") {
      await env.KV.put("from-worker", "written by the worker", { metadata: { by: "worker" } });
      await env.KV.put("ttl", "short lived", { expirationTtl: 3600 });
      return new Response("ok");
    }
    if (url.pathname === "/delete") {
      await env.KV.delete("greeting");
      return new Response("deleted");
    }
    const withMeta = await env.KV.getWithMetadata("greeting");
    const listed = await env.KV.list({ prefix: "g" });
    return Response.json({
      text: await env.KV.get("greeting"),
      json: await env.KV.get("config", "json"),
      missing: await env.KV.get("missing"),
      metadata: withMeta.metadata,
      keys: listed.keys.map((k) => k.name),
      complete: listed.list_complete,
    });
  },
};
"""


def test_kv_binding_reads_and_writes_the_data_the_api_manages(api, edge, client):
    namespace = api.post("/accounts/%s/storage/kv/namespaces" % edge.account_id, json={"title": "edge-kv"}).json()["result"]["id"]
    values = "/accounts/%s/storage/kv/namespaces/%s/values/" % (edge.account_id, namespace)
    assert api.put(values + "greeting", files={"value": (None, "hello from the API"),
                                               "metadata": (None, json.dumps({"source": "api"}))}).status_code == 200
    assert api.put(values + "config", content=b'{"rollout": [10, 25, 50, 100]}').status_code == 200
    deploy(api, edge, "kv-reader", KV_WORKER, bindings=[{"type": "kv_namespace", "name": "KV", "namespace_id": namespace}])
    assert edge.edge_sync()
    api_calls_before = edge.calls()["total"]

    seen = hit(client, workers_dev("kv-reader")).json()
    assert seen == {"text": "hello from the API", "json": {"rollout": [10, 25, 50, 100]}, "missing": None,
                    "metadata": {"source": "api"}, "keys": ["greeting"], "complete": True}

    assert hit(client, workers_dev("kv-reader"), "/put").text == "ok"
    assert api.get(values + "from-worker").text == "written by the worker"
    metadata = api.get("/accounts/%s/storage/kv/namespaces/%s/metadata/from-worker" % (edge.account_id, namespace))
    assert metadata.json()["result"] == {"by": "worker"}
    keys = api.get("/accounts/%s/storage/kv/namespaces/%s/keys" % (edge.account_id, namespace)).json()["result"]
    assert [k["name"] for k in keys] == ["config", "from-worker", "greeting", "ttl"]
    assert "expiration" in next(k for k in keys if k["name"] == "ttl")

    assert hit(client, workers_dev("kv-reader"), "/delete").text == "deleted"
    assert api.get(values + "greeting").status_code == 404
    # The Worker's binding calls are not API calls: only the test's own 4 reads were counted.
    assert edge.calls()["total"] - api_calls_before == 4


VARS_WORKER = """
export default {
  fetch(request, env) {
    return Response.json({ stage: env.STAGE, limits: env.LIMITS, token: env.API_TOKEN });
  },
};
"""


def test_plain_text_json_and_secret_bindings_reach_the_worker(api, edge, client):
    deploy(api, edge, "vars", VARS_WORKER, bindings=[
        {"type": "plain_text", "name": "STAGE", "text": "canary"},
        {"type": "json", "name": "LIMITS", "json": {"p95_ms": 500, "error_rate": 0.05}},
        {"type": "secret_text", "name": "API_TOKEN", "text": "first-secret"},
    ])
    assert edge.edge_sync()
    assert hit(client, workers_dev("vars")).json() == {
        "stage": "canary", "limits": {"p95_ms": 500, "error_rate": 0.05}, "token": "first-secret"}
    # A secret set through the secrets API makes a new version that serves at once.
    response = api.put(script_path(edge, "vars", "secrets"), json={"name": "API_TOKEN", "text": "rotated", "type": "secret_text"})
    assert response.status_code == 200, response.text
    assert edge.edge_sync()
    assert hit(client, workers_dev("vars")).json()["token"] == "rotated"


COUNTER_WORKER = """
export class Counter {
  constructor(state) { this.state = state; }
  async fetch() {
    const count = ((await this.state.storage.get("count")) || 0) + 1;
    await this.state.storage.put("count", count);
    return new Response(String(count));
  }
}
export default {
  fetch(request, env) {
    return env.COUNTER.get(env.COUNTER.idFromName("global")).fetch(request);
  },
};
"""


def test_durable_object_storage_survives_new_versions_and_an_emulator_restart(tmp_path):
    with EmulatorProcess(data_dir=str(tmp_path / "do"), edge=True) as emu, \
            httpx.Client(base_url=emu.base_url, headers={"Authorization": "Bearer " + emu.token}, timeout=15,
                         trust_env=False) as api:
        binding = [{"type": "durable_object_namespace", "name": "COUNTER", "class_name": "Counter"}]
        deploy(api, emu, "counter", COUNTER_WORKER, bindings=binding, migrations={"new_tag": "v1", "new_classes": ["Counter"]})
        assert emu.edge_sync()
        host = {"Host": workers_dev("counter")}
        assert [httpx.get(emu.edge_url, headers=host).text for _request in range(3)] == ["1", "2", "3"]
        deploy(api, emu, "counter", COUNTER_WORKER.replace("global", "global") + "\n// v2\n", bindings=binding)
        assert emu.edge_sync()
        assert httpx.get(emu.edge_url, headers=host).text == "4"
        emu.restart()
        assert httpx.get(emu.edge_url, headers=host).text == "5"


def test_service_bindings_call_the_other_script(api, edge, client):
    deploy(api, edge, "backend", echo_worker("from the backend"))
    deploy(api, edge, "frontend", 'export default { async fetch(request, env) { '
                                  'const r = await env.BACKEND.fetch("http://backend/"); '
                                  'return new Response("frontend got: " + await r.text()); } };',
           bindings=[{"type": "service", "name": "BACKEND", "service": "backend"}])
    assert edge.edge_sync()
    assert hit(client, workers_dev("frontend")).text == "frontend got: from the backend"


def test_routes_and_custom_domains_reach_their_scripts(api, edge, client):
    deploy(api, edge, "api-worker", echo_worker("api"))
    deploy(api, edge, "site-worker", echo_worker("site"))
    zone_id = api.get("/zones", params={"name": "example.com"}).json()["result"][0]["id"]
    assert api.post("/zones/%s/workers/routes" % zone_id,
                    json={"pattern": "example.com/api/*", "script": "api-worker"}).status_code == 200
    response = api.put("/accounts/%s/workers/domains" % edge.account_id,
                       json={"hostname": "shop.example.com", "service": "site-worker", "zone_id": zone_id, "environment": "production"})
    assert response.status_code == 200, response.text
    assert edge.edge_sync()
    assert hit(client, "example.com", "/api/books").text == "api"
    assert hit(client, "shop.example.com", "/").text == "site"
    assert hit(client, "example.com", "/elsewhere").status_code == 404


D1_WORKER = """
export default {
  async fetch(request, env) {
    await env.DB.prepare("INSERT INTO books (title) VALUES (?)").bind("From the edge").run();
    const { results } = await env.DB.prepare("SELECT title FROM books ORDER BY id").all();
    const count = await env.DB.prepare("SELECT COUNT(*) AS n FROM books").first("n");
    return Response.json({ titles: results.map((r) => r.title), count });
  },
};
"""


def test_d1_binding_runs_on_the_database_the_api_manages(api, edge, client):
    created = api.post("/accounts/%s/d1/database" % edge.account_id, json={"name": "books"})
    assert created.status_code == 200, created.text
    database_id = created.json()["result"]["uuid"]
    query = "/accounts/%s/d1/database/%s/query" % (edge.account_id, database_id)
    assert api.post(query, json={"sql": "CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT); "
                                        "INSERT INTO books (title) VALUES ('From the API')"}).status_code == 200
    deploy(api, edge, "d1-worker", D1_WORKER, bindings=[{"type": "d1", "name": "DB", "id": database_id}])
    assert edge.edge_sync()
    assert hit(client, workers_dev("d1-worker")).json() == {"titles": ["From the API", "From the edge"], "count": 2}
    rows = api.post(query, json={"sql": "SELECT title FROM books ORDER BY id"}).json()["result"][0]["results"]
    assert [row["title"] for row in rows] == ["From the API", "From the edge"]


QUEUE_WORKER = """
export default {
  async fetch(request, env) {
    await env.JOBS.send({ book: 42, action: "reindex" });
    await env.JOBS.sendBatch([{ body: "plain text", contentType: "text" }, { body: { book: 7 } }]);
    return new Response("queued");
  },
};
"""


def test_queue_producer_binding_puts_messages_in_the_emulator_queue(api, edge, client):
    created = api.post("/accounts/%s/queues" % edge.account_id, json={"queue_name": "reindex-jobs"})
    assert created.status_code == 200, created.text
    queue_id = created.json()["result"]["queue_id"]
    deploy(api, edge, "producer", QUEUE_WORKER, bindings=[{"type": "queue", "name": "JOBS", "queue_name": "reindex-jobs"}])
    assert edge.edge_sync()
    assert hit(client, workers_dev("producer")).text == "queued"
    # The queues area has no API to read messages yet: look at its storage.
    with sqlite3.connect("file:%s?mode=ro" % os.path.join(edge.data_dir, "state.sqlite3"), uri=True) as db:
        rows = db.execute("SELECT body, content_type FROM queue_messages WHERE queue_id = ? ORDER BY enqueued_at, rowid",
                          (queue_id,)).fetchall()
    assert [(json.loads(body) if kind == "json" else bytes(body).decode(), kind) for body, kind in rows] == [
        ({"book": 42, "action": "reindex"}, "json"), ("plain text", "text"), ({"book": 7}, "json")]


R2_WORKER = """
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/put") {
      const put = await env.BUCKET.put("reports/2026.json", JSON.stringify({ sold: 12 }), {
        httpMetadata: { contentType: "application/json" }, customMetadata: { by: "worker" } });
      return Response.json({ size: put.size });
    }
    const object = await env.BUCKET.get("reports/2026.json");
    const listed = await env.BUCKET.list({ prefix: "reports/" });
    return Response.json({
      body: await object.json(), type: object.httpMetadata.contentType, meta: object.customMetadata,
      keys: listed.objects.map((o) => o.key), missing: await env.BUCKET.get("nope"),
    });
  },
};
"""


def test_r2_binding_stores_objects_in_the_emulator_r2_storage(api, edge, client):
    created = api.post("/accounts/%s/r2/buckets" % edge.account_id, json={"name": "reports"})
    assert created.status_code == 200, created.text
    deploy(api, edge, "r2-worker", R2_WORKER, bindings=[{"type": "r2_bucket", "name": "BUCKET", "bucket_name": "reports"}])
    assert edge.edge_sync()
    assert hit(client, workers_dev("r2-worker"), "/put").json() == {"size": len(b'{"sold":12}')}
    assert hit(client, workers_dev("r2-worker")).json() == {
        "body": {"sold": 12}, "type": "application/json", "meta": {"by": "worker"},
        "keys": ["reports/2026.json"], "missing": None}
    with sqlite3.connect("file:%s?mode=ro" % os.path.join(edge.data_dir, "state.sqlite3"), uri=True) as db:
        rows = db.execute("SELECT key, size, content_type FROM r2_objects").fetchall()
    assert rows == [("reports/2026.json", 11, "application/json")]


def _children(pid):
    """Every descendant process id of ``pid`` (from /proc)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as handle:
                    parents[int(entry)] = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        for child, parent in parents.items():
            if parent == current:
                found.append(child)
                frontier.append(child)
    return found


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_gone(pids, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.1)
    return [pid for pid in pids if _alive(pid)]


@pytest.mark.parametrize("how", ["stop", "sigkill"])
def test_no_node_or_workerd_process_outlives_the_emulator(tmp_path, how):
    emu = EmulatorProcess(data_dir=str(tmp_path / how), edge=True).start()
    try:
        sidecar = emu.edge_status()["pid"]
        descendants = _children(emu._process.pid)
        assert sidecar in descendants
        assert len(descendants) >= 2, "expected node and workerd under the emulator: %s" % descendants
        if how == "stop":
            emu.stop()
        else:
            os.kill(emu._process.pid, signal.SIGKILL)
            emu._process.wait(timeout=10)
        assert _wait_gone(descendants) == []
    finally:
        emu.close()
