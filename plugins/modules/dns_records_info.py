#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_records_info
short_description: Read the DNS records of a Cloudflare zone in the input format of dns_records
version_added: 1.1.0
description:
  - Returns the records of a zone exactly as M(cfops.cloudflare.dns_records) takes them in its
    C(records) option, so a live zone can be adopted without retyping it (see C(playbooks/adopt_dns.yml)).
  - One read at the largest page size. Names are relative to the zone (V(@) for the apex); TTL V(1)
    (automatic), empty comments and empty tags are left out. Records are sorted by name, type and content.
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
  zone:
    description: The zone, by name (V(example.com)) or by its 32-character id.
    type: str
    required: true
  names:
    description: Only the records of these names (relative or fully qualified).
    type: list
    elements: str
  types:
    description: Only the records of these types.
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Read the zone
  cfops.cloudflare.dns_records_info:
    zone: example.com
  register: live

- name: Apply the same records to the staging zone
  cfops.cloudflare.dns_records:
    zone: staging.example.com
    records: "{{ live.records }}"
"""

RETURN = r"""
records:
  description: The records, in the format of the C(records) option of M(cfops.cloudflare.dns_records).
  returned: always
  type: list
  elements: dict
  sample: [{name: www, type: A, content: 192.0.2.1, proxied: false}, {name: "@", type: MX, content: mx.example.net, priority: 10}]
count:
  description: The number of records returned.
  returned: always
  type: int
  sample: 2
zone:
  description: The zone (C(id), C(name)).
  returned: always
  type: dict
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

from ansible_collections.cfops.cloudflare.plugins.module_utils._dns import (
    ZoneRecordsModule,
    is_zone_apex_authority,
    read_zone,
    sort_key,
    to_input,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule


class DNSRecordsInfoModule(ZoneRecordsModule):

    def execute(self):
        zone_name = self.zone()
        names = set(self.fqdn_option(name, "names") for name in self.params["names"] or [])
        types = set(t.upper() for t in self.params["types"] or [])
        records = [r for r in read_zone(self.client, self.zone_info["id"])
                   if not is_zone_apex_authority(r, zone_name)
                   and (not names or r["name"] in names) and (not types or r["type"] in types)]
        self.result["records"] = [to_input(r, zone_name) for r in sorted(records, key=sort_key)]
        self.result["count"] = len(records)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            zone=dict(type="str", required=True),
            names=dict(type="list", elements="str"),
            types=dict(type="list", elements="str"),
        ),
        supports_check_mode=True,
    )
    DNSRecordsInfoModule(module).run()


if __name__ == "__main__":
    main()
