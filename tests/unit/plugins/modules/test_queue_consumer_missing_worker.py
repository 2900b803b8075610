"""queue_consumer for a Worker that does not exist, against a scripted server answering each way Cloudflare may.

Cloudflare refuses a consumer whose Worker has no queue() handler (11001 "Queue handler is missing"); for a Worker that
does not exist at all the code is not documented (emulator/fidelity/queues.yml, queue-consumer-needs-its-worker). The
module must fail with Cloudflare's message, after exactly one create and without a retry that could duplicate it.
"""
import pytest

from ansible_collections.cfops.cloudflare.plugins.modules import queue_consumer
from ansible_collections.cfops.cloudflare.tests.unit.plugins.modules.module_runner import module_result, writes
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply, envelope

QUEUE = {"queue_id": "1" * 32, "queue_name": "tasks", "consumers": [], "consumers_total_count": 0, "producers": [],
         "producers_total_count": 0, "settings": {"delivery_delay": 0}}


@pytest.mark.parametrize("status, code, message", [
    (400, 11001, "Queue handler is missing. Please see our docs for more information about creating handlers"),
    (404, 10007, "This Worker does not exist on your account."),
    (400, 10021, "script not found"),
])
def test_a_consumer_for_a_missing_worker_fails_with_cloudflares_answer_after_one_create(
        server, capsys, status, code, message):
    def handler(request):
        if request.method == "GET" and request.path.endswith("/queues"):
            return Reply(200, envelope([QUEUE], {"page": 1, "per_page": 1, "count": 1, "total_count": 1}))
        return Reply(status, {"success": False, "errors": [{"code": code, "message": message}], "messages": [],
                              "result": None})
    server.handler = handler
    result = module_result(queue_consumer.main, capsys, server, queue="tasks", script_name="no-such-worker")
    assert result["failed"] is True
    assert "[%d] %s" % (code, message) in result["msg"] and "HTTP %d" % status in result["msg"], result["msg"]
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in writes(server)] == [("POST", "consumers")]
