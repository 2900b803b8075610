#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_record
short_description: Manage one DNS record of a Cloudflare zone
version_added: 1.1.0
description:
  - Creates, changes or removes one DNS record (A, AAAA, CAA, CNAME, HTTPS, MX, NS, PTR, SRV, SVCB, TXT, URI).
  - "How the record is identified depends on O(solo):"
  - "O(solo=true): the record is the only one of its O(type) at its O(name). It is identified by
    (name, type): an existing record of that name and type is changed to match (its id is kept),
    and any other records of that name and type are removed."
  - "O(solo=false): the record is one value among several of its name and type (round-robin A records,
    several TXT or MX records). It is identified by (name, type, content), or (name, type, data) for
    SRV and CAA: other values are never touched; a different content is a different record."
  - One read (the records at the name) and, when something changes, one write (a batch call, so a
    change that replaces records is applied all at once). To manage many records, use
    M(cfops.cloudflare.dns_records), which needs a handful of calls for a whole zone.
  - The record is validated before any write (IP address, host name, TTL, proxied, priority, SRV/CAA data)
    and a CNAME beside other records at the same name is refused, naming the records.
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
  name:
    description: The record name, relative to the zone (V(www)), V(@) for the apex, or fully qualified.
    type: str
    required: true
  type:
    description: The record type.
    type: str
    required: true
    choices: [A, AAAA, CAA, CNAME, HTTPS, MX, NS, PTR, SRV, SVCB, TXT, URI]
  content:
    description:
      - The value (an address, a host name, a text). Required with O(state=present) except for SRV and CAA.
      - With O(state=absent), only the record with this value is removed; without it, every record of
        O(name) and O(type) is removed.
    type: str
  data:
    description:
      - SRV (C(priority), C(weight), C(port), C(target)) and CAA (C(flags), C(tag), C(value)) records take these instead of O(content).
    type: dict
  ttl:
    description: V(1) is automatic; otherwise 60 to 86400 seconds. A proxied record's TTL is always automatic.
    type: int
    default: 1
  proxied:
    description: Serve the name through Cloudflare. Only A, AAAA and CNAME records can be proxied.
    type: bool
    default: false
  priority:
    description: Required for MX and URI records.
    type: int
  comment:
    description: A note on the record; managed only when given.
    type: str
  tags:
    description: V(name:value) tags; managed only when given.
    type: list
    elements: str
  solo:
    description:
      - Whether the record is the only one of its type at its name (see the description).
      - Defaults to V(true) for A, AAAA and CNAME and to V(false) for the other types.
    type: bool
  state:
    description: V(present) creates or changes the record; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Point books.example.com at the Worker (solo by default for CNAME)
  cfops.cloudflare.dns_record:
    zone: example.com
    name: books
    type: CNAME
    content: books-api.example.workers.dev
    proxied: true

- name: Add one more TXT value, leaving the others alone
  cfops.cloudflare.dns_record:
    zone: example.com
    name: "@"
    type: TXT
    content: google-site-verification=abc123

- name: Remove a round-robin address
  cfops.cloudflare.dns_record:
    zone: example.com
    name: www
    type: A
    content: 192.0.2.7
    solo: false
    state: absent
"""

RETURN = r"""
record:
  description:
    - The record in the format of M(cfops.cloudflare.dns_records), with its C(id) (C(null) when created in check mode).
    - C(null) after O(state=absent) (deleted now, already gone, or to be deleted in check mode).
  returned: always
  type: dict
  sample: {id: 372e67954025e0ba6aaa6d586b9e0b59, name: www, type: A, content: 192.0.2.1, proxied: false}
counts:
  description: How many records were (or in check mode would be) added, changed and removed.
  returned: always
  type: dict
  sample: {added: 0, changed: 1, removed: 0}
changes:
  description: C(added), C(changed) (C({before, after})) and C(removed) records.
  returned: always
  type: dict
zone:
  description: The zone (C(id), C(name)).
  returned: always
  type: dict
batch_calls:
  description: The number of writes (batch calls) made.
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

from ansible_collections.cfops.cloudflare.plugins.module_utils._dns import (
    SOLO_BY_DEFAULT,
    TYPES,
    ZoneRecordsModule,
    from_api,
    normalise,
    plan,
    read_zone,
    sort_key,
    to_input,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule


class DNSRecordModule(ZoneRecordsModule):

    def wanted(self):
        params = self.params
        record = dict((key, params[key]) for key in ("name", "type", "content", "data", "ttl", "proxied", "priority",
                                                     "comment", "tags") if params[key] is not None)
        if params["state"] == "absent" and params["type"] in ("MX", "URI") and params["priority"] is None:
            record["priority"] = 0  # not part of the identity; lets the content be checked
        return normalise(record, self.zone_info["name"], where="the record")

    def execute(self):
        params = self.params
        zone_name = self.zone()
        name = self.fqdn_option(params["name"], "name")
        solo = params["solo"] if params["solo"] is not None else params["type"] in SOLO_BY_DEFAULT
        identify_by_value = params["content"] is not None or params["data"] is not None
        want = self.wanted() if params["state"] == "present" or identify_by_value else None
        at_name = read_zone(self.client, self.zone_info["id"], params={"name": name})
        same_set = [r for r in at_name if r["type"] == params["type"]]
        if params["state"] == "present":
            if not solo:
                same_set = [r for r in same_set if r["content"] == want["content"]]
            changes = plan(same_set, [want], zone_name)
        else:
            if want is not None:
                same_set = [r for r in same_set if r["content"] == want["content"]]
            changes = {"create": [], "update": [], "delete": sorted(same_set, key=sort_key)}
        results = self.finish(at_name, changes)
        self.result["record"] = self.record_view(want, same_set, changes, results) if params["state"] == "present" else None

    def record_view(self, want, same_set, changes, results):
        zone_name = self.zone_info["name"]
        written = [r for result in results for key in ("posts", "patches") for r in (result.get(key) or [])]
        if written:
            record = from_api(written[0])
        else:
            matching = [r for r in same_set if r["content"] == want["content"]]
            record = dict(want, id=matching[0]["id"] if matching and not changes["create"] else None)
            if changes["update"]:
                record["id"] = changes["update"][0][0]["id"]
        view = to_input(dict({"ttl": 1, "proxied": False}, **record), zone_name)
        view["id"] = record.get("id")
        return view


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            zone=dict(type="str", required=True),
            name=dict(type="str", required=True),
            type=dict(type="str", required=True, choices=list(TYPES)),
            content=dict(type="str"),
            data=dict(type="dict"),
            ttl=dict(type="int", default=1),
            proxied=dict(type="bool", default=False),
            priority=dict(type="int"),
            comment=dict(type="str"),
            tags=dict(type="list", elements="str"),
            solo=dict(type="bool"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        mutually_exclusive=[("content", "data")],
        supports_check_mode=True,
    )
    DNSRecordModule(module).run()


if __name__ == "__main__":
    main()
