"""worker_custom_domain and worker_subdomain against a real local HTTP server, under each plausible answer.

- A custom domain attach: the current request schema (SDK DomainUpdateParams) has no environment; the
  response may or may not carry one.
- workers.dev: an API-uploaded Worker is reported off (terraform-provider-cloudflare#2892), but the
  module must be right under either default, since it reads the state before it writes.
"""
import json

import pytest

from ansible_collections.cfops.cloudflare.plugins.modules import worker_custom_domain, worker_subdomain
from ansible_collections.cfops.cloudflare.tests.unit.plugins.modules.module_runner import ACCOUNT_ID, run_module
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply, envelope, failure

ZONE_ID = "9a7806061c88ada191ed06f989cc3dac"
DOMAINS = "/client/v4/accounts/%s/workers/domains" % ACCOUNT_ID
SUBDOMAIN = "/client/v4/accounts/%s/workers/scripts/books-api/subdomain" % ACCOUNT_ID


class FakeDomains:
    def __init__(self, echo_environment):
        self.echo_environment = echo_environment
        self.domains = []
        self.puts = []

    def __call__(self, request):
        if request.path == "/client/v4/zones":
            return Reply(200, envelope([{"id": ZONE_ID, "name": "example.com", "plan": {"legacy_id": "free"}}],
                                       {"page": 1, "per_page": 50, "count": 1, "total_count": 1, "total_pages": 1}))
        if request.path == "/client/v4/accounts/%s/workers/scripts" % ACCOUNT_ID:
            return Reply(200, envelope([{"id": "books-api"}]))  # the service is checked before the attach
        if request.path == DOMAINS and request.method == "GET":
            hostname = request.query.get("hostname", [None])[0]
            return Reply(200, envelope([d for d in self.domains if hostname in (None, d["hostname"])]))
        if request.path == DOMAINS and request.method == "PUT":
            body = request.json()
            self.puts.append(body)
            domain = dict(body, id="d" * 32, zone_name="example.com", cert_id="c" * 32)
            if self.echo_environment:
                domain["environment"] = "production"
            self.domains = [d for d in self.domains if d["hostname"] != body["hostname"]] + [domain]
            return Reply(200, envelope(domain))
        return failure(404, (7003, "No route for that URI"))


@pytest.mark.parametrize("echo_environment", [True, False])
def test_the_attach_sends_no_environment_and_a_second_run_writes_nothing(server, capsys, echo_environment):
    api = FakeDomains(echo_environment)
    server.handler = api
    args = dict(hostname="books.example.com", script="books-api")
    failed, result = run_module(worker_custom_domain.main, capsys, server, **args)
    assert not failed and result["changed"], result
    assert api.puts == [{"hostname": "books.example.com", "service": "books-api", "zone_id": ZONE_ID}]
    assert result["domain"]["environment"] == ("production" if echo_environment else None)
    failed, again = run_module(worker_custom_domain.main, capsys, server, **args)
    assert not failed and not again["changed"] and len(api.puts) == 1


def test_a_given_environment_is_ignored_with_a_warning(server, capsys):
    api = FakeDomains(True)
    server.handler = api
    failed, result = run_module(worker_custom_domain.main, capsys, server, hostname="books.example.com",
                                script="books-api", environment="staging")
    assert not failed and "environment" not in api.puts[0]
    assert "environment is ignored" in json.dumps(result.get("warnings")), sorted(result)


class FakeSubdomain:
    def __init__(self, enabled, previews_enabled):
        self.state = {"enabled": enabled, "previews_enabled": previews_enabled}
        self.posts = []

    def __call__(self, request):
        if request.path == "/client/v4/accounts/%s/workers/subdomain" % ACCOUNT_ID:
            return Reply(200, envelope({"subdomain": "books-team"}))
        if request.path == SUBDOMAIN and request.method == "GET":
            return Reply(200, envelope(dict(self.state)))
        if request.path == SUBDOMAIN and request.method == "POST":
            self.posts.append(request.json())
            self.state.update(request.json())
            return Reply(200, envelope(dict(self.state)))
        return failure(404, (7003, "No route for that URI"))


@pytest.mark.parametrize("default", [(False, False), (True, True), (True, False)],
                         ids=["off (API uploads)", "on with previews", "on without previews"])
@pytest.mark.parametrize("wanted", [True, False])
def test_workers_dev_is_set_whatever_the_default(server, capsys, default, wanted):
    api = FakeSubdomain(*default)
    server.handler = api
    failed, result = run_module(worker_subdomain.main, capsys, server, script="books-api", enabled=wanted)
    assert not failed, result
    assert result["changed"] == (default[0] != wanted)
    assert api.posts == ([{"enabled": wanted, "previews_enabled": default[1]}] if default[0] != wanted else [])
    assert result["url"] == ("https://books-api.books-team.workers.dev" if wanted else None)
    failed, again = run_module(worker_subdomain.main, capsys, server, script="books-api", enabled=wanted)
    assert not again["changed"] and again["api_calls"]["writes"] == 0


@pytest.mark.parametrize("status, code", [(400, 100102), (409, 100117), (400, 12345)])
def test_a_refused_attach_fails_with_cloudflares_code_and_message(server, capsys, status, code):
    api = FakeDomains(True)

    def handler(request):
        if request.method == "PUT":
            return failure(status, (code, "Cloudflare refused the hostname"))
        return api(request)
    server.handler = handler
    failed, result = run_module(worker_custom_domain.main, capsys, server, hostname="books.example.com", script="books-api")
    assert failed and "failed with HTTP %d: [%d] Cloudflare refused the hostname" % (status, code) in result["msg"]


@pytest.mark.parametrize("status, code", [(400, 10032), (409, 10031), (404, 10007)])
def test_a_refused_workers_dev_change_fails_with_cloudflares_code_and_message(server, capsys, status, code):
    api = FakeSubdomain(False, False)

    def handler(request):
        if request.method != "GET":
            return failure(status, (code, "Cloudflare refused the subdomain"))
        return api(request)
    server.handler = handler
    failed, result = run_module(worker_subdomain.main, capsys, server, script="books-api", enabled=True,
                                account_subdomain="books-team-2")
    assert failed and "failed with HTTP %d: [%d] Cloudflare refused the subdomain" % (status, code) in result["msg"]


def test_an_account_without_a_workers_dev_subdomain_reads_as_none(server, capsys):
    # wrangler (src/routes.ts): 10007 on GET .../workers/subdomain means none is registered yet.
    api = FakeSubdomain(False, False)

    def handler(request):
        if request.path.endswith("/workers/subdomain"):
            return failure(404, (10007, "Not found"))
        return api(request)
    server.handler = handler
    failed, result = run_module(worker_subdomain.main, capsys, server, script="books-api")
    assert not failed and result["account_subdomain"] is None and result["url"] is None
