"""R2's S3-compatible API: boto3 unchanged against the emulator, SigV4, streaming, checksums, multipart."""
import base64
import hashlib
import io
import zlib

import boto3
import botocore.exceptions
import httpx
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

MIB = 1024 * 1024


def key_pair(emulator, token=None):
    token = token or emulator.token
    secret = hashlib.sha256(token.encode()).hexdigest()
    credentials = emulator.admin("GET", "/r2/credentials")["credentials"]
    return next((item["access_key_id"], item["secret_access_key"]) for item in credentials if item["secret_access_key"] == secret)


def s3_client(emulator, access_key_id=None, secret_access_key=None, **config):
    if access_key_id is None:
        access_key_id, secret_access_key = key_pair(emulator)
    return boto3.client("s3", endpoint_url=emulator.s3_url, aws_access_key_id=access_key_id,
                        aws_secret_access_key=secret_access_key, region_name="auto",
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, **config))


@pytest.fixture
def s3(fresh):
    return s3_client(fresh)


@pytest.fixture
def bucket(s3):
    s3.create_bucket(Bucket="s3-tests")
    return "s3-tests"


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def test_credentials_are_token_id_and_sha256_of_the_token(fresh):
    access_key_id, secret = key_pair(fresh)
    verified = httpx.get(fresh.base_url + "/user/tokens/verify", headers={"Authorization": "Bearer " + fresh.token}).json()
    assert access_key_id == verified["result"]["id"]
    assert secret == hashlib.sha256(fresh.token.encode()).hexdigest()


def test_buckets_created_through_the_api_are_listed_and_headed(s3, fresh):
    httpx.post(fresh.base_url + "/accounts/%s/r2/buckets" % fresh.account_id, json={"name": "from-api"},
               headers={"Authorization": "Bearer " + fresh.token})
    assert [item["Name"] for item in s3.list_buckets()["Buckets"]] == ["from-api"]
    assert s3.head_bucket(Bucket="from-api")["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        s3.head_bucket(Bucket="not-there")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_put_get_head_delete_with_metadata_and_odd_keys(s3, bucket):
    key = "dir/a file+with ünicode?&=.txt"
    put = s3.put_object(Bucket=bucket, Key=key, Body=b"hello", ContentType="text/plain", Metadata={"Owner": "books"})
    assert put["ETag"] == '"%s"' % hashlib.md5(b"hello").hexdigest()
    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["Body"].read() == b"hello"
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"owner": "books"}
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == 5 and head["ETag"] == put["ETag"]
    s3.delete_object(Bucket=bucket, Key=key)
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key=key)
    assert error_code(excinfo) == "NoSuchKey"
    s3.delete_object(Bucket=bucket, Key=key)  # deleting a missing key is fine, as in S3


def test_range_reads(s3, bucket):
    s3.put_object(Bucket=bucket, Key="digits", Body=b"0123456789")
    assert s3.get_object(Bucket=bucket, Key="digits", Range="bytes=2-4")["Body"].read() == b"234"
    assert s3.get_object(Bucket=bucket, Key="digits", Range="bytes=7-")["Body"].read() == b"789"
    ranged = s3.get_object(Bucket=bucket, Key="digits", Range="bytes=-3")
    assert ranged["Body"].read() == b"789" and ranged["ContentRange"] == "bytes 7-9/10"
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="digits", Range="bytes=20-30")
    assert error_code(excinfo) == "InvalidRange"


def test_content_md5_and_checksums_are_verified(s3, bucket):
    good_md5 = base64.b64encode(hashlib.md5(b"data").digest()).decode()
    s3.put_object(Bucket=bucket, Key="md5", Body=b"data", ContentMD5=good_md5)
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="md5-bad", Body=b"data", ContentMD5=base64.b64encode(b"0" * 16).decode())
    assert error_code(excinfo) == "BadDigest"
    crc = base64.b64encode(zlib.crc32(b"data").to_bytes(4, "big")).decode()
    assert s3.put_object(Bucket=bucket, Key="crc", Body=b"data", ChecksumCRC32=crc)["ChecksumCRC32"] == crc
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="sha-bad", Body=b"data",
                      ChecksumSHA256=base64.b64encode(hashlib.sha256(b"other").digest()).decode())
    assert error_code(excinfo) == "BadDigest"
    listed = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert listed == ["crc", "md5"]


