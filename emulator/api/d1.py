"""D1: databases (each a real SQLite file under DATA_DIR/d1/), queries (``/query`` and ``/raw``), export, import.

Metadata lives in the emulator's state database; the data of database ``U`` is ``DATA_DIR/d1/U.sqlite3``.
Export follows Cloudflare's polling flow: the first ``POST .../export`` starts it (no ``status`` yet, an
``at_bookmark``); polling with ``current_bookmark`` completes it with a ``signed_url`` that the emulator
serves outside the API, under ``/__d1_exports/`` (see ``serve_export``).
Import is the flow wrangler's ``d1 execute --remote --file`` drives (``d1/execute.ts``): ``init`` with the
file's MD5 answers ``{filename, upload_url}`` (or, when that file is already uploaded, starts it), the client
PUTs the file to ``upload_url`` (R2's presigned URL on Cloudflare; here a signed URL into the emulator's S3
endpoint, ``/r2-s3/__d1_imports/<filename>``, which streams it to ``DATA_DIR/d1/imports/``), ``ingest``
starts the import and ``poll`` follows it. The whole file runs in one transaction: a failure leaves the
database as it was. Statements are limited to 100,000 bytes, in ``/query`` and in imports.
Evidence for every route and code: ``emulator/fidelity/d1.yml``.
"""
import hashlib
import hmac
import json
import os
import re
import sqlite3
import tempfile
import threading
import time
import uuid

from emulator.api.paging import page_window, paginate
from emulator.envelope import ApiError, ok, raw
from emulator.routing import Route
from emulator.store import new_id, now_iso

SCHEMA = """
CREATE TABLE IF NOT EXISTS d1_databases (
    uuid TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    name TEXT NOT NULL,
    primary_location_hint TEXT,
    jurisdiction TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (account_id, name)
);
CREATE TABLE IF NOT EXISTS d1_imports (
    bookmark TEXT PRIMARY KEY,
    database_uuid TEXT NOT NULL,
    filename TEXT NOT NULL,
    status TEXT NOT NULL,          -- active | complete | error
    outcome TEXT,                  -- JSON: the ``result`` of a complete import
    error TEXT,
    messages TEXT NOT NULL,        -- JSON list of log lines not yet given to a poll
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS d1_exports (
    bookmark TEXT PRIMARY KEY,
    database_uuid TEXT NOT NULL,
    filename TEXT NOT NULL,
    status TEXT NOT NULL,          -- running | complete
    options TEXT NOT NULL,         -- JSON dump_options
    created_at REAL NOT NULL
);
"""
RESOURCE_TABLES = ("d1_imports", "d1_exports", "d1_databases")

# Error codes (emulator/fidelity/d1.yml: 7500 is the code D1 gives SQL errors; the others are assumptions).
INVALID_REQUEST = 7400
DATABASE_NOT_FOUND = 7404
SQL_ERROR = 7500
DUPLICATE_NAME = 7502
BOOKMARK_NOT_FOUND = 7405        # an export or import polled with a bookmark the database does not have

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-_]*$")
MAX_NAME_CHARS = 64
LOCATION_HINTS = ("wnam", "enam", "weur", "eeur", "apac", "oc")
JURISDICTIONS = ("eu", "fedramp")
EXPORTS_PREFIX = "/__d1_exports/"
IMPORT_UPLOADS = "__d1_imports"  # the first segment after /r2-s3/ of an import's upload URL (emulator/s3.py)
MAX_STATEMENT_BYTES = 100000     # developers.cloudflare.com/d1/platform/limits: "Maximum SQL statement length"
IMPORT_WAIT_SECONDS = 1.0        # ingest and poll wait this long for the import to finish before answering
# Signs the export URLs; a random key per process, as a real signed URL stops working eventually.
_SIGNING_KEY = os.urandom(16)


# Files -----------------------------------------------------------------------------------------------

