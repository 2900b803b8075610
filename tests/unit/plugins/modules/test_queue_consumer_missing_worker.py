"""queue_consumer for a Worker that does not exist, against a scripted server answering each way Cloudflare may.

The module reads the account's Workers before it creates a consumer and refuses one for a Worker that is not there,
before any write. Cloudflare also refuses a consumer whose Worker has no queue() handler (11001 "Queue handler is
missing"); for a Worker that disappears between the read and the create the code is not documented
(emulator/fidelity/queues.yml, queue-consumer-needs-its-worker). Then the module must fail with Cloudflare's message,
after exactly one create and without a retry that could duplicate it.
"""
import pytest

from ansible_collections.cfops.cloudflare.plugins.modules import queue_consumer
from ansible_collections.cfops.cloudflare.tests.unit.plugins.modules.module_runner import module_result, writes
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply, envelope

QUEUE = {"queue_id": "1" * 32, "queue_name": "tasks", "consumers": [], "consumers_total_count": 0, "producers": [],
         "producers_total_count": 0, "settings": {"delivery_delay": 0}}


def queues_or(request, scripts):
    if request.method == "GET" and request.path.endswith("/queues"):
        return Reply(200, envelope([QUEUE], {"page": 1, "per_page": 1, "count": 1, "total_count": 1}))
    if request.method == "GET" and request.path.endswith("/workers/scripts"):
        return Reply(200, envelope([{"id": name} for name in scripts]))
    return None


def test_a_consumer_for_a_worker_not_in_the_account_is_refused_before_any_write(server, capsys):
    server.handler = lambda request: queues_or(request, ["another-worker"]) or Reply(500, {})
    result = module_result(queue_consumer.main, capsys, server, queue="tasks", script="no-such-worker")
    assert result["failed"] is True
    assert "no Worker named no-such-worker" in result["msg"] and "script" in result["msg"], result["msg"]
    assert writes(server) == []


@pytest.mark.parametrize("status, code, message", [
    (400, 11001, "Queue handler is missing. Please see our docs for more information about creating handlers"),
    (404, 10007, "This Worker does not exist on your account."),
    (400, 10021, "script not found"),
])
def test_a_consumer_cloudflare_refuses_fails_with_its_answer_after_one_create(server, capsys, status, code, message):
    def handler(request):
        return queues_or(request, ["gone-worker"]) or Reply(
            status, {"success": False, "errors": [{"code": code, "message": message}], "messages": [], "result": None})
    server.handler = handler
    result = module_result(queue_consumer.main, capsys, server, queue="tasks", script="gone-worker")
    assert result["failed"] is True
    assert "[%d] %s" % (code, message) in result["msg"] and "HTTP %d" % status in result["msg"], result["msg"]
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in writes(server)] == [("POST", "consumers")]
