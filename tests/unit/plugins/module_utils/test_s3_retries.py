"""The S3 client on the shared retry policy, against a real local HTTP server whose answers each test scripts:
Retry-After, backoff with jitter, bounded retries and time, check-mode guard, and no blind resend of a POST
(CreateMultipartUpload, CompleteMultipartUpload, DeleteObjects) after an ambiguous failure."""
import hashlib

import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils._s3 import S3Client, S3Error, multipart_etag
from ansible_collections.cfops.cloudflare.tests.unit.plugins.module_utils.fake_s3 import FakeS3


def xml_error(code, status):
    return status, {"Content-Type": "application/xml"}, ("<Error><Code>%s</Code><Message>m</Message></Error>" % code).encode()


OK = (200, {}, b"")


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


@pytest.fixture
def fake():
    servers = []

    def make(answer):
        server = FakeS3(answer)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def client(server, sleeps, **kwargs):
    kwargs.setdefault("max_retries", 4)
    return S3Client(server.url, "key-id", "secret", sleep=sleeps, jitter=lambda: 0.5, now=lambda: 1_000_000.0, **kwargs)


def scripted(*answers):
    """An answer function giving ``answers`` in order, then 200."""
    queue = list(answers)
    return lambda seen: queue.pop(0) if queue else OK


def test_slow_down_waits_for_retry_after_then_succeeds(fake):
    server = fake(scripted((503, {"Retry-After": "7", "Content-Type": "application/xml"},
                            b"<Error><Code>SlowDown</Code><Message>reduce</Message></Error>")))
    sleeps = Sleeps()
    s3 = client(server, sleeps)
    assert s3.request("GET", "b", "k").status_code == 200
    assert sleeps == [7.0]
    assert s3.calls == {"reads": 2, "writes": 0}


def test_server_errors_back_off_with_jitter_and_a_put_is_resent(fake):
    server = fake(scripted(xml_error("InternalError", 500), xml_error("InternalError", 502)))
    sleeps = Sleeps()
    s3 = client(server, sleeps)
    s3.request("PUT", "b", "k", body=b"data")
    # full jitter (0.5 of 0.5 * 2^n): 0.25, then 0.5
    assert sleeps == [0.25, 0.5]
    assert [seen.method for seen in server.seen] == ["PUT"] * 3


def test_retries_stop_at_max_retries_and_say_so(fake):
    server = fake(lambda seen: xml_error("InternalError", 500))
    s3 = client(server, Sleeps(), max_retries=2)
    with pytest.raises(S3Error, match="stopping after 2 retries: GET s3://b/k failed with HTTP 500 InternalError"):
        s3.request("GET", "b", "k")
    assert len(server.seen) == 3


def test_total_wait_is_bounded_by_max_retry_time(fake):
    server = fake(lambda seen: (429, {"Retry-After": "30"}, b""))
    sleeps = Sleeps()
    s3 = client(server, sleeps, max_retries=10, max_retry_time=45)
    with pytest.raises(S3Error, match="stopping after 1 retries"):
        s3.request("GET", "b", "k")
    assert sleeps == [30.0]


def test_request_timeout_400_is_retried_but_other_400s_are_not(fake):
    server = fake(scripted(xml_error("RequestTimeout", 400), OK, xml_error("InvalidArgument", 400)))
    s3 = client(server, Sleeps())
    s3.request("PUT", "b", "k", body=b"x")
    with pytest.raises(S3Error, match="InvalidArgument"):
        s3.request("PUT", "b", "k", body=b"x")
    assert len(server.seen) == 3


def test_writes_are_refused_before_sending_in_check_mode(fake):
    server = fake(scripted())
    s3 = client(server, Sleeps())
    s3.writes_allowed = False
    for method in ("PUT", "POST", "DELETE"):
        with pytest.raises(S3Error, match="writes are disabled"):
            s3.request(method, "b", "k", body=b"")
    s3.request("GET", "b", "k")
    assert [seen.method for seen in server.seen] == ["GET"]


def test_a_post_is_not_resent_after_an_ambiguous_failure_without_a_way_to_check(fake):
    server = fake(lambda seen: xml_error("InternalError", 500))
    s3 = client(server, Sleeps())
    with pytest.raises(S3Error, match="not retried because the request may have been applied"):
        s3.request("POST", "b", "k", query={"uploads": ""}, body=b"")
    assert len(server.seen) == 1


def test_throttled_post_is_resent_because_it_was_not_applied(fake):
    server = fake(scripted((429, {}, b""), (200, {}, b"<R><UploadId>u1</UploadId></R>")))
    s3 = client(server, Sleeps())
    assert s3.request("POST", "b", "k", query={"uploads": ""}, body=b"").status_code == 200
    assert len(server.seen) == 2


UPLOADS_NONE = b"<ListMultipartUploadsResult><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>"
UPLOADS_ONE = (b"<ListMultipartUploadsResult><IsTruncated>false</IsTruncated><Upload><Key>k</Key><UploadId>made</UploadId>"
               b"<Initiated>2026-01-01T00:00:00.000Z</Initiated></Upload></ListMultipartUploadsResult>")


def test_create_multipart_upload_adopts_the_upload_an_ambiguous_failure_made(fake):
    listings = [UPLOADS_NONE, UPLOADS_ONE]

    def answer(seen):
        if seen.method == "GET" and "uploads" in seen.query:
            return 200, {}, listings.pop(0)
        return xml_error("InternalError", 500)  # applied, but the answer was lost

    server = fake(answer)
    s3 = client(server, Sleeps())
    assert s3.create_multipart_upload("b", "k", {}) == "made"
    assert server.operations() == ["GET /b?max-uploads&prefix&uploads", "POST /b/k?uploads",
                                   "GET /b?max-uploads&prefix&uploads"]


