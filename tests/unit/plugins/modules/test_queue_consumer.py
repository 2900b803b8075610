"""queue_consumer and queue against a scripted server: every shape the sources allow for a consumer and the list.

The live API names a consumer's Worker ``script`` (Terraform queue_consumer/custom.go), wrangler also
matches ``service`` (queues/client.ts), the SDK's model has ``script_name``: the module must find its
consumer under each, so a second run writes nothing and ``state: absent`` deletes. The queue list has no
paging in the current SDK (SyncSinglePage) while wrangler sends ``?name=`` and ``page``: the lookup must
work whether the server filters by name, ignores the filter, pages, or does not page.
"""
import pytest

from ansible_collections.cfops.cloudflare.plugins.modules import queue as queue_module
from ansible_collections.cfops.cloudflare.plugins.modules import queue_consumer
from ansible_collections.cfops.cloudflare.tests.unit.plugins.modules.module_runner import ACCOUNT_ID, module_result, writes
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply, envelope

QUEUE_ID = "1" * 32
DLQ_ID = "2" * 32
SETTINGS = {"batch_size": 50, "max_retries": 5, "max_wait_time_ms": 2000, "max_concurrency": None, "retry_delay": 0}


def consumer(**fields):
    base = {"consumer_id": "c" * 32, "type": "worker", "queue_name": "tasks", "dead_letter_queue": "tasks-dlq",
            "settings": dict(SETTINGS), "created_on": "2026-01-01T00:00:00Z"}
    base.update(fields)
    return base


def queue(name, queue_id, consumers=()):
    return {"queue_id": queue_id, "queue_name": name, "consumers": list(consumers), "consumers_total_count": len(consumers),
            "producers": [], "producers_total_count": 0, "settings": {"delivery_delay": 0}}


def filtering_server(server, queues, per_page=None, result_info=True):
    """Answers GET /queues honouring ``?name=`` (exact) and ``page``; other calls succeed with {}."""
    def handler(request):
        if request.method == "GET" and request.path.endswith("/queues"):
            names = request.query.get("name") or []
            chosen = [q for q in queues if not names or q["queue_name"] in names]
            page = int((request.query.get("page") or ["1"])[0])
            size = per_page or max(1, len(chosen))
            items = chosen[(page - 1) * size: page * size]
            info = {"page": page, "per_page": size, "count": len(items), "total_count": len(chosen)} if result_info else None
            return Reply(200, envelope(items, info))
        if request.method == "GET" and request.path.endswith("/workers/scripts"):
            return Reply(200, envelope([{"id": "books-worker"}]))  # the Worker is checked before the create
        return Reply(200, envelope(consumer(script="books-worker")))
    server.handler = handler


def attach(server, capsys, **extra):
    args = dict(queue="tasks", script="books-worker", batch_size=50, max_retries=5, max_wait_time_ms=2000,
                dead_letter_queue="tasks-dlq")
    args.update(extra)
    return module_result(queue_consumer.main, capsys, server, **args)


@pytest.mark.parametrize("field", ["script", "service", "script_name"])
def test_an_unchanged_consumer_is_found_under_each_field_and_nothing_is_written(server, capsys, field):
    filtering_server(server, [queue("tasks", QUEUE_ID, [consumer(**{field: "books-worker"})]), queue("tasks-dlq", DLQ_ID)])
    result = attach(server, capsys)
    assert result["changed"] is False, result
    assert writes(server) == []
    assert result["consumer"]["script_name"] == "books-worker"


@pytest.mark.parametrize("field", ["script", "service", "script_name"])
def test_absent_deletes_the_consumer_found_under_each_field(server, capsys, field):
    filtering_server(server, [queue("tasks", QUEUE_ID, [consumer(**{field: "books-worker"})])])
    result = module_result(queue_consumer.main, capsys, server, queue="tasks", script="books-worker", state="absent")
    assert result["changed"] is True, result
    assert [(r.method, r.path) for r in writes(server)] == [
        ("DELETE", "/client/v4/accounts/%s/queues/%s/consumers/%s" % (ACCOUNT_ID, QUEUE_ID, "c" * 32))]


def test_another_workers_consumer_is_not_taken_for_this_one(server, capsys):
    filtering_server(server, [queue("tasks", QUEUE_ID, [consumer(script="other-worker")]), queue("tasks-dlq", DLQ_ID)])
    result = attach(server, capsys)
    assert result["changed"] is True
    assert [(r.method, r.json()["script_name"]) for r in writes(server)] == [("POST", "books-worker")]


