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
    (KV namespaces, plain text and JSON variables, secrets, Durable Objects, queues, D1, R2,
    services, Analytics Engine), or deletes it. The upload deploys at once (a new version at 100%).
  - Applies Durable Object O(migrations) the way wrangler does (only the steps after the Worker's
    current migration tag). Cloudflare accepts migrations only on this upload, not on
    M(cfops.cloudflare.worker_version).
  - O(main_module) and O(compatibility_date) are required when O(state=present).
  - Idempotent. The module reads the script's settings and code, compares module names and
    bytes, the compatibility date and flags, and the bindings, and uploads only when something differs.
    Bindings compare field by field on the fields the module sends, so fields Cloudflare fills in (a D1
    binding's C(database_id), a Durable Object's C(namespace_id)) are not differences. A second run with
    the same input makes no write.
  - Every upload carries the release fingerprint in a plain-text binding C(CFOPS_RELEASE_FINGERPRINT),
    computed as M(cfops.cloudflare.worker_version) computes it (modules, compatibility settings, bindings,
    O(version_message), O(tag) and a keyed digest of the O(secrets) values), so the version the upload
    creates is recognised by M(cfops.cloudflare.worker_version) given the same inputs, and a changed
    secret value is seen as a change. O(version_message) and O(tag) are sent as the version's
    C(workers/message) and C(workers/tag) annotations.
  - A Worker last uploaded by release 1.1 of the collection has no fingerprint binding, so the first run
    of this release uploads it once.
  - Every input is checked before any write (the script name, the compatibility date, that each
    module file exists, binding names, and that each KV namespace given by id or title exists).
  - The diff shows module names with SHA-256 digests (not code), the compatibility settings and
    the bindings; secrets appear by name only.
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
  - cfops.cloudflare.worker_code
options:
  name:
    description:
      - The Worker (script) name. At most 63 characters from V(a-z), V(0-9), V(-) and V(_), not
        starting with V(-).
      - The alias O(script) is the name every other module of the collection gives the Worker it acts on.
    type: str
    required: true
    aliases: [script]
  state:
    description:
      - V(present) uploads the script when it is missing or differs.
      - V(absent) deletes the script.
    type: str
    choices: [present, absent]
    default: present
  update_secrets:
    description:
      - V(on_create) uploads when a secret of O(secrets) is new or its value changed (seen through the
        keyed digest in the release fingerprint); a secret set or rotated outside this task with the same
        name is left alone until the values given here change.
      - V(always) uploads on every run, so the task always reports a change.
      - Every upload sends every secret in O(secrets) with its value.
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
  - module: cfops.cloudflare.worker_version
  - module: cfops.cloudflare.worker_deployment
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
    version_metadata: CF_VERSION_METADATA
    version_message: "release {{ release }}"
    tag: "{{ release }}"

- name: Rewrite the secrets on every run
  cfops.cloudflare.worker_script:
    name: books-api-prod
    main_module: "{{ playbook_dir }}/../examples/books-api/src/index.js"
    compatibility_date: "2025-01-15"
    secrets:
      API_KEY: "{{ vault_books_api_key }}"
    update_secrets: always

- name: Deploy a Worker with a Durable Object class renamed (applied once; later runs send nothing)
  cfops.cloudflare.worker_script:
    name: chat
    main_module: "{{ playbook_dir }}/../examples/chat/src/index.js"
    compatibility_date: "2025-01-15"
    durable_objects:
      - binding: ROOMS
        class_name: ChatRoom
    migrations:
      - tag: v1
        new_sqlite_classes: [Room]
      - tag: v2
        renamed_classes:
          - {from: Room, to: ChatRoom}

- name: Delete a Worker
  cfops.cloudflare.worker_script:
    name: books-api-preview
    state: absent