def _data_dir(store):
    return os.path.join(os.path.dirname(store.path), "d1")


def database_path(store, account_id, database_id):
    """File path of the SQLite database behind D1 database ``database_id`` (None when it does not exist).

    Stable interface: the edge runtime's D1 binding shim opens this file.
    """
    with store.read() as db:
        if not database_exists(db, account_id, database_id):
            return None
    return os.path.join(_data_dir(store), "%s.sqlite3" % database_id)


def database_exists(db, account_id, database_id):
    """True when ``database_id`` is a D1 database of the account (used by Worker bindings)."""
    return db.execute("SELECT 1 FROM d1_databases WHERE uuid = ? AND account_id = ?",
                      (database_id, account_id)).fetchone() is not None


def _open(store, database_uuid):
    os.makedirs(_data_dir(store), exist_ok=True)
    connection = sqlite3.connect(os.path.join(_data_dir(store), "%s.sqlite3" % database_uuid),
                                 timeout=30, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA foreign_keys=ON")
    return connection


# Databases ---------------------------------------------------------------------------------------------

def _database(db, req):
    database_id = req.params["database_id"]
    row = db.execute("SELECT * FROM d1_databases WHERE uuid = ? AND account_id = ?",
                     (database_id, req.account_id)).fetchone()
    if row is None:
        raise ApiError(404, DATABASE_NOT_FOUND, "The database %s could not be found" % database_id)
    return row


def _file_facts(store, database_uuid):
    path = os.path.join(_data_dir(store), "%s.sqlite3" % database_uuid)
    if not os.path.exists(path):
        return 0, 0
    connection = sqlite3.connect(path)
    try:
        tables = connection.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                                    "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").fetchone()[0]
    finally:
        connection.close()
    return tables, os.path.getsize(path)


def database_view(store, row, detail=True):
    view = {"uuid": row["uuid"], "name": row["name"], "created_at": row["created_at"], "version": "production"}
    if detail:
        view["num_tables"], view["file_size"] = _file_facts(store, row["uuid"])
        if row["jurisdiction"]:
            view["jurisdiction"] = row["jurisdiction"]
    return view


def list_databases(req):
    page, per_page = page_window(req, 1000, 10, 10000)
    name = req.arg("name")
    with req.store.read() as db:
        rows = db.execute("SELECT * FROM d1_databases WHERE account_id = ? ORDER BY created_at, uuid",
                          (req.account_id,)).fetchall()
    if name:
        rows = [row for row in rows if row["name"] == name]
    chunk, info = paginate([database_view(req.store, row) for row in rows], page, per_page)
    return ok(chunk, info)


def create_database(req):
    body = req.json_object(INVALID_REQUEST)
    name = body.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.match(name) or len(name) > MAX_NAME_CHARS:
        raise ApiError(400, INVALID_REQUEST,
                       "Invalid database name %r: names are 1 to %d lowercase letters, digits, '-' and '_', "
                       "starting with a letter or digit" % (name, MAX_NAME_CHARS))
    hint = body.get("primary_location_hint")
    if hint is not None and hint not in LOCATION_HINTS:
        raise ApiError(400, INVALID_REQUEST, "Invalid primary_location_hint %r; one of %s" % (hint, ", ".join(LOCATION_HINTS)))
    jurisdiction = body.get("jurisdiction")
    if jurisdiction is not None and jurisdiction not in JURISDICTIONS:
        raise ApiError(400, INVALID_REQUEST, "Invalid jurisdiction %r; one of %s" % (jurisdiction, ", ".join(JURISDICTIONS)))
    database_uuid = str(uuid.uuid4())
    with req.store.write() as db:
        if db.execute("SELECT 1 FROM d1_databases WHERE account_id = ? AND name = ?", (req.account_id, name)).fetchone():
            raise ApiError(400, DUPLICATE_NAME, "A database with that name already exists")
        db.execute("INSERT INTO d1_databases (uuid, account_id, name, primary_location_hint, jurisdiction, created_at) "
                   "VALUES (?, ?, ?, ?, ?, ?)", (database_uuid, req.account_id, name, hint, jurisdiction, now_iso()))
        _open(req.store, database_uuid).close()
        row = db.execute("SELECT * FROM d1_databases WHERE uuid = ?", (database_uuid,)).fetchone()
    return ok(database_view(req.store, row))


