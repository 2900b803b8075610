# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""What r2_object does: put (skip when identical, multipart), get (verified), delete and list over S3."""

from __future__ import annotations

import hashlib
import os
import tempfile

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import (
    HAS_HTTPX,
    HTTPX_IMPORT_ERROR,
    CloudflareAPIError,
    CloudflareClient,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule
from ansible_collections.cfops.cloudflare.plugins.module_utils._r2 import key_pair_for_token, s3_endpoint, validate_bucket_name
from ansible_collections.cfops.cloudflare.plugins.module_utils._s3 import (
    S3Client,
    S3Error,
    file_digests,
    multipart_etag,
)

MIB = 1024 * 1024
MIN_PART_MB = 5
MAX_PART_MB = 5000
MAX_PARTS = 10000
SHA256_METADATA = "sha256"


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


class R2ObjectRunner(CloudflareModule):
    """r2_object; it talks S3, so it overrides ``run`` (the API token is optional with a key pair)."""

    def run(self):
        if not HAS_HTTPX:
            self.fail(missing_required_lib("httpx"), exception=HTTPX_IMPORT_ERROR)
        self.s3 = None
        try:
            self.check_input()
            self.s3 = S3Client(self.endpoint(), *self.key_pair(), timeout=max(self.params["api_timeout"], 60))
            getattr(self, "run_" + self.params["mode"])()
        except InvalidInputError as exc:
            self.fail(str(exc))
        except CloudflareAPIError as exc:
            self.fail(exc.message, status=exc.status, errors=exc.errors)
        except S3Error as exc:
            self.fail(exc.message, status=exc.status, code=exc.code)
        finally:
            if self.s3 is not None:
                self.s3.close()
            if self.client is not None:
                self.client.close()
        self.exit()

    def _finish_result(self):
        result = super()._finish_result()
        if getattr(self, "s3", None) is not None:
            calls = dict(result["api_calls"])
            for kind in ("reads", "writes"):
                calls[kind] = calls.get(kind, 0) + self.s3.calls[kind]
            result["api_calls"] = calls
        return result

    # Input -------------------------------------------------------------------------------------------------

    def check_input(self):
        params = self.params
        validate_bucket_name(params["bucket"])
        if not MIN_PART_MB <= params["part_size_mb"] <= MAX_PART_MB:
            raise InvalidInputError("part_size_mb must be from %d to %d, got %d" % (MIN_PART_MB, MAX_PART_MB, params["part_size_mb"]))
        if params["mode"] == "put":
            if params["src"] is None and params["content"] is None:
                raise InvalidInputError("mode=put needs src or content")
            if params["src"] is not None and not os.path.isfile(params["src"]):
                raise InvalidInputError("src %s is not a readable file" % params["src"])
        if params["mode"] == "get" and not os.path.isdir(os.path.dirname(os.path.abspath(params["dest"]))):
            raise InvalidInputError("the directory of dest %s does not exist" % params["dest"])
        if bool(params["access_key_id"]) != bool(params["secret_access_key"]):
            raise InvalidInputError("set both access_key_id and secret_access_key (or R2_ACCESS_KEY_ID and "
                                    "R2_SECRET_ACCESS_KEY), or neither to derive them from api_token")
        if not params["access_key_id"] and not params["api_token"]:
            raise InvalidInputError("no R2 key pair: set access_key_id and secret_access_key, or api_token to derive them")
        if not params["s3_endpoint_url"] and not params["account_id"]:
            raise InvalidInputError("account_id (or CLOUDFLARE_ACCOUNT_ID) is required to find R2's endpoint, "
                                    "unless s3_endpoint_url is set")

    def endpoint(self):
        url = self.params["s3_endpoint_url"] or s3_endpoint(self.params["account_id"], self.params["api_base_url"])
        if not url.startswith(("https://", "http://")):
            raise InvalidInputError("s3_endpoint_url must be an http(s) URL, got %r" % url)
        return url

    def key_pair(self):
        if self.params["access_key_id"]:
            return self.params["access_key_id"], self.params["secret_access_key"]
        self.client = CloudflareClient(self.params["api_token"], base_url=self.params["api_base_url"],
                                       timeout=self.params["api_timeout"], max_retries=self.params["api_max_retries"],
                                       max_retry_time=self.params["api_max_retry_time"])
        return key_pair_for_token(self.client, self.params["api_token"], self.params["account_id"])

    # Modes -------------------------------------------------------------------------------------------------

    def head(self):
        headers = self.s3.head_object(self.params["bucket"], self.params["key"])
        return None if headers is None else object_view(self.params["bucket"], self.params["key"], headers)

    def run_put(self):
        if self.params["content"] is not None:
            with tempfile.NamedTemporaryFile(prefix="r2-object-", delete=False) as handle:
                handle.write(self.params["content"].encode("utf-8"))
            try:
                self.put_file(handle.name)
            finally:
                os.unlink(handle.name)
        else:
            self.put_file(self.params["src"])

    def desired_metadata(self, sha256_hex):
        metadata = {str(name).lower(): str(value) for name, value in (self.params["metadata"] or {}).items()}
        metadata[SHA256_METADATA] = sha256_hex
        return metadata

    def put_file(self, path):
        bucket, key = self.params["bucket"], self.params["key"]
        size, md5_hex, sha256_hex = file_digests(path)
        metadata = self.desired_metadata(sha256_hex)
        content_type = self.params["content_type"]
        remote = self.head()
        wanted = {"bucket": bucket, "key": key, "size": size, "sha256": sha256_hex, "metadata": metadata,
                  "content_type": content_type or (remote or {}).get("content_type") or "application/octet-stream"}
        identical = (remote is not None and not self.params["force"] and same_content(remote, md5_hex, sha256_hex, size)
                     and (content_type is None or remote["content_type"] == content_type)
                     and (self.params["metadata"] is None or remote["metadata"] == metadata))
        self.set_diff(self.diff_view(remote), self.diff_view(remote if identical else wanted))
        if identical:
            self.result["object"] = dict(remote, parts=None)
            return
        self.mark_changed()
        if self.check_mode:
            self.result["object"] = dict(wanted, etag=None, parts=None)
            return
        headers = {"x-amz-meta-" + name: value for name, value in metadata.items()}
        if content_type:
            headers["Content-Type"] = content_type
        part_bytes = self.params["part_size_mb"] * MIB
        if size <= part_bytes:
            etag, parts = self.s3.put_object(bucket, key, path, size, md5_hex, sha256_hex, headers), 1
            if etag != md5_hex:
                raise S3Error("s3://%s/%s: R2 answered ETag %s but the file's MD5 is %s; the object may be corrupt"
                              % (bucket, key, etag, md5_hex))
        else:
            etag, parts = self.multipart_upload(path, size, part_bytes, headers)
        self.result["object"] = dict(wanted, etag=etag, parts=parts)

    def multipart_upload(self, path, size, part_bytes, headers):
        bucket, key = self.params["bucket"], self.params["key"]
        count = -(-size // part_bytes)
        if count > MAX_PARTS:
            raise InvalidInputError("%s needs %d parts of %d MiB; S3 allows %d: raise part_size_mb"
                                    % (path, count, self.params["part_size_mb"], MAX_PARTS))
        upload_id = self.s3.create_multipart_upload(bucket, key, headers)
        etags = []
        try:
            for index in range(count):
                offset = index * part_bytes
                etags.append(self.s3.upload_part(bucket, key, upload_id, index + 1, path, offset, min(part_bytes, size - offset)))
            etag = self.s3.complete_multipart_upload(bucket, key, upload_id, etags)
        except BaseException as exc:
            try:
                self.s3.abort_multipart_upload(bucket, key, upload_id)
                cleanup = "the multipart upload %s was aborted, s3://%s/%s is unchanged" % (upload_id, bucket, key)
            except S3Error as abort_error:
                cleanup = "aborting the multipart upload %s failed too (%s): R2's lifecycle rule removes it later" % (
                    upload_id, abort_error)
            if isinstance(exc, S3Error):
                raise S3Error("%s; %s" % (exc.message, cleanup), exc.status, exc.code)
            raise
        if etag != multipart_etag(etags):
            raise S3Error("s3://%s/%s: R2 answered ETag %s for the completed upload, expected %s"
                          % (bucket, key, etag, multipart_etag(etags)))
        return etag, count

    def run_get(self):
        bucket, key, dest = self.params["bucket"], self.params["key"], self.params["dest"]
        remote = self.head()
        if remote is None:
            raise S3Error("s3://%s/%s does not exist" % (bucket, key), status=404, code="NoSuchKey")
        self.result["object"] = remote
        local = file_digests(dest) if os.path.isfile(dest) else None
        if local is not None and not self.params["force"] and same_content(remote, local[1], local[2], local[0]):
            self.set_diff(self.diff_view(remote), self.diff_view(remote))
            return
        self.mark_changed()
        self.set_diff({"path": dest, "sha256": local[2]} if local else {}, {"path": dest, "sha256": remote["sha256"]})
        if self.check_mode:
            return
        directory = os.path.dirname(os.path.abspath(dest))
        handle = tempfile.NamedTemporaryFile(prefix=".%s." % os.path.basename(dest), dir=directory, delete=False)
        md5, sha256 = hashlib.md5(), hashlib.sha256()
        try:
            with handle:
                headers = self.s3.download(bucket, key, handle, digests=(md5, sha256))
            fetched = object_view(bucket, key, headers)
            self.verify_download(fetched, os.path.getsize(handle.name), md5.hexdigest(), sha256.hexdigest())
            os.replace(handle.name, dest)
        except BaseException:
            if os.path.exists(handle.name):
                os.unlink(handle.name)
            raise
        self.result["object"] = dict(fetched, size=os.path.getsize(dest), sha256=sha256.hexdigest())

    def verify_download(self, remote, size, md5_hex, sha256_hex):
        where = "s3://%s/%s" % (remote["bucket"], remote["key"])
        if size != remote["size"]:
            raise S3Error("%s: received %d bytes, R2 announced %d; %s was not written" % (where, size, remote["size"], self.params["dest"]))
        if remote["sha256"] and remote["sha256"] != sha256_hex:
            raise S3Error("%s: checksum mismatch: the content's SHA-256 is %s, the object's sha256 metadata says %s; %s was "
                          "not written" % (where, sha256_hex, remote["sha256"], self.params["dest"]))
        if not remote["sha256"] and "-" not in remote["etag"] and remote["etag"] != md5_hex:
            raise S3Error("%s: checksum mismatch: the content's MD5 is %s, the ETag says %s; %s was not written"
                          % (where, md5_hex, remote["etag"], self.params["dest"]))
        if not remote["sha256"] and "-" in remote["etag"]:
            self.module.warn("%s is a multipart object without sha256 metadata: only its size could be verified" % where)

    def run_delete(self):
        remote = self.head()
        self.result["object"] = remote
        self.set_diff(self.diff_view(remote), {})
        if remote is None:
            self.set_diff({}, {})
            return
        self.mark_changed()
        if not self.check_mode:
            self.s3.delete_object(self.params["bucket"], self.params["key"])

    def run_list(self):
        self.result["objects"] = self.s3.list_objects(self.params["bucket"], self.params["prefix"])

    @staticmethod
    def diff_view(view):
        if not view:
            return {}
        return {name: view.get(name) for name in ("bucket", "key", "size", "sha256", "content_type", "metadata")}
