"""Queue consumers at the edge: messages of ``queue_messages`` go to the consumer Worker's ``queue()``.

Semantics from https://developers.cloudflare.com/queues/configuration/batching-retries/ and
https://developers.cloudflare.com/queues/configuration/dead-letter-queues/ (Miniflare's own queue
broker, packages/miniflare/src/workers/queues/broker.worker.ts, agrees where the docs are silent):

- a batch goes out when ``batch_size`` (max_batch_size, default 10) messages are visible, or when the
  oldest visible message has waited ``max_wait_time_ms`` (max_batch_timeout, default 5 s), whichever
  comes first; an empty queue invokes nothing; a paused queue (``delivery_paused``) delivers nothing;
- ``ack()``/``ackAll()`` or a handler that returns: delivered (deleted). ``retry()``/``retryAll()`` or a
  handler that throws: redelivered after the message's ``delaySeconds``, else the batch's, else the
  consumer's ``retry_delay``, else at once -- except messages acked explicitly, which are never
  redelivered; a message-level call beats the batch-level one (the first call on a message wins);
- a message whose delivery failed ``max_retries`` + 1 times (default 3 retries) moves to the consumer's
  dead-letter queue, or is deleted when there is none. ``attempts`` counts deliveries from 1.

Attempt counts live in memory: an emulator restart starts them again from 1.
"""
import base64
import json
import sys
import threading
import time

DEFAULT_BATCH_SIZE = 10
DEFAULT_WAIT_MS = 5000
DEFAULT_RETRIES = 3
LEASE_SECONDS = 15 * 60   # a batch in delivery is invisible to every other reader for up to 15 minutes
TICK_SECONDS = 0.1


def _setting(settings, *names, default):
    for name in names:
        if settings.get(name) is not None:
            return settings[name]
    return default


