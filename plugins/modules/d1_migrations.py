#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: d1_migrations
short_description: Apply a directory of SQL migrations to a D1 database, as wrangler does
version_added: 1.1.0
description:
  - Applies the files C(NNNN_name.sql) of O(migrations_dir) that the database has not seen yet, in
    file name order, and records each in the table O(table) (default C(d1_migrations)) exactly as
    C(wrangler d1 migrations apply) does, so a team can switch between wrangler and this module.
  - "The table is wrangler's: C(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at
    TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL); C(name) is the file name, for example C(0001_init.sql)."
  - Each migration and the row recording it go in one request, which D1 applies as a whole, so a
    failing migration leaves nothing behind and is not recorded. The module stops there and names the
    file and the SQL error; the migrations before it stay applied and are reported.
  - Idempotent. With nothing pending it makes two reads (whether the table exists, which names it holds) and no write.
  - Check mode lists the pending migrations without running them.
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
options:
  database:
    description:
      - The database, by name or uuid.
    type: str
    required: true
  migrations_dir:
    description:
      - The directory of migration files. Every C(*.sql) file in it is a migration; its name must
        look like C(NNNN_name.sql) (digits, an underscore, a name).
    type: path
    required: true
  table:
    description:
      - The table that records applied migrations (wrangler's C(migrations_table)).
    type: str
    default: d1_migrations
seealso:
  - module: cfops.cloudflare.d1_database
  - name: wrangler d1 migrations apply
    description: The command whose tracking table this module shares.
    link: https://developers.cloudflare.com/d1/reference/migrations/
"""

EXAMPLES = r"""
- name: Apply the Worker's migrations
  cfops.cloudflare.d1_migrations:
    database: books-prod
    migrations_dir: "{{ playbook_dir }}/../workers/books-api/migrations"
  register: migrations

- name: Show what ran
  ansible.builtin.debug:
    var: migrations.applied
"""

RETURN = r"""
applied:
  description: Migrations applied by this run, in order (in check mode, none).
  returned: always
  type: list
  elements: str
  sample: [0002_add_authors.sql]
pending:
  description: Migrations that were pending before this run, in order.
  returned: always
  type: list
  elements: str
  sample: [0002_add_authors.sql]
already_applied:
  description: Migrations the database had already recorded, in order.
  returned: always
  type: list
  elements: str
  sample: [0001_init.sql]
failed_migration:
  description: The migration that failed (only on failure).
  returned: failure
  type: str
  sample: 0003_bad.sql
database_id:
  description: The uuid of the database.
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
      sample: 2
    writes:
      description: Calls that wrote.
      type: int
      returned: always
      sample: 1
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cfops.cloudflare.plugins.module_utils._backup_paths import link_problem
from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError
from ansible_collections.cfops.cloudflare.plugins.module_utils._d1 import resolve_database_id, run_query, sql_error_text
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule

MIGRATION_NAME = re.compile(r"^\d+_[^/]*\.sql$")


def quote_identifier(name):
    return '"%s"' % name.replace('"', '""')


def quote_literal(text):
    return "'%s'" % text.replace("'", "''")


def create_table_sql(table):
    """wrangler's getCreateMigrationsTableQuery (packages/wrangler/src/d1/migrations/helpers.ts)."""
    return ("CREATE TABLE IF NOT EXISTS %s(\n\t\tid         INTEGER PRIMARY KEY AUTOINCREMENT,\n"
            "\t\tname       TEXT UNIQUE,\n\t\tapplied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL\n);"
            % quote_identifier(table))


def migration_sql(sql, name, table):
    """The migration followed by the row recording it, one request (wrangler's buildMigrationQuery)."""
    return "%s\nINSERT INTO %s (name)\nvalues (%s);" % (sql, quote_identifier(table), quote_literal(name))


def read_migrations(directory):
    if not os.path.isdir(directory):
        raise InvalidInputError("migrations_dir %s is not a directory" % directory)
    names = sorted(name for name in os.listdir(directory) if name.endswith(".sql"))
    for name in names:
        if not MIGRATION_NAME.match(name):
            raise InvalidInputError("migration file %s does not look like NNNN_name.sql" % name)
        path = os.path.join(directory, name)
        problem = link_problem(directory, path)
        if problem is None and not os.path.isfile(path):
            problem = "%s is not a regular file" % name
        if problem:
            raise InvalidInputError("migrations_dir %s: refusing to read outside it: %s" % (directory, problem))
    return names


class D1MigrationsModule(CloudflareModule):

    def execute(self):
        directory = self.params["migrations_dir"]
        names = read_migrations(directory)
        table = self.params["table"]
        self.database_id = resolve_database_id(self.client, self.account_id, self.params["database"])
        recorded = self.applied_names(table)
        applied_before = recorded or []
        pending = [name for name in names if name not in applied_before]
        self.result.update(database_id=self.database_id, already_applied=[n for n in names if n in applied_before],
                           pending=pending, applied=[])
        if not pending:
            return
        self.set_diff({"applied": sorted(applied_before)}, {"applied": sorted(set(applied_before) | set(pending))})
        if self.check_mode:
            self.mark_changed()
            return
        table_exists = recorded is not None
        for name in pending:
            with open(os.path.join(directory, name), encoding="utf-8") as handle:
                sql = migration_sql(handle.read(), name, table)
            if not table_exists:
                sql = create_table_sql(table) + "\n" + sql
            try:
                run_query(self.client, self.account_id, self.database_id, sql)
            except CloudflareAPIError as exc:
                self.result["failed_migration"] = name
                raise CloudflareAPIError("migration %s failed and was not recorded: %s (applied before it in this run: %s)"
                                         % (name, sql_error_text(exc), ", ".join(self.result["applied"]) or "none"),
                                         status=exc.status, errors=exc.errors) from None
            table_exists = True
            self.result["applied"].append(name)
            self.mark_changed()

    def applied_names(self, table):
        """The names recorded in ``table`` (None when it does not exist), in two reads at most."""
        found = run_query(self.client, self.account_id, self.database_id,
                          "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", [table], read_only=True)
        if not found or not found[0].get("results"):
            return None
        rows = run_query(self.client, self.account_id, self.database_id,
                         "SELECT name FROM %s ORDER BY id" % quote_identifier(table), read_only=True)
        return [row["name"] for row in rows[0].get("results") or []]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            database=dict(type="str", required=True),
            migrations_dir=dict(type="path", required=True),
            table=dict(type="str", default="d1_migrations"),
        ),
        supports_check_mode=True,
    )
    D1MigrationsModule(module).run()


if __name__ == "__main__":
    main()
