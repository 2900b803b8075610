#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: d1_export
short_description: Export a D1 database as an SQL dump to a file
version_added: 1.1.0
description:
  - Exports a D1 database through Cloudflare's export API (C(POST .../export) with
    C(output_format=polling)), polls with the returned bookmark until the export is complete, then
    streams the dump from its signed URL into O(dest) and returns its size and SHA-256.
  - The dump is written to a temporary file next to O(dest) and moved into place when complete, so
    O(dest) is never a partial file. When O(dest) already holds the same bytes it is left alone and the
    task reports no change.
  - The file is the SQL text D1 produces (C(PRAGMA defer_foreign_keys=TRUE;), then C(CREATE TABLE) and
    C(INSERT INTO) statements); restore it with M(cfops.cloudflare.d1_query) and O(cfops.cloudflare.d1_query#module:src).
  - The signed URL is fetched without the API token.
  - In check mode nothing is exported.
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
attributes:
  diff_mode:
    support: none
    details: There is no diff; the dump is written to O(dest) and C(changed) says whether a file was written.
options:
  database:
    description:
      - The database, by name or uuid.
    type: str
    required: true
  dest:
    description:
      - The file to write, on the host where the module runs. Its directory must exist.
    type: path
    required: true
  no_data:
    description:
      - Export only the schema.
    type: bool
    default: false
  no_schema:
    description:
      - Export only the data.
    type: bool
    default: false
  tables:
    description:
      - Export only these tables.
    type: list
    elements: str
  poll_interval:
    description:
      - Seconds between two polls of an export in progress.
    type: float
    default: 1
  timeout:
    description:
      - Seconds to wait for the export to complete.
    type: int
    default: 3600
seealso:
  - module: cfops.cloudflare.d1_query
"""

EXAMPLES = r"""
- name: Back up the database
  cfops.cloudflare.d1_export:
    database: books-prod
    dest: "/backups/{{ backup_set }}/d1-books-prod.sql"
  register: dump

- name: Record its checksum
  ansible.builtin.debug:
    msg: "{{ dump.sha256 }} {{ dump.bytes }}"
"""

RETURN = r"""
dest:
  description: The file written.
  returned: success
  type: str
  sample: /backups/2026-01-01/d1-books-prod.sql
bytes:
  description: Size of the dump in bytes (0 in check mode).
  returned: success
  type: int
  sample: 10240
sha256:
  description: SHA-256 of the dump (empty in check mode).
  returned: success
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
filename:
  description: The dump's file name on Cloudflare's side.
  returned: success
  type: str
  sample: books-prod-1a2b3c4d.sql
database_id:
  description: The uuid of the database.
  returned: success
  type: str
  sample: 0b7ebd8a-8a4c-4a43-9c4b-6f1f8b8e2c11
api_calls:
  description: The number of Cloudflare API calls the module made (the export's start and polls count as reads).
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
      sample: 0
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cfops.cloudflare.plugins.module_utils._d1 import export_database, resolve_database_id
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule


class D1ExportModule(CloudflareModule):

    def execute(self):
        dest = self.params["dest"]
        if not os.path.isdir(os.path.dirname(os.path.abspath(dest))):
            raise InvalidInputError("the directory of dest %s does not exist" % dest)
        if self.params["no_data"] and self.params["no_schema"]:
            raise InvalidInputError("no_data and no_schema together would export nothing")
        database_id = resolve_database_id(self.client, self.account_id, self.params["database"])
        self.result.update(dest=dest, database_id=database_id, bytes=0, sha256="", filename="")
        if self.check_mode:
            self.mark_changed()
            return
        options = {}
        for option in ("no_data", "no_schema"):
            if self.params[option]:
                options[option] = True
        if self.params["tables"]:
            options["tables"] = self.params["tables"]
        exported = export_database(self.client, self.account_id, database_id, dest, options,
                                   poll_interval=self.params["poll_interval"], timeout=self.params["timeout"])
        if exported.pop("changed"):
            self.mark_changed()
        self.result.update(exported)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            database=dict(type="str", required=True),
            dest=dict(type="path", required=True),
            no_data=dict(type="bool", default=False),
            no_schema=dict(type="bool", default=False),
            tables=dict(type="list", elements="str"),
            poll_interval=dict(type="float", default=1),
            timeout=dict(type="int", default=3600),
        ),
        supports_check_mode=True,
    )
    D1ExportModule(module).run()


if __name__ == "__main__":
    main()
