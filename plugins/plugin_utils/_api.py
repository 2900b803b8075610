# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This plugin_utils is PRIVATE to the collection. It can have breaking changes at any time.

"""The API client of the controller-side plugins (lookup, inventory), from their options.

The same client, retries and error messages as the modules (module_utils/_client.py); errors become
AnsibleError with the option, variable or environment variable to set.
"""

from __future__ import annotations

from ansible.errors import AnsibleError

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import (
    DEFAULT_API_BASE_URL,
    HAS_HTTPX,
    CloudflareClient,
)


def client_from_options(get_option, plugin, where):
    """A ``CloudflareClient`` from the plugin's connection options.

    ``where`` says how the user sets an option in this plugin, e.g. ``"the api_token option, the
    cloudflare_api_token variable or CLOUDFLARE_API_TOKEN"`` for ``%s`` = ``api_token``.
    """
    if not HAS_HTTPX:
        raise AnsibleError("%s needs the Python library httpx in the Python that runs Ansible (pip install httpx)" % plugin)
    token = get_option("api_token")
    if not token:
        raise AnsibleError("%s: api_token is required: set %s" % (plugin, where("api_token")))
    base_url = get_option("api_base_url") or DEFAULT_API_BASE_URL
    if not base_url.startswith(("https://", "http://")):
        raise AnsibleError("%s: api_base_url must be an http(s) URL, got %r" % (plugin, base_url))
    return CloudflareClient(token, base_url=base_url, timeout=get_option("api_timeout"),
                            max_retries=get_option("api_max_retries"), max_retry_time=get_option("api_max_retry_time"))


def require_account(get_option, plugin, where):
    account_id = get_option("account_id")
    if not account_id:
        raise AnsibleError("%s: account_id is required: set %s" % (plugin, where("account_id")))
    return account_id