def get_database(req):
    with req.store.read() as db:
        row = _database(db, req)
    return ok(database_view(req.store, row))


def delete_database(req):
    with req.store.write() as db:
        row = _database(db, req)
        db.execute("DELETE FROM d1_exports WHERE database_uuid = ?", (row["uuid"],))
        db.execute("DELETE FROM d1_imports WHERE database_uuid = ?", (row["uuid"],))
        db.execute("DELETE FROM d1_databases WHERE uuid = ?", (row["uuid"],))
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = os.path.join(_data_dir(req.store), "%s.sqlite3%s" % (row["uuid"], suffix))
        if os.path.exists(path):
            os.remove(path)
    return ok(None)


# Queries --------------------------------------------------------------------------------------------------

def split_statements(sql):
    """The SQL statements in ``sql`` (semicolons inside quotes, comments and trigger bodies kept)."""
    statements, current, index, length = [], [], 0, len(sql)
    while index < length:
        char = sql[index]
        if char in "'\"`[":
            close = "]" if char == "[" else char
            end = sql.find(close, index + 1)
            while end != -1 and close != "]" and sql[end + 1:end + 2] == close:
                end = sql.find(close, end + 2)  # doubled quote
            end = length - 1 if end == -1 else end
            current.append(sql[index:end + 1])
            index = end + 1
        elif sql.startswith("--", index):
            end = sql.find("\n", index)
            end = length if end == -1 else end
            current.append(sql[index:end])
            index = end
        elif sql.startswith("/*", index):
            end = sql.find("*/", index + 2)
            end = length if end == -1 else end + 2
            current.append(sql[index:end])
            index = end
        elif char == ";":
            current.append(";")
            index += 1
            text = "".join(current)
            if sqlite3.complete_statement(text):  # false inside CREATE TRIGGER ... BEGIN ...; END;
                statements.append(text)
                current = []
        else:
            current.append(char)
            index += 1
    statements.append("".join(current))
    return [statement.strip() for statement in statements if _has_code(statement)]


def _has_code(statement):
    without_comments = re.sub(r"--[^\n]*|/\*.*?\*/", "", statement, flags=re.S)
    return without_comments.strip(" \t\r\n;") != ""


def _result_code(exc):
    """SQLite's primary result code name, as D1 ends its messages (``...: SQLITE_CONSTRAINT``)."""
    name = getattr(exc, "sqlite_errorname", None) or "SQLITE_ERROR"
    return "_".join(name.split("_")[:2])


def _sql_error(exc):
    return ApiError(400, SQL_ERROR, "%s: %s" % (exc, _result_code(exc)))


def _statement_too_long():
    # The wording D1 gives (workerd#3049: "statement too long: SQLITE_TOOBIG", code 7500 in workers-sdk#2367).
    return ApiError(400, SQL_ERROR, "statement too long: SQLITE_TOOBIG")


def _check_length(statement):
    if len(statement.encode("utf-8")) > MAX_STATEMENT_BYTES:
        raise _statement_too_long()


def _query_body(req):
    body = req.json_object(INVALID_REQUEST)
    sql = body.get("sql")
    if not isinstance(sql, str) or not sql.strip():
        raise ApiError(400, INVALID_REQUEST, "A request to /query or /raw needs 'sql', a non-empty string")
    params = body.get("params") or []
    if not isinstance(params, list):
        raise ApiError(400, INVALID_REQUEST, "'params' must be an array")
    statements = split_statements(sql)
    if not statements:
        raise ApiError(400, SQL_ERROR, "No SQL statements detected.")
    for statement in statements:
        _check_length(statement)
    if params and len(statements) > 1:
        raise ApiError(400, SQL_ERROR, "A prepared SQL statement must contain only one statement.")
    return statements, params


