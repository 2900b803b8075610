"""The API client against a real local HTTP server: retries, create safety, pagination, errors, raw responses."""
import email.utils
import threading

import httpx
import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import (
    USER_AGENT,
    CloudflareAPIError,
    CloudflareClient,
    build_path,
    parse_multipart,
    parse_retry_after,
)
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply, ScriptedServer, envelope, failure

TOKEN = "tok-0123456789abcdefSECRET"


class Sleeps(list):
    """An injected sleep that records instead of waiting."""

    def __call__(self, seconds):
        self.append(seconds)


def make_client(server, sleeps=None, **kwargs):
    kwargs.setdefault("max_retries", 4)
    kwargs.setdefault("max_retry_time", 120)
    kwargs.setdefault("timeout", 5)
    return CloudflareClient(TOKEN, base_url=server.base_url, sleep=sleeps if sleeps is not None else Sleeps(),
                            jitter=lambda: 1.0, now=lambda: 1_000_000.0, **kwargs)


# --- basics ---

def test_get_returns_the_result_and_sends_auth_and_user_agent(server):
    server.script(Reply(200, envelope({"id": "abc"})))
    with make_client(server) as client:
        assert client.get("/accounts/a/thing") == {"id": "abc"}
        assert client.calls == {"reads": 1, "writes": 0}
    request = server.requests[0]
    assert request.path == "/client/v4/accounts/a/thing"
    assert request.headers["Authorization"] == "Bearer " + TOKEN
    assert request.headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("cfops.cloudflare/")


def test_writes_are_counted_and_refused_when_writes_are_disabled(server):
    server.script(Reply(200, envelope({"ok": 1})), Reply(200, envelope([])))
    with make_client(server) as client:
        client.put("/x", json={"a": 1})
        client.post("/y/bulk/get", json={"keys": []}, read_only=True)
        assert client.calls == {"reads": 1, "writes": 1}
        client.writes_allowed = False
        with pytest.raises(CloudflareAPIError, match="check mode"):
            client.delete("/x")
    assert len(server.requests) == 2


def test_build_path_encodes_each_segment():
    assert build_path("accounts", "a1", "values", "a/b?c d") == "/accounts/a1/values/a%2Fb%3Fc%20d"


def test_an_encoded_key_reaches_the_server_as_one_segment(server):
    server.script(Reply(200, raw=b"v"))
    with make_client(server) as client:
        client.get_raw(build_path("values", "dir/key"))
    assert server.requests[0].path == "/client/v4/values/dir%2Fkey"


# --- retries ---

def test_429_honours_retry_after_seconds(server):
    sleeps = Sleeps()
    server.script(failure(429, (10000, "Rate limited"), headers={"Retry-After": "3"}), Reply(200, envelope("ok")))
    with make_client(server, sleeps) as client:
        assert client.get("/x") == "ok"
    assert sleeps == [3.0]
    assert len(server.requests) == 2


@pytest.mark.parametrize("header, expected", [("120", 120.0), ("0", 1.0), ("0.2", 1.0), ("45", 45.0)])
def test_retry_after_is_honoured_at_least_1_second_and_not_capped(server, header, expected):
    sleeps = Sleeps()
    server.script(failure(429, (10000, "Rate limited"), headers={"Retry-After": header}), Reply(200, envelope("ok")))
    with make_client(server, sleeps) as client:
        client.get("/x")
    assert sleeps == [expected]


def test_retry_after_as_an_http_date():
    now = 1_000_000.0
    header = email.utils.formatdate(now + 7, usegmt=True)
    assert parse_retry_after(header, lambda: now) == 7.0
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), lambda: now) == 1.0
    assert parse_retry_after("soon", lambda: now) is None
    assert parse_retry_after("nan", lambda: now) is None


def test_429_without_retry_after_waits_at_least_a_second(server):
    sleeps = Sleeps()
    server.script(failure(429, (10000, "Rate limited")), Reply(200, envelope("ok")))
    client = CloudflareClient(TOKEN, base_url=server.base_url, sleep=sleeps, jitter=lambda: 0.0)
    with client:
        client.get("/x")
    assert sleeps == [1.0]


def test_5xx_is_retried_with_exponential_backoff(server):
    sleeps = Sleeps()
    server.script(*[failure(503, (10013, "Service unavailable"))] * 3, Reply(200, envelope("ok")))
    with make_client(server, sleeps) as client:
        assert client.get("/x") == "ok"
    # jitter() == 1.0, so the full-jitter delay is its upper bound: 0.5 * 2^n.
    assert sleeps == [0.5, 1.0, 2.0]


