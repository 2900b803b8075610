#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: backup_sets
short_description: List backup sets and prune the ones older than the retention
version_added: 1.1.0
description:
  - Backup sets are directories named by their UTC start time (C(YYYYMMDDTHHMMSSZ)) under one directory per
    environment, each holding a C(manifest.json) once complete (see M(cfops.cloudflare.backup_manifest)).
  - Lists them newest first, and with O(state=pruned) deletes the complete sets older than O(retention_days).
    The newest O(keep_min) complete sets are never deleted, whatever their age, so a backup job that has been
    failing for a month does not leave you with nothing.
  - Partial sets (no manifest) older than the retention are deleted too, since they cannot be restored.
  - It works on local files only and takes no Cloudflare credentials.
author:
  - cfops platform team (@cfops)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: The diff lists the set names before and after pruning.
options:
  path:
    description: The directory that holds the sets (one environment's backups). Missing means no sets.
    type: path
    required: true
  state:
    description: V(listed) only lists; V(pruned) also deletes sets older than O(retention_days).
    type: str
    choices: [listed, pruned]
    default: listed
  retention_days:
    description: Age in days after which a set is pruned.
    type: int
    default: 30
  keep_min:
    description: How many of the newest complete sets are always kept.
    type: int
    default: 1
  now:
    description:
      - The time to measure ages from, as C(YYYYMMDDTHHMMSSZ); defaults to the current UTC time.
        Useful to preview what a later prune would delete.
    type: str
"""

EXAMPLES = r"""
- name: Prune prod backups older than 30 days
  cfops.cloudflare.backup_sets:
    path: /var/backups/cloudflare/prod
    state: pruned
    retention_days: 30

- name: Find the newest complete set
  cfops.cloudflare.backup_sets:
    path: /var/backups/cloudflare/prod
  register: sets
# sets.newest is its name
"""

RETURN = r"""
sets:
  description: The sets left after pruning, newest first.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The set's name (UTC start time).
      type: str
    path:
      description: The set's directory.
      type: str
    complete:
      description: Whether it has a manifest.
      type: bool
newest:
  description: Name of the newest complete set, or null when there is none.
  returned: always
  type: str
pruned:
  description: Names of the sets deleted (or that would be in check mode).
  returned: always
  type: list
  elements: str
"""

import datetime
import os
import re
import shutil

from ansible.module_utils.basic import AnsibleModule

SET_NAME = re.compile(r"^\d{8}T\d{6}Z$")
NAME_FORMAT = "%Y%m%dT%H%M%SZ"


def parse_set_time(name):
    return datetime.datetime.strptime(name, NAME_FORMAT).replace(tzinfo=datetime.timezone.utc)


def read_sets(root):
    if not os.path.isdir(root):
        return []
    sets = []
    for name in os.listdir(root):
        full = os.path.join(root, name)
        if SET_NAME.match(name) and os.path.isdir(full):
            sets.append({"name": name, "path": full, "complete": os.path.isfile(os.path.join(full, "manifest.json"))})
    return sorted(sets, key=lambda s: s["name"], reverse=True)


def to_prune(sets, now, retention_days, keep_min):
    cutoff = now - datetime.timedelta(days=retention_days)
    kept_complete = [s["name"] for s in sets if s["complete"]][:keep_min]
    return [s for s in sets if parse_set_time(s["name"]) < cutoff and s["name"] not in kept_complete]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            state=dict(type="str", choices=["listed", "pruned"], default="listed"),
            retention_days=dict(type="int", default=30),
            keep_min=dict(type="int", default=1),
            now=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params["retention_days"] < 1 or params["keep_min"] < 0:
        module.fail_json(msg="retention_days must be at least 1 and keep_min at least 0")
    try:
        now = parse_set_time(params["now"]) if params["now"] else datetime.datetime.now(datetime.timezone.utc)
    except ValueError:
        module.fail_json(msg="now must look like 20261123T020000Z, got %r" % params["now"])
    sets = read_sets(params["path"])
    pruned = to_prune(sets, now, params["retention_days"], params["keep_min"]) if params["state"] == "pruned" else []
    if pruned and not module.check_mode:
        for entry in pruned:
            shutil.rmtree(entry["path"])
    names = {entry["name"] for entry in pruned}
    left = [s for s in sets if s["name"] not in names]
    newest = next((s["name"] for s in left if s["complete"]), None)
    result = dict(changed=bool(pruned), sets=left, newest=newest, pruned=sorted(names))
    if module._diff:
        result["diff"] = {"before": {"sets": [s["name"] for s in sets]}, "after": {"sets": [s["name"] for s in left]}}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
