#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: worker_script
short_description: Deploy or delete a Cloudflare Worker (ES modules, bindings, secrets)
description:
  - Uploads a Worker script made of ES modules with its compatibility settings and bindings
    (KV namespaces, plain text and JSON variables, secrets), or deletes it.
  - Idempotent. The module reads the script's settings and code, compares module names and
    bytes, the compatibility date and flags, and the bindings (secrets by name only), and uploads
    only when something differs. A second run with the same input makes no write.
  - Every input is checked before any write (the script name, the compatibility date, that each
    module file exists, binding names, and that each KV namespace given by id or title exists).
  - The diff shows module names with SHA-256 digests (not code), the compatibility settings and
    the bindings; secrets appear by name only.
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
options:
  name:
    description:
      - The Worker (script) name. At most 63 characters from V(a-z), V(0-9), V(-) and V(_), not
        starting with V(-).
    type: str
    required: true
  state:
    description:
      - V(present) uploads the script when it is missing or differs.
      - V(absent) deletes the script.
    type: str
    choices: [present, absent]
    default: present
  main_module:
    description:
      - Path of the ES-module entry file (V(.js) or V(.mjs)), uploaded under its file name.
      - Required when O(state=present).
    type: path
  additional_modules:
    description:
      - Other module files, uploaded under their path relative to the main module's directory
        (so V(src/lib/http.js) next to V(src/index.js) is the module V(lib/http.js)).
      - The content type follows the extension. V(.js) and V(.mjs) are ES modules, V(.wasm) is
        WebAssembly, V(.txt) is text, V(.bin) is binary data and V(.map) is a source map.
    type: list
    elements: path
    default: []
  compatibility_date:
    description:
      - The Workers runtime compatibility date, V(YYYY-MM-DD). Required when O(state=present).
    type: str
  compatibility_flags:
    description:
      - Compatibility flags, for example V(nodejs_compat). Order does not matter.
    type: list
    elements: str
    default: []
  kv_namespaces:
    description:
      - KV namespace bindings. Each namespace, given by id or by title, must exist; the module
        fails before any write when one does not (create it with M(cfops.cloudflare.kv_namespace)).
    type: list
    elements: dict
    default: []
    suboptions:
      binding:
        description: The binding name the Worker sees, for example V(CACHE).
        type: str
        required: true
      namespace_id:
        description: The namespace id. Mutually exclusive with O(kv_namespaces[].title).
        type: str
      title:
        description: The namespace title, resolved to its id. Mutually exclusive with O(kv_namespaces[].namespace_id).
        type: str
  text_vars:
    description:
      - Plain text variables (C(plain_text) bindings), by name. Numbers are converted to strings.
    type: dict
    default: {}
  json_vars:
    description:
      - JSON variables (C(json) bindings), by name. Values may be any JSON data.
    type: dict
    default: {}
  secrets:
    description:
      - Secret values (C(secret_text) bindings), by name. Never shown in the output or the diff.
      - Secret values cannot be read back; see O(update_secrets).
    type: dict
    default: {}
  update_secrets:
    description:
      - V(on_create) sends only secrets the script does not have yet; an existing secret name counts
        as unchanged whatever its value.
      - V(always) sends every secret in O(secrets), so the task reports a change on every run;
        use it to rotate values.
    type: str
    choices: [on_create, always]
    default: on_create
  keep_secrets:
    description:
      - Keep the script's secrets that O(secrets) does not list, such as those set with
        M(cfops.cloudflare.worker_secret), when the code is uploaded (the upload sends
        C(keep_bindings) for secret bindings).
      - When V(false), the script ends up with exactly the secrets in O(secrets), and every upload
        sends all of their values.
    type: bool
    default: true
notes:
  - The upload uses C(PUT /accounts/{account_id}/workers/scripts/{name}), which deploys the new
    code at once.
seealso:
  - module: cfops.cloudflare.worker_secret
  - module: cfops.cloudflare.kv_namespace
