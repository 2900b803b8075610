#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: worker_secret
short_description: Manage one secret of a Cloudflare Worker
description:
  - Sets or deletes one secret (a C(secret_text) binding) of an existing Worker script.
  - Secret values cannot be read back. The module reads the script's secret names; with
    O(update_secret=on_create) a secret that exists is left alone, whatever its value.
  - The value is never shown in the output or the diff; the diff shows the secret's name and
    whether it exists.
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
options:
  script:
    description:
      - The Worker (script) the secret belongs to. It must exist; deploy it with
        M(cfops.cloudflare.worker_script) first.
      - The old name C(script_name) still works as a deprecated alias, until 2.0.0.
    type: str
    aliases: [script_name]
    required: true
  name:
    description:
      - The secret name, the binding the Worker sees (for example V(API_KEY)).
    type: str
    required: true
  value:
    description:
      - The secret value. Required when O(state=present).
    type: str
  state:
    description:
      - V(present) sets the secret, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  update_secret:
    description:
      - V(on_create) sets the secret only when the script does not have it yet.
      - V(always) writes the value on every run (the task then always reports a change); use it
        to rotate a secret.
    type: str
    choices: [on_create, always]
    default: on_create
seealso:
  - module: cfops.cloudflare.worker_script
"""

EXAMPLES = r"""
- name: Set the API key of the books API
  cfops.cloudflare.worker_secret:
    script: books-api-prod
    name: API_KEY
    value: "{{ vault_books_api_key }}"

- name: Rotate it
  cfops.cloudflare.worker_secret:
    script: books-api-prod
    name: API_KEY
    value: "{{ vault_books_api_key_next }}"
    update_secret: always

- name: Remove a secret
  cfops.cloudflare.worker_secret:
    script: books-api-prod
    name: OLD_TOKEN
    state: absent
"""

RETURN = r"""
secret:
  description: The secret (never its value). C(null) after O(state=absent) (deleted now, already gone, or to be deleted in check mode).
  returned: always
  type: dict
  contains:
    name:
      description: The secret name.
      type: str
      returned: success
      sample: API_KEY
    type:
      description: The binding type.
      type: str
      returned: success
      sample: secret_text
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

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError
from ansible_collections.cfops.cloudflare.plugins.module_utils import _validate
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule
from ansible_collections.cfops.cloudflare.plugins.module_utils._workers import scripts_path, validate_script_name


class WorkerSecretModule(CloudflareModule):

    def execute(self):
        validate_script_name(self.params["script"], option="script")
        if not self.params["name"]:
            raise InvalidInputError("name must not be empty")
        if self.params["state"] != "absent":
            _validate.secret_name(self.params["name"])
        super().execute()

    def secret_names(self):
        script = self.params["script"]
        try:
            secrets = self.client.get(scripts_path(self.account_id, script, "secrets")) or []
        except CloudflareAPIError as exc:
            if exc.status == 404:
                raise InvalidInputError("Worker '%s' does not exist in account %s: deploy it with "
                                        "cfops.cloudflare.worker_script first" % (script, self.account_id)) from None
            raise
        return {secret.get("name") for secret in secrets}

    def present(self):
        name = self.params["name"]
        exists = name in self.secret_names()
        if not exists or self.params["update_secret"] == "always":
            self.mark_changed()
            if not self.check_mode:
                self.client.put(scripts_path(self.account_id, self.params["script"], "secrets"),
                                json={"name": name, "text": self.params["value"], "type": "secret_text"})
        self.set_diff({"name": name, "present": exists}, {"name": name, "present": True})
        self.result["secret"] = {"name": name, "type": "secret_text"}

    def absent(self):
        name = self.params["name"]
        exists = name in self.secret_names()
        if exists:
            self.mark_changed()
            if not self.check_mode:
                self.client.delete(scripts_path(self.account_id, self.params["script"], "secrets", name))
        self.set_diff({"name": name, "present": exists}, {"name": name, "present": False})
        self.result["secret"] = None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            script=dict(type="str", required=True, aliases=["script_name"],
                        deprecated_aliases=[dict(name="script_name", version="2.0.0", collection_name="cfops.cloudflare")]),
            name=dict(type="str", required=True),
            value=dict(type="str", no_log=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            update_secret=dict(type="str", choices=["on_create", "always"], default="on_create", no_log=False),
        ),
        required_if=[("state", "present", ("value",))],
        supports_check_mode=True,
    )
    WorkerSecretModule(module).run()


if __name__ == "__main__":
    main()
