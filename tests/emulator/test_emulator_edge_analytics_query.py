"""The analytics area's GraphQL endpoint on recorded invocations (no workerd: rows are recorded directly).

The query shapes are the documented ones (/work/plan/analytics-contract.md, emulator/fidelity/analytics.yml);
the emulator runs in-process over real SQLite, requests go through the real HTTP server.
"""
import datetime
import json
import threading
import time

import httpx
import pytest

from emulator.api import analytics
from emulator.server import EmulatorServer, build_state

ACCOUNT = "a" * 32
TOKEN = "analytics-token"
CANARY_QUERY = """
query CfopsCanary($accountTag: string, $scriptName: string, $datetimeStart: string, $datetimeEnd: string) {
  viewer {
    accounts(filter: {accountTag: $accountTag}) {
      workersInvocationsAdaptive(limit: 100, filter: {
        scriptName: $scriptName, datetime_geq: $datetimeStart, datetime_leq: $datetimeEnd
      }) {
        dimensions { scriptVersion }
        sum { requests errors }
        quantiles { wallTimeP50 wallTimeP90 wallTimeP99 }
      }
    }
  }
}
"""
# Recent enough for the retention (rows older than 7 days are dropped): 20 s into the previous hour.
T0 = ((int(time.time()) // 3600 - 1) * 3600 + 20) * 1000


def at(offset_seconds):
    return datetime.datetime.fromtimestamp(T0 / 1000 + offset_seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


MINUTE = at(-20)  # the minute T0 is in
WINDOW = {"accountTag": ACCOUNT, "scriptName": "books", "datetimeStart": at(-20), "datetimeEnd": at(220)}


@pytest.fixture
def emulator(tmp_path):
    state = build_state(str(tmp_path), ACCOUNT, TOKEN, "analytics test", log_requests=False)
    state.store.ensure_account("b" * 32, "other")
    state.store.ensure_token("limited-token", "b" * 32)
    server = EmulatorServer(("127.0.0.1", 0), state)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with httpx.Client(base_url="http://127.0.0.1:%d/client/v4" % server.server_address[1],
                      headers={"Authorization": "Bearer " + TOKEN}, timeout=10, trust_env=False) as client:
        yield state, client
    server.shutdown()
    server.server_close()


def invocation(version, ts_ms, wall_us, outcome="success", status=200, script="books", kind="fetch", account=ACCOUNT):
    return {"account_id": account, "script_name": script, "version_id": version, "ts_ms": ts_ms, "kind": kind,
            "http_status": status, "outcome": outcome, "wall_us": wall_us, "response_bytes": 10}


def graphql(client, query, variables=None, **kwargs):
    return client.post("/graphql", json={"query": query, "variables": variables or {}}, **kwargs)


def rows_of(response):
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["errors"] is None
    return document["data"]["viewer"]["accounts"][0]["workersInvocationsAdaptive"]


def seed(state):
    rows = [invocation("stable", T0 + i, 1000 * (i + 1)) for i in range(10)]           # wall 1..10 ms
    rows += [invocation("canary", T0 + 100 + i, 40_000, outcome="scriptThrewException", status=500) for i in range(2)]
    rows += [invocation("canary", T0 + 200, 5_000, status=500)]                        # a handled 500: a success
    rows += [invocation("canary", T0 + 300, 7_000, outcome="clientDisconnected")]
    rows += [invocation("stable", T0 - 3_600_000, 1)]                                  # an hour before the window
    rows += [invocation("stable", T0, 1, script="other-worker")]
    rows += [invocation("x", T0, 1, account="b" * 32)]
    analytics.record(state.store, rows)


def test_the_canary_query_splits_requests_errors_and_wall_time_by_version(emulator):
    state, client = emulator
    seed(state)
    rows = rows_of(graphql(client, CANARY_QUERY, WINDOW))
    assert rows == [  # default order: the grouped dimension, ascending
        {"dimensions": {"scriptVersion": "canary"}, "sum": {"requests": 4, "errors": 2},
         "quantiles": {"wallTimeP50": 23500, "wallTimeP90": 40000, "wallTimeP99": 40000}},
        {"dimensions": {"scriptVersion": "stable"}, "sum": {"requests": 10, "errors": 0},
         "quantiles": {"wallTimeP50": 5500, "wallTimeP90": 9100, "wallTimeP99": 9910}},
    ]


def test_status_breakdown_time_dimensions_aliases_and_ordering(emulator):
    state, client = emulator
    seed(state)
    query = """query ($a: string, $f: AccountWorkersInvocationsAdaptiveFilter_InputObject) { viewer { accounts(filter: {accountTag: $a}) {
      byStatus: workersInvocationsAdaptive(limit: 2, filter: $f, orderBy: [sum_requests_DESC]) {
        dimensions { v: scriptVersion status datetimeMinute } sum { requests clientDisconnects }
      }
      total: workersInvocationsAdaptive(limit: 10, filter: $f) { sum { requests } avg { sampleInterval } __typename }
    } } }"""
    f = {"AND": [{"scriptName": "books", "datetime_geq": at(-20)}, {"status_neq": "scriptThrewException"}]}
    accounts = graphql(client, query, {"a": ACCOUNT, "f": f}).json()["data"]["viewer"]["accounts"][0]
    assert accounts["byStatus"] == [
        {"dimensions": {"v": "stable", "status": "success", "datetimeMinute": MINUTE},
         "sum": {"requests": 10, "clientDisconnects": 0}},
        {"dimensions": {"v": "canary", "status": "clientDisconnected", "datetimeMinute": MINUTE},
         "sum": {"requests": 1, "clientDisconnects": 1}},
    ]
    assert accounts["total"] == [{"sum": {"requests": 12}, "avg": {"sampleInterval": 1},
                                  "__typename": "AccountWorkersInvocationsAdaptive"}]


def test_filters_on_version_and_time_bounds(emulator):
    state, client = emulator
    seed(state)
    one = dict(WINDOW)
    query = CANARY_QUERY.replace("datetime_leq: $datetimeEnd", 'datetime_leq: $datetimeEnd, scriptVersion_in: ["canary"]')
    assert [row["dimensions"]["scriptVersion"] for row in rows_of(graphql(client, query, one))] == ["canary"]
    before = dict(WINDOW, datetimeStart=at(-3700), datetimeEnd=at(-3500))
    assert [row["sum"] for row in rows_of(graphql(client, CANARY_QUERY, before))] == [{"requests": 1, "errors": 0}]
    empty = dict(WINDOW, datetimeStart=at(600), datetimeEnd=at(1200))
    assert rows_of(graphql(client, CANARY_QUERY, empty)) == []  # no invocation, no row


@pytest.mark.parametrize("query, message", [
    (CANARY_QUERY.replace("wallTimeP99", "wallTimeP95"), 'unknown field "wallTimeP95"'),
    (CANARY_QUERY.replace("sum { requests errors }", "count sum { requests }"), 'unknown field "count"'),
    (CANARY_QUERY.replace("wallTimeP99", "cpuTimeP99"), "not supported by the emulator"),
    (CANARY_QUERY.replace("limit: 100", "limit: 10001"), "limit must be positive number and not greater than 10000"),
    (CANARY_QUERY.replace("scriptName: $scriptName", "hostname: $scriptName"), 'unknown filter field "hostname"'),
    (CANARY_QUERY.replace("workersInvocationsAdaptive", "httpRequestsAdaptiveGroups"), 'unknown field "httpRequestsAdaptiveGroups"'),
    ("mutation { viewer { accounts { x } } }", "mutation operations are not supported"),
    ("{ viewer { accounts(filter: {accountTag: \"%s\"}) { workersInvocationsAdaptive(limit: 1) { sum { requests " % ACCOUNT,
     "query contains error"),
])
def test_what_cloudflare_refuses_is_answered_in_its_error_shape(emulator, query, message):
    _state, client = emulator
    response = graphql(client, query, WINDOW)
    assert response.status_code == 400
    document = response.json()
    assert document["data"] is None
    assert message in document["errors"][0]["message"], document
    assert set(document["errors"][0]) == {"message", "path", "extensions"}
    assert "timestamp" in document["errors"][0]["extensions"]


def test_auth_is_the_api_auth_and_an_account_outside_the_token_is_refused(emulator):
    _state, client = emulator
    assert graphql(client, CANARY_QUERY, WINDOW, headers={"Authorization": "Bearer nope"}).status_code == 401
    no_auth = httpx.post(str(client.base_url) + "/graphql", json={"query": CANARY_QUERY}, trust_env=False)
    assert no_auth.status_code == 400 and no_auth.json()["errors"][0]["code"] == 9106
    refused = graphql(client, CANARY_QUERY, WINDOW, headers={"Authorization": "Bearer limited-token"})
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["message"] == "not authorized for that account"
    assert refused.json()["errors"][0]["path"] == ["viewer", "accounts"]


def test_a_query_is_a_read_call(emulator):
    state, client = emulator
    graphql(client, CANARY_QUERY, WINDOW)
    snapshot = state.calls.snapshot()
    assert snapshot["total"] == 1 and snapshot["writes"] == 0, snapshot


def test_retention_drops_old_rows_and_caps_the_table(emulator, monkeypatch):
    state, _client = emulator
    monkeypatch.setattr(analytics, "MAX_ROWS", 5)
    now_ms = T0 + analytics.RETENTION_MS + 1000
    analytics.record(state.store, [invocation("old", T0 - 1, 1)] + [invocation("v", T0 + 2000 + i, 1) for i in range(8)])
    analytics.flush(state.store)
    with state.store.write() as db:
        analytics._prune(db, now_ms)  # noqa: SLF001 - the writer runs it once a minute
        kept = [row["ts_ms"] for row in db.execute("SELECT ts_ms FROM edge_invocations ORDER BY ts_ms")]
    assert kept == [T0 + 2000 + i for i in range(3, 8)]


def test_recording_is_batched_off_the_callers_thread(emulator):
    state, client = emulator
    analytics.record(state.store, [invocation("v", T0, 1)])
    with state.store.read() as db:
        assert db.execute("SELECT COUNT(*) FROM edge_invocations").fetchone()[0] == 0  # not written yet
    # A query answers everything recorded before it.
    assert rows_of(graphql(client, CANARY_QUERY, dict(WINDOW, scriptName="books")))[0]["sum"]["requests"] == 1
    assert json.dumps(analytics.OUTCOMES)  # the statuses the dataset answers