"""

EXAMPLES = r"""
- name: Deploy the books API
  cfops.cloudflare.worker_script:
    name: books-api-prod
    main_module: "{{ playbook_dir }}/../examples/books-api/src/index.js"
    additional_modules:
      - "{{ playbook_dir }}/../examples/books-api/src/http.js"
    compatibility_date: "2025-01-15"
    compatibility_flags: [nodejs_compat]
    kv_namespaces:
      - binding: CACHE
        title: books-api-prod-cache
    text_vars:
      ENVIRONMENT: production
    json_vars:
      LIMITS: {per_minute: 120}
    secrets:
      API_KEY: "{{ vault_books_api_key }}"

- name: Rotate the secrets
  cfops.cloudflare.worker_script:
    name: books-api-prod
    main_module: "{{ playbook_dir }}/../examples/books-api/src/index.js"
    compatibility_date: "2025-01-15"
    secrets:
      API_KEY: "{{ vault_books_api_key }}"
    update_secrets: always

- name: Delete a Worker
  cfops.cloudflare.worker_script:
    name: books-api-preview
    state: absent
"""

RETURN = r"""
script:
  description:
    - The script as deployed (or as it would be, in check mode). C(null) when O(state=absent).
  returned: always
  type: dict
  contains:
    name:
      description: The script name.
      type: str
      returned: success
      sample: books-api-prod
    etag:
      description: The script's etag (its current one in check mode); C(null) when the script does not exist yet.
      type: str
      returned: success
      sample: 13a3240e8fb414561b0366813b0b8f42b3e6cfa0d9e70e99835dae83d0d8a794
    modified_on:
      description: When the script last changed; C(null) when it would be uploaded in check mode.
      type: str
      returned: success
      sample: "2025-01-15T10:00:00.000000Z"
    compatibility_date:
      description: The compatibility date.
      type: str
      returned: success
      sample: "2025-01-15"
    compatibility_flags:
      description: The compatibility flags, sorted.
      type: list
      elements: str
      returned: success
      sample: [nodejs_compat]
    bindings:
      description: The bindings, sorted by name. Secret bindings have only C(type) and C(name).
      type: list
      elements: dict
      returned: success
      sample:
        - {name: API_KEY, type: secret_text}
        - {name: CACHE, namespace_id: 0f2ac74b498b48028cb68387c421e279, type: kv_namespace}
        - {name: ENVIRONMENT, text: production, type: plain_text}
    modules:
      description: The uploaded modules by name, with the SHA-256 digest of their content.
      type: list
      elements: dict
      returned: success
      sample:
        - {name: http.js, sha256: 5d41402abc4b2a76b9719d911017c592aaf0d4a5b7e9f0e1b6dd30f1e2a6c2c1}
        - {name: index.js, sha256: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae}
differences:
  description: What differed from the deployed script (V(script) when it did not exist).
  returned: when O(state=present)
  type: list
  elements: str
  sample: [modules, bindings]
api_calls:
  description: The number of Cloudflare API calls the module made.
  returned: always
  type: dict
  contains:
    reads:
      description: Calls that read.
      type: int
      returned: always
      sample: 3
    writes:
      description: Calls that wrote.
      type: int
      returned: always
      sample: 0
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError, parse_multipart
from ansible_collections.cfops.cloudflare.plugins.module_utils._kv import NAMESPACES_PER_PAGE, namespaces_path
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule
from ansible_collections.cfops.cloudflare.plugins.module_utils._workers import (
    check_bindings,
    current_modules,
    desired_bindings,
    load_modules,
    plan_script,
    resolve_kv_bindings,
    script_summary,
    scripts_path,
    upload_files,
    upload_metadata,
    validate_compatibility_date,
    validate_script_name,
)