def test_full_jitter_scales_the_backoff(server):
    sleeps = Sleeps()
    server.script(failure(502, (10013, "Bad gateway")), Reply(200, envelope("ok")))
    client = CloudflareClient(TOKEN, base_url=server.base_url, sleep=sleeps, jitter=lambda: 0.25)
    with client:
        client.get("/x")
    assert sleeps == [0.125]


def test_gives_up_after_max_retries_with_the_cause(server):
    sleeps = Sleeps()
    server.handler = lambda request: failure(503, (10013, "Service unavailable"))
    with make_client(server, sleeps, max_retries=2) as client:
        with pytest.raises(CloudflareAPIError) as info:
            client.get("/accounts/a/x")
    assert str(info.value) == "stopping after 2 retries: GET /accounts/a/x failed with HTTP 503: [10013] Service unavailable"
    assert info.value.status == 503
    assert len(server.requests) == 3
    assert client.calls["reads"] == 3


def test_total_wait_is_bounded_by_max_retry_time(server):
    sleeps = Sleeps()
    server.handler = lambda request: failure(429, (10000, "Rate limited"), headers={"Retry-After": "30"})
    with make_client(server, sleeps, max_retries=10, max_retry_time=70) as client:
        with pytest.raises(CloudflareAPIError, match=r"^stopping after 2 retries: GET /x failed with HTTP 429: \[10000\] Rate limited"):
            client.get("/x")
    assert sleeps == [30.0, 30.0]
    assert sum(sleeps) <= 70


def test_a_retry_after_beyond_the_budget_fails_at_once_saying_how_long_cloudflare_asked(server):
    sleeps = Sleeps()
    server.handler = lambda request: failure(429, (10000, "Rate limited"), headers={"Retry-After": "300"})
    with make_client(server, sleeps, max_retries=8, max_retry_time=120) as client:
        with pytest.raises(CloudflareAPIError) as info:
            client.get("/x")
    assert sleeps == []
    assert len(server.requests) == 1
    assert str(info.value) == (
        "stopping after 0 retries: GET /x failed with HTTP 429: [10000] Rate limited; Cloudflare asked to wait"
        " 300 s before the next attempt (Retry-After), more than the 120 s left of the retry time budget"
        " (api_max_retry_time): try again later or raise api_max_retry_time")


def test_a_retry_after_within_a_larger_budget_is_waited_in_full(server):
    sleeps = Sleeps()
    server.script(failure(503, (10013, "busy"), headers={"Retry-After": "90"}), Reply(200, envelope("ok")))
    with make_client(server, sleeps, max_retry_time=200) as client:
        assert client.get("/x") == "ok"
    assert sleeps == [90.0]


def test_backoff_is_cut_to_the_remaining_time_budget(server):
    sleeps = Sleeps()
    server.handler = lambda request: failure(500, (10013, "boom"))
    with make_client(server, sleeps, max_retries=10, max_retry_time=2) as client:
        with pytest.raises(CloudflareAPIError, match="stopping after 3 retries"):
            client.get("/x")
    assert sleeps == [0.5, 1.0, 0.5]


def test_a_dropped_connection_on_get_is_retried(server):
    sleeps = Sleeps()
    server.script(Reply(action="drop"), Reply(200, envelope("ok")))
    with make_client(server, sleeps) as client:
        assert client.get("/x") == "ok"
    assert len(sleeps) == 1


def test_a_read_timeout_on_get_is_retried(server):
    sleeps = Sleeps()
    server.script(Reply(200, envelope("late"), action="hang", seconds=1.0), Reply(200, envelope("ok")))
    with make_client(server, sleeps, timeout=0.2) as client:
        assert client.get("/x") == "ok"
    assert len(sleeps) == 1


def test_a_refused_connection_fails_fast_naming_the_url_and_how_to_start_the_emulator(free_port):
    sleeps = Sleeps()
    base_url = "http://127.0.0.1:%d/client/v4" % free_port
    client = CloudflareClient(TOKEN, base_url=base_url, sleep=sleeps, max_retries=8, jitter=lambda: 1.0)
    with client:
        with pytest.raises(CloudflareAPIError) as info:
            client.get("/x")
    # Two short retries (a server restarting), not the 8-retry backoff of the whole budget.
    assert sleeps == [0.5, 0.5]
    assert client.calls["reads"] == 3
    message = str(info.value)
    assert message.startswith("GET /x failed: could not connect to %s (ConnectError" % base_url)
    assert "./scripts/emulator.sh start" in message


