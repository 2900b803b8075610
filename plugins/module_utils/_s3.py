# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""A small S3 client for R2 over httpx: AWS Signature Version 4, streamed bodies, XML errors, and the
collection's retry policy (``_client.RetryPolicy``: the same options, backoff with full jitter,
``Retry-After``, a bounded number of retries and a bounded total wait).

No boto3: modules stay within the collection's one runtime dependency (httpx).  Path-style
addressing (``<endpoint>/<bucket>/<key>``), region ``auto``, as R2 expects.

Resending: GET, HEAD, PUT and DELETE leave the same state when sent twice, so they are resent after an
ambiguous failure (a 5xx, a timeout, a connection lost after the request left). A POST
(CreateMultipartUpload, CompleteMultipartUpload, DeleteObjects) is never resent blindly: after an
ambiguous failure its operation reads what the first attempt did (ListMultipartUploads, HeadObject and
ListParts, ListObjectsV2) and sends only what is still missing. Writes are refused before they are sent
when ``writes_allowed`` is False (check mode). The client is safe to share between threads.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import random
import threading
import time
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree
from xml.sax.saxutils import escape

try:
    import httpx
except ImportError:
    httpx = None

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import (
    USER_AGENT,
    RetryPolicy,
    parse_retry_after,
    retryable_transport_errors,
    unsent_transport_errors,
)

REGION = "auto"
SERVICE = "s3"
CHUNK_BYTES = 1024 * 1024
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
WRITE_METHODS = ("PUT", "POST", "DELETE")
# 429 and 503 SlowDown are throttling (not applied); other 5xx may have been applied.
RETRY_STATUSES = (429, 500, 502, 503, 504)
# S3 answers 400 RequestTimeout when the request body arrived too slowly; nothing was stored.
RETRY_CODES = ("RequestTimeout",)
THROTTLE_CODES = ("SlowDown",)
AUTH_CODES = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "Unauthorized")
# ListObjectsV2, ListParts, ListMultipartUploads and DeleteObjects take at most 1,000 per call.
MAX_KEYS = 1000


class S3Error(Exception):
    """A failed S3 call: HTTP status, S3 error code and message; ``ambiguous`` when it may have been applied."""

    def __init__(self, message, status=None, code=None, ambiguous=False):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.ambiguous = ambiguous

    def __str__(self):
        return self.message

    def with_message(self, message):
        return S3Error(message, self.status, self.code, self.ambiguous)


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


def file_digests(path, offset=0, length=None):
    """``(size, md5 hex, sha256 hex)`` of a file (or a slice of it), read in chunks."""
    md5, sha256 = hashlib.md5(), hashlib.sha256()
    size = 0
    for chunk in file_chunks(path, offset, length, digests=(md5, sha256)):
        size += len(chunk)
    return size, md5.hexdigest(), sha256.hexdigest()


def multipart_etag(part_md5_hexes):
    """S3's ETag of a multipart object: md5 of the parts' binary md5s, dash, part count."""
    joined = b"".join(bytes.fromhex(value) for value in part_md5_hexes)
    return "%s-%d" % (hashlib.md5(joined).hexdigest(), len(part_md5_hexes))


def b64_md5(md5_hex):
    return base64.b64encode(bytes.fromhex(md5_hex)).decode("ascii")


def _text(element, name):
    for child in element:
        if child.tag.rsplit("}", 1)[-1] == name:
            return child.text or ""
    return None


def _children(element, name):
    return [child for child in element if child.tag.rsplit("}", 1)[-1] == name]


def _xml(content):
    try:
        return ElementTree.fromstring(content)
    except ElementTree.ParseError as exc:
        raise S3Error("R2 answered XML that does not parse (%s): %r" % (exc, content[:200]))


