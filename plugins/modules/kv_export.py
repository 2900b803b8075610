#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kv_export
short_description: Export every key of a Workers KV namespace, with values and metadata, to a file
version_added: 1.1.0
description:
  - Writes all keys of a namespace (or those under O(prefix)) with their values, metadata and
    expiration to O(dest) as JSON Lines, one key per line in key order (format version 1, described in
    the collection's C(docs/data.md)); restore it with M(cfops.cloudflare.kv_import).
  - Streams. Keys are listed 1,000 per call (cursor paging) and values read 100 per call
    (C(POST .../bulk/get) with metadata), at most 4 calls at a time (each with the module's retry options
    and the controller's shared API budget); at most 8 calls' values are held in memory.
    N keys cost ceil(N/1000) list calls and ceil(N/100) value calls, plus one call per value that is not UTF-8.
  - Values that are not valid UTF-8 are base64-encoded (C(base64) true on their line).
  - The file is written to a temporary file next to O(dest) and moved into place when complete.
    When O(dest) already holds the same bytes it is left alone and the task reports no change.
  - In check mode nothing is read or written.
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
attributes:
  diff_mode:
    support: none
    details: There is no diff; the export is written to O(dest) and C(changed) says whether a file was written.
options:
  namespace_id:
    description:
      - The id of the namespace. One of O(namespace_id) and O(namespace) is required.
    type: str
  namespace:
    description:
      - The title of the namespace, resolved to its id.
    type: str
  dest:
    description:
      - The file to write. Its directory must exist.
    type: path
    required: true
  prefix:
    description:
      - Export only the keys that start with this prefix.
    type: str
notes:
  - A key written while the export runs may or may not be in the file; KV has no snapshot.
seealso:
  - module: cfops.cloudflare.kv_import
  - module: cfops.cloudflare.kv_entry
"""

EXAMPLES = r"""
- name: Back up the cache namespace
  cfops.cloudflare.kv_export:
    namespace: books-api-prod-cache
    dest: "/backups/{{ backup_set }}/kv-books-api-prod-cache.jsonl"
  register: kv_dump
"""

RETURN = r"""
dest:
  description: The file written.
  returned: success
  type: str
  sample: /backups/2026-01-01/kv-books.jsonl
count:
  description: The number of keys exported.
  returned: success
  type: int
  sample: 50000
bytes:
  description: Size of the file in bytes.
  returned: success
  type: int
  sample: 7340032
sha256:
  description: SHA-256 of the file.
  returned: success
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
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
      sample: 0
"""

import hashlib
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._kv import (
    BULK_GET_MAX_KEYS,
    KEYS_LIST_LIMIT,
    ReadPool,
    batched,
    bulk_get,
    export_line,
    iter_key_pages,
    namespaces_path,
    read_client_factory,
    resolve_namespace_id,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


class KVExportModule(CloudflareModule):

    def execute(self):
        dest = self.params["dest"]
        directory = os.path.dirname(os.path.abspath(dest))
        if not os.path.isdir(directory):
            raise InvalidInputError("the directory of dest %s does not exist" % dest)
        self.result["dest"] = dest
        if self.check_mode:
            self.mark_changed()
            return
        namespace_id = resolve_namespace_id(self.client, self.account_id, self.params["namespace_id"], self.params["namespace"])
        self.result["namespace_id"] = namespace_id
        handle, temp_path = tempfile.mkstemp(prefix=".kv-export-", dir=directory)
        try:
            with os.fdopen(handle, "wb") as out:
                count, size, sha256 = self.write_entries(namespaces_path(self.account_id, namespace_id), out)
            changed = not (os.path.isfile(dest) and file_sha256(dest) == sha256)
            if changed:
                os.replace(temp_path, dest)
                self.mark_changed()
        finally:
            if os.path.exists(temp_path):
                os.remove(temp_path)
        self.result.update(count=count, bytes=size, sha256=sha256)

    def write_entries(self, namespace_path, out):
        digest = hashlib.sha256()
        count = size = 0
        pool = ReadPool(self.client, read_client_factory(self.params, self.client))
        try:
            names = (item["name"] for page in iter_key_pages(self.client, namespace_path + "/keys", KEYS_LIST_LIMIT,
                                                             self.params["prefix"]) for item in page)
            # Values read 100 keys a call, at most 4 calls at a time, written in the listing's order.
            for batch, values in pool.map(lambda client, batch: bulk_get(client, namespace_path, batch),
                                          batched(names, BULK_GET_MAX_KEYS)):
                for name in batch:
                    entry = values.get(name)
                    if entry is None:
                        continue  # deleted or expired since it was listed
                    line = export_line(name, entry["value_bytes"], entry["metadata"], entry["expiration"])
                    out.write(line)
                    digest.update(line)
                    size += len(line)
                    count += 1
        except CloudflareAPIError as exc:
            if exc.status == 404:
                raise InvalidInputError("KV namespace %s does not exist in account %s (%s)"
                                        % (namespace_path.rsplit("/", 1)[-1], self.account_id, exc)) from None
            raise
        finally:
            pool.close()
        return count, size, digest.hexdigest()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            namespace_id=dict(type="str"),
            namespace=dict(type="str"),
            dest=dict(type="path", required=True),
            prefix=dict(type="str"),
        ),
        mutually_exclusive=[("namespace_id", "namespace")],
        required_one_of=[("namespace_id", "namespace")],
        supports_check_mode=True,
    )
    KVExportModule(module).run()


if __name__ == "__main__":
    main()
