# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""D1 logic shared by the D1 modules: paths, names, resolving a database, SQL statements, import, export."""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import tempfile
import time

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError, build_path, parse_retry_after
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError

try:
    import httpx
except ImportError:  # reported by CloudflareModule.run()
    httpx = None

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-_]*$")
NAME_MAX_LENGTH = 64
LOCATION_HINTS = ["wnam", "enam", "weur", "eeur", "apac", "oc"]
JURISDICTIONS = ["eu", "fedramp"]
UUID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DATABASES_PER_PAGE = 10000
# developers.cloudflare.com/d1/platform/limits: "Maximum SQL statement length 100,000 bytes"; a query
# (one /query request) may run 30 seconds, so SQL files go through the import API as wrangler sends them.
MAX_STATEMENT_BYTES = 100000
IMPORT_TIMEOUT = 3600
IMPORT_POLL_INTERVAL = 1.0
SQLITE_HEADER = b"SQLite format 3"
READ_KEYWORDS = ("select", "explain", "values")
WRITE_WORDS = re.compile(r"\b(insert|update|delete|replace|create|drop|alter)\b", re.I)
COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
DOWNLOAD_CHUNK = 1024 * 1024


def databases_path(account_id, *rest):
    return build_path("accounts", account_id, "d1", "database", *rest)


def validate_name(name):
    if not name or len(name) > NAME_MAX_LENGTH or not NAME_PATTERN.match(name):
        raise InvalidInputError(
            "name %r is not a valid D1 database name: use 1 to %d lowercase letters, digits, '-' and '_', "
            "starting with a letter or digit" % (name, NAME_MAX_LENGTH))


def find_database(client, account_id, name):
    """The database named ``name`` (list with the ``name`` filter: one read), or None."""
    for database in client.list_pages(databases_path(account_id), params={"name": name}, per_page=DATABASES_PER_PAGE):
        if database.get("name") == name:
            return database
    return None


def resolve_database_id(client, account_id, database):
    """The uuid of ``database`` (a uuid is used as is; a name costs one read)."""
    if UUID_PATTERN.match(database):
        return database
    found = find_database(client, account_id, database)
    if found is None:
        raise InvalidInputError("no D1 database named %r in account %s (create it with cfops.cloudflare.d1_database)"
                                % (database, account_id))
    return found["uuid"]


def statement_is_read(statement):
    """Whether one SQL statement only reads (SELECT, EXPLAIN, VALUES, a PRAGMA query, a WITH ... SELECT)."""
    text = COMMENTS.sub(" ", statement).strip().lower()
    first = text.split(None, 1)[0] if text else ""
    if first in READ_KEYWORDS:
        return True
    if first == "pragma":
        return "=" not in text and "(" not in text.split(None, 1)[-1]
    if first == "with":
        return WRITE_WORDS.search(text) is None
    return False


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
    return [statement.strip() for statement in statements if has_sql(statement)]


def has_sql(statement):
    return COMMENTS.sub("", statement).strip(" \t\r\n;") != ""


def iter_statements(lines):
    """Complete SQL statements (or runs of them on one line) from an iterable of lines, streaming."""
    buffer = []
    for line in lines:
        buffer.append(line)
        if line.rstrip().endswith(";") and sqlite3.complete_statement("".join(buffer)):
            yield "".join(buffer)
            buffer = []
    rest = "".join(buffer)
    if COMMENTS.sub("", rest).strip():
        yield rest


def check_statement_lengths(texts, where):
    """Refuse, before any call, a statement longer than D1 takes (it would fail as "statement too long").

    ``texts``: statements, or runs of statements (a text under the limit needs no splitting to be fine).
    """
    for text in texts:
        # A text of at most 25,000 characters is at most 100,000 bytes: no need to split it.
        statements = [text] if len(text) <= MAX_STATEMENT_BYTES // 4 else split_statements(text)
        for statement in statements:
            size = len(statement.encode("utf-8"))
            if size > MAX_STATEMENT_BYTES:
                head = " ".join(statement.split())[:60]
                raise InvalidInputError("%s: a statement is %d bytes and D1 takes at most %d per statement (%s...): "
                                        "split it, or bind long values as params" % (where, size, MAX_STATEMENT_BYTES, head))


def run_query(client, account_id, database_id, sql, params=None, read_only=False):
    """``POST .../query``; returns the per-statement results. A read-only query is counted as a read."""
    body = {"sql": sql}
    if params:
        body["params"] = params
    return client.post(databases_path(account_id, database_id, "query"), json=body, read_only=read_only) or []


