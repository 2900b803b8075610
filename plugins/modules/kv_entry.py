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
    O(value)) or many at once (O(entries) or O(src) to write, O(keys) to delete).
  - With O(exclusive=true) the namespace ends up holding exactly the keys of O(entries) or O(src);
    the other keys are deleted (in bulk calls of 10,000 keys).
  - Idempotent. Only the entries whose value or metadata differ are written, in bulk calls of up to
    10,000 entries and under 100 MB each; only keys that exist are deleted.
  - Reads use as few calls as possible. One entry costs a value read and a metadata read. N entries
    cost a key listing (ceil(K/1000) calls for K keys in the namespace) and value reads of 100 keys per
    call (C(POST .../bulk/get) with metadata) for the keys that exist; values that are not UTF-8 cost one
    more read each. Comparing values read this way is cheaper than rewriting (KV has no value hashes).
    With O(digest=true) a no-op reads only the key listing.
  - Value reads run at most 4 at a time, each with the module's retry options (O(api_max_retries),
    O(api_max_retry_time)) and the controller's shared API budget.
  - Memory stays bounded whatever the number of keys. O(src) is read one entry at a time (a top-level
    list or mapping of a JSON or YAML file, a C(.jsonl) file line by line); the entries and the key listing
    are compared in a temporary SQLite file in the module's temporary directory, in any order; writes and
    deletions are sent as each bulk request fills. That file takes about the size of the entries on disk.
  - Every entry is checked against Cloudflare's limits before any write (key up to 512 bytes,
    value up to 25 MiB, metadata up to 1,024 bytes serialised, O(expiration_ttl) at least 60);
    the error names the key.
  - The diff lists the keys added, changed and removed with a SHA-256 digest of their values and
    their metadata; with O(secret=false) it shows text values too. It is built only with C(--diff).
  - The result names at most O(changes_limit) keys of each kind; RV(counts) has the totals.
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
  src:
    description:
      - A file or directory of entries to write at once (O(state=present)), on the host where the module runs.
      - A C(.json), C(.yaml) or C(.yml) file holds either a list of entries (the fields of O(entries)) or a
        mapping of key to string value.
      - A C(.jsonl) file is a M(cfops.cloudflare.kv_export) file.
      - The entries may come in any order; a key listed twice is refused before any write.
      - A directory makes one entry per regular file, recursively; the key is the file's path relative to
        O(src) with C(/) separators (C(src/config/flags.json) becomes key C(config/flags.json)). A file
        whose contents are valid UTF-8 becomes a text value, any other a binary (base64) value.
    type: path
  exclusive:
    description:
      - With O(entries) or O(src), delete every other key of the namespace.
    type: bool
    default: false
  secret:
    description:
      - The values are secret, so the diff shows only their SHA-256 digests. With V(false) the diff also
        shows text values; values given in O(value) or O(entries[].value) are masked by Ansible wherever
        they would show (C(no_log)) whatever this option says, so V(false) shows the values read from
        O(src) and the current values the entries replace.
    type: bool
    default: true
  digest:
    description:
      - Store the SHA-256 of each value written in the key's metadata (field C(cfops_sha256)), next to
        O(metadata) / C(entries[].metadata), so that a later run compares from the key listing alone
        (list pages carry each key's metadata, 1,000 keys a page) and reads no value. A no-op of N keys
        costs about N / 1,000 list calls instead of N / 100 value reads.
      - The first run with V(true) rewrites every key that has no digest yet. Readers of the metadata
        (Workers, other tools) see the extra field. Metadata with the digest must stay within KV's 1,024 bytes.
      - A value changed by another tool without updating the digest is not noticed; use V(false) when others write the namespace.
    type: bool
    default: false
    version_added: 1.2.0
  changes_limit:
    description:
      - At most this many keys in each of RV(keys_added), RV(keys_changed) and RV(keys_removed), the first
        in sorted order. RV(counts) always has the totals and RV(changes_truncated) says whether a list was cut.
      - With C(--diff) or verbosity 3 (C(-vvv)) and above, the lists are complete.
      - V(0) returns empty lists. The same option as M(cfops.cloudflare.dns_records) has.
    type: int
    default: 100
    version_added: 1.2.0
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
  - O(value) and O(entries[].value) are masked in the output (C(no_log)), also at C(-vvv).
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

- name: Load a directory of files, one key each, and delete every other key
  cfops.cloudflare.kv_entry:
    namespace: books-api-prod-config
    src: "{{ playbook_dir }}/files/kv-config/"
    exclusive: true

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
  description:
    - Keys written that did not exist, sorted (in check mode, that would be written).
    - At most O(changes_limit) of them unless the task runs with C(--diff) or C(-vvv); RV(counts) has the total.
  returned: success
  type: list
  elements: str
  sample: [book:2]
keys_changed:
  description:
    - Existing keys written because their value or metadata differed, sorted.
    - At most O(changes_limit) of them unless the task runs with C(--diff) or C(-vvv); RV(counts) has the total.
  returned: success
  type: list
  elements: str
  sample: [book:1]
keys_removed:
  description:
    - Keys deleted, sorted.
    - At most O(changes_limit) of them unless the task runs with C(--diff) or C(-vvv); RV(counts) has the total.
  returned: success
  type: list
  elements: str
  sample: []
counts:
  description: How many keys were (or in check mode would be) added, changed and removed.
  returned: success
  type: dict
  sample: {added: 1, changed: 1, removed: 0}
  version_added: 1.2.0
changes_truncated:
  description: Whether RV(keys_added), RV(keys_changed) or RV(keys_removed) was cut at O(changes_limit).
  returned: success
  type: bool
  sample: false
  version_added: 1.2.0
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
from ansible.module_utils.common.yaml import yaml_load

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._kv import (
    BULK_DELETE_MAX_KEYS,
    BULK_GET_MAX_KEYS,
    KEY_NOT_FOUND_CODE,
    BulkWriter,
    ChangeReport,
    ReadPool,
    Staging,
    batched,
    bulk_get,
    bulk_write_item,
    digest_view,
    entry_matches,
    iter_key_pages,
    iter_src,
    namespaces_path,
    normalise_entry,
    read_client_factory,
    resolve_namespace_id,
    validate_key,
    with_digest,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule

ENTRY_OPTIONS = ("key", "value", "metadata", "expiration_ttl", "expiration", "base64")


class KVEntryModule(CloudflareModule):

    namespace_id = None
    staging = None

    def execute(self):
        params = self.params
        if params["changes_limit"] < 0:
            raise InvalidInputError("changes_limit must be 0 or more, got %d" % params["changes_limit"])
        # Full lists only when asked (--diff, -vvv), as dns_records: a million-key sync must not echo megabytes.
        limit = None if self.module._diff or self.module._verbosity >= 3 else params["changes_limit"]
        self.report = ChangeReport(limit, with_diff=self.module._diff)
        if params["state"] == "present":
            if params["keys"] is not None:
                raise InvalidInputError("keys lists keys to delete (state=absent); to write several entries use entries")
            if params["key"] is not None and params["value"] is None:
                raise InvalidInputError("value is required with key when state is present")
            if params["exclusive"] and params["key"] is not None:
                raise InvalidInputError("exclusive needs the whole set of entries: use entries or src, not key")
            if params["key"] is not None:
                self.entry = self.checked({option: params[option] for option in ENTRY_OPTIONS}, "key")
        else:
            if params["entries"] is not None or params["src"] is not None:
                raise InvalidInputError("entries and src list entries to write (state=present); to delete several keys use keys")
            if params["exclusive"]:
                raise InvalidInputError("exclusive applies to state=present with entries or src")
            self.delete_keys = [params["key"]] if params["key"] is not None else params["keys"]
            for index, key in enumerate(self.delete_keys):
                validate_key(key, "key" if params["key"] is not None else "keys[%d]" % index)
        try:
            if params["state"] == "present" and params["key"] is None:
                self.stage_entries()  # every entry checked, duplicates refused: before any call
            self.namespace_id = self.resolve_namespace()
            self.result["namespace_id"] = self.namespace_id
            super().execute()
        finally:
            if self.staging is not None:
                self.staging.close()
        self.result.update(self.report.result())
        if self.report.before is not None:
            self.set_diff(self.report.before, self.report.after)

    def checked(self, item, where):
        entry = normalise_entry(item, time.time, where)
        return with_digest(entry, where) if self.params["digest"] else entry

    def stage_entries(self):
        """The wanted entries, streamed from src (or entries) into an SQLite file: memory bounded whatever N."""
        if self.params["src"] is not None:
            items = iter_src(self.params["src"], yaml_load)
        else:
            items = (("entries[%d]" % index, item) for index, item in enumerate(self.params["entries"]))
        self.staging = Staging(getattr(self.module, "tmpdir", None))
        for where, item in items:
            self.staging.add_wanted(self.checked(item, where), where)
        self.staging.commit()

    def resolve_namespace(self):
        return resolve_namespace_id(self.client, self.account_id, self.params["namespace_id"], self.params["namespace"])

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

    def key_pages(self):
        """Pages of the namespace's key listing (``[{name, metadata?}]``), 1,000 keys a call."""
        try:
            yield from iter_key_pages(self.client, self.path("keys"))
        except CloudflareAPIError as exc:
            if exc.status == 404:
                raise self.namespace_missing(exc) from None
            raise

    def send_writes(self, items):
        self.client.put(self.path("bulk"), json=items)

    def send_deletes(self, keys):
        self.client.post(self.path("bulk", "delete"), json=keys, idempotent=True)

    def present(self):
        try:
            if self.params["key"] is not None:
                self.present_one(self.entry)
            else:
                self.present_many()
        except CloudflareAPIError as exc:
            # A missing namespace may also answer a key read with 10009 (wrangler's tests mock it so): the write says.
            if exc.status == 404:
                raise self.namespace_missing(exc) from None
            raise

    def present_one(self, entry):
        current = self.read_entry(entry["key"])
        if entry_matches(entry, current):
            return
        self.mark_changed()
        if current is None:
            self.report.add("added", entry["key"], after=self.diff_view(entry["value_bytes"], entry["metadata"]))
        else:
            self.report.add("changed", entry["key"], before=self.diff_view(current["value_bytes"], current["metadata"]),
                            after=self.diff_view(entry["value_bytes"], entry["metadata"]))
        if not self.check_mode:
            self.send_writes([bulk_write_item(entry)])

    def present_many(self):
        """Stream the comparison: the listing into the staging file, then added, changed and removed keys in
        sorted order, each written or deleted in bulk requests as they fill."""
        staging = self.staging
        for page in self.key_pages():
            staging.add_listed(page)
        staging.commit()
        writer = BulkWriter(None if self.check_mode else self.send_writes)
        for key, entry in staging.added():
            self.report.add("added", key, after=self.diff_view(entry["value_bytes"], entry["metadata"]))
            writer.add(bulk_write_item(entry))
        pool = ReadPool(self.client, read_client_factory(self.params, self.client))
        try:
            for kind, entry, current in self.existing_to_write(pool):
                before = self.diff_view(current["value_bytes"], current["metadata"]) if current else None
                self.report.add(kind, entry["key"], before=before, after=self.diff_view(entry["value_bytes"], entry["metadata"]))
                writer.add(bulk_write_item(entry))
        finally:
            pool.close()
        writer.flush()
        if self.params["exclusive"]:
            self.delete((key, {"metadata": metadata or None}) for key, metadata in staging.removed())
        if self.report.changed:
            self.mark_changed()

    def existing_to_write(self, pool):
        """``(kind, entry, current)`` for each listed wanted key to write, sorted: ``changed`` when it holds another
        value or metadata, ``added`` when it went (deleted or expired) since it was listed.

        digest=true: the listing's metadata (digest included) decides and no value is read; ``current`` is read
        (for the diff's "before") only with --diff. Otherwise values are read 100 keys a call through the pool."""
        digest = self.params["digest"]
        rows = self.staging.existing(stale_only=digest)
        if digest and self.report.before is None:
            for _key, entry, _listed in rows:
                yield "changed", entry, None
            return

        def read(client, batch):
            return bulk_get(client, self.path(), [key for key, _entry, _listed in batch])
        for batch, found in pool.map(read, batched(rows, BULK_GET_MAX_KEYS)):
            for key, entry, _listed in batch:
                current = found.get(key)
                if current is None:
                    yield "added", entry, None
                elif digest or not entry_matches(entry, current):
                    yield "changed", entry, current

    def diff_view(self, value_bytes, metadata):
        if self.report.before is None:
            return None  # the diff is built only when it is shown
        view = digest_view(value_bytes, metadata)
        if not self.params["secret"]:
            try:
                view["value"] = value_bytes.decode("utf-8")
            except UnicodeDecodeError:
                pass  # binary: the digest says enough
        return view

    def delete(self, keys_and_views):
        """Delete ``(key, before_view)`` in bulk calls of 10,000 keys as they come (sorted)."""
        pending = []
        for key, view in keys_and_views:
            self.report.add("removed", key, before=view if self.report.before is not None else None)
            pending.append(key)
            if len(pending) >= BULK_DELETE_MAX_KEYS:
                self.flush_deletes(pending)
                pending = []
        self.flush_deletes(pending)

    def flush_deletes(self, keys):
        if keys:
            self.mark_changed()
            if not self.check_mode:
                self.send_deletes(keys)

    def absent(self):
        if self.params["key"] is not None:
            found = self.read_entry(self.params["key"])
            views = [(self.params["key"], digest_view(found["value_bytes"], found["metadata"]))] if found else []
        else:
            wanted = set(self.delete_keys)
            listed = {}
            for page in self.key_pages():
                listed.update((item["name"], item.get("metadata")) for item in page if item["name"] in wanted)
            views = [(key, {"metadata": listed[key] or None}) for key in sorted(listed)]
        self.delete(views)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            namespace_id=dict(type="str"),
            namespace=dict(type="str"),
            key=dict(type="str", no_log=False),
            value=dict(type="str", no_log=True),
            metadata=dict(type="dict"),
            expiration_ttl=dict(type="int"),
            expiration=dict(type="int"),
            base64=dict(type="bool", default=False),
            entries=dict(
                type="list", elements="dict",
                options=dict(
                    key=dict(type="str", required=True, no_log=False),
                    value=dict(type="str", required=True, no_log=True),
                    metadata=dict(type="dict"),
                    expiration_ttl=dict(type="int"),
                    expiration=dict(type="int"),
                    base64=dict(type="bool", default=False),
                ),
            ),
            keys=dict(type="list", elements="str", no_log=False),
            src=dict(type="path"),
            exclusive=dict(type="bool", default=False),
            secret=dict(type="bool", default=True),
            digest=dict(type="bool", default=False),
            changes_limit=dict(type="int", default=100),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        mutually_exclusive=[("namespace_id", "namespace"), ("key", "entries", "keys", "src"),
                            ("value", "entries"), ("value", "keys"), ("value", "src")],
        required_one_of=[("namespace_id", "namespace"), ("key", "entries", "keys", "src")],
        supports_check_mode=True,
    )
    KVEntryModule(module).run()


if __name__ == "__main__":
    main()
