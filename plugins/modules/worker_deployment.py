#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: worker_deployment
short_description: Deploy Cloudflare Worker versions with a traffic split, or roll back
version_added: 1.1.0
description:
  - Makes a deployment of one or two versions of a Worker with percentages (for example a new
    version at 10% and the serving one at 90%), or rolls back.
  - Idempotent. When the current deployment already has the requested split, nothing is written.
  - The split is checked before any API call (1 or 2 versions, each 0-100%, summing to 100). A version
    at 0% is in the deployment without user traffic, so it can be smoke-tested with Cloudflare's
    C(Cloudflare-Workers-Version-Overrides) request header.
  - Before the write the module also refuses, naming the version, an unknown version id, a version
    outside the Worker's last 100 versions, and a version whose C(migration_tag) differs from the
    Worker's (Cloudflare does not deploy across a Durable Object migration). Whether a version read
    reports the tag it was made with is not documented; when it does not, Cloudflare's own refusal is
    reported.
  - Cloudflare itself refuses a version whose secrets differ from the newest version's (error 10220;
    O(force=true) overrides it) and a version whose bound resource (KV namespace, D1 database, R2
    bucket, queue, Durable Object class) no longer exists; any refusal (an HTTP 4xx) is reported with
    the Worker's and the versions' names and Cloudflare's message.
  - Reads when nothing changes - the deployment list (1). When deploying - the deployment list, the
    last 100 versions, the Worker list (current migration tag), and each target version (1 or 2).
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
options:
  script:
    description:
      - The Worker.
      - The old name C(script_name) still works as a deprecated alias, until 2.0.0.
    type: str
    aliases: [script_name]
    required: true
  versions:
    description:
      - The split, 1 or 2 versions whose percentages total 100.
      - Mutually exclusive with O(rollback) and O(rollback_to).
    type: list
    elements: dict
    suboptions:
      version_id:
        description: The version id (from M(cfops.cloudflare.worker_version)).
        type: str
        required: true
      percentage:
        description: Its share of the traffic, 0 to 100.
        type: float
        required: true
  rollback:
    description:
      - Roll back to the version that served 100% in the newest earlier deployment, never to a version
        newer than what serves now. During a gradual rollout (new 10% / old 90%) that is the old version.
      - Each run with O(rollback=true) steps back once more when an older version exists (as
        C(wrangler rollback) does); to repeat a rollback safely use O(rollback_to) with the version id.
    type: bool
    default: false
  rollback_to:
    description:
      - Roll back to this version id (100% of the traffic). Unchanged when it already serves 100%.
    type: str
  force:
    description:
      - Deploy even when the version's secrets differ from the newest version's (Cloudflare's C(?force=true)).
      - Does not override the other refusals.
    type: bool
    default: false
  deployment_message:
    description:
      - A message stored with the deployment (C(workers/message)).
      - Named so because Ansible reserves the option name C(message).
    type: str
  expected_deployment_id:
    description:
      - Compare-and-set, for jobs that must not undo each other - the id of the deployment the caller read and
        means to replace (for example C(current_deployment.id) from M(cfops.cloudflare.worker_info)).
      - When the current deployment is another one, the module fails without writing, naming it (another job
        changed the Worker since). After a write it checks its deployment is the newest and directly follows
        this one, and fails (changed) naming the other deployment when another job wrote in between or right after.
      - Cloudflare's deployments API takes no precondition itself, so this is checked by reads around the write.
    type: str
    version_added: 1.2.0
seealso:
  - module: cfops.cloudflare.worker_version
  - module: cfops.cloudflare.worker_info
"""

EXAMPLES = r"""
- name: Canary - 10% to the new version
  cfops.cloudflare.worker_deployment:
    script: books-api-prod
    versions:
      - {version_id: "{{ candidate.version.id }}", percentage: 10}
      - {version_id: "{{ previous_version_id }}", percentage: 90}
    deployment_message: "canary {{ release }}"

- name: Roll back to what served before
  cfops.cloudflare.worker_deployment:
    script: books-api-prod
    rollback: true
    deployment_message: "health gate failed"

- name: Roll back, unless another job deployed since we looked
  cfops.cloudflare.worker_deployment:
    script: books-api-prod
    rollback: true
    expected_deployment_id: "{{ before.current_deployment.id }}"

- name: Roll back to a known version, even though a secret changed since
  cfops.cloudflare.worker_deployment:
    script: books-api-prod
    rollback_to: "{{ previous_version_id }}"
    force: true
"""

RETURN = r"""
deployment:
  description: The deployment that serves after the run (in check mode, the one that would be made, with C(id) C(null)).
  returned: always
  type: dict
  sample:
    id: dc78f0bc-05c5-46b7-bb4e-137f55930378
    created_on: "2025-01-15T10:00:00.000000Z"
    strategy: percentage
    versions: [{version_id: 18f97339-c287-4872-9bdd-e2135c07ec12, percentage: 100}]
    annotations: {workers/message: canary 1.4.0}
previous_deployment:
  description: The deployment that served before the run (C(null) when there was none).
  returned: always
  type: dict
  sample:
    id: 0b5a1e0c-6d1e-4c49-9a7a-0c8f0e7e7a11
    versions: [{version_id: 4a1c2b3d-0000-4000-8000-000000000001, percentage: 100}]
serving_versions:
  description: The versions that serve after the run, with their share.
  returned: always
  type: list
  elements: dict
  sample: [{version_id: 18f97339-c287-4872-9bdd-e2135c07ec12, percentage: 100}]
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

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule
from ansible_collections.cfops.cloudflare.plugins.module_utils._workers import (
    SECRETS_CHANGED_CODE,
    find_script,
    rollback_target,
    scripts_path,
    split_of,
    validate_script_name,
    validate_split,
)


def describe(deployment):
    if not deployment:
        return "none"
    message = ((deployment.get("annotations") or {}).get("workers/message") or "").strip()
    return "%s (%s%s)" % (deployment.get("id"), " + ".join("%s %g%%" % (v, p) for v, p in split_of(deployment)),
                          (', "%s"' % message) if message else "")


class WrittenConflict(InvalidInputError):
    """A compare-and-set write that another job's deployment came between or right after."""


class WorkerDeploymentModule(CloudflareModule):

    def execute(self):
        params = self.params
        name = params["script"]
        validate_script_name(name, "script")
        if bool(params["versions"]) + params["rollback"] + bool(params["rollback_to"]) != 1:
            raise InvalidInputError("give exactly one of versions, rollback: true and rollback_to")
        wanted = validate_split(params["versions"]) if params["versions"] else None
        deployments = self.client.get(scripts_path(self.account_id, name, "deployments")).get("deployments") or []
        current = deployments[0] if deployments else None
        expected = params["expected_deployment_id"]
        if expected is not None and (current or {}).get("id") != expected:
            raise InvalidInputError("Worker %s: the current deployment is %s, not %s: another job changed it since; "
                                    "nothing written" % (name, describe(current), expected))
        deployable = None
        if params["rollback"]:
            deployable = self.deployable_versions()
            target = rollback_target(deployments, {v["id"]: v.get("number") or 0 for v in deployable})
            wanted = [{"version_id": target, "percentage": 100}]
        elif params["rollback_to"]:
            wanted = [{"version_id": params["rollback_to"], "percentage": 100}]

        self.result["previous_deployment"] = current
        self.set_diff({"versions": [dict(version_id=v, percentage=p) for v, p in split_of(current)]},
                      {"versions": [dict(version_id=v["version_id"], percentage=float(v["percentage"])) for v in wanted]})
        if split_of(current) == split_of({"versions": wanted}):
            self.result.update(deployment=current, serving_versions=current["versions"])
            return

        self.check_versions(wanted, deployable if deployable is not None else self.deployable_versions())
        self.mark_changed()
        body = {"strategy": "percentage", "versions": wanted}
        if params["deployment_message"]:
            body["annotations"] = {"workers/message": params["deployment_message"]}
        if self.check_mode:
            deployment = dict(body, id=None, created_on=None)
        else:
            deployment = self.create(body)
            if expected is not None:
                self.verify_written(deployment, expected)
        self.result.update(deployment=deployment, serving_versions=deployment["versions"])

    def verify_written(self, deployment, expected):
        """After a compare-and-set write: ours must be the newest deployment, right after ``expected``."""
        name = self.params["script"]
        deployments = self.client.get(scripts_path(self.account_id, name, "deployments")).get("deployments") or []
        ids = [d.get("id") for d in deployments]
        if not ids or ids[0] != deployment.get("id"):
            raise WrittenConflict("Worker %s: another job deployed right after this one (%s replaced our %s)"
                                  % (name, describe(deployments[0] if deployments else None), deployment.get("id")))
        if len(ids) < 2 or ids[1] != expected:
            raise WrittenConflict("Worker %s: another job deployed between the check and the write (%s), which our %s "
                                  "replaced" % (name, describe(deployments[1] if len(deployments) > 1 else None),
                                                deployment.get("id")))

    def deployable_versions(self):
        path = scripts_path(self.account_id, self.params["script"], "versions")
        return (self.client.get(path, params={"deployable": "true"}) or {}).get("items") or []

    def check_versions(self, wanted, deployable):
        """Refuse, before any write, what Cloudflare refuses and the module can see."""
        name = self.params["script"]
        window = {version["id"] for version in deployable}
        script = find_script(self.client, self.account_id, name) or {}
        current_tag = script.get("migration_tag")
        for item in wanted:
            version_id = item["version_id"]
            try:
                version = self.client.get(scripts_path(self.account_id, name, "versions", version_id))
            except CloudflareAPIError as exc:
                if exc.status == 404:
                    raise InvalidInputError("version %s does not exist for Worker %s" % (version_id, name)) from None
                raise
            if version_id not in window:
                raise InvalidInputError("version %s (number %s) of Worker %s is outside its last 100 versions; Cloudflare "
                                        "cannot deploy it any more" % (version_id, version.get("number"), name))
            version_tag = ((version.get("resources") or {}).get("script_runtime") or {}).get("migration_tag")
            if (version_tag or None) != (current_tag or None):
                raise InvalidInputError("version %s of Worker %s was made before a Durable Object migration (its migration "
                                        "tag is %s, the Worker's is %s); Cloudflare cannot deploy across a migration"
                                        % (version_id, name, version_tag or "none", current_tag or "none"))

    def create(self, body):
        name = self.params["script"]
        path = scripts_path(self.account_id, name, "deployments")
        params = {"force": "true"} if self.params["force"] else None

        def find_existing():
            deployments = self.client.get(path).get("deployments") or []
            if deployments and split_of(deployments[0]) == split_of(body):
                return deployments[0]
            return None

        try:
            return self.client.create(path, json=body, params=params, find_existing=find_existing)
        except CloudflareAPIError as exc:
            if exc.has_code(SECRETS_CHANGED_CODE):
                raise InvalidInputError("Worker %s: %s (set force: true to deploy anyway)" % (name, exc.message)) from None
            if exc.status is not None and 400 <= exc.status < 500 and exc.status not in (401, 403, 429):
                # Which code Cloudflare answers for a migration or a missing bound resource is not
                # documented: any refusal is reported with what was asked.
                raise InvalidInputError("Cloudflare refused the deployment of %s of Worker %s: %s"
                                        % (", ".join("%s at %g%%" % (v["version_id"], v["percentage"]) for v in body["versions"]),
                                           name, exc.message)) from None
            raise


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            script=dict(type="str", required=True, aliases=["script_name"],
                        deprecated_aliases=[dict(name="script_name", version="2.0.0", collection_name="cfops.cloudflare")]),
            versions=dict(type="list", elements="dict", options=dict(
                version_id=dict(type="str", required=True),
                percentage=dict(type="float", required=True),
            )),
            rollback=dict(type="bool", default=False),
            rollback_to=dict(type="str"),
            force=dict(type="bool", default=False),
            deployment_message=dict(type="str"),
            expected_deployment_id=dict(type="str"),
        ),
        mutually_exclusive=[("versions", "rollback_to")],
        supports_check_mode=True,
    )
    WorkerDeploymentModule(module).run()


if __name__ == "__main__":
    main()