def test_create_multipart_upload_is_sent_again_when_nothing_was_made(fake):
    posts = [xml_error("InternalError", 500), (200, {}, b"<R><UploadId>second</UploadId></R>")]

    def answer(seen):
        if seen.method == "GET":
            return 200, {}, UPLOADS_NONE
        return posts.pop(0)

    server = fake(answer)
    s3 = client(server, Sleeps())
    assert s3.create_multipart_upload("b", "k", {}) == "second"
    assert [seen.method for seen in server.seen] == ["GET", "POST", "GET", "POST"]


ETAGS = [hashlib.md5(b"one").hexdigest(), hashlib.md5(b"two").hexdigest()]


def test_complete_is_not_resent_when_the_object_shows_it_completed(fake):
    def answer(seen):
        if seen.method == "POST":
            return xml_error("InternalError", 500)
        if seen.method == "HEAD":
            return 200, {"ETag": '"%s"' % multipart_etag(ETAGS), "x-amz-meta-sha256": "abc"}, b""
        raise AssertionError(seen.operation)

    server = fake(answer)
    s3 = client(server, Sleeps())
    assert s3.complete_multipart_upload("b", "k", "u1", ETAGS, expected_sha256="abc") == multipart_etag(ETAGS)
    assert [seen.method for seen in server.seen] == ["POST", "HEAD"]


def test_complete_is_resent_when_the_upload_still_lists_its_parts(fake):
    posts = [xml_error("InternalError", 500),
             (200, {}, ("<CompleteMultipartUploadResult><ETag>\"%s\"</ETag></CompleteMultipartUploadResult>"
                        % multipart_etag(ETAGS)).encode())]

    def answer(seen):
        if seen.method == "POST":
            return posts.pop(0)
        if seen.method == "HEAD":
            return 404, {}, b""
        return 200, {}, b"<ListPartsResult><IsTruncated>false</IsTruncated><Part><PartNumber>1</PartNumber></Part></ListPartsResult>"

    server = fake(answer)
    s3 = client(server, Sleeps())
    assert s3.complete_multipart_upload("b", "k", "u1", ETAGS) == multipart_etag(ETAGS)
    assert [seen.method for seen in server.seen] == ["POST", "HEAD", "GET", "POST"]


def test_complete_fails_clearly_when_the_upload_vanished_and_the_object_is_not_it(fake):
    def answer(seen):
        if seen.method == "POST":
            return xml_error("InternalError", 500)
        if seen.method == "HEAD":
            return 200, {"ETag": '"other"'}, b""
        return xml_error("NoSuchUpload", 404)

    s3 = client(fake(answer), Sleeps())
    with pytest.raises(S3Error, match="the upload is gone, but the object is not this upload"):
        s3.complete_multipart_upload("b", "k", "u1", ETAGS)


def test_delete_objects_after_an_ambiguous_failure_sends_only_the_keys_still_there(fake):
    bodies = []

    def answer(seen):
        if seen.method == "POST":
            bodies.append(seen.body)
            assert seen.headers["content-md5"]
            return xml_error("InternalError", 500) if len(bodies) == 1 else (200, {}, b"<DeleteResult/>")
        # The first attempt deleted a/1 and a/2 but not a/3.
        return 200, {}, (b"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a/3</Key><Size>1</Size>"
                         b"</Contents><Contents><Key>a/4-not-asked</Key><Size>1</Size></Contents></ListBucketResult>")

    server = fake(answer)
    s3 = client(server, Sleeps())
    s3.delete_objects("b", ["a/1", "a/2", "a/3"])
    assert b"a/1" in bodies[0] and b"a/3" in bodies[0]
    assert b"a/3" in bodies[1] and b"a/1" not in bodies[1] and b"a/4" not in bodies[1]
    assert [seen.method for seen in server.seen] == ["POST", "GET", "POST"]


def test_delete_objects_is_done_when_nothing_is_left(fake):
    def answer(seen):
        if seen.method == "POST":
            return xml_error("InternalError", 500)
        return 200, {}, b"<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>"

    server = fake(answer)
    client(server, Sleeps()).delete_objects("b", ["x", "y"])
    assert [seen.method for seen in server.seen] == ["POST", "GET"]


def test_delete_objects_reports_keys_r2_refused(fake):
    refusal = b"<DeleteResult><Error><Key>x</Key><Code>AccessDenied</Code><Message>no</Message></Error></DeleteResult>"
    server = fake(lambda seen: (200, {}, refusal))
    with pytest.raises(S3Error, match="refused 1 key"):
        client(server, Sleeps()).delete_objects("b", ["x"])


def test_a_refused_connection_is_retried_then_reported(fake):
    s3 = client(fake(scripted()), Sleeps())
    # A port with nothing listening: the connection is refused before anything is sent (retried, then it fails).
    s3.endpoint_url = "http://127.0.0.1:1"
    with pytest.raises(S3Error, match="stopping after 4 retries: GET s3://b/k failed: ConnectError"):
        s3.request("GET", "b", "k")


def test_a_key_with_dot_segments_is_refused_before_sending(fake):
    server = fake(scripted())
    s3 = client(server, Sleeps())
    with pytest.raises(S3Error, match="cannot be addressed in a URL"):
        s3.head_object("b", "a/../../etc/passwd")
    assert server.seen == []