def test_an_http_pull_consumer_is_not_a_worker_consumer(server, capsys):
    pull = consumer(type="http_pull", script_name="books-worker")
    filtering_server(server, [queue("tasks", QUEUE_ID, [pull]), queue("tasks-dlq", DLQ_ID)])
    attach(server, capsys)
    assert [r.method for r in writes(server)] == ["POST"]


def test_a_null_dead_letter_queue_equals_none_wanted(server, capsys):
    filtering_server(server, [queue("tasks", QUEUE_ID, [consumer(script="books-worker", dead_letter_queue=None)])])
    result = attach(server, capsys, dead_letter_queue="")
    assert result["changed"] is False and writes(server) == []


def test_the_update_sends_script_name_and_only_known_settings(server, capsys):
    current = consumer(script="books-worker", settings=dict(SETTINGS, visibility_timeout_ms=3000))
    filtering_server(server, [queue("tasks", QUEUE_ID, [current]), queue("tasks-dlq", DLQ_ID)])
    attach(server, capsys, batch_size=10)
    (put,) = writes(server)
    assert put.method == "PUT" and put.json()["script_name"] == "books-worker"
    assert put.json()["settings"] == {"batch_size": 10, "max_retries": 5, "max_wait_time_ms": 2000, "retry_delay": 0}


def test_both_queues_are_looked_up_by_name_in_one_read(server, capsys):
    filtering_server(server, [queue("other", "3" * 32), queue("tasks", QUEUE_ID, [consumer(script="books-worker")]),
                              queue("tasks-dlq", DLQ_ID)])
    attach(server, capsys)
    (read,) = server.requests
    assert read.query["name"] == ["tasks", "tasks-dlq"]


def test_a_server_that_filters_by_one_name_only_still_finds_the_dead_letter_queue(server, capsys):
    queues = [queue("tasks", QUEUE_ID, [consumer(script="books-worker")]), queue("tasks-dlq", DLQ_ID)]

    def handler(request):
        first = (request.query.get("name") or [None])[0]
        info = {"page": 1, "per_page": 100, "count": 1, "total_count": 1}
        return Reply(200, envelope([q for q in queues if q["queue_name"] == first], info))
    server.handler = handler
    result = attach(server, capsys)
    assert result["changed"] is False, result
    assert [r.query["name"] for r in server.requests] == [["tasks", "tasks-dlq"], ["tasks-dlq"]]


@pytest.mark.parametrize("result_info", [True, False], ids=["paged", "single-page-without-result_info"])
def test_a_server_that_ignores_the_name_filter_is_paged_through(server, capsys, result_info):
    queues = [queue("q%03d" % n, "%032d" % n) for n in range(7)]
    queues.append(queue("tasks", QUEUE_ID, [consumer(script="books-worker")]))
    queues.append(queue("tasks-dlq", DLQ_ID))

    def handler(request):
        page = int((request.query.get("page") or ["1"])[0])
        if not result_info:
            return Reply(200, envelope(queues))  # everything, no paging at all
        items = queues[(page - 1) * 3: page * 3]
        return Reply(200, envelope(items, {"page": page, "per_page": 3, "count": len(items), "total_count": len(queues)}))
    server.handler = handler
    result = attach(server, capsys)
    assert result["changed"] is False, result
    assert len(server.requests) == (3 if result_info else 1)


def test_a_list_that_claims_more_pages_but_repeats_itself_fails_instead_of_cutting_off(server, capsys):
    first = [queue("q%03d" % n, "%032d" % n) for n in range(3)]
    server.handler = lambda request: Reply(200, envelope(first, {"page": 1, "per_page": 3, "count": 3, "total_count": 9}))
    result = attach(server, capsys)
    assert result["failed"] is True
    assert "says it has more queues" in result["msg"] and writes(server) == []


def test_queue_module_finds_its_queue_by_name_and_changes_nothing(server, capsys):
    filtering_server(server, [queue("other", "3" * 32), queue("tasks", QUEUE_ID)])
    result = module_result(queue_module.main, capsys, server, name="tasks", delivery_delay=0)
    assert result["changed"] is False and result["queue"]["queue_id"] == QUEUE_ID
    (read,) = server.requests
    assert read.query == {"name": ["tasks"], "page": ["1"]}


def test_queue_module_creates_a_queue_the_name_lookup_does_not_return(server, capsys):
    filtering_server(server, [queue("tasks-old", "3" * 32)])
    server.script(Reply(200, envelope([], {"page": 1, "per_page": 100, "count": 0, "total_count": 0})),
                  Reply(200, envelope(queue("tasks", QUEUE_ID))))
    result = module_result(queue_module.main, capsys, server, name="tasks")
    assert result["changed"] is True
    assert [(r.method, r.json()) for r in writes(server)] == [("POST", {"queue_name": "tasks"})]
