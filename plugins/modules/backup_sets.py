#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: backup_sets
short_description: Make, list and prune the backup sets of one directory, under its lock
version_added: 1.1.0
description:
  - Backup sets are directories named by their UTC start time and a random suffix (C(YYYYMMDDTHHMMSSZ-1a2b3c4d);
    1.1's C(YYYYMMDDTHHMMSSZ) names are still read) in one directory per application, each holding a C(manifest.json)
    once complete (see M(cfops.cloudflare.backup_manifest)).
  - V(listed) lists them newest first. V(created) makes a new set (its directory and C(kv/), C(d1/), C(r2/)) with a
    name no other job can have, even one that starts in the same second. V(pruned) deletes the complete sets older
    than O(retention_days); the newest O(keep_min) complete sets are never deleted, whatever their age, so a backup
    job that has been failing for a month does not leave you with nothing. Partial sets (no manifest) older than the
    retention are deleted too, since they cannot be restored.
  - V(created) and V(pruned) hold the directory's lock (an exclusive C(flock) on C(<path>/.lock)), waiting up to
    O(lock_timeout) seconds for another job to release it, so two jobs never prune at once or delete a set another
    one is still making.
  - An entry that looks like a set but is a symlink is never followed, listed or deleted (the module warns).
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
    details: The diff lists the set names before and after.
options:
  path:
    description: The directory that holds the sets (one application's backups). Missing means no sets.
    type: path
    required: true
  state:
    description: V(listed) only lists; V(created) makes a new set; V(pruned) deletes sets older than O(retention_days).
    type: str
    choices: [listed, created, pruned]
    default: listed
  retention_days:
    description: Age in days after which a set is pruned.
    type: int
    default: 30
  keep_min:
    description: How many of the newest complete sets are always kept.
    type: int
    default: 1
  lock_timeout:
    description: How long V(created) and V(pruned) wait for the directory's lock, in seconds.
    type: float
    default: 300
    version_added: 1.2.0
  now:
    description:
      - The time to measure ages from, as C(YYYYMMDDTHHMMSSZ); defaults to the current UTC time.
        Useful to preview what a later prune would delete.
    type: str
"""

EXAMPLES = r"""
- name: Start a set
  cfops.cloudflare.backup_sets:
    path: /var/backups/cloudflare/prod/books-data
    state: created
  register: new_set
# new_set.name, new_set.path

- name: Prune prod backups older than 30 days
  cfops.cloudflare.backup_sets:
    path: /var/backups/cloudflare/prod/books-data
    state: pruned
    retention_days: 30

- name: Find the newest complete set
  cfops.cloudflare.backup_sets:
    path: /var/backups/cloudflare/prod/books-data
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
      description: The set's name (UTC start time and a random suffix).
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
name:
  description: With O(state=created), the new set's name.
  returned: when O(state=created)
  type: str
  sample: 20261123T020000Z-1a2b3c4d
  version_added: 1.2.0
set_path:
  description: With O(state=created), the new set's directory.
  returned: when O(state=created)
  type: str
  version_added: 1.2.0
skipped:
  description: Entries that look like sets but are symlinks or not directories (left alone).
  returned: always
  type: list
  elements: str
  version_added: 1.2.0
"""

import datetime
import os
import shutil

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cfops.cloudflare.plugins.module_utils._backup import (
    KINDS,
    SET_TIME_FORMAT,
    DirectoryLock,
    SetError,
    new_set_name,
    read_sets,
    set_time,
)


def to_prune(sets, now, retention_days, keep_min):
    cutoff = now - datetime.timedelta(days=retention_days)
    kept_complete = [s["name"] for s in sets if s["complete"]][:keep_min]
    return [s for s in sets if set_time(s["name"]) < cutoff and s["name"] not in kept_complete]


def create_set(directory, check_mode):
    """A new set's name and path; made (mode 0700, with its kv/, d1/, r2/) unless in check mode."""
    while True:
        name = new_set_name()
        path = os.path.join(directory, name)
        if check_mode:
            return name, path
        try:
            os.mkdir(path, 0o700)  # atomic: a name another job took fails here, and a new one is drawn
        except FileExistsError:
            continue
        for kind in KINDS:
            os.mkdir(os.path.join(path, kind), 0o700)
        return name, path


def prune(entries, failures):
    """Delete each set; one that vanished meanwhile is fine, one that cannot be deleted is reported, not fatal."""
    deleted = []
    for entry in entries:
        if os.path.islink(entry["path"]):
            failures.append("%s became a symlink; left alone" % entry["name"])
            continue
        try:
            shutil.rmtree(entry["path"])
        except FileNotFoundError:
            pass
        except OSError as exc:
            failures.append("%s: %s" % (entry["name"], exc))
            continue
        deleted.append(entry["name"])
    return deleted


def run(module):
    params = module.params
    if params["retention_days"] < 1 or params["keep_min"] < 0:
        module.fail_json(msg="retention_days must be at least 1 and keep_min at least 0")
    try:
        now = (datetime.datetime.strptime(params["now"], SET_TIME_FORMAT).replace(tzinfo=datetime.timezone.utc)
               if params["now"] else datetime.datetime.now(datetime.timezone.utc))
    except ValueError:
        module.fail_json(msg="now must look like 20261123T020000Z, got %r" % params["now"])
    directory, state = params["path"], params["state"]
    result = {"changed": False, "pruned": []}
    if state in ("created", "pruned") and not module.check_mode:
        if os.path.islink(directory):
            module.fail_json(msg="%s is a symlink; the sets directory is used only where it is" % directory)
        os.makedirs(directory, mode=0o700, exist_ok=True)
        with DirectoryLock(directory, params["lock_timeout"]):
            return act(module, directory, state, now, result)
    return act(module, directory, state, now, result)


def act(module, directory, state, now, result):
    params = module.params
    sets, skipped = read_sets(directory)
    before = [s["name"] for s in sets]
    if skipped:
        module.warn("left alone (symlinks or not directories, never followed): %s" % ", ".join(skipped))
    if state == "created":
        name, path = create_set(directory, module.check_mode)
        result.update(changed=True, name=name, set_path=path)
        sets.insert(0, {"name": name, "path": path, "complete": False})
    elif state == "pruned":
        chosen = to_prune(sets, now, params["retention_days"], params["keep_min"])
        failures = []
        names = [entry["name"] for entry in chosen] if module.check_mode else prune(chosen, failures)
        result.update(changed=bool(names), pruned=sorted(names))
        sets = [s for s in sets if s["name"] not in names]
        if failures:
            module.fail_json(msg="pruned %d set(s), but could not delete: %s" % (len(names), "; ".join(failures)), **result)
    result.update(sets=sets, skipped=skipped, newest=next((s["name"] for s in sets if s["complete"]), None))
    if module._diff:
        result["diff"] = {"before": {"sets": before}, "after": {"sets": [s["name"] for s in sets]}}
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            state=dict(type="str", choices=["listed", "created", "pruned"], default="listed"),
            retention_days=dict(type="int", default=30),
            keep_min=dict(type="int", default=1),
            lock_timeout=dict(type="float", default=300),
            now=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    try:
        module.exit_json(**run(module))
    except SetError as exc:
        module.fail_json(msg=exc.message)


if __name__ == "__main__":
    main()
