#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: r2_sync
short_description: Make a directory hold an R2 bucket's objects, or a bucket hold a directory's files, in one task
version_added: 1.2.0
description:
  - Synchronises a bucket, or the keys under O(prefix), with a local directory, in the direction given, like
    C(aws s3 sync) or C(rclone sync), through R2's S3-compatible API (the same key pair as M(cfops.cloudflare.r2_object)).
  - Lists the destination and the source once (ListObjectsV2, 1,000 keys a call), then transfers only what differs,
    with O(concurrency) objects in flight. Each object is streamed in 1 MiB chunks, so memory stays bounded
    whatever the sizes; files larger than O(part_size_mb) go up as multipart uploads.
  - An object and a file are the same when their sizes match and their content hashes do. The module stores the
    SHA-256 of the content as metadata C(sha256) on every upload (R2's own SHA-256 checksums are composite for
    multipart objects); single-part objects are compared by their MD5 ETag from the listing and multipart objects
    by their multipart ETag at O(part_size_mb), so an unchanged sync makes no call beyond the listings. Only a
    multipart object written with another part size costs a HEAD (its C(sha256) decides).
  - Uploads sign the SHA-256 of each body and send its Content-MD5, so R2 refuses bytes that are not the ones
    hashed. Downloads go to a temporary file next to their destination, are checked (size, then C(sha256), else
    the MD5 ETag, else the multipart ETag for the usual part sizes) and only then renamed into place.
  - Before any transfer every key must map to a safe relative path (no absolute paths, C(.), C(..) or empty
    segments, no file that is also a directory) and every local file must be a regular file reached without a
    symlink; otherwise the task fails naming them, having written nothing.
  - S3 calls are retried like API calls (O(api_max_retries), O(api_max_retry_time), backoff with jitter,
    C(Retry-After)); a POST (multipart start and completion, batch delete) is never resent blindly, the module
    reads what the first attempt did and sends only what is missing. An object whose transfer still fails is
    tried once more at the end. With O(exclusive), deletions come last and only when every transfer succeeded.
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
  - cfops.cloudflare.r2_s3
options:
  bucket:
    description: The bucket.
    type: str
    required: true
  prefix:
    description:
      - Sync only the keys under this prefix; a key is the prefix followed by the file's path relative to O(path)
        (C(/) separators). A prefix that does not end with C(/) gets one.
    type: str
    default: ""
  path:
    description:
      - The local directory. With O(direction=download) it is created (mode 0700) when missing; its parent must exist.
    type: path
    required: true
  direction:
    description:
      - V(download) makes O(path) hold the objects; V(upload) makes the bucket (under O(prefix)) hold the files.
    type: str
    choices: [download, upload]
    required: true
  exclusive:
    description:
      - Also delete, at the destination, the files or objects the source does not have (not those O(exclude) matches).
    type: bool
    default: false
  exclude:
    description:
      - Glob patterns (C(fnmatch), on the path relative to O(path) or the key below O(prefix)) left out on both sides.
    type: list
    elements: str
    default: []
  concurrency:
    description: How many objects are transferred at once (1 to 64).
    type: int
    default: 8
  part_size_mb:
    description:
      - Files larger than this many MiB are uploaded as multipart uploads with parts of this size (5 to 5000;
        R2 wants every part but the last of the same size, which this gives).
    type: int
    default: 100
  metadata_file:
    description:
      - A JSON Lines file outside O(path) with each object's C(content_type) and custom C(metadata), and the
        directory markers (empty keys ending with C(/)), which are not files.
      - With O(direction=download) it is written (for every object, a HEAD each for objects left unchanged); with
        O(direction=upload) it is read, and uploaded objects get its content type and metadata (objects whose
        bytes are already the same are left as they are).
    type: path
  manifest:
    description:
      - With O(direction=upload), a backup set's C(manifest.json) (M(cfops.cloudflare.backup_manifest)) whose set
        contains O(path). The files below O(path) must be exactly those it lists there, with its sizes; their
        SHA-256 and MD5 are taken from it instead of reading every file, and every upload is signed with them, so a
        file changed since the manifest was verified is refused by R2.
    type: path
  show_names:
    description: How many names of each kind the diff and RV(names) show.
    type: int
    default: 20
