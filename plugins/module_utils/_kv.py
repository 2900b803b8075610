# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""Workers KV logic shared by the KV modules: paths, limits, entry checks, comparisons, bulk chunks."""

from __future__ import annotations

import base64
import binascii
import collections
import hashlib
import json
import os
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor

try:
    import sqlite3
except ImportError:  # pragma: no cover - a Python built without it; kv_entry then says so
    sqlite3 = None

from ansible_collections.cfops.cloudflare.plugins.module_utils._backup_paths import link_problem
from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareClient, build_path
from ansible_collections.cfops.cloudflare.plugins.module_utils._data_file import iter_document
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError

# Cloudflare's limits (developers.cloudflare.com/kv/platform/limits).
KEY_MAX_BYTES = 512
VALUE_MAX_BYTES = 25 * 1024 * 1024
METADATA_MAX_BYTES = 1024
EXPIRATION_TTL_MIN = 60
BULK_WRITE_MAX_ITEMS = 10000
BULK_WRITE_MAX_BYTES = 100 * 1000 * 1000
BULK_DELETE_MAX_KEYS = 10000
BULK_GET_MAX_KEYS = 100

# Largest page sizes the list endpoints allow.
NAMESPACES_PER_PAGE = 100
KEYS_LIST_LIMIT = 1000

KEY_NOT_FOUND_CODE = 10009


def namespaces_path(account_id, *rest):
    return build_path("accounts", account_id, "storage", "kv", "namespaces", *rest)


NAMESPACE_TITLE_MAX_LENGTH = 512


def validate_namespace_title(title):
    if not title or len(title) > NAMESPACE_TITLE_MAX_LENGTH:
        raise InvalidInputError("title must be 1 to %d characters, got %d" % (NAMESPACE_TITLE_MAX_LENGTH, len(title or "")))


def find_namespace_by_title(namespaces, title):
    for namespace in namespaces:
        if namespace.get("title") == title:
            return namespace
    return None


def namespace_view(namespace):
    return {"id": namespace["id"], "title": namespace["title"]}


def validate_key(key, where="key"):
    if not isinstance(key, str) or not key:
        raise InvalidInputError("%s: a key must be a non-empty string" % where)
    if key in (".", ".."):
        raise InvalidInputError("%s: key %r is not allowed by Cloudflare" % (where, key))
    if len(key.encode("utf-8")) > KEY_MAX_BYTES:
        raise InvalidInputError("%s: key %r is longer than %d bytes" % (where, key[:64] + "...", KEY_MAX_BYTES))


def canonical_metadata(metadata):
    """Metadata as compared: ``None`` and ``{}`` both mean "no metadata"."""
    if not metadata:
        return None
    return json.dumps(metadata, sort_keys=True, separators=(",", ":"))


def normalise_entry(item, now, where):
    """Check one entry against Cloudflare's limits; returns it with ``value_bytes`` added.

    ``item``: ``{key, value, metadata, expiration_ttl, expiration, base64}``. ``now()`` gives the
    epoch time an ``expiration`` must be 60 s ahead of.
    """
    key = item.get("key")
    validate_key(key, where)
    where = "%s (key %r)" % (where, key)
    value = item.get("value")
    if value is None:
        raise InvalidInputError("%s: value is required" % where)
    if not isinstance(value, str):
        raise InvalidInputError("%s: value must be a string (serialise structured data, e.g. with to_json)" % where)
    is_base64 = bool(item.get("base64"))
    if is_base64:
        try:
            value_bytes = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInputError("%s: base64 is true but value is not valid base64" % where) from None
    else:
        value_bytes = value.encode("utf-8")
    if len(value_bytes) > VALUE_MAX_BYTES:
        raise InvalidInputError("%s: value is %d bytes, more than the %d bytes (25 MiB) KV allows"
                                % (where, len(value_bytes), VALUE_MAX_BYTES))
    metadata = item.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise InvalidInputError("%s: metadata must be a dictionary" % where)
        size = len(json.dumps(metadata, separators=(",", ":")).encode("utf-8"))
        if size > METADATA_MAX_BYTES:
            raise InvalidInputError("%s: metadata is %d bytes serialised, more than the %d bytes KV allows"
                                    % (where, size, METADATA_MAX_BYTES))
    expiration_ttl = item.get("expiration_ttl")
    if expiration_ttl is not None and expiration_ttl < EXPIRATION_TTL_MIN:
        raise InvalidInputError("%s: expiration_ttl must be at least %d seconds" % (where, EXPIRATION_TTL_MIN))
    expiration = item.get("expiration")
    if expiration is not None and expiration < now() + EXPIRATION_TTL_MIN:
        raise InvalidInputError("%s: expiration must be an epoch time at least %d seconds in the future"
                                % (where, EXPIRATION_TTL_MIN))
    return {
        "key": key,
        "value": value,
        "base64": is_base64,
        "metadata": metadata,
        "expiration_ttl": expiration_ttl,
        "expiration": expiration,
        "value_bytes": value_bytes,
    }


