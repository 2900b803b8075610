"""Queue consumers and cron triggers at the edge: the Worker's queue() and scheduled() handlers run in
workerd as the consumer and the schedules are configured through the API (batching, retries, delays,
the dead-letter queue; the admin cron trigger). Every wait is bounded."""
import json
import os
import sqlite3
import time
from urllib.parse import quote

import pytest

from tests.emulator.edge_helpers import api_client, deploy, edge_client, edge_process, hit, workers_dev

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    yield from edge_process(tmp_path_factory)


@pytest.fixture
def api(edge):
    yield from api_client(edge)


@pytest.fixture
def client(edge):
    yield from edge_client(edge)


# Produces on GET /send?n=N&mode=M (N messages {n, mode}); consumes by logging each delivery in KV, then
# acts on mode: ok (ack), retry (retry()), delay (retry({delaySeconds: 1}) once), throw (the handler throws
# once, after acking every "ok" of the batch), retryall (retryAll() on the first delivery, then ackAll()).
CONSUMER = """
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const n = Number(url.searchParams.get("n") || 1);
    const mode = url.searchParams.get("mode") || "ok";
    await env.JOBS.sendBatch(Array.from({ length: n }, (_, i) => ({ body: { n: i, mode } })));
    return new Response("sent " + n);
  },
  async queue(batch, env) {
    const now = Date.now();
    await env.LOG.put(`batch:${now}:${batch.messages[0].id}`, JSON.stringify({
      queue: batch.queue, size: batch.messages.length,
      messages: batch.messages.map((m) => ({ id: m.id, body: m.body, attempts: m.attempts, at: now })),
    }));
    let shouldThrow = false;
    for (const message of batch.messages) {
      const mode = message.body.mode;
      if (mode === "ok") message.ack();
      else if (mode === "retry") message.retry();
      else if (mode === "delay" && message.attempts === 1) message.retry({ delaySeconds: 1 });
      else if (mode === "delay") message.ack();
      else if (mode === "throw" && message.attempts === 1) shouldThrow = true;
      else if (mode === "throw") message.ack();
    }
    if (batch.messages.some((m) => m.body.mode === "retryall")) {
      if (batch.messages[0].attempts === 1) batch.retryAll(); else batch.ackAll();
    }
    if (shouldThrow) throw new Error("a deliberate consumer failure");
  },
  async scheduled(event, env) {
    if (event.cron === "13 13 13 1 *") throw new Error("a deliberate cron failure");
    await env.LOG.put(`cron:${event.scheduledTime}:${event.cron}`, JSON.stringify({ cron: event.cron, at: Date.now() }));
  },
};
"""


def account_path(edge, *rest):
    return "/".join(("/accounts/%s" % edge.account_id,) + rest)


def setup_consumer(api, edge, name, settings, dead_letter_queue=None):
    """A queue ``name``, a KV log and the consumer Worker ``name`` on it; the KV values path."""
    queues = {}
    for queue_name in filter(None, (name, dead_letter_queue)):
        created = api.post(account_path(edge, "queues"), json={"queue_name": queue_name})
        assert created.status_code == 200, created.text
        queues[queue_name] = created.json()["result"]["queue_id"]
    namespace = api.post(account_path(edge, "storage/kv/namespaces"), json={"title": name + "-log"}).json()["result"]["id"]
    bindings = [{"type": "queue", "name": "JOBS", "queue_name": name},
                {"type": "kv_namespace", "name": "LOG", "namespace_id": namespace}]
    deploy(api, edge, name, CONSUMER, bindings=bindings)
    body = {"script_name": name, "settings": settings}
    if dead_letter_queue:
        body["dead_letter_queue"] = dead_letter_queue
    consumer = api.post(account_path(edge, "queues", queues[name], "consumers"), json=body)
    assert consumer.status_code == 200, consumer.text
    assert edge.edge_sync()
    return namespace, queues


def log(api, edge, namespace, prefix="batch:"):
    keys = api.get(account_path(edge, "storage/kv/namespaces", namespace, "keys"), params={"prefix": prefix}).json()["result"]
    return [json.loads(api.get(account_path(edge, "storage/kv/namespaces", namespace, "values", quote(key["name"], safe=""))).text)
            for key in keys]


