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
  - With O(state=present) the module computes the checksums (streaming, one file at a time) and writes the
    manifest last, so a set without a manifest is known to be partial.
  - With O(state=verified) it checks that the manifest exists, that every file it lists is there with the
    same size and SHA-256, and that no unlisted file was added; it fails naming every mismatch.
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
      - Each entry should name its C(kind) (for example V(kv), V(d1), V(r2)), its C(name) and the C(files)
        (paths relative to O(path)) that hold it; other keys are kept as given.
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
  description: The manifest (as written, or as read when verifying).
  returned: success
  type: dict
  contains:
    format:
      description: Manifest format version.
      type: int
      sample: 1
    set:
      description: The set's name (its directory name).
      type: str
      sample: 20261123T020000Z
    created:
      description: When the manifest was written (UTC, ISO 8601).
      type: str
    items:
      description: The O(items) given when it was written.
      type: list
      elements: dict
    files:
      description: Every file of the set, by path relative to the set, with C(bytes) and C(sha256).
      type: dict
    total_bytes:
      description: Sum of the files' sizes.
      type: int
path:
  description: Path of C(manifest.json).
  returned: success
  type: str
"""

import datetime
import hashlib
import json
import os

from ansible.module_utils.basic import AnsibleModule

MANIFEST = "manifest.json"
FORMAT = 1
CHUNK = 1024 * 1024


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def set_files(root):
    """Relative paths of every file of the set except the manifest, sorted."""
    found = []
    for directory, _dirs, files in os.walk(root):
        for name in files:
            relative = os.path.relpath(os.path.join(directory, name), root).replace(os.sep, "/")
            if relative != MANIFEST and not relative.endswith(".partial"):
                found.append(relative)
    return sorted(found)


def file_entries(root):
    entries = {}
    for relative in set_files(root):
        full = os.path.join(root, relative)
        entries[relative] = {"bytes": os.path.getsize(full), "sha256": sha256_of(full)}
    return entries


def write_manifest(module, root):
    listed = [f for item in module.params["items"] for f in (item.get("files") or [])]
    missing = sorted(f for f in listed if not os.path.isfile(os.path.join(root, f)))
    if missing:
        module.fail_json(msg="backup set %s is incomplete: items name files that do not exist: %s" % (root, ", ".join(missing)))
    files = file_entries(root)
    manifest = dict(module.params["metadata"])
    manifest.update({
        "format": FORMAT,
        "set": os.path.basename(os.path.normpath(root)),
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "items": module.params["items"],
        "files": files,
        "total_bytes": sum(entry["bytes"] for entry in files.values()),
    })
    path = os.path.join(root, MANIFEST)
    if not module.check_mode:
        partial = path + ".partial"
        with open(partial, "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(partial, path)  # a reader never sees half a manifest
    module.exit_json(changed=True, manifest=manifest, path=path)


def verify_manifest(module, root):
    path = os.path.join(root, MANIFEST)
    if not os.path.isfile(path):
        module.fail_json(msg="backup set %s has no %s: it is partial (the backup did not finish) or not a backup set" % (root, MANIFEST))
    try:
        with open(path, encoding="utf-8") as handle:
            manifest = json.load(handle)
    except ValueError as exc:
        module.fail_json(msg="backup set %s: %s is not valid JSON (%s)" % (root, MANIFEST, exc))
    expected = manifest.get("files") or {}
    problems = []
    present = set(set_files(root))
    for relative in sorted(expected):
        full = os.path.join(root, relative)
        if relative not in present:
            problems.append("%s is missing" % relative)
            continue
        size = os.path.getsize(full)
        if size != expected[relative].get("bytes"):
            problems.append("%s has %d bytes, the manifest says %s" % (relative, size, expected[relative].get("bytes")))
        elif sha256_of(full) != expected[relative].get("sha256"):
            problems.append("%s does not match its sha256 in the manifest" % relative)
    for relative in sorted(present - set(expected)):
        problems.append("%s is not in the manifest" % relative)
    if problems:
        module.fail_json(msg="backup set %s does not match its manifest, refusing it: %s" % (root, "; ".join(problems)),
                         problems=problems)
    module.exit_json(changed=False, manifest=manifest, path=path)


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
    if not os.path.isdir(root):
        module.fail_json(msg="backup set %s does not exist or is not a directory" % root)
    if module.params["state"] == "present":
        write_manifest(module, root)
    verify_manifest(module, root)


if __name__ == "__main__":
    main()
