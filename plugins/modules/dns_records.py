#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_records
short_description: Declare the DNS records of a Cloudflare zone, applied in batches
version_added: 1.1.0
description:
  - Makes the DNS records of a zone (or of some names in it) match a list, the way DNS sync tools do.
  - "Reads the zone once (one paginated read at the largest page size), computes the difference
    locally and applies it with the batch endpoint (C(POST /zones/{id}/dns_records/batch)): deletes,
    then changes, then creations, O(batch_size) operations per call. Never one call per record."
  - "Record sets: every (name, type) that appears in O(records) is complete. Listed values are kept or
    created; other existing values of that name and type are changed into the missing ones (one
    change instead of a delete and a create) or removed. Names and types that do not appear are left
    alone unless O(exclusive=true)."
  - Every record is validated before any write (IP addresses, host names, TTL, proxied, priorities,
    SRV/CAA data, duplicates, and the CNAME rule on the zone as it would be); the error names the record.
  - The SOA and the NS records at the zone apex are never changed or removed unless listed.
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
options:
  zone:
    description:
      - The zone, by name (V(example.com)) or by its 32-character id.
    type: str
    required: true
  records:
    description:
      - The records, in the format M(cfops.cloudflare.dns_records_info) returns.
      - C(name) is relative to the zone (V(www)), V(@) for the apex, or a fully qualified name.
      - C(type) is one of A, AAAA, CAA, CNAME, HTTPS, MX, NS, PTR, SRV, SVCB, TXT, URI.
      - C(content) is the value; SRV and CAA take C(data) instead
        (SRV C({priority, weight, port, target}), CAA C({flags, tag, value})).
      - C(ttl) defaults to V(1) (automatic); otherwise 60 to 86400 seconds. Proxied records are always automatic.
      - C(proxied) defaults to V(false); only A, AAAA and CNAME records can be proxied.
      - C(priority) is required for MX and URI records.
      - C(comment) and C(tags) (V(name:value) strings) are managed only when given.
    type: list
    elements: dict
    default: []
  src:
    description:
      - A JSON (C(.json)) or YAML file on the managed host holding the records, in the format of O(records),
        as a list or as a mapping with that list under C(records) (what M(cfops.cloudflare.dns_records_info) returns).
      - The module reads it itself, so a large zone never passes through Ansible variables, templating and
        the module arguments echoed in the result (C(invocation)); controller memory stays flat in the zone size.
      - Mutually exclusive with O(records).
    type: path
    version_added: 1.2.0
  changes_limit:
    description:
      - At most this many records in each list of RV(changes) (C(added), C(changed), C(removed)), the first
        by name, type and content. RV(counts) always has the totals and RV(changes_truncated) says whether
        a list was cut.
      - With C(--diff) or verbosity 3 (C(-vvv)) and above, the lists are complete.
      - V(0) returns empty lists.
    type: int
    default: 100
    version_added: 1.2.0
  names:
    description:
      - Manage only these names (relative or fully qualified). With O(exclusive=true), only records
        with these names are removed. Every record in O(records) must carry one of them.
    type: list
    elements: str
  exclusive:
    description:
      - Remove the records of the zone (or of O(names)) that O(records) does not list, except the ignored ones.
    type: bool
    default: false
  ignore:
    description:
      - Records managed elsewhere, never removed by O(exclusive). Each entry is a name pattern
        (shell-style, matched against the relative or the full name) optionally followed by C(/TYPE),
        for example V(_acme-challenge*/TXT) or V(legacy-*).
    type: list
    elements: str
    default: []
  max_change_percent:
    description:
      - With O(exclusive=true), refuse (before any write, with the counts) to change and remove
        together more than this percentage of the zone's existing records.
    type: float
    default: 30
  force:
    description:
      - Apply a change above O(max_change_percent).
    type: bool
    default: false
  batch_size:
    description:
      - Operations per batch call. By default the zone's plan decides it, at Cloudflare's limit of
        200 on the Free plan, 3,500 on Pro, Business and Enterprise.
    type: int
notes:
  - Check mode computes the same changes and makes no write. C(--diff) shows every record removed,
    changed and added, sorted by name, type and content (the diff is built only when C(--diff) asks for it).
"""

EXAMPLES = r"""
- name: Records of the books API
  cfops.cloudflare.dns_records:
    zone: example.com
    records:
      - {name: books, type: CNAME, content: books-api.workers.dev, proxied: true}
      - {name: "@", type: MX, content: mx1.example.net, priority: 10}
      - {name: "@", type: TXT, content: "v=spf1 include:example.net -all"}
      - name: "@"
        type: CAA
        data: {flags: 0, tag: issue, value: letsencrypt.org}

- name: A zone of 20,000 records from a file, never through variables
  cfops.cloudflare.dns_records:
    zone: example.com
    src: "{{ playbook_dir }}/files/example.com.records.json"
    exclusive: true

- name: The whole zone from the inventory; records not listed are removed
  cfops.cloudflare.dns_records:
    zone: example.com
    records: "{{ dns_records }}"
    exclusive: true
    ignore:
      - _acme-challenge*/TXT
"""

RETURN = r"""
zone:
  description: The zone (C(id), C(name)).
  returned: always
  type: dict
  sample: {id: 0f2ac74b498b48028cb68387c421e279, name: example.com}
counts:
  description: How many records were (or in check mode would be) added, changed and removed.
  returned: always
  type: dict
  sample: {added: 1, changed: 0, removed: 2}
changes:
  description:
    - C(added) and C(removed) lists of records and C(changed) list of C({before, after}), in the input format, sorted.
    - Each list holds at most O(changes_limit) records (the first ones) unless the task runs with C(--diff)
      or C(-vvv); RV(counts) has the totals.
  returned: always
  type: dict
changes_truncated:
  description: Whether a list of RV(changes) was cut at O(changes_limit).
  returned: always
  type: bool
  sample: false
  version_added: 1.2.0
batch_calls:
  description: The number of batch calls made (0 in check mode or when nothing changes).
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

from ansible_collections.cfops.cloudflare.plugins.module_utils._dns import RecordSetModule
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            zone=dict(type="str", required=True),
            records=dict(type="list", elements="dict", default=[]),
            src=dict(type="path"),
            changes_limit=dict(type="int", default=100),
            names=dict(type="list", elements="str"),
            exclusive=dict(type="bool", default=False),
            ignore=dict(type="list", elements="str", default=[]),
            max_change_percent=dict(type="float", default=30),
            force=dict(type="bool", default=False),
            batch_size=dict(type="int"),
        ),
        supports_check_mode=True,
    )
    RecordSetModule(module).run()


if __name__ == "__main__":
    main()
