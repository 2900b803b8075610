# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""The modules that talk S3 (``S3Module``: key pair, endpoint, client on the shared retry policy, check-mode
guard, call counts) and what r2_object does: put (skip when identical, multipart), get (verified), delete, list."""

from __future__ import annotations

import os
import tempfile

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import (
    HAS_HTTPX,
    HTTPX_IMPORT_ERROR,
    CloudflareAPIError,
    CloudflareClient,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils import _validate
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule
from ansible_collections.cfops.cloudflare.plugins.module_utils._r2 import key_pair_for_token, s3_endpoint, validate_bucket_name
from ansible_collections.cfops.cloudflare.plugins.module_utils._s3 import S3Client, S3Error
from ansible_collections.cfops.cloudflare.plugins.module_utils._s3_transfer import (
    MAX_PART_MB,
    MIB,
    MIN_PART_MB,
    SHA256_METADATA,
    download_file,
    hash_file,
    object_view,
    same_content,
    upload_file,
)

__all__ = ["S3Module", "R2ObjectRunner", "object_view", "same_content", "s3_argument_spec", "s3_module_arguments"]


def s3_argument_spec():
    """The S3 options of the modules that move objects (doc fragment ``cfops.cloudflare.r2_s3``)."""
    return dict(
        access_key_id=dict(type="str", no_log=True, fallback=(env_fallback, ["R2_ACCESS_KEY_ID"])),
        secret_access_key=dict(type="str", no_log=True, fallback=(env_fallback, ["R2_SECRET_ACCESS_KEY"])),
        s3_endpoint_url=dict(type="str", fallback=(env_fallback, ["R2_S3_ENDPOINT_URL"])),
    )


def s3_module_arguments(**options):
    """The argument spec of a module that moves objects: the API options, the bucket, a key prefix, the multipart
    part size and the S3 options, then the module's own ``options`` (each module documents its ``bucket``,
    ``prefix`` and ``part_size_mb``)."""
    return dict(
        CloudflareModule.base_module_arguments(),
        bucket=dict(type="str", required=True),
        prefix=dict(type="str", default=""),
        part_size_mb=dict(type="int", default=100),
        **s3_argument_spec(),
        **options
    )


class S3Module(CloudflareModule):
    """Base of the modules that talk S3: the API token is optional with a key pair; ``self.s3`` is the client.

    The S3 client takes the same retry options as the API client (``api_max_retries``,
    ``api_max_retry_time``, ``api_timeout``), and refuses writes in check mode."""

    pool = 1  # connections: one per transfer running at once

    def run(self):
        if not HAS_HTTPX:
            self.fail(missing_required_lib("httpx"), exception=HTTPX_IMPORT_ERROR)
        self.s3 = None
        try:
            self.check_input()
            self.check_s3_input()
            self.s3 = S3Client(self.endpoint(), *self.key_pair(), timeout=max(self.params["api_timeout"], 60),
                               max_retries=self.params["api_max_retries"], max_retry_time=self.params["api_max_retry_time"],
                               pool=self.pool)
            self.s3.writes_allowed = not self.check_mode
            self.execute()
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

    def check_input(self):
        """Check the module's own options (before any call)."""

    def _finish_result(self):
        result = super()._finish_result()
        if getattr(self, "s3", None) is not None:
            calls = dict(result["api_calls"])
            for kind in ("reads", "writes"):
                calls[kind] = calls.get(kind, 0) + self.s3.calls[kind]
            result["api_calls"] = calls
        return result

    def check_s3_input(self):
        params = self.params
        validate_bucket_name(params["bucket"])
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


class R2ObjectRunner(S3Module):
    """r2_object: one object at a time."""

    def check_input(self):
        params = self.params
        if not MIN_PART_MB <= params["part_size_mb"] <= MAX_PART_MB:
            raise InvalidInputError("part_size_mb must be from %d to %d, got %d" % (MIN_PART_MB, MAX_PART_MB, params["part_size_mb"]))
        if params.get("key") is not None:
            _validate.r2_key(params["key"])
        if params["mode"] == "put":
            if params["src"] is None and params["content"] is None:
                raise InvalidInputError("mode=put needs src or content")
            if params["src"] is not None and not os.path.isfile(params["src"]):
                raise InvalidInputError("src %s is not a readable file" % params["src"])
        if params["max_keys"] is not None and not 1 <= params["max_keys"] <= 1000:
            raise InvalidInputError("max_keys must be from 1 to 1000, got %d" % params["max_keys"])
        if params["mode"] == "get" and not os.path.isdir(os.path.dirname(os.path.abspath(params["dest"]))):
            raise InvalidInputError("the directory of dest %s does not exist" % params["dest"])

    def execute(self):
        getattr(self, "run_" + self.params["mode"])()

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
        digests = hash_file(path)
        size, md5_hex, sha256_hex = digests["size"], digests["md5"], digests["sha256"]
        metadata = self.desired_metadata(sha256_hex)
        content_type = self.params["content_type"]
        remote = self.head()
        if remote is None and not self.s3.head_bucket(bucket):
            # A new object's PUT would be the first call to learn the bucket is missing: ask before writing.
            raise InvalidInputError("bucket %s does not exist in account %s: create it with cfops.cloudflare.r2_bucket"
                                    % (bucket, self.params["account_id"]))
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
        headers = {"x-amz-meta-" + name: value for name, value in metadata.items() if name != SHA256_METADATA}
        if content_type:
            headers["Content-Type"] = content_type
        uploaded = upload_file(self.s3, bucket, key, path, digests, headers, self.params["part_size_mb"] * MIB)
        self.result["object"] = dict(wanted, etag=uploaded["etag"], parts=uploaded["parts"])

    def run_get(self):
        bucket, key, dest = self.params["bucket"], self.params["key"], self.params["dest"]
        remote = self.head()
        if remote is None:
            raise S3Error("s3://%s/%s does not exist" % (bucket, key), status=404, code="NoSuchKey")
        self.result["object"] = remote
        local = hash_file(dest) if os.path.isfile(dest) else None
        if local is not None and not self.params["force"] and same_content(remote, local["md5"], local["sha256"], local["size"]):
            self.set_diff(self.diff_view(remote), self.diff_view(remote))
            return
        self.mark_changed()
        self.set_diff({"path": dest, "sha256": local["sha256"]} if local else {}, {"path": dest, "sha256": remote["sha256"]})
        if self.check_mode:
            return
        try:
            fetched = download_file(self.s3, bucket, key, dest, self.params["part_size_mb"] * MIB)
        except S3Error as exc:
            raise exc.with_message("%s; %s was not written" % (exc.message, dest)) from None
        if fetched["verified"] is None:
            self.module.warn("s3://%s/%s is a multipart object without sha256 metadata: only its size could be verified"
                             % (bucket, key))
        self.result["object"] = dict(object_view(bucket, key, fetched["headers"]), size=fetched["size"], sha256=fetched["sha256"])

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
        bucket, prefix, delimiter, max_keys = (self.params["bucket"], self.params["prefix"], self.params["delimiter"] or None,
                                               self.params["max_keys"])
        if max_keys is not None:
            objects, prefixes, token = self.s3.list_page(bucket, prefix, delimiter, max_keys=max_keys)
            truncated = token is not None
        else:
            (objects, prefixes), truncated = self.s3.list_all(bucket, prefix, delimiter), False
        self.result.update(objects=objects, prefixes=prefixes, truncated=truncated)

    @staticmethod
    def diff_view(view):
        if not view:
            return {}
        return {name: view.get(name) for name in ("bucket", "key", "size", "sha256", "content_type", "metadata")}