def test_a_refused_connection_to_a_remote_url_does_not_mention_the_emulator(free_port):
    # A name that does not resolve fails to connect the same way; the message names the URL, no emulator hint.
    client = CloudflareClient(TOKEN, base_url="http://cfops-no-such-host.invalid/client/v4", sleep=Sleeps(), max_retries=8)
    with client:
        with pytest.raises(CloudflareAPIError) as info:
            client.get("/x")
    assert "could not connect to http://cfops-no-such-host.invalid/client/v4" in str(info.value)
    assert "check api_base_url" in str(info.value)
    assert "emulator" not in str(info.value)


def test_a_refused_connection_in_real_time_fails_within_two_seconds(free_port):
    import time
    client = CloudflareClient(TOKEN, base_url="http://127.0.0.1:%d/client/v4" % free_port)
    started = time.monotonic()
    with client:
        with pytest.raises(CloudflareAPIError, match="could not connect"):
            client.get("/x")
    assert time.monotonic() - started < 2.0


# --- a POST is never resent blindly ---

def test_create_after_a_5xx_looks_up_instead_of_posting_again(server):
    server.script(failure(503, (10013, "Service unavailable")))
    lookups = []

    def find_existing():
        lookups.append(1)
        return {"id": "ns1", "title": "cache"}

    with make_client(server) as client:
        assert client.create("/ns", json={"title": "cache"}, find_existing=find_existing) == {"id": "ns1", "title": "cache"}
    assert lookups == [1]
    assert [r.method for r in server.requests] == ["POST"]


def test_create_after_a_dropped_connection_posts_again_only_when_the_lookup_finds_nothing(server):
    server.script(Reply(action="drop"), Reply(200, envelope({"id": "ns2", "title": "cache"})))
    lookups = []

    def find_existing():
        lookups.append(1)

    with make_client(server) as client:
        assert client.create("/ns", json={"title": "cache"}, find_existing=find_existing)["id"] == "ns2"
        assert client.calls == {"reads": 0, "writes": 2}
    assert lookups == [1]
    assert [r.method for r in server.requests] == ["POST", "POST"]


def test_create_after_a_read_timeout_finds_the_object_the_server_made(server):
    created = {}

    def handler(request):
        if request.method == "POST":
            created["cache"] = {"id": "ns3", "title": "cache"}
            return Reply(200, envelope(created["cache"]), action="hang", seconds=1.0)
        return Reply(200, envelope(list(created.values())))

    server.handler = handler
    with make_client(server, timeout=0.3) as client:
        def find_existing():
            return next((ns for ns in client.get("/ns") if ns["title"] == "cache"), None)

        assert client.create("/ns", json={"title": "cache"}, find_existing=find_existing)["id"] == "ns3"
    assert [r.method for r in server.requests] == ["POST", "GET"]


def test_create_retries_a_429_without_a_lookup(server):
    server.script(failure(429, (10000, "Rate limited"), headers={"Retry-After": "1"}), Reply(200, envelope({"id": "x"})))
    with make_client(server) as client:
        assert client.create("/ns", json={}, find_existing=pytest.fail) == {"id": "x"}
    assert [r.method for r in server.requests] == ["POST", "POST"]


def test_create_retries_a_connection_refused_without_a_lookup(free_port):
    started = []

    def sleep(seconds):
        # The server comes up while the client waits: the refused POST never reached it.
        if not started:
            started.append(ScriptedServer(port=free_port))
            started[0].script(Reply(200, envelope({"id": "late"})))

    client = CloudflareClient(TOKEN, base_url="http://127.0.0.1:%d/client/v4" % free_port, sleep=sleep)
    try:
        with client:
            assert client.create("/ns", json={}, find_existing=pytest.fail) == {"id": "late"}
        assert len(started[0].requests) == 1
    finally:
        for srv in started:
            srv.close()


def test_a_plain_post_is_not_resent_after_an_ambiguous_failure(server):
    server.script(failure(502, (10013, "Bad gateway")))
    with make_client(server) as client:
        with pytest.raises(CloudflareAPIError, match="may have been applied") as info:
            client.post("/deploy", json={})
    assert info.value.status == 502
    assert len(server.requests) == 1


def test_an_idempotent_post_is_retried_and_a_read_only_one_counts_as_a_read(server):
    server.script(failure(503, (10013, "x")), Reply(200, envelope({"values": {}})))
    with make_client(server) as client:
        client.post("/bulk/get", json={"keys": ["a"]}, read_only=True)
        assert client.calls == {"reads": 2, "writes": 0}
    assert len(server.requests) == 2


