"""Queues: queues (name, settings), their Worker consumers, and an in-state message store.

Shapes follow the SDK (``cloudflare/types/queues/queue.py``, ``consumer.py``): a queue is
``{queue_id, queue_name, created_on, modified_on, producers, producers_total_count, consumers,
consumers_total_count, settings {delivery_delay, delivery_paused, message_retention_period}}``.
A consumer object names its Worker ``script``, as the live API does (Terraform's
``internal/services/queue_consumer/custom.go``; wrangler's ``queues/client.ts`` matches ``script`` or
``service``), although requests name it ``script_name``.  The list takes wrangler's ``?name=`` (repeatable)
and ``page``.  Evidence for every route and code: ``emulator/fidelity/queues.yml``.
"""
import json
import re
import time

from emulator.api import workers_model
from emulator.api.paging import page_window, paginate
from emulator.envelope import ApiError, ok
from emulator.routing import Route
from emulator.store import new_id, now_iso

SCHEMA = """
CREATE TABLE IF NOT EXISTS queues (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    name TEXT NOT NULL,
    settings TEXT NOT NULL,        -- JSON
    created_on TEXT NOT NULL,
    modified_on TEXT NOT NULL,
    UNIQUE (account_id, name)
);
CREATE TABLE IF NOT EXISTS queue_consumers (
    id TEXT PRIMARY KEY,
    queue_id TEXT NOT NULL REFERENCES queues(id) ON DELETE CASCADE,
    script_name TEXT NOT NULL,
    dead_letter_queue TEXT NOT NULL,
    settings TEXT NOT NULL,        -- JSON
    created_on TEXT NOT NULL,
    UNIQUE (queue_id, script_name)
);
CREATE TABLE IF NOT EXISTS queue_messages (
    id TEXT PRIMARY KEY,
    queue_id TEXT NOT NULL REFERENCES queues(id) ON DELETE CASCADE,
    body BLOB NOT NULL,
    content_type TEXT NOT NULL,
    enqueued_at REAL NOT NULL,
    visible_at REAL NOT NULL
);
"""
RESOURCE_TABLES = ("queue_messages", "queue_consumers", "queues")

# Error codes (emulator/fidelity/queues.yml: chosen here, marked assumptions there).
INVALID_REQUEST = 11001
QUEUE_NOT_FOUND = 11000
QUEUE_EXISTS = 11009
CONSUMER_NOT_FOUND = 11005
CONSUMER_EXISTS = 11007
INVALID_NAME = 11003

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$|^[a-z0-9]$")
DEFAULT_QUEUE_SETTINGS = {"delivery_delay": 0, "delivery_paused": False, "message_retention_period": 345600}
QUEUE_SETTING_LIMITS = {"delivery_delay": (0, 43200), "message_retention_period": (60, 1209600)}
DEFAULT_CONSUMER_SETTINGS = {"batch_size": 10, "max_retries": 3, "max_wait_time_ms": 5000, "max_concurrency": None,
                             "retry_delay": 0}
CONSUMER_SETTING_LIMITS = {"batch_size": (1, 100), "max_retries": (0, 100), "max_wait_time_ms": (0, 60000),
                           "max_concurrency": (1, 250), "retry_delay": (0, 43200)}


def queue_exists(db, account_id, queue_name):
    """True when the account has a queue named ``queue_name`` (used by Worker bindings)."""
    return db.execute("SELECT 1 FROM queues WHERE account_id = ? AND name = ?",
                      (account_id, queue_name)).fetchone() is not None


def enqueue_message(store, account_id, queue_name, body, content_type="json", delay_seconds=0):
    """Put one message on a queue (the edge runtime's ``env.QUEUE.send``); returns its id.

    ``body`` is bytes (or str); raises ``LookupError`` when the queue does not exist.
    """
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    now = time.time()
    with store.write() as db:
        row = db.execute("SELECT id, settings FROM queues WHERE account_id = ? AND name = ?",
                         (account_id, queue_name)).fetchone()
        if row is None:
            raise LookupError("queue %r does not exist in account %s" % (queue_name, account_id))
        delay = max(delay_seconds, json.loads(row["settings"]).get("delivery_delay") or 0)
        message_id = new_id()
        db.execute("INSERT INTO queue_messages (id, queue_id, body, content_type, enqueued_at, visible_at) "
                   "VALUES (?, ?, ?, ?, ?, ?)", (message_id, row["id"], data, content_type, now, now + delay))
    return message_id


