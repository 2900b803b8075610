#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: zone_info
short_description: List the zones of an account, with their plan, status and name servers
version_added: 1.2.0
description:
  - Returns the zones the token can see, optionally only those of O(account_id), one name, or some statuses.
  - Reads every page of C(GET /zones) at the largest page size the API allows (50).
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
      - Return only the zone with this name (an empty list when there is none).
    type: str
  status:
    description:
      - Return only zones in these statuses.
    type: list
    elements: str
    choices: [initializing, pending, active, moved]
notes:
  - O(account_id) is optional here; when it is set (or E(CLOUDFLARE_ACCOUNT_ID) is), only that account's zones
    are returned.
"""

EXAMPLES = r"""
- name: List the account's zones
  cfops.cloudflare.zone_info:
  register: zones

- name: Show each zone's plan and name servers
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.plan }} {{ item.name_servers | join(', ') }}"
  loop: "{{ zones.zones }}"

- name: Find zones still waiting for their name servers
  cfops.cloudflare.zone_info:
    status: [pending]
  register: pending
"""

RETURN = r"""
zones:
  description: The zones, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The zone id.
      type: str
      returned: always
      sample: 023e105f4ecef8ad9ca31a8372d0c353
    name:
      description: The zone (domain) name.
      type: str
      returned: always
      sample: example.com
    status:
      description: C(initializing), C(pending), C(active) or C(moved).
      type: str
      returned: always
      sample: active
    paused:
      description: Whether Cloudflare only serves DNS for the zone (no proxying).
      type: bool
      returned: always
      sample: false
    type:
      description: The zone type (C(full), C(partial), C(secondary), C(internal)).
      type: str
      returned: always
      sample: full
    plan:
      description: The plan's legacy id (C(free), C(pro), C(business), C(enterprise)).
      type: str
      returned: always
      sample: free
    plan_name:
      description: The plan's name.
      type: str
      returned: always
      sample: Free Website
    name_servers:
      description: The Cloudflare name servers assigned to the zone.
      type: list
      elements: str
      returned: always
      sample: [ada.ns.cloudflare.com, bob.ns.cloudflare.com]
    original_name_servers:
      description: The name servers before the zone moved to Cloudflare (an empty list when unknown).
      type: list
      elements: str
      returned: always
      sample: []
    account_id:
      description: The account that owns the zone.
      type: str
      returned: always
      sample: 023e105f4ecef8ad9ca31a8372d0c353
    created_on:
      description: When the zone was created.
      type: str
      returned: always
      sample: "2026-11-23T10:00:00Z"
    activated_on:
      description: When the zone became active (null while pending).
      type: str
      returned: always
      sample: "2026-11-23T10:00:00Z"
count:
  description: The number of zones returned.
  returned: always
  type: int
  sample: 1
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
      sample: 0
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule
from ansible_collections.cfops.cloudflare.plugins.module_utils._zone_list import list_zones, zone_info_view


class ZoneInfoModule(CloudflareModule):

    requires_account = False

    def execute(self):
        zones = list_zones(self.client, account_id=self.params["account_id"], name=self.params["name"])
        statuses = self.params["status"]
        views = [zone_info_view(zone) for zone in zones if not statuses or zone.get("status") in statuses]
        self.result["zones"] = sorted(views, key=lambda zone: zone["name"])
        self.result["count"] = len(views)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            name=dict(type="str"),
            status=dict(type="list", elements="str", choices=["initializing", "pending", "active", "moved"]),
        ),
        supports_check_mode=True,
    )
    ZoneInfoModule(module).run()


if __name__ == "__main__":
    main()
