"""Invocations at the edge, per version, from the GraphQL Analytics API: traffic the test generates in
real workerd, counted back through ``POST /client/v4/graphql`` the way the release gate asks."""
import datetime
import os
import sqlite3
import time

import httpx
import pytest

from tests.emulator.edge_helpers import (
    METADATA, api_client, create_deployment, deploy, edge_client, edge_process, hit, upload_version, workers_dev)
from tests.emulator.test_emulator_edge_analytics_query import CANARY_QUERY

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

WORKER = """
export default {
  async fetch(request, env) {
    const path = new URL(request.url).pathname;
    if (path === "/boom") throw new Error("a deliberate exception");
    if (path === "/handled") return new Response("handled failure", { status: 500 });
    if (path === "/slow") await new Promise((resolve) => setTimeout(resolve, 1500));
    return new Response("%s " + env.CF_VERSION_METADATA.id);
  },
};
"""


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def query(api, edge, variables, text=CANARY_QUERY):
    response = api.post("/graphql", json={"query": text, "variables": dict(variables, accountTag=edge.account_id)})
    assert response.status_code == 200, response.text
    assert response.json()["errors"] is None, response.text
    return response.json()["data"]["viewer"]["accounts"][0]["workersInvocationsAdaptive"]


def until(check, seconds=10):
    """The edge reports invocations in batches: poll (bounded) until ``check()`` is truthy."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_traffic_at_the_edge_is_counted_per_version(api, edge, client):
    start = iso(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1))
    stable = deploy(api, edge, "gated", WORKER % "stable", bindings=METADATA)
    canary = upload_version(api, edge, "gated", WORKER % "canary", bindings=METADATA)
    create_deployment(api, edge, "gated", [(canary, 10), (stable, 90)])
    assert edge.edge_sync()
    to = {version: {OVERRIDES: 'gated="%s"' % version} for version in (stable, canary)}
    for _request in range(30):
        assert hit(client, workers_dev("gated"), headers=to[stable]).status_code == 200
    for path, count, status in (("/", 5, 200), ("/boom", 3, 500), ("/handled", 2, 500)):
        for _request in range(count):
            assert hit(client, workers_dev("gated"), path, headers=to[canary]).status_code == status
    with pytest.raises(httpx.TimeoutException):  # a client that gives up: Cloudflare's clientDisconnected
        hit(client, workers_dev("gated"), "/slow", headers=to[canary], timeout=0.3)
    window = {"scriptName": "gated", "datetimeStart": start,
              "datetimeEnd": iso(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=5))}

    def counted():
        rows = query(api, edge, window)
        total = sum(row["sum"]["requests"] for row in rows)
        return rows if total == 41 else None

    rows = until(counted)
    assert rows, query(api, edge, window)
    by_version = {row["dimensions"]["scriptVersion"]: row for row in rows}
    assert set(by_version) == {stable, canary}
    # Errors are exceptions, not HTTP 500s: the handled 500s are successful invocations (as on Cloudflare).
    assert by_version[stable]["sum"] == {"requests": 30, "errors": 0}
    assert by_version[canary]["sum"] == {"requests": 11, "errors": 3}
    for row in rows:
        p50, p90, p99 = (row["quantiles"][name] for name in ("wallTimeP50", "wallTimeP90", "wallTimeP99"))
        assert 0 < p50 <= p90 <= p99 < 10_000_000, row  # microseconds
    statuses = query(api, edge, window, CANARY_QUERY.replace("dimensions { scriptVersion }",
                                                             "dimensions { scriptVersion status }"))
    assert sorted((r["dimensions"]["scriptVersion"] == canary, r["dimensions"]["status"], r["sum"]["requests"])
                  for r in statuses) == [(False, "success", 30), (True, "clientDisconnected", 1),
                                         (True, "scriptThrewException", 3), (True, "success", 7)]
    # What GraphQL cannot show (Cloudflare has no HTTP status on this dataset) is still recorded.
    with sqlite3.connect("file:%s?mode=ro" % os.path.join(edge.data_dir, "state.sqlite3"), uri=True) as db:
        recorded = db.execute("SELECT http_status, outcome, COUNT(*) FROM edge_invocations WHERE script_name = 'gated' "
                              "AND version_id = ? GROUP BY 1, 2 ORDER BY 1, 2", (canary,)).fetchall()
    assert recorded == [(200, "clientDisconnected", 1), (200, "success", 5), (500, "scriptThrewException", 3),
                        (500, "success", 2)]


def test_a_window_before_the_traffic_and_another_worker_count_nothing(api, edge, client):
    deploy(api, edge, "quiet", WORKER % "quiet", bindings=METADATA)
    deploy(api, edge, "busy", WORKER % "busy", bindings=METADATA)
    assert edge.edge_sync()
    now = datetime.datetime.now(datetime.timezone.utc)
    for _request in range(5):
        hit(client, workers_dev("busy"))
    later = {"datetimeStart": iso(now - datetime.timedelta(seconds=1)), "datetimeEnd": iso(now + datetime.timedelta(minutes=1))}
    assert until(lambda: query(api, edge, dict(later, scriptName="busy")))[0]["sum"]["requests"] == 5
    assert query(api, edge, dict(later, scriptName="quiet")) == []
    earlier = {"datetimeStart": iso(now - datetime.timedelta(hours=1)), "datetimeEnd": iso(now - datetime.timedelta(minutes=10))}
    assert query(api, edge, dict(earlier, scriptName="busy")) == []
