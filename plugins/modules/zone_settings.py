#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: zone_settings
short_description: Set a zone's settings (SSL mode, minimum TLS, HSTS, security level, HTTP/3, ...)
version_added: 1.1.0
description:
  - Sets the zone settings you list and leaves the others alone.
  - One read of all settings, then the changed ones only, in one C(PATCH /zones/{zone_id}/settings) call.
    A run with nothing to change makes no write.
  - Where Cloudflare no longer serves those aggregate calls (the current API schema has only the per-setting
    ones), each listed setting is read with C(GET /zones/{zone_id}/settings/{setting_id}) and each changed one
    written with C(PATCH /zones/{zone_id}/settings/{setting_id}).
  - Every name and value is checked before any write; the error lists the allowed values.
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
options:
  zone:
    description: The zone, by name (V(example.com)) or 32-character id.
    type: str
    required: true
  settings:
    description:
      - Setting name to value, for example V(ssl=strict), V(min_tls_version="1.2"), V(always_use_https=on),
        V(tls_1_3=on), V(security_level=medium), V(browser_check=on), V(0rtt=on), V(http3=on),
        V(automatic_https_rewrites=on), V(opportunistic_encryption=on), V(brotli=on), V(ipv6=on),
        V(websockets=on).
      - V(security_header) takes a C(strict_transport_security) mapping with C(enabled), C(max_age),
        C(include_subdomains), C(preload) and C(nosniff); keys you leave out keep their current value.
      - YAML booleans are taken as V(on)/V(off), and an unquoted V(1.2) as V("1.2").
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Secure TLS defaults and HSTS
  cfops.cloudflare.zone_settings:
    zone: example.com
    settings:
      ssl: strict
      min_tls_version: "1.2"
      always_use_https: "on"
      tls_1_3: "on"
      automatic_https_rewrites: "on"
      security_header:
        strict_transport_security:
          enabled: true
          max_age: 31536000
          include_subdomains: true
          nosniff: true
"""

RETURN = r"""
settings:
  description: The value of every setting named in O(settings) after the run (as it would be, in check mode).
  returned: always
  type: dict
  sample: {"ssl": "strict", "min_tls_version": "1.2"}
changed_settings:
  description: The names of the settings that changed (or would change).
  returned: always
  type: list
  elements: str
  sample: ["min_tls_version"]
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

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule
from ansible_collections.cfops.cloudflare.plugins.module_utils._zone_settings import (
    changed_settings,
    desired_settings,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._zones import resolve_zone, zone_path


GONE = (404, 405)  # how a route Cloudflare no longer serves answers


class ZoneSettingsModule(CloudflareModule):

    requires_account = False

    def execute(self):
        desired = desired_settings(self.params["settings"])
        zone = resolve_zone(self.client, self.params["zone"], self.account_id)
        self.path = zone_path(zone["id"], "settings")
        current = self.read(desired)
        changes, before, after = changed_settings(current, desired)
        self.set_diff(before, after)
        values = {name: current.get(name, {}).get("value") for name in desired}
        values.update(after)
        self.result["settings"] = values
        self.result["changed_settings"] = sorted(after)
        if not changes:
            return
        self.mark_changed()
        if not self.check_mode:
            written = self.write(changes)
            values.update((item["id"], item["value"]) for item in written or [] if item["id"] in values)

    # The aggregate GET/PATCH /zones/{zone_id}/settings is in the 2024 schema but gone from the current one
    # (the SDK has only .../settings/{setting_id}): use it while it answers, else one call per setting.
    aggregate = True
    path = None  # the zone's settings collection, set once the zone is resolved

    def read(self, desired):
        try:
            return {item["id"]: item for item in self.client.get(self.path)}
        except CloudflareAPIError as exc:
            if exc.status not in GONE:
                raise
        self.aggregate = False
        return {name: self.client.get(self.path + "/" + name) for name in sorted(desired)}

    def write(self, changes):
        if self.aggregate:
            try:
                # {"items": [...]} is what the live API takes (an array alone is what the 2024 schema shows).
                return self.client.patch(self.path, json={"items": changes})
            except CloudflareAPIError as exc:
                if exc.status not in GONE:
                    raise
        return [self.client.patch(self.path + "/" + item["id"], json={"value": item["value"]}) for item in changes]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            zone=dict(type="str", required=True),
            settings=dict(type="dict", required=True),
        ),
        supports_check_mode=True,
    )
    ZoneSettingsModule(module).run()


if __name__ == "__main__":
    main()
