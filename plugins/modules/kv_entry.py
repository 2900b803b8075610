#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kv_entry
short_description: Manage Workers KV entries, one or many at a time
description:
  - Writes or deletes key-value pairs in a Workers KV namespace, either one entry (O(key) and
    O(value)) or many at once (O(entries) to write, O(keys) to delete).
  - Idempotent. Only the entries whose value or metadata differ are written, in bulk calls of up to
    10,000 entries and under 100 MB each; only keys that exist are deleted.
  - Reads use as few calls as possible. One entry costs a value read and a metadata read. Many
    entries cost a key listing (1,000 keys per call) and value reads of 100 keys per call.
  - Every entry is checked against Cloudflare's limits before any write (key up to 512 bytes,
    value up to 25 MiB, metadata up to 1,024 bytes serialised, O(expiration_ttl) at least 60);
    the error names the key.
  - The diff lists the keys added, changed and removed with a SHA-256 digest of their values
    (never the values) and their metadata.
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
options:
  namespace_id:
    description:
      - The id of the KV namespace. One of O(namespace_id) and O(namespace) is required.
    type: str
  namespace:
    description:
      - The title of the KV namespace, resolved to its id. It must exist (create it with
        M(cfops.cloudflare.kv_namespace)).
    type: str
  key:
    description:
      - The key of a single entry.
    type: str
  value:
    description:
      - The value of the single entry O(key). Required with O(key) when O(state=present).
      - Values are strings; serialise structured data, for example with C(to_json).
    type: str
  metadata:
    description:
      - Metadata of the single entry, a dictionary of at most 1,024 bytes serialised as JSON.
      - Omitting it means the entry has no metadata.
    type: dict
  expiration_ttl:
    description:
      - Seconds from the write after which the single entry expires; at least 60.
      - Applied when the entry is written. An entry whose value and metadata already match is not
        rewritten just to reset its expiration.
    type: int
  expiration:
    description:
      - Epoch time (seconds) at which the single entry expires; at least 60 seconds in the future.
      - Applied when the entry is written, like O(expiration_ttl).
    type: int
  base64:
    description:
      - The single entry's O(value) is base64-encoded binary data.
    type: bool
    default: false
  entries:
    description:
      - Several entries to write at once (O(state=present)).
    type: list
    elements: dict
    suboptions:
      key:
        description: The key.
        type: str
        required: true
      value:
        description: The value, a string.
        type: str
        required: true
      metadata:
        description: Metadata, a dictionary of at most 1,024 bytes serialised as JSON.
        type: dict
      expiration_ttl:
        description: Seconds from the write after which the entry expires; at least 60. Applied on write.
        type: int
      expiration:
        description: Epoch time at which the entry expires. Applied on write.
        type: int
      base64:
        description: The value is base64-encoded binary data.
        type: bool
        default: false
  keys:
    description:
      - Several keys to delete at once (O(state=absent)).
    type: list
    elements: str
  state:
    description:
      - V(present) writes O(key) or O(entries) where they differ.
      - V(absent) deletes O(key) or O(keys) where they exist.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Expiration (O(expiration_ttl), O(expiration)) is applied when an entry is written and is not
    compared; an existing key whose value and metadata match is reported unchanged.
  - With O(entries) or O(keys) the module lists the namespace's keys, one call per 1,000 keys.
  - O(value) is not masked in the output. For secret data, set C(no_log) on the task.
seealso:
  - module: cfops.cloudflare.kv_namespace
"""

EXAMPLES = r"""
- name: Write one entry
  cfops.cloudflare.kv_entry:
    namespace: books-api-prod-cache
    key: config/feature-flags
    value: "{{ {'search': true} | to_json }}"
    metadata:
      owner: books-team

- name: Seed many entries in bulk
  cfops.cloudflare.kv_entry:
    namespace: books-api-prod-cache
    entries:
      - key: book:1
        value: '{"title": "Dune"}'
      - key: book:2
        value: '{"title": "Emma"}'
        expiration_ttl: 86400

