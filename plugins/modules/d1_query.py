#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: d1_query
short_description: Run SQL against a D1 database, from a string or a file (such as a dump to restore)
version_added: 1.1.0
description:
  - Runs O(sql) (one or more statements, optionally with O(params) bound to a single statement) through
    C(POST .../query), or the file O(src) through D1's import API, the way C(wrangler d1 execute --remote --file)
    does (init, upload to the signed URL D1 gives, ingest, poll until it ends).
  - O(sql) runs in one request, which D1 applies as a whole or not at all; D1 limits such a query to 30 seconds.
  - O(src) can be a large SQL dump (for example one made by M(cfops.cloudflare.d1_export)). D1 applies the whole
    import or none of it (wrangler says so); when it fails, the database is as it was and a rerun is safe.
  - D1 takes at most 100,000 bytes per statement; a longer statement in O(sql) or O(src) fails before any call.
  - Reports C(changed) only when a statement wrote to the database (D1's C(changed_db)); statements
    that only read (C(SELECT), C(EXPLAIN), C(VALUES), C(PRAGMA) queries, C(WITH) ... C(SELECT)) never
    report a change.
  - In check mode, reads run and writes do not (the module reports that they would run).
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
attributes:
  diff_mode:
    support: none
    details: Running SQL has no before and after to show; C(changed) and the statements run say what happened.
options:
  database:
    description:
      - The database, by name or uuid. A name costs one read to resolve.
    type: str
    required: true
  sql:
    description:
      - SQL to run. One of O(sql) and O(src) is required.
    type: str
  params:
    description:
      - Values bound to the C(?) placeholders of O(sql), which must then be a single statement.
      - Masked in the output (C(no_log)), as bound values are where secrets go (a password hash, an API key).
        Keep secrets out of O(sql) itself.
    type: list
    elements: raw
  src:
    description:
      - Path of a file of SQL statements on the controller or managed host where the module runs, for
        example an SQL dump to restore.
    type: path
  drop_existing:
    description:
      - With O(src), drop every table and view of the database in the same import, before the file's
        statements, so the file (a dump) replaces the database's contents in one step. Readers see the old
        data or the new, never an empty database, and a failed import leaves the old data in place.
      - Costs one read to list the tables.
      - When the start of the import fails in a way that may have applied it (a timeout, a dropped connection,
        a server error), the tables are read again and the load runs again, up to 3 times, since the drops then
        the dump give the same database either way. Without O(drop_existing) a file is never run twice.
    type: bool
    default: false
    version_added: 1.2.0
notes:
  - Restoring a dump into a database that already has its tables fails on the first C(CREATE TABLE) and leaves
    the database unchanged; restore into a new or emptied database, or put the C(DROP TABLE) statements at the
    top of the file so the import replaces the tables in one step.
seealso:
  - module: cfops.cloudflare.d1_database
  - module: cfops.cloudflare.d1_export
"""

EXAMPLES = r"""
- name: Count the books
  cfops.cloudflare.d1_query:
    database: books-prod
    sql: SELECT count(*) AS books FROM books
  register: count

- name: Insert a row, parameterised
  cfops.cloudflare.d1_query:
    database: books-prod
    sql: INSERT OR IGNORE INTO books (isbn, title) VALUES (?, ?)
    params: ["9780441013593", "Dune"]

- name: Restore a dump into a new database
  cfops.cloudflare.d1_query:
    database: books-restore
    src: /backups/books-prod.sql

- name: Replace a database's contents with a dump, in one import
  cfops.cloudflare.d1_query:
    database: books-prod
    src: /backups/books-prod.sql
    drop_existing: true
"""

RETURN = r"""
results:
  description: One item per statement of O(sql) (not returned for O(src)), each with C(results) (rows as
    dictionaries) and C(meta) (C(changes), C(last_row_id), C(rows_read), C(rows_written), C(duration)).
  returned: when O(sql) ran
  type: list
  elements: dict
  sample: [{"results": [{"books": 2}], "meta": {"changes": 0, "rows_read": 2}, "success": true}]
rows:
  description: The rows of the last statement of O(sql), for convenience.
  returned: when O(sql) ran
  type: list
  elements: dict
  sample: [{"books": 2}]
read_only:
  description: Whether every statement only reads.
  returned: always
  type: bool
  sample: true
statements_run:
  description: How many statements ran (D1's C(num_queries) for O(src)); 0 in check mode for writes.
  returned: always
  type: int
  sample: 1
import_result:
  description: D1's account of the import of O(src).
  returned: when O(src) ran
  type: dict
  contains:
    num_queries:
      description: The statements the import ran.
      type: int
      returned: always
      sample: 1204
    final_bookmark:
      description: The Time Travel bookmark right after the import.
      type: str
      returned: always
      sample: 00000085-0000024c-00004c6d-8e61117bf38d7adb71b934ebbf891683
    meta:
      description: D1's figures (C(rows_read), C(rows_written), C(changed_db), C(size_after), C(duration)).
      type: dict
      returned: always
      sample: {"rows_read": 0, "rows_written": 1200, "changed_db": true}
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
      sample: 1
    writes:
      description: Calls that wrote.
      type: int
      returned: always
      sample: 1
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError
from ansible_collections.cfops.cloudflare.plugins.module_utils._d1 import (
    check_sql_file,
    check_statement_lengths,
    drop_everything_sql,
    import_sql_file,
    resolve_database_id,
    run_query,
    split_statements,
    statement_is_read,
    with_prelude,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule

# A replacing load (drop_existing) whose start failed ambiguously is run again from a fresh read, this often at most.
REPLACING_LOAD_ATTEMPTS = 3


class D1QueryModule(CloudflareModule):

    def execute(self):
        params = self.params
        if params["src"] is not None and not os.path.isfile(params["src"]):
            raise InvalidInputError("src %s is not a readable file" % params["src"])
        if params["sql"] is not None and not params["sql"].strip():
            raise InvalidInputError("sql is empty")
        if params["drop_existing"] and params["src"] is None:
            raise InvalidInputError("drop_existing works with src (a file to import), not with sql")
        statements = split_statements(params["sql"]) if params["sql"] is not None else None
        if params["params"] and len(statements) > 1:
            raise InvalidInputError("params can only be bound to a single statement; sql has %d" % len(statements))
        if statements is not None:
            check_statement_lengths(statements, "sql")
        else:
            self.checked_file = check_sql_file(params["src"])
        self.database_id = resolve_database_id(self.client, self.account_id, params["database"])
        self.result["database_id"] = self.database_id
        if statements is not None:
            self.run_sql(statements)
        else:
            self.run_file()

    def run_sql(self, statements):
        read_only = all(statement_is_read(statement) for statement in statements)
        self.result.update(read_only=read_only, statements_run=0)
        if self.check_mode and not read_only:
            self.mark_changed()
            return
        params = [value if isinstance(value, (int, float)) or value is None else str(value) for value in self.params["params"] or []]
        results = run_query(self.client, self.account_id, self.database_id, self.params["sql"], params, read_only=read_only)
        if not read_only and any((item.get("meta") or {}).get("changed_db") for item in results):
            self.mark_changed()
        rows = results[-1].get("results") if results else []
        self.result.update(results=results, rows=rows or [], statements_run=len(results))

    def run_file(self):
        self.result.update(read_only=False, statements_run=0)
        if self.check_mode:
            self.mark_changed()
            return
        for attempt in range(1, REPLACING_LOAD_ATTEMPTS + 1):
            try:
                outcome = self.load_file()
                break
            except CloudflareAPIError as exc:
                # A load that replaces everything (drop_existing) converges when run again from a fresh read
                # of the tables: whether or not the first ingest was applied, the drops then the dump give the
                # same database. A plain file is not rerun: its statements may not bear a second application.
                if not (exc.ambiguous and self.params["drop_existing"]) or attempt == REPLACING_LOAD_ATTEMPTS:
                    raise
        self.result["statements_run"] = outcome["num_queries"] or 0
        self.result["import_result"] = {name: outcome[name] for name in ("num_queries", "final_bookmark", "meta")}
        if outcome["changed"]:
            self.mark_changed()

    def load_file(self):
        """One import of src (after the drops of the tables there are now, with drop_existing)."""
        path, checked = self.params["src"], self.checked_file
        prelude = drop_everything_sql(self.client, self.account_id, self.database_id) if self.params["drop_existing"] else ""
        if prelude:
            path = with_prelude(prelude, path)
            checked = None
        try:
            return import_sql_file(self.client, self.account_id, self.database_id, path, checked=checked)
        finally:
            if path != self.params["src"]:
                os.remove(path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            database=dict(type="str", required=True),
            sql=dict(type="str"),
            params=dict(type="list", elements="raw", no_log=True),
            src=dict(type="path"),
            drop_existing=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("sql", "src"), ("params", "src")],
        required_one_of=[("sql", "src")],
        supports_check_mode=True,
    )
    D1QueryModule(module).run()


if __name__ == "__main__":
    main()
