#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: worker_subdomain
short_description: Turn a Worker's workers.dev URL and its Preview URLs on or off
version_added: 1.1.0
description:
  - Sets whether the Worker answers on C(<script>.<account subdomain>.workers.dev) and whether its
    Preview URLs are served there. Options left unset are not changed.
  - Reads the account's workers.dev subdomain to return the Worker's URL. It changes the account
    subdomain only when O(account_subdomain) is set (that renames every Worker's workers.dev URL).
  - Idempotent. Two reads decide; a Worker already in the wanted state makes no write.
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
  enabled:
    description:
      - Whether the Worker answers on its workers.dev URL. Unchanged when not set.
    type: bool
  previews_enabled:
    description:
      - Whether the Worker's Preview URLs are served on workers.dev. Unchanged when not set.
    type: bool
  account_subdomain:
    description:
      - The account's workers.dev subdomain (the V(books) of V(books.workers.dev)). Unchanged when not set.
      - Changing it changes the workers.dev URL of every Worker of the account.
    type: str
seealso:
  - module: cfops.cloudflare.worker_route
"""

EXAMPLES = r"""
- name: Serve the production Worker only on its routes
  cfops.cloudflare.worker_subdomain:
    script: books-api-prod
    enabled: false
    previews_enabled: false

- name: Staging answers on workers.dev; show its URL
  cfops.cloudflare.worker_subdomain:
    script: books-api-staging
    enabled: true
  register: staging

- name: Print the URL
  ansible.builtin.debug:
    msg: "{{ staging.url }}"
"""

RETURN = r"""
subdomain:
  description: The Worker's workers.dev settings after the task (as they would be, in check mode).
  returned: always
  type: dict
  contains:
    enabled:
      description: Whether the Worker answers on workers.dev.
      type: bool
      returned: always
      sample: true
    previews_enabled:
      description: Whether its Preview URLs are served on workers.dev.
      type: bool
      returned: always
      sample: false
account_subdomain:
  description: The account's workers.dev subdomain; C(null) when the account has none registered.
  returned: always
  type: str
  sample: books-team
url:
  description:
    - The Worker's workers.dev URL; C(null) when it is not served there or the account has no subdomain.
  returned: always
  type: str
  sample: https://books-api-staging.books-team.workers.dev
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

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule
from ansible_collections.cfops.cloudflare.plugins.module_utils._worker_triggers import (
    account_subdomain_path,
    script_subdomain_path,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._workers import validate_script_name

SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
NOT_FOUND = 10007  # the account has no workers.dev subdomain yet


class WorkerSubdomainModule(CloudflareModule):

    def execute(self):
        validate_script_name(self.params["script"], option="script")
        wanted_account = self.params["account_subdomain"]
        if wanted_account is not None and not SUBDOMAIN.match(wanted_account):
            raise InvalidInputError("account_subdomain %r must be 1-63 lowercase letters, digits and '-', not starting "
                                    "or ending with '-'" % wanted_account)
        path = script_subdomain_path(self.account_id, self.params["script"])
        before = self.client.get(path)
        before = {"enabled": bool(before.get("enabled")), "previews_enabled": bool(before.get("previews_enabled"))}
        after = dict(before)
        for option in ("enabled", "previews_enabled"):
            if self.params[option] is not None:
                after[option] = self.params[option]
        account_before = self.read_account_subdomain()
        account_after = account_before if wanted_account is None else wanted_account
        if after != before:
            self.mark_changed()
            if not self.check_mode:
                after = self.client.post(path, json=after, idempotent=True)
        if account_after != account_before:
            self.mark_changed()
            if not self.check_mode:
                account_after = self.client.put(account_subdomain_path(self.account_id),
                                                json={"subdomain": wanted_account})["subdomain"]
        self.set_diff(dict(before, account_subdomain=account_before), dict(after, account_subdomain=account_after))
        self.result["subdomain"] = {"enabled": after["enabled"], "previews_enabled": after["previews_enabled"]}
        self.result["account_subdomain"] = account_after
        self.result["url"] = ("https://%s.%s.workers.dev" % (self.params["script"], account_after)
                              if after["enabled"] and account_after else None)

    def read_account_subdomain(self):
        try:
            return self.client.get(account_subdomain_path(self.account_id)).get("subdomain")
        except CloudflareAPIError as exc:
            if exc.has_code(NOT_FOUND):
                return None
            raise


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            script=dict(type="str", required=True, aliases=["script_name"],
                        deprecated_aliases=[dict(name="script_name", version="2.0.0", collection_name="cfops.cloudflare")]),
            enabled=dict(type="bool"),
            previews_enabled=dict(type="bool"),
            account_subdomain=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    WorkerSubdomainModule(module).run()


if __name__ == "__main__":
    main()
