#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: r2_bucket
short_description: Manage an R2 bucket, its CORS policy and its lifecycle rules
version_added: 1.1.0
description:
  - Creates or deletes an R2 bucket, identified by its name (and jurisdiction).
  - Sets the bucket's CORS policy and lifecycle rules when O(cors_rules) or O(lifecycle_rules) are given;
    they are compared with the bucket's as structures (method order, day counts against seconds), so an
    unchanged policy makes no write.
  - Every option is checked before the first API call; a bad bucket name fails with no call at all.
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
options:
  name:
    description:
      - The bucket name. R2 accepts 3 to 63 characters, lower-case letters, digits and hyphens, starting and
        ending with a letter or digit.
    type: str
    required: true
  location_hint:
    description:
      - Where R2 should place the bucket when it creates it. R2 takes it as a hint; the bucket's actual
        location is returned as RV(bucket.location).
      - An existing bucket is never moved; a different hint gives a warning.
    type: str
    choices: [apac, eeur, enam, weur, wnam, oc]
  storage_class:
    description:
      - The default storage class of new objects, set when the bucket is created.
      - An existing bucket with another class gives a warning (this module does not change it).
    type: str
    choices: [Standard, InfrequentAccess]
  jurisdiction:
    description:
      - The jurisdiction the bucket lives in (sent as the C(cf-r2-jurisdiction) header). Buckets of different
        jurisdictions are separate even with the same name.
    type: str
    choices: [default, eu, fedramp]
    default: default
  cors_rules:
    description:
      - The bucket's whole CORS policy. V([]) removes it. Not given (the default) leaves it alone.
    type: list
    elements: dict
    suboptions:
      id:
        description: An identifier of the rule.
        type: str
      allowed_origins:
        description: Origins allowed to make cross-origin requests, for example V(https://app.example.com) or V(*).
        type: list
        elements: str
        required: true
      allowed_methods:
        description: Methods allowed, from V(GET), V(PUT), V(POST), V(DELETE) and V(HEAD).
        type: list
        elements: str
        required: true
      allowed_headers:
        description: Request headers the browser may send.
        type: list
        elements: str
      expose_headers:
        description: Response headers the page may read.
        type: list
        elements: str
      max_age_seconds:
        description: How long (0 to 86400 seconds) a browser may cache the preflight answer.
        type: int
  lifecycle_rules:
    description:
      - The bucket's whole set of lifecycle rules. V([]) removes every rule (including R2's default rule that
        aborts multipart uploads after 7 days). Not given (the default) leaves them alone.
    type: list
    elements: dict
    suboptions:
      id:
        description: The rule's unique name.
        type: str
        required: true
      enabled:
        description: Whether the rule is in effect.
        type: bool
        default: true
      prefix:
        description: The rule applies to keys starting with this prefix; empty for every object.
        type: str
        default: ""
      delete_after_days:
        description: Delete objects this many days after they were uploaded.
        type: int
      delete_on:
        description: Delete objects uploaded before this date (YYYY-MM-DD).
        type: str
      abort_multipart_after_days:
        description: Abort multipart uploads left incomplete this many days.
        type: int
      infrequent_access_after_days:
        description: Move objects to the InfrequentAccess storage class this many days after upload.
        type: int
  state:
    description:
      - V(present) creates the bucket when it does not exist and applies the policies given.
      - V(absent) deletes it. R2 refuses to delete a bucket that still holds objects; the module then fails
        and says so (delete the objects first, for example with M(cfops.cloudflare.r2_object)).
    type: str
    choices: [present, absent]
    default: present
notes:
  - The token needs the R2 edit permission (C(Workers R2 Storage Write)) on the account.
"""

EXAMPLES = r"""
- name: Bucket for book covers in western Europe, with a browser upload policy and expiry of temp files
  cfops.cloudflare.r2_bucket:
    name: books-cache-prod
    location_hint: weur
    cors_rules:
      - allowed_origins: ["https://books.example.com"]
        allowed_methods: [GET, PUT]
        allowed_headers: [content-type]
        max_age_seconds: 3600
    lifecycle_rules:
      - id: expire-tmp
        prefix: tmp/
        delete_after_days: 7
      - id: abort-uploads
        abort_multipart_after_days: 1

