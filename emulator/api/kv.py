"""Workers KV: namespaces, keys (cursor paged), values, metadata and the bulk endpoints."""
import base64
import binascii
import json
import time

from emulator.api.paging import direction_arg, page_window, paginate
from emulator.envelope import ApiError, ok, raw
from emulator.routing import Route
from emulator.store import new_id, now_iso

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv_namespaces (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    title TEXT NOT NULL,
    created_on TEXT NOT NULL,
    UNIQUE (account_id, title)
);
CREATE TABLE IF NOT EXISTS kv_entries (
    namespace_id TEXT NOT NULL,
    key TEXT NOT NULL,          -- BINARY collation orders keys by their UTF-8 bytes, as KV lists them
    value BLOB NOT NULL,
    metadata TEXT,              -- JSON; NULL when the key has none
    expiration INTEGER,         -- epoch seconds; NULL: never expires
    PRIMARY KEY (namespace_id, key)
);
CREATE INDEX IF NOT EXISTS kv_entries_expiring ON kv_entries (namespace_id, expiration) WHERE expiration IS NOT NULL;
"""
RESOURCE_TABLES = ("kv_entries", "kv_namespaces")

# Error codes (Cloudflare's KV codes where known; see emulator/README.md).
KEY_NOT_FOUND = 10009
INVALID_BODY = 10011
NAMESPACE_NOT_FOUND = 10013
DUPLICATE_TITLE = 10014
INVALID_TITLE = 10019
INVALID_KEY = 10020
KEY_TOO_LONG = 10022
VALUE_TOO_LARGE = 10024
METADATA_TOO_LARGE = 10030
BULK_TOO_LARGE = 10031
INVALID_EXPIRATION = 10033

# Limits (https://developers.cloudflare.com/kv/platform/limits/).
MAX_KEY_BYTES = 512
MAX_VALUE_BYTES = 25 * 1024 * 1024
MAX_METADATA_BYTES = 1024
MIN_TTL_SECONDS = 60
MAX_BULK_ITEMS = 10_000
MAX_BULK_BYTES = 100 * 1000 * 1000
MAX_BULK_GET_KEYS = 100
MAX_TITLE_CHARS = 512


# Namespaces ----------------------------------------------------------------------------------------

def namespace_view(row):
    return {"id": row["id"], "title": row["title"], "supports_url_encoding": True}


def namespace_exists(db, account_id, namespace_id):
    """True when ``namespace_id`` is a KV namespace of the account (used by Worker bindings)."""
    return db.execute("SELECT 1 FROM kv_namespaces WHERE id = ? AND account_id = ?",
                      (namespace_id, account_id)).fetchone() is not None


def _namespace(db, req):
    row = db.execute("SELECT * FROM kv_namespaces WHERE id = ? AND account_id = ?",
                     (req.params["namespace_id"], req.account_id)).fetchone()
    if row is None:
        raise ApiError(404, NAMESPACE_NOT_FOUND, "namespace not found")
    return row


def _title(req):
    title = req.json_object(INVALID_BODY).get("title")
    if not isinstance(title, str) or not title.strip():
        raise ApiError(400, INVALID_TITLE, "a namespace title is required")
    if len(title) > MAX_TITLE_CHARS:
        raise ApiError(400, INVALID_TITLE, "a namespace title may be at most %d characters" % MAX_TITLE_CHARS)
    return title


def _title_taken(db, account_id, title, except_id=""):
    return db.execute("SELECT 1 FROM kv_namespaces WHERE account_id = ? AND title = ? AND id != ?",
                      (account_id, title, except_id)).fetchone() is not None


def list_namespaces(req):
    # The 2024 schema says per_page <= 100, but wrangler's "kv namespace list" sends per_page=1000 through the
    # SDK (kv/index.ts) and the live API takes it: accept up to 1000 (fidelity/kv.yml).
    page, per_page = page_window(req, 20, 5, 1000)
    order = "id" if req.arg("order") == "id" else "title"
    direction = "DESC" if direction_arg(req) == "desc" else "ASC"
    with req.store.read() as db:
        rows = db.execute("SELECT * FROM kv_namespaces WHERE account_id = ? ORDER BY %s %s, id %s"
                          % (order, direction, direction), (req.account_id,)).fetchall()
    chunk, info = paginate([namespace_view(row) for row in rows], page, per_page)
    return ok(chunk, info)


def create_namespace(req):
    title = _title(req)
    with req.store.write() as db:
        if _title_taken(db, req.account_id, title):
            raise ApiError(400, DUPLICATE_TITLE, "a namespace with this account ID and title already exists")
        namespace_id = new_id()
        db.execute("INSERT INTO kv_namespaces (id, account_id, title, created_on) VALUES (?, ?, ?, ?)",
                   (namespace_id, req.account_id, title, now_iso()))
        row = db.execute("SELECT * FROM kv_namespaces WHERE id = ?", (namespace_id,)).fetchone()
    return ok(namespace_view(row))


def get_namespace(req):
    with req.store.read() as db:
        return ok(namespace_view(_namespace(db, req)))


def rename_namespace(req):
    title = _title(req)
    with req.store.write() as db:
        row = _namespace(db, req)
        if _title_taken(db, req.account_id, title, except_id=row["id"]):
            raise ApiError(400, DUPLICATE_TITLE, "a namespace with this account ID and title already exists")
        db.execute("UPDATE kv_namespaces SET title = ? WHERE id = ?", (title, row["id"]))
        row = db.execute("SELECT * FROM kv_namespaces WHERE id = ?", (row["id"],)).fetchone()
    return ok(namespace_view(row))


def delete_namespace(req):
    with req.store.write() as db:
        row = _namespace(db, req)
        db.execute("DELETE FROM kv_entries WHERE namespace_id = ?", (row["id"],))
        db.execute("DELETE FROM kv_namespaces WHERE id = ?", (row["id"],))
    return ok({})


# Keys, values, metadata ------------------------------------------------------------------------------

def _check_key(key, too_long_status=414):
    if not key:
        raise ApiError(400, INVALID_KEY, "key names may not be empty")
    if key in (".", ".."):
        raise ApiError(400, INVALID_KEY, "Illegal key name %r: '.' and '..' are not allowed" % key)
    size = len(key.encode("utf-8"))
    if size > MAX_KEY_BYTES:
        raise ApiError(too_long_status, KEY_TOO_LONG,
                       "UTF-8 encoded length of %d exceeds key length limit of %d." % (size, MAX_KEY_BYTES))


def _check_value(value):
    if len(value) > MAX_VALUE_BYTES:
        raise ApiError(413, VALUE_TOO_LARGE, "Value length of %d exceeds limit of %d." % (len(value), MAX_VALUE_BYTES))


def _metadata_json(metadata):
    """Serialized metadata (None when absent), size checked."""
    if metadata is None:
        return None
    text = json.dumps(metadata, separators=(",", ":"))
    size = len(text.encode("utf-8"))
    if size > MAX_METADATA_BYTES:
        raise ApiError(413, METADATA_TOO_LARGE, "Metadata length of %d exceeds limit of %d." % (size, MAX_METADATA_BYTES))
    return text


def _number(value, name):
    if value is None or value == "":
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        raise ApiError(400, INVALID_EXPIRATION, "Invalid %s of %r. Please specify an integer." % (name, value))


def _expiration(expiration, expiration_ttl, now):
    """Absolute expiry in epoch seconds (None: never).  ``expiration_ttl`` wins over ``expiration``."""
    ttl = _number(expiration_ttl, "expiration_ttl")
    if ttl is not None:
        if ttl < MIN_TTL_SECONDS:
            raise ApiError(400, INVALID_EXPIRATION,
                           "Invalid expiration_ttl of %d. Expiration TTL must be at least %d." % (ttl, MIN_TTL_SECONDS))
        return now + ttl
    absolute = _number(expiration, "expiration")
    if absolute is not None and absolute < now + MIN_TTL_SECONDS:
        raise ApiError(400, INVALID_EXPIRATION,
                       "Invalid expiration of %d. Expiration times must be at least %d seconds in the future."
                       % (absolute, MIN_TTL_SECONDS))
    return absolute


def _purge_expired(db, namespace_id, now):
    db.execute("DELETE FROM kv_entries WHERE namespace_id = ? AND expiration IS NOT NULL AND expiration <= ?",
               (namespace_id, now))


def _live_entry(db, namespace_id, key, now):
    return db.execute("SELECT * FROM kv_entries WHERE namespace_id = ? AND key = ? "
                      "AND (expiration IS NULL OR expiration > ?)", (namespace_id, key, now)).fetchone()


def _key_not_found():
    return ApiError(404, KEY_NOT_FOUND, "get: 'key not found'")


def _upsert(db, rows):
    db.executemany("INSERT INTO kv_entries (namespace_id, key, value, metadata, expiration) VALUES (?, ?, ?, ?, ?) "
                   "ON CONFLICT(namespace_id, key) DO UPDATE SET value = excluded.value, "
                   "metadata = excluded.metadata, expiration = excluded.expiration", rows)


def _prefix_upper_bound(prefix):
    """The smallest string greater than every string starting with ``prefix`` (None: unbounded)."""
    chars = list(prefix)
    while chars:
        code = ord(chars.pop()) + 1
        if 0xD800 <= code <= 0xDFFF:  # surrogates cannot be stored as UTF-8
            code = 0xE000
        if code <= 0x10FFFF:
            return "".join(chars) + chr(code)
    return None


def _encode_cursor(key):
    return base64.urlsafe_b64encode(key.encode("utf-8")).decode("ascii").rstrip("=")


def _decode_cursor(cursor):
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(400, INVALID_BODY, "Invalid cursor %r" % cursor)


def list_keys(req):
    limit = req.int_arg("limit", 1000, minimum=10, maximum=1000)
    prefix = req.arg("prefix") or ""
    cursor = req.arg("cursor") or ""
    now = int(time.time())
    clauses, args = ["namespace_id = ?", "(expiration IS NULL OR expiration > ?)"], [None, now]
    if prefix:
        clauses.append("key >= ?")
        args.append(prefix)
        upper = _prefix_upper_bound(prefix)
        if upper is not None:
            clauses.append("key < ?")
            args.append(upper)
    if cursor:
        clauses.append("key > ?")
        args.append(_decode_cursor(cursor))
    with req.store.read() as db:
        args[0] = _namespace(db, req)["id"]
        rows = db.execute("SELECT key, metadata, expiration FROM kv_entries WHERE %s ORDER BY key LIMIT ?"
                          % " AND ".join(clauses), args + [limit + 1]).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    result = []
    for row in rows:
        item = {"name": row["key"]}
        if row["expiration"] is not None:
            item["expiration"] = row["expiration"]
        if row["metadata"] is not None:
            item["metadata"] = json.loads(row["metadata"])
        result.append(item)
    next_cursor = _encode_cursor(rows[-1]["key"]) if more else ""
    return ok(result, {"count": len(result), "cursor": next_cursor})


def get_value(req):
    key = req.params["key_name"]
    _check_key(key)
    with req.store.read() as db:
        namespace = _namespace(db, req)
        row = _live_entry(db, namespace["id"], key, int(time.time()))
    if row is None:
        raise _key_not_found()
    headers = {"Expiration": str(row["expiration"])} if row["expiration"] is not None else {}
    return raw(bytes(row["value"]), "application/octet-stream", headers)


def get_metadata(req):
    key = req.params["key_name"]
    _check_key(key)
    with req.store.read() as db:
        namespace = _namespace(db, req)
        row = _live_entry(db, namespace["id"], key, int(time.time()))
    if row is None:
        raise _key_not_found()
    return ok(json.loads(row["metadata"]) if row["metadata"] is not None else None)


def put_value(req):
    key = req.params["key_name"]
    _check_key(key)
    metadata = None
    if req.media_type == "multipart/form-data":
        parts = {part.name: part for part in req.parts(INVALID_BODY)}
        if "value" not in parts:
            raise ApiError(400, INVALID_BODY, "the multipart body needs a 'value' part")
        value = parts["value"].data
        if "metadata" in parts and parts["metadata"].data.strip():
            try:
                metadata = json.loads(parts["metadata"].data)
            except ValueError:
                raise ApiError(400, INVALID_BODY, "the 'metadata' part is not valid JSON")
    else:
        value = req.body
    _check_value(value)
    metadata_json = _metadata_json(metadata)
    now = int(time.time())
    expiration = _expiration(req.arg("expiration"), req.arg("expiration_ttl"), now)
    with req.store.write() as db:
        namespace = _namespace(db, req)
        _purge_expired(db, namespace["id"], now)
        _upsert(db, [(namespace["id"], key, value, metadata_json, expiration)])
    return ok({})


def delete_value(req):
    key = req.params["key_name"]
    _check_key(key)
    with req.store.write() as db:
        namespace = _namespace(db, req)
        db.execute("DELETE FROM kv_entries WHERE namespace_id = ? AND key = ?", (namespace["id"], key))
    return ok({})


# Bulk ----------------------------------------------------------------------------------------------------

def _bulk_body(req):
    if len(req.body) >= MAX_BULK_BYTES:
        raise ApiError(413, BULK_TOO_LARGE, "the request body is %d bytes; bulk requests must be under %d bytes"
                       % (len(req.body), MAX_BULK_BYTES))
    items = req.json(INVALID_BODY)
    if not isinstance(items, list):
        raise ApiError(400, INVALID_BODY, "the request body must be a JSON array")
    if len(items) > MAX_BULK_ITEMS:
        raise ApiError(413, BULK_TOO_LARGE, "%d items in one bulk request; the limit is %d" % (len(items), MAX_BULK_ITEMS))
    return items


def _bulk_row(namespace_id, index, item, now):
    if not isinstance(item, dict):
        raise ApiError(400, INVALID_BODY, "bulk item %d must be an object" % index)
    key, value = item.get("key"), item.get("value")
    if not isinstance(key, str):
        raise ApiError(400, INVALID_BODY, "bulk item %d: 'key' must be a string" % index)
    if not isinstance(value, str):
        raise ApiError(400, INVALID_BODY, "bulk item %d (%r): 'value' must be a string" % (index, key))
    _check_key(key, too_long_status=400)
    if item.get("base64"):
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, INVALID_BODY, "bulk item %d (%r): 'value' is not valid base64" % (index, key))
    else:
        data = value.encode("utf-8")
    _check_value(data)
    metadata_json = _metadata_json(item.get("metadata"))
    expiration = _expiration(item.get("expiration"), item.get("expiration_ttl"), now)
    return (namespace_id, key, data, metadata_json, expiration)


def bulk_write(req):
    items = _bulk_body(req)
    now = int(time.time())
    with req.store.write() as db:
        namespace = _namespace(db, req)
        rows = [_bulk_row(namespace["id"], index, item, now) for index, item in enumerate(items)]
        _purge_expired(db, namespace["id"], now)
        _upsert(db, rows)
    return ok({"successful_key_count": len(rows), "unsuccessful_keys": []})


def bulk_delete(req):
    keys = _bulk_body(req)
    for index, key in enumerate(keys):
        if not isinstance(key, str):
            raise ApiError(400, INVALID_BODY, "bulk delete item %d must be a key name (string)" % index)
    with req.store.write() as db:
        namespace = _namespace(db, req)
        db.executemany("DELETE FROM kv_entries WHERE namespace_id = ? AND key = ?",
                       [(namespace["id"], key) for key in keys])
    return ok({"successful_key_count": len(keys), "unsuccessful_keys": []})


def bulk_get(req):
    body = req.json_object(INVALID_BODY)
    keys = body.get("keys")
    if not isinstance(keys, list) or not keys or not all(isinstance(key, str) for key in keys):
        raise ApiError(400, INVALID_BODY, "'keys' must be a non-empty array of key names")
    if len(keys) > MAX_BULK_GET_KEYS:
        raise ApiError(400, INVALID_BODY, "at most %d keys per bulk get, got %d" % (MAX_BULK_GET_KEYS, len(keys)))
    kind = body.get("type", "text")
    if kind not in ("text", "json"):
        raise ApiError(400, INVALID_BODY, "'type' must be 'text' or 'json'")
    with_metadata = bool(body.get("withMetadata", False))
    now = int(time.time())
    values = {}
    with req.store.read() as db:
        namespace = _namespace(db, req)
        for key in keys:
            row = _live_entry(db, namespace["id"], key, now)
            if row is None:
                values[key] = None
                continue
            value = _decoded(bytes(row["value"]), kind, key)
            if with_metadata:
                entry = {"value": value, "metadata": json.loads(row["metadata"]) if row["metadata"] else None}
                if row["expiration"] is not None:
                    entry["expiration"] = row["expiration"]
                values[key] = entry
            else:
                values[key] = value
    return ok({"values": values})


def _decoded(data, kind, key):
    text = data.decode("utf-8", "replace")
    if kind == "text":
        return text
    try:
        return json.loads(text)
    except ValueError:
        raise ApiError(400, INVALID_BODY, "the value of key %r is not valid JSON" % key)


BASE = "/accounts/{account_id}/storage/kv/namespaces"
ROUTES = [
    Route("GET", BASE, list_namespaces),
    Route("POST", BASE, create_namespace),
    Route("GET", BASE + "/{namespace_id}", get_namespace),
    Route("PUT", BASE + "/{namespace_id}", rename_namespace),
    Route("DELETE", BASE + "/{namespace_id}", delete_namespace),
    Route("GET", BASE + "/{namespace_id}/keys", list_keys),
    Route("GET", BASE + "/{namespace_id}/values/{key_name}", get_value),
    Route("PUT", BASE + "/{namespace_id}/values/{key_name}", put_value),
    Route("DELETE", BASE + "/{namespace_id}/values/{key_name}", delete_value),
    Route("GET", BASE + "/{namespace_id}/metadata/{key_name}", get_metadata),
    Route("PUT", BASE + "/{namespace_id}/bulk", bulk_write),
    Route("DELETE", BASE + "/{namespace_id}/bulk", bulk_delete),
    Route("POST", BASE + "/{namespace_id}/bulk/delete", bulk_delete),
    Route("POST", BASE + "/{namespace_id}/bulk/get", bulk_get, read_only=True),
]
