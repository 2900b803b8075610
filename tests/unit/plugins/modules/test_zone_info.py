"""zone_info against a real local HTTP server, under the answers GET /zones may give."""
import pytest

from ansible_collections.cfops.cloudflare.plugins.modules import zone_info
from ansible_collections.cfops.cloudflare.tests.unit.plugins.modules.module_runner import ACCOUNT_ID, run_module
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply, envelope, failure


def zone(name, status="active", plan="free", **extra):
    body = {"id": name.replace(".", "")[:32].ljust(32, "0"), "name": name, "status": status, "paused": False, "type": "full",
            "name_servers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"], "original_name_servers": None,
            "account": {"id": ACCOUNT_ID, "name": ""}, "created_on": "2026-11-23T10:00:00Z",
            "activated_on": "2026-11-23T10:00:00Z" if status == "active" else None,
            "plan": {"legacy_id": plan, "name": plan.title() + " Website"}}
    body.update(extra)
    return body


@pytest.mark.parametrize("info", [
    lambda n, size, total: {"page": n, "per_page": size, "total_pages": -(-total // size), "total_count": total},
    # Some lists answer only total_count, or only the page figures: the reads still end.
    lambda n, size, total: {"page": n, "per_page": size, "total_count": total},
    lambda n, size, total: {"page": n, "per_page": size},
], ids=["total_pages", "total_count_only", "no_totals"])
def test_every_page_is_read_at_50_per_page_sorted_by_name(capsys, server, info):
    zones = [zone("z%03d.example" % i) for i in range(120)][::-1]

    def page(request):
        number, size = int(request.query["page"][0]), int(request.query["per_page"][0])
        return Reply(200, envelope(zones[(number - 1) * size: number * size], info(number, size, len(zones))))
    server.handler = page
    failed, result = run_module(zone_info.main, capsys, server)
    assert not failed, result
    assert result["count"] == 120 and [z["name"] for z in result["zones"]] == sorted(z["name"] for z in zones)
    assert [r.query["per_page"] for r in server.requests][:3] == [["50"]] * 3
    assert {r.query["account.id"][0] for r in server.requests} == {ACCOUNT_ID}
    assert result["api_calls"]["writes"] == 0 and result["api_calls"]["reads"] in (3, 4)


def test_the_view_has_plan_status_and_name_servers_and_empty_fields_for_absent_ones(capsys, server):
    bare = {"id": "b" * 32, "name": "bare.example", "account": {"id": ACCOUNT_ID}}
    server.script(Reply(200, envelope([zone("pro.example", plan="pro"), zone("new.example", status="pending"), bare],
                                      {"page": 1, "per_page": 50, "total_pages": 1})))
    failed, result = run_module(zone_info.main, capsys, server, _ansible_check_mode=True)
    assert not failed and not result["changed"]
    by_name = {z["name"]: z for z in result["zones"]}
    assert by_name["pro.example"]["plan"] == "pro" and by_name["pro.example"]["plan_name"] == "Pro Website"
    assert by_name["new.example"]["status"] == "pending" and by_name["new.example"]["activated_on"] is None
    assert by_name["pro.example"]["name_servers"] == ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"]
    assert by_name["bare.example"]["plan"] == "free" and by_name["bare.example"]["name_servers"] == []
    assert by_name["bare.example"]["original_name_servers"] == [] and by_name["bare.example"]["paused"] is False


def test_name_and_status_filter_exactly(capsys, server):
    # The live API's name filter also takes operators: a near match it returns is not the zone asked for.
    server.script(Reply(200, envelope([zone("example.com"), zone("example.com.au")], {"page": 1, "per_page": 50, "total_pages": 1})),
                  Reply(200, envelope([zone("a.example"), zone("b.example", status="pending")], {"page": 1, "per_page": 50, "total_pages": 1})))
    failed, result = run_module(zone_info.main, capsys, server, name="Example.COM.")
    assert not failed and [z["name"] for z in result["zones"]] == ["example.com"]
    assert server.requests[0].query["name"] == ["example.com"]
    failed, result = run_module(zone_info.main, capsys, server, status=["pending"])
    assert not failed and [z["name"] for z in result["zones"]] == ["b.example"]


def test_without_an_account_every_zone_of_the_token_is_listed(capsys, server):
    server.script(Reply(200, envelope([], {"page": 1, "per_page": 50, "total_pages": 1})))
    failed, result = run_module(zone_info.main, capsys, server, account_id=None)
    assert not failed and result["zones"] == []
    assert "account.id" not in server.requests[0].query


def test_an_auth_error_says_what_to_check(capsys, server):
    server.script(failure(403, (9109, "Unauthorized to access requested resource")))
    failed, result = run_module(zone_info.main, capsys, server)
    assert failed and "[9109]" in result["msg"] and "check account_id and the token's permissions" in result["msg"]
