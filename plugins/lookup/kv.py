# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: kv
short_description: Read values of a Workers KV namespace
version_added: 1.2.0
description:
  - Returns the values of the given keys of one Workers KV namespace, in the order of the keys.
  - The namespace is given by id, or by title (looked up in one read per 100 namespaces).
  - Keys are read 100 at a time with Cloudflare's bulk read; a value that is not UTF-8 text is read again on its own
    as bytes.
  - Uses the collection's API client, with the same retries as the modules (rate limits, server errors, time-outs).
  - Runs on the controller. The token never appears in a message; values are returned marked unsafe, so a value
    holding C({{ }}) is never templated. Set C(no_log) on tasks that print a secret value.
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api_plugin.lookup
options:
  _terms:
    description: The keys to read.
    type: list
    elements: str
    required: true
  namespace_id:
    description:
      - The id of the namespace. One of O(namespace_id) and O(namespace) is required.
    type: str
  namespace:
    description:
      - The title of the namespace. One of O(namespace_id) and O(namespace) is required.
    type: str
  default:
    description:
      - The value returned for a key that does not exist.
      - When not set, a missing key fails the lookup, naming the key.
    type: raw
  value_format:
    description:
      - V(text) returns the value as a string (UTF-8).
      - V(json) parses the value as JSON.
      - V(base64) returns the value's bytes base64-encoded (binary values).
    type: str
    choices: [text, json, base64]
    default: text
notes:
  - The options O(api_token), O(account_id) and O(api_base_url) default to the variables C(cloudflare_api_token),
    C(cloudflare_account_id) and C(cloudflare_api_base_url) that the collection's inventories set, then to the
    C(CLOUDFLARE_*) environment variables.
seealso:
  - module: cfops.cloudflare.kv_entry
  - module: cfops.cloudflare.kv_export
"""

EXAMPLES = r"""
- name: Read one key of a namespace, by title
  ansible.builtin.debug:
    msg: "{{ lookup('cfops.cloudflare.kv', 'config/banner', namespace='books-api-prod-cache') }}"

- name: Read several keys as JSON, with a default for missing ones
  ansible.builtin.set_fact:
    feature_flags: "{{ query('cfops.cloudflare.kv', 'flags/search', 'flags/export', namespace_id=kv_id,
                       value_format='json', default={}) }}"

- name: Read a secret value without printing it
  ansible.builtin.set_fact:
    upstream_key: "{{ lookup('cfops.cloudflare.kv', 'upstream-key', namespace='books-api-prod-secrets') }}"
  no_log: true
"""

RETURN = r"""
_raw:
  description: The values, one per key, in the order of the keys.
  type: list
  elements: raw
"""

import base64
import json

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._kv import bulk_get, namespaces_path, resolve_namespace_id, validate_key
from ansible_collections.cfops.cloudflare.plugins.plugin_utils._api import client_from_options, require_account

_MISSING = object()
PLUGIN = "lookup cfops.cloudflare.kv"


def _where(option):
    return "the %s option, the cloudflare_%s variable or CLOUDFLARE_%s" % (option, option, option.upper())


def decode_value(key, value_bytes, value_format):
    """The value of ``key`` in ``value_format`` (text, json, base64)."""
    if value_format == "base64":
        return base64.b64encode(value_bytes).decode("ascii")
    try:
        text = value_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise AnsibleLookupError("%s: the value of key %r is not UTF-8 text; read it with value_format=base64" % (PLUGIN, key))
    if value_format == "json":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise AnsibleLookupError("%s: the value of key %r is not JSON (%s)" % (PLUGIN, key, exc))
    return text


class LookupModule(LookupBase):

    def _connection_option(self, name):
        """An option as the play means it: the connection variables (cloudflare_api_token, ...) usually hold
        templates (``{{ vault_... }}``, an env lookup) and reach the lookup unrendered."""
        value = self.get_option(name)
        if isinstance(value, str) and self._templar is not None and ("{{" in value or "{%" in value):
            value = self._templar.template(value)
        return value

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        keys = [str(term) for term in terms]
        namespace_id, title = self.get_option("namespace_id"), self.get_option("namespace")
        if bool(namespace_id) == bool(title):
            raise AnsibleLookupError("%s: give exactly one of namespace_id and namespace (the title)" % PLUGIN)
        if not keys:
            return []
        try:
            for key in keys:
                validate_key(key)
        except InvalidInputError as exc:
            raise AnsibleLookupError("%s: %s" % (PLUGIN, exc))
        account_id = require_account(self._connection_option, PLUGIN, _where)
        # default=null is a default too: only an absent option makes a missing key an error.
        default = self.get_option("default") if "default" in kwargs else _MISSING
        client = client_from_options(self._connection_option, PLUGIN, _where)
        try:
            namespace_id = resolve_namespace_id(client, account_id, namespace_id, title)
            found = bulk_get(client, namespaces_path(account_id, namespace_id), sorted(set(keys)))
        except (CloudflareAPIError, InvalidInputError) as exc:
            raise AnsibleLookupError("%s: %s" % (PLUGIN, exc))
        finally:
            client.close()
        values = []
        for key in keys:
            if key in found:
                values.append(decode_value(key, found[key]["value_bytes"], self.get_option("value_format")))
            elif default is not _MISSING:
                values.append(default)
            else:
                raise AnsibleLookupError("%s: key %r does not exist in namespace %s (set default to return a value instead)"
                                         % (PLUGIN, key, title or namespace_id))
        return wrap_var(values)
