#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: worker_route
short_description: Manage a Workers route (a zone URL pattern that runs a Worker)
version_added: 1.1.0
description:
  - Creates, repoints or deletes a Workers route of a zone, identified by its pattern.
  - The zone is O(zone), or else the account's zone that the pattern's host belongs to (the longest
    matching zone name). A pattern outside the zone fails before any write.
  - Idempotent. One read of the zone's routes decides; a route that already sends the pattern to
    O(script) makes no write.
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
options:
  pattern:
    description:
      - The route pattern, for example V(books.example.com/api/*) or V(*.example.com/*). It identifies the route.
      - Its host must be the zone or one of its subdomains (a leading V(*) wildcard is allowed).
    type: str
    required: true
  zone:
    description:
      - The zone, by name (V(example.com)) or by its 32-character id.
      - When not set, the account's zone the pattern's host belongs to; the longest matching zone wins.
    type: str
  script:
    description:
      - The Worker the pattern runs. Required when O(state=present).
      - Cloudflare refuses a route to a Worker that does not exist; deploy the Worker first.
    type: str
  state:
    description:
      - V(present) creates the route, or points it at O(script) when it runs another Worker.
      - V(absent) deletes the route.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: cfops.cloudflare.worker_custom_domain
  - module: cfops.cloudflare.worker_script
"""

EXAMPLES = r"""
- name: Run the books API on its paths
  cfops.cloudflare.worker_route:
    zone: example.com
    pattern: books.example.com/api/*
    script: books-api-prod

- name: The zone is found from the pattern when not given
  cfops.cloudflare.worker_route:
    pattern: "*.example.com/static/*"
    script: static-assets

- name: Remove a route
  cfops.cloudflare.worker_route:
    pattern: books.example.com/old/*
    state: absent
"""

RETURN = r"""
route:
  description:
    - The route. C(null) after O(state=absent) (deleted now, already gone, or to be deleted in check mode).
  returned: always
  type: dict
  contains:
    id:
      description: The route id; C(null) when it would be created in check mode.
      type: str
      returned: success
      sample: 9a7806061c88ada191ed06f989cc3dac
    pattern:
      description: The route pattern.
      type: str
      returned: success
      sample: books.example.com/api/*
    script:
      description: The Worker the route runs.
      type: str
      returned: success
      sample: books-api-prod
    zone_id:
      description: The zone id.
      type: str
      returned: success
      sample: 023e105f4ecef8ad9ca31a8372d0c353
    zone_name:
      description: The zone name.
      type: str
      returned: success
      sample: example.com
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
      sample: 0
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cfops.cloudflare.plugins.module_utils._binding_targets import check_worker_exists
from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule
from ansible_collections.cfops.cloudflare.plugins.module_utils._worker_triggers import (
    check_pattern_syntax,
    pattern_host,
    routes_path,
    zone_of_host,
)

ROUTE_SCRIPT_NOT_FOUND = 10019


class WorkerRouteModule(CloudflareModule):
    requires_account = False  # routes are zone objects; account_id only narrows the zone lookup

    def __init__(self, module):
        super().__init__(module)
        self.zone = None

    def execute(self):
        pattern = self.params["pattern"]
        check_pattern_syntax(pattern)
        self.zone = zone_of_host(self.client, self.params["zone"], pattern_host(pattern), self.account_id, "pattern",
                                 pattern)
        super().execute()

    def find(self):
        for route in self.client.get(routes_path(self.zone["id"])) or []:
            if route.get("pattern") == self.params["pattern"]:
                return route
        return None

    def view(self, route):
        return {"id": route.get("id"), "pattern": route["pattern"], "script": route.get("script") or None,
                "zone_id": self.zone["id"], "zone_name": self.zone["name"]}

    @staticmethod
    def state_of(route):
        return {"pattern": route["pattern"], "script": route.get("script") or None} if route else {}

    def write(self, send, script):
        try:
            return send()
        except CloudflareAPIError as exc:
            if exc.has_code(ROUTE_SCRIPT_NOT_FOUND):
                raise InvalidInputError("script %r does not exist in the account; deploy the Worker before routing to it"
                                        % script)
            raise

    def present(self):
        wanted = {"pattern": self.params["pattern"], "script": self.params["script"]}
        route = self.find()
        after = dict(route or {}, **wanted)
        if route is None or (route.get("script") or None) != wanted["script"]:
            if self.account_id:  # without it the API's refusal (ROUTE_SCRIPT_NOT_FOUND) is the check
                check_worker_exists(self.client, self.account_id, wanted["script"], "script")
            self.mark_changed()
            if not self.check_mode and route is None:
                after = self.write(lambda: self.client.create(routes_path(self.zone["id"]), find_existing=self.find,
                                                              json=wanted), wanted["script"])
            elif not self.check_mode:
                after = self.write(lambda: self.client.put(routes_path(self.zone["id"], route["id"]), json=wanted),
                                   wanted["script"])
        self.set_diff(self.state_of(route), self.state_of(after))
        self.result["route"] = self.view(after)

    def absent(self):
        route = self.find()
        if route is not None:
            self.mark_changed()
            if not self.check_mode:
                self.client.delete(routes_path(self.zone["id"], route["id"]))
        self.set_diff(self.state_of(route), {})
        self.result["route"] = None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            pattern=dict(type="str", required=True),
            zone=dict(type="str"),
            script=dict(type="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        required_if=[("state", "present", ["script"])],
        supports_check_mode=True,
    )
    WorkerRouteModule(module).run()


if __name__ == "__main__":
    main()
