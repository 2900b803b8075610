#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: wrangler_config
short_description: Read a wrangler configuration into module arguments
version_added: 1.1.0
description:
  - Reads a project's C(wrangler.toml), C(wrangler.json) or C(wrangler.jsonc) (comments and trailing
    commas allowed) and returns the arguments of the Worker, trigger and binding modules, so a project
    that deploys with wrangler adopts the collection without rewriting its configuration.
  - With O(environment), applies C([env.<name>]) the way wrangler does. Inheritable keys (name, main,
    compatibility settings, routes, triggers, workers_dev, migrations, ...) come from the environment
    when it sets them and from the top level otherwise; the name defaults to C(<name>-<environment>).
    Vars and every binding are not inherited, as in wrangler; a warning names each one the top level
    has and the environment lacks.
  - Keys it does not map are listed in RV(unsupported) and in a warning, never dropped silently.
    Keys for wrangler itself or local development only are listed in RV(ignored).
  - Makes no API call and needs no credentials. It reads files on the host it runs on, so run it
    with C(delegate_to=localhost) to read the controller's checkout.
  - Reading C(wrangler.toml) needs Python 3.11 or later (C(tomllib)) on that host; JSON configs need nothing more.
author:
  - cfops platform team (@cfops)
options:
  path:
    description:
      - The configuration file, or the project directory holding one (C(wrangler.json), C(wrangler.jsonc) and
        C(wrangler.toml) are looked for in that order, as wrangler does).
    type: path
    required: true
  environment:
    description:
      - The wrangler environment (C([env.<name>])) to read. The top level when not set.
    type: str
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
notes:
  - A syntax error fails the task with the file name and the line of the error.
seealso:
  - module: cfops.cloudflare.worker_script
  - module: cfops.cloudflare.worker_route
  - module: cfops.cloudflare.worker_custom_domain
  - module: cfops.cloudflare.worker_cron
  - module: cfops.cloudflare.worker_subdomain
"""

EXAMPLES = r"""
- name: Read the staging environment of the project's wrangler.toml
  cfops.cloudflare.wrangler_config:
    path: "{{ playbook_dir }}/../worker"
    environment: staging
  delegate_to: localhost
  register: wrangler

- name: Deploy the Worker it describes
  cfops.cloudflare.worker_script:
    name: "{{ wrangler.worker.name }}"
    main_module: "{{ wrangler.worker.main_module }}"
    compatibility_date: "{{ wrangler.worker.compatibility_date }}"
    compatibility_flags: "{{ wrangler.worker.compatibility_flags }}"
    kv_namespaces: "{{ wrangler.worker.kv_namespaces }}"
    text_vars: "{{ wrangler.worker.text_vars }}"
    json_vars: "{{ wrangler.worker.json_vars }}"

- name: Its routes
  cfops.cloudflare.worker_route:
    pattern: "{{ item.pattern }}"
    zone: "{{ item.zone | default(omit, true) }}"
    script: "{{ wrangler.worker.name }}"
  loop: "{{ wrangler.routes }}"

- name: Its cron triggers
  cfops.cloudflare.worker_cron:
    script: "{{ wrangler.worker.name }}"
    crons: "{{ wrangler.crons }}"
"""

RETURN = r"""
config_file:
  description: The configuration file read.
  returned: always
  type: str
  sample: /srv/books/worker/wrangler.toml
environment:
  description: The environment read; C(null) for the top level.
  returned: always
  type: str
  sample: staging
account_id:
  description: The account id the configuration names, if any.
  returned: always
  type: str
  sample: 023e105f4ecef8ad9ca31a8372d0c353
