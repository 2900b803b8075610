#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: r2_object
short_description: Put, get, delete or list objects of an R2 bucket through R2's S3-compatible API
version_added: 1.1.0
description:
  - Works on objects through R2's S3-compatible endpoint with an S3 key pair, signing each request with
    AWS Signature Version 4 over httpx (no boto3 needed).
  - V(put) uploads a file (or O(content)) and skips the upload when the remote object is identical; files
    larger than O(part_size_mb) go up as a multipart upload streamed from disk, part by part.
  - V(get) downloads to a temporary file next to O(dest), verifies its checksum, and only then moves it into
    place; a mismatch fails and leaves O(dest) as it was.
  - V(delete) deletes one object; V(list) lists the objects under a prefix, 1000 per call.
  - S3 calls are retried like API calls (O(api_max_retries), O(api_max_retry_time), backoff with jitter,
    C(Retry-After)); a multipart completion is never sent twice blindly (after an ambiguous failure the object
    and the upload's parts are read first). For many objects at once use M(cfops.cloudflare.r2_sync).
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
  - cfops.cloudflare.r2_s3
options:
  mode:
    description: What to do.
    type: str
    choices: [put, get, delete, list]
    required: true
  bucket:
    description: The bucket name.
    type: str
    required: true
  key:
    description: The object key. Required by O(mode=put), O(mode=get) and O(mode=delete).
    type: str
  prefix:
    description: With O(mode=list), list only keys starting with this prefix.
    type: str
    default: ""
  delimiter:
    description:
      - With O(mode=list), group the keys that contain this string after O(prefix) into RV(prefixes), as S3's
        ListObjectsV2 C(delimiter) does (V(/) lists one "directory" level).
    type: str
    version_added: 1.2.0
  max_keys:
    description:
      - With O(mode=list), list at most this many keys (1 to 1000) in one call instead of every page; RV(truncated)
        says whether there were more. O(max_keys=1) checks in one call that the bucket exists and the key pair may
        read it.
    type: int
    version_added: 1.2.0
  src:
    description: With O(mode=put), the local file to upload. Mutually exclusive with O(content).
    type: path
  content:
    description:
      - With O(mode=put), the object's content as a string (UTF-8). Mutually exclusive with O(src).
      - Masked in the output (C(no_log)), as an object's content may be a secret (a key file, a credential).
    type: str
  dest:
    description: With O(mode=get), the local file to write. Its directory must exist.
    type: path
  content_type:
    description:
      - With O(mode=put), the object's Content-Type. Not given, R2 stores C(application/octet-stream), and an
        existing object's type is not compared.
    type: str
  metadata:
    description:
      - With O(mode=put), custom metadata (C(x-amz-meta-*)); names are stored lower-case.
      - The module adds C(sha256), the SHA-256 hex digest of the content, which it uses to compare multipart
        objects and to verify downloads.
    type: dict
  force:
    description:
      - With O(mode=put), upload even when the remote object is identical; with O(mode=get), download even when
        O(dest) already has the same content.
    type: bool
    default: false
  part_size_mb:
    description:
      - Files larger than this many MiB are uploaded as a multipart upload with parts of this size (5 to 5000).
    type: int
    default: 100
notes:
  - Identical means the same bytes (the MD5 ETag of a single-part object, or the C(sha256) metadata the module
    writes on every upload) and, when given, the same O(content_type) and O(metadata).
attributes:
  check_mode:
    support: full
  diff_mode:
    support: partial
    details: The diff shows the object's key, size and checksums before and after, never its content.
"""

EXAMPLES = r"""
- name: Upload a backup file (multipart above 100 MiB, skipped when R2 already has the same bytes)
  cfops.cloudflare.r2_object:
    mode: put
    bucket: books-backups
    key: "sets/{{ set_name }}/kv.json"
    src: "/var/backups/{{ set_name }}/kv.json"
    content_type: application/json
  register: uploaded

- name: Download it again, verified against its SHA-256
  cfops.cloudflare.r2_object:
    mode: get
    bucket: books-backups
    key: "sets/{{ set_name }}/kv.json"
    dest: /tmp/kv.json

- name: List a backup set
  cfops.cloudflare.r2_object:
    mode: list
    bucket: books-backups
    prefix: "sets/{{ set_name }}/"
  register: listing

- name: Delete an object
  cfops.cloudflare.r2_object:
    mode: delete
    bucket: books-backups
    key: "sets/old/kv.json"
"""

RETURN = r"""
object:
  description: The object after the task (for V(put) and V(get)), or the object deleted (for V(delete), C(null) when absent).
  returned: when O(mode) is V(put), V(get) or V(delete)
  type: dict
  contains:
    bucket:
      description: The bucket.
      type: str
      returned: always
      sample: books-backups
    key:
      description: The key.
      type: str
      returned: always
      sample: sets/2026-11-23/kv.json
    size:
      description: Size in bytes.
      type: int
      returned: always
      sample: 1048576
    etag:
      description: The ETag, without quotes (MD5 hex, or C(<md5 of part md5s>-<parts>) for multipart).
      type: str
      returned: always
      sample: 5d41402abc4b2a76b9719d911017c592
    sha256:
      description: SHA-256 hex digest of the content; C(null) for an object uploaded by another tool without it.
      type: str
      returned: always
      sample: 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824
    content_type:
      description: The Content-Type.
      type: str
      returned: always
      sample: application/json
    metadata:
      description: The custom metadata (lower-case names), including C(sha256).
      type: dict
      returned: always
    parts:
      description: How many parts the upload used (1 for a single PUT); V(put) only.
      type: int
      returned: when O(mode=put)
      sample: 1
prefixes:
  description: With O(delimiter), the common prefixes (each ending with O(delimiter)), in order.
  returned: when O(mode=list)
  type: list
  elements: str
  sample: ["backups/local/books-data/20261123T020000Z-1a2b3c4d/"]
  version_added: 1.2.0
truncated:
  description: With O(max_keys), whether more keys were left out.
  returned: when O(mode=list)
  type: bool
  version_added: 1.2.0
objects:
  description: The objects under O(prefix), in key order.
  returned: when O(mode=list)
  type: list
  elements: dict
  contains:
    key:
      description: The key.
      type: str
    size:
      description: Size in bytes.
      type: int
    etag:
      description: The ETag without quotes.
      type: str
    last_modified:
      description: When the object was written (ISO 8601).
      type: str
api_calls:
  description: The number of calls the module made, S3 calls included (plus one or two API calls when the key pair is derived).
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

from ansible_collections.cfops.cloudflare.plugins.module_utils._r2_objects import R2ObjectRunner, s3_module_arguments


def main():
    module = AnsibleModule(
        argument_spec=s3_module_arguments(
            mode=dict(type="str", choices=["put", "get", "delete", "list"], required=True),
            key=dict(type="str", no_log=False),
            delimiter=dict(type="str"),
            max_keys=dict(type="int", no_log=False),
            src=dict(type="path"),
            content=dict(type="str", no_log=True),
            dest=dict(type="path"),
            content_type=dict(type="str"),
            metadata=dict(type="dict"),
            force=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("src", "content")],
        required_if=[("mode", "put", ("key",)), ("mode", "get", ("key", "dest")), ("mode", "delete", ("key",))],
        supports_check_mode=True,
    )
    R2ObjectRunner(module).run()


if __name__ == "__main__":
    main()