class QueueConsumers:
    """Polls the consumers' queues; ``deliver(account_id, script_name, queue_name, messages)`` runs a
    batch and returns Miniflare's queue result ({outcome, ackAll, retryBatch, explicitAcks, retryMessages})
    or None when the batch could not be handed to the Worker (it is then offered again, no attempt counted)."""

    def __init__(self, store, deliver, enqueue):
        self.store = store
        self.deliver = deliver
        self.enqueue = enqueue      # enqueue(store, account_id, queue_name, body, content_type): the dead-letter write
        self._stop = threading.Event()
        self._busy = set()          # consumer ids with a batch in delivery
        self._busy_lock = threading.Lock()
        self._failures = {}         # message id -> failed deliveries
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._run, name="edge-queues", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()

    def _run(self):
        while not self._stop.wait(TICK_SECONDS):
            try:
                self._tick()
            except Exception as exc:  # noqa: BLE001 - a locked database now is fine a moment later
                sys.stderr.write("cfops edge: queue consumers: %s\n" % exc)

    def _ready(self, db, now):
        """The Worker consumers of queues with a visible message (a read: most ticks write nothing)."""
        waiting = {row[0] for row in db.execute("SELECT DISTINCT queue_id FROM queue_messages WHERE visible_at <= ?", (now,))}
        if not waiting:
            return []
        consumers = db.execute(
            "SELECT c.*, q.id AS queue_id, q.name AS queue_name, q.account_id, q.settings AS queue_settings "
            "FROM queue_consumers c JOIN queues q ON q.id = c.queue_id").fetchall()
        # Only push consumers (type "worker"; a pull consumer has no Worker to run).
        return [c for c in consumers if c["queue_id"] in waiting and c["script_name"]
                and (c["type"] if "type" in c.keys() else "worker") in (None, "", "worker")]

    def _tick(self):
        now = time.time()
        with self.store.read() as db:
            consumers = self._ready(db, now)
        for consumer in consumers:
            with self._busy_lock:
                if consumer["id"] in self._busy:
                    continue
            if json.loads(consumer["queue_settings"] or "{}").get("delivery_paused"):
                continue
            settings = json.loads(consumer["settings"] or "{}")
            size = int(_setting(settings, "batch_size", "max_batch_size", default=DEFAULT_BATCH_SIZE))
            wait_ms = _setting(settings, "max_wait_time_ms", default=None)
            if wait_ms is None:
                timeout = _setting(settings, "max_batch_timeout", default=None)
                wait_ms = DEFAULT_WAIT_MS if timeout is None else float(timeout) * 1000
            batch = self._claim(consumer, size, float(wait_ms) / 1000, now)
            if batch:
                with self._busy_lock:
                    self._busy.add(consumer["id"])
                threading.Thread(target=self._deliver, args=(consumer, settings, batch), name="edge-queue-batch",
                                 daemon=True).start()

    def _claim(self, consumer, size, wait_seconds, now):
        """The next batch when it is due, leased so no other reader takes it meanwhile."""
        with self.store.write() as db:
            rows = db.execute("SELECT id, body, content_type, enqueued_at, visible_at FROM queue_messages "
                              "WHERE queue_id = ? AND visible_at <= ? ORDER BY visible_at, enqueued_at, rowid LIMIT ?",
                              (consumer["queue_id"], now, size)).fetchall()
            if not rows or (len(rows) < size and now - rows[0]["visible_at"] < wait_seconds):
                return []
            db.executemany("UPDATE queue_messages SET visible_at = ? WHERE id = ?",
                           [(now + LEASE_SECONDS, row["id"]) for row in rows])
            return [dict(row) for row in rows]

    def _deliver(self, consumer, settings, batch):
        try:
            messages = [{"id": row["id"], "timestamp_ms": int(row["enqueued_at"] * 1000),
                         "body_b64": base64.b64encode(bytes(row["body"])).decode("ascii"),
                         "content_type": row["content_type"], "attempts": self._failures.get(row["id"], 0) + 1}
                        for row in batch]
            result = self.deliver(consumer["account_id"], consumer["script_name"], consumer["queue_name"], messages)
            self._settle(consumer, settings, batch, result)
        except Exception as exc:  # noqa: BLE001 - the batch is offered again; the loop keeps running
            sys.stderr.write("cfops edge: queue %s: delivery failed: %s\n" % (consumer["queue_name"], exc))
            self._release(batch, 0)
        finally:
            with self._busy_lock:
                self._busy.discard(consumer["id"])

    def _release(self, rows, delay):
        with self.store.write() as db:
            db.executemany("UPDATE queue_messages SET visible_at = ? WHERE id = ?",
                           [(time.time() + delay, row["id"]) for row in rows])

    def _settle(self, consumer, settings, batch, result):
        if result is None:  # not handed over (no deployment yet, a reload under way): try again shortly
            self._release(batch, 1)
            return
        acked = set(result.get("explicitAcks") or ())
        retried = {item["msgId"]: item.get("delaySeconds") for item in result.get("retryMessages") or ()}
        batch_retry = result.get("retryBatch") or {}
        retry_rest = not result.get("ackAll") and (result.get("outcome") != "ok" or batch_retry.get("retry"))
        default_delay = batch_retry.get("delaySeconds")
        if default_delay is None:
            default_delay = settings.get("retry_delay") or 0
        max_attempts = int(_setting(settings, "max_retries", default=DEFAULT_RETRIES)) + 1
        done, later, dead = [], [], []
        for row in batch:
            message_id = row["id"]
            # The first call on a message wins; a message-level call beats ackAll()/retryAll() and a throw.
            again = message_id in retried or (message_id not in acked and retry_rest)
            if not again:
                done.append(row)
                continue
            failures = self._failures.get(message_id, 0) + 1
            if failures < max_attempts:
                self._failures[message_id] = failures
                delay = retried.get(message_id)
                later.append((row, default_delay if delay is None else delay))
            else:
                dead.append(row)
        for row in dead:
            if consumer["dead_letter_queue"]:
                try:
                    self.enqueue(self.store, consumer["account_id"], consumer["dead_letter_queue"], bytes(row["body"]),
                                 row["content_type"])
                except LookupError as exc:
                    sys.stderr.write("cfops edge: dead-letter queue: %s\n" % exc)
        with self.store.write() as db:
            db.executemany("DELETE FROM queue_messages WHERE id = ?", [(row["id"],) for row in done + dead])
            db.executemany("UPDATE queue_messages SET visible_at = ? WHERE id = ?",
                           [(time.time() + float(delay), row["id"]) for row, delay in later])
        for row in done + dead:
            self._failures.pop(row["id"], None)
