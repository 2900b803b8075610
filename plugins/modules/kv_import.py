#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kv_import
short_description: Restore a Workers KV namespace from a kv_export file
version_added: 1.1.0
description:
  - Reads a file written by M(cfops.cloudflare.kv_export) (JSON Lines, format version 1) and writes
    the keys whose value or metadata differ from what the namespace holds, so a re-run writes nothing.
  - With O(exclusive=true) the keys of the namespace that are not in the file are deleted, making
    the namespace equal to the file.
  - Every line is checked first (JSON, key, value up to 25 MiB, metadata, duplicates) and the error
    names the line and key; nothing is written when one is wrong.
  - Streams. The file is read twice (check, then import); keys are listed once (1,000 per call),
    current values are read 100 per call (C(POST .../bulk/get)), writes go in bulk calls of up to 10,000
    entries and under 100 MB, deletes in bulk calls of 10,000 keys. Only one write chunk is held in memory.
  - An entry whose C(expiration) is less than 60 seconds away is skipped (KV refuses it) and counted in RV(skipped_expired);
    other expirations are written as they are. Expiration is not compared, so a key whose value and metadata
    match is not rewritten.
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
options:
  namespace_id:
    description:
      - The id of the namespace. One of O(namespace_id) and O(namespace) is required.
    type: str
  namespace:
    description:
      - The title of the namespace, resolved to its id.
    type: str
  src:
    description:
      - The kv_export file.
    type: path
    required: true
  exclusive:
    description:
      - Delete the keys of the namespace that are not in the file.
    type: bool
    default: false
seealso:
  - module: cfops.cloudflare.kv_export
"""

EXAMPLES = r"""
- name: Restore the cache namespace exactly as backed up
  cfops.cloudflare.kv_import:
    namespace: books-api-prod-cache
    src: /backups/2026-01-01/kv-books-api-prod-cache.jsonl
    exclusive: true
"""

RETURN = r"""
key_changes:
  description: Counts of the keys C(added), C(changed) (rewritten), C(removed), C(unchanged) and C(skipped_expired).
  returned: success
  type: dict
  sample: {"added": 10, "changed": 2, "removed": 1, "unchanged": 49987, "skipped_expired": 0}
skipped_expired:
  description: Entries not written because their expiration has passed or is less than 60 seconds away.
  returned: success
  type: int
  sample: 0
namespace_id:
  description: The id of the namespace.
  returned: success
  type: str
  sample: 0f2ac74b498b48028cb68387c421e279
api_calls:
  description: The number of Cloudflare API calls the module made.
  returned: always
  type: dict
  contains:
    reads:
      description: Calls that read.
      type: int
      returned: always
      sample: 550
    writes:
      description: Calls that wrote.
      type: int
      returned: always
      sample: 5
"""

import json
import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._kv import (
    BULK_DELETE_MAX_KEYS,
    BULK_GET_MAX_KEYS,
    BULK_WRITE_MAX_BYTES,
    BULK_WRITE_MAX_ITEMS,
    EXPIRATION_TTL_MIN,
    chunks,
    iter_export_file,
    list_all_keys,
    namespaces_path,
    normalise_entry,
    resolve_namespace_id,
    write_plan,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule


class KVImportModule(CloudflareModule):

    def execute(self):
        src = self.params["src"]
        if not os.path.isfile(src):
            raise InvalidInputError("src %s is not a file" % src)
        file_keys = self.check_file(src)
        namespace_id = resolve_namespace_id(self.client, self.account_id, self.params["namespace_id"], self.params["namespace"])
        self.path = namespaces_path(self.account_id, namespace_id)
        existing = list_all_keys(self.client, self.path)
        self.counts = {"added": 0, "changed": 0, "removed": 0, "unchanged": 0, "skipped_expired": 0}
        self.import_entries(src, existing)
        to_delete = sorted(set(existing) - file_keys) if self.params["exclusive"] else []
        self.counts["removed"] = len(to_delete)
        if to_delete:
            self.mark_changed()
            if not self.check_mode:
                for batch in chunks(to_delete, BULK_DELETE_MAX_KEYS):
                    self.client.post(self.path + "/bulk/delete", json=batch, idempotent=True)
        after = {"added": self.counts["added"], "changed": self.counts["changed"], "removed": to_delete}
        self.set_diff({"keys": len(existing)}, after)
        self.result.update(key_changes=dict(self.counts), skipped_expired=self.counts["skipped_expired"], namespace_id=namespace_id)

    def check_file(self, src):
        """Validate every line before any write; returns the set of keys in the file."""
        keys = set()
        for where, entry in iter_export_file(src):
            if entry["expiration"] is not None and entry["expiration"] < time.time() + EXPIRATION_TTL_MIN:
                entry = dict(entry, expiration=None)  # skipped at import; the rest must still be valid
            normalise_entry(entry, time.time, where)
            if entry["key"] in keys:
                raise InvalidInputError("%s: key %r is listed twice" % (where, entry["key"]))
            keys.add(entry["key"])
        return keys

    def import_entries(self, src, existing):
        pending, pending_bytes = [], 0
        batch = []
        for where, entry in iter_export_file(src):
            if entry["expiration"] is not None and entry["expiration"] < time.time() + EXPIRATION_TTL_MIN:
                self.counts["skipped_expired"] += 1
                continue
            batch.append(normalise_entry(entry, time.time, where))
            if len(batch) >= BULK_GET_MAX_KEYS:
                pending, pending_bytes = self.plan(batch, existing, pending, pending_bytes)
                batch = []
        pending, pending_bytes = self.plan(batch, existing, pending, pending_bytes)
        self.flush(pending)

    def plan(self, batch, existing, pending, pending_bytes):
        """Add the differing entries of ``batch`` to ``pending``; flush it when a bulk write is full."""
        items, _added, _changed = write_plan(self.client, self.path, batch, existing, self.counts)
        for item in items:
            size = len(json.dumps(item)) + 2  # as the request body will carry it (ASCII JSON)
            if pending and (len(pending) >= BULK_WRITE_MAX_ITEMS or pending_bytes + size >= BULK_WRITE_MAX_BYTES):
                self.flush(pending)
                pending, pending_bytes = [], 0
            pending.append(item)
            pending_bytes += size
        return pending, pending_bytes

    def flush(self, items):
        if not items:
            return
        self.mark_changed()
        if not self.check_mode:
            self.client.put(self.path + "/bulk", json=items)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            namespace_id=dict(type="str"),
            namespace=dict(type="str"),
            src=dict(type="path", required=True),
            exclusive=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("namespace_id", "namespace")],
        required_one_of=[("namespace_id", "namespace")],
        supports_check_mode=True,
    )
    KVImportModule(module).run()


if __name__ == "__main__":
    main()
