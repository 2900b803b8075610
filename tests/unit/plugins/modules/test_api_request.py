"""api_request against a real local HTTP server with scripted Cloudflare answers."""
from ansible_collections.cfops.cloudflare.plugins.modules import api_request
from ansible_collections.cfops.cloudflare.tests.unit.plugins.modules.module_runner import ACCOUNT_ID, run_module, writes
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply, envelope, failure


def test_a_get_returns_result_info_and_messages_and_changes_nothing(capsys, server):
    server.script(Reply(200, envelope({"id": "abc", "status": "active"}, {"page": 1, "per_page": 20, "count": 1})))
    failed, result = run_module(api_request.main, capsys, server, path="/zones/abc", query={"fields": "status"})
    assert not failed and not result["changed"], result
    assert result["result"] == {"id": "abc", "status": "active"}
    assert result["result_info"]["count"] == 1 and result["messages"] == []
    assert result["request"] == {"method": "GET", "url": server.base_url + "/zones/abc", "query": {"fields": "status"},
                                 "body": None, "sent": True}
    assert [(r.method, r.path, r.query) for r in server.requests] == [("GET", "/client/v4/zones/abc", {"fields": ["status"]})]
    assert result["api_calls"] == {"reads": 1, "writes": 0}


def test_account_id_is_put_into_the_path(capsys, server):
    server.script(Reply(200, envelope([])))
    failed, _result = run_module(api_request.main, capsys, server, path="/accounts/{account_id}/workers/scripts")
    assert not failed
    assert server.requests[0].path == "/client/v4/accounts/%s/workers/scripts" % ACCOUNT_ID


def test_paginate_page_reads_every_page_at_the_given_size(capsys, server):
    def page(request):
        number = int(request.query["page"][0])
        return Reply(200, envelope([{"n": number * 10 + i} for i in range(2 if number < 3 else 1)],
                                   {"page": number, "per_page": 2, "total_pages": 3, "total_count": 5}))
    server.handler = page
    failed, result = run_module(api_request.main, capsys, server, path="/zones", paginate="page", page_size=2)
    assert not failed, result
    assert [item["n"] for item in result["result"]] == [10, 11, 20, 21, 30]
    assert [r.query["per_page"] for r in server.requests] == [["2"]] * 3


def test_paginate_cursor_follows_the_cursor_with_the_named_size_parameter(capsys, server):
    server.script(Reply(200, envelope([{"name": "a"}], {"cursor": "c1"})), Reply(200, envelope([{"name": "b"}], {"cursor": ""})))
    failed, result = run_module(api_request.main, capsys, server, path="/accounts/{account_id}/storage/kv/namespaces/ns/keys",
                                paginate="cursor", page_size=1000, page_size_param="limit")
    assert not failed, result
    assert result["result"] == [{"name": "a"}, {"name": "b"}]
    assert server.requests[0].query == {"limit": ["1000"]}
    assert server.requests[1].query == {"limit": ["1000"], "cursor": ["c1"]}


def test_a_write_is_sent_and_reports_changed(capsys, server):
    server.script(Reply(200, envelope({"id": "always_online", "value": "on"})))
    failed, result = run_module(api_request.main, capsys, server, method="PATCH", path="/zones/z/settings/always_online",
                                body={"value": "on"})
    assert not failed and result["changed"], result
    assert [(r.method, r.json()) for r in writes(server)] == [("PATCH", {"value": "on"})]
    assert result["api_calls"] == {"reads": 0, "writes": 1}


def test_check_mode_sends_no_write_and_reports_what_it_would_send(capsys, server):
    failed, result = run_module(api_request.main, capsys, server, method="POST", path="/accounts/{account_id}/queues",
                                body={"queue_name": "jobs"}, _ansible_check_mode=True)
    assert not failed and result["changed"], result
    assert server.requests == []
    assert result["request"] == {"method": "POST", "url": server.base_url + "/accounts/%s/queues" % ACCOUNT_ID,
                                 "query": {}, "body": {"queue_name": "jobs"}, "sent": False}
    assert "result" not in result


def test_check_mode_still_runs_a_read(capsys, server):
    server.script(Reply(200, envelope([{"id": "q"}])))
    failed, result = run_module(api_request.main, capsys, server, path="/accounts/{account_id}/queues", _ansible_check_mode=True)
    assert not failed and not result["changed"] and result["result"] == [{"id": "q"}]
    assert len(server.requests) == 1


def test_a_body_without_a_method_fails_before_any_call(capsys, server):
    failed, result = run_module(api_request.main, capsys, server, path="/accounts/{account_id}/queues", body={"queue_name": "x"})
    assert failed and "a write must name its method" in result["msg"]
    assert server.requests == []


def test_paginating_a_write_fails_before_any_call(capsys, server):
    failed, result = run_module(api_request.main, capsys, server, method="POST", path="/zones", paginate="page")
    assert failed and "needs method GET" in result["msg"] and server.requests == []


def test_a_path_with_a_host_or_a_query_fails_before_any_call(capsys, server):
    for path in ("https://example.com/zones", "zones", "/zones?page=2"):
        failed, result = run_module(api_request.main, capsys, server, path=path)
        assert failed and "path" in result["msg"], (path, result)
    assert server.requests == []


def test_a_cloudflare_error_fails_with_its_codes_and_messages(capsys, server):
    server.script(failure(400, (1004, "DNS Validation Error")))
    failed, result = run_module(api_request.main, capsys, server, method="POST", path="/zones/z/dns_records", body={"type": "A"})
    assert failed
    assert "POST /zones/z/dns_records failed with HTTP 400: [1004] DNS Validation Error" in result["msg"]
    assert result["status"] == 400 and result["errors"] == [{"code": 1004, "message": "DNS Validation Error"}]


def test_a_post_is_not_sent_again_after_a_server_error(capsys, server):
    server.script(Reply(502, {"success": False, "errors": [], "messages": [], "result": None}))
    failed, result = run_module(api_request.main, capsys, server, method="POST", path="/accounts/{account_id}/queues",
                                body={"queue_name": "jobs"}, api_max_retries=3)
    assert failed and "not retried because the request may have been applied" in result["msg"]
    assert len(server.requests) == 1


def test_a_get_is_retried_after_a_rate_limit(capsys, server):
    server.script(Reply(429, {"success": False, "errors": [{"code": 971, "message": "Please wait"}]}, headers={"Retry-After": "1"}),
                  Reply(200, envelope({"ok": True})))
    failed, result = run_module(api_request.main, capsys, server, path="/user/tokens/verify", api_max_retries=2)
    assert not failed and result["result"] == {"ok": True} and len(server.requests) == 2


def test_an_account_placeholder_without_an_account_fails_before_any_call(capsys, server):
    failed, result = run_module(api_request.main, capsys, server, path="/accounts/{account_id}/queues", account_id=None)
    assert failed and "path has {account_id} but account_id is not set" in result["msg"] and server.requests == []
