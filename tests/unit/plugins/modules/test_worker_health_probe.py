"""worker_health_probe against a real local HTTP server: counts, percentiles, version markers, gates."""
import itertools
import threading

import pytest

from ansible_collections.cfops.cloudflare.plugins.modules.worker_health_probe import (
    ARGUMENT_SPEC,
    ProbeInputError,
    check_input,
    judge,
    percentile,
    run_probe,
    version_marker,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._probe import failure_cause
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply

OLD, NEW = "0a0a0a0a-old", "1b1b1b1b-new"


def params(**overrides):
    values = {name: spec.get("default") for name, spec in ARGUMENT_SPEC.items()}
    values.update(overrides)
    return values


def probe(server, **overrides):
    options = params(url="http://127.0.0.1:%d/health" % server.port, **overrides)
    check_input(options)
    return judge(run_probe(options), options)


def counter_handler(answer):
    """A handler that calls ``answer(n)`` with the request's sequence number (thread-safe)."""
    numbers, lock = itertools.count(), threading.Lock()

    def handler(_request):
        with lock:
            number = next(numbers)
        return answer(number)
    return handler


def test_all_good_passes_and_reports_the_version_from_the_body(server):
    server.handler = lambda _r: Reply(200, {"ok": True, "version": NEW})
    result = probe(server, requests=10, expect_version=NEW)
    assert result["passed"] is True and result["failed_gates"] == []
    assert result["requests"] == 10 and result["errors"] == 0 and result["error_rate"] == 0.0
    assert result["status_counts"] == {"200": 10}
    assert result["versions_seen"] == {NEW: 10}
    assert 0 < result["p50_ms"] <= result["p95_ms"]


def test_host_header_is_sent(server):
    server.handler = lambda _r: Reply(200, {"version": NEW})
    probe(server, requests=2, host_header="books-api-local.cfops-local.workers.dev")
    assert {r.headers.get("Host") for r in server.requests} == {"books-api-local.cfops-local.workers.dev"}


def test_error_rate_gate_names_measured_value_threshold_and_statuses(server):
    server.handler = counter_handler(lambda n: Reply(500 if n % 4 == 0 else 200, {"ok": n % 4 != 0}))
    result = probe(server, requests=20, concurrency=1)
    assert result["errors"] == 5 and result["error_rate"] == 0.25
    assert result["status_counts"] == {"200": 15, "500": 5}
    assert result["passed"] is False
    [gate] = result["failed_gates"]
    assert gate["gate"] == "error_rate" and gate["measured"] == 0.25 and gate["threshold"] == 0.05
    assert gate["message"] == "error rate 25.0% > 5.0% (5 of 20 responses failed: status 500 x5)"


def test_error_rate_at_the_threshold_passes(server):
    server.handler = counter_handler(lambda n: Reply(503 if n == 0 else 200, {}))
    result = probe(server, requests=20, concurrency=1, max_error_rate=0.05)
    assert result["error_rate"] == 0.05 and result["passed"] is True


def test_expect_status_decides_what_is_an_error(server):
    # 202, not 204: the scripted server always sends a body, which a 204 must not have (a client
    # reusing the connection would then read it as the next response).
    server.handler = lambda _r: Reply(202, {})
    assert probe(server, requests=3)["errors"] == 3
    assert probe(server, requests=3, expect_status=[200, 202])["errors"] == 0


def test_latency_gate(server):
    server.handler = lambda _r: Reply(200, {}, action="hang", seconds=0.15)
    result = probe(server, requests=4, concurrency=4, max_p95_ms=50)
    assert result["p95_ms"] >= 150
    [gate] = result["failed_gates"]
    assert gate["gate"] == "p95_latency" and gate["threshold"] == 50 and gate["measured"] == result["p95_ms"]
    assert gate["message"].startswith("p95 latency ") and "> 50 ms" in gate["message"]


def test_a_request_slower_than_the_timeout_is_an_error(server):
    server.handler = lambda _r: Reply(200, {}, action="hang", seconds=1.0)
    result = probe(server, requests=2, timeout=0.2)
    assert result["status_counts"] == {"error:timeout": 2} and result["error_rate"] == 1.0
    assert result["failed_gates"][0]["message"].startswith("error rate 100.0% > 5.0% (2 of 2 responses failed: timed out x2 (")


def test_nothing_listening_is_all_errors_not_a_crash(free_port):
    options = params(url="http://127.0.0.1:%d/health" % free_port, requests=3)
    result = judge(run_probe(options), options)
    assert result["status_counts"] == {"error:connect": 3}
    assert result["versions_seen"] == {"unknown": 3}
    assert [g["gate"] for g in result["failed_gates"]] == ["error_rate"]
    assert "connection failed x3 (ConnectError: " in result["failed_gates"][0]["message"]


def test_version_gate_lists_the_other_versions(server):
    server.handler = counter_handler(lambda n: Reply(200, {"version": OLD if n < 3 else NEW}))
    result = probe(server, requests=10, concurrency=1, expect_version=NEW)
    assert result["versions_seen"] == {OLD: 3, NEW: 7}
    [gate] = result["failed_gates"]
    assert gate["gate"] == "version" and gate["measured"] == 0.7 and gate["threshold"] == 1.0
    assert gate["message"] == "version %s served 70%% of responses, expected 100%% (others: %s x3)" % (NEW, OLD)


def test_canary_is_judged_on_its_own_responses(server):
    # 10% canary that always fails: diluted over all responses it would pass a 20% gate.
    server.handler = counter_handler(lambda n: Reply(500, {"version": NEW}) if n % 10 == 0
                                     else Reply(200, {"version": OLD}))
    diluted = probe(server, requests=20, concurrency=1, max_error_rate=0.2)
    assert diluted["passed"] is True and diluted["gated_requests"] == 20
    judged = probe(server, requests=20, concurrency=1, max_error_rate=0.2, canary_version=NEW)
    assert judged["gated_requests"] == 2 and judged["error_rate"] == 1.0
    assert judged["errors_by_version"] == {NEW: 2, OLD: 0}
    assert "version %s's responses" % NEW in judged["failed_gates"][0]["message"]


def test_canary_not_seen_judges_every_response(server):
    server.handler = lambda _r: Reply(200, {"version": OLD})
    result = probe(server, requests=5, canary_version=NEW)
    assert result["gated_requests"] == 5 and result["passed"] is True


def test_a_version_header_is_read_only_when_asked_for(server):
    server.handler = lambda _r: Reply(200, {"version": OLD}, headers={"x-cfops-version-id": NEW})
    assert probe(server, requests=2)["versions_seen"] == {OLD: 2}
    assert probe(server, requests=2, version_header="x-cfops-version-id")["versions_seen"] == {NEW: 2}


def test_target_version_sends_cloudflares_override_header(server):
    server.handler = lambda _r: Reply(200, {"version": NEW})
    result = probe(server, requests=3, script="books-api-prod", target_version=NEW, expect_version=NEW)
    assert result["passed"] is True
    assert {r.headers.get("Cloudflare-Workers-Version-Overrides") for r in server.requests} == {'books-api-prod="%s"' % NEW}


@pytest.mark.parametrize("overrides, message", [
    ({"target_version": NEW}, "target_version needs script"),
    ({"target_version": NEW, "script": "1st-worker"}, "cannot be a key of the Cloudflare-Workers-Version-Overrides"),
])
def test_bad_override_input(overrides, message):
    with pytest.raises(ProbeInputError, match=message):
        check_input(params(url="http://127.0.0.1:1/", **overrides))


def test_tls_to_a_plain_http_server_is_named_tls(server):
    options = params(url="https://127.0.0.1:%d/health" % server.port, requests=1, validate_certs=False)
    result = judge(run_probe(options), options)
    assert result["status_counts"] == {"error:tls": 1}
    assert "TLS handshake failed x1" in result["failure_causes"]


def test_failure_causes_from_the_exception_chain():
    import socket
    import ssl

    import httpx

    def chained(outer, inner):
        try:
            raise inner
        except type(inner) as cause:
            try:
                raise outer from cause
            except type(outer) as exc:
                return exc

    assert failure_cause(chained(httpx.ConnectError("x"), socket.gaierror(-2, "Name or service not known")))[0] == "dns"
    assert failure_cause(chained(httpx.ConnectError("x"), ssl.SSLError("bad")))[0] == "tls"
    assert failure_cause(httpx.ConnectError("[Errno 111] Connection refused"))[0] == "connect"
    assert failure_cause(httpx.ReadTimeout("timed out"))[0] == "timeout"
    assert failure_cause(httpx.RemoteProtocolError("Server disconnected"))[0] == "protocol"


def test_version_marker_sources():
    assert version_marker({"x-cfops-version-id": "h"}, b'{"version": "b"}', "x-cfops-version-id", "version") == "h"
    assert version_marker({}, b'{"version": "b"}', "x-cfops-version-id", "version") == "b"
    assert version_marker({}, b'{"meta": {"version": 7}}', "x-cfops-version-id", "meta.version") == "7"
    assert version_marker({}, b"not json", "x-cfops-version-id", "version") == "unknown"
    assert version_marker({}, b'{"version": ""}', "x-cfops-version-id", "version") == "unknown"


def test_percentile_nearest_rank():
    assert percentile([], 0.95) == 0.0
    assert percentile([5.0], 0.95) == 5.0
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.95) == 95.0


@pytest.mark.parametrize("overrides, message", [
    ({"url": "ftp://x"}, "url must start with http:// or https://, got 'ftp://x'"),
    ({"requests": 0}, "requests must be between 1 and 10000, got 0"),
    ({"concurrency": 100}, "concurrency must be between 1 and 64, got 100"),
    ({"timeout": 0.0}, "timeout must be more than 0 seconds, got 0"),
    ({"max_error_rate": 5.0}, "max_error_rate is a share between 0 and 1 (0.05 is 5%), got 5"),
    ({"max_p95_ms": -1.0}, "max_p95_ms must be more than 0, got -1"),
    ({"expect_status": []}, "expect_status must list at least one status code"),
])
def test_bad_input(overrides, message):
    with pytest.raises(ProbeInputError) as caught:
        check_input(params(**dict({"url": "http://127.0.0.1:1/"}, **overrides)))
    assert str(caught.value) == message


def test_warmup_requests_are_sent_but_not_counted(server):
    server.handler = counter_handler(lambda n: Reply(500 if n < 2 else 200, {}))
    result = probe(server, requests=5, warmup=2, concurrency=1)
    assert len(server.requests) == 7
    assert result["requests"] == 5 and result["status_counts"] == {"200": 5}
