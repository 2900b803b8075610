"""SigV4 signing (AWS's published example), multipart ETags, chunked file reads."""
import datetime
import hashlib

import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils._s3 import (
    EMPTY_SHA256,
    S3Client,
    S3Error,
    canonical_query,
    file_chunks,
    file_digests,
    multipart_etag,
    sign,
)
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply


def test_signature_matches_aws_get_object_example():
    # docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html, "GET Object".
    headers = sign("GET", "https://examplebucket.s3.amazonaws.com/test.txt", {"Range": "bytes=0-9"}, EMPTY_SHA256,
                   "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                   now=datetime.datetime(2013, 5, 24, tzinfo=datetime.timezone.utc), region="us-east-1")
    assert headers["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    assert headers["x-amz-date"] == "20130524T000000Z"
    assert "host" not in headers


def test_canonical_query_sorts_and_encodes():
    assert canonical_query({"prefix": "a b/c", "list-type": "2", "uploads": ""}) == "list-type=2&prefix=a%20b%2Fc&uploads="


def test_multipart_etag_is_md5_of_part_md5s():
    parts = [b"a" * 10, b"b" * 3]
    md5s = [hashlib.md5(part).hexdigest() for part in parts]
    assert multipart_etag(md5s) == hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + "-2"


def test_file_chunks_slices_and_digests(tmp_path):
    path = tmp_path / "data"
    path.write_bytes(bytes(range(256)) * 10)
    digest = hashlib.sha256()
    chunks = list(file_chunks(str(path), offset=100, length=1000, chunk_bytes=300, digests=(digest,)))
    assert [len(chunk) for chunk in chunks] == [300, 300, 300, 100]
    assert b"".join(chunks) == path.read_bytes()[100:1100]
    assert digest.hexdigest() == hashlib.sha256(path.read_bytes()[100:1100]).hexdigest()
    assert file_digests(str(path)) == (2560, hashlib.md5(path.read_bytes()).hexdigest(),
                                       hashlib.sha256(path.read_bytes()).hexdigest())


@pytest.mark.parametrize("status, code", [(403, "InvalidAccessKeyId"), (403, "SignatureDoesNotMatch"),
                                          (403, "AccessDenied"), (401, "Unauthorized")])
def test_a_refused_key_pair_says_how_r2_derives_it(server, status, code):
    body = ("<Error><Code>%s</Code><Message>refused</Message></Error>" % code).encode()
    server.script(Reply(status, raw=body, headers={"Content-Type": "application/xml"}))
    client = S3Client(server.base_url.replace("/client/v4", ""), "key-id", "secret", max_retries=0)
    try:
        with pytest.raises(S3Error, match="check access_key_id and secret_access_key") as caught:
            client.request("GET", "books", "a.txt")
    finally:
        client.close()
    assert caught.value.code == code and caught.value.status == status