def test_default_boto3_checksums_aws_chunked_and_upload_fileobj(s3, bucket):
    # boto3 >= 1.36 adds a CRC32 by default; streamed uploads go out aws-chunked with a trailer.
    data = bytes(range(256)) * 4096
    s3.upload_fileobj(io.BytesIO(data), bucket, "streamed.bin")
    assert s3.get_object(Bucket=bucket, Key="streamed.bin")["Body"].read() == data


def test_list_objects_v2_prefix_delimiter_and_paging(s3, bucket):
    keys = ["a/1", "a/2", "a/b/3", "b/4", "c"] + ["many/%04d" % index for index in range(1205)]
    for key in keys[:5]:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    first = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [item["Key"] for item in first["Contents"]] == ["c"]
    assert [item["Prefix"] for item in first["CommonPrefixes"]] == ["a/", "b/"]
    nested = s3.list_objects_v2(Bucket=bucket, Prefix="a/", Delimiter="/")
    assert [item["Key"] for item in nested["Contents"]] == ["a/1", "a/2"]
    assert [item["Prefix"] for item in nested["CommonPrefixes"]] == ["a/b/"]
    paged = s3.list_objects_v2(Bucket=bucket, MaxKeys=2)
    assert paged["IsTruncated"] and paged["KeyCount"] == 2
    rest = s3.list_objects_v2(Bucket=bucket, ContinuationToken=paged["NextContinuationToken"])
    assert [item["Key"] for item in rest["Contents"]] == ["a/b/3", "b/4", "c"]


def test_a_thousand_keys_per_page(s3, bucket):
    client = s3
    for index in range(1003):
        client.put_object(Bucket=bucket, Key="k%04d" % index, Body=b"")
    pages = list(client.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 5000}))
    assert [page["KeyCount"] for page in pages] == [1000, 3]


def test_delete_objects_in_a_batch(s3, bucket):
    for key in ("x", "y", "z"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"1")
    deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "x"}, {"Key": "y"}, {"Key": "missing"}]})
    assert sorted(item["Key"] for item in deleted["Deleted"]) == ["missing", "x", "y"]
    assert [item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["z"]


def test_copy_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="source", Body=b"copy me", Metadata={"a": "1"})
    s3.copy_object(Bucket=bucket, Key="target", CopySource={"Bucket": bucket, "Key": "source"})
    copied = s3.get_object(Bucket=bucket, Key="target")
    assert copied["Body"].read() == b"copy me" and copied["Metadata"] == {"a": "1"}


def test_multipart_upload_etag_list_parts_and_abort(s3, bucket):
    parts_data = [b"a" * (5 * MIB), b"b" * (5 * MIB), b"tail"]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="multi", ContentType="application/x-test",
                                        Metadata={"sha256": "recorded"})
    etags = []
    for number, data in enumerate(parts_data, start=1):
        etags.append(s3.upload_part(Bucket=bucket, Key="multi", UploadId=upload["UploadId"], PartNumber=number,
                                    Body=data)["ETag"])
    listed = s3.list_parts(Bucket=bucket, Key="multi", UploadId=upload["UploadId"])
    assert [part["Size"] for part in listed["Parts"]] == [len(data) for data in parts_data]
    done = s3.complete_multipart_upload(Bucket=bucket, Key="multi", UploadId=upload["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": number, "ETag": etag} for number, etag in enumerate(etags, start=1)]})
    expected = hashlib.md5(b"".join(hashlib.md5(data).digest() for data in parts_data)).hexdigest() + "-3"
    assert done["ETag"] == '"%s"' % expected
    head = s3.head_object(Bucket=bucket, Key="multi")
    assert head["ContentLength"] == 10 * MIB + 4 and head["Metadata"] == {"sha256": "recorded"}
    assert head["ContentType"] == "application/x-test"
    aborted = s3.create_multipart_upload(Bucket=bucket, Key="dropped")
    s3.abort_multipart_upload(Bucket=bucket, Key="dropped", UploadId=aborted["UploadId"])
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        s3.list_parts(Bucket=bucket, Key="dropped", UploadId=aborted["UploadId"])
    assert error_code(excinfo) == "NoSuchUpload"


def test_small_non_final_part_is_entity_too_small(s3, bucket):
    upload = s3.create_multipart_upload(Bucket=bucket, Key="small-parts")
    etags = [s3.upload_part(Bucket=bucket, Key="small-parts", UploadId=upload["UploadId"], PartNumber=n, Body=b"x")["ETag"]
             for n in (1, 2)]
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        s3.complete_multipart_upload(Bucket=bucket, Key="small-parts", UploadId=upload["UploadId"], MultipartUpload={
            "Parts": [{"PartNumber": n, "ETag": etag} for n, etag in zip((1, 2), etags)]})
    assert error_code(excinfo) == "EntityTooSmall"