def normalise_entries(items, now, option="entries"):
    entries = []
    seen = set()
    for index, item in enumerate(items):
        entry = normalise_entry(item, now, "%s[%d]" % (option, index))
        if entry["key"] in seen:
            raise InvalidInputError("%s[%d]: key %r is listed twice" % (option, index, entry["key"]))
        seen.add(entry["key"])
        entries.append(entry)
    return entries


def entry_matches(entry, current):
    """Whether a stored entry (``{value_bytes, metadata}``) already holds this entry's value and metadata.

    Expiration is not compared: it is applied when an entry is written.
    """
    return (current is not None
            and current["value_bytes"] == entry["value_bytes"]
            and canonical_metadata(current.get("metadata")) == canonical_metadata(entry["metadata"]))


def plan_entries(entries, current):
    """``current``: ``{key: {value_bytes, metadata}}`` for the keys that exist. Returns ``(added, changed)`` entries."""
    added = [entry for entry in entries if entry["key"] not in current]
    changed = [entry for entry in entries if entry["key"] in current and not entry_matches(entry, current[entry["key"]])]
    return added, changed


# kv_entry digest=true: each written key carries the SHA-256 of its value in its metadata, so a no-op needs only
# the key listing (list pages carry each key's metadata, 1,000 keys a page; metadata is at most 1,024 bytes).
DIGEST_FIELD = "cfops_sha256"


def with_digest(entry, where):
    """The entry with the SHA-256 of its value added to its metadata (checked against the 1,024-byte limit)."""
    metadata = dict(entry["metadata"] or {})
    metadata[DIGEST_FIELD] = hashlib.sha256(entry["value_bytes"]).hexdigest()
    size = len(json.dumps(metadata, separators=(",", ":")).encode("utf-8"))
    if size > METADATA_MAX_BYTES:
        raise InvalidInputError("%s (key %r): metadata with the value digest (digest=true) is %d bytes serialised, more "
                                "than the %d bytes KV allows; shorten the metadata or set digest=false"
                                % (where, entry["key"], size, METADATA_MAX_BYTES))
    return dict(entry, metadata=metadata)


def listed_as_written(entry, listed_metadata):
    """digest=true: whether the key listing shows this entry written (its metadata, digest included, as wanted)."""
    return canonical_metadata(listed_metadata) == canonical_metadata(entry["metadata"])


def digest_view(value_bytes, metadata):
    """How an entry shows in the diff: a digest of the value, never the value."""
    return {"value_sha256": hashlib.sha256(value_bytes).hexdigest(), "metadata": metadata or None}


def bulk_write_item(entry):
    """One item of ``PUT .../bulk``."""
    item = {"key": entry["key"], "value": entry["value"]}
    if entry["base64"]:
        item["base64"] = True
    if entry["metadata"]:
        item["metadata"] = entry["metadata"]
    if entry["expiration_ttl"] is not None:
        item["expiration_ttl"] = entry["expiration_ttl"]
    if entry["expiration"] is not None:
        item["expiration"] = entry["expiration"]
    return item


def chunk_bulk_write(items, max_items=BULK_WRITE_MAX_ITEMS, max_bytes=BULK_WRITE_MAX_BYTES):
    """Split bulk write items into requests of at most ``max_items`` items and under ``max_bytes`` of JSON."""
    chunks = []
    chunk = []
    size = 2  # the enclosing []
    for item in items:
        item_size = len(json.dumps(item).encode("utf-8")) + 2  # separator ", "
        if chunk and (len(chunk) >= max_items or size + item_size >= max_bytes):
            chunks.append(chunk)
            chunk = []
            size = 2
        chunk.append(item)
        size += item_size
    if chunk:
        chunks.append(chunk)
    return chunks


