"""The cfops.cloudflare.cloudflare inventory against a real local HTTP server with scripted answers."""
import sys

import pytest

from ansible_collections.cfops.cloudflare.tests.unit.plugin_loader import collection_loader, errors  # noqa: F401 pylint: disable=unused-import
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply, envelope, failure

ACCOUNT = "023e105f4ecef8ad9ca31a8372d0c353"
TOKEN = "unit-test-token-inventory"
SCRIPTS = [{"id": "books-api-prod", "usage_model": "standard", "handlers": ["fetch"]},
           {"id": "books-api-staging", "usage_model": "standard", "handlers": ["fetch", "scheduled"]}]
ZONES = [{"id": "a" * 32, "name": "example.com", "status": "active", "plan": {"legacy_id": "pro"}, "account": {"id": ACCOUNT}},
         {"id": "b" * 32, "name": "example.net", "status": "pending", "account": {"id": ACCOUNT}}]


@pytest.fixture
def inventory(collection_loader, tmp_path):  # noqa: F811 pylint: disable=redefined-outer-name,unused-argument
    from ansible.inventory.data import InventoryData
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import inventory_loader

    def parse(server, config, name="cloudflare.yml"):
        path = tmp_path / name
        lines = ["plugin: cfops.cloudflare.cloudflare", "api_token: %s" % TOKEN, "account_id: %s" % ACCOUNT,
                 "api_base_url: %s" % server.base_url, "api_max_retries: 0"] + config
        path.write_text("\n".join(lines) + "\n")
        plugin = inventory_loader.get("cfops.cloudflare.cloudflare")
        assert plugin.verify_file(str(path)) is True
        data = InventoryData()
        plugin.parse(data, DataLoader(), str(path), cache=False)
        return data
    return parse


def answer(request):
    if request.path.endswith("/workers/scripts"):
        return Reply(200, envelope(SCRIPTS))
    if request.path.endswith("/zones"):
        return Reply(200, envelope(ZONES, {"page": 1, "per_page": 50, "total_pages": 1, "total_count": 2}))
    return Reply(404, {"success": False, "errors": [{"code": 7003, "message": "No route"}]})


def test_workers_and_zones_become_hosts_in_groups_by_kind_with_their_facts(inventory, server):
    server.handler = answer
    data = inventory(server, [])
    assert sorted(h.name for h in data.groups["cloudflare_workers"].get_hosts()) == ["books-api-prod", "books-api-staging"]
    assert sorted(h.name for h in data.groups["cloudflare_zones"].get_hosts()) == ["example.com", "example.net"]
    worker = data.get_host("books-api-staging").get_vars()
    assert worker["cloudflare_kind"] == "worker" and worker["cloudflare_id"] == "books-api-staging"
    assert worker["cloudflare_worker"]["handlers"] == ["fetch", "scheduled"] and worker["cloudflare_account_id"] == ACCOUNT
    assert worker["ansible_connection"] == "local" and worker["ansible_python_interpreter"] == sys.executable
    zone = data.get_host("example.com").get_vars()
    assert zone["cloudflare_kind"] == "zone" and zone["cloudflare_id"] == "a" * 32 and zone["cloudflare_zone_plan"] == "pro"
    assert data.get_host("example.net").get_vars()["cloudflare_zone_plan"] == "free"
    paths = [r.path for r in server.requests]
    assert paths == ["/client/v4/accounts/%s/workers/scripts" % ACCOUNT, "/client/v4/zones"]
    assert server.requests[1].query["account.id"] == [ACCOUNT] and server.requests[1].query["per_page"] == ["50"]
    assert all(r.method == "GET" for r in server.requests)


def test_include_groups_keyed_groups_and_compose(inventory, server):
    server.handler = answer
    data = inventory(server, ["include: [zones]", "zones_group: edge", "local_connection: false",
                              "keyed_groups:", "  - key: cloudflare_zone_plan", "    prefix: plan",
                              "groups:", "  pending: cloudflare_zone.status == 'pending'",
                              "compose:", "  zone_status: cloudflare_zone.status"])
    assert "cloudflare_workers" not in data.groups or not data.groups["cloudflare_workers"].get_hosts()
    assert sorted(h.name for h in data.groups["edge"].get_hosts()) == ["example.com", "example.net"]
    assert [h.name for h in data.groups["plan_pro"].get_hosts()] == ["example.com"]
    assert [h.name for h in data.groups["pending"].get_hosts()] == ["example.net"]
    assert data.get_host("example.net").get_vars()["zone_status"] == "pending"
    assert "ansible_connection" not in data.get_host("example.com").get_vars()
    assert [r.path for r in server.requests] == ["/client/v4/zones"]


def test_a_file_with_another_name_is_not_this_plugins(collection_loader, tmp_path):  # noqa: F811 pylint: disable=redefined-outer-name,unused-argument
    from ansible.plugins.loader import inventory_loader
    path = tmp_path / "hosts.yml"
    path.write_text("plugin: cfops.cloudflare.cloudflare\n")
    assert inventory_loader.get("cfops.cloudflare.cloudflare").verify_file(str(path)) is False


def test_an_api_error_fails_the_parse_with_cloudflares_message_and_no_token(inventory, server, errors):
    server.script(failure(403, (10000, "Authentication error")))
    with pytest.raises(errors.AnsibleParserError) as caught:
        inventory(server, [])
    assert "HTTP 403: [10000] Authentication error" in str(caught.value) and TOKEN not in str(caught.value)


def test_a_missing_token_fails_before_any_call_naming_where_to_set_it(collection_loader, errors, tmp_path, server, monkeypatch):  # noqa: F811 pylint: disable=redefined-outer-name,unused-argument
    from ansible.inventory.data import InventoryData
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import inventory_loader
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    path = tmp_path / "cloudflare.yml"
    path.write_text("plugin: cfops.cloudflare.cloudflare\naccount_id: %s\napi_base_url: %s\n" % (ACCOUNT, server.base_url))
    with pytest.raises(errors.AnsibleError, match="api_token is required: set api_token in the inventory file or CLOUDFLARE_API_TOKEN"):
        inventory_loader.get("cfops.cloudflare.cloudflare").parse(InventoryData(), DataLoader(), str(path), cache=False)
    assert server.requests == []