class WorkerScriptModule(CloudflareModule):

    def execute(self):
        validate_script_name(self.params["name"])
        super().execute()

    def read_settings(self):
        """The script's settings, or None when the script does not exist."""
        try:
            return self.client.get(scripts_path(self.account_id, self.params["name"], "settings"))
        except CloudflareAPIError as exc:
            if exc.status == 404:
                return None
            raise

    def read_modules(self):
        response = self.client.get_raw(scripts_path(self.account_id, self.params["name"], "content", "v2"))
        content_type = response.headers.get("content-type", "")
        if content_type.startswith("multipart/"):
            return current_modules(parse_multipart(content_type, response.content))
        # A service-worker script is one body; name it as the API does so it compares as different.
        return current_modules([{"name": response.headers.get("cf-entrypoint"), "content": response.content}])

    def read_script_meta(self):
        for script in self.client.get(scripts_path(self.account_id)) or []:
            if script.get("id") == self.params["name"]:
                return script
        return {}

    def present(self):
        params = self.params
        validate_compatibility_date(params["compatibility_date"])
        modules = load_modules(params["main_module"], params["additional_modules"])
        check_bindings(params["kv_namespaces"], params["text_vars"], params["json_vars"], params["secrets"])
        kv_bindings = []
        if params["kv_namespaces"]:
            namespaces = self.client.list_pages(namespaces_path(self.account_id), per_page=NAMESPACES_PER_PAGE)
            kv_bindings = resolve_kv_bindings(params["kv_namespaces"], namespaces, self.account_id)
        bindings, secrets = desired_bindings(kv_bindings, params["text_vars"], params["json_vars"], params["secrets"])
        desired = {
            "main_module": modules[0]["name"],
            "modules": modules,
            "compatibility_date": params["compatibility_date"],
            "compatibility_flags": params["compatibility_flags"],
            "bindings": bindings,
            "secrets": secrets,
        }

        settings = self.read_settings()
        current = None
        if settings is not None:
            current = {
                "modules": self.read_modules(),
                "compatibility_date": settings.get("compatibility_date"),
                "compatibility_flags": settings.get("compatibility_flags") or [],
                "bindings": settings.get("bindings") or [],
            }
        plan = plan_script(current, desired, params["update_secrets"], params["keep_secrets"])

        if plan["changed"]:
            self.mark_changed()
        if plan["changed"] and not self.check_mode:
            metadata = upload_metadata(desired, plan["upload_bindings"], params["keep_secrets"])
            meta = self.client.put(scripts_path(self.account_id, params["name"]), files=upload_files(metadata, modules)) or {}
        elif current is not None:
            # The script's etag says it exists (roles rely on it, in check mode too); settings lack it.
            meta = self.read_script_meta()
        else:
            meta = {}

        self.set_diff(plan["before"] or {}, plan["after"])
        self.result["differences"] = plan["differences"]
        self.result["script"] = dict(plan["after"], name=params["name"], etag=meta.get("etag"), modified_on=meta.get("modified_on"))

    def absent(self):
        settings = self.read_settings()
        if settings is not None:
            self.mark_changed()
            if not self.check_mode:
                self.client.delete(scripts_path(self.account_id, self.params["name"]))
            before = script_summary({}, settings.get("compatibility_date"), settings.get("compatibility_flags"),
                                    settings.get("bindings") or [])
            del before["modules"]
            self.set_diff(before, {})
        else:
            self.set_diff({}, {})
        self.result["script"] = None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            name=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            main_module=dict(type="path"),
            additional_modules=dict(type="list", elements="path", default=[]),
            compatibility_date=dict(type="str"),
            compatibility_flags=dict(type="list", elements="str", default=[]),
            kv_namespaces=dict(
                type="list", elements="dict", default=[],
                options=dict(
                    binding=dict(type="str", required=True),
                    namespace_id=dict(type="str"),
                    title=dict(type="str"),
                ),
                mutually_exclusive=[("namespace_id", "title")],
                required_one_of=[("namespace_id", "title")],
            ),
            text_vars=dict(type="dict", default={}),
            json_vars=dict(type="dict", default={}),
            secrets=dict(type="dict", default={}, no_log=True),
            update_secrets=dict(type="str", choices=["on_create", "always"], default="on_create", no_log=False),
            keep_secrets=dict(type="bool", default=True, no_log=False),
        ),
        required_if=[("state", "present", ("main_module", "compatibility_date"))],
        supports_check_mode=True,
    )
    WorkerScriptModule(module).run()


if __name__ == "__main__":
    main()