worker:
  description: Arguments for M(cfops.cloudflare.worker_script) and the Worker version module.
  returned: always
  type: dict
  contains:
    name:
      description: The Worker name (C(<name>-<environment>) unless the environment names it).
      type: str
      returned: always
      sample: books-api-staging
    main_module:
      description: The entry module, resolved against the configuration's directory.
      type: str
      returned: always
      sample: /srv/books/worker/src/index.js
    compatibility_date:
      description: The compatibility date.
      type: str
      returned: always
      sample: "2024-01-01"
    compatibility_flags:
      description: The compatibility flags.
      type: list
      elements: str
      returned: always
      sample: [nodejs_compat]
    text_vars:
      description: String vars (plain text bindings).
      type: dict
      returned: always
      sample: {ENVIRONMENT: staging}
    json_vars:
      description: Vars of any other type (JSON bindings).
      type: dict
      returned: always
      sample: {RETRIES: 3}
    kv_namespaces:
      description: KV bindings, C({binding, namespace_id}).
      type: list
      elements: dict
      returned: always
      sample: [{binding: CACHE, namespace_id: 8e05b3b27f404b7789cd9a00d19208bc}]
    durable_objects:
      description: Durable Object bindings, C({binding, class_name, script_name}) (C(script_name) only when set).
      type: list
      elements: dict
      returned: always
      sample: [{binding: ROOMS, class_name: Room}]
    migrations:
      description: Durable Object migrations, C({tag, new_classes, new_sqlite_classes, renamed_classes,
        deleted_classes, transferred_classes}), in file order.
      type: list
      elements: dict
      returned: always
      sample:
        - {tag: v1, new_classes: [], new_sqlite_classes: [Room], renamed_classes: [], deleted_classes: [], transferred_classes: []}
    queues:
      description: Queue producer bindings, C({binding, queue_name}).
      type: list
      elements: dict
      returned: always
      sample: [{binding: TASKS, queue_name: pingtopass-tasks}]
    d1_databases:
      description: D1 bindings, C({binding, database_id}) (plus C(database_name) when set).
      type: list
      elements: dict
      returned: always
      sample: [{binding: DB, database_id: 4e1c28a9-90e4-41da-8b4b-6cf36e5abb29}]
    r2_buckets:
      description: R2 bindings, C({binding, bucket_name}) (plus C(jurisdiction) when set).
      type: list
      elements: dict
      returned: always
      sample: [{binding: BOOKS_R2, bucket_name: books-cache}]
    services:
      description: Service bindings, C({binding, service}) (plus C(environment), C(entrypoint) when set).
      type: list
      elements: dict
      returned: always
      sample: [{binding: AUTH, service: books-auth}]
    analytics_engine_datasets:
      description: Analytics Engine bindings, C({binding, dataset}).
      type: list
      elements: dict
      returned: always
      sample: [{binding: ANALYTICS, dataset: books_analytics}]
    version_metadata:
      description:
        - The C(version_metadata) binding's name (wrangler's C(version_metadata = {binding = ...})), for the
          O(cfops.cloudflare.worker_script#module:version_metadata) option; C(null) when the configuration has none.
      type: str
      returned: always
      sample: CF_VERSION_METADATA
routes:
  description: Zone routes for M(cfops.cloudflare.worker_route), C({pattern, zone}); C(zone) is the zone name or id, or C(null).
  returned: always
  type: list
  elements: dict
  sample: [{pattern: "staging.pingtopass.com/*", zone: pingtopass.com}]
custom_domains:
  description: Routes marked C(custom_domain), for M(cfops.cloudflare.worker_custom_domain), C({hostname, zone}).
  returned: always
  type: list
  elements: dict
  sample: [{hostname: books.example.com, zone: null}]
crons:
  description: Cron triggers for M(cfops.cloudflare.worker_cron). Expressions Cloudflare would reject are named in a warning.
  returned: always
  type: list
  elements: str
  sample: ["0 * * * *"]
workers_dev:
  description: Whether the Worker should answer on workers.dev (wrangler's default, V(true) unless routes are set, when the file does not say).
  returned: always
  type: bool
  sample: false
preview_urls:
  description: Whether Preview URLs should be on; C(null) when the file does not say.
  returned: always
  type: bool
  sample: null
queue_consumers:
  description: Queue consumer settings, C({queue_name, ...}) with the file's other consumer keys.
  returned: always
  type: list
  elements: dict
  sample: [{queue_name: pingtopass-tasks, max_batch_size: 10}]
unsupported:
  description: Keys present in the configuration that are not mapped (dotted, with list indexes).
  returned: always
  type: list
  elements: str
  sample: [build, observability]
ignored:
  description: Keys for wrangler itself or local development only (for example C(dev), C(kv_namespaces[0].preview_id)).
  returned: always
  type: list
  elements: str
  sample: ["kv_namespaces[0].preview_id"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._wrangler import read_wrangler_config


def main():
    module = AnsibleModule(
        argument_spec=dict(path=dict(type="path", required=True), environment=dict(type="str")),
        supports_check_mode=True,
    )
    try:
        result, warnings = read_wrangler_config(module.params["path"], module.params["environment"])
    except InvalidInputError as exc:
        module.fail_json(msg=str(exc))
    for warning in warnings:
        module.warn(warning)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