notes:
  - Files are written with mode 0600 and directories 0700 (backups are private by default).
  - A multipart object written by another tool, with a part size outside 5, 8, 10, 15, 16, 25, 32, 50, 64, 100, 128,
    256, 512 and 1024 MiB and without C(sha256) metadata, can only be checked by its size; the module warns and
    returns it in RV(unverified).
seealso:
  - module: cfops.cloudflare.r2_object
  - module: cfops.cloudflare.r2_bucket
attributes:
  check_mode:
    support: full
    details: Lists both sides and reads local files to compare them; transfers and deletes nothing.
  diff_mode:
    support: full
    details: The diff gives the counts, the bytes to transfer and the first O(show_names) names of each kind.
"""

EXAMPLES = r"""
- name: Back up a bucket into a directory
  cfops.cloudflare.r2_sync:
    bucket: books-assets
    path: /var/backups/books/r2/books-assets
    direction: download
    metadata_file: /var/backups/books/r2/books-assets.objects.jsonl

- name: Restore it, deleting the objects the backup does not have
  cfops.cloudflare.r2_sync:
    bucket: books-assets
    path: /var/backups/books/r2/books-assets
    direction: upload
    metadata_file: /var/backups/books/r2/books-assets.objects.jsonl
    exclusive: true

- name: Publish a site, one prefix, 16 uploads at a time
  cfops.cloudflare.r2_sync:
    bucket: books-site
    prefix: v2/
    path: build/site
    direction: upload
    concurrency: 16
    exclude: ["*.map"]
"""

RETURN = r"""
summary:
  description: What the sync found (and, unless in check mode, did), by kind.
  returned: always
  type: dict
  contains:
    added:
      description: Objects or files the destination did not have.
      type: int
    changed:
      description: Objects or files whose content differed.
      type: int
    removed:
      description: Extra objects or files deleted (O(exclusive)).
      type: int
    unchanged:
      description: Objects or files that were already the same.
      type: int
    bytes:
      description: Bytes of the added and changed ones.
      type: int
  sample: {"added": 3, "changed": 1, "removed": 0, "unchanged": 9996, "bytes": 1048576}
names:
  description: The first O(show_names) paths (relative to O(path); the same below O(prefix)) of each kind.
  returned: always
  type: dict
  contains:
    added:
      description: Paths added.
      type: list
      elements: str
    changed:
      description: Paths whose content changed.
      type: list
      elements: str
    removed:
      description: Paths removed.
      type: list
      elements: str
  sample: {"added": ["covers/1.png"], "changed": [], "removed": ["stray.txt"]}
transferred_bytes:
  description: Bytes actually sent or received (0 in check mode).
  returned: always
  type: int
  sample: 1048576
unverified:
  description: With O(direction=download), the first downloaded objects only their size could verify.
  returned: when O(direction=download) transferred objects
  type: list
  elements: str
seconds:
  description: How long the sync took.
  returned: always
  type: float
  sample: 12.5
api_calls:
  description: The number of calls the module made, S3 calls included (plus one or two API calls when the key pair is derived).
  returned: always
  type: dict
  contains:
    reads:
      description: Calls that read.
      type: int
      returned: always
      sample: 10
    writes:
      description: Calls that wrote.
      type: int
      returned: always
      sample: 4
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cfops.cloudflare.plugins.module_utils._r2_objects import s3_module_arguments
from ansible_collections.cfops.cloudflare.plugins.module_utils._r2_sync import R2SyncRunner


def main():
    module = AnsibleModule(
        argument_spec=s3_module_arguments(
            path=dict(type="path", required=True),
            direction=dict(type="str", choices=["download", "upload"], required=True),
            exclusive=dict(type="bool", default=False),
            exclude=dict(type="list", elements="str", default=[]),
            concurrency=dict(type="int", default=8),
            metadata_file=dict(type="path"),
            manifest=dict(type="path"),
            show_names=dict(type="int", default=20),
        ),
        supports_check_mode=True,
    )
    R2SyncRunner(module).run()


if __name__ == "__main__":
    main()