def test_parts_but_the_last_must_have_one_size_as_r2_requires(s3, bucket):
    # R2 (r2/objects/multipart-objects; apache/opendal#2904): InvalidPart "All non-trailing parts must have the same length".
    for key, sizes in (("uneven", (5 * MIB, 6 * MIB, 1)), ("last-larger", (5 * MIB, 5 * MIB + 1))):
        upload = s3.create_multipart_upload(Bucket=bucket, Key=key)
        etags = [s3.upload_part(Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=n, Body=b"p" * size)["ETag"]
                 for n, size in enumerate(sizes, start=1)]
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload["UploadId"], MultipartUpload={
                "Parts": [{"PartNumber": n, "ETag": etag} for n, etag in enumerate(etags, start=1)]})
        assert error_code(excinfo) == "InvalidPart"
        assert "same length" in excinfo.value.response["Error"]["Message"]


def test_list_multipart_uploads_by_prefix_and_page(s3, bucket):
    ids = [s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"] for key in ("a/1", "a/1", "a/2", "b/1")]
    listed = s3.list_multipart_uploads(Bucket=bucket, Prefix="a/")
    # By key, then by initiation time (S3's order).
    expected = [("a/1", ids[0]), ("a/1", ids[1]), ("a/2", ids[2])]
    assert [(item["Key"], item["UploadId"]) for item in listed["Uploads"]] == expected
    first = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=2)
    assert first["IsTruncated"] is True and len(first["Uploads"]) == 2
    rest = s3.list_multipart_uploads(Bucket=bucket, KeyMarker=first["NextKeyMarker"], UploadIdMarker=first["NextUploadIdMarker"])
    assert len(rest["Uploads"]) == 2 and rest["IsTruncated"] is False
    s3.abort_multipart_upload(Bucket=bucket, Key="b/1", UploadId=ids[3])
    assert [item["Key"] for item in s3.list_multipart_uploads(Bucket=bucket, Prefix="b/").get("Uploads", [])] == []


def test_delete_objects_checks_content_md5(s3, bucket, fresh):
    s3.put_object(Bucket=bucket, Key="stays", Body=b"1")
    # The collection's client: it sends the Content-MD5 given, so a wrong one can be signed.
    from ansible_collections.cfops.cloudflare.plugins.module_utils._s3 import S3Client  # noqa: PLC0415
    client = S3Client(fresh.s3_url, *key_pair(fresh), max_retries=0)
    try:
        document = b"<Delete><Object><Key>stays</Key></Object></Delete>"
        response = client.request("POST", bucket, query={"delete": ""}, body=document, expect=(200, 400),
                                  headers={"Content-MD5": base64.b64encode(hashlib.md5(b"other").digest()).decode()})
        assert response.status_code == 400 and b"BadDigest" in response.content
        client.delete_objects(bucket, ["stays", "never-there"])
    finally:
        client.close()
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_boto3_managed_multipart_transfer(s3, bucket):
    data = bytes(range(251)) * (12 * MIB // 251)
    config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    s3.upload_fileobj(io.BytesIO(data), bucket, "managed", Config=config)
    assert s3.head_object(Bucket=bucket, Key="managed")["ETag"].endswith('-3"')
    out = io.BytesIO()
    s3.download_fileobj(bucket, "managed", out, Config=config)
    assert out.getvalue() == data


def test_presigned_urls(s3, bucket):
    s3.put_object(Bucket=bucket, Key="shared.txt", Body=b"shared")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "shared.txt"}, ExpiresIn=60)
    assert httpx.get(url).content == b"shared"
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "uploaded.txt"}, ExpiresIn=60)
    assert httpx.put(put_url, content=b"via url").status_code == 200
    assert s3.get_object(Bucket=bucket, Key="uploaded.txt")["Body"].read() == b"via url"
    assert httpx.get(url.replace("Signature=", "Signature=0")).status_code == 403