def check_sql_file(path):
    """A readable SQL text file with no statement over D1's limit; ``(size, md5 hex)`` of its bytes."""
    with open(path, "rb") as handle:
        if handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER:
            raise InvalidInputError("%s is an SQLite database file, not SQL text: dump it first (sqlite3 FILE .dump)" % path)
    try:
        with open(path, encoding="utf-8") as handle:
            check_statement_lengths(iter_statements(handle), path)
    except UnicodeDecodeError as exc:
        raise InvalidInputError("%s is not UTF-8 SQL text: %s" % (path, exc)) from None
    return os.path.getsize(path), file_md5(path)


def drop_everything_sql(client, account_id, database_id):
    """SQL that drops every table and view of the database (indexes and triggers go with their tables), for
    the top of an import that replaces the database's contents in one step. One read."""
    rows = run_query(client, account_id, database_id,
                     "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view') "
                     "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY type DESC, name", read_only=True)
    objects = (rows[0].get("results") if rows else None) or []
    statements = ["PRAGMA defer_foreign_keys=TRUE;"]  # D1's dumps start so; the drops break no key at commit
    for item in objects:
        statements.append('DROP %s IF EXISTS "%s";' % ("VIEW" if item["type"] == "view" else "TABLE",
                                                       item["name"].replace('"', '""')))
    return "\n".join(statements) + "\n" if objects else ""


def with_prelude(prelude, path, directory=None):
    """A temporary file holding ``prelude`` then the bytes of ``path`` (the caller removes it)."""
    handle, combined = tempfile.mkstemp(prefix=".d1-import-", suffix=".sql", dir=directory)
    with os.fdopen(handle, "wb") as out, open(path, "rb") as source:
        out.write(prelude.encode("utf-8"))
        for chunk in iter(lambda: source.read(DOWNLOAD_CHUNK), b""):
            out.write(chunk)
    return combined


def import_sql_file(client, account_id, database_id, path, checked=None, timeout=IMPORT_TIMEOUT,
                    poll_interval=IMPORT_POLL_INTERVAL, sleep=time.sleep, now=time.monotonic):
    """Run the SQL file ``path`` in D1 through the import API, as wrangler's ``d1 execute --remote --file`` does.

    init (the file's MD5) -> PUT the file to the signed ``upload_url`` -> ingest -> poll until it ends.
    D1 applies an import as a whole: when it fails, the database is as it was (the error says so), and a
    rerun converges. ``checked``: what ``check_sql_file(path)`` returned, when the caller checked it already.
    Returns ``{num_queries, final_bookmark, meta, changed}``; raises ``CloudflareAPIError``.
    """
    if not client.writes_allowed:
        raise CloudflareAPIError("internal error: a D1 import is a write and writes are disabled (check mode)")
    size, etag = checked or check_sql_file(path)
    api_path = databases_path(account_id, database_id, "import")
    # init changes nothing (it names the upload), poll only reads: both are counted as reads and retried.
    answer = client.post(api_path, json={"action": "init", "etag": etag}, read_only=True) or {}
    if answer.get("upload_url"):
        _upload(answer["upload_url"], path, size, etag, client.retry_policy)
        # Starting the import is not idempotent: never resent after an ambiguous failure.
        answer = client.post(api_path, json={"action": "ingest", "filename": answer.get("filename"), "etag": etag}) or {}
    # else: D1 has this very file already and init started the import.
    deadline = now() + timeout
    while True:
        if answer.get("success") is False or answer.get("status") == "error":
            errors = answer.get("errors") if isinstance(answer.get("errors"), list) else []
            detail = answer.get("error") or "; ".join(str(e) for e in errors) or "no error given"
            raise CloudflareAPIError("the D1 import of %s into database %s failed, and D1 left the database as it was: %s"
                                     % (path, database_id, detail))
        if answer.get("status") == "complete":
            result = answer.get("result") or {}
            meta = result.get("meta") or {}
            changed = bool(meta.get("changed_db") or meta.get("rows_written") or meta.get("changes"))
            return {"num_queries": result.get("num_queries"), "final_bookmark": result.get("final_bookmark"),
                    "meta": meta, "changed": changed}
        if not answer.get("at_bookmark"):
            raise CloudflareAPIError("the D1 import of %s gave neither a status nor a bookmark to poll: %s" % (path, answer))
        if now() > deadline:
            raise CloudflareAPIError("the D1 import of %s did not finish within %s seconds (bookmark %s); it may still "
                                     "complete: poll it or run it again" % (path, timeout, answer["at_bookmark"]))
        sleep(poll_interval)
        answer = client.post(api_path, json={"action": "poll", "current_bookmark": answer["at_bookmark"]},
                             read_only=True) or {}


