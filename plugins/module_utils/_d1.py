# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""D1 logic shared by the D1 modules: paths, names, resolving a database, SQL batching, export."""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import tempfile
import time

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError, build_path
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
# One /query request carries statements up to this many bytes; D1 limits a statement to 100 KB and a
# request body to 100 MB, so a dump goes in several requests.
QUERY_BATCH_BYTES = 5 * 1000 * 1000
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
    return [statement.strip() for statement in statements if has_code(statement)]


def has_code(statement):
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


def batches(statements, max_bytes=QUERY_BATCH_BYTES):
    """Group statements into requests of at most ``max_bytes`` (a larger single statement goes alone)."""
    batch, size = [], 0
    for statement in statements:
        length = len(statement.encode("utf-8"))
        if batch and size + length > max_bytes:
            yield "".join(batch)
            batch, size = [], 0
        batch.append(statement)
        size += length
    if batch:
        yield "".join(batch)


def run_query(client, account_id, database_id, sql, params=None, read_only=False):
    """``POST .../query``; returns the per-statement results. A read-only query is counted as a read."""
    body = {"sql": sql}
    if params:
        body["params"] = params
    return client.post(databases_path(account_id, database_id, "query"), json=body, read_only=read_only) or []


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


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(DOWNLOAD_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
