"""R2's S3-compatible API, served on the emulator's port under ``/r2-s3/<account_id>``.

Cloudflare serves it at ``https://<account_id>.r2.cloudflarestorage.com`` with path-style
addressing; here the account id is the first path segment instead of the host, so an S3 client
needs only ``endpoint_url=http://127.0.0.1:<port>/r2-s3/<account_id>`` (boto3:
``Config(s3={"addressing_style": "path"})``, region ``auto``).

Bodies stream: uploads are read in 1 MiB chunks into a file (hashing on the way) and downloads are
written from the file in chunks, so a 1 GB object never sits in memory.  ``aws-chunked`` bodies
(boto3's default since 1.36: ``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` with a trailing CRC32) are
decoded; chunk signatures of ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` are not verified (the seed
signature is).
"""
import base64
import binascii
import hashlib
import json
import os
import shutil
import sys
import time
import traceback
from urllib.parse import quote, unquote, urlsplit
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from emulator.api import d1, r2
from emulator.s3_auth import S3AuthError, parse_query, verify
from emulator.store import new_id, now_iso

PREFIX = "/r2-s3/"
CHUNK = 1024 * 1024
MAX_KEYS = 1000
MAX_PART_NUMBER = 10000
MIN_PART_BYTES = 5 * 1024 * 1024
XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
UNSIGNED = ("UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER")
CHECKSUM_HEADERS = ("sha256", "crc32")


def owns(path):
    return path.startswith(PREFIX)


class S3Error(Exception):
    def __init__(self, status, code, message, resource=""):
        super().__init__(message)
        self.status = status
        self.code = code
        self.resource = resource


def _xml(tag, children, namespace=True):
    attribute = ' xmlns="%s"' % XMLNS if namespace else ""  # S3's <Error> documents have no namespace
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<%s%s>%s</%s>' % (tag, attribute, children, tag)).encode()


def _element(tag, value):
    return "<%s>%s</%s>" % (tag, escape(str(value)), tag)