def logged_when(api, edge, namespace, condition, seconds=20):
    """The logged batches once ``condition(batches)`` holds (None after ``seconds``)."""
    def check():
        batches = log(api, edge, namespace)
        return batches if condition(batches) else None
    return until(check, seconds)


def until(check, seconds=20):
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def messages_in(edge, queue_id):
    with sqlite3.connect("file:%s?mode=ro" % os.path.join(edge.data_dir, "state.sqlite3"), uri=True) as db:
        return [json.loads(body) for (body,) in db.execute("SELECT body FROM queue_messages WHERE queue_id = ?", (queue_id,))]


def deliveries(batches):
    """{message n: [attempts, ...]} over every logged batch."""
    seen = {}
    for batch in sorted(batches, key=lambda b: b["messages"][0]["at"]):
        for message in batch["messages"]:
            seen.setdefault(message["body"]["n"], []).append(message["attempts"])
    return seen


def test_messages_arrive_in_batches_of_max_batch_size_and_the_rest_after_the_timeout(api, edge, client):
    namespace, queues = setup_consumer(api, edge, "batcher", {"batch_size": 3, "max_wait_time_ms": 1500, "max_retries": 3})
    started = time.monotonic()
    assert hit(client, workers_dev("batcher"), "/send?n=7").text == "sent 7"
    batches = logged_when(api, edge, namespace, lambda b: sum(x["size"] for x in b) == 7)
    assert batches, log(api, edge, namespace)
    sizes = [b["size"] for b in sorted(batches, key=lambda b: b["messages"][0]["at"])]
    assert sizes == [3, 3, 1], sizes
    assert {b["queue"] for b in batches} == {"batcher"}
    assert time.monotonic() - started >= 1.5  # the last one waited for max_wait_time_ms
    assert all(attempts == [1] for attempts in deliveries(batches).values())
    assert until(lambda: messages_in(edge, queues["batcher"]) == [], 5)  # acked: gone from the queue


def test_retry_delivers_again_until_max_retries_then_the_dead_letter_queue(api, edge, client):
    namespace, queues = setup_consumer(api, edge, "retrier", {"batch_size": 10, "max_wait_time_ms": 0, "max_retries": 2,
                                                              "retry_delay": 0}, dead_letter_queue="retrier-dead")
    hit(client, workers_dev("retrier"), "/send?n=1&mode=retry")
    hit(client, workers_dev("retrier"), "/send?n=1&mode=ok")
    dead = until(lambda: messages_in(edge, queues["retrier-dead"]))
    assert dead == [{"n": 0, "mode": "retry"}]
    seen = {}
    for batch in log(api, edge, namespace):
        for message in batch["messages"]:
            seen.setdefault(message["body"]["mode"], []).append(message["attempts"])
    # max_retries 2: three deliveries (attempts 1, 2, 3), then the dead-letter queue; "ok" once.
    assert sorted(seen["retry"]) == [1, 2, 3] and seen["ok"] == [1], seen
    assert messages_in(edge, queues["retrier"]) == []


def test_without_a_dead_letter_queue_a_message_is_dropped_after_max_retries(api, edge, client):
    namespace, queues = setup_consumer(api, edge, "dropper", {"batch_size": 10, "max_wait_time_ms": 0, "max_retries": 0})
    hit(client, workers_dev("dropper"), "/send?n=2&mode=retry")
    assert until(lambda: sum(b["size"] for b in log(api, edge, namespace)) == 2)
    assert until(lambda: messages_in(edge, queues["dropper"]) == [], 5)
    time.sleep(1)
    assert sum(b["size"] for b in log(api, edge, namespace)) == 2  # max_retries 0: one delivery each


def test_a_throwing_handler_redelivers_the_batch_except_the_messages_it_acked(api, edge, client):
    namespace, _queues = setup_consumer(api, edge, "thrower", {"batch_size": 10, "max_wait_time_ms": 300, "max_retries": 3})
    hit(client, workers_dev("thrower"), "/send?n=2&mode=throw")
    hit(client, workers_dev("thrower"), "/send?n=2&mode=ok")
    batches = logged_when(api, edge, namespace, lambda b: len(b) >= 2)
    ordered = sorted(batches, key=lambda b: b["messages"][0]["at"])
    first = sorted((m["body"]["mode"], m["attempts"]) for m in ordered[0]["messages"])
    assert first == [("ok", 1), ("ok", 1), ("throw", 1), ("throw", 1)]
    second = sorted((m["body"]["mode"], m["attempts"]) for m in ordered[1]["messages"])
    assert second == [("throw", 2), ("throw", 2)]  # the acked "ok" messages were not redelivered


