#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: worker_version
short_description: Upload a version of a Cloudflare Worker without deploying it
version_added: 1.1.0
description:
  - Uploads a new version of an existing Worker (ES modules, compatibility settings, bindings, a
    message and a tag) without sending it traffic; deploy it with M(cfops.cloudflare.worker_deployment).
  - Idempotent. Each version the module uploads carries its release fingerprint in a plain-text
    binding C(CFOPS_RELEASE_FINGERPRINT) (bindings are part of the documented version response, so
    this does not depend on Cloudflare echoing annotations). The fingerprint is a SHA-256 over the
    modules, compatibility settings, bindings (secrets by name), O(version_message), O(tag) and a keyed
    digest of the secret values (see O(secret_digest_key)). When one of the Worker's 5 newest versions
    carries the same fingerprint, no version is uploaded and that version is returned (V(changed=false),
    no write). A version uploaded by release 1.1 of the collection matches through its
    C(workers/commit_sha) annotation when the API echoes it.
  - A changed secret value changes the fingerprint, so it makes a new version; the upload then carries
    every secret in O(secrets) with its value.
  - Reads - the Worker list (1), the KV namespaces when O(kv_namespaces) is given (1), the deployable
    version list (1) and the newest versions one by one until one matches (1 to 5). Writes - one upload.
  - Secrets of the newest version that O(secrets) does not name are kept (C(keep_bindings)), and so is a
    C(version_metadata) binding when O(version_metadata) is not set.
  - Cloudflare does not accept Durable Object migrations in a version upload. When O(migrations)
    has steps after the Worker's current migration tag, the module fails before any write; apply them
    with M(cfops.cloudflare.worker_script) first.
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
  - cfops.cloudflare.worker_code
options:
  script:
    description:
      - The Worker. It must exist (create it with M(cfops.cloudflare.worker_script)).
      - The old names C(script_name) and C(name) still work as deprecated aliases, until 2.0.0.
    type: str
    aliases: [script_name, name]
    required: true
  commit_sha:
    description:
      - The git commit the version is built from, sent as the C(workers/commit_sha) annotation (at most 64
        bytes). Not part of the fingerprint.
    type: str
notes:
  - O(main_module) and O(compatibility_date) are required.
seealso:
  - module: cfops.cloudflare.worker_deployment
  - module: cfops.cloudflare.worker_script
  - module: cfops.cloudflare.worker_info
"""

EXAMPLES = r"""
- name: Upload the release candidate
  cfops.cloudflare.worker_version:
    script: books-api-prod
    main_module: "{{ playbook_dir }}/../examples/books-api/src/index.js"
    compatibility_date: "2025-01-15"
    kv_namespaces:
      - binding: CACHE
        title: books-api-prod-cache
    d1_databases:
      - binding: DB
        database_id: 5e1f2a3b-4c5d-6e7f-8091-a2b3c4d5e6f7
    version_metadata: CF_VERSION_METADATA
    version_message: "release {{ release }}"
    tag: "{{ release }}"
    commit_sha: "{{ release_commit }}"
  register: candidate

- name: Send it 10% of the traffic
  cfops.cloudflare.worker_deployment:
    script: books-api-prod
    versions:
      - {version_id: "{{ candidate.version.id }}", percentage: 10}
      - {version_id: "{{ serving_version_id }}", percentage: 90}
"""

RETURN = r"""
version:
  description: The version uploaded, or the existing identical one. In check mode, C(id) is C(null) when a version would be uploaded.
  returned: always
  type: dict
  contains:
    id:
      description: The version id.
      type: str
      returned: always
      sample: 18f97339-c287-4872-9bdd-e2135c07ec12
    number:
      description: The version's sequence number.
      type: int
      returned: always
      sample: 7
    created_on:
      description: When the version was uploaded.
      type: str
      returned: always
      sample: "2025-01-15T10:00:00.000000Z"
    message:
      description: The version's message.
      type: str
      returned: always
      sample: release 1.4.0
    tag:
      description: The version's tag.
      type: str
      returned: always
      sample: 1.4.0
    fingerprint:
      description:
        - The release fingerprint the version carries (its C(CFOPS_RELEASE_FINGERPRINT) binding), or for a
          version of release 1.1 its C(workers/commit_sha) annotation; C(null) for a version without either.
      type: str
      returned: always
      sample: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
    compatibility_date:
      description: The compatibility date.
      type: str
      returned: always
      sample: "2025-01-15"
    compatibility_flags:
      description: The compatibility flags.
      type: list
      elements: str
      returned: always
      sample: [nodejs_compat]
    migration_tag:
      description: The Durable Object migration tag the version was made with.
      type: str
      returned: always
      sample: v2
    bindings:
      description: The bindings, sorted by name; secrets by type and name only.
      type: list
      elements: dict
      returned: always
      sample: [{name: CACHE, namespace_id: 0f2ac74b498b48028cb68387c421e279, type: kv_namespace}]
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

