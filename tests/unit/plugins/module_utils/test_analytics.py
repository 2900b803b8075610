"""The analytics client against a real local HTTP server answering as the GraphQL Analytics API documents
(/work/plan/analytics-contract.md), and as it may answer when a field or the version dimension is missing."""
import json

import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils._analytics import (
    AnalyticsUnavailable,
    query_versions,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareClient
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply

ACCOUNT = "023e105f4ecef8ad9ca31a8372d0c353"
NEW, OLD = "8b8d0000-0000-4000-8000-000000000002", "4a1c0000-0000-4000-8000-000000000001"
SINCE, UNTIL = 1767261600.0, 1767261900.0  # 2026-01-01T10:00:00Z .. 10:05:00Z


def answer(*rows):
    return {"data": {"viewer": {"accounts": [{"workersInvocationsAdaptive": list(rows)}]}}, "errors": None}


def row(version, requests, errors, p99_us=None, interval=None):
    item = {"dimensions": {"scriptVersion": version}, "sum": {"requests": requests, "errors": errors},
            "quantiles": {"wallTimeP50": 1000, "wallTimeP90": 2000}}
    if p99_us is not None:
        item["quantiles"]["wallTimeP99"] = p99_us
    if interval is not None:
        item["avg"] = {"sampleInterval": interval}
    return item


@pytest.fixture
def client(server):
    with CloudflareClient("token-1", base_url=server.base_url, max_retries=0, sleep=lambda _s: None) as api:
        yield api


def query(client):
    return query_versions(client, ACCOUNT, "books-api-prod", SINCE, UNTIL)


def test_sends_the_documented_query_and_reads_each_version(server, client):
    server.script(Reply(200, answer(row(NEW, 120, 3, p99_us=11800), row(OLD, 1080, 2, p99_us=9000))))
    result = query(client)
    assert result[NEW] == {"requests": 120, "errors": 3, "latency_ms": 11.8, "quantile": "p99", "sample_interval": 1.0,
                           "estimated_requests": 120}
    assert result[OLD]["requests"] == 1080 and result[OLD]["latency_ms"] == 9.0
    [request] = server.requests
    assert request.method == "POST" and request.path == "/client/v4/graphql"
    assert request.headers["Authorization"] == "Bearer token-1"
    body = request.json()
    assert body["variables"] == {"accountTag": ACCOUNT, "scriptName": "books-api-prod",
                                 "datetimeStart": "2026-01-01T10:00:00Z", "datetimeEnd": "2026-01-01T10:05:00Z"}
    query_text = body["query"]
    for part in ("accounts(filter: {accountTag: $accountTag})", "workersInvocationsAdaptive(limit: 100",
                 "datetime_geq: $datetimeStart", "datetime_leq: $datetimeEnd", "dimensions { scriptVersion }",
                 "sum { requests errors }", "wallTimeP99"):
        assert part in query_text
    # The dataset has no p95: asking for one would fail the whole query.
    assert "P95" not in query_text


def test_a_version_without_invocations_is_absent_not_zero(server, client):
    server.script(Reply(200, answer(row(OLD, 50, 0))))
    assert set(query(client)) == {OLD}


def test_sampled_sums_count_as_the_sample_actually_seen(server, client):
    server.script(Reply(200, answer(row(NEW, 1000, 40, p99_us=5000, interval=10))))
    result = query(client)[NEW]
    assert (result["requests"], result["errors"], result["estimated_requests"]) == (100, 4, 1000)


@pytest.mark.parametrize("status", [200, 400])
def test_a_refused_sampling_field_is_dropped_and_the_query_sent_again(server, client, status):
    refusal = {"data": None, "errors": [{"message": 'unknown field "sampleInterval"', "path": ["viewer"]}]}
    server.script(Reply(status, refusal), Reply(200, answer(row(NEW, 10, 0))))
    assert query(client)[NEW]["requests"] == 10
    first, second = (json.loads(r.body)["query"] for r in server.requests)
    assert "sampleInterval" in first and "sampleInterval" not in second


def test_a_missing_version_dimension_makes_the_analysis_unavailable(server, client):
    refusal = {"data": None, "errors": [{"message": "unknown field \"scriptVersion\"", "path": ["viewer"]}]}
    server.script(Reply(400, refusal))
    with pytest.raises(AnalyticsUnavailable, match='the analytics query was refused: unknown field "scriptVersion"'):
        query(client)


def test_rows_without_the_version_make_the_analysis_unavailable(server, client):
    server.script(Reply(200, answer({"dimensions": {}, "sum": {"requests": 5, "errors": 0}})))
    with pytest.raises(AnalyticsUnavailable, match="carry no scriptVersion"):
        query(client)


def test_a_row_without_sums_is_unavailable_not_zero(server, client):
    server.script(Reply(200, answer({"dimensions": {"scriptVersion": NEW}, "quantiles": {}})))
    with pytest.raises(AnalyticsUnavailable, match="has no sum.requests/sum.errors"):
        query(client)


def test_missing_latency_leaves_the_counts(server, client):
    server.script(Reply(200, answer(row(NEW, 40, 1))))
    assert query(client)[NEW]["latency_ms"] is None


def test_no_account_in_the_answer(server, client):
    server.script(Reply(200, {"data": {"viewer": {"accounts": []}}, "errors": None}))
    with pytest.raises(AnalyticsUnavailable, match="has no account"):
        query(client)


@pytest.mark.parametrize("status", [401, 403])
def test_permission_failures_say_which_permission(server, client, status):
    server.script(Reply(status, {"data": None, "errors": [{"message": "not authorized for that account"}]}))
    with pytest.raises(AnalyticsUnavailable, match=r"HTTP %d.*needs Account Analytics Read" % status):
        query(client)


def test_a_server_error_is_unavailable(server, client):
    server.script(Reply(500, {"data": None, "errors": [{"message": "Internal server error"}]}))
    with pytest.raises(AnalyticsUnavailable, match="Internal server error"):
        query(client)