def chunks(sequence, size):
    return [sequence[start:start + size] for start in range(0, len(sequence), size)]


# Files: bulk sources, export and import ------------------------------------------------------------------

EXPORT_FORMAT_VERSION = 1
FILE_CHUNK = 1024 * 1024


def export_line(key, value_bytes, metadata, expiration):
    """One line of the kv_export file (format version 1, see docs/data.md): canonical JSON and a newline.

    Values that are valid UTF-8 are stored as text, others base64-encoded with ``base64: true``.
    """
    try:
        value, is_base64 = value_bytes.decode("utf-8"), False
    except UnicodeDecodeError:
        value, is_base64 = base64.b64encode(value_bytes).decode("ascii"), True
    record = {"key": key, "value": value, "base64": is_base64, "metadata": metadata or None, "expiration": expiration}
    return (json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")


def parse_export_line(line, where):
    """An entry (as ``normalise_entry`` takes it) from one line of a kv_export file."""
    try:
        record = json.loads(line)
    except ValueError as exc:
        raise InvalidInputError("%s: not a JSON object: %s" % (where, exc)) from None
    if not isinstance(record, dict) or "key" not in record or "value" not in record:
        raise InvalidInputError("%s: each line must be an object with key and value" % where)
    return {"key": record["key"], "value": record["value"], "base64": bool(record.get("base64")),
            "metadata": record.get("metadata") or None, "expiration": record.get("expiration"),
            "expiration_ttl": None}


def iter_export_file(path):
    """``(where, entry)`` for each non-empty line of a kv_export file, streaming."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                where = "%s line %d" % (path, number)
                yield where, parse_export_line(line, where)


def iter_directory(directory):
    """``(where, entry)`` for each file of a directory tree: each regular file is one key, named by its path
    relative to ``directory`` with ``/`` separators; UTF-8 contents become text values, others base64. One file
    is read at a time.

    Nothing is read outside ``directory``: a file symlink must point inside it, a directory symlink is refused
    (checked for the whole tree before the first entry)."""
    problems = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        problems.extend(filter(None, (link_problem(directory, os.path.join(root, name)) for name in dirs)))
        problems.extend(filter(None, (link_problem(directory, os.path.join(root, name)) for name in files)))
    if problems:
        raise InvalidInputError("src %s: refusing to read outside it: %s" % (directory, "; ".join(sorted(problems))))
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            if not os.path.isfile(path):
                continue
            key = os.path.relpath(path, directory).replace(os.sep, "/")
            with open(path, "rb") as handle:
                data = handle.read()
            try:
                entry = {"key": key, "value": data.decode("utf-8"), "base64": False}
            except UnicodeDecodeError:
                entry = {"key": key, "value": base64.b64encode(data).decode("ascii"), "base64": True}
            yield "src %s" % path, entry


def entries_from_directory(directory):
    return [entry for _where, entry in iter_directory(directory)]


def iter_file(path, load_yaml):
    """``(where, entry)`` from a file, streaming: ``.jsonl`` (kv_export format), or JSON/YAML holding a list of
    entries or a mapping of key to string value (read item by item, ``_data_file.iter_document``).
    ``load_yaml(text)`` parses YAML when PyYAML's streaming loader is missing."""
    if path.endswith(".jsonl"):
        for index, (_where, entry) in enumerate(iter_export_file(path)):
            yield "src[%d]" % index, entry
        return
    shape = "src %s must hold a list of entries ({key, value, ...}) or a mapping of key to value" % path
    for kind, name, value in iter_document(path, load_yaml):
        if kind == "member":
            if not isinstance(value, str):
                raise InvalidInputError("src %s: the value of key %r must be a string (serialise structured data)" % (path, name))
            yield None, {"key": str(name), "value": value}
        elif kind == "item" and isinstance(value, dict):
            yield None, value
        else:
            raise InvalidInputError(shape)


def entries_from_file(path, load_yaml):
    return [entry for _where, entry in iter_file(path, load_yaml)]


def iter_src(path, load_yaml):
    """``(where, entry)`` of a ``src`` file or directory, one entry in memory at a time."""
    if os.path.isdir(path):
        items = iter_directory(path)
    elif os.path.isfile(path):
        items = iter_file(path, load_yaml)
    else:
        raise InvalidInputError("src %s is neither a file nor a directory" % path)
    for index, (_where, entry) in enumerate(items):
        yield "src[%d]" % index, entry


def load_src(path, load_yaml):
    return [entry for _where, entry in iter_src(path, load_yaml)]


def iter_key_pages(client, path, limit=KEYS_LIST_LIMIT, prefix=None):
    """Pages (lists of ``{name, metadata?, expiration?}``) of a namespace's keys, one call each."""
    cursor = None
    while True:
        params = {"limit": limit}
        if prefix:
            params["prefix"] = prefix
        if cursor:
            params["cursor"] = cursor
        envelope = client.request("GET", path, params=params)
        yield envelope.get("result") or []
        next_cursor = (envelope.get("result_info") or {}).get("cursor")
        if not next_cursor or next_cursor == cursor:
            return
        cursor = next_cursor


def bulk_get(client, namespace_path, keys):
    """``{key: {value_bytes, metadata, expiration}}`` for those of ``keys`` that exist.

    ``POST .../bulk/get`` 100 keys per call with metadata. Text reads replace bytes that are not UTF-8
    with U+FFFD, so such values are read again one by one as raw bytes.
    """
    found = {}
    for batch in chunks(list(keys), BULK_GET_MAX_KEYS):
        result = client.post(namespace_path + "/bulk/get", json={"keys": batch, "type": "text", "withMetadata": True},
                             read_only=True) or {}
        for key, item in (result.get("values") or {}).items():
            if item is None:
                continue
            value = item.get("value") if isinstance(item, dict) else item
            if value is None:
                continue
            if "\ufffd" in value:
                value_bytes = client.get_raw(namespace_path + build_path("values", key)).content
            else:
                value_bytes = value.encode("utf-8")
            found[key] = {"value_bytes": value_bytes, "metadata": item.get("metadata") if isinstance(item, dict) else None,
                          "expiration": item.get("expiration") if isinstance(item, dict) else None}
    return found


def resolve_namespace_id(client, account_id, namespace_id, title):
    """``namespace_id`` as given, or the id of the namespace titled ``title`` (one read per 100 namespaces)."""
    if namespace_id:
        return namespace_id
    namespace = find_namespace_by_title(client.list_pages(namespaces_path(account_id), per_page=NAMESPACES_PER_PAGE), title)
    if namespace is None:
        raise InvalidInputError("no KV namespace titled %r in account %s (create it with cfops.cloudflare.kv_namespace)"
                                % (title, account_id))
    return namespace["id"]


def write_plan(client, namespace_path, entries, existing_keys, counts):
    """The bulk write items for those of ``entries`` that differ from what is stored; updates ``counts``
    (``added``, ``changed``, ``unchanged``) and returns ``(items, added_keys, changed_keys)``."""
    current = bulk_get(client, namespace_path, [entry["key"] for entry in entries if entry["key"] in existing_keys])
    added, changed = plan_entries(entries, current)
    counts["added"] += len(added)
    counts["changed"] += len(changed)
    counts["unchanged"] += len(entries) - len(added) - len(changed)
    return ([bulk_write_item(entry) for entry in sorted(added + changed, key=lambda e: e["key"])],
            [entry["key"] for entry in added], [entry["key"] for entry in changed])


def list_all_keys(client, namespace_path):
    """``{key: metadata}`` of every key of the namespace (names only: no values held)."""
    keys = {}
    for page in iter_key_pages(client, namespace_path + "/keys"):
        for item in page:
            keys[item["name"]] = item.get("metadata")
    return keys


# Streaming comparison of a wanted set with a namespace -------------------------------------------------------------
#
# The wanted entries and the key listing go into an SQLite file and are joined there, so memory stays bounded
# whatever the number of keys: SQLite keeps at most its page cache in memory (2,000 KiB by default,
# https://www.sqlite.org/pragma.html#pragma_cache_size) and walks its key index in order (no sort in memory).
# The join needs no order from either side: a src file in any order works, and so does a listing in any order
# (Cloudflare lists keys in the order of their UTF-8 bytes, https://developers.cloudflare.com/kv/api/list-keys/,
# which is also SQLite's BINARY order: results come sorted the same way either way).

_STAGING_SCHEMA = """
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
PRAGMA temp_store = FILE;
CREATE TABLE wanted (key TEXT NOT NULL UNIQUE, position TEXT NOT NULL, entry TEXT NOT NULL, metadata TEXT);
CREATE TABLE listed (key TEXT NOT NULL UNIQUE, metadata TEXT);
"""


class Staging:
    """The wanted entries (checked, duplicates refused) and the namespace's listing, in a temporary SQLite file."""

    def __init__(self, directory=None):
        if sqlite3 is None:
            raise InvalidInputError("kv_entry with entries or src needs Python's sqlite3 module on the host where it runs")
        handle, self.path = tempfile.mkstemp(prefix="cfops-kv-", suffix=".sqlite3", dir=directory)
        os.close(handle)
        self.db = sqlite3.connect(self.path)
        self.db.executescript(_STAGING_SCHEMA)
        self.wanted = 0

    def close(self):
        self.db.close()
        if os.path.exists(self.path):
            os.remove(self.path)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def add_wanted(self, entry, where):
        """Keep a checked entry (``normalise_entry``); a key listed twice is refused, naming both places."""
        stored = {"value": entry["value"], "base64": entry["base64"], "metadata": entry["metadata"],
                  "expiration_ttl": entry["expiration_ttl"], "expiration": entry["expiration"]}
        try:
            self.db.execute("INSERT INTO wanted (key, position, entry, metadata) VALUES (?, ?, ?, ?)",
                            (entry["key"], where, json.dumps(stored), canonical_metadata(entry["metadata"])))
        except sqlite3.IntegrityError:
            first = self.db.execute("SELECT position FROM wanted WHERE key = ?", (entry["key"],)).fetchone()[0]
            raise InvalidInputError("%s: key %r is listed twice (also at %s)" % (where, entry["key"], first)) from None
        self.wanted += 1

    def add_listed(self, page):
        """One page of the key listing (``[{name, metadata?}]``)."""
        self.db.executemany("INSERT OR REPLACE INTO listed (key, metadata) VALUES (?, ?)",
                            ((item["name"], canonical_metadata(item.get("metadata"))) for item in page))

    def commit(self):
        self.db.commit()

    def added(self):
        """``(key, entry)`` of the wanted keys the namespace lacks, sorted."""
        rows = self.db.execute("SELECT w.key, w.entry FROM wanted w WHERE NOT EXISTS "
                               "(SELECT 1 FROM listed l WHERE l.key = w.key) ORDER BY w.key")
        for key, stored in rows:
            yield key, _stored_entry(key, stored)

    def existing(self, stale_only=False):
        """``(key, entry, listed_metadata)`` of the wanted keys the namespace has, sorted; with ``stale_only``
        only those whose listed metadata differs from the wanted metadata (digest=true: the rest are as wanted)."""
        query = ("SELECT w.key, w.entry, l.metadata FROM wanted w JOIN listed l ON l.key = w.key%s ORDER BY w.key"
                 % (" WHERE l.metadata IS NOT w.metadata" if stale_only else ""))
        for key, stored, metadata in self.db.execute(query):
            yield key, _stored_entry(key, stored), json.loads(metadata) if metadata else None

    def removed(self):
        """``(key, listed_metadata)`` of the listed keys not wanted, sorted (exclusive=true deletes them)."""
        rows = self.db.execute("SELECT l.key, l.metadata FROM listed l WHERE NOT EXISTS "
                               "(SELECT 1 FROM wanted w WHERE w.key = l.key) ORDER BY l.key")
        for key, metadata in rows:
            yield key, json.loads(metadata) if metadata else None


def _stored_entry(key, stored):
    entry = json.loads(stored)
    entry["key"] = key
    value = entry["value"]
    entry["value_bytes"] = base64.b64decode(value) if entry["base64"] else value.encode("utf-8")
    return entry


def batched(iterable, size):
    """Lists of at most ``size`` items of ``iterable``, lazily."""
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class BulkWriter:
    """Bulk write requests filled up to Cloudflare's limits (10,000 pairs and 100 MB a request, see the SDK's
    ``kv.namespaces.bulk_update``) and sent as each fills: ``send(items)`` (None in check mode: nothing sent)."""

    def __init__(self, send, max_items=BULK_WRITE_MAX_ITEMS, max_bytes=BULK_WRITE_MAX_BYTES):
        self.send = send
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.items = []
        self.size = 2  # the enclosing []
        self.requests = 0

    def add(self, item):
        # As json.dumps sends it by default (ASCII escapes, ", " separators): never less than what goes out.
        item_size = len(json.dumps(item).encode("utf-8")) + 2
        if self.items and (len(self.items) >= self.max_items or self.size + item_size >= self.max_bytes):
            self.flush()
        self.items.append(item)
        self.size += item_size

    def flush(self):
        if self.items:
            if self.send is not None:
                self.send(self.items)
            self.requests += 1
        self.items = []
        self.size = 2


READ_WORKERS = 4


class ReadPool:
    """Reads on at most ``workers`` threads. Each thread has its own client from ``make_client()`` (its own
    connection; built with the module's retry options and sharing its API budget, so retries, Retry-After and the
    controller-wide budget apply as to any call); their calls are added to ``client.calls`` on ``close()``.
    Results come in the order the jobs were given, at most ``2 * workers`` jobs ahead."""

    def __init__(self, client, make_client, workers=READ_WORKERS):
        self.client = client
        self.make_client = make_client
        self.workers = max(1, int(workers))
        self._local = threading.local()
        self._clients = []
        self._lock = threading.Lock()

    def _thread_client(self):
        client = getattr(self._local, "client", None)
        if client is None:
            client = self.make_client()
            with self._lock:
                self._clients.append(client)
            self._local.client = client
        return client

    def map(self, read, jobs):
        """``(job, read(client, job))`` for each job, in order."""
        if self.make_client is None or self.workers == 1:
            for job in jobs:
                yield job, read(self.client, job)
            return
        pending = collections.deque()
        executor = ThreadPoolExecutor(max_workers=self.workers)
        try:
            for job in jobs:
                pending.append((job, executor.submit(lambda job=job: read(self._thread_client(), job))))
                if len(pending) >= 2 * self.workers:
                    done, future = pending.popleft()
                    yield done, future.result()
            while pending:
                done, future = pending.popleft()
                yield done, future.result()
        finally:
            for _job, future in pending:
                future.cancel()
            executor.shutdown(wait=True)

    def close(self):
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            for kind in ("reads", "writes"):
                self.client.calls[kind] = self.client.calls.get(kind, 0) + client.calls.get(kind, 0)
            client.close()


def read_client_factory(params, client):
    """``make_client`` for a ReadPool: clients with the module's connection options and ``client``'s API budget,
    refusing writes."""
    def make_client():
        reader = CloudflareClient(params["api_token"], base_url=params["api_base_url"], timeout=params["api_timeout"],
                                  max_retries=params["api_max_retries"], max_retry_time=params["api_max_retry_time"],
                                  budget=client.budget)
        reader.writes_allowed = False
        return reader
    return make_client


class ChangeReport:
    """Counts of the keys added, changed and removed, with the first ``limit`` names of each (all with None), and
    the diff only when it is shown. Keys must come sorted per kind, so the names kept are the first ones."""

    KINDS = ("added", "changed", "removed")

    def __init__(self, limit, with_diff):
        self.limit = limit
        self.counts = dict((kind, 0) for kind in self.KINDS)
        self.names = dict((kind, []) for kind in self.KINDS)
        self.before = {} if with_diff else None
        self.after = {} if with_diff else None

    def add(self, kind, key, before=None, after=None):
        self.counts[kind] += 1
        if self.limit is None or len(self.names[kind]) < self.limit:
            self.names[kind].append(key)
        if self.before is not None:
            if before is not None:
                self.before[key] = before
            if after is not None:
                self.after[key] = after

    @property
    def changed(self):
        return any(self.counts.values())

    @property
    def truncated(self):
        return any(self.counts[kind] > len(self.names[kind]) for kind in self.KINDS)

    def result(self):
        return {"keys_added": self.names["added"], "keys_changed": self.names["changed"],
                "keys_removed": self.names["removed"], "counts": dict(self.counts), "changes_truncated": self.truncated}