from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule
from ansible_collections.cfops.cloudflare.plugins.module_utils._workers import (
    COMMIT_SHA_MAX_BYTES,
    VERSIONS_COMPARED,
    check_code_input,
    code_argument_spec,
    desired_code,
    find_script,
    marker_text_hidden,
    newest_first,
    pending_migrations,
    release_fingerprint,
    scripts_path,
    split_of,
    upload_files,
    validate_script_name,
    version_fingerprint_of,
    version_summary,
    version_upload_metadata,
)


class WorkerVersionModule(CloudflareModule):

    def execute(self):
        params = self.params
        name = params["script"]
        validate_script_name(name, "script")
        modules = check_code_input(params)
        if params["commit_sha"] is not None and len(params["commit_sha"].encode("utf-8")) > COMMIT_SHA_MAX_BYTES:
            raise InvalidInputError("commit_sha is longer than %d bytes (Cloudflare's limit for workers/commit_sha)"
                                    % COMMIT_SHA_MAX_BYTES)
        desired = desired_code(self.client, self.account_id, params, modules)
        script = find_script(self.client, self.account_id, name)
        if script is None:
            raise InvalidInputError("Worker %s does not exist in account %s; create it with cfops.cloudflare.worker_script "
                                    "(a version can only be uploaded to an existing Worker)" % (name, self.account_id))
        pending = pending_migrations(params["migrations"], script.get("migration_tag"))
        if pending:
            raise InvalidInputError("Durable Object migrations after tag %s are pending (%s); Cloudflare does not accept "
                                    "migrations in a version upload: apply them with cfops.cloudflare.worker_script first"
                                    % (script.get("migration_tag") or "(none)", pending["new_tag"]))

        fingerprint = release_fingerprint(desired, params["version_message"], params["tag"],
                                          params["secret_digest_key"] or params["api_token"])
        after = {"fingerprint": fingerprint, "modules": sorted(m["name"] for m in modules),
                 "compatibility_date": desired["compatibility_date"], "message": params["version_message"],
                 "tag": params["tag"]}

        existing = self.find_version(fingerprint)
        if existing is not None:
            self.result["version"] = version_summary(existing)
            self.set_diff(after, after)
            return
        self.mark_changed()
        self.set_diff({}, after)
        if self.check_mode:
            self.result["version"] = dict(after, id=None, number=None, created_on=None,
                                          compatibility_flags=list(desired["compatibility_flags"]),
                                          migration_tag=script.get("migration_tag"), bindings=[])
            return
        metadata = version_upload_metadata(desired, fingerprint, params["version_message"], params["tag"],
                                           params["commit_sha"])
        uploaded = self.client.create(scripts_path(self.account_id, name, "versions"), files=upload_files(metadata, modules),
                                      find_existing=lambda: self.find_version(fingerprint))
        self.result["version"] = version_summary(uploaded)

    def find_version(self, fingerprint):
        """The newest of the last few versions that carries ``fingerprint``, or None.

        The list is read with ``deployable=true`` as wrangler reads it (no page size: the SDK documents
        that it ignores pagination) and sorted here; each candidate is read in full for its bindings.
        Should version reads hide plain-text values, the script settings (whose plain_text bindings
        carry their text in the SDK's type) identify the version serving 100 %."""
        name = self.params["script"]
        listed = (self.client.get(scripts_path(self.account_id, name, "versions"), params={"deployable": "true"}) or {}).get("items") or []
        hidden = False
        for item in newest_first(listed)[:VERSIONS_COMPARED]:
            version = self.client.get(scripts_path(self.account_id, name, "versions", item["id"]))
            if version_fingerprint_of(version) == fingerprint:
                return version
            hidden = hidden or marker_text_hidden(version)
        return self.find_serving_version(fingerprint) if hidden else None

    def find_serving_version(self, fingerprint):
        name = self.params["script"]
        deployments = (self.client.get(scripts_path(self.account_id, name, "deployments")) or {}).get("deployments") or []
        serving = split_of(deployments[0]) if deployments else []
        if len(serving) != 1 or serving[0][1] != 100:
            return None
        settings = self.client.get(scripts_path(self.account_id, name, "settings")) or {}
        if version_fingerprint_of({"resources": {"bindings": settings.get("bindings") or []}}) != fingerprint:
            return None
        return self.client.get(scripts_path(self.account_id, name, "versions", serving[0][0]))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            **code_argument_spec(),
            script=dict(type="str", required=True, aliases=["script_name", "name"],
                        deprecated_aliases=[dict(name=alias, version="2.0.0", collection_name="cfops.cloudflare")
                                            for alias in ("script_name", "name")]),
            commit_sha=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    WorkerVersionModule(module).run()


if __name__ == "__main__":
    main()