class S3Client:
    """Signed S3 calls against one endpoint; ``calls`` counts reads and writes like the API client.

    ``pool`` is the number of connections kept (one per transfer running at once).
    """

    def __init__(self, endpoint_url, access_key_id, secret_access_key, timeout=60, max_retries=8, max_retry_time=120,
                 pool=10, sleep=time.sleep, now=time.time, jitter=random.random, retry_policy=None):
        if httpx is None:
            raise RuntimeError("the Python library httpx is required")
        self.endpoint_url = endpoint_url.rstrip("/")
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.policy = retry_policy or RetryPolicy(max_retries, max_retry_time, sleep=sleep, now=now, jitter=jitter)
        self.calls = {"reads": 0, "writes": 0}
        self.writes_allowed = True
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=httpx.Timeout(float(timeout)), headers={"User-Agent": USER_AGENT},
                                  trust_env=False,
                                  limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool))

    @property
    def max_retries(self):
        return self.policy.max_retries

    def close(self):
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def url(self, bucket, key=None, query=None):
        path = "/" + uri_encode(bucket)
        if key is not None:
            if any(segment in (".", "..") for segment in key.split("/")):
                # HTTP clients (httpx too) remove such segments from a URL: the request would name another key.
                raise S3Error("key %r cannot be addressed in a URL: it has '.' or '..' segments (list it, or delete it with "
                              "a batch delete, e.g. r2_sync exclusive)" % key)
            path += "/" + uri_encode(key, safe="-_.~/")
        query_string = canonical_query(query or {})
        return self.endpoint_url + path + ("?" + query_string if query_string else "")

    # Sending -----------------------------------------------------------------------------------------------

    def request(self, method, bucket, key=None, query=None, headers=None, body=None, body_factory=None,
                payload_hash=None, expect=(200,), stream=False, idempotent=None, recover=None, content_md5=False):
        """One signed call with retries; returns the response (opened as a stream when ``stream``).

        ``body``: bytes, or a function returning them (called for every attempt); ``body_factory()``
        returns a fresh chunk iterator for every attempt. ``idempotent`` defaults to True except for POST.
        After an ambiguous failure of a non-idempotent call, ``recover()`` is called (after the backoff):
        what it returns (not None) is returned instead of a response; None sends the call again. Without
        ``recover`` such a call fails, saying it may have been applied. ``content_md5`` adds the Content-MD5
        of ``body`` (S3 requires it on DeleteObjects).
        """
        method = method.upper()
        is_write = method in WRITE_METHODS
        if is_write and not self.writes_allowed:
            raise S3Error("internal error: %s %s is a write and writes are disabled (check mode)"
                          % (method, self._display(bucket, key)))
        if idempotent is None:
            idempotent = method != "POST"
        url = self.url(bucket, key, query)
        attempts = self.policy.attempts()
        while True:
            data = body() if callable(body) else body
            send_headers = dict(headers or {})
            if data is not None:
                send_headers["Content-Length"] = str(len(data))
                if content_md5:
                    send_headers["Content-MD5"] = base64.b64encode(hashlib.md5(data).digest()).decode("ascii")
                digest = payload_hash or hashlib.sha256(data).hexdigest()
            else:
                digest = payload_hash or (UNSIGNED_PAYLOAD if body_factory is not None else EMPTY_SHA256)
            signed = sign(method, url, send_headers, digest, self.access_key_id, self.secret_access_key)
            content = data if data is not None else (body_factory() if body_factory is not None else None)
            self._count(is_write)
            try:
                response = self._http.send(self._http.build_request(method, url, headers=signed, content=content),
                                           stream=stream)
            except httpx.RequestError as exc:
                error = S3Error("%s %s failed: %s: %s" % (method, self._display(bucket, key), type(exc).__name__, exc))
                if not isinstance(exc, retryable_transport_errors()):
                    raise error from None
                error.ambiguous = not isinstance(exc, unsent_transport_errors())
                retry_after, rate_limited = None, False
            else:
                if response.status_code in expect:
                    return response
                if stream:
                    response.read()
                    response.close()
                error = self._error(method, bucket, key, response)
                if response.status_code not in RETRY_STATUSES and error.code not in RETRY_CODES:
                    raise error
                error.ambiguous = response.status_code >= 500 and error.code not in THROTTLE_CODES
                rate_limited = response.status_code == 429 or error.code in THROTTLE_CODES
                retry_after = parse_retry_after(response.headers.get("retry-after"), self.policy.now)
            guarded = error.ambiguous and not idempotent
            if guarded and recover is None:
                raise error.with_message(error.message + "; not retried because the request may have been applied")
            if not attempts.next_wait(retry_after, rate_limited):
                raise error.with_message("stopping after %d retries: %s" % (attempts.retries, error.message))
            if guarded:
                found = recover()
                if found is not None:
                    return found

    def _count(self, is_write):
        with self._lock:
            self.calls["writes" if is_write else "reads"] += 1

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

    # Buckets and listings ------------------------------------------------------------------------------------

    def head_bucket(self, bucket):
        """True when the bucket exists and the key pair may use it; False for a missing bucket."""
        response = self.request("HEAD", bucket, expect=(200, 404))
        return response.status_code == 200

    def list_page(self, bucket, prefix="", delimiter=None, token=None, start_after=None, max_keys=MAX_KEYS):
        """One ListObjectsV2 page: ``(objects, prefixes, next token or None)``."""
        query = {"list-type": "2", "max-keys": max_keys, "prefix": prefix}
        if delimiter:
            query["delimiter"] = delimiter
        if token:
            query["continuation-token"] = token
        if start_after:
            query["start-after"] = start_after
        root = _xml(self.request("GET", bucket, query=query).content)
        objects = [{"key": _text(item, "Key"), "size": int(_text(item, "Size") or 0),
                    "etag": (_text(item, "ETag") or "").strip('"'), "last_modified": _text(item, "LastModified")}
                   for item in _children(root, "Contents")]
        prefixes = [_text(item, "Prefix") for item in _children(root, "CommonPrefixes")]
        next_token = _text(root, "NextContinuationToken")
        truncated = (_text(root, "IsTruncated") or "false") == "true"
        if truncated and not next_token:
            raise S3Error("ListObjectsV2 of s3://%s/%s said IsTruncated without a NextContinuationToken" % (bucket, prefix))
        return objects, prefixes, next_token if truncated else None

    def list_all(self, bucket, prefix="", delimiter=None, max_keys=MAX_KEYS):
        """Every object (and common prefix) under ``prefix``, in key order: ``(objects, prefixes)``."""
        objects, prefixes, token = [], [], None
        while True:
            page, page_prefixes, next_token = self.list_page(bucket, prefix, delimiter, token, max_keys=max_keys)
            objects.extend(page)
            prefixes.extend(page_prefixes)
            if next_token is None:
                return objects, prefixes
            if next_token == token:
                raise S3Error("ListObjectsV2 of s3://%s/%s returned the same continuation token twice" % (bucket, prefix))
            token = next_token

    def list_objects(self, bucket, prefix="", max_keys=MAX_KEYS):
        """Every object under ``prefix`` (pages of ``max_keys``): ``[{key, size, etag, last_modified}]``."""
        return self.list_all(bucket, prefix, max_keys=max_keys)[0]

    # Objects -------------------------------------------------------------------------------------------------

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
        """Upload a file in one PUT; returns the ETag. The payload's SHA-256 is signed and its MD5 sent as
        Content-MD5, so R2 refuses bytes that are not these (a file changed since it was hashed)."""
        headers = dict(headers)
        headers["Content-Length"] = str(size)
        headers["Content-MD5"] = b64_md5(md5_hex)
        response = self.request("PUT", bucket, key, headers=headers, body_factory=lambda: file_chunks(path),
                                payload_hash=sha256_hex)
        return response.headers.get("ETag", "").strip('"')

    def get_stream(self, bucket, key, headers=None):
        """The object's GET response, opened as a stream (the caller closes it)."""
        return self.request("GET", bucket, key, headers=headers, stream=True)

    def download(self, bucket, key, handle, digests=()):
        """Stream the object into an open binary file; returns its headers (lower-case names)."""
        response = self.get_stream(bucket, key)
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

    def delete_objects(self, bucket, keys):
        """Delete up to 1,000 keys in one DeleteObjects call; a key that is already gone is no error.

        After an ambiguous failure the keys still there are listed and only they are sent again."""
        if len(keys) > MAX_KEYS:
            raise ValueError("DeleteObjects takes at most %d keys" % MAX_KEYS)
        pending = {"keys": sorted(keys)}

        def document():
            objects = "".join("<Object><Key>%s</Key></Object>" % escape(key) for key in pending["keys"])
            return ("<Delete><Quiet>true</Quiet>%s</Delete>" % objects).encode("utf-8")

        def still_there():
            pending["keys"] = self._present(bucket, pending["keys"])
            return True if not pending["keys"] else None

        result = self.request("POST", bucket, query={"delete": ""}, headers={"Content-Type": "application/xml"},
                              body=document, content_md5=True, recover=still_there)
        if result is True:
            return
        root = _xml(result.content)
        errors = [(_text(item, "Key"), _text(item, "Code"), _text(item, "Message")) for item in _children(root, "Error")]
        if errors:
            raise S3Error("DeleteObjects on s3://%s refused %d key(s): %s" % (
                bucket, len(errors), "; ".join("%s: %s %s" % error for error in errors[:5])), code=errors[0][1])

    def _present(self, bucket, keys):
        """Those of the sorted ``keys`` that exist (listed from just before the first to past the last)."""
        wanted, found, token = set(keys), [], None
        start = keys[0][:-1] if keys[0] else ""
        prefix = _common_prefix(keys)
        while True:
            page, _prefixes, token = self.list_page(bucket, prefix, token=token, start_after=None if token else start or None)
            found.extend(item["key"] for item in page if item["key"] in wanted)
            if token is None or (page and page[-1]["key"] >= keys[-1]):
                return sorted(found)

    # Multipart uploads ---------------------------------------------------------------------------------------

    def list_multipart_uploads(self, bucket, prefix=""):
        """The uploads in progress under ``prefix``: ``[{key, upload_id, initiated}]``."""
        uploads, key_marker, upload_marker = [], None, None
        while True:
            query = {"uploads": "", "prefix": prefix, "max-uploads": MAX_KEYS}
            if key_marker:
                query["key-marker"] = key_marker
                query["upload-id-marker"] = upload_marker or ""
            root = _xml(self.request("GET", bucket, query=query).content)
            for item in _children(root, "Upload"):
                uploads.append({"key": _text(item, "Key"), "upload_id": _text(item, "UploadId"),
                                "initiated": _text(item, "Initiated")})
            if (_text(root, "IsTruncated") or "false") != "true":
                return uploads
            key_marker, upload_marker = _text(root, "NextKeyMarker"), _text(root, "NextUploadIdMarker")
            if not key_marker:
                return uploads

    def create_multipart_upload(self, bucket, key, headers):
        """Start a multipart upload; returns its id.

        The uploads already in progress for this key are listed first, so that after an ambiguous failure the
        one this call made (a new id) is adopted instead of starting a second one."""
        before = {item["upload_id"] for item in self.list_multipart_uploads(bucket, key) if item["key"] == key}

        def adopt():
            new = [item["upload_id"] for item in self.list_multipart_uploads(bucket, key)
                   if item["key"] == key and item["upload_id"] not in before]
            if len(new) > 1:
                raise S3Error("after a failed CreateMultipartUpload of %s, %d new uploads exist for the key (another "
                              "client is uploading it too): %s" % (self._display(bucket, key), len(new), ", ".join(new)))
            return new[0] if new else None

        result = self.request("POST", bucket, key, query={"uploads": ""}, headers=headers, body=b"", recover=adopt)
        if isinstance(result, str):
            return result
        upload_id = _text(_xml(result.content), "UploadId")
        if not upload_id:
            raise S3Error("CreateMultipartUpload of %s answered no UploadId" % self._display(bucket, key))
        return upload_id

    def upload_part(self, bucket, key, upload_id, number, path, offset, length, md5_hex=None, sha256_hex=None):
        """Upload one part streamed from the file; returns its ETag.

        The part is hashed first (unless its digests are given): its SHA-256 is signed and its MD5 sent as
        Content-MD5, so R2 refuses a part that is not these bytes; the ETag R2 answers must be that MD5."""
        if md5_hex is None or sha256_hex is None:
            _size, md5_hex, sha256_hex = file_digests(path, offset, length)
        response = self.request("PUT", bucket, key, query={"partNumber": number, "uploadId": upload_id},
                                headers={"Content-Length": str(length), "Content-MD5": b64_md5(md5_hex)},
                                body_factory=lambda: file_chunks(path, offset, length), payload_hash=sha256_hex)
        etag = response.headers.get("ETag", "").strip('"')
        if etag != md5_hex:
            raise S3Error("part %d of s3://%s/%s: R2 stored ETag %s but the part's MD5 is %s"
                          % (number, bucket, key, etag, md5_hex))
        return etag

    def list_parts(self, bucket, key, upload_id):
        """The parts uploaded so far, ``[{number, etag, size}]``, or None when the upload does not exist."""
        parts, marker = [], None
        while True:
            query = {"uploadId": upload_id, "max-parts": MAX_KEYS}
            if marker:
                query["part-number-marker"] = marker
            response = self.request("GET", bucket, key, query=query, expect=(200, 404))
            if response.status_code == 404:
                return None
            root = _xml(response.content)
            for item in _children(root, "Part"):
                parts.append({"number": int(_text(item, "PartNumber") or 0), "etag": (_text(item, "ETag") or "").strip('"'),
                              "size": int(_text(item, "Size") or 0)})
            if (_text(root, "IsTruncated") or "false") != "true":
                return parts
            marker = _text(root, "NextPartNumberMarker")
            if not marker:
                return parts

    def complete_multipart_upload(self, bucket, key, upload_id, etags, expected_sha256=None):
        """Complete the upload from the parts' ETags (in order); returns the object's ETag.

        After an ambiguous failure: when the object is there with this upload's ETag (and ``expected_sha256``
        as its ``sha256`` metadata), the completion happened; when the upload still lists its parts, it did
        not, and is sent again; when neither, the upload is gone and this fails."""
        parts = "".join("<Part><PartNumber>%d</PartNumber><ETag>\"%s\"</ETag></Part>" % (index + 1, etag)
                        for index, etag in enumerate(etags))
        body = ("<CompleteMultipartUpload>%s</CompleteMultipartUpload>" % parts).encode("utf-8")
        expected_etag = multipart_etag(etags)

        def completed():
            headers = self.head_object(bucket, key)
            if headers is not None and headers.get("etag", "").strip('"') == expected_etag and (
                    expected_sha256 is None or headers.get("x-amz-meta-sha256") == expected_sha256):
                return expected_etag
            if self.list_parts(bucket, key, upload_id) is not None:
                return None  # not completed: send it again
            raise S3Error("completing the multipart upload %s of %s failed ambiguously and the upload is gone, but the "
                          "object is not this upload" % (upload_id, self._display(bucket, key)))

        result = self.request("POST", bucket, key, query={"uploadId": upload_id}, body=body, recover=completed)
        if isinstance(result, str):
            return result
        root = _xml(result.content)
        if root.tag.rsplit("}", 1)[-1] == "Error":  # S3 may report a failed completion with HTTP 200
            raise S3Error("completing s3://%s/%s failed: %s %s" % (bucket, key, _text(root, "Code"), _text(root, "Message")),
                          code=_text(root, "Code"))
        return (_text(root, "ETag") or "").strip('"')

    def abort_multipart_upload(self, bucket, key, upload_id):
        self.request("DELETE", bucket, key, query={"uploadId": upload_id}, expect=(200, 204, 404))


def _common_prefix(keys):
    first, last = keys[0], keys[-1]
    length = 0
    while length < min(len(first), len(last)) and first[length] == last[length]:
        length += 1
    return first[:length]