def test_retry_delay_and_retry_all_then_ack_all(api, edge, client):
    namespace, queues = setup_consumer(api, edge, "delayer", {"batch_size": 10, "max_wait_time_ms": 0, "max_retries": 3})
    hit(client, workers_dev("delayer"), "/send?n=1&mode=delay")
    delayed = logged_when(api, edge, namespace, lambda b: len(b) == 2)
    first, second = sorted((b["messages"][0] for b in delayed), key=lambda m: m["at"])
    assert (first["attempts"], second["attempts"]) == (1, 2)
    assert second["at"] - first["at"] >= 1000  # retry({delaySeconds: 1})
    hit(client, workers_dev("delayer"), "/send?n=3&mode=retryall")
    assert until(lambda: sum(1 for b in log(api, edge, namespace) if b["messages"][0]["body"]["mode"] == "retryall") == 2)
    attempts = sorted(m["attempts"] for b in log(api, edge, namespace) for m in b["messages"] if m["body"]["mode"] == "retryall")
    assert attempts == [1, 1, 1, 2, 2, 2]
    assert until(lambda: messages_in(edge, queues["delayer"]) == [], 5)


def test_the_admin_trigger_runs_scheduled_now_and_reports_the_outcome(api, edge, client):
    namespace, _queues = setup_consumer(api, edge, "cronned", {"max_wait_time_ms": 0})
    ran = edge.admin("POST", "/edge/scheduled", json={"script": "cronned", "cron": "*/5 * * * *"})
    assert ran["ran"] is True and ran["outcome"] == "success"
    assert [entry["cron"] for entry in log(api, edge, namespace, "cron:")] == ["*/5 * * * *"]
    failed = edge.admin("POST", "/edge/scheduled", json={"script": "cronned", "cron": "13 13 13 1 *"})
    assert failed["outcome"] == "scriptThrewException"
    with pytest.raises(Exception, match="404"):
        edge.admin("POST", "/edge/scheduled", json={"script": "nobody", "account_id": edge.account_id})


def test_a_cron_trigger_fires_scheduled_at_the_start_of_each_matching_minute(api, edge, client):
    namespace, _queues = setup_consumer(api, edge, "ticker", {"max_wait_time_ms": 0})
    response = api.put("/accounts/%s/workers/scripts/ticker/schedules" % edge.account_id, json=[{"cron": "* * * * *"}])
    assert response.status_code == 200, response.text
    fired = until(lambda: log(api, edge, namespace, "cron:"), seconds=75)  # the next minute boundary, bounded
    assert fired, "no scheduled() run within 75 s of a * * * * * trigger"
    key = api.get("/accounts/%s/storage/kv/namespaces/%s/keys" % (edge.account_id, namespace),
                  params={"prefix": "cron:"}).json()["result"][0]["name"]
    scheduled_time = int(key.split(":")[1])
    assert scheduled_time % 60000 == 0  # scheduledTime: the start of the minute
    assert fired[0]["at"] - scheduled_time < 15000


def test_queue_and_cron_invocations_are_recorded_for_analytics(api, edge, client):
    setup_consumer(api, edge, "counted", {"batch_size": 5, "max_wait_time_ms": 0})
    hit(client, workers_dev("counted"), "/send?n=2")
    edge.admin("POST", "/edge/scheduled", json={"script": "counted"})

    def kinds():
        with sqlite3.connect("file:%s?mode=ro" % os.path.join(edge.data_dir, "state.sqlite3"), uri=True) as db:
            found = dict(db.execute("SELECT kind, COUNT(*) FROM edge_invocations WHERE script_name = 'counted' GROUP BY kind"))
        return found if {"fetch", "queue", "scheduled"} <= set(found) else None

    assert until(kinds) == {"fetch": 1, "queue": 1, "scheduled": 1}
