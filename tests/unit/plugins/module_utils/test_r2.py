"""R2 bucket names, CORS and lifecycle conversions and comparisons, endpoint and key derivation."""
import hashlib

import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError, CloudflareClient
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._r2 import (
    canonical_cors,
    canonical_lifecycle,
    cors_rules_to_api,
    key_pair_for_token,
    key_pair_from_token,
    lifecycle_rules_to_api,
    s3_endpoint,
    validate_bucket_name,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._r2_objects import same_content
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply, envelope, failure


@pytest.mark.parametrize("name", ["abc", "books-cache-prod", "a" * 63, "0-9"])
def test_valid_bucket_names(name):
    assert validate_bucket_name(name) == name


@pytest.mark.parametrize("name", ["ab", "a" * 64, "Books", "books_cache", "-books", "books-", "books.cache", ""])
def test_invalid_bucket_names_name_the_rule(name):
    with pytest.raises(InvalidInputError, match="is not valid for R2: use 3 to 63 characters"):
        validate_bucket_name(name)


def test_cors_rules_become_the_api_shape_and_compare_ignoring_method_order():
    api = cors_rules_to_api([{"allowed_origins": ["*"], "allowed_methods": ["put", "GET"], "max_age_seconds": 60,
                              "allowed_headers": None, "expose_headers": ["etag"], "id": None}])
    assert api == [{"allowed": {"methods": ["PUT", "GET"], "origins": ["*"]}, "exposeHeaders": ["etag"], "maxAgeSeconds": 60}]
    remote = [{"allowed": {"methods": ["GET", "PUT"], "origins": ["*"], "headers": []}, "exposeHeaders": ["etag"],
               "maxAgeSeconds": 60.0}]
    assert canonical_cors(api) == canonical_cors(remote)
    assert canonical_cors(api) != canonical_cors([dict(remote[0], maxAgeSeconds=61)])


@pytest.mark.parametrize("rule, message", [
    ({"allowed_origins": ["*"], "allowed_methods": ["PATCH"]}, r"cors_rules\[0\].allowed_methods: PATCH not one of"),
    ({"allowed_origins": [], "allowed_methods": ["GET"]}, r"cors_rules\[0\].allowed_origins needs at least one"),
    ({"allowed_origins": ["*"], "allowed_methods": ["GET"], "max_age_seconds": 90000}, "from 0 to 86400"),
])
def test_bad_cors_rules(rule, message):
    with pytest.raises(InvalidInputError, match=message):
        cors_rules_to_api([rule])


def test_lifecycle_rules_in_days_become_seconds_and_compare_with_the_api():
    api = lifecycle_rules_to_api([
        {"id": "tmp", "prefix": "tmp/", "delete_after_days": 7, "enabled": True},
        {"id": "old", "delete_on": "2027-01-31", "abort_multipart_after_days": 1, "infrequent_access_after_days": 30},
    ])
    assert api[0] == {"id": "tmp", "enabled": True, "conditions": {"prefix": "tmp/"},
                      "deleteObjectsTransition": {"condition": {"type": "Age", "maxAge": 604800}}}
    assert api[1]["deleteObjectsTransition"]["condition"] == {"type": "Date", "date": "2027-01-31T00:00:00.000Z"}
    assert api[1]["storageClassTransitions"][0]["condition"]["maxAge"] == 30 * 86400
    remote = [dict(api[1], deleteObjectsTransition={"condition": {"type": "Date", "date": "2027-01-31T00:00:00Z"}}), api[0]]
    assert canonical_lifecycle(api) == canonical_lifecycle(remote)
    assert canonical_lifecycle(api) != canonical_lifecycle([dict(api[0], enabled=False), api[1]])


@pytest.mark.parametrize("rules, message", [
    ([{"id": "x"}], r"lifecycle_rules\[0\] does nothing"),
    ([{"id": "x", "delete_after_days": 1}, {"id": "x", "delete_after_days": 2}], "is used by two rules"),
    ([{"id": "x", "delete_after_days": 0}], "must be at least 1 day"),
    ([{"id": "x", "delete_on": "31/01/2027"}], "must be a date YYYY-MM-DD"),
    ([{"id": "x", "delete_on": "2027-01-31", "delete_after_days": 3}], "not both"),
])
def test_bad_lifecycle_rules(rules, message):
    with pytest.raises(InvalidInputError, match=message):
        lifecycle_rules_to_api(rules)


def test_s3_endpoint_for_cloudflare_and_for_the_emulator():
    assert s3_endpoint("abc", "https://api.cloudflare.com/client/v4") == "https://abc.r2.cloudflarestorage.com"
    assert s3_endpoint("abc", "https://api.cloudflare.com/client/v4", "eu") == "https://abc.eu.r2.cloudflarestorage.com"
    assert s3_endpoint("abc", "http://127.0.0.1:8791/client/v4") == "http://127.0.0.1:8791/r2-s3/abc"


def test_key_pair_is_token_id_and_sha256_of_the_token():
    assert key_pair_from_token("id1", "secret-token") == ("id1", hashlib.sha256(b"secret-token").hexdigest())


def test_same_content_uses_sha256_metadata_else_the_md5_etag():
    md5, sha = "a" * 32, "b" * 64
    assert same_content({"size": 3, "sha256": sha, "etag": "x-2"}, md5, sha, 3)
    assert not same_content({"size": 3, "sha256": "c" * 64, "etag": md5}, md5, sha, 3)
    assert same_content({"size": 3, "sha256": None, "etag": md5}, md5, sha, 3)
    assert not same_content({"size": 3, "sha256": None, "etag": "d" * 32 + "-2"}, md5, sha, 3)
    assert not same_content({"size": 4, "sha256": sha, "etag": md5}, md5, sha, 3)


# The R2 key pair from either kind of API token ------------------------------------------------------------

ACCOUNT = "a" * 32
TOKEN_ID = "e" * 32


@pytest.fixture
def client(server):
    api = CloudflareClient("the-token", base_url=server.base_url, max_retries=0)
    yield api
    api.close()


def verify_paths(server):
    return [request.path.replace("/client/v4", "") for request in server.requests]


def test_an_account_token_is_verified_at_the_account_path_in_one_call(server, client):
    server.script(Reply(200, envelope({"id": TOKEN_ID, "status": "active"})))
    assert key_pair_for_token(client, "the-token", ACCOUNT) == (TOKEN_ID, hashlib.sha256(b"the-token").hexdigest())
    assert verify_paths(server) == ["/accounts/%s/tokens/verify" % ACCOUNT]


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_user_token_refused_at_the_account_path_falls_back_to_the_user_path(server, client, status):
    server.script(failure(status, (1000, "Invalid API Token")), Reply(200, envelope({"id": TOKEN_ID, "status": "active"})))
    assert key_pair_for_token(client, "the-token", ACCOUNT)[0] == TOKEN_ID
    assert verify_paths(server) == ["/accounts/%s/tokens/verify" % ACCOUNT, "/user/tokens/verify"]


def test_a_user_token_that_the_account_path_accepts_needs_one_call(server, client):
    # The alternative the docs leave open: the account path also accepts a user token.
    server.script(Reply(200, envelope({"id": TOKEN_ID, "status": "active"})))
    assert key_pair_for_token(client, "the-token", ACCOUNT)[0] == TOKEN_ID
    assert len(server.requests) == 1


def test_without_an_account_only_the_user_path_is_asked(server, client):
    server.script(Reply(200, envelope({"id": TOKEN_ID, "status": "active"})))
    assert key_pair_for_token(client, "the-token")[0] == TOKEN_ID
    assert verify_paths(server) == ["/user/tokens/verify"]


def test_a_token_refused_at_both_paths_says_so(server, client):
    server.script(failure(401, (1000, "Invalid API Token")), failure(401, (1000, "Invalid API Token")))
    with pytest.raises(CloudflareAPIError, match="refused as an account token and as a user token") as caught:
        key_pair_for_token(client, "the-token", ACCOUNT)
    assert "the-token" not in str(caught.value)


def test_a_server_error_at_the_account_path_is_not_taken_for_a_wrong_token_kind(server, client):
    server.script(failure(500, (10013, "An unknown error has occurred")))
    with pytest.raises(CloudflareAPIError, match="HTTP 500"):
        key_pair_for_token(client, "the-token", ACCOUNT)
    assert len(server.requests) == 1
