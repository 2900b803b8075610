#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kv_namespace
short_description: Manage a Workers KV namespace
description:
  - Creates or deletes a Workers KV namespace, identified by its title.
  - The namespace list is read with the largest page size; a create that fails in a way that may
    have applied it (server error, timeout, dropped connection) is followed by a lookup by title,
    never by a second create, so a retry cannot make a duplicate.
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
options:
  title:
    description:
      - The namespace title (1 to 512 characters), unique in the account. It identifies the namespace.
    type: str
    required: true
  state:
    description:
      - V(present) creates the namespace when no namespace has this title.
      - V(absent) deletes it, with every key it holds.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Create the cache namespace
  cfops.cloudflare.kv_namespace:
    title: books-api-prod-cache
  register: cache_namespace

- name: Show its id
  ansible.builtin.debug:
    msg: "{{ cache_namespace.namespace.id }}"

- name: Delete a namespace and its keys
  cfops.cloudflare.kv_namespace:
    title: books-api-old-cache
    state: absent
"""

RETURN = r"""
namespace:
  description:
    - The namespace. C(null) after O(state=absent) (deleted now, already gone, or to be deleted in check mode).
  returned: always
  type: dict
  contains:
    id:
      description: The namespace id; C(null) when it would be created in check mode.
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
    find_namespace_by_title,
    namespace_view,
    namespaces_path,
    validate_namespace_title,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule


class KVNamespaceModule(CloudflareModule):

    def execute(self):
        validate_namespace_title(self.params["title"])
        super().execute()

    def find(self):
        namespaces = self.client.list_pages(namespaces_path(self.account_id), per_page=NAMESPACES_PER_PAGE)
        return find_namespace_by_title(namespaces, self.params["title"])

    def present(self):
        namespace = self.find()
        if namespace is None:
            self.mark_changed()
            if self.check_mode:
                namespace = {"id": None, "title": self.params["title"]}
            else:
                namespace = self.client.create(namespaces_path(self.account_id), json={"title": self.params["title"]},
                                               find_existing=self.find)
            self.set_diff({}, {"title": namespace["title"]})
        else:
            self.set_diff({"title": namespace["title"]}, {"title": namespace["title"]})
        self.result["namespace"] = namespace_view(namespace)

    def absent(self):
        namespace = self.find()
        if namespace is not None:
            self.mark_changed()
            if not self.check_mode:
                self.client.delete(namespaces_path(self.account_id, namespace["id"]))
            self.set_diff({"title": namespace["title"]}, {})
        else:
            self.set_diff({}, {})
        self.result["namespace"] = None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            title=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    KVNamespaceModule(module).run()


if __name__ == "__main__":
    main()
