#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: worker_custom_domain
short_description: Attach a Worker to a custom domain, or detach it
version_added: 1.1.0
description:
  - Attaches a Worker to a hostname of one of the account's zones (a Workers custom domain, where the
    Worker is the origin of every request to the hostname), or detaches it. The hostname identifies it.
  - The zone is O(zone), or else the account's zone the hostname belongs to (the longest matching
    zone name). A hostname outside every zone of the account fails before any write.
  - Idempotent. One read of the custom domains for the hostname decides; a hostname already
    attached to O(script) in the zone makes no write.
  - The attach request sends C(hostname), C(service) and C(zone_id), the fields of Cloudflare's current
    request schema. The C(environment) a response carries is returned, not compared.
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
options:
  hostname:
    description:
      - The hostname, for example V(books.example.com). The zone apex or a subdomain of it, without wildcards.
    type: str
    required: true
  zone:
    description:
      - The zone, by name (V(example.com)) or by its 32-character id.
      - When not set, the account's zone the hostname belongs to; the longest matching zone wins.
    type: str
  script:
    description:
      - The Worker that serves the hostname. Required when O(state=present).
      - The old name C(service) still works as a deprecated alias, until 2.0.0.
    type: str
    aliases: [service]
  environment:
    description:
      - Ignored. Cloudflare's current request schema for attaching a custom domain has no environment (a
        Worker has one, V(production)), so nothing is sent for it; the option is kept so existing tasks
        still run, and a warning says it is ignored.
    type: str
  state:
    description:
      - V(present) attaches the hostname to O(script) (re-attaching it when it serves another Worker).
      - V(absent) detaches the hostname.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: cfops.cloudflare.worker_route
"""

EXAMPLES = r"""
- name: Serve books.example.com from the books API Worker
  cfops.cloudflare.worker_custom_domain:
    hostname: books.example.com
    script: books-api-prod

- name: Detach the old hostname
  cfops.cloudflare.worker_custom_domain:
    hostname: old-books.example.com
    state: absent
"""

RETURN = r"""
domain:
  description:
    - The custom domain. C(null) after O(state=absent) (detached now, already gone, or to be detached in check mode).
  returned: always
  type: dict
  contains:
    id:
      description: The custom domain id; C(null) when it would be attached in check mode.
      type: str
      returned: success
      sample: dbe10b4bc17c295377eabd600e1787fd
    hostname:
      description: The hostname.
      type: str
      returned: success
      sample: books.example.com
    service:
      description: The Worker serving it.
      type: str
      returned: success
      sample: books-api-prod
    environment:
      description: The Worker environment the response names, if any (not sent, not compared).
      type: str
      returned: success
      sample: production
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
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule
from ansible_collections.cfops.cloudflare.plugins.module_utils._worker_triggers import domains_path, zone_of_host

# What is compared; the response's environment is only returned (VIEW_FIELDS).
FIELDS = ("hostname", "service", "zone_id", "zone_name")
VIEW_FIELDS = ("hostname", "service", "environment", "zone_id", "zone_name")


class WorkerCustomDomainModule(CloudflareModule):

    def __init__(self, module):
        super().__init__(module)
        self.zone = None
        self.hostname = (self.params["hostname"] or "").strip().lower().rstrip(".")

    def execute(self):
        if not self.hostname or "*" in self.hostname or "/" in self.hostname or " " in self.hostname:
            raise InvalidInputError("hostname %r is not a hostname such as books.example.com (no wildcards or paths)"
                                    % self.params["hostname"])
        self.zone = zone_of_host(self.client, self.params["zone"], self.hostname, self.account_id, "hostname")
        super().execute()

    def find(self):
        for domain in self.client.get(domains_path(self.account_id), params={"hostname": self.hostname}) or []:
            if domain.get("hostname") == self.hostname:
                return domain
        return None

    @staticmethod
    def view(domain):
        return dict({"id": domain.get("id")}, **{field: domain.get(field) for field in VIEW_FIELDS}) if domain else None

    @staticmethod
    def state_of(domain):
        return {field: domain.get(field) for field in FIELDS} if domain else {}

    def present(self):
        if self.params["environment"] is not None:
            self.module.warn("worker_custom_domain: environment is ignored; Cloudflare's custom domain request has no "
                             "environment, and it is not sent")
        wanted = {"hostname": self.hostname, "service": self.params["script"], "zone_id": self.zone["id"]}
        domain = self.find()
        after = dict(domain or {}, zone_name=self.zone["name"], **wanted)
        if self.state_of(domain) != self.state_of(after):
            check_worker_exists(self.client, self.account_id, wanted["service"], "service", "attach a hostname to it")
            self.mark_changed()
            if not self.check_mode:
                after = self.client.put(domains_path(self.account_id), json=wanted)
        self.set_diff(self.state_of(domain), self.state_of(after))
        self.result["domain"] = self.view(after)

    def absent(self):
        domain = self.find()
        if domain is not None:
            self.mark_changed()
            if not self.check_mode:
                self.client.delete(domains_path(self.account_id, domain["id"]))
        self.set_diff(self.state_of(domain), {})
        self.result["domain"] = None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            hostname=dict(type="str", required=True),
            zone=dict(type="str"),
            script=dict(type="str", aliases=["service"], deprecated_aliases=[dict(name="service", version="2.0.0", collection_name="cfops.cloudflare")]),
            environment=dict(type="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        required_if=[("state", "present", ["script"])],
        supports_check_mode=True,
    )
    WorkerCustomDomainModule(module).run()


if __name__ == "__main__":
    main()
