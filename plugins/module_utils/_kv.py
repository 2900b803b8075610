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
