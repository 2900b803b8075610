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
import hashlib
import json
import os

from ansible_collections.cfops.cloudflare.plugins.module_utils._backup_paths import link_problem
from ansible_collections.cfops.cloudflare.plugins.module_utils._client import build_path
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


def entries_from_directory(directory):
    """Entries from a directory tree: each regular file is one key, named by its path relative to
    ``directory`` with ``/`` separators; UTF-8 contents become text values, others base64.

    Nothing is read outside ``directory``: a file symlink must point inside it, a directory symlink is refused."""
    entries = []
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
                entries.append({"key": key, "value": data.decode("utf-8"), "base64": False})
            except UnicodeDecodeError:
                entries.append({"key": key, "value": base64.b64encode(data).decode("ascii"), "base64": True})
    return entries


def entries_from_file(path, load_yaml):
    """Entries from a file: ``.jsonl`` (kv_export format), or JSON/YAML holding a list of entries or a
    mapping of key to string value. ``load_yaml(text)`` parses YAML (JSON is YAML too)."""
    if path.endswith(".jsonl"):
        return [entry for _where, entry in iter_export_file(path)]
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    try:
        document = json.loads(text) if path.endswith(".json") else load_yaml(text)
    except Exception as exc:
        raise InvalidInputError("src %s could not be parsed: %s" % (path, exc)) from None
    if isinstance(document, dict):
        entries = []
        for key, value in document.items():
            if not isinstance(value, str):
                raise InvalidInputError("src %s: the value of key %r must be a string (serialise structured data)" % (path, key))
            entries.append({"key": str(key), "value": value})
        return entries
    if isinstance(document, list) and all(isinstance(item, dict) for item in document):
        return document
    raise InvalidInputError("src %s must hold a list of entries ({key, value, ...}) or a mapping of key to value" % path)


def load_src(path, load_yaml):
    if os.path.isdir(path):
        return entries_from_directory(path)
    if os.path.isfile(path):
        return entries_from_file(path, load_yaml)
    raise InvalidInputError("src %s is neither a file nor a directory" % path)


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