- name: Delete an (empty) bucket
  cfops.cloudflare.r2_bucket:
    name: books-cache-old
    state: absent
"""

RETURN = r"""
bucket:
  description: The bucket. C(null) after O(state=absent) (deleted now, already gone, or to be deleted in check mode).
  returned: always
  type: dict
  contains:
    name:
      description: The bucket name.
      type: str
      returned: always
      sample: books-cache-prod
    location:
      description: Where the bucket is; C(null) when it would be created in check mode.
      type: str
      returned: always
      sample: weur
    storage_class:
      description: The default storage class of new objects.
      type: str
      returned: always
      sample: Standard
    jurisdiction:
      description: The bucket's jurisdiction.
      type: str
      returned: always
      sample: default
    creation_date:
      description: When the bucket was created; C(null) in check mode before it exists.
      type: str
      returned: always
      sample: "2026-11-23T08:56:54.291543Z"
    cors_rules:
      description: The CORS rules in the API's form; returned when O(cors_rules) is given.
      type: list
      elements: dict
      returned: when O(cors_rules) is set
    lifecycle_rules:
      description: The lifecycle rules in the API's form; returned when O(lifecycle_rules) is given.
      type: list
      elements: dict
      returned: when O(lifecycle_rules) is set
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

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule
from ansible_collections.cfops.cloudflare.plugins.module_utils._r2 import (
    LOCATION_HINTS,
    NO_SUCH_BUCKET_CODE,
    STORAGE_CLASSES,
    buckets_path,
    canonical_cors,
    canonical_lifecycle,
    cors_rules_to_api,
    jurisdiction_headers,
    lifecycle_rules_to_api,
    validate_bucket_name,
)

CORS_SPEC = dict(
    id=dict(type="str"),
    allowed_origins=dict(type="list", elements="str", required=True),
    allowed_methods=dict(type="list", elements="str", required=True),
    allowed_headers=dict(type="list", elements="str"),
    expose_headers=dict(type="list", elements="str"),
    max_age_seconds=dict(type="int"),
)
LIFECYCLE_SPEC = dict(
    id=dict(type="str", required=True),
    enabled=dict(type="bool", default=True),
    prefix=dict(type="str", default=""),
    delete_after_days=dict(type="int"),
    delete_on=dict(type="str"),
    abort_multipart_after_days=dict(type="int"),
    infrequent_access_after_days=dict(type="int"),
)


