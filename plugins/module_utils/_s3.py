# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""A small S3 client for R2 over httpx: AWS Signature Version 4, streamed bodies, XML errors.

No boto3: modules stay within the collection's one runtime dependency (httpx).  Path-style
addressing (``<endpoint>/<bucket>/<key>``), region ``auto``, as R2 expects.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import time
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree

try:
    import httpx
except ImportError:
    httpx = None

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import USER_AGENT

REGION = "auto"
SERVICE = "s3"
CHUNK_BYTES = 1024 * 1024
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
RETRY_STATUSES = (429, 500, 502, 503, 504)
AUTH_CODES = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "Unauthorized")


class S3Error(Exception):
    """A failed S3 call: HTTP status, S3 error code and message."""

    def __init__(self, message, status=None, code=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code

    def __str__(self):
        return self.message


def uri_encode(value, safe="-_.~"):
    return quote(value, safe=safe)


def canonical_query(params):
    return "&".join("%s=%s" % (uri_encode(name), uri_encode(str(value)))
                    for name, value in sorted((name, "" if value is None else str(value)) for name, value in params.items()))


def signing_key(secret, date, region=REGION, service=SERVICE):
    key = hmac.new(("AWS4" + secret).encode("utf-8"), date.encode("utf-8"), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def sign(method, url, headers, payload_hash, access_key_id, secret_access_key, now=None, region=REGION):
    """The headers to send: ``headers`` plus host, x-amz-date, x-amz-content-sha256 and Authorization.

    ``url`` is already URI-encoded (path and canonical query), exactly as it goes on the wire."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    date = amz_date[:8]
    split = urlsplit(url)
    signed = {name.lower(): str(value).strip() for name, value in headers.items()}
    signed["host"] = split.netloc
    signed["x-amz-date"] = amz_date
    signed["x-amz-content-sha256"] = payload_hash
    names = sorted(signed)
    canonical_headers = "".join("%s:%s\n" % (name, " ".join(signed[name].split())) for name in names)
    signed_headers = ";".join(names)
    canonical_request = "\n".join((method, split.path or "/", split.query, canonical_headers, signed_headers, payload_hash))
    scope = "%s/%s/%s/aws4_request" % (date, region, SERVICE)
    string_to_sign = "\n".join(("AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()))
    signature = hmac.new(signing_key(secret_access_key, date, region), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    result = dict(signed)
    result.pop("host")
    result["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        access_key_id, scope, signed_headers, signature)
    return result


def file_chunks(path, offset=0, length=None, chunk_bytes=CHUNK_BYTES, digests=()):
    """The bytes of a file (or a slice of it) in chunks, feeding each chunk to ``digests``."""
    remaining = length
    with open(path, "rb") as handle:
        handle.seek(offset)
        while remaining is None or remaining > 0:
            data = handle.read(chunk_bytes if remaining is None else min(chunk_bytes, remaining))
            if not data:
                break
            for digest in digests:
                digest.update(data)
            if remaining is not None:
                remaining -= len(data)
            yield data


def file_digests(path):
    """``(size, md5 hex, sha256 hex)`` of a file, read in chunks."""
    md5, sha256 = hashlib.md5(), hashlib.sha256()
    size = 0
    for chunk in file_chunks(path, digests=(md5, sha256)):
        size += len(chunk)
    return size, md5.hexdigest(), sha256.hexdigest()


def multipart_etag(part_md5_hexes):
    """S3's ETag of a multipart object: md5 of the parts' binary md5s, dash, part count."""
    joined = b"".join(bytes.fromhex(value) for value in part_md5_hexes)
    return "%s-%d" % (hashlib.md5(joined).hexdigest(), len(part_md5_hexes))


def _text(element, name):
    for child in element:
        if child.tag.rsplit("}", 1)[-1] == name:
            return child.text or ""
    return None


def _children(element, name):
    return [child for child in element if child.tag.rsplit("}", 1)[-1] == name]


class S3Client:
    """Signed S3 calls against one endpoint; ``calls`` counts reads and writes like the API client."""

    def __init__(self, endpoint_url, access_key_id, secret_access_key, timeout=60, max_retries=3):
        self.endpoint_url = endpoint_url.rstrip("/")
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.max_retries = max_retries
        self.calls = {"reads": 0, "writes": 0}
        self._http = httpx.Client(timeout=httpx.Timeout(float(timeout)), headers={"User-Agent": USER_AGENT}, trust_env=False)

    def close(self):
        self._http.close()

    def url(self, bucket, key=None, query=None):
        path = "/" + uri_encode(bucket)
        if key is not None:
            path += "/" + uri_encode(key, safe="-_.~/")
        query_string = canonical_query(query or {})
        return self.endpoint_url + path + ("?" + query_string if query_string else "")

    # Sending -----------------------------------------------------------------------------------------------

    def request(self, method, bucket, key=None, query=None, headers=None, body=None, body_factory=None,
                payload_hash=None, expect=(200,), stream=False):
        """One signed call.  ``body`` is bytes; ``body_factory()`` returns a fresh chunk iterator (retries
        call it again).  Returns the response (opened as a stream when ``stream``)."""
        url = self.url(bucket, key, query)
        headers = dict(headers or {})
        if payload_hash is None:
            payload_hash = hashlib.sha256(body).hexdigest() if body is not None else (
                UNSIGNED_PAYLOAD if body_factory is not None else EMPTY_SHA256)
        if body is not None:
            headers["Content-Length"] = str(len(body))
        self.calls["writes" if method in ("PUT", "POST", "DELETE") else "reads"] += 1
        attempt = 0
        while True:
            signed = sign(method, url, headers, payload_hash, self.access_key_id, self.secret_access_key)
            content = body if body is not None else (body_factory() if body_factory is not None else None)
            try:
                request = self._http.build_request(method, url, headers=signed, content=content)
                response = self._http.send(request, stream=stream)
            except httpx.RequestError as exc:
                if attempt >= self.max_retries:
                    raise S3Error("%s %s failed: %s" % (method, self._display(bucket, key), exc))
                attempt += 1
                time.sleep(min(2 ** attempt * 0.25, 5))
                continue
            if response.status_code in expect:
                return response
            if stream:
                response.read()
                response.close()
            if response.status_code in RETRY_STATUSES and attempt < self.max_retries:
                attempt += 1
                time.sleep(min(2 ** attempt * 0.25, 5))
                continue
            raise self._error(method, bucket, key, response)

    def _display(self, bucket, key):
        return "s3://%s/%s" % (bucket, key) if key is not None else "s3://%s" % bucket

    def _error(self, method, bucket, key, response):
        code, message = None, None
        if response.content:
            try:
                root = ElementTree.fromstring(response.content)
                code, message = _text(root, "Code"), _text(root, "Message")
            except ElementTree.ParseError:
                message = response.text[:300]
        if code is None and response.status_code == 404:
            code = "NoSuchKey" if key is not None else "NoSuchBucket"
        if code is None and response.status_code == 403:
            code = "AccessDenied"
        text = "%s %s failed with HTTP %d" % (method, self._display(bucket, key), response.status_code)
        if code:
            text += " %s" % code
        if message:
            text += ": %s" % message
        if code in AUTH_CODES or response.status_code in (401, 403):
            text += " (check access_key_id and secret_access_key: R2's key pair is the API token's id and the " \
                    "SHA-256 of the token value, and the token needs R2 permissions on this account)"
        return S3Error(text, status=response.status_code, code=code)

    # Operations ------------------------------------------------------------------------------------------

    def head_object(self, bucket, key):
        """The object's headers (lower-case names) or None when it does not exist."""
        response = self.request("HEAD", bucket, key, expect=(200, 403, 404))
        if response.status_code == 403:
            # A HEAD error has no body; one byte of a GET names the cause (InvalidAccessKeyId, SignatureDoesNotMatch).
            self.request("GET", bucket, key, headers={"Range": "bytes=0-0"}, expect=(200, 206, 404))
            raise S3Error("HEAD %s failed with HTTP 403" % self._display(bucket, key), status=403, code="AccessDenied")
        if response.status_code == 404:
            return None
        return {name.lower(): value for name, value in response.headers.items()}

    def put_object(self, bucket, key, path, size, md5_hex, sha256_hex, headers):
        """Upload a file in one PUT (Content-MD5 and a signed SHA-256 payload); returns the ETag."""
        headers = dict(headers)
        headers["Content-Length"] = str(size)
        headers["Content-MD5"] = base64.b64encode(bytes.fromhex(md5_hex)).decode("ascii")
        response = self.request("PUT", bucket, key, headers=headers, body_factory=lambda: file_chunks(path),
                                payload_hash=sha256_hex)
        return response.headers.get("ETag", "").strip('"')

    def create_multipart_upload(self, bucket, key, headers):
        response = self.request("POST", bucket, key, query={"uploads": ""}, headers=headers, body=b"")
        return _text(ElementTree.fromstring(response.content), "UploadId")

    def upload_part(self, bucket, key, upload_id, number, path, offset, length):
        """Upload one part streamed from the file; the part's md5 is computed while sending and
        compared with the ETag R2 answers, so a part corrupted on the way is caught."""
        state = {}

        def chunks():
            state["md5"] = hashlib.md5()
            return file_chunks(path, offset, length, digests=(state["md5"],))

        response = self.request("PUT", bucket, key, query={"partNumber": number, "uploadId": upload_id},
                                headers={"Content-Length": str(length)}, body_factory=chunks)
        etag = response.headers.get("ETag", "").strip('"')
        if etag != state["md5"].hexdigest():
            raise S3Error("part %d of s3://%s/%s: R2 stored ETag %s but the part's MD5 is %s"
                          % (number, bucket, key, etag, state["md5"].hexdigest()))
        return etag

    def complete_multipart_upload(self, bucket, key, upload_id, etags):
        parts = "".join("<Part><PartNumber>%d</PartNumber><ETag>\"%s\"</ETag></Part>" % (index + 1, etag)
                        for index, etag in enumerate(etags))
        body = ("<CompleteMultipartUpload>%s</CompleteMultipartUpload>" % parts).encode("utf-8")
        response = self.request("POST", bucket, key, query={"uploadId": upload_id}, body=body)
        root = ElementTree.fromstring(response.content)
        if root.tag.rsplit("}", 1)[-1] == "Error":  # S3 may report a failed completion with HTTP 200
            raise S3Error("completing s3://%s/%s failed: %s %s" % (bucket, key, _text(root, "Code"), _text(root, "Message")))
        return (_text(root, "ETag") or "").strip('"')

    def abort_multipart_upload(self, bucket, key, upload_id):
        self.request("DELETE", bucket, key, query={"uploadId": upload_id}, expect=(200, 204, 404))

    def download(self, bucket, key, handle, digests=()):
        """Stream the object into an open binary file; returns its headers (lower-case names)."""
        response = self.request("GET", bucket, key, stream=True)
        try:
            for chunk in response.iter_bytes(CHUNK_BYTES):
                for digest in digests:
                    digest.update(chunk)
                handle.write(chunk)
            return {name.lower(): value for name, value in response.headers.items()}
        finally:
            response.close()

    def get_bytes(self, bucket, key):
        response = self.request("GET", bucket, key, expect=(200, 404))
        return None if response.status_code == 404 else response

    def delete_object(self, bucket, key):
        self.request("DELETE", bucket, key, expect=(200, 204))

    def list_objects(self, bucket, prefix="", max_keys=1000):
        """Every object under ``prefix`` (pages of ``max_keys``): ``[{key, size, etag, last_modified}]``."""
        objects, token = [], None
        while True:
            query = {"list-type": "2", "max-keys": max_keys, "prefix": prefix}
            if token:
                query["continuation-token"] = token
            root = ElementTree.fromstring(self.request("GET", bucket, query=query).content)
            for item in _children(root, "Contents"):
                objects.append({"key": _text(item, "Key"), "size": int(_text(item, "Size") or 0),
                                "etag": (_text(item, "ETag") or "").strip('"'), "last_modified": _text(item, "LastModified")})
            token = _text(root, "NextContinuationToken")
            if (_text(root, "IsTruncated") or "false") != "true" or not token:
                return objects
