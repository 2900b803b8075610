"""R2: buckets through the v4 API (CORS, lifecycle) and the object storage the S3 endpoint serves.

Objects are files under DATA_DIR/r2/<bucket id>/ with one metadata row each in SQLite.  The object
functions at the end (``get_object``, ``put_object``, ``delete_object``, ``list_objects``) are the
stable interface of the storage (docs/dev/interfaces.md): the S3 endpoint (``emulator/s3.py``) and
the Worker runtime's R2 binding both go through them.
"""
import base64
import hashlib
import json
import os
import re
import shutil
import tempfile

from emulator.envelope import ApiError, ok
from emulator.routing import Route
from emulator.store import new_id, now_iso

SCHEMA = """
CREATE TABLE IF NOT EXISTS r2_buckets (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    jurisdiction TEXT NOT NULL,       -- default | eu | fedramp ...: separate name spaces, as in R2
    name TEXT NOT NULL,
    location TEXT NOT NULL,
    storage_class TEXT NOT NULL,
    creation_date TEXT NOT NULL,
    cors TEXT,                        -- JSON list of rules; NULL: no CORS policy
    lifecycle TEXT,                   -- JSON list of rules; NULL: the default rule set
    UNIQUE (account_id, jurisdiction, name)
);
CREATE TABLE IF NOT EXISTS r2_objects (
    bucket_id TEXT NOT NULL,
    key TEXT NOT NULL,                -- BINARY collation: keys list in UTF-8 byte order, as S3 lists them
    file TEXT NOT NULL,               -- file name below DATA_DIR/r2/<bucket id>/
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,               -- without quotes: md5 hex, or md5-of-md5s-N for multipart
    sha256 TEXT NOT NULL,             -- hex of the whole object (computed while storing)
    content_type TEXT,
    metadata TEXT NOT NULL,           -- JSON object of x-amz-meta-* (lower-case names)
    storage_class TEXT NOT NULL,
    uploaded TEXT NOT NULL,
    PRIMARY KEY (bucket_id, key)
);
CREATE TABLE IF NOT EXISTS r2_uploads (
    id TEXT PRIMARY KEY,
    bucket_id TEXT NOT NULL,
    key TEXT NOT NULL,
    content_type TEXT,
    metadata TEXT NOT NULL,
    initiated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS r2_parts (
    upload_id TEXT NOT NULL,
    part_number INTEGER NOT NULL,
    file TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    PRIMARY KEY (upload_id, part_number)
);
"""
RESOURCE_TABLES = ("r2_parts", "r2_uploads", "r2_objects", "r2_buckets")

# Error codes: 10005/10006 seen in wrangler output; the others are UNCONFIRMED (emulator/README.md).
BUCKET_EXISTS = 10004
INVALID_BUCKET_NAME = 10005
NO_SUCH_BUCKET = 10006
BUCKET_NOT_EMPTY = 10008
INVALID_BODY = 10040
NO_CORS = 10059
INVALID_LOCATION = 10085
INVALID_STORAGE_CLASS = 10086
INVALID_JURISDICTION = 10087

BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
LOCATIONS = ("apac", "eeur", "enam", "weur", "wnam", "oc")
STORAGE_CLASSES = ("Standard", "InfrequentAccess")
JURISDICTIONS = ("default", "eu", "fedramp")
DEFAULT_LOCATION = "enam"
CORS_METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")
CHUNK = 1024 * 1024


