#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: worker_info
short_description: Read a Cloudflare Worker - settings, versions, deployments, triggers, secret names
version_added: 1.1.0
description:
  - Reads one Worker - its settings and bindings, its newest versions, its deployments (the current
    one first), its routes in a zone, custom domains, cron schedules, workers.dev status, the names
    of its secrets (never values) and its Durable Object migration tag.
  - Read-only; runs the same in check mode.
  - Reads - the Worker list (1), settings (1), versions (1), deployments (1), secrets (1), schedules
    (1), workers.dev subdomain (1), custom domains (1), and with O(zone) the zone (1) and its routes (1).
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: It never changes anything.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: N/A
    details: It never changes anything.
  action_group:
    description: Use C(group/cfops.cloudflare.cloudflare) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - cfops.cloudflare.cloudflare
options:
  name:
    description:
      - The Worker.
      - The old name C(script_name) still works as a deprecated alias, until 2.0.0.
    type: str
    required: true
    aliases: [script, script_name]
  versions:
    description: How many of the newest versions to return (1 to 100).
    type: int
    default: 10
  zone:
    description:
      - A zone name or id whose routes to the Worker to return. Without it, C(routes) is not read.
    type: str
seealso:
  - module: cfops.cloudflare.worker_version
  - module: cfops.cloudflare.worker_deployment
"""

EXAMPLES = r"""
- name: What serves now
  cfops.cloudflare.worker_info:
    name: books-api-prod
    zone: example.com
  register: worker

- name: Show it
  ansible.builtin.debug:
    msg: "{{ worker.serving_versions }} (migration tag {{ worker.migration_tag }})"
"""

RETURN = r"""
exists:
  description: Whether the Worker exists. When it does not, the other keys are empty.
  returned: always
  type: bool
  sample: true
script:
  description: The Worker's entry of the script list (etag, created_on, modified_on, usage_model, ...).
  returned: always
  type: dict
  sample: {id: books-api-prod, etag: 13a3240e8fb4, migration_tag: v2}
settings:
  description: The Worker's settings (bindings with secrets by name only, compatibility, observability ...).
  returned: always
  type: dict
  sample: {compatibility_date: "2025-01-15", bindings: [{name: API_KEY, type: secret_text}]}
migration_tag:
  description: The Durable Object migration tag (C(null) when none was applied).
  returned: always
  type: str
  sample: v2
versions:
  description: The newest versions, newest first (C(id), C(number), C(metadata)).
  returned: always
  type: list
  elements: dict
  sample: [{id: 18f97339-c287-4872-9bdd-e2135c07ec12, number: 7}]
deployments:
  description: The deployments, newest (current) first.
  returned: always
  type: list
  elements: dict
  sample: [{id: dc78f0bc-05c5-46b7-bb4e-137f55930378, versions: [{version_id: 18f97339-c287-4872-9bdd-e2135c07ec12, percentage: 100}]}]
current_deployment:
  description: The deployment that serves (C(null) when none).
  returned: always
  type: dict
  sample: {id: dc78f0bc-05c5-46b7-bb4e-137f55930378}
serving_versions:
  description: The versions of the current deployment with their share.
  returned: always
  type: list
  elements: dict
  sample: [{version_id: 18f97339-c287-4872-9bdd-e2135c07ec12, percentage: 100}]
secret_names:
  description: The names of the Worker's secrets, sorted. Values are never readable.
  returned: always
  type: list
  elements: str
  sample: [API_KEY]
schedules:
  description: The cron schedules.
  returned: always
  type: list
  elements: str
  sample: ["*/5 * * * *"]
workers_dev:
  description: The workers.dev subdomain status (C(enabled), C(previews_enabled)).
  returned: always
  type: dict
  sample: {enabled: true, previews_enabled: true}
custom_domains:
  description: The custom domains attached to the Worker.
  returned: always
  type: list
  elements: dict
  sample: [{hostname: books.example.com, zone_name: example.com, environment: production}]
routes:
  description: The routes of O(zone) that point at the Worker (empty without O(zone)).
  returned: always
  type: list
  elements: dict
  sample: [{id: 9a7806061c88ada191ed06f989cc3dac, pattern: books.example.com/api/*, script: books-api-prod}]
api_calls:
  description: The number of Cloudflare API calls the module made.
  returned: always
  type: dict
  contains:
    reads:
      description: Calls that read.
      type: int
      returned: always
      sample: 8
    writes:
      description: Calls that wrote.
      type: int
      returned: always
      sample: 0
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import build_path
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule
from ansible_collections.cfops.cloudflare.plugins.module_utils._workers import (
    find_script,
    newest_first,
    scripts_path,
    validate_script_name,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._zones import resolve_zone, zone_path


class WorkerInfoModule(CloudflareModule):

    def execute(self):
        params = self.params
        name = params["name"]
        validate_script_name(name, "name")
        if not 1 <= params["versions"] <= 100:
            raise InvalidInputError("versions must be between 1 and 100, got %d" % params["versions"])
        zone = resolve_zone(self.client, params["zone"], self.account_id) if params["zone"] else None
        self.result.update(exists=False, script={}, settings={}, migration_tag=None, versions=[], deployments=[],
                           current_deployment=None, serving_versions=[], secret_names=[], schedules=[], workers_dev={},
                           custom_domains=[], routes=[])
        script = find_script(self.client, self.account_id, name)
        if script is None:
            return
        get = self.client.get
        deployments = get(scripts_path(self.account_id, name, "deployments")).get("deployments") or []
        current = deployments[0] if deployments else None
        self.result.update(
            exists=True,
            script=script,
            migration_tag=script.get("migration_tag"),
            settings=get(scripts_path(self.account_id, name, "settings")),
            versions=self.newest_versions(name, params["versions"]),
            deployments=deployments,
            current_deployment=current,
            serving_versions=(current or {}).get("versions") or [],
            secret_names=sorted(secret["name"] for secret in get(scripts_path(self.account_id, name, "secrets")) or []),
            schedules=[item["cron"] for item in (get(scripts_path(self.account_id, name, "schedules")) or {}).get("schedules") or []],
            workers_dev=get(scripts_path(self.account_id, name, "subdomain")),
            custom_domains=get(build_path("accounts", self.account_id, "workers", "domains"), params={"service": name}) or [],
        )
        if zone is not None:
            routes = get(zone_path(zone["id"], "workers", "routes")) or []
            self.result["routes"] = [route for route in routes if route.get("script") == name]

    def newest_versions(self, name, count):
        # deployable=true as wrangler lists versions (the SDK: it ignores pagination, so no page size is
        # sent, whose bounds are undocumented); sorted here, the API's order is not relied on.
        listed = (self.client.get(scripts_path(self.account_id, name, "versions"), params={"deployable": "true"}) or {}).get("items")
        return newest_first(listed or [])[:count]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            name=dict(type="str", required=True, aliases=["script", "script_name"],
                      deprecated_aliases=[dict(name="script_name", version="2.0.0", collection_name="cfops.cloudflare")]),
            versions=dict(type="int", default=10),
            zone=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    WorkerInfoModule(module).run()


if __name__ == "__main__":
    main()
