#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: worker_cron
short_description: Set the exact cron triggers of a Worker
version_added: 1.1.0
description:
  - Makes the Worker's cron triggers exactly O(crons); triggers not listed are removed.
  - Every expression is checked against Cloudflare's cron syntax before any write; the error names
    the expression and the field that is wrong.
  - Idempotent. One read of the Worker's schedules decides, comparing the sets (order and repeated
    spaces do not matter); one write replaces the whole set when it differs.
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
options:
  script:
    description:
      - The Worker. It must exist.
      - The old name C(script_name) still works as a deprecated alias, until 2.0.0.
    type: str
    aliases: [script_name]
    required: true
  crons:
    description:
      - The cron expressions, five fields each (minute, hour, day of month, month, day of week), in UTC.
      - "Cloudflare's ranges: minute V(0-59), hour V(0-23), day of month V(1-31) (also V(L), V(W)),
        month V(1-12) or V(JAN-DEC), day of week V(1-7) or V(SUN-SAT) where Sunday is V(1) (also V(L), V(#))."
      - Ignored when O(state=absent).
    type: list
    elements: str
    default: []
  state:
    description:
      - V(present) makes the triggers exactly O(crons) (an empty list removes them all).
      - V(absent) removes every cron trigger of the Worker.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: cfops.cloudflare.worker_script
"""

EXAMPLES = r"""
- name: Hourly analysis, daily rollup and a weekly cleanup on Sunday
  cfops.cloudflare.worker_cron:
    script: pingtopass-production
    crons:
      - "0 * * * *"
      - "0 0 * * *"
      - "0 2 * * SUN"

- name: Remove every cron trigger
  cfops.cloudflare.worker_cron:
    script: pingtopass-production
    state: absent
"""

RETURN = r"""
crons:
  description: The Worker's cron expressions after the task (as they would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: ["0 * * * *", "0 2 * * SUN"]
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
from ansible_collections.cfops.cloudflare.plugins.module_utils._worker_triggers import schedules_path, validate_crons


class WorkerCronModule(CloudflareModule):

    def execute(self):
        wanted = [] if self.params["state"] == "absent" else validate_crons(self.params["crons"])
        path = schedules_path(self.account_id, self.params["script"])
        current = [" ".join(schedule["cron"].split()) for schedule in (self.client.get(path) or {}).get("schedules") or []]
        after = current
        if sorted(set(current)) != sorted(wanted):
            self.mark_changed()
            after = wanted
            if not self.check_mode:
                result = self.client.put(path, json=[{"cron": cron} for cron in wanted]) or {}
                after = [schedule["cron"] for schedule in result.get("schedules") or []]
        self.set_diff({"crons": sorted(current)}, {"crons": sorted(after)})
        self.result["crons"] = after


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            script=dict(type="str", required=True, aliases=["script_name"],
                        deprecated_aliases=[dict(name="script_name", version="2.0.0", collection_name="cfops.cloudflare")]),
            crons=dict(type="list", elements="str", default=[]),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    WorkerCronModule(module).run()


if __name__ == "__main__":
    main()
