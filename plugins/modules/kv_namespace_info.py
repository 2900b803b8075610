#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kv_namespace_info
short_description: List the Workers KV namespaces of an account
description:
  - Returns the KV namespaces of the account, read with the largest page size the API allows.
  - "Also a cheap pre-flight check: it fails with a clear message when the token or the account id is wrong."
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: It never changes anything.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: N/A
    details: It never changes anything.
  action_group:
    description: Use C(group/cfops.cloudflare.cloudflare) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - cfops.cloudflare.cloudflare
options:
  title:
    description:
      - Return only the namespace with this title (an empty list when there is none).
    type: str
"""

EXAMPLES = r"""
- name: Read the account's KV namespaces
  cfops.cloudflare.kv_namespace_info:
  register: kv

- name: Show their titles
  ansible.builtin.debug:
    msg: "{{ kv.namespaces | map(attribute='title') }}"

- name: Look up one namespace by title
  cfops.cloudflare.kv_namespace_info:
    title: books-api-prod-cache
  register: cache
"""

RETURN = r"""
namespaces:
  description: The namespaces, sorted by title.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The namespace id.
      type: str
      returned: always
      sample: 0f2ac74b498b48028cb68387c421e279
    title:
      description: The namespace title.
      type: str
      returned: always
      sample: books-api-prod-cache
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

from ansible_collections.cfops.cloudflare.plugins.module_utils._kv import (
    NAMESPACES_PER_PAGE,
    namespace_view,
    namespaces_path,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule


class KVNamespaceInfoModule(CloudflareModule):

    def execute(self):
        namespaces = self.client.list_pages(namespaces_path(self.account_id), per_page=NAMESPACES_PER_PAGE)
        title = self.params["title"]
        views = [namespace_view(ns) for ns in namespaces if title is None or ns.get("title") == title]
        self.result["namespaces"] = sorted(views, key=lambda ns: ns["title"])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            title=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    KVNamespaceInfoModule(module).run()


if __name__ == "__main__":
    main()
