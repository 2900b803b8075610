#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: api_request
short_description: Call a Cloudflare API endpoint the collection has no module for
version_added: 1.2.0
description:
  - Sends one request to the Cloudflare v4 API, or reads every page of a list, with the collection's
    authentication, retries and error messages.
  - Reads (V(GET)) run in check mode too. A write (V(POST), V(PUT), V(PATCH), V(DELETE)) is not sent in check mode;
    the module reports what it would send and C(changed=true).
  - A write needs O(method) set explicitly; O(body) without O(method) fails before any call.
  - The module cannot know whether a write changed anything, so a sent write reports C(changed=true). Use
    C(changed_when) on the task to say otherwise.
  - For endpoints that answer with Cloudflare's JSON envelope (C(success), C(errors), C(result)). A failed call
    fails the task with Cloudflare's error codes and messages.
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Reads are sent; a write is reported in RV(request) and not sent.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  action_group:
    description: Use C(group/cfops.cloudflare.cloudflare) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - cfops.cloudflare.cloudflare
options:
  method:
    description:
      - The HTTP method. When not set, V(GET); a write must name its method.
    type: str
    choices: [GET, POST, PUT, PATCH, DELETE]
  path:
    description:
      - The endpoint path below O(api_base_url), starting with C(/), for example C(/accounts/{account_id}/tokens/verify).
      - C({account_id}) is replaced by O(account_id).
    type: str
    required: true
  query:
    description:
      - Query parameters.
    type: dict
    default: {}
  body:
    description:
      - The JSON request body.
      - In check mode it is returned in RV(request); mark the task C(no_log) when it holds a secret.
    type: raw
  paginate:
    description:
      - V(none) sends one request and returns its C(result).
      - V(page) reads every page of a C(page)/C(per_page) list and returns all items.
      - V(cursor) reads every page of a list paged by C(result_info.cursor) and returns all items.
      - V(page) and V(cursor) need O(method=GET).
    type: str
    choices: [none, page, cursor]
    default: none
  page_size:
    description:
      - Items per page for O(paginate=page) or O(paginate=cursor). Use the largest the endpoint allows.
    type: int
    default: 50
  page_size_param:
    description:
      - The query parameter that carries O(page_size) with O(paginate=cursor) (C(per_page) or C(limit), depending
        on the endpoint). O(paginate=page) always sends C(per_page).
    type: str
    default: per_page
notes:
  - A V(POST) is not sent again after a failure that may have applied it (a 5xx, a time-out after sending),
    so a create is never duplicated by a retry; V(GET), V(PUT), V(PATCH) and V(DELETE) are retried.
"""

EXAMPLES = r"""
- name: Verify the token
  cfops.cloudflare.api_request:
    path: /user/tokens/verify
  register: verified

- name: Read every Workers script of the account (one call)
  cfops.cloudflare.api_request:
    path: /accounts/{account_id}/workers/scripts
  register: scripts

- name: Read every zone, page by page
  cfops.cloudflare.api_request:
    path: /zones
    paginate: page
  register: zones

- name: Read every key of a KV namespace, cursor by cursor
  cfops.cloudflare.api_request:
    path: /accounts/{account_id}/storage/kv/namespaces/{{ kv_id }}/keys
    paginate: cursor
    page_size: 1000
    page_size_param: limit
  register: keys

- name: Turn on Always Online for a zone (an endpoint without a module)
  cfops.cloudflare.api_request:
    method: PATCH
    path: /zones/{{ zone_id }}/settings/always_online
    body:
      value: "on"
"""

RETURN = r"""
result:
  description:
    - The C(result) of Cloudflare's answer; with O(paginate=page) or O(paginate=cursor), every item of every page.
    - Not returned for a write in check mode.
  returned: when the request was sent
  type: raw
  sample: {"id": "023e105f4ecef8ad9ca31a8372d0c353", "status": "active"}
result_info:
  description: The C(result_info) of the answer (paging figures), when it had one and O(paginate=none).
  returned: when the answer has it
  type: dict
  sample: {"page": 1, "per_page": 20, "count": 1, "total_count": 1}
messages:
  description: The C(messages) of the answer.
  returned: when the request was sent and O(paginate=none)
  type: list
  elements: raw
  sample: []
request:
  description: What was sent, or in check mode what a write would send.
  returned: always
  type: dict
  contains:
    method:
      description: The HTTP method.
      type: str
      returned: always
      sample: PATCH
    url:
      description: The full URL without the query.
      type: str
      returned: always
      sample: https://api.cloudflare.com/client/v4/zones/023e105f4ecef8ad9ca31a8372d0c353/settings/always_online
    query:
      description: The query parameters.
      type: dict
      returned: always
      sample: {}
    body:
      description: The JSON body (null when none).
      type: raw
      returned: always
      sample: {"value": "on"}
    sent:
      description: Whether the request was sent (false for a write in check mode and for input refused before any call).
      type: bool
      returned: always
      sample: true
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

from ansible_collections.cfops.cloudflare.plugins.module_utils._api_request import plan_request, send_request
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule


class APIRequestModule(CloudflareModule):

    requires_account = False

    def execute(self):
        request = plan_request(self.params)
        self.result["request"] = dict(request, url=self.client.base_url + request["path"], sent=False)
        del self.result["request"]["path"]
        if request["method"] != "GET" and self.check_mode:
            self.mark_changed()
            return
        self.result["request"]["sent"] = True
        self.result.update(send_request(self.client, request, self.params["paginate"], self.params["page_size"],
                                        self.params["page_size_param"]))
        if request["method"] != "GET":
            self.mark_changed()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            method=dict(type="str", choices=["GET", "POST", "PUT", "PATCH", "DELETE"]),
            path=dict(type="str", required=True),
            query=dict(type="dict", default={}),
            body=dict(type="raw"),
            paginate=dict(type="str", choices=["none", "page", "cursor"], default="none"),
            page_size=dict(type="int", default=50),
            page_size_param=dict(type="str", default="per_page"),
        ),
        supports_check_mode=True,
    )
    APIRequestModule(module).run()


if __name__ == "__main__":
    main()
