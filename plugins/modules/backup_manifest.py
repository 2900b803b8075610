#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: backup_manifest
short_description: Write or verify the manifest of a backup set
version_added: 1.1.0
description:
  - A backup set is a directory of exported files (KV namespaces, D1 dumps, R2 objects).
    Its manifest, C(manifest.json), lists every file with its size and SHA-256 and what each item is.
  - With O(state=present) the module computes the checksums (SHA-256 and MD5, streaming, a few files at once) and
    writes the manifest last, so a set without a manifest is known to be partial.
  - With O(state=verified) it refuses the set unless it cannot lie, naming every problem found
    (RV(problems)) - before anything reads a file of it. The set and everything in it are real directories and
    regular files (no symlink, none followed); every path the manifest lists is relative and normalised (no
    C(.), C(..), empty segments or backslashes), so inside the set, and listed once (the JSON has no duplicate
    keys); the files on disk are exactly the listed ones, each with its size, SHA-256 and MD5; every item has a
    known kind (V(kv), V(d1), V(r2)) and name, and its files are manifest files in its kind's directory (one for
    KV and D1), owned by no other item, whose sizes add up to the item's C(bytes).
  - It works on local files only and takes no Cloudflare credentials.
author:
  - cfops platform team (@cfops)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: With O(state=present) the manifest is computed and returned but not written.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
options:
  path:
    description: The backup set's directory.
    type: path
    required: true
  state:
    description:
      - V(present) writes C(manifest.json); V(verified) checks the set against it.
    type: str
    choices: [present, verified]
    default: present
  items:
    description:
      - What the set holds, one entry per backed-up object; written into the manifest as given.
      - Each entry names its C(kind) (V(kv), V(d1) or V(r2)), its C(name) and the C(files) (paths relative to
        O(path)) that hold it; other keys are kept as given. KV items have one C(kv/*.jsonl) file, D1 items one
        C(d1/*.sql) file, R2 items the files under C(r2/<name>/) and optionally C(r2/<name>.objects.jsonl).
      - An entry may give C(directories) (paths relative to O(path)) instead of, or besides, C(files); every file
        below them is added to its C(files), so an R2 bucket's objects need not be listed one by one.
      - Required with O(state=present).
    type: list
    elements: dict
    default: []
  metadata:
    description: Extra fields for the manifest (environment, creator, retention, ...).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Write the manifest of a backup set
  cfops.cloudflare.backup_manifest:
    path: /var/backups/cloudflare/prod/20261123T020000Z
    items:
      - kind: kv
        name: books-api-prod-cache
        files: [kv/books-api-prod-cache.jsonl]
    metadata:
      environment: prod
  register: manifest

- name: Refuse a set whose files do not match its manifest
  cfops.cloudflare.backup_manifest:
    path: /var/backups/cloudflare/prod/20261123T020000Z
    state: verified
"""

RETURN = r"""
manifest:
  description:
    - The manifest (as written, or as read when verifying).
    - >-
      It also holds C(items), the O(items) given when it was written (a list of dicts). Read it as
      C(result.manifest['items']); C(items) is a method of every dict in Jinja, so C(result.manifest.items)
      is not the list.
  returned: success
  type: dict
  contains:
    format:
      description: Manifest format version (2 adds each file's C(md5); sets of format 1 are still verified).
      type: int
      sample: 2
    set:
      description: The set's name (its directory name).
      type: str
      sample: 20261123T020000Z
    created:
      description: When the manifest was written (UTC, ISO 8601).
      type: str
    files:
      description: Every file of the set, by path relative to the set, with C(bytes), C(sha256) and C(md5).
      type: dict
    total_bytes:
      description: Sum of the files' sizes.
      type: int
path:
  description: Path of C(manifest.json).
  returned: success
  type: str
problems:
  description: With O(state=verified), every reason the set was refused.
  returned: failure
  type: list
  elements: str
  sample: ["../outside.jsonl is not normalised ('.', '..' or empty segments) or leaves the set"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cfops.cloudflare.plugins.module_utils._backup import (
    SetError,
    build_manifest,
    verify_set,
    write_manifest,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            state=dict(type="str", choices=["present", "verified"], default="present"),
            items=dict(type="list", elements="dict", default=[]),
            metadata=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )
    root = module.params["path"]
    try:
        if module.params["state"] == "present":
            manifest = build_manifest(root, module.params["items"], module.params["metadata"])
            if not module.check_mode:
                write_manifest(root, manifest)
            module.exit_json(changed=True, manifest=manifest, path="%s/manifest.json" % root)
        manifest = verify_set(root)
    except SetError as exc:
        module.fail_json(msg=exc.message, problems=exc.problems)
    module.exit_json(changed=False, manifest=manifest, path="%s/manifest.json" % root)


if __name__ == "__main__":
    main()