def _number_settings(given, limits, where):
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise ApiError(400, INVALID_REQUEST, "%s must be an object" % where)
    checked = {}
    for name, value in given.items():
        if name not in limits:
            if name == "delivery_paused" and isinstance(value, bool):
                checked[name] = value
                continue
            raise ApiError(400, INVALID_REQUEST, "%s.%s is not a known setting" % (where, name))
        if value is None and name == "max_concurrency":
            checked[name] = None
            continue
        low, high = limits[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise ApiError(400, INVALID_REQUEST, "%s.%s must be a number from %d to %d, got %r" % (where, name, low, high, value))
        checked[name] = int(value) if float(value).is_integer() else value
    return checked


# Queues --------------------------------------------------------------------------------------------------

def _consumer_view(row, queue_name):
    # ``script``, not ``script_name``: the request field and the response field differ on the live API.
    return {"consumer_id": row["id"], "queue_name": queue_name, "script": row["script_name"], "type": "worker",
            "dead_letter_queue": row["dead_letter_queue"], "settings": json.loads(row["settings"]),
            "created_on": row["created_on"]}


def _queue_view(db, row):
    consumers = [_consumer_view(c, row["name"]) for c in
                 db.execute("SELECT * FROM queue_consumers WHERE queue_id = ? ORDER BY created_on, id", (row["id"],))]
    return {"queue_id": row["id"], "queue_name": row["name"], "created_on": row["created_on"],
            "modified_on": row["modified_on"], "producers": [], "producers_total_count": 0,
            "consumers": consumers, "consumers_total_count": len(consumers), "settings": json.loads(row["settings"])}


def _queue(db, req):
    row = db.execute("SELECT * FROM queues WHERE id = ? AND account_id = ?",
                     (req.params["queue_id"], req.account_id)).fetchone()
    if row is None:
        raise ApiError(404, QUEUE_NOT_FOUND, "Queue does not exist")
    return row


def _queue_name(name):
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ApiError(400, INVALID_NAME, "Queue name %r is invalid: use 1 to 63 lowercase letters, digits and dashes, "
                       "starting and ending with a letter or digit" % (name,))
    return name


def list_queues(req):
    page, per_page = page_window(req, 100, 1, 1000)
    names = [name for name in req.query.get("name", []) if name]  # wrangler: ?name=a&name=b, exact names
    with req.store.read() as db:
        rows = db.execute("SELECT * FROM queues WHERE account_id = ? ORDER BY name", (req.account_id,)).fetchall()
        views = [_queue_view(db, row) for row in rows if not names or row["name"] in names]
    chunk, info = paginate(views, page, per_page)
    return ok(chunk, info)


def create_queue(req):
    body = req.json_object(INVALID_REQUEST)
    name = _queue_name(body.get("queue_name"))
    settings = dict(DEFAULT_QUEUE_SETTINGS, **_number_settings(body.get("settings"), QUEUE_SETTING_LIMITS, "settings"))
    with req.store.write() as db:
        if queue_exists(db, req.account_id, name):
            raise ApiError(409, QUEUE_EXISTS, "A queue with name %s already exists" % name)
        queue_id, stamp = new_id(), now_iso()
        db.execute("INSERT INTO queues (id, account_id, name, settings, created_on, modified_on) VALUES (?, ?, ?, ?, ?, ?)",
                   (queue_id, req.account_id, name, json.dumps(settings), stamp, stamp))
        return ok(_queue_view(db, db.execute("SELECT * FROM queues WHERE id = ?", (queue_id,)).fetchone()))


def get_queue(req):
    with req.store.read() as db:
        return ok(_queue_view(db, _queue(db, req)))


def _update_queue(req, replace):
    body = req.json_object(INVALID_REQUEST)
    with req.store.write() as db:
        row = _queue(db, req)
        name = _queue_name(body["queue_name"]) if "queue_name" in body else row["name"]
        if name != row["name"] and queue_exists(db, req.account_id, name):
            raise ApiError(409, QUEUE_EXISTS, "A queue with name %s already exists" % name)
        base = DEFAULT_QUEUE_SETTINGS if replace else json.loads(row["settings"])
        settings = dict(base, **_number_settings(body.get("settings"), QUEUE_SETTING_LIMITS, "settings"))
        db.execute("UPDATE queues SET name = ?, settings = ?, modified_on = ? WHERE id = ?",
                   (name, json.dumps(settings), now_iso(), row["id"]))
        return ok(_queue_view(db, db.execute("SELECT * FROM queues WHERE id = ?", (row["id"],)).fetchone()))


def put_queue(req):
    return _update_queue(req, replace=True)


def patch_queue(req):
    return _update_queue(req, replace=False)


def delete_queue(req):
    with req.store.write() as db:
        row = _queue(db, req)
        db.execute("DELETE FROM queue_messages WHERE queue_id = ?", (row["id"],))
        db.execute("DELETE FROM queue_consumers WHERE queue_id = ?", (row["id"],))
        db.execute("DELETE FROM queues WHERE id = ?", (row["id"],))
    return ok(None)


# Consumers -----------------------------------------------------------------------------------------------

def _consumer_fields(db, req, body, current=None):
    consumer_type = body.get("type", "worker")
    if consumer_type != "worker":
        raise ApiError(400, INVALID_REQUEST, "Only consumers of type 'worker' are supported here, got %r" % consumer_type)
    script_name = body.get("script_name", current["script_name"] if current else None)
    if not isinstance(script_name, str) or not script_name:
        raise ApiError(400, INVALID_REQUEST, "script_name is required for a worker consumer")
    if workers_model.find_script(db, req.account_id, script_name) is None:
        # Cloudflare refuses a consumer whose Worker has no queue() handler (11001, "Queue handler is missing");
        # a Worker that does not exist has none (emulator/fidelity/queues.yml, queue-consumer-needs-its-worker).
        raise ApiError(400, INVALID_REQUEST, "Queue handler is missing: Worker %s does not exist on this account. Please see "
                       "our docs for more information about creating handlers: "
                       "https://developers.cloudflare.com/queues/configuration/javascript-apis/#consumer." % script_name)
    dead_letter_queue = body.get("dead_letter_queue") or ""  # PUT replaces: an omitted one is removed
    if dead_letter_queue and not queue_exists(db, req.account_id, dead_letter_queue):
        raise ApiError(404, QUEUE_NOT_FOUND, "Dead letter queue %s does not exist" % dead_letter_queue)
    settings = dict(DEFAULT_CONSUMER_SETTINGS, **_number_settings(body.get("settings"), CONSUMER_SETTING_LIMITS, "settings"))
    return script_name, dead_letter_queue, settings


def list_consumers(req):
    with req.store.read() as db:
        row = _queue(db, req)
        consumers = [_consumer_view(c, row["name"]) for c in
                     db.execute("SELECT * FROM queue_consumers WHERE queue_id = ? ORDER BY created_on, id", (row["id"],))]
    return ok(consumers, {"page": 1, "per_page": len(consumers), "count": len(consumers),
                          "total_count": len(consumers), "total_pages": 1})


def create_consumer(req):
    body = req.json_object(INVALID_REQUEST)
    with req.store.write() as db:
        row = _queue(db, req)
        script_name, dead_letter_queue, settings = _consumer_fields(db, req, body)
        if db.execute("SELECT 1 FROM queue_consumers WHERE queue_id = ? AND script_name = ?",
                      (row["id"], script_name)).fetchone():
            raise ApiError(409, CONSUMER_EXISTS, "Worker %s is already a consumer of queue %s" % (script_name, row["name"]))
        consumer_id = new_id()
        db.execute("INSERT INTO queue_consumers (id, queue_id, script_name, dead_letter_queue, settings, created_on) "
                   "VALUES (?, ?, ?, ?, ?, ?)", (consumer_id, row["id"], script_name, dead_letter_queue,
                                                 json.dumps(settings), now_iso()))
        consumer = db.execute("SELECT * FROM queue_consumers WHERE id = ?", (consumer_id,)).fetchone()
        return ok(_consumer_view(consumer, row["name"]))


def _consumer(db, req, queue_row):
    consumer = db.execute("SELECT * FROM queue_consumers WHERE id = ? AND queue_id = ?",
                          (req.params["consumer_id"], queue_row["id"])).fetchone()
    if consumer is None:
        raise ApiError(404, CONSUMER_NOT_FOUND, "Consumer does not exist")
    return consumer


def get_consumer(req):
    with req.store.read() as db:
        row = _queue(db, req)
        return ok(_consumer_view(_consumer(db, req, row), row["name"]))


def update_consumer(req):
    body = req.json_object(INVALID_REQUEST)
    with req.store.write() as db:
        row = _queue(db, req)
        consumer = _consumer(db, req, row)
        script_name, dead_letter_queue, settings = _consumer_fields(db, req, body, consumer)
        db.execute("UPDATE queue_consumers SET script_name = ?, dead_letter_queue = ?, settings = ? WHERE id = ?",
                   (script_name, dead_letter_queue, json.dumps(settings), consumer["id"]))
        consumer = db.execute("SELECT * FROM queue_consumers WHERE id = ?", (consumer["id"],)).fetchone()
        return ok(_consumer_view(consumer, row["name"]))


def delete_consumer(req):
    with req.store.write() as db:
        row = _queue(db, req)
        consumer = _consumer(db, req, row)
        db.execute("DELETE FROM queue_consumers WHERE id = ?", (consumer["id"],))
    return ok(None)


BASE = "/accounts/{account_id}/queues"
ROUTES = [
    Route("GET", BASE, list_queues),
    Route("POST", BASE, create_queue),
    Route("GET", BASE + "/{queue_id}", get_queue),
    Route("PUT", BASE + "/{queue_id}", put_queue),
    Route("PATCH", BASE + "/{queue_id}", patch_queue),
    Route("DELETE", BASE + "/{queue_id}", delete_queue),
    Route("GET", BASE + "/{queue_id}/consumers", list_consumers),
    Route("POST", BASE + "/{queue_id}/consumers", create_consumer),
    Route("GET", BASE + "/{queue_id}/consumers/{consumer_id}", get_consumer),
    Route("PUT", BASE + "/{queue_id}/consumers/{consumer_id}", update_consumer),
    Route("DELETE", BASE + "/{queue_id}/consumers/{consumer_id}", delete_consumer),
]