class StorageError(Exception):
    """An object-level failure the callers map to their own error format (S3 XML, JS exceptions)."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def valid_bucket_name(name):
    return isinstance(name, str) and BUCKET_NAME.match(name) is not None


# Buckets -------------------------------------------------------------------------------------------------

def bucket_view(row):
    return {"name": row["name"], "creation_date": row["creation_date"], "location": row["location"],
            "storage_class": row["storage_class"], "jurisdiction": row["jurisdiction"]}


def _jurisdiction(req):
    value = (req.headers.get("cf-r2-jurisdiction") or "default").lower()
    if value not in JURISDICTIONS:
        raise ApiError(400, INVALID_JURISDICTION, "The jurisdiction %r is not valid; use one of %s"
                       % (value, ", ".join(JURISDICTIONS)))
    return value


def find_bucket(db, account_id, name, jurisdiction=None):
    """The bucket row (any jurisdiction when ``jurisdiction`` is None, the default one first) or None."""
    if jurisdiction is not None:
        return db.execute("SELECT * FROM r2_buckets WHERE account_id = ? AND jurisdiction = ? AND name = ?",
                          (account_id, jurisdiction, name)).fetchone()
    return db.execute("SELECT * FROM r2_buckets WHERE account_id = ? AND name = ? "
                      "ORDER BY jurisdiction != 'default', jurisdiction LIMIT 1", (account_id, name)).fetchone()


def bucket_exists(db, account_id, bucket_name):
    """True when the account has a bucket of that name (used by Worker bindings)."""
    return find_bucket(db, account_id, bucket_name) is not None


def _bucket(db, req):
    row = find_bucket(db, req.account_id, req.params["bucket_name"], _jurisdiction(req))
    if row is None:
        raise ApiError(404, NO_SUCH_BUCKET, "The specified bucket does not exist.")
    return row


def list_buckets(req):
    per_page = req.int_arg("per_page", 20, minimum=1, maximum=1000)
    start_after = req.arg("cursor") or req.arg("start_after") or ""
    descending = (req.arg("direction") or "asc").lower() == "desc"
    contains = req.arg("name_contains") or ""
    with req.store.read() as db:
        rows = db.execute("SELECT * FROM r2_buckets WHERE account_id = ? AND jurisdiction = ? AND instr(name, ?) > 0 "
                          "ORDER BY name %s" % ("DESC" if descending else "ASC"),
                          (req.account_id, _jurisdiction(req), contains)).fetchall()
    if start_after:
        rows = [row for row in rows if (row["name"] < start_after if descending else row["name"] > start_after)]
    page = rows[:per_page]
    info = {"per_page": per_page}
    if len(rows) > per_page:
        info["cursor"] = page[-1]["name"]
    return ok({"buckets": [bucket_view(row) for row in page]}, info)


def create_bucket(req):
    body = req.json_object(INVALID_BODY)
    name = body.get("name")
    if not valid_bucket_name(name):
        raise ApiError(400, INVALID_BUCKET_NAME, "The specified bucket name is not valid.")
    location = body.get("locationHint") or DEFAULT_LOCATION
    if not isinstance(location, str) or location.lower() not in LOCATIONS:
        raise ApiError(400, INVALID_LOCATION, "The location hint %r is not valid; use one of %s"
                       % (location, ", ".join(LOCATIONS)))
    storage_class = body.get("storageClass") or "Standard"
    if storage_class not in STORAGE_CLASSES:
        raise ApiError(400, INVALID_STORAGE_CLASS, "The storage class %r is not valid; use one of %s"
                       % (storage_class, ", ".join(STORAGE_CLASSES)))
    jurisdiction = _jurisdiction(req)
    with req.store.write() as db:
        if find_bucket(db, req.account_id, name, jurisdiction) is not None:
            raise ApiError(409, BUCKET_EXISTS, "The bucket you tried to create already exists, and you own it.")
        bucket_id = new_id()
        db.execute("INSERT INTO r2_buckets (id, account_id, jurisdiction, name, location, storage_class, creation_date) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (bucket_id, req.account_id, jurisdiction, name, location.lower(), storage_class, now_iso()))
        row = db.execute("SELECT * FROM r2_buckets WHERE id = ?", (bucket_id,)).fetchone()
    return ok(bucket_view(row))


def get_bucket(req):
    with req.store.read() as db:
        return ok(bucket_view(_bucket(db, req)))


def delete_bucket(req):
    with req.store.write() as db:
        row = _bucket(db, req)
        if db.execute("SELECT 1 FROM r2_objects WHERE bucket_id = ? LIMIT 1", (row["id"],)).fetchone():
            raise ApiError(409, BUCKET_NOT_EMPTY, "The bucket you tried to delete (%s) is not empty (account %s)."
                           % (row["name"], req.account_id))
        _drop_uploads(db, row["id"])
        db.execute("DELETE FROM r2_buckets WHERE id = ?", (row["id"],))
    shutil.rmtree(_bucket_dir(req.store, row["id"]), ignore_errors=True)
    return ok({})


# CORS and lifecycle ----------------------------------------------------------------------------------------

def _invalid(message):
    return ApiError(400, INVALID_BODY, message)


def _string_list(value, where, allowed=None):
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _invalid("%s must be a list of strings" % where)
    for item in value:
        if allowed is not None and item not in allowed:
            raise _invalid("%s: %r is not one of %s" % (where, item, ", ".join(allowed)))
    return value


def validate_cors_rules(rules):
    if not isinstance(rules, list):
        raise _invalid("rules must be a list")
    for index, rule in enumerate(rules):
        where = "rules[%d]" % index
        if not isinstance(rule, dict) or not isinstance(rule.get("allowed"), dict):
            raise _invalid("%s.allowed is required" % where)
        allowed = rule["allowed"]
        _string_list(allowed.get("methods"), where + ".allowed.methods", CORS_METHODS)
        _string_list(allowed.get("origins"), where + ".allowed.origins")
        if "headers" in allowed:
            _string_list(allowed["headers"], where + ".allowed.headers")
        if "exposeHeaders" in rule:
            _string_list(rule["exposeHeaders"], where + ".exposeHeaders")
        max_age = rule.get("maxAgeSeconds")
        if max_age is not None and (isinstance(max_age, bool) or not isinstance(max_age, (int, float))
                                    or not 0 <= max_age <= 86400):
            raise _invalid("%s.maxAgeSeconds must be a number from 0 to 86400" % where)
    return rules


def _condition(value, where, kinds=("Age", "Date")):
    if not isinstance(value, dict) or value.get("type") not in kinds:
        raise _invalid("%s.type must be one of %s" % (where, ", ".join(kinds)))
    if value["type"] == "Age" and (isinstance(value.get("maxAge"), bool) or not isinstance(value.get("maxAge"), int)
                                   or value["maxAge"] < 0):
        raise _invalid("%s.maxAge must be a number of seconds" % where)
    if value["type"] == "Date" and not isinstance(value.get("date"), str):
        raise _invalid("%s.date must be an ISO 8601 date" % where)


def validate_lifecycle_rules(rules):
    if not isinstance(rules, list):
        raise _invalid("rules must be a list")
    seen = set()
    for index, rule in enumerate(rules):
        where = "rules[%d]" % index
        if not isinstance(rule, dict) or not isinstance(rule.get("id"), str) or not rule["id"]:
            raise _invalid("%s.id is required" % where)
        if rule["id"] in seen:
            raise _invalid("%s.id %r is used twice" % (where, rule["id"]))
        seen.add(rule["id"])
        if not isinstance(rule.get("enabled"), bool):
            raise _invalid("%s.enabled must be true or false" % where)
        if not isinstance(rule.get("conditions"), dict) or not isinstance(rule["conditions"].get("prefix"), str):
            raise _invalid("%s.conditions.prefix is required (an empty string for every object)" % where)
        if "deleteObjectsTransition" in rule:
            _condition((rule["deleteObjectsTransition"] or {}).get("condition"), where + ".deleteObjectsTransition.condition")
        if "abortMultipartUploadsTransition" in rule:
            _condition((rule["abortMultipartUploadsTransition"] or {}).get("condition"),
                       where + ".abortMultipartUploadsTransition.condition", ("Age",))
        for position, transition in enumerate(rule.get("storageClassTransitions") or []):
            inner = "%s.storageClassTransitions[%d]" % (where, position)
            if not isinstance(transition, dict) or transition.get("storageClass") != "InfrequentAccess":
                raise _invalid("%s.storageClass must be InfrequentAccess" % inner)
            _condition(transition.get("condition"), inner + ".condition")
    return rules


# R2's default lifecycle: abort incomplete multipart uploads after 7 days (UNCONFIRMED wording of the id).
DEFAULT_LIFECYCLE = [{"id": "Default Multipart Abort Rule", "enabled": True, "conditions": {"prefix": ""},
                      "abortMultipartUploadsTransition": {"condition": {"type": "Age", "maxAge": 604800}}}]


def get_cors(req):
    with req.store.read() as db:
        row = _bucket(db, req)
    if row["cors"] is None:
        raise ApiError(404, NO_CORS, "The CORS configuration does not exist.")
    return ok({"rules": json.loads(row["cors"])})


def put_cors(req):
    rules = validate_cors_rules(req.json_object(INVALID_BODY).get("rules", []))
    with req.store.write() as db:
        row = _bucket(db, req)
        db.execute("UPDATE r2_buckets SET cors = ? WHERE id = ?", (json.dumps(rules) if rules else None, row["id"]))
    return ok({})


def delete_cors(req):
    with req.store.write() as db:
        row = _bucket(db, req)
        db.execute("UPDATE r2_buckets SET cors = NULL WHERE id = ?", (row["id"],))
    return ok({})


def get_lifecycle(req):
    with req.store.read() as db:
        row = _bucket(db, req)
    return ok({"rules": DEFAULT_LIFECYCLE if row["lifecycle"] is None else json.loads(row["lifecycle"])})


def put_lifecycle(req):
    rules = validate_lifecycle_rules(req.json_object(INVALID_BODY).get("rules", []))
    with req.store.write() as db:
        row = _bucket(db, req)
        db.execute("UPDATE r2_buckets SET lifecycle = ? WHERE id = ?", (json.dumps(rules), row["id"]))
    return ok({})


BASE = "/accounts/{account_id}/r2/buckets"
ROUTES = [
    Route("GET", BASE, list_buckets),
    Route("POST", BASE, create_bucket),
    Route("GET", BASE + "/{bucket_name}", get_bucket),
    Route("DELETE", BASE + "/{bucket_name}", delete_bucket),
    Route("GET", BASE + "/{bucket_name}/cors", get_cors),
    Route("PUT", BASE + "/{bucket_name}/cors", put_cors),
    Route("DELETE", BASE + "/{bucket_name}/cors", delete_cors),
    Route("GET", BASE + "/{bucket_name}/lifecycle", get_lifecycle),
    Route("PUT", BASE + "/{bucket_name}/lifecycle", put_lifecycle),
]


# Object storage --------------------------------------------------------------------------------------------

def storage_dir(store):
    return os.path.join(os.path.dirname(store.path), "r2")


def _bucket_dir(store, bucket_id):
    return os.path.join(storage_dir(store), bucket_id)


def object_path(store, row):
    """The file holding an object (``row`` from ``get_object``/``list_objects``)."""
    return os.path.join(_bucket_dir(store, row["bucket_id"]), row["file"])


def object_view(row):
    view = dict(row)
    view["metadata"] = json.loads(row["metadata"])
    return view


class Digests:
    """md5, sha256 and crc32 of a stream, fed chunk by chunk."""

    def __init__(self):
        import zlib
        self._zlib = zlib
        self.md5 = hashlib.md5()
        self.sha256 = hashlib.sha256()
        self.crc32 = 0
        self.size = 0

    def update(self, chunk):
        self.md5.update(chunk)
        self.sha256.update(chunk)
        self.crc32 = self._zlib.crc32(chunk, self.crc32)
        self.size += len(chunk)

    def checksums(self):
        """The base64 values S3 uses in x-amz-checksum-* headers and Content-MD5."""
        return {"md5": base64.b64encode(self.md5.digest()).decode(),
                "sha256": base64.b64encode(self.sha256.digest()).decode(),
                "crc32": base64.b64encode(self.crc32.to_bytes(4, "big")).decode()}


def spool(store, chunks, directory=None):
    """Write an iterable of byte chunks to a new file in the storage; ``(file path, Digests)``."""
    directory = directory or os.path.join(storage_dir(store), "incoming")
    os.makedirs(directory, exist_ok=True)
    digests = Digests()
    handle, path = tempfile.mkstemp(dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in chunks:
                digests.update(chunk)
                out.write(chunk)
    except BaseException:
        os.unlink(path)
        raise
    return path, digests


def _writable_bucket(db, account_id, bucket_name):
    bucket = find_bucket(db, account_id, bucket_name)
    if bucket is None:
        raise StorageError("NoSuchBucket", "The specified bucket does not exist.")
    return bucket


def commit_object(store, account_id, bucket_name, key, spooled_path, size, etag, sha256_hex,
                  content_type=None, metadata=None):
    """Move a spooled file into a bucket as ``key`` (replacing any object there); the object row."""
    with store.write() as db:
        bucket = _writable_bucket(db, account_id, bucket_name)
        directory = _bucket_dir(store, bucket["id"])
        os.makedirs(directory, exist_ok=True)
        file_name = new_id()
        os.replace(spooled_path, os.path.join(directory, file_name))
        old = db.execute("SELECT file FROM r2_objects WHERE bucket_id = ? AND key = ?", (bucket["id"], key)).fetchone()
        db.execute("INSERT OR REPLACE INTO r2_objects (bucket_id, key, file, size, etag, sha256, content_type, metadata, "
                   "storage_class, uploaded) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (bucket["id"], key, file_name, size, etag, sha256_hex, content_type,
                    json.dumps(metadata or {}, sort_keys=True), bucket["storage_class"], now_iso()))
        row = db.execute("SELECT * FROM r2_objects WHERE bucket_id = ? AND key = ?", (bucket["id"], key)).fetchone()
    if old is not None:
        _unlink(os.path.join(directory, old["file"]))
    return object_view(row)


def put_object(store, account_id, bucket_name, key, data, content_type=None, metadata=None):
    """Store ``data`` (bytes, or an iterable of byte chunks) as ``key``; the object row as a dict.

    Raises ``StorageError("NoSuchBucket")`` when the bucket does not exist."""
    chunks = [data] if isinstance(data, (bytes, bytearray)) else data
    path, digests = spool(store, chunks)
    try:
        return commit_object(store, account_id, bucket_name, key, path, digests.size, digests.md5.hexdigest(),
                             digests.sha256.hexdigest(), content_type, metadata)
    except BaseException:
        _unlink(path)
        raise


def get_object(store, account_id, bucket_name, key):
    """The object row as a dict (``path`` is its file, read it in chunks) or None; NoSuchBucket raises."""
    with store.read() as db:
        bucket = _writable_bucket(db, account_id, bucket_name)
        row = db.execute("SELECT * FROM r2_objects WHERE bucket_id = ? AND key = ?", (bucket["id"], key)).fetchone()
    if row is None:
        return None
    view = object_view(row)
    view["path"] = object_path(store, row)
    return view


def delete_object(store, account_id, bucket_name, key):
    """Delete ``key``; True when it existed.  Deleting a missing key is not an error (as in S3 and R2)."""
    with store.write() as db:
        bucket = _writable_bucket(db, account_id, bucket_name)
        row = db.execute("SELECT file FROM r2_objects WHERE bucket_id = ? AND key = ?", (bucket["id"], key)).fetchone()
        if row is not None:
            db.execute("DELETE FROM r2_objects WHERE bucket_id = ? AND key = ?", (bucket["id"], key))
    if row is not None:
        _unlink(os.path.join(_bucket_dir(store, bucket["id"]), row["file"]))
    return row is not None


def list_objects(store, account_id, bucket_name, prefix="", start_after="", limit=1000, delimiter=""):
    """``(objects, common_prefixes, truncated, last_key)`` in key order after ``start_after``.

    ``last_key`` is where the next page starts (``start_after`` of the next call) when truncated."""
    objects, prefixes, last = [], [], None
    with store.read() as db:
        bucket = _writable_bucket(db, account_id, bucket_name)
        cursor = start_after
        while True:
            rows = db.execute("SELECT * FROM r2_objects WHERE bucket_id = ? AND key > ? AND substr(key, 1, ?) = ? "
                              "ORDER BY key LIMIT ?", (bucket["id"], cursor, len(prefix), prefix, limit + 1)).fetchall()
            if not rows:
                return objects, prefixes, False, last
            for row in rows:
                if len(objects) + len(prefixes) == limit:
                    return objects, prefixes, True, last
                key = row["key"]
                rest = key[len(prefix):]
                if delimiter and delimiter in rest:
                    common = prefix + rest.split(delimiter, 1)[0] + delimiter
                    if not prefixes or prefixes[-1] != common:
                        prefixes.append(common)
                    last = common
                    cursor = common + "\U0010ffff"  # skip every key below the common prefix
                    break
                objects.append(object_view(row))
                last = cursor = key
            else:
                if len(rows) <= limit:
                    return objects, prefixes, False, last


def _drop_uploads(db, bucket_id):
    uploads = [row["id"] for row in db.execute("SELECT id FROM r2_uploads WHERE bucket_id = ?", (bucket_id,))]
    for upload_id in uploads:
        db.execute("DELETE FROM r2_parts WHERE upload_id = ?", (upload_id,))
    db.execute("DELETE FROM r2_uploads WHERE bucket_id = ?", (bucket_id,))


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
