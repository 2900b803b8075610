"""Verified transfers under the alternatives the evidence leaves open: a completed multipart ETag that is not the
documented formula (S3 calls it opaque), and a multipart object another tool wrote with an unusual part size."""
import hashlib
import os

import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils._s3 import S3Client, S3Error, multipart_etag
from ansible_collections.cfops.cloudflare.plugins.module_utils._s3_transfer import MIB, download_file, hash_file, upload_file
from ansible_collections.cfops.cloudflare.tests.unit.plugins.module_utils.fake_s3 import FakeS3


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(os.urandom(11 * MIB))
    return path


def multipart_answers(stored_sha256, completed_etag):
    """An S3 that takes a multipart upload, completes it with ``completed_etag`` and shows ``stored_sha256``."""
    parts = {}

    def answer(seen):
        if seen.method == "GET" and "uploads" in seen.query:
            return 200, {}, b"<ListMultipartUploadsResult><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>"
        if seen.method == "POST" and "uploads" in seen.query:
            return 200, {}, b"<InitiateMultipartUploadResult><UploadId>u1</UploadId></InitiateMultipartUploadResult>"
        if seen.method == "PUT":
            parts[seen.query["partNumber"][0]] = seen.body
            return 200, {"ETag": '"%s"' % hashlib.md5(seen.body).hexdigest()}, b""
        if seen.method == "POST":
            return 200, {}, ("<CompleteMultipartUploadResult><ETag>\"%s\"</ETag></CompleteMultipartUploadResult>"
                             % completed_etag).encode()
        if seen.method == "HEAD":
            size = sum(len(body) for body in parts.values())
            return 200, {"Content-Length": str(size), "x-amz-meta-sha256": stored_sha256}, b""
        raise AssertionError(seen.operation)

    return answer


def test_a_completed_etag_off_the_formula_is_accepted_when_the_object_shows_the_file(data_file):
    digests = hash_file(str(data_file))
    server = FakeS3(multipart_answers(digests["sha256"], "opaque-etag-of-another-kind"))
    try:
        with S3Client(server.url, "id", "secret", max_retries=0) as s3:
            result = upload_file(s3, "b", "k", str(data_file), digests, {}, 5 * MIB)
        assert result == {"etag": "opaque-etag-of-another-kind", "parts": 3}
    finally:
        server.close()


def test_a_completed_etag_off_the_formula_and_another_object_is_refused(data_file):
    digests = hash_file(str(data_file))
    server = FakeS3(multipart_answers("f" * 64, "opaque-etag-of-another-kind"))
    try:
        with S3Client(server.url, "id", "secret", max_retries=0) as s3:
            with pytest.raises(S3Error, match="does not show this file's size and sha256"):
                upload_file(s3, "b", "k", str(data_file), digests, {}, 5 * MIB)
    finally:
        server.close()


def object_server(body, etag, headers=None):
    def answer(seen):
        assert seen.method == "GET", seen.operation
        return 200, dict({"ETag": '"%s"' % etag, "Content-Type": "application/octet-stream"}, **(headers or {})), body
    return FakeS3(answer)


@pytest.mark.parametrize("part_mb, verified", [(8, "multipart-etag"), (7, None)])
def test_a_foreign_multipart_object_is_downloaded_and_reported_unverified(tmp_path, part_mb, verified):
    body = os.urandom(17 * MIB)
    part = part_mb * MIB
    etag = multipart_etag([hashlib.md5(body[i:i + part]).hexdigest() for i in range(0, len(body), part)])
    server = object_server(body, etag)
    try:
        with S3Client(server.url, "id", "secret", max_retries=0) as s3:
            result = download_file(s3, "b", "k", str(tmp_path / "out"), 100 * MIB)
    finally:
        server.close()
    # 8 MiB (aws cli's part size) is among the sizes tried; 7 MiB is not: only the size could be checked.
    assert result["verified"] == verified
    assert (tmp_path / "out").read_bytes() == body


def test_a_download_that_does_not_match_its_sha256_leaves_nothing(tmp_path):
    body = b"the bytes that arrived"
    server = object_server(body, hashlib.md5(body).hexdigest(), {"x-amz-meta-sha256": "0" * 64})
    try:
        with S3Client(server.url, "id", "secret", max_retries=0) as s3:
            with pytest.raises(S3Error, match="checksum mismatch: the content's SHA-256"):
                download_file(s3, "b", "k", str(tmp_path / "out"))
    finally:
        server.close()
    assert os.listdir(tmp_path) == []