- name: Delete entries
  cfops.cloudflare.kv_entry:
    namespace_id: 0f2ac74b498b48028cb68387c421e279
    keys: [book:1, book:2]
    state: absent
"""

RETURN = r"""
namespace_id:
  description: The id of the namespace.
  returned: success
  type: str
  sample: 0f2ac74b498b48028cb68387c421e279
keys_added:
  description: Keys written that did not exist, sorted.
  returned: success
  type: list
  elements: str
  sample: [book:2]
keys_changed:
  description: Existing keys written because their value or metadata differed, sorted.
  returned: success
  type: list
  elements: str
  sample: [book:1]
keys_removed:
  description: Keys deleted, sorted.
  returned: success
  type: list
  elements: str
  sample: []
api_calls:
  description: The number of Cloudflare API calls the module made.
  returned: always
  type: dict
  contains:
    reads:
      description: Calls that read.
      type: int
      returned: always
      sample: 2
    writes:
      description: Calls that wrote.
      type: int
      returned: always
      sample: 1
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._kv import (
    BULK_DELETE_MAX_KEYS,
    BULK_GET_MAX_KEYS,
    KEY_NOT_FOUND_CODE,
    KEYS_LIST_LIMIT,
    NAMESPACES_PER_PAGE,
    bulk_write_item,
    chunk_bulk_write,
    chunks,
    digest_view,
    find_namespace_by_title,
    namespaces_path,
    normalise_entries,
    plan_entries,
    validate_key,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule

ENTRY_OPTIONS = ("key", "value", "metadata", "expiration_ttl", "expiration", "base64")


class KVEntryModule(CloudflareModule):

    namespace_id = None

    def execute(self):
        params = self.params
        if params["state"] == "present":
            if params["keys"] is not None:
                raise InvalidInputError("keys lists keys to delete (state=absent); to write several entries use entries")
            if params["key"] is not None and params["value"] is None:
                raise InvalidInputError("value is required with key when state is present")
            items = params["entries"] if params["entries"] is not None else [{o: params[o] for o in ENTRY_OPTIONS}]
            self.entries = normalise_entries(items, time.time, option="entries" if params["entries"] is not None else "key")
        else:
            if params["entries"] is not None:
                raise InvalidInputError("entries lists entries to write (state=present); to delete several keys use keys")
            self.delete_keys = [params["key"]] if params["key"] is not None else params["keys"]
            for index, key in enumerate(self.delete_keys):
                validate_key(key, "key" if params["key"] is not None else "keys[%d]" % index)
        self.namespace_id = self.resolve_namespace()
        self.result["namespace_id"] = self.namespace_id
        super().execute()

    def resolve_namespace(self):
        if self.params["namespace_id"]:
            return self.params["namespace_id"]
        namespaces = self.client.list_pages(namespaces_path(self.account_id), per_page=NAMESPACES_PER_PAGE)
        namespace = find_namespace_by_title(namespaces, self.params["namespace"])
        if namespace is None:
            raise InvalidInputError("no KV namespace titled %r in account %s (create it with cfops.cloudflare.kv_namespace)"
                                    % (self.params["namespace"], self.account_id))
        return namespace["id"]

    def path(self, *rest):
        return namespaces_path(self.account_id, self.namespace_id, *rest)

    def namespace_missing(self, exc):
        return InvalidInputError("KV namespace %s does not exist in account %s (%s)" % (self.namespace_id, self.account_id, exc))

    def read_entry(self, key):
        """``{value_bytes, metadata}`` of one key, or None when it does not exist."""
        try:
            response = self.client.get_raw(self.path("values", key))
        except CloudflareAPIError as exc:
            if exc.status != 404:
                raise
            if exc.has_code(KEY_NOT_FOUND_CODE):
                return None
            raise self.namespace_missing(exc) from None
        return {"value_bytes": response.content, "metadata": self.client.get(self.path("metadata", key))}

    def list_keys(self):
        """``{key: metadata}`` of every key in the namespace."""
        try:
            listed = self.client.list_cursor(self.path("keys"), limit=KEYS_LIST_LIMIT)
        except CloudflareAPIError as exc:
            if exc.status == 404:
                raise self.namespace_missing(exc) from None
            raise
        return {item["name"]: item.get("metadata") for item in listed}

    def read_entries(self, keys, base64_keys):
        """``{key: {value_bytes, metadata}}`` for those of ``keys`` that exist."""
        existing = self.list_keys()
        text_keys = [key for key in keys if key in existing and key not in base64_keys]
        current = {}
        for batch in chunks(text_keys, BULK_GET_MAX_KEYS):
            result = self.client.post(self.path("bulk", "get"), json={"keys": batch, "type": "text"}, read_only=True) or {}
            for key, value in (result.get("values") or {}).items():
                if value is not None:
                    current[key] = {"value_bytes": value.encode("utf-8"), "metadata": existing[key]}
        # Binary values do not survive the text bulk read; read them one by one.
        for key in sorted(k for k in keys if k in existing and k in base64_keys):
            entry = self.read_entry(key)
            if entry is not None:
                current[key] = entry
        return current

    def present(self):
        if self.params["entries"] is None:
            key = self.entries[0]["key"]
            found = self.read_entry(key)
            current = {key: found} if found is not None else {}
        else:
            current = self.read_entries([entry["key"] for entry in self.entries],
                                        {entry["key"] for entry in self.entries if entry["base64"]})
        added, changed = plan_entries(self.entries, current)
        to_write = sorted(added + changed, key=lambda entry: entry["key"])
        if to_write:
            self.mark_changed()
            if not self.check_mode:
                for batch in chunk_bulk_write([bulk_write_item(entry) for entry in to_write]):
                    self.client.put(self.path("bulk"), json=batch)
        self.set_diff(
            {entry["key"]: digest_view(current[entry["key"]]["value_bytes"], current[entry["key"]]["metadata"]) for entry in changed},
            {entry["key"]: digest_view(entry["value_bytes"], entry["metadata"]) for entry in to_write},
        )
        self.result.update(keys_added=sorted(e["key"] for e in added), keys_changed=sorted(e["key"] for e in changed), keys_removed=[])

    def absent(self):
        if self.params["key"] is not None:
            found = self.read_entry(self.params["key"])
            current = {self.params["key"]: found} if found is not None else {}
            to_delete = sorted(current)
            digests = {key: digest_view(entry["value_bytes"], entry["metadata"]) for key, entry in current.items()}
        else:
            existing = self.list_keys()
            to_delete = sorted(set(self.delete_keys) & set(existing))
            digests = {key: {"metadata": existing[key] or None} for key in to_delete}
        if to_delete:
            self.mark_changed()
            if not self.check_mode:
                for batch in chunks(to_delete, BULK_DELETE_MAX_KEYS):
                    self.client.post(self.path("bulk", "delete"), json=batch, idempotent=True)
        self.set_diff(digests, {})
        self.result.update(keys_added=[], keys_changed=[], keys_removed=to_delete)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            namespace_id=dict(type="str"),
            namespace=dict(type="str"),
            key=dict(type="str", no_log=False),
            value=dict(type="str"),
            metadata=dict(type="dict"),
            expiration_ttl=dict(type="int"),
            expiration=dict(type="int"),
            base64=dict(type="bool", default=False),
            entries=dict(
                type="list", elements="dict",
                options=dict(
                    key=dict(type="str", required=True, no_log=False),
                    value=dict(type="str", required=True),
                    metadata=dict(type="dict"),
                    expiration_ttl=dict(type="int"),
                    expiration=dict(type="int"),
                    base64=dict(type="bool", default=False),
                ),
            ),
            keys=dict(type="list", elements="str", no_log=False),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        mutually_exclusive=[("namespace_id", "namespace"), ("key", "entries", "keys"),
                            ("value", "entries"), ("value", "keys")],
        required_one_of=[("namespace_id", "namespace"), ("key", "entries", "keys")],
        supports_check_mode=True,
    )
    KVEntryModule(module).run()


if __name__ == "__main__":
    main()
