"""D1: databases (each a real SQLite file under DATA_DIR/d1/), queries (``/query`` and ``/raw``), export.

Metadata lives in the emulator's state database; the data of database ``U`` is ``DATA_DIR/d1/U.sqlite3``.
Export follows Cloudflare's polling flow: the first ``POST .../export`` starts it (no ``status`` yet, an
``at_bookmark``); polling with ``current_bookmark`` completes it with a ``signed_url`` that the emulator
serves outside the API, under ``/__d1_exports/`` (see ``serve_export``).
"""
import hashlib
import hmac
import json
import os
import re
import sqlite3
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
CREATE TABLE IF NOT EXISTS d1_exports (
    bookmark TEXT PRIMARY KEY,
    database_uuid TEXT NOT NULL,
    filename TEXT NOT NULL,
    status TEXT NOT NULL,          -- running | complete
    options TEXT NOT NULL,         -- JSON dump_options
    created_at REAL NOT NULL
);
"""
RESOURCE_TABLES = ("d1_exports", "d1_databases")

# Error codes (see emulator/README.md: 7500 is the code D1 gives SQL errors; the others are from memory).
INVALID_REQUEST = 7400
DATABASE_NOT_FOUND = 7404
SQL_ERROR = 7500
DUPLICATE_NAME = 7502
EXPORT_NOT_FOUND = 7405

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-_]*$")
MAX_NAME_CHARS = 64
LOCATION_HINTS = ("wnam", "enam", "weur", "eeur", "apac", "oc")
JURISDICTIONS = ("eu", "fedramp")
EXPORTS_PREFIX = "/__d1_exports/"
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


def _sql_error(exc):
    return ApiError(400, SQL_ERROR, "%s: SQLITE_ERROR" % exc)


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
            raise ApiError(404, EXPORT_NOT_FOUND, "No export in progress for bookmark %s" % bookmark)
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


BASE = "/accounts/{account_id}/d1/database"
ROUTES = [
    Route("GET", BASE, list_databases),
    Route("POST", BASE, create_database),
    Route("GET", BASE + "/{database_id}", get_database),
    Route("DELETE", BASE + "/{database_id}", delete_database),
    Route("POST", BASE + "/{database_id}/query", query),
    Route("POST", BASE + "/{database_id}/raw", query_raw),
    Route("POST", BASE + "/{database_id}/export", export, read_only=True),  # starts a dump; changes nothing
]
