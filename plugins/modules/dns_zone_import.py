#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_zone_import
short_description: Import a BIND zone file into a Cloudflare zone, adding only the records missing
version_added: 1.1.0
description:
  - Reads a BIND zone file (for example from M(cfops.cloudflare.dns_zone_export) or another DNS provider)
    and adds to the zone the records it does not have yet.
  - "Idempotent: a record is identified by name, type and content (data for SRV and CAA). Records
    already there are left as they are (their TTL, proxied status and comment are not changed), so a
    second run changes nothing. To make the zone match a file exactly, read it with this module in
    check mode and use M(cfops.cloudflare.dns_records) with O(cfops.cloudflare.dns_records#module:exclusive=true)."
  - "Why not Cloudflare's import endpoint: it cannot tell what it would add before it adds it (no check
    mode, no diff) and its errors come after some records are in. This module parses the file,
    validates every record (naming the file line) and checks the CNAME rule before any write, then
    adds the missing records with the batch endpoint, all-or-nothing per batch call."
  - The SOA record and the NS records of the zone apex are skipped (Cloudflare serves them).
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
options:
  zone:
    description: The zone, by name (V(example.com)) or by its 32-character id.
    type: str
    required: true
  src:
    description: The BIND zone file to read. Relative names are under the zone (or the file's C($ORIGIN)).
    type: path
    required: true
  proxied:
    description: Create the A, AAAA and CNAME records of the file proxied.
    type: bool
    default: false
  batch_size:
    description:
      - Operations per batch call. By default the zone's plan decides it, at Cloudflare's limit of
        200 on the Free plan, 3,500 on Pro, Business and Enterprise.
    type: int
"""

EXAMPLES = r"""
- name: Migrate a zone from another provider
  cfops.cloudflare.dns_zone_import:
    zone: example.com
    src: files/example.com.zone
"""

RETURN = r"""
parsed:
  description: The number of records read from the file (SOA and apex NS records not counted).
  returned: always
  type: int
  sample: 42
counts:
  description: How many records were (or in check mode would be) added. C(changed) and C(removed) are always 0.
  returned: always
  type: dict
  sample: {added: 3, changed: 0, removed: 0}
changes:
  description: The records added (C(added)), in the input format of M(cfops.cloudflare.dns_records).
  returned: always
  type: dict
zone:
  description: The zone (C(id), C(name)).
  returned: always
  type: dict
batch_calls:
  description: The number of batch calls made.
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
      sample: 2
    writes:
      description: Calls that wrote.
      type: int
      returned: always
      sample: 1
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cfops.cloudflare.plugins.module_utils._bind import parse
from ansible_collections.cfops.cloudflare.plugins.module_utils._dns import (
    PROXIABLE,
    ZoneRecordsModule,
    is_zone_apex_authority,
    normalise,
    read_zone,
    sort_key,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule


class DNSZoneImportModule(ZoneRecordsModule):

    def execute(self):
        if self.params["batch_size"] is not None and self.params["batch_size"] < 1:
            raise InvalidInputError("batch_size must be at least 1, got %d" % self.params["batch_size"])
        zone_name = self.zone()
        try:
            with open(self.params["src"], "r") as handle:
                text = handle.read()
        except (IOError, OSError, UnicodeDecodeError) as exc:
            raise InvalidInputError("src %s cannot be read: %s" % (self.params["src"], exc))
        wanted, keys = [], set()
        for raw in parse(text, zone_name):
            line = raw.pop("line")
            if self.params["proxied"] and raw["type"] in PROXIABLE:
                raw["proxied"] = True
            if raw.get("ttl") is not None and raw["ttl"] < 60:
                raw["ttl"] = 60  # BIND allows shorter TTLs than Cloudflare; keep the closest one allowed
            record = normalise(raw, zone_name, where="%s line %d" % (self.params["src"], line))
            if is_zone_apex_authority(record, zone_name) or sort_key(record) in keys:
                continue
            keys.add(sort_key(record))
            wanted.append(record)
        existing = read_zone(self.client, self.zone_info["id"])
        have = set(sort_key(r) for r in existing)
        changes = {"create": [r for r in wanted if sort_key(r) not in have], "update": [], "delete": []}
        self.result["parsed"] = len(wanted)
        self.finish(existing, changes, self.params["batch_size"])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            zone=dict(type="str", required=True),
            src=dict(type="path", required=True),
            proxied=dict(type="bool", default=False),
            batch_size=dict(type="int"),
        ),
        supports_check_mode=True,
    )
    DNSZoneImportModule(module).run()


if __name__ == "__main__":
    main()