def run_statements(connection, statements, params=()):
    """Run ``statements`` in one transaction (all or nothing, as D1 runs a request's batch).

    Returns ``[(columns, rows, meta)]``; raises ``sqlite3.Error`` after rolling back.
    """
    outcomes = []
    connection.execute("BEGIN")
    try:
        for statement in statements:
            started = time.monotonic()
            before = connection.total_changes
            schema_before = connection.execute("PRAGMA schema_version").fetchone()[0]
            cursor = connection.execute(statement, list(params))
            rows = cursor.fetchall()
            columns = [column[0] for column in cursor.description or ()]
            changes = connection.total_changes - before
            schema_changed = connection.execute("PRAGMA schema_version").fetchone()[0] != schema_before
            meta = {
                "changed_db": changes > 0 or schema_changed,
                "changes": changes,
                "duration": round((time.monotonic() - started) * 1000, 3),
                "last_row_id": cursor.lastrowid or 0,
                "rows_read": len(rows),
                "rows_written": changes,
            }
            outcomes.append((columns, rows, meta))
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return outcomes


def _json_value(value):
    # Blobs come back as arrays of byte values, as D1 returns them.
    return list(value) if isinstance(value, bytes) else value


def _execute(req, shape):
    statements, params = _query_body(req)
    with req.store.read() as db:
        row = _database(db, req)
    connection = _open(req.store, row["uuid"])
    try:
        outcomes = run_statements(connection, statements, params)
        size_after = os.path.getsize(os.path.join(_data_dir(req.store), "%s.sqlite3" % row["uuid"]))
    except sqlite3.Error as exc:
        raise _sql_error(exc) from None
    finally:
        connection.close()
    results = []
    for columns, rows, meta in outcomes:
        meta["size_after"] = size_after
        if shape == "raw":
            data = {"columns": columns, "rows": [[_json_value(v) for v in r] for r in rows]}
        else:
            data = [{column: _json_value(value) for column, value in zip(columns, r)} for r in rows]
        results.append({"results": data, "success": True, "meta": meta})
    return ok(results)


def query(req):
    return _execute(req, "query")


def query_raw(req):
    return _execute(req, "raw")


# Export ----------------------------------------------------------------------------------------------------

def _signature(bookmark):
    return hmac.new(_SIGNING_KEY, bookmark.encode("ascii"), hashlib.sha256).hexdigest()


def _exports_dir(store):
    return os.path.join(_data_dir(store), "exports")


_STATEMENT_TABLE = re.compile(r'^(?:CREATE TABLE (?:IF NOT EXISTS )?|INSERT INTO |DELETE FROM )"?([^"( ]+)"?', re.I)


def dump_sql(connection, out, options=None):
    """Write an SQL dump (D1's export shape: no BEGIN/COMMIT, ``PRAGMA defer_foreign_keys``) to ``out``.

    ``options``: D1's ``dump_options`` (``no_data``, ``no_schema``, ``tables``).
    """
    options = options or {}
    tables = set(options.get("tables") or ())
    out.write("PRAGMA defer_foreign_keys=TRUE;\n")
    for statement in connection.iterdump():
        if statement in ("BEGIN TRANSACTION;", "COMMIT;"):
            continue
        is_data = statement.startswith(("INSERT INTO", "DELETE FROM"))
        if (is_data and options.get("no_data")) or (not is_data and options.get("no_schema")):
            continue
        if tables:
            match = _STATEMENT_TABLE.match(statement)
            if match is None or match.group(1) not in tables:
                continue
        out.write(statement + "\n")


