# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""Verified file transfers over ``_s3.S3Client``: one object up (single PUT or multipart) or down.

What "the same bytes" means, and why:
- S3 and R2 give the MD5 of the content as the ETag only for objects written by PutObject; a multipart
  object's ETag is the MD5 of its parts' MD5s, a dash and the part count (R2 documents this for uploads
  since June 2023; docs/r2/objects/multipart-objects), which depends on the part size.
- R2's SHA-256 checksums are COMPOSITE only (r2/api/s3/api, "Checksum Types"): for a multipart object it is a
  checksum of the parts' checksums, not of the content.
So every upload stores the SHA-256 of the whole content as metadata ``sha256`` (``x-amz-meta-sha256``), the
one content hash that is the same whichever way the object was uploaded. Uploads sign the payload's SHA-256
and send its Content-MD5, so R2 refuses bytes that are not the ones hashed; downloads are hashed while they
stream and checked against ``sha256``, else the MD5 ETag, else (a multipart object another tool wrote) the
multipart ETag recomputed for the usual part sizes.
"""

from __future__ import annotations

import hashlib
import os
import tempfile

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import retryable_transport_errors
from ansible_collections.cfops.cloudflare.plugins.module_utils._s3 import CHUNK_BYTES, S3Error, file_chunks, multipart_etag

MIB = 1024 * 1024
MIN_PART_MB = 5
MAX_PART_MB = 5000
MAX_PARTS = 10000
SHA256_METADATA = "sha256"
# Part sizes other tools use (aws cli and boto3 8 MiB, rclone 5 MiB, s3cmd 15 MiB, ...): a multipart ETag is
# recomputed for those that give its part count.
COMMON_PART_MB = (5, 8, 10, 15, 16, 25, 32, 50, 64, 100, 128, 256, 512, 1024)


def object_view(bucket, key, headers):
    metadata = {name[len("x-amz-meta-"):]: value for name, value in headers.items() if name.startswith("x-amz-meta-")}
    return {"bucket": bucket, "key": key, "size": int(headers.get("content-length") or 0),
            "etag": (headers.get("etag") or "").strip('"'), "sha256": metadata.get(SHA256_METADATA),
            "content_type": headers.get("content-type"), "metadata": metadata}


def same_content(remote, md5_hex, sha256_hex, size):
    """True when the remote object (``object_view``) holds exactly these bytes."""
    if remote["size"] != size:
        return False
    if remote["sha256"]:
        return remote["sha256"] == sha256_hex
    return "-" not in remote["etag"] and remote["etag"] == md5_hex


def part_count(size, part_bytes):
    return max(1, -(-size // part_bytes))


class ContentHasher:
    """MD5 and SHA-256 of a stream, and the part MD5s for each candidate part size (multipart ETags)."""

    def __init__(self, size=None, part_sizes=(), with_sha256=True):
        self.md5 = hashlib.md5()
        self.sha256 = hashlib.sha256() if with_sha256 else None
        self.size = 0
        # part size -> [md5 of each finished part], md5 of the current part, bytes in it
        self._parts = {part: ([], hashlib.md5(), 0) for part in part_sizes if size is None or size > part}

    def update(self, chunk):
        self.md5.update(chunk)
        if self.sha256 is not None:
            self.sha256.update(chunk)
        self.size += len(chunk)
        for part, (done, current, filled) in list(self._parts.items()):
            view = memoryview(chunk)
            while view:
                take = min(len(view), part - filled)
                current.update(view[:take])
                filled += take
                view = view[take:]
                if filled == part:
                    done.append(current.hexdigest())
                    current, filled = hashlib.md5(), 0
            self._parts[part] = (done, current, filled)

    def multipart_etags(self):
        """``{part size: multipart ETag}`` for each candidate part size."""
        etags = {}
        for part, (done, current, filled) in self._parts.items():
            md5s = done + ([current.hexdigest()] if filled else [])
            etags[part] = multipart_etag(md5s)
        return etags

    def digests(self):
        return {"size": self.size, "md5": self.md5.hexdigest(),
                "sha256": self.sha256.hexdigest() if self.sha256 is not None else None}


def hash_file(path, part_bytes=None, with_sha256=True):
    """``{size, md5, sha256, multipart_etag}`` of a file (``multipart_etag`` at ``part_bytes``, when larger).

    ``with_sha256=False`` leaves ``sha256`` None: enough to compare with an ETag, and a third cheaper."""
    hasher = ContentHasher(os.path.getsize(path), (part_bytes,) if part_bytes else (), with_sha256)
    for chunk in file_chunks(path):
        hasher.update(chunk)
    result = hasher.digests()
    result["multipart_etag"] = hasher.multipart_etags().get(part_bytes)
    return result


def candidate_part_sizes(size, etag, extra=()):
    """Part sizes (bytes) that give a multipart ETag's part count for an object of ``size`` bytes."""
    try:
        count = int(etag.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return []
    sizes = sorted({mb * MIB for mb in COMMON_PART_MB} | set(extra))
    return [part for part in sizes if part_count(size, part) == count]


def local_matches_remote(remote_etag, remote_sha256, remote_size, local, part_bytes):
    """Whether a local file (``hash_file`` result) holds the remote object's bytes, or None when that cannot be
    told without reading more (a multipart ETag for another part size and no ``sha256`` metadata)."""
    if local["size"] != remote_size:
        return False
    if remote_sha256:
        return remote_sha256 == local["sha256"]
    if "-" not in remote_etag:
        return remote_etag == local["md5"]
    if local.get("multipart_etag") and candidate_part_sizes(remote_size, remote_etag, (part_bytes,)) == [part_bytes]:
        return remote_etag == local["multipart_etag"]
    return None


# Uploads -----------------------------------------------------------------------------------------------------

def upload_file(s3, bucket, key, path, digests, headers, part_bytes):
    """Upload ``path`` as ``key`` (multipart above ``part_bytes``); ``digests``: ``{size, md5, sha256}`` of the file.

    ``headers`` (Content-Type, x-amz-meta-*) get ``x-amz-meta-sha256``. Returns ``{etag, parts}``. A failed
    multipart upload is aborted, so nothing partial stays behind."""
    headers = dict(headers)
    headers["x-amz-meta-" + SHA256_METADATA] = digests["sha256"]
    size = digests["size"]
    if size <= part_bytes:
        etag = s3.put_object(bucket, key, path, size, digests["md5"], digests["sha256"], headers)
        if etag != digests["md5"]:
            raise S3Error("s3://%s/%s: R2 answered ETag %s but the file's MD5 is %s; the object may be corrupt"
                          % (bucket, key, etag, digests["md5"]))
        return {"etag": etag, "parts": 1}
    return _multipart_upload(s3, bucket, key, path, digests, headers, part_bytes)


def _multipart_upload(s3, bucket, key, path, digests, headers, part_bytes):
    size = digests["size"]
    count = part_count(size, part_bytes)
    if count > MAX_PARTS:
        raise S3Error("%s needs %d parts of %d MiB; R2 allows %d: raise part_size_mb" % (path, count, part_bytes // MIB, MAX_PARTS))
    upload_id = s3.create_multipart_upload(bucket, key, headers)
    etags = []
    whole = hashlib.sha256()
    try:
        for index in range(count):
            offset = index * part_bytes
            length = min(part_bytes, size - offset)
            part_md5, part_sha256 = hashlib.md5(), hashlib.sha256()
            for chunk in file_chunks(path, offset, length, digests=(part_md5, part_sha256, whole)):
                pass
            etags.append(s3.upload_part(bucket, key, upload_id, index + 1, path, offset, length,
                                        part_md5.hexdigest(), part_sha256.hexdigest()))
        if whole.hexdigest() != digests["sha256"]:
            raise S3Error("%s changed while it was uploaded (its SHA-256 is no longer %s)" % (path, digests["sha256"]))
        etag = s3.complete_multipart_upload(bucket, key, upload_id, etags, expected_sha256=digests["sha256"])
    except BaseException as exc:
        try:
            s3.abort_multipart_upload(bucket, key, upload_id)
            cleanup = "the multipart upload %s was aborted, s3://%s/%s is unchanged" % (upload_id, bucket, key)
        except S3Error as abort_error:
            cleanup = "aborting the multipart upload %s failed too (%s): R2's lifecycle rule removes it later" % (
                upload_id, abort_error)
        if isinstance(exc, S3Error):
            raise exc.with_message("%s; %s" % (exc.message, cleanup)) from None
        raise
    expected = multipart_etag(etags)
    if etag != expected:
        # The formula is R2's documented behaviour, not S3's contract: fall back to what was stored.
        stored = s3.head_object(bucket, key) or {}
        if int(stored.get("content-length") or -1) != size or stored.get("x-amz-meta-sha256") != digests["sha256"]:
            raise S3Error("s3://%s/%s: R2 answered ETag %s for the completed upload, expected %s, and the object does "
                          "not show this file's size and sha256" % (bucket, key, etag, expected))
    return {"etag": etag, "parts": count}


# Downloads ---------------------------------------------------------------------------------------------------

def download_file(s3, bucket, key, dest, part_bytes=None, expected_size=None):
    """Stream ``key`` into ``dest`` (a temporary file next to it, renamed when verified); returns
    ``{size, md5, sha256, headers, verified}``, ``verified`` naming the check that passed (``sha256``, ``md5``,
    ``multipart-etag``) or None when only the size could be (a multipart object another tool wrote with a part
    size outside ``COMMON_PART_MB``, without ``sha256``).

    A transfer cut off mid-body is started again under the client's retry policy. Raises ``S3Error`` on a
    mismatch; ``dest`` is then untouched."""
    directory = os.path.dirname(os.path.abspath(dest))
    attempts = s3.policy.attempts()
    while True:
        handle = tempfile.NamedTemporaryFile(prefix=".%s." % os.path.basename(dest)[:100], suffix=".partial",
                                             dir=directory, delete=False)
        try:
            try:
                result = _stream_into(s3, bucket, key, handle, part_bytes)
            finally:
                handle.close()
            _verify(bucket, key, result, expected_size)
            os.replace(handle.name, dest)
            return result
        except retryable_transport_errors() as exc:
            _unlink(handle.name)
            if not attempts.next_wait():
                raise S3Error("GET s3://%s/%s was cut off %d times: %s: %s"
                              % (bucket, key, attempts.retries + 1, type(exc).__name__, exc)) from None
        except BaseException:
            _unlink(handle.name)
            raise


def _stream_into(s3, bucket, key, handle, part_bytes):
    response = s3.get_stream(bucket, key)
    try:
        headers = {name.lower(): value for name, value in response.headers.items()}
        size = int(headers.get("content-length") or 0)
        etag = (headers.get("etag") or "").strip('"')
        parts = candidate_part_sizes(size, etag, (part_bytes,) if part_bytes else ()) if "-" in etag else ()
        hasher = ContentHasher(size, parts)
        for chunk in response.iter_bytes(CHUNK_BYTES):
            hasher.update(chunk)
            handle.write(chunk)
    finally:
        response.close()
    result = hasher.digests()
    result.update(headers=headers, announced_size=size, etag=etag, multipart_etags=hasher.multipart_etags())
    return result


def _verify(bucket, key, result, expected_size):
    where = "s3://%s/%s" % (bucket, key)
    headers = result["headers"]
    if result["size"] != result["announced_size"] or (expected_size is not None and result["size"] != expected_size):
        raise S3Error("%s: received %d bytes, R2 announced %d%s" % (
            where, result["size"], result["announced_size"],
            "" if expected_size is None else " and listed %d" % expected_size))
    sha256 = headers.get("x-amz-meta-" + SHA256_METADATA)
    etag = result["etag"]
    if sha256:
        if sha256 != result["sha256"]:
            raise S3Error("%s: checksum mismatch: the content's SHA-256 is %s, the object's sha256 metadata says %s"
                          % (where, result["sha256"], sha256))
        result["verified"] = "sha256"
    elif "-" not in etag:
        if etag != result["md5"]:
            raise S3Error("%s: checksum mismatch: the content's MD5 is %s, the ETag says %s" % (where, result["md5"], etag))
        result["verified"] = "md5"
    elif etag in result["multipart_etags"].values():
        result["verified"] = "multipart-etag"
    else:
        # Another tool's part size: not a mismatch, but nothing beyond the size could be checked.
        result["verified"] = None


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