def _http_date(iso):
    seconds = time.mktime(time.strptime(iso[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(seconds))


def _iso_ms(iso):
    return iso[:23] + "Z"


# Request bodies --------------------------------------------------------------------------------------------

class Body:
    """The request body as an iterator of chunks: Content-Length or chunked transfer, then aws-chunked."""

    def __init__(self, handler):
        self.rfile = handler.rfile
        headers = handler.headers
        self.transfer_chunked = "chunked" in (headers.get("Transfer-Encoding") or "").lower()
        self.remaining = int(headers.get("Content-Length") or 0)
        payload = headers.get("x-amz-content-sha256") or ""
        self.aws_chunked = payload.startswith("STREAMING-") or "aws-chunked" in (headers.get("Content-Encoding") or "")
        self.trailers = {}
        self.consumed = False
        self._pending = b""

    # Raw transport --------------------------------------------------------------
    def _raw_chunks(self):
        if self.transfer_chunked:
            while True:
                size = int(self.rfile.readline(1024).split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return
                while size:
                    data = self.rfile.read(min(size, CHUNK))
                    if not data:
                        raise S3Error(400, "IncompleteBody", "The request body ended early.")
                    size -= len(data)
                    yield data
                self.rfile.readline(1024)
        while self.remaining > 0:
            data = self.rfile.read(min(self.remaining, CHUNK))
            if not data:
                raise S3Error(400, "IncompleteBody", "The request body ended early.")
            self.remaining -= len(data)
            yield data

    # aws-chunked decoding over the raw stream ------------------------------------
    def _reader(self):
        raw = self._raw_chunks()
        buffer = bytearray()

        def fill(count):
            while len(buffer) < count:
                try:
                    buffer.extend(next(raw))
                except StopIteration:
                    return False
            return True

        def line():
            while b"\r\n" not in buffer:
                if not fill(len(buffer) + 1):
                    raise S3Error(400, "IncompleteBody", "The aws-chunked body ended early.")
            index = buffer.index(b"\r\n")
            value = bytes(buffer[:index])
            del buffer[:index + 2]
            return value

        while True:
            header = line()
            size = int(header.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while True:
                    trailer = line() if (buffer or fill(1)) else b""
                    if not trailer:
                        break
                    name, _colon, value = trailer.decode("latin-1").partition(":")
                    self.trailers[name.strip().lower()] = value.strip()
                for _rest in raw:
                    pass
                return
            while size:
                if not buffer and not fill(1):
                    raise S3Error(400, "IncompleteBody", "The aws-chunked body ended early.")
                take = bytes(buffer[:size])
                del buffer[:len(take)]
                size -= len(take)
                yield take
            line()  # the CRLF after the chunk data

    def __iter__(self):
        self.consumed = True
        return self._reader() if self.aws_chunked else self._raw_chunks()

    def read_all(self, limit=10 * CHUNK):
        data = bytearray()
        for chunk in self:
            data.extend(chunk)
            if len(data) > limit:
                raise S3Error(400, "EntityTooLarge", "The XML body is too large.")
        return bytes(data)

    def drain(self):
        if not self.consumed:
            for _chunk in self:
                pass


def _check_digests(digests, headers, trailers, payload_hash):
    if payload_hash not in UNSIGNED and digests.sha256.hexdigest() != payload_hash:
        raise S3Error(400, "XAmzContentSHA256Mismatch",
                      "The provided 'x-amz-content-sha256' header does not match what was computed.")
    sums = digests.checksums()
    content_md5 = headers.get("Content-MD5")
    if content_md5 and content_md5 != sums["md5"]:
        raise S3Error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
    for algorithm in CHECKSUM_HEADERS:
        name = "x-amz-checksum-" + algorithm
        expected = headers.get(name) or trailers.get(name)
        if expected and expected != sums[algorithm]:
            raise S3Error(400, "BadDigest", "The %s you specified did not match the calculated checksum." % algorithm.upper())


def _user_metadata(headers):
    return {name.lower()[len("x-amz-meta-"):]: value for name, value in headers.items()
            if name.lower().startswith("x-amz-meta-")}


def _object_headers(row):
    headers = {"ETag": '"%s"' % row["etag"], "Last-Modified": _http_date(row["uploaded"]),
               "Content-Type": row["content_type"] or "application/octet-stream", "Accept-Ranges": "bytes",
               "x-amz-storage-class": "STANDARD" if row["storage_class"] == "Standard" else "STANDARD_IA"}
    for name, value in row["metadata"].items():
        headers["x-amz-meta-" + name] = value
    return headers


# The handler -----------------------------------------------------------------------------------------------

class S3Request:
    def __init__(self, handler, state):
        self.handler = handler
        self.state = state
        self.store = state.store
        self.method = handler.command
        split = urlsplit(handler.path)
        self.raw_path = split.path
        self.raw_query = split.query
        self.query = dict(parse_query(split.query))
        rest = split.path[len(PREFIX):]
        account, _slash, rest = rest.partition("/")
        self.account_id = unquote(account)
        bucket, _slash, key = rest.partition("/")
        self.bucket = unquote(bucket)
        self.key = unquote(key)
        self.headers = handler.headers
        self.body = Body(handler)
        self.operation = _operation(self)

    @property
    def resource(self):
        return "/" + self.bucket + ("/" + self.key if self.key else "")


def _operation(req):
    method, query = req.method, req.query
    if not req.bucket:
        return {"GET": "ListBuckets"}.get(method, "Unsupported")
    if not req.key:
        if method == "GET" and "uploads" in query:
            return "ListMultipartUploads"
        if method == "GET" and ("cors" in query or "lifecycle" in query):
            return "Unsupported"
        if method == "POST" and "delete" in query:
            return "DeleteObjects"
        return {"GET": "ListObjectsV2" if query.get("list-type") == "2" else "ListObjects", "HEAD": "HeadBucket",
                "PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(method, "Unsupported")
    if "uploadId" in query:
        return {"PUT": "UploadPart", "POST": "CompleteMultipartUpload", "DELETE": "AbortMultipartUpload",
                "GET": "ListParts"}.get(method, "Unsupported")
    if method == "POST" and "uploads" in query:
        return "CreateMultipartUpload"
    if method == "PUT" and req.headers.get("x-amz-copy-source"):
        return "CopyObject"
    return {"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject", "DELETE": "DeleteObject"}.get(method, "Unsupported")


READ_OPERATIONS = {"ListBuckets", "ListObjectsV2", "ListObjects", "HeadBucket", "GetObject", "HeadObject", "ListParts",
                   "ListMultipartUploads"}


# What an injected fault answers on the S3 API (S3's error codes; R2 throttles with 429 or 503 SlowDown).
FAULT_ERRORS = {
    429: ("SlowDown", "Please reduce your request rate."),
    503: ("SlowDown", "Please reduce your request rate."),
}


def handle(handler, state):
    """Serve one S3 request on ``handler`` (a BaseHTTPRequestHandler); returns the status sent.

    Fault injection applies as on the API: a fault whose pattern is ``s3:<Operation>`` (a glob, e.g.
    ``s3:*``, ``s3:PutObject``) or a glob on the S3 path (``/r2-s3/*/bucket/*``) matches these calls;
    API patterns (``*``, ``/accounts/...``, templates) never do.
    """
    req = S3Request(handler, state)
    if req.account_id == d1.IMPORT_UPLOADS:
        return _d1_import_upload(req)
    template = "s3:" + req.operation
    fault = state.faults.decide(req.method, template, req.raw_path)
    state.calls.record(req.method, template, req.operation not in READ_OPERATIONS, faulted=fault is not None)
    if fault is not None and fault.action == "hang":
        time.sleep(fault.seconds)
        fault = None
    if fault is None:
        return _serve(req)
    if fault.apply:
        _serve_unheard(req)  # applied, then answered with the fault: an ambiguous failure
    else:
        req.body.drain()
    if fault.action == "drop":
        handler.close_connection = True
        return "dropped"
    code, message = FAULT_ERRORS.get(fault.status, ("InternalError" if fault.status >= 500 else "InjectedFault",
                                                    "We encountered an internal error. Please try again."
                                                    if fault.status >= 500 else "Injected fault"))
    error = S3Error(fault.status, code, message)
    error.headers = {"Retry-After": str(fault.retry_after)} if fault.status in (429, 503) else {}
    return _send_error(req, error)


class _Unheard:
    """A write end that drops everything: the answer of a request that a fault answers instead."""

    def write(self, data):
        return len(data)

    def flush(self):
        pass


def _serve_unheard(req):
    handler, wfile = req.handler, req.handler.wfile
    handler.wfile = _Unheard()
    try:
        _serve(req)
    finally:
        handler.wfile = wfile
        handler._headers_buffer = []
        handler.close_connection = False


def _serve(req):
    state = req.state
    try:
        token, payload_hash = verify(state.store, req.method, req.raw_path, req.raw_query, req.headers)
        if token["account_id"] is not None and token["account_id"] != req.account_id \
                or not state.store.account_exists(req.account_id):
            raise S3Error(403, "AccessDenied", "Access Denied")
        req.payload_hash = payload_hash
        operation = OPERATIONS.get(req.operation)
        if operation is None:
            raise S3Error(501, "NotImplemented", "%s %s is not implemented by the emulator." % (req.method, req.resource))
        status = operation(req)
        req.body.drain()
        return status
    except S3AuthError as exc:
        return _send_error(req, S3Error(exc.status, exc.code, str(exc)))
    except S3Error as exc:
        return _send_error(req, exc)
    except r2.StorageError as exc:
        return _send_error(req, S3Error(404, exc.code, str(exc)))
    except Exception:
        traceback.print_exc(file=sys.stderr)
        return _send_error(req, S3Error(500, "InternalError", "We encountered an internal error. Please try again."))


def _d1_import_upload(req):
    """PUT of a D1 import file to the signed ``upload_url`` that ``import`` ``init`` gave (R2's presigned URL on
    Cloudflare): streamed to disk, answered 200 with the MD5 as ``ETag``, which wrangler compares with its own."""
    req.state.calls.record(req.method, "s3:D1ImportUpload", True, faulted=False)
    if req.method != "PUT" or req.key:
        return _send_error(req, S3Error(405, "MethodNotAllowed", "Upload the import file with PUT to the upload_url."))
    status, value = d1.receive_import_upload(req.store, req.bucket, req.query.get("signature", ""), req.body)
    if status != 200:
        return _send_error(req, S3Error(status, value, "The upload URL is not valid for this file."))
    return _send(req, 200, headers={"ETag": '"%s"' % value})


def _send_error(req, error):
    if not req.body.consumed:
        req.handler.close_connection = True  # the unread body would be parsed as the next request
    body = b"" if req.method == "HEAD" else _xml("Error", _element("Code", error.code) + _element("Message", str(error))
                                                 + _element("Resource", error.resource or req.resource), namespace=False)
    headers = dict(getattr(error, "headers", {}), **{"Content-Type": "application/xml"})
    return _send(req, error.status, body, headers, length=len(body))


def _send(req, status, body=b"", headers=None, length=None, file_path=None, offset=0):
    handler = req.handler
    headers = dict(headers or {})
    length = len(body) if length is None else length
    try:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        if status != 204:
            handler.send_header("Content-Length", str(length))
        if handler.close_connection:
            handler.send_header("Connection", "close")
        handler.end_headers()
        if req.method != "HEAD":
            if file_path is not None:
                with open(file_path, "rb") as source:
                    source.seek(offset)
                    remaining = length
                    while remaining > 0:
                        data = source.read(min(CHUNK, remaining))
                        if not data:
                            break
                        handler.wfile.write(data)
                        remaining -= len(data)
            elif body:
                handler.wfile.write(body)
        handler.wfile.flush()
    except (BrokenPipeError, ConnectionResetError):
        handler.close_connection = True
    return status


def _ok_xml(req, tag, children, status=200):
    body = _xml(tag, children)
    return _send(req, status, body, {"Content-Type": "application/xml"})


# Buckets ----------------------------------------------------------------------------------------------------

def _bucket_row(req):
    with req.store.read() as db:
        row = r2.find_bucket(db, req.account_id, req.bucket)
    if row is None:
        raise S3Error(404, "NoSuchBucket", "The specified bucket does not exist.")
    return row


def list_buckets(req):
    with req.store.read() as db:
        rows = db.execute("SELECT name, creation_date FROM r2_buckets WHERE account_id = ? ORDER BY name",
                          (req.account_id,)).fetchall()
    buckets = "".join("<Bucket>%s%s</Bucket>" % (_element("Name", row["name"]),
                                                 _element("CreationDate", _iso_ms(row["creation_date"])))
                      for row in rows)
    owner = "<Owner>%s%s</Owner>" % (_element("ID", req.account_id), _element("DisplayName", req.account_id))
    return _ok_xml(req, "ListAllMyBucketsResult", "<Buckets>%s</Buckets>%s" % (buckets, owner))


def head_bucket(req):
    _bucket_row(req)
    return _send(req, 200, headers={"x-amz-bucket-region": "auto"})


def create_bucket(req):
    req.body.read_all()
    if not r2.valid_bucket_name(req.bucket):
        raise S3Error(400, "InvalidBucketName", "The specified bucket name is not valid.")
    with req.store.write() as db:
        if r2.find_bucket(db, req.account_id, req.bucket, "default") is not None:
            raise S3Error(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded "
                                                          "and you already own it.")
        db.execute("INSERT INTO r2_buckets (id, account_id, jurisdiction, name, location, storage_class, creation_date) "
                   "VALUES (?, ?, 'default', ?, ?, 'Standard', ?)",
                   (new_id(), req.account_id, req.bucket, r2.DEFAULT_LOCATION, now_iso()))
    return _send(req, 200, headers={"Location": "/" + req.bucket})


def delete_bucket(req):
    row = _bucket_row(req)
    with req.store.write() as db:
        if db.execute("SELECT 1 FROM r2_objects WHERE bucket_id = ? LIMIT 1", (row["id"],)).fetchone():
            raise S3Error(409, "BucketNotEmpty", "The bucket you tried to delete is not empty.")
        r2._drop_uploads(db, row["id"])
        db.execute("DELETE FROM r2_buckets WHERE id = ?", (row["id"],))
    return _send(req, 204)


def list_objects_v2(req):
    _bucket_row(req)
    query = req.query
    try:
        max_keys = min(int(query.get("max-keys", MAX_KEYS)), MAX_KEYS)
    except ValueError:
        raise S3Error(400, "InvalidArgument", "max-keys must be an integer")
    if max_keys < 0:
        raise S3Error(400, "InvalidArgument", "max-keys must not be negative")
    prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
    token = query.get("continuation-token")
    start_after = query.get("start-after", "")
    if token:
        try:
            start_after = base64.urlsafe_b64decode(token.encode()).decode("utf-8")
        except (ValueError, binascii.Error):
            raise S3Error(400, "InvalidArgument", "The continuation token provided is incorrect")
    if max_keys == 0:
        objects, prefixes, truncated, last = [], [], False, None
    else:
        objects, prefixes, truncated, last = r2.list_objects(req.store, req.account_id, req.bucket, prefix,
                                                             start_after, max_keys, delimiter)
    url_encode = query.get("encoding-type") == "url"
    encode = (lambda value: quote(value, safe="/")) if url_encode else (lambda value: value)
    parts = [_element("Name", req.bucket), _element("Prefix", encode(prefix)), _element("MaxKeys", max_keys),
             _element("KeyCount", len(objects) + len(prefixes)), _element("IsTruncated", "true" if truncated else "false")]
    if delimiter:
        parts.append(_element("Delimiter", encode(delimiter)))
    if url_encode:
        parts.append(_element("EncodingType", "url"))
    if token:
        parts.append(_element("ContinuationToken", token))
    if query.get("start-after"):
        parts.append(_element("StartAfter", encode(query["start-after"])))
    if truncated:
        parts.append(_element("NextContinuationToken", base64.urlsafe_b64encode(last.encode("utf-8")).decode()))
    for row in objects:
        parts.append("<Contents>%s%s%s%s%s</Contents>" % (
            _element("Key", encode(row["key"])), _element("LastModified", _iso_ms(row["uploaded"])),
            _element("ETag", '"%s"' % row["etag"]), _element("Size", row["size"]),
            _element("StorageClass", "STANDARD" if row["storage_class"] == "Standard" else "STANDARD_IA")))
    for common in prefixes:
        parts.append("<CommonPrefixes>%s</CommonPrefixes>" % _element("Prefix", encode(common)))
    return _ok_xml(req, "ListBucketResult", "".join(parts))


def delete_objects(req):
    _bucket_row(req)
    document = req.body.read_all()
    content_md5 = req.headers.get("Content-MD5")
    if content_md5 and content_md5 != base64.b64encode(hashlib.md5(document).digest()).decode():
        raise S3Error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
    try:
        root = ElementTree.fromstring(document)
    except ElementTree.ParseError:
        raise S3Error(400, "MalformedXML", "The XML you provided was not well-formed.")
    quiet = (_find_text(root, "Quiet") or "false").lower() == "true"
    keys = [_find_text(item, "Key") for item in root if item.tag.rsplit("}", 1)[-1] == "Object"]
    if len(keys) > 1000:
        raise S3Error(400, "MalformedXML", "At most 1000 keys may be deleted in one request.")
    results = []
    for key in keys:
        r2.delete_object(req.store, req.account_id, req.bucket, key)
        if not quiet:
            results.append("<Deleted>%s</Deleted>" % _element("Key", key))
    return _ok_xml(req, "DeleteResult", "".join(results))


def _find_text(element, name):
    for child in element:
        if child.tag.rsplit("}", 1)[-1] == name:
            return child.text or ""
    return None


# Objects ----------------------------------------------------------------------------------------------------

def _receive(req, directory=None):
    """Spool the body to a file and verify its checksums; ``(path, digests)``."""
    path, digests = r2.spool(req.store, req.body, directory)
    try:
        _check_digests(digests, req.headers, req.body.trailers, req.payload_hash)
    except S3Error:
        r2._unlink(path)
        raise
    return path, digests


def _checksum_headers(req, digests):
    algorithm = (req.headers.get("x-amz-sdk-checksum-algorithm") or "").lower()
    requested = [name for name in CHECKSUM_HEADERS
                 if algorithm == name or req.headers.get("x-amz-checksum-" + name) or req.body.trailers.get("x-amz-checksum-" + name)]
    sums = digests.checksums()
    return {"x-amz-checksum-" + name: sums[name] for name in requested}


def put_object(req):
    _bucket_row(req)
    path, digests = _receive(req)
    try:
        row = r2.commit_object(req.store, req.account_id, req.bucket, req.key, path, digests.size,
                               digests.md5.hexdigest(), digests.sha256.hexdigest(),
                               req.headers.get("Content-Type"), _user_metadata(req.headers))
    except BaseException:
        r2._unlink(path)
        raise
    headers = {"ETag": '"%s"' % row["etag"]}
    headers.update(_checksum_headers(req, digests))
    return _send(req, 200, headers=headers)


def _object_row(req, key=None, bucket=None):
    row = r2.get_object(req.store, req.account_id, bucket or req.bucket, req.key if key is None else key)
    if row is None:
        raise S3Error(404, "NoSuchKey", "The specified key does not exist.")
    return row


def _range(header, size):
    """``(start, end)`` inclusive for a single bytes range; None for no (or an ignored) range."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _dash, last = header[len("bytes="):].strip().partition("-")
    try:
        if first == "":
            length = int(last)
            if length <= 0:
                raise S3Error(416, "InvalidRange", "The requested range is not satisfiable")
            return max(0, size - length), size - 1
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        raise S3Error(416, "InvalidRange", "The requested range is not satisfiable")
    return start, min(end, size - 1)


def get_object(req):
    row = _object_row(req)
    headers = _object_headers(row)
    if_none_match = req.headers.get("If-None-Match")
    if if_none_match and if_none_match.strip('"') == row["etag"]:
        return _send(req, 304, headers={"ETag": headers["ETag"]}, length=0)
    if_match = req.headers.get("If-Match")
    if if_match and if_match.strip('"') != row["etag"]:
        raise S3Error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
    byte_range = _range(req.headers.get("Range"), row["size"])
    if byte_range is None:
        if req.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED" and "-" not in row["etag"]:
            headers["x-amz-checksum-sha256"] = base64.b64encode(bytes.fromhex(row["sha256"])).decode()
        return _send(req, 200, headers=headers, length=row["size"], file_path=row["path"])
    start, end = byte_range
    headers["Content-Range"] = "bytes %d-%d/%d" % (start, end, row["size"])
    return _send(req, 206, headers=headers, length=end - start + 1, file_path=row["path"], offset=start)


def delete_object(req):
    _bucket_row(req)
    r2.delete_object(req.store, req.account_id, req.bucket, req.key)
    return _send(req, 204)


def copy_object(req):
    source = unquote(req.headers["x-amz-copy-source"]).lstrip("/")
    source_bucket, _slash, source_key = source.partition("/")
    source_key = source_key.split("?versionId=", 1)[0]
    row = _object_row(req, source_key, source_bucket)
    _bucket_row(req)
    replace = (req.headers.get("x-amz-metadata-directive") or "COPY").upper() == "REPLACE"
    content_type = req.headers.get("Content-Type") if replace else row["content_type"]
    metadata = _user_metadata(req.headers) if replace else row["metadata"]
    with open(row["path"], "rb") as source_file:
        path, digests = r2.spool(req.store, iter(lambda: source_file.read(CHUNK), b""))
    copied = r2.commit_object(req.store, req.account_id, req.bucket, req.key, path, digests.size, row["etag"],
                              digests.sha256.hexdigest(), content_type, metadata)
    return _ok_xml(req, "CopyObjectResult", _element("LastModified", _iso_ms(copied["uploaded"]))
                   + _element("ETag", '"%s"' % copied["etag"]))


# Multipart uploads -------------------------------------------------------------------------------------------

def _uploads_dir(req, upload_id):
    return os.path.join(r2.storage_dir(req.store), "uploads", upload_id)


def _upload(req):
    bucket = _bucket_row(req)
    with req.store.read() as db:
        row = db.execute("SELECT * FROM r2_uploads WHERE id = ? AND bucket_id = ? AND key = ?",
                         (req.query["uploadId"], bucket["id"], req.key)).fetchone()
    if row is None:
        raise S3Error(404, "NoSuchUpload", "The specified multipart upload does not exist.")
    return row


def create_multipart_upload(req):
    bucket = _bucket_row(req)
    upload_id = new_id()
    with req.store.write() as db:
        db.execute("INSERT INTO r2_uploads (id, bucket_id, key, content_type, metadata, initiated) VALUES (?, ?, ?, ?, ?, ?)",
                   (upload_id, bucket["id"], req.key, req.headers.get("Content-Type"),
                    json.dumps(_user_metadata(req.headers), sort_keys=True), now_iso()))
    return _ok_xml(req, "InitiateMultipartUploadResult", _element("Bucket", req.bucket) + _element("Key", req.key)
                   + _element("UploadId", upload_id))


def upload_part(req):
    upload = _upload(req)
    try:
        number = int(req.query.get("partNumber", ""))
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_PART_NUMBER:
        raise S3Error(400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive")
    directory = _uploads_dir(req, upload["id"])
    path, digests = _receive(req, directory)
    etag = digests.md5.hexdigest()
    with req.store.write() as db:
        old = db.execute("SELECT file FROM r2_parts WHERE upload_id = ? AND part_number = ?",
                         (upload["id"], number)).fetchone()
        db.execute("INSERT OR REPLACE INTO r2_parts (upload_id, part_number, file, size, etag) VALUES (?, ?, ?, ?, ?)",
                   (upload["id"], number, os.path.basename(path), digests.size, etag))
    if old is not None and old["file"] != os.path.basename(path):
        r2._unlink(os.path.join(directory, old["file"]))
    headers = {"ETag": '"%s"' % etag}
    headers.update(_checksum_headers(req, digests))
    return _send(req, 200, headers=headers)


def _parts(req, upload_id):
    with req.store.read() as db:
        return db.execute("SELECT * FROM r2_parts WHERE upload_id = ? ORDER BY part_number", (upload_id,)).fetchall()


def complete_multipart_upload(req):
    upload = _upload(req)
    try:
        root = ElementTree.fromstring(req.body.read_all())
    except ElementTree.ParseError:
        raise S3Error(400, "MalformedXML", "The XML you provided was not well-formed.")
    requested = []
    for item in root:
        if item.tag.rsplit("}", 1)[-1] == "Part":
            try:
                requested.append((int(_find_text(item, "PartNumber") or ""), (_find_text(item, "ETag") or "").strip('"')))
            except ValueError:
                raise S3Error(400, "MalformedXML", "PartNumber must be an integer.")
    if not requested:
        raise S3Error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our "
                                           "published schema.")
    if [number for number, _etag in requested] != sorted({number for number, _etag in requested}):
        raise S3Error(400, "InvalidPartOrder", "The list of parts was not in ascending order.")
    stored = {row["part_number"]: row for row in _parts(req, upload["id"])}
    directory = _uploads_dir(req, upload["id"])
    for index, (number, etag) in enumerate(requested):
        part = stored.get(number)
        if part is None or part["etag"] != etag:
            raise S3Error(400, "InvalidPart", "One or more of the specified parts could not be found.")
        if index < len(requested) - 1 and part["size"] < MIN_PART_BYTES:
            raise S3Error(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.")
    # R2: every part but the last has the same size, and the last is no larger (r2/objects/multipart-objects).
    sizes = [stored[number]["size"] for number, _etag in requested]
    if len(set(sizes[:-1])) > 1 or (len(sizes) > 1 and sizes[-1] > sizes[0]):
        raise S3Error(400, "InvalidPart", "All non-trailing parts must have the same length.")

    def chunks():
        for number, _etag in requested:
            with open(os.path.join(directory, stored[number]["file"]), "rb") as part_file:
                yield from iter(lambda: part_file.read(CHUNK), b"")

    path, digests = r2.spool(req.store, chunks())
    joined = b"".join(bytes.fromhex(etag) for _number, etag in requested)
    etag = "%s-%d" % (hashlib.md5(joined).hexdigest(), len(requested))
    row = r2.commit_object(req.store, req.account_id, req.bucket, req.key, path, digests.size, etag,
                           digests.sha256.hexdigest(), upload["content_type"], json.loads(upload["metadata"]))
    with req.store.write() as db:
        db.execute("DELETE FROM r2_parts WHERE upload_id = ?", (upload["id"],))
        db.execute("DELETE FROM r2_uploads WHERE id = ?", (upload["id"],))
    _remove_tree(directory)
    return _ok_xml(req, "CompleteMultipartUploadResult", _element("Location", req.resource) + _element("Bucket", req.bucket)
                   + _element("Key", req.key) + _element("ETag", '"%s"' % row["etag"]))


def abort_multipart_upload(req):
    upload = _upload(req)
    with req.store.write() as db:
        db.execute("DELETE FROM r2_parts WHERE upload_id = ?", (upload["id"],))
        db.execute("DELETE FROM r2_uploads WHERE id = ?", (upload["id"],))
    _remove_tree(_uploads_dir(req, upload["id"]))
    return _send(req, 204)


def list_multipart_uploads(req):
    """Uploads in progress in key order (then initiation order), ``max-uploads`` (<= 1000) a page."""
    bucket = _bucket_row(req)
    query = req.query
    try:
        limit = min(int(query.get("max-uploads", MAX_KEYS)), MAX_KEYS)
    except ValueError:
        raise S3Error(400, "InvalidArgument", "max-uploads must be an integer")
    prefix, key_marker, id_marker = query.get("prefix", ""), query.get("key-marker", ""), query.get("upload-id-marker", "")
    # S3's order: by key, then by initiation time; the markers name the last upload of the previous page.
    with req.store.read() as db:
        marker = db.execute("SELECT initiated FROM r2_uploads WHERE id = ?", (id_marker,)).fetchone() if id_marker else None
        after_initiated = marker["initiated"] if marker else ""
        rows = db.execute("SELECT * FROM r2_uploads WHERE bucket_id = ? AND substr(key, 1, ?) = ? "
                          "AND (key > ? OR (key = ? AND (initiated > ? OR (initiated = ? AND id > ?)))) "
                          "ORDER BY key, initiated, id LIMIT ?",
                          (bucket["id"], len(prefix), prefix, key_marker, key_marker if id_marker else "\x00",
                           after_initiated, after_initiated, id_marker, limit + 1)).fetchall()
    truncated = len(rows) > limit
    rows = rows[:limit]
    parts = [_element("Bucket", req.bucket), _element("KeyMarker", key_marker), _element("UploadIdMarker", id_marker),
             _element("Prefix", prefix), _element("MaxUploads", limit), _element("IsTruncated", "true" if truncated else "false")]
    if truncated:
        parts += [_element("NextKeyMarker", rows[-1]["key"]), _element("NextUploadIdMarker", rows[-1]["id"])]
    for row in rows:
        parts.append("<Upload>%s%s%s%s</Upload>" % (_element("Key", row["key"]), _element("UploadId", row["id"]),
                                                    _element("Initiated", _iso_ms(row["initiated"])),
                                                    _element("StorageClass", "STANDARD")))
    return _ok_xml(req, "ListMultipartUploadsResult", "".join(parts))


def list_parts(req):
    upload = _upload(req)
    parts = "".join("<Part>%s%s%s</Part>" % (_element("PartNumber", row["part_number"]),
                                             _element("ETag", '"%s"' % row["etag"]), _element("Size", row["size"]))
                    for row in _parts(req, upload["id"]))
    return _ok_xml(req, "ListPartsResult", _element("Bucket", req.bucket) + _element("Key", req.key)
                   + _element("UploadId", upload["id"]) + _element("IsTruncated", "false") + parts)


def _remove_tree(directory):
    shutil.rmtree(directory, ignore_errors=True)


OPERATIONS = {
    "ListBuckets": list_buckets,
    "HeadBucket": head_bucket,
    "CreateBucket": create_bucket,
    "DeleteBucket": delete_bucket,
    "ListObjectsV2": list_objects_v2,
    "DeleteObjects": delete_objects,
    "PutObject": put_object,
    "GetObject": get_object,
    "HeadObject": get_object,
    "DeleteObject": delete_object,
    "CopyObject": copy_object,
    "CreateMultipartUpload": create_multipart_upload,
    "UploadPart": upload_part,
    "CompleteMultipartUpload": complete_multipart_upload,
    "AbortMultipartUpload": abort_multipart_upload,
    "ListParts": list_parts,
    "ListMultipartUploads": list_multipart_uploads,
}