def export(req):
    body = req.json_object(INVALID_REQUEST)
    if body.get("output_format") != "polling":
        raise ApiError(400, INVALID_REQUEST, "output_format must be 'polling'")
    bookmark = body.get("current_bookmark")
    with req.store.write() as db:
        row = _database(db, req)
        if not bookmark:
            bookmark = new_id()
            filename = "%s-%s.sql" % (row["name"], bookmark[:8])
            options = body.get("dump_options") or {}
            if not isinstance(options, dict):
                raise ApiError(400, INVALID_REQUEST, "dump_options must be an object")
            db.execute("INSERT INTO d1_exports (bookmark, database_uuid, filename, status, options, created_at) "
                       "VALUES (?, ?, ?, 'running', ?, ?)",
                       (bookmark, row["uuid"], filename, json.dumps(options), time.time()))
            # In progress: no ``status`` (the schema's enum has only complete|error).
            return ok({"type": "export", "success": True, "at_bookmark": bookmark,
                       "messages": ["Generating %s" % filename]})
        job = db.execute("SELECT * FROM d1_exports WHERE bookmark = ? AND database_uuid = ?",
                         (bookmark, row["uuid"])).fetchone()
        if job is None:
            raise ApiError(404, BOOKMARK_NOT_FOUND, "No export in progress for bookmark %s" % bookmark)
        if job["status"] != "complete":
            os.makedirs(_exports_dir(req.store), exist_ok=True)
            connection = _open(req.store, row["uuid"])
            try:
                with open(os.path.join(_exports_dir(req.store), bookmark + ".sql"), "w", encoding="utf-8") as out:
                    dump_sql(connection, out, json.loads(job["options"]))
            finally:
                connection.close()
            db.execute("UPDATE d1_exports SET status = 'complete' WHERE bookmark = ?", (bookmark,))
    host = req.headers.get("Host") or "127.0.0.1"
    url = "http://%s%s%s/%s?signature=%s" % (host, EXPORTS_PREFIX, bookmark, job["filename"], _signature(bookmark))
    return ok({"type": "export", "success": True, "status": "complete", "at_bookmark": bookmark,
               "messages": ["Export complete"], "result": {"filename": job["filename"], "signed_url": url}})


def serve_export(store, path, query):
    """The response for ``GET /__d1_exports/{bookmark}/{filename}?signature=...`` (the signed URL)."""
    parts = path[len(EXPORTS_PREFIX):].split("/")
    bookmark = parts[0]
    signature = (query.get("signature") or [""])[-1]
    dump = os.path.join(_exports_dir(store), bookmark + ".sql")
    if not re.fullmatch(r"[0-9a-f]{32}", bookmark) or not hmac.compare_digest(signature, _signature(bookmark)):
        return raw(b"<Error><Code>AccessDenied</Code></Error>", "application/xml", status=403)
    if not os.path.exists(dump):
        return raw(b"<Error><Code>NoSuchKey</Code></Error>", "application/xml", status=404)
    with open(dump, "rb") as handle:
        return raw(handle.read(), "application/sql")


# Import -----------------------------------------------------------------------------------------------------

def _imports_dir(store):
    return os.path.join(_data_dir(store), "imports")


def import_file_path(store, filename):
    return os.path.join(_imports_dir(store), filename)


def _import_filename(database_uuid, etag):
    # "Derived from the database ID and etag, to use in avoiding repeated uploads" (the SDK's filename field).
    return "%s-%s.sql" % (database_uuid, etag)


def _file_md5(path):
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _etag(body):
    etag = body.get("etag")
    if not isinstance(etag, str) or not re.fullmatch(r"[0-9a-f]{32}", etag):
        raise ApiError(400, INVALID_REQUEST, "'etag' must be the MD5 hex digest of the SQL file")
    return etag