"""

RETURN = r"""
script:
  description:
    - The script as deployed (or as it would be, in check mode). C(null) after O(state=absent) (deleted now, already gone, or to be deleted in check mode).
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
    migration_tag:
      description: The Durable Object migration tag after the run (C(null) when the Worker has none or O(migrations) is not given and it was not read).
      type: str
      returned: success
      sample: v2
    fingerprint:
      description: The release fingerprint the script carries after the run (its C(CFOPS_RELEASE_FINGERPRINT) binding).
      type: str
      returned: success
      sample: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
    modules:
      description: The uploaded modules by name, with the SHA-256 digest of their content.
      type: list
      elements: dict
      returned: success
      sample:
        - {name: http.js, sha256: 5d41402abc4b2a76b9719d911017c592aaf0d4a5b7e9f0e1b6dd30f1e2a6c2c1}
        - {name: index.js, sha256: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae}
differences:
  description:
    - What differed from the deployed script - V(script) when it did not exist, else any of V(modules),
      V(compatibility_date), V(compatibility_flags), V(bindings), V(secrets) (names, or V(update_secrets=always)),
      V(fingerprint) (the release fingerprint, which also covers secret values, message and tag) and V(migrations).
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
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule
from ansible_collections.cfops.cloudflare.plugins.module_utils._workers import (
    check_code_input,
    check_deleted_classes_unbound,
    code_argument_spec,
    current_modules,
    desired_code,
    find_script,
    pending_migrations,
    plan_script,
    release_fingerprint,
    script_summary,
    scripts_path,
    upload_files,
    upload_metadata,
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
        return find_script(self.client, self.account_id, self.params["name"]) or {}

    def present(self):
        params = self.params
        modules = check_code_input(params)
        desired = desired_code(self.client, self.account_id, params, modules)
        script_meta = None
        migrations = None
        if params["migrations"]:
            # The current tag is in the script list (one read, which also gives the etag below).
            script_meta = self.read_script_meta()
            migrations = pending_migrations(params["migrations"], script_meta.get("migration_tag"))
            check_deleted_classes_unbound(migrations, desired["bindings"], params["name"])

        settings = self.read_settings()
        current = None
        if settings is not None:
            current = {
                "modules": self.read_modules(),
                "compatibility_date": settings.get("compatibility_date"),
                "compatibility_flags": settings.get("compatibility_flags") or [],
                "bindings": settings.get("bindings") or [],
            }
        fingerprint = release_fingerprint(desired, params["version_message"], params["tag"],
                                          params["secret_digest_key"] or params["api_token"])
        plan = plan_script(current, desired, params["update_secrets"], params["keep_secrets"], fingerprint)
        if migrations:
            plan["changed"] = True
            plan["differences"].append("migrations")
        plan["after"]["migration_tag"] = migrations["new_tag"] if migrations else (script_meta or {}).get("migration_tag")

        if plan["changed"]:
            self.mark_changed()
        if plan["changed"] and not self.check_mode:
            metadata = upload_metadata(desired, plan["upload_bindings"], plan["keep_bindings"], params["version_message"],
                                       params["tag"], migrations)
            meta = self.client.put(scripts_path(self.account_id, params["name"]), files=upload_files(metadata, modules)) or {}
        elif current is not None:
            # The script's etag says it exists (roles rely on it, in check mode too); settings lack it.
            meta = script_meta if script_meta is not None else self.read_script_meta()
        else:
            meta = {}

        self.set_diff(plan["before"] or {}, plan["after"])
        self.result["differences"] = plan["differences"]
        self.result["script"] = dict(plan["after"], name=params["name"], etag=meta.get("etag"), modified_on=meta.get("modified_on"),
                                     fingerprint=fingerprint)

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
            **code_argument_spec(),
            name=dict(type="str", required=True, aliases=["script"]),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            update_secrets=dict(type="str", choices=["on_create", "always"], default="on_create", no_log=False),
            keep_secrets=dict(type="bool", default=True, no_log=False),
        ),
        required_if=[("state", "present", ("main_module", "compatibility_date"))],
        supports_check_mode=True,
    )
    WorkerScriptModule(module).run()


if __name__ == "__main__":
    main()
