#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: queue
short_description: Create, configure or delete a Cloudflare Queue
version_added: 1.1.0
description:
  - Makes sure a queue exists with the given settings, or does not exist.
  - One read (the queue looked up by name, C(GET .../queues?name=NAME) as wrangler does; more pages are
    followed when the answer says it has them) and at most two writes (create, then the settings Cloudflare
    does not take at creation). Settings left unset are not changed.
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
options:
  name:
    description:
      - The queue name, 1 to 63 lowercase letters, digits and dashes.
    type: str
    required: true
  delivery_delay:
    description:
      - Seconds every message waits before it is delivered to consumers (0 to 43200).
    type: int
  message_retention_period:
    description:
      - Seconds an unconsumed message is kept (60 to 1209600).
    type: int
  delivery_paused:
    description:
      - Pause delivery to consumers.
    type: bool
  state:
    description:
      - V(present) creates or updates the queue; V(absent) deletes it with its consumers and messages.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: cfops.cloudflare.queue_consumer
"""

EXAMPLES = r"""
- name: The task queue
  cfops.cloudflare.queue:
    name: pingtopass-tasks
    message_retention_period: 86400

- name: Its dead-letter queue
  cfops.cloudflare.queue:
    name: pingtopass-tasks-dlq
"""

RETURN = r"""
queue:
  description:
    - The queue. C(null) after O(state=absent) (deleted now, already gone, or to be deleted in check mode)
      and in check mode before a creation.
  returned: always
  type: dict
  contains:
    queue_id:
      description: The id.
      type: str
      sample: 7f6a3b2c1d0e4f5a6b7c8d9e0f1a2b3c
    queue_name:
      description: The name.
      type: str
      sample: pingtopass-tasks
    settings:
      description: C(delivery_delay), C(delivery_paused), C(message_retention_period).
      type: dict
      sample: {"delivery_delay": 0, "delivery_paused": false, "message_retention_period": 86400}
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule
from ansible_collections.cfops.cloudflare.plugins.module_utils._queues import (
    QUEUE_SETTING_LIMITS,
    QUEUE_SETTINGS,
    lookup_queue,
    queues_path,
    settings_differ,
    validate_limits,
    validate_queue_name,
)


def queue_view(queue):
    return {"queue_id": queue["queue_id"], "queue_name": queue["queue_name"], "settings": queue.get("settings") or {}}


class QueueModule(CloudflareModule):

    def execute(self):
        validate_queue_name(self.params["name"])
        self.wanted = {name: self.params[name] for name in QUEUE_SETTINGS}
        validate_limits(self.wanted, QUEUE_SETTING_LIMITS)
        self.current = lookup_queue(self.client, self.account_id, self.params["name"])
        super().execute()

    def present(self):
        queue = self.current
        before = queue_view(queue)["settings"] if queue else {}
        differing = settings_differ(self.wanted, before)
        if queue is not None and not differing:
            self.result["queue"] = queue_view(queue)
            return
        self.mark_changed()
        after = dict(before, **{name: self.wanted[name] for name in differing}) if queue else \
            {name: value for name, value in self.wanted.items() if value is not None}
        self.set_diff({"name": queue["queue_name"], "settings": before} if queue else {},
                      {"name": self.params["name"], "settings": after})
        if self.check_mode:
            self.result["queue"] = queue_view(queue) if queue is not None else None
            return
        if queue is None:
            queue = self.client.create(queues_path(self.account_id), json={"queue_name": self.params["name"]},
                                       find_existing=lambda: lookup_queue(self.client, self.account_id, self.params["name"]))
            differing = settings_differ(self.wanted, queue.get("settings") or {})
        if differing:
            queue = self.client.patch(queues_path(self.account_id, queue["queue_id"]),
                                      json={"settings": {name: self.wanted[name] for name in differing}})
        self.result["queue"] = queue_view(queue)

    def absent(self):
        self.result["queue"] = None
        if self.current is None:
            return
        self.mark_changed()
        self.set_diff(queue_view(self.current), {})
        if not self.check_mode:
            self.client.delete(queues_path(self.account_id, self.current["queue_id"]))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            name=dict(type="str", required=True),
            delivery_delay=dict(type="int"),
            message_retention_period=dict(type="int"),
            delivery_paused=dict(type="bool"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    QueueModule(module).run()


if __name__ == "__main__":
    main()