def test_wrong_secret_is_signature_does_not_match(fresh, bucket):
    access_key_id, _secret = key_pair(fresh)
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        s3_client(fresh, access_key_id, "0" * 64).list_objects_v2(Bucket=bucket)
    assert error_code(excinfo) == "SignatureDoesNotMatch"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_unknown_access_key_is_invalid_access_key_id(fresh, bucket):
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        s3_client(fresh, "f" * 32, "0" * 64).put_object(Bucket=bucket, Key="never", Body=b"x")
    assert error_code(excinfo) == "InvalidAccessKeyId"
    assert s3_client(fresh).list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_a_token_of_another_account_is_denied(fresh, bucket):
    fresh.add_account("0" * 32, "other")
    fresh.add_token("other-account-token", "0" * 32)
    access_key_id, secret = key_pair(fresh, "other-account-token")
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        s3_client(fresh, access_key_id, secret).list_objects_v2(Bucket=bucket)
    assert error_code(excinfo) == "AccessDenied"


def test_s3_calls_are_counted_as_reads_and_writes(s3, bucket, fresh):
    fresh.reset_calls()
    s3.put_object(Bucket=bucket, Key="counted", Body=b"1")
    s3.head_object(Bucket=bucket, Key="counted")
    calls = fresh.calls()
    assert (calls["reads"], calls["writes"]) == (1, 1)
    assert {call["route"] for call in calls["calls"]} == {"s3:PutObject", "s3:HeadObject"}


def _memory_kib(pid, field):
    with open("/proc/%d/status" % pid, encoding="ascii") as status:
        return int(next(line for line in status if line.startswith(field + ":")).split()[1])


def test_s3_calls_go_through_fault_injection(s3, bucket, fresh):
    # Each fault covers boto3's attempt and the one retry this client makes (max_attempts 1).
    s3.put_object(Bucket=bucket, Key="kept", Body=b"v1")
    fresh.inject_fault(method="PUT", path="s3:PutObject", action="status", status=503, retry_after=2, count=2)
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="kept", Body=b"v2")
    assert error_code(excinfo) == "SlowDown"
    assert excinfo.value.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "2"
    assert s3.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"v1"  # not applied
    # A glob on the S3 path, applied before the answer: the ambiguous failure of a write.
    fresh.inject_fault(method="PUT", path="/r2-s3/*/%s/applied" % bucket, action="status", status=500, apply=True, count=2)
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="applied", Body=b"written")
    assert error_code(excinfo) == "InternalError"
    assert s3.get_object(Bucket=bucket, Key="applied")["Body"].read() == b"written"
    fresh.inject_fault(method="GET", path="s3:GetObject", action="drop", count=2)
    with pytest.raises(botocore.exceptions.BotoCoreError):
        s3.get_object(Bucket=bucket, Key="kept")["Body"].read()
    assert s3.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"v1"  # the connection is reusable after
    assert fresh.calls()["faulted"] == 6 and fresh.faults() == []


def test_api_patterns_never_fault_s3_calls_and_s3_patterns_never_fault_the_api(s3, bucket, fresh):
    fresh.inject_fault(path="*", action="status", status=500, count=5)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    fresh.clear_faults()
    fresh.inject_fault(path="s3:*", action="status", status=500, count=5)
    verified = httpx.get(fresh.base_url + "/user/tokens/verify", headers={"Authorization": "Bearer " + fresh.token})
    assert verified.status_code == 200
    with pytest.raises(botocore.exceptions.ClientError):
        s3.list_objects_v2(Bucket=bucket)


def test_a_large_object_streams(s3, bucket, fresh, tmp_path):
    """64 MiB up and down without the emulator holding it: its peak resident memory grows far less than the size.

    Measured as the growth of the peak (VmHWM) over the resident memory before the transfer, so what
    other tests left behind in the shared emulator does not count."""
    import os
    path = tmp_path / "large.bin"
    with open(path, "wb") as handle:
        for _megabyte in range(64):
            handle.write(os.urandom(MIB))
    # Reset the emulator's peak-RSS mark to its current RSS (Linux: "5" > clear_refs), so only this transfer counts.
    with open("/proc/%d/clear_refs" % fresh._process.pid, "w", encoding="ascii") as clear_refs:
        clear_refs.write("5")
    resident_before = _memory_kib(fresh._process.pid, "VmRSS")
    s3.upload_file(str(path), bucket, "large.bin", Config=TransferConfig(multipart_threshold=1024 * MIB))
    out = tmp_path / "large.out"
    s3.download_file(bucket, "large.bin", str(out))
    assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(path.read_bytes()).digest()
    growth_kib = _memory_kib(fresh._process.pid, "VmHWM") - resident_before
    assert growth_kib < 24 * 1024, "the emulator's peak memory grew by %d KiB for a 64 MiB object" % growth_kib