def test_create_gives_up_after_max_retries_when_the_lookup_keeps_finding_nothing(server):
    server.handler = lambda request: failure(500, (10013, "boom"))
    with make_client(server, max_retries=2) as client:
        with pytest.raises(CloudflareAPIError, match="^stopping after 2 retries: POST /ns failed with HTTP 500"):
            client.create("/ns", json={}, find_existing=lambda: None)
    assert len(server.requests) == 3


# --- pagination ---

def test_page_pagination_follows_total_pages(server):
    pages = {1: ["a", "b"], 2: ["c", "d"], 3: ["e"]}

    def handler(request):
        page = int(request.query["page"][0])
        return Reply(200, envelope(pages[page], {"page": page, "per_page": 2, "count": len(pages[page]),
                                                 "total_count": 5, "total_pages": 3}))

    server.handler = handler
    with make_client(server) as client:
        assert client.list_pages("/ns", params={"order": "title"}, per_page=2) == ["a", "b", "c", "d", "e"]
    assert [r.query["page"] for r in server.requests] == [["1"], ["2"], ["3"]]
    assert all(r.query["per_page"] == ["2"] and r.query["order"] == ["title"] for r in server.requests)


def test_page_pagination_stops_on_a_short_page_without_total_pages(server):
    server.script(Reply(200, envelope(["a", "b", "c"], {"page": 1, "per_page": 3, "count": 3})),
                  Reply(200, envelope(["d"], {"page": 2, "per_page": 3, "count": 1})))
    with make_client(server) as client:
        assert client.list_pages("/ns", per_page=100) == ["a", "b", "c", "d"]
    # The server capped per_page at 3, so a full page of 3 asked for the next one.
    assert len(server.requests) == 2


def test_page_pagination_stops_on_an_empty_page(server):
    server.script(Reply(200, envelope(["a", "b"], {"page": 1, "per_page": 2})),
                  Reply(200, envelope([], {"page": 2, "per_page": 2})))
    with make_client(server) as client:
        assert client.list_pages("/ns", per_page=2) == ["a", "b"]
    assert len(server.requests) == 2


def test_cursor_pagination(server):
    server.script(Reply(200, envelope([{"name": "k1"}, {"name": "k2"}], {"count": 2, "cursor": "c1"})),
                  Reply(200, envelope([], {"count": 0, "cursor": "c2"})),
                  Reply(200, envelope([{"name": "k3"}], {"count": 1, "cursor": ""})))
    with make_client(server) as client:
        assert [k["name"] for k in client.list_cursor("/keys", limit=1000)] == ["k1", "k2", "k3"]
    assert [r.query.get("cursor") for r in server.requests] == [None, ["c1"], ["c2"]]
    assert all(r.query["limit"] == ["1000"] for r in server.requests)


def test_cursor_pagination_refuses_a_cursor_loop(server):
    server.handler = lambda request: Reply(200, envelope([{"name": "k"}], {"cursor": "same"}))
    with make_client(server) as client:
        with pytest.raises(CloudflareAPIError, match="same cursor"):
            client.list_cursor("/keys")


# --- errors ---

def test_an_error_envelope_becomes_one_clear_message(server):
    server.script(failure(400, (10021, "Uncaught SyntaxError"), (10027, "Script too large")))
    with make_client(server) as client:
        with pytest.raises(CloudflareAPIError) as info:
            client.put("/accounts/a/workers/scripts/w", json={})
    error = info.value
    assert str(error) == ("PUT /accounts/a/workers/scripts/w failed with HTTP 400: "
                          "[10021] Uncaught SyntaxError; [10027] Script too large")
    assert (error.status, error.method, error.path, error.codes) == (400, "PUT", "/accounts/a/workers/scripts/w", [10021, 10027])
    assert len(server.requests) == 1


@pytest.mark.parametrize("status, hint", [(401, "(check api_token)"), (403, "(check account_id and the token's permissions)")])
def test_auth_errors_carry_a_hint(server, status, hint):
    server.script(failure(status, (10000, "Authentication error")))
    with make_client(server) as client:
        with pytest.raises(CloudflareAPIError) as info:
            client.get("/accounts/a/x")
    assert str(info.value) == "GET /accounts/a/x failed with HTTP %d: [10000] Authentication error %s" % (status, hint)


