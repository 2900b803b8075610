#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: queue_consumer
short_description: Attach a Worker to a Cloudflare Queue as its consumer
version_added: 1.1.0
description:
  - Makes sure the Worker O(script) consumes O(queue) with the given batch size, wait time,
    retries, concurrency and dead-letter queue, or is no longer a consumer.
  - One read (the queue and the dead-letter queue looked up by name, C(GET .../queues?name=...); a queue
    carries its consumers) and at most one write.
  - The consumer is found by the Worker it names, which the API gives as C(script) (C(service) and
    C(script_name) are accepted too), so a second run changes nothing and O(state=absent) finds it.
  - The queue and the dead-letter queue must exist; the module says so before any write.
  - Settings left unset are not changed on an existing consumer (Cloudflare's defaults apply at creation).
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
options:
  queue:
    description:
      - The name of the queue.
    type: str
    required: true
  script:
    description:
      - The Worker that consumes the queue.
      - The old name C(script_name) still works as a deprecated alias, until 2.0.0.
    type: str
    aliases: [script_name]
    required: true
  batch_size:
    description:
      - The most messages in one batch (1 to 100).
    type: int
  max_wait_time_ms:
    description:
      - Milliseconds to wait for a batch to fill before delivering it (0 to 60000); wrangler's
        C(max_batch_timeout) in milliseconds.
    type: int
  max_retries:
    description:
      - Retries of a failing message before it goes to the dead-letter queue or is dropped (0 to 100).
    type: int
  max_concurrency:
    description:
      - The most concurrent consumer invocations (1 to 250).
    type: int
  retry_delay:
    description:
      - Seconds before a retried message is delivered again (0 to 43200).
    type: int
  dead_letter_queue:
    description:
      - The queue that receives messages after O(max_retries) failures. An empty string removes it.
    type: str
  state:
    description:
      - V(present) attaches or updates the consumer; V(absent) detaches it.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: cfops.cloudflare.queue
"""

EXAMPLES = r"""
- name: books-api consumes the task queue
  cfops.cloudflare.queue_consumer:
    queue: pingtopass-tasks
    script: pingtopass-worker
    batch_size: 50
    max_wait_time_ms: 5000
    max_retries: 5
    dead_letter_queue: pingtopass-tasks-dlq
"""

RETURN = r"""
consumer:
  description:
    - The consumer. C(null) after O(state=absent) (detached now, already gone, or to be detached in check
      mode) and in check mode before a creation.
  returned: always
  type: dict
  sample: {"consumer_id": "5a0c7b9d2e3f4a5b6c7d8e9f0a1b2c3d", "script_name": "pingtopass-worker",
           "dead_letter_queue": "pingtopass-tasks-dlq", "settings": {"batch_size": 50, "max_retries": 5}}
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

from ansible_collections.cfops.cloudflare.plugins.module_utils._binding_targets import check_worker_exists
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule
from ansible_collections.cfops.cloudflare.plugins.module_utils._queues import (
    CONSUMER_SETTING_LIMITS,
    consumer_script,
    find_worker_consumer,
    lookup_queue,
    lookup_queues,
    queues_path,
    settings_differ,
    validate_limits,
    validate_queue_name,
)

CONSUMER_SETTINGS = tuple(sorted(CONSUMER_SETTING_LIMITS))


def consumer_view(consumer, script_name=None):
    view = {key: consumer.get(key) for key in ("consumer_id", "dead_letter_queue", "settings")}
    view["script_name"] = consumer_script(consumer) or script_name
    return view


class QueueConsumerModule(CloudflareModule):

    def execute(self):
        params = self.params
        validate_queue_name(params["queue"], "queue")
        if params["dead_letter_queue"]:
            validate_queue_name(params["dead_letter_queue"], "dead_letter_queue")
        self.wanted = {name: params[name] for name in CONSUMER_SETTINGS}
        validate_limits(self.wanted, CONSUMER_SETTING_LIMITS)
        present = params["state"] == "present"
        dead_letter_queue = params["dead_letter_queue"] if present else None
        queues = lookup_queues(self.client, self.account_id, [params["queue"], dead_letter_queue])
        self.queue = queues[params["queue"]]
        if self.queue is None and present:
            raise InvalidInputError("queue %r does not exist in account %s (create it with cfops.cloudflare.queue)"
                                    % (params["queue"], self.account_id))
        if dead_letter_queue and queues[dead_letter_queue] is None:
            raise InvalidInputError("dead_letter_queue %r does not exist in account %s (create it with cfops.cloudflare.queue)"
                                    % (dead_letter_queue, self.account_id))
        self.current = find_worker_consumer(self.queue, params["script"])
        super().execute()

    def consumers_path(self, *rest):
        return queues_path(self.account_id, self.queue["queue_id"], "consumers", *rest)

    def present(self):
        current = self.current
        settings = (current or {}).get("settings") or {}
        differing = settings_differ(self.wanted, settings)
        dead_letter_queue = self.params["dead_letter_queue"]
        # "No dead-letter queue" is an empty string in the SDK's model; a missing or null field means the same.
        dlq_differs = dead_letter_queue is not None and ((current or {}).get("dead_letter_queue") or "") != dead_letter_queue
        if current is not None and not differing and not dlq_differs:
            self.result["consumer"] = consumer_view(current)
            return
        if current is None:
            check_worker_exists(self.client, self.account_id, self.params["script"], "script",
                                "make it a consumer")
        self.mark_changed()
        # PUT replaces: send the current settings this module knows (not whatever else the answer carries) plus the wanted ones.
        kept = {name: value for name, value in settings.items() if name in CONSUMER_SETTING_LIMITS and value is not None}
        body = {"script_name": self.params["script"], "type": "worker",
                "settings": dict(kept, **{name: value for name, value in self.wanted.items() if value is not None}),
                "dead_letter_queue": dead_letter_queue if dead_letter_queue is not None else (current or {}).get("dead_letter_queue") or ""}
        if not body["dead_letter_queue"]:
            del body["dead_letter_queue"]
        self.set_diff(consumer_view(current) if current else {}, dict(body, consumer_id=(current or {}).get("consumer_id")))
        if self.check_mode:
            self.result["consumer"] = consumer_view(current) if current is not None else None
            return
        if current is None:
            created = self.client.create(self.consumers_path(), json=body, find_existing=self.find_consumer)
        else:
            created = self.client.put(self.consumers_path(current["consumer_id"]), json=body)
        self.result["consumer"] = consumer_view(created or {}, self.params["script"])

    def find_consumer(self):
        return find_worker_consumer(lookup_queue(self.client, self.account_id, self.params["queue"]), self.params["script"])

    def absent(self):
        self.result["consumer"] = None
        if self.current is None:
            return
        self.mark_changed()
        self.set_diff(consumer_view(self.current), {})
        if not self.check_mode:
            self.client.delete(self.consumers_path(self.current["consumer_id"]))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            queue=dict(type="str", required=True),
            script=dict(type="str", required=True, aliases=["script_name"],
                        deprecated_aliases=[dict(name="script_name", version="2.0.0", collection_name="cfops.cloudflare")]),
            batch_size=dict(type="int"),
            max_wait_time_ms=dict(type="int"),
            max_retries=dict(type="int"),
            max_concurrency=dict(type="int"),
            retry_delay=dict(type="int"),
            dead_letter_queue=dict(type="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    QueueConsumerModule(module).run()


if __name__ == "__main__":
    main()