def _upload(url, path, size, etag, policy):
    """PUT the file to the signed upload URL (no API token: the URL carries its own signature); check its ETag.

    A PUT of the same bytes is idempotent: 5xx answers and transport failures are retried under the API
    client's policy (backoff with jitter, Retry-After, the same retry and time budget)."""
    def chunks():
        with open(path, "rb") as handle:
            yield from iter(lambda: handle.read(DOWNLOAD_CHUNK), b"")
    attempts = policy.attempts()
    while True:
        retry_after = None
        try:
            response = httpx.put(url, content=chunks(), headers={"Content-Length": str(size)}, timeout=300)
        except httpx.TransportError as exc:
            failure = "%s: %s" % (type(exc).__name__, exc)
        else:
            if response.status_code < 500 and response.status_code != 429:
                break
            failure = "HTTP %d" % response.status_code
            retry_after = parse_retry_after(response.headers.get("retry-after"), policy.now)
        if not attempts.next_wait(retry_after):
            raise CloudflareAPIError("uploading %s for the D1 import failed %d times: %s" % (path, attempts.retries + 1, failure))
    if response.status_code != 200:
        raise CloudflareAPIError("uploading %s for the D1 import failed with HTTP %d: %s"
                                 % (path, response.status_code, response.text[:300]), status=response.status_code)
    if (response.headers.get("etag") or "").strip('"') != etag:
        raise CloudflareAPIError("the upload of %s for the D1 import arrived with ETag %s, not the file's MD5 %s"
                                 % (path, response.headers.get("etag"), etag))


def sql_error_text(exc):
    return "; ".join(error["message"] for error in exc.errors) if exc.errors else exc.message


def export_database(client, account_id, database_id, dest, dump_options=None, poll_interval=1.0, timeout=600,
                    sleep=time.sleep, now=time.monotonic):
    """Export through the polling flow and stream the SQL dump to ``dest`` (atomically).

    Returns ``{filename, bytes, sha256, changed}``; ``changed`` is False when ``dest`` already held
    exactly this dump.
    """
    path = databases_path(account_id, database_id, "export")
    body = {"output_format": "polling"}
    if dump_options:
        body["dump_options"] = dump_options
    deadline = now() + timeout
    while True:
        # Starting or polling an export changes no data: counted as a read.
        reply = client.post(path, json=body, read_only=True) or {}
        if reply.get("status") == "error" or reply.get("error"):
            raise CloudflareAPIError("the export of D1 database %s failed: %s" % (database_id, reply.get("error")))
        if reply.get("status") == "complete" and (reply.get("result") or {}).get("signed_url"):
            break
        if now() > deadline:
            raise CloudflareAPIError("the export of D1 database %s did not complete within %s seconds" % (database_id, timeout))
        body["current_bookmark"] = reply.get("at_bookmark")
        sleep(poll_interval)
    result = reply["result"]
    written, digest = _download(result["signed_url"], dest)
    return dict(written, filename=result.get("filename"), sha256=digest)


def _download(url, dest):
    """Stream ``url`` (a signed URL: no API token sent) into ``dest``; returns ``({bytes, changed}, sha256)``."""
    directory = os.path.dirname(os.path.abspath(dest))
    digest = hashlib.sha256()
    size = 0
    handle, temp_path = tempfile.mkstemp(prefix=".d1-export-", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out, httpx.stream("GET", url, timeout=300) as response:
            if response.status_code != 200:
                raise CloudflareAPIError("downloading the D1 export failed with HTTP %d" % response.status_code)
            for chunk in response.iter_bytes(DOWNLOAD_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        sha256 = digest.hexdigest()
        changed = not (os.path.isfile(dest) and file_sha256(dest) == sha256)
        if changed:
            os.replace(temp_path, dest)
        return {"bytes": size, "changed": changed}, sha256
    finally:
        if os.path.exists(temp_path):
            os.remove(temp_path)


def file_md5(path):
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(DOWNLOAD_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(DOWNLOAD_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