def test_the_token_never_appears_in_an_error(server):
    server.script(failure(400, (9109, "Invalid token %s" % TOKEN)), Reply(418, raw=("teapot " + TOKEN).encode()))
    with make_client(server) as client:
        for shown in ("[9109] Invalid token", "HTTP 418: teapot"):
            with pytest.raises(CloudflareAPIError) as info:
                client.get("/x")
            assert shown in str(info.value)
            assert TOKEN not in str(info.value)
            assert TOKEN not in repr(info.value.errors)
            assert "<redacted>" in str(info.value)


def test_a_non_json_error_body_is_quoted_briefly(server):
    server.script(Reply(404, raw=b"<html><body>\n  Not   here\n</body></html>", headers={"Content-Type": "text/html"}))
    with make_client(server) as client:
        with pytest.raises(CloudflareAPIError) as info:
            client.get("/nowhere")
    assert str(info.value) == "GET /nowhere failed with HTTP 404: <html><body> Not here </body></html>"
    assert info.value.errors == []


def test_a_non_json_success_body_is_an_error(server):
    server.script(Reply(200, raw=b"hello", headers={"Content-Type": "text/plain"}))
    with make_client(server) as client:
        with pytest.raises(CloudflareAPIError, match="not Cloudflare's JSON envelope: hello"):
            client.get("/x")


def test_an_undecodable_body_is_an_api_error_not_a_crash(server):
    server.script(Reply(200, raw=b"not gzip at all", headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}))
    with make_client(server) as client:
        with pytest.raises(CloudflareAPIError, match="^GET /x failed: DecodingError"):
            client.get("/x")
    assert len(server.requests) == 1


def test_success_false_with_http_200_is_an_error(server):
    server.script(Reply(200, {"success": False, "errors": [{"code": 1001, "message": "odd"}], "result": None}))
    with make_client(server) as client:
        with pytest.raises(CloudflareAPIError, match=r"HTTP 200: \[1001\] odd"):
            client.get("/x")


def test_has_code():
    error = CloudflareAPIError("m", status=404, errors=[{"code": 10007, "message": "not found"}])
    assert error.has_code(10007) and not error.has_code(10009)


# --- raw responses and multipart ---

def test_raw_get_returns_the_bytes(server):
    server.script(Reply(200, raw=b"\x00\xffvalue", headers={"Content-Type": "application/octet-stream"}))
    with make_client(server) as client:
        response = client.get_raw("/values/k")
    assert response.content == b"\x00\xffvalue"


def test_raw_get_maps_an_error_envelope(server):
    server.script(failure(404, (10009, "get: 'key not found'")))
    with make_client(server) as client:
        with pytest.raises(CloudflareAPIError) as info:
            client.get_raw("/values/k")
    assert info.value.status == 404 and info.value.has_code(10009)


def test_multipart_response_round_trips_module_bytes(server):
    modules = {"index.js": b"import './lib/a.js';\r\nexport default {}\n", "lib/a.js": b"\n\r\nx\r\n", "m.wasm": b"\x00asm\x01\r\n--"}
    body = httpx.Request("PUT", "http://x", files=[(n, (n, c, "application/javascript+module")) for n, c in modules.items()])
    payload = body.read()
    server.script(Reply(200, raw=payload, headers={"Content-Type": body.headers["Content-Type"]}))
    with make_client(server) as client:
        response = client.get_raw("/content/v2")
    parts = parse_multipart(response.headers["content-type"], response.content)
    assert {p["filename"]: p["content"] for p in parts} == modules
    assert [p["name"] for p in parts] == list(modules)
    assert parts[0]["content_type"] == "application/javascript+module"


def test_multipart_upload_sends_metadata_and_module_parts(server):
    server.script(Reply(200, envelope({"id": "w", "etag": "e1"})))
    files = [("metadata", (None, b'{"main_module": "index.js"}', "application/json")),
             ("index.js", ("index.js", b"export default {}", "application/javascript+module"))]
    with make_client(server) as client:
        assert client.put("/scripts/w", files=files)["etag"] == "e1"
    request = server.requests[0]
    parts = parse_multipart(request.headers["Content-Type"], request.body)
    assert [(p["name"], p["filename"], p["content_type"]) for p in parts] == [
        ("metadata", None, "application/json"), ("index.js", "index.js", "application/javascript+module")]


def test_parallel_use_of_separate_clients_is_independent(server):
    server.handler = lambda request: Reply(200, envelope("ok"))
    results = []

    def work():
        with make_client(server) as client:
            results.append(client.get("/x"))

    threads = [threading.Thread(target=work), threading.Thread(target=work), threading.Thread(target=work)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["ok"] * 3