class R2BucketModule(CloudflareModule):

    def execute(self):
        self.name = validate_bucket_name(self.params["name"])
        self.headers = jurisdiction_headers(self.params["jurisdiction"])
        self.cors = None if self.params["cors_rules"] is None else cors_rules_to_api(self.params["cors_rules"])
        self.lifecycle = None if self.params["lifecycle_rules"] is None else lifecycle_rules_to_api(self.params["lifecycle_rules"])
        super().execute()

    def path(self, *rest):
        return buckets_path(self.account_id, self.name, *rest)

    def call(self, method, *rest, **kwargs):
        return self.client.request(method, self.path(*rest), headers=self.headers, **kwargs)["result"]

    def find(self):
        try:
            return self.call("GET")
        except CloudflareAPIError as exc:
            if exc.status == 404 or exc.has_code(NO_SUCH_BUCKET_CODE):
                return None
            raise

    def present(self):
        bucket = self.find()
        before, after = {}, {"name": self.name, "jurisdiction": self.params["jurisdiction"]}
        if bucket is None:
            self.mark_changed()
            body = {"name": self.name}
            if self.params["location_hint"]:
                body["locationHint"] = self.params["location_hint"]
            if self.params["storage_class"]:
                body["storageClass"] = self.params["storage_class"]
            if self.check_mode:
                bucket = {"name": self.name, "location": None, "creation_date": None,
                          "storage_class": self.params["storage_class"] or "Standard"}
            else:
                bucket = self.client.request("POST", buckets_path(self.account_id), json=body, headers=self.headers,
                                             find_existing=self.find)["result"]
            current_cors, current_lifecycle = [], None
        else:
            before = dict(after, location=bucket.get("location"), storage_class=bucket.get("storage_class"))
            self.warn_fixed_settings(bucket)
            current_cors = self.read_cors() if self.cors is not None else None
            current_lifecycle = self.read_lifecycle() if self.lifecycle is not None else None
            if self.cors is not None:
                before["cors_rules"] = current_cors
            if self.lifecycle is not None:
                before["lifecycle_rules"] = current_lifecycle
        after.update(location=bucket.get("location"), storage_class=bucket.get("storage_class"))
        view = dict(name=self.name, location=bucket.get("location"), storage_class=bucket.get("storage_class"),
                    jurisdiction=self.params["jurisdiction"], creation_date=bucket.get("creation_date"))
        if self.cors is not None:
            self.apply_cors(current_cors)
            after["cors_rules"] = view["cors_rules"] = self.cors
        if self.lifecycle is not None:
            self.apply_lifecycle(current_lifecycle)
            after["lifecycle_rules"] = view["lifecycle_rules"] = self.lifecycle
        self.set_diff(before, after)
        self.result["bucket"] = view

    def warn_fixed_settings(self, bucket):
        hint, storage_class = self.params["location_hint"], self.params["storage_class"]
        if hint and bucket.get("location") and hint != bucket["location"]:
            self.module.warn("bucket %s is in %s, not %s; R2 does not move an existing bucket" % (self.name, bucket["location"], hint))
        if storage_class and bucket.get("storage_class") and storage_class != bucket["storage_class"]:
            self.module.warn("bucket %s has the default storage class %s, not %s; this module sets it only at creation"
                             % (self.name, bucket["storage_class"], storage_class))

    def read_cors(self):
        # "No policy yet" is any 404 here (as Terraform's r2_bucket_cors resource reads it; the code is not
        # documented) or an empty rule list (wrangler's "r2 bucket cors list" handles that answer).
        try:
            return (self.call("GET", "cors") or {}).get("rules") or []
        except CloudflareAPIError as exc:
            if exc.status == 404:
                return []
            raise

    def read_lifecycle(self):
        return self.call("GET", "lifecycle").get("rules") or []

    def apply_cors(self, current):
        if current is not None and canonical_cors(current) == canonical_cors(self.cors):
            return
        self.mark_changed()
        if self.check_mode:
            return
        if self.cors:
            self.call("PUT", "cors", json={"rules": self.cors})
        else:
            self.call("DELETE", "cors")

    def apply_lifecycle(self, current):
        # A new bucket starts with R2's default rule, so an explicit policy is always written to it.
        if current is not None and canonical_lifecycle(current) == canonical_lifecycle(self.lifecycle):
            return
        self.mark_changed()
        if not self.check_mode:
            self.call("PUT", "lifecycle", json={"rules": self.lifecycle})

    def absent(self):
        bucket = self.find()
        self.result["bucket"] = None
        if bucket is None:
            self.set_diff({}, {})
            return
        self.set_diff({"name": self.name, "jurisdiction": self.params["jurisdiction"]}, {})
        if not self.check_mode:
            try:
                self.call("DELETE")
            except CloudflareAPIError as exc:
                if exc.status == 409:
                    raise InvalidInputError("bucket %s was not deleted: it still holds objects (%s); delete them first, "
                                            "for example with cfops.cloudflare.r2_object mode=delete" % (self.name, exc.message))
                raise
        self.mark_changed()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            name=dict(type="str", required=True),
            location_hint=dict(type="str", choices=list(LOCATION_HINTS)),
            storage_class=dict(type="str", choices=list(STORAGE_CLASSES)),
            jurisdiction=dict(type="str", choices=["default", "eu", "fedramp"], default="default"),
            cors_rules=dict(type="list", elements="dict", options=CORS_SPEC),
            lifecycle_rules=dict(type="list", elements="dict", options=LIFECYCLE_SPEC),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    R2BucketModule(module).run()


if __name__ == "__main__":
    main()