def receive_import_upload(store, filename, signature, chunks):
    """Store an upload to an import's signed URL; ``(status, md5 hex or error text)`` (used by emulator/s3.py)."""
    if not re.fullmatch(r"[0-9a-f-]{36}-[0-9a-f]{32}\.sql", filename) or \
            not hmac.compare_digest(signature, _signature(filename)):
        return 403, "AccessDenied"
    os.makedirs(_imports_dir(store), exist_ok=True)
    digest = hashlib.md5()
    handle, temp_path = tempfile.mkstemp(dir=_imports_dir(store), prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                out.write(chunk)
        os.replace(temp_path, import_file_path(store, filename))
    finally:
        if os.path.exists(temp_path):
            os.remove(temp_path)
    return 200, digest.hexdigest()


def _upload_url(req, filename):
    host = req.headers.get("Host") or "127.0.0.1"
    return "http://%s/r2-s3/%s/%s?signature=%s" % (host, IMPORT_UPLOADS, filename, _signature(filename))


def _import_view(row, messages):
    view = {"success": True, "type": "import", "at_bookmark": row["bookmark"], "messages": messages}
    if row["status"] == "complete":
        view.update(status="complete", result=json.loads(row["outcome"]))
    elif row["status"] == "error":
        # The SDK's model has ``error``; wrangler's d1/types.ts reads ``errors`` (a list): both are given.
        view.update(status="error", error=row["error"], errors=[row["error"]])
    # Still running: no ``status`` (the schema's enum has only complete|error; wrangler then polls again).
    return view


def _take_messages(store, bookmark):
    with store.write() as db:
        row = db.execute("SELECT * FROM d1_imports WHERE bookmark = ?", (bookmark,)).fetchone()
        db.execute("UPDATE d1_imports SET messages = '[]' WHERE bookmark = ?", (bookmark,))
    return row, json.loads(row["messages"])


def _wait_and_answer(store, bookmark):
    deadline = time.monotonic() + IMPORT_WAIT_SECONDS
    while True:
        with store.read() as db:
            status = db.execute("SELECT status FROM d1_imports WHERE bookmark = ?", (bookmark,)).fetchone()["status"]
        if status != "active" or time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    row, messages = _take_messages(store, bookmark)
    return ok(_import_view(row, messages))


def iter_file_statements(handle):
    """The statements of an SQL file, read line by line (a statement may span lines or share one)."""
    buffer = []
    for line in handle:
        buffer.append(line)
        if line.rstrip().endswith(";") and sqlite3.complete_statement("".join(buffer)):
            yield from split_statements("".join(buffer))
            buffer = []
    yield from split_statements("".join(buffer))


def _run_import(store, bookmark, database_uuid, path):
    """Run the file in one transaction and record the outcome (a thread of its own)."""
    started = time.monotonic()
    connection = _open(store, database_uuid)
    count = rows_read = 0
    try:
        before = connection.total_changes
        schema_before = connection.execute("PRAGMA schema_version").fetchone()[0]
        connection.execute("BEGIN IMMEDIATE")
        with open(path, encoding="utf-8") as handle:
            for statement in iter_file_statements(handle):
                if len(statement.encode("utf-8")) > MAX_STATEMENT_BYTES:
                    raise sqlite3.DataError("statement too long: SQLITE_TOOBIG")
                cursor = connection.execute(statement)
                rows_read += len(cursor.fetchall())
                count += 1
        last_row_id = connection.execute("SELECT last_insert_rowid()").fetchone()[0]
        connection.execute("COMMIT")
        changes = connection.total_changes - before
        changed_db = changes > 0 or connection.execute("PRAGMA schema_version").fetchone()[0] != schema_before
        size_after = os.path.getsize(os.path.join(_data_dir(store), "%s.sqlite3" % database_uuid))
        outcome = {"final_bookmark": new_id(), "num_queries": count,
                   "meta": {"served_by": "cfops-emulator", "duration": round((time.monotonic() - started) * 1000, 3),
                            "changes": changes, "last_row_id": last_row_id, "changed_db": changed_db,
                            "size_after": size_after, "rows_read": rows_read, "rows_written": changes}}
        status, error, message = "complete", None, "Import finished: %d queries executed" % count
    except (sqlite3.Error, UnicodeDecodeError, OSError) as exc:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        text = str(exc) if "SQLITE_" in str(exc) else "%s: %s" % (exc, _result_code(exc))
        outcome, status, error = None, "error", "%s (statement %d; nothing was applied)" % (text, count + 1)
        message = "Import failed; the database is unchanged"
    finally:
        connection.close()
    with store.write() as db:
        row = db.execute("SELECT messages FROM d1_imports WHERE bookmark = ?", (bookmark,)).fetchone()
        if row is not None:  # the database may have been deleted meanwhile
            db.execute("UPDATE d1_imports SET status = ?, outcome = ?, error = ?, messages = ? WHERE bookmark = ?",
                       (status, json.dumps(outcome) if outcome else None, error,
                        json.dumps(json.loads(row["messages"]) + [message]), bookmark))
    store.close()  # this thread's connection


def _start_import(db, database_row, filename):
    bookmark = new_id()
    db.execute("INSERT INTO d1_imports (bookmark, database_uuid, filename, status, messages, created_at) "
               "VALUES (?, ?, ?, 'active', ?, ?)",
               (bookmark, database_row["uuid"], filename, json.dumps(["Processing %s" % filename]), time.time()))
    return bookmark


def _launch(store, bookmark, database_uuid, filename):
    threading.Thread(target=_run_import, args=(store, bookmark, database_uuid, import_file_path(store, filename)),
                     name="d1-import-" + bookmark[:8], daemon=True).start()


def import_sql(req):
    body = req.json_object(INVALID_REQUEST)
    action = body.get("action")
    if action not in ("init", "ingest", "poll"):
        raise ApiError(400, INVALID_REQUEST, "'action' must be one of init, ingest, poll")
    with req.store.read() as db:
        database_row = _database(db, req)
    if action == "poll":
        bookmark = body.get("current_bookmark")
        with req.store.read() as db:
            job = db.execute("SELECT bookmark FROM d1_imports WHERE bookmark = ? AND database_uuid = ?",
                             (bookmark, database_row["uuid"])).fetchone() if isinstance(bookmark, str) else None
        if job is None:
            raise ApiError(404, BOOKMARK_NOT_FOUND, "No import in progress for bookmark %s" % bookmark)
        return _wait_and_answer(req.store, bookmark)
    etag = _etag(body)
    filename = _import_filename(database_row["uuid"], etag)
    path = import_file_path(req.store, filename)
    uploaded = os.path.exists(path) and _file_md5(path) == etag
    if action == "init" and not uploaded:
        return ok({"filename": filename, "upload_url": _upload_url(req, filename)})
    if action == "ingest":
        if body.get("filename") != filename:
            raise ApiError(400, INVALID_REQUEST, "'filename' must be the one init gave for this etag (%s)" % filename)
        if not uploaded:
            raise ApiError(400, INVALID_REQUEST, "%s was not uploaded, or its contents do not match the etag" % filename)
    # ingest, or init of a file uploaded before: the import starts now.
    with req.store.write() as db:
        bookmark = _start_import(db, database_row, filename)
    _launch(req.store, bookmark, database_row["uuid"], filename)
    return _wait_and_answer(req.store, bookmark)


BASE = "/accounts/{account_id}/d1/database"
ROUTES = [
    Route("GET", BASE, list_databases),
    Route("POST", BASE, create_database),
    Route("GET", BASE + "/{database_id}", get_database),
    Route("DELETE", BASE + "/{database_id}", delete_database),
    Route("POST", BASE + "/{database_id}/query", query),
    Route("POST", BASE + "/{database_id}/raw", query_raw),
    Route("POST", BASE + "/{database_id}/export", export, read_only=True),  # starts a dump; changes nothing
    Route("POST", BASE + "/{database_id}/import", import_sql),
]
