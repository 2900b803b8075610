"""r2_bucket against a scripted server: every answer the sources allow for "this bucket has no CORS policy".

Terraform's r2_bucket_cors resource treats any 404 from GET .../cors as "none"; wrangler's
"r2 bucket cors list" handles an empty rule list; the emulator answers 404 with code 10059, a code
nobody confirmed. The module must read each as "no policy".
"""
import pytest

from ansible_collections.cfops.cloudflare.plugins.modules import r2_bucket
from ansible_collections.cfops.cloudflare.tests.unit.plugins.modules.module_runner import module_result, writes
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply, envelope, failure

BUCKET = {"name": "books-assets", "creation_date": "2026-01-01T00:00:00.000Z", "location": "enam",
          "storage_class": "Standard", "jurisdiction": "default"}
RULE = {"allowed_origins": ["https://books.example"], "allowed_methods": ["GET"]}

NO_POLICY = {
    "404-code-10059": failure(404, (10059, "The CORS configuration does not exist.")),
    "404-another-code": failure(404, (10006, "The specified bucket does not have a CORS configuration.")),
    "404-without-errors": Reply(404, {"success": False, "errors": [], "messages": [], "result": None}),
    "200-empty-rules": Reply(200, envelope({"rules": []})),
    "200-no-rules-field": Reply(200, envelope({})),
}


def bucket_server(server, cors_answer):
    def handler(request):
        if request.method == "GET" and request.path.endswith("/cors"):
            return cors_answer
        if request.method == "GET":
            return Reply(200, envelope(BUCKET))
        return Reply(200, envelope({}))
    server.handler = handler


@pytest.mark.parametrize("answer", list(NO_POLICY), ids=list(NO_POLICY))
def test_no_policy_wanted_and_none_there_writes_nothing(server, capsys, answer):
    bucket_server(server, NO_POLICY[answer])
    result = module_result(r2_bucket.main, capsys, server, name="books-assets", cors_rules=[])
    assert result["changed"] is False, result
    assert writes(server) == []


@pytest.mark.parametrize("answer", list(NO_POLICY), ids=list(NO_POLICY))
def test_a_wanted_policy_over_no_policy_is_put(server, capsys, answer):
    bucket_server(server, NO_POLICY[answer])
    result = module_result(r2_bucket.main, capsys, server, name="books-assets", cors_rules=[RULE])
    assert result["changed"] is True, result
    assert [(r.method, r.path.rsplit("/", 1)[-1], r.json()) for r in writes(server)] == [
        ("PUT", "cors", {"rules": [{"allowed": {"methods": ["GET"], "origins": ["https://books.example"]}}]})]


def test_another_failure_reading_cors_is_reported_not_taken_for_no_policy(server, capsys):
    bucket_server(server, failure(403, (10000, "Authentication error")))
    result = module_result(r2_bucket.main, capsys, server, name="books-assets", cors_rules=[RULE])
    assert result["failed"] is True and "HTTP 403" in result["msg"]
    assert writes(server) == []
