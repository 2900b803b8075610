#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: d1_database
short_description: Create or delete a D1 database
version_added: 1.1.0
description:
  - Makes sure a D1 database with a given name exists (or does not) in the account, and returns its uuid.
  - One read (the database list filtered by name) and, when needed, one write.
  - The name is checked against Cloudflare's rules before any call.
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
options:
  name:
    description:
      - The database name, for example C(books-prod). Lowercase letters, digits, C(-) and C(_), starting
        with a letter or digit, at most 64 characters.
    type: str
    required: true
  primary_location_hint:
    description:
      - Where the database is created. Applied at creation only; Cloudflare cannot move a database.
    type: str
    choices: [wnam, enam, weur, eeur, apac, oc]
  jurisdiction:
    description:
      - Keep the data inside a jurisdiction. Applied at creation only.
    type: str
    choices: [eu, fedramp]
  state:
    description:
      - V(present) creates the database when it does not exist; V(absent) deletes it with all its data.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Deleting a database deletes its data. Export it first with M(cfops.cloudflare.d1_export).
seealso:
  - module: cfops.cloudflare.d1_query
  - module: cfops.cloudflare.d1_migrations
  - module: cfops.cloudflare.d1_export
"""

EXAMPLES = r"""
- name: One database per environment
  cfops.cloudflare.d1_database:
    name: "books-{{ env }}"
    primary_location_hint: weur
  register: books_db

- name: Remove the preview database
  cfops.cloudflare.d1_database:
    name: books-preview
    state: absent
"""

RETURN = r"""
database:
  description:
    - The database. C(null) after O(state=absent) (deleted now, already gone, or to be deleted in check mode)
      and in check mode before a creation.
  returned: always
  type: dict
  contains:
    uuid:
      description: The database id, used in Worker bindings (C(database_id)).
      type: str
      sample: 0b7ebd8a-8a4c-4a43-9c4b-6f1f8b8e2c11
    name:
      description: The name.
      type: str
      sample: books-prod
    created_at:
      description: When it was created.
      type: str
      sample: "2026-01-01T10:00:00.000000Z"
uuid:
  description: The database id; C(null) when no database exists after the task (O(state=absent), or check mode before a creation).
  returned: always
  type: str
  sample: 0b7ebd8a-8a4c-4a43-9c4b-6f1f8b8e2c11
api_calls:
  description: The number of Cloudflare API calls the module made.
  returned: always
  type: dict
  contains:
    reads:
      description: Calls that read.
      type: int
      returned: always
      sample: 1
    writes:
      description: Calls that wrote.
      type: int
      returned: always
      sample: 1
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cfops.cloudflare.plugins.module_utils._d1 import (
    JURISDICTIONS,
    LOCATION_HINTS,
    databases_path,
    find_database,
    validate_name,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule


def database_view(database):
    return {key: database.get(key) for key in ("uuid", "name", "created_at")}


class D1DatabaseModule(CloudflareModule):

    def execute(self):
        validate_name(self.params["name"])
        self.current = find_database(self.client, self.account_id, self.params["name"])
        self.result["uuid"] = self.current["uuid"] if self.current else None
        self.result["database"] = database_view(self.current) if self.current else None
        super().execute()

    def present(self):
        if self.current is not None:
            self.result["database"] = database_view(self.current)
            return
        self.mark_changed()
        self.set_diff({}, {"name": self.params["name"]})
        if self.check_mode:
            return
        body = {"name": self.params["name"]}
        for option in ("primary_location_hint", "jurisdiction"):
            if self.params[option]:
                body[option] = self.params[option]
        created = self.client.create(databases_path(self.account_id), json=body,
                                     find_existing=lambda: find_database(self.client, self.account_id, self.params["name"]))
        self.result.update(database=database_view(created), uuid=created["uuid"])

    def absent(self):
        self.result.update(database=None, uuid=None)
        if self.current is None:
            return
        self.mark_changed()
        self.set_diff({"name": self.current["name"], "uuid": self.current["uuid"]}, {})
        if not self.check_mode:
            self.client.delete(databases_path(self.account_id, self.current["uuid"]))
        self.result.update(database=None, uuid=None)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            name=dict(type="str", required=True),
            primary_location_hint=dict(type="str", choices=LOCATION_HINTS),
            jurisdiction=dict(type="str", choices=JURISDICTIONS),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    D1DatabaseModule(module).run()


if __name__ == "__main__":
    main()
