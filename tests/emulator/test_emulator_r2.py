"""R2 buckets through the v4 API: names, location, storage class, jurisdiction, CORS, lifecycle, paging."""
import pytest

from tests.emulator.helpers import error_codes

CORS_RULES = [{"allowed": {"methods": ["GET", "PUT"], "origins": ["https://books.example.com"], "headers": ["content-type"]},
               "exposeHeaders": ["etag"], "maxAgeSeconds": 3600, "id": "browser-uploads"}]
LIFECYCLE_RULES = [{"id": "expire-tmp", "enabled": True, "conditions": {"prefix": "tmp/"},
                    "deleteObjectsTransition": {"condition": {"type": "Age", "maxAge": 604800}}},
                   {"id": "cold", "enabled": False, "conditions": {"prefix": ""},
                    "storageClassTransitions": [{"condition": {"type": "Age", "maxAge": 2592000}, "storageClass": "InfrequentAccess"}],
                    "abortMultipartUploadsTransition": {"condition": {"type": "Age", "maxAge": 86400}}}]


def buckets(account_id, *rest):
    return "/accounts/%s/r2/buckets" % account_id + "".join("/" + part for part in rest)


def create(api, account_id, name, **body):
    response = api.post(buckets(account_id), json=dict(body, name=name))
    assert response.status_code == 200, response.text
    return response.json()["result"]


def test_create_get_delete(api, account_id):
    created = create(api, account_id, "books-cache", locationHint="weur", storageClass="InfrequentAccess")
    assert created["name"] == "books-cache"
    assert created["location"] == "weur"
    assert created["storage_class"] == "InfrequentAccess"
    assert created["jurisdiction"] == "default"
    assert created["creation_date"].endswith("Z")
    assert api.get(buckets(account_id, "books-cache")).json()["result"] == created
    assert api.delete(buckets(account_id, "books-cache")).status_code == 200
    missing = api.get(buckets(account_id, "books-cache"))
    assert missing.status_code == 404
    assert missing.json()["errors"] == [{"code": 10006, "message": "The specified bucket does not exist."}]


def test_defaults_are_enam_and_standard(api, account_id):
    created = create(api, account_id, "plain-bucket")
    assert (created["location"], created["storage_class"]) == ("enam", "Standard")


@pytest.mark.parametrize("name", ["ab", "a" * 64, "Books", "books_cache", "-books", "books-", "books.cache", ""])
def test_invalid_bucket_names_are_rejected_with_10005(unchecked, account_id, name):
    response = unchecked.post(buckets(account_id), json={"name": name})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"code": 10005, "message": "The specified bucket name is not valid."}]


def test_longest_and_shortest_names_are_valid(api, account_id):
    create(api, account_id, "abc")
    create(api, account_id, "a" * 63)


def test_bad_location_and_storage_class(unchecked, account_id):
    assert error_codes(unchecked.post(buckets(account_id), json={"name": "where", "locationHint": "mars"})) == [10085]
    assert error_codes(unchecked.post(buckets(account_id), json={"name": "what", "storageClass": "Glacier"})) == [10086]


def test_duplicate_name_is_409_code_10004(api, account_id):
    create(api, account_id, "twice")
    response = api.post(buckets(account_id), json={"name": "twice"})
    assert response.status_code == 409
    assert error_codes(response) == [10004]


def test_jurisdictions_are_separate_name_spaces(api, account_id):
    create(api, account_id, "same-name")
    response = api.post(buckets(account_id), json={"name": "same-name"}, headers={"cf-r2-jurisdiction": "eu"})
    assert response.status_code == 200
    assert response.json()["result"]["jurisdiction"] == "eu"
    eu = api.get(buckets(account_id), headers={"cf-r2-jurisdiction": "eu"}).json()["result"]["buckets"]
    assert [bucket["jurisdiction"] for bucket in eu] == ["eu"]
    api.delete(buckets(account_id, "same-name"), headers={"cf-r2-jurisdiction": "eu"})
    assert api.get(buckets(account_id, "same-name")).status_code == 200


def test_list_pages_with_a_cursor_and_filters(api, account_id):
    names = ["list-%02d" % index for index in range(7)] + ["other-bucket"]
    for name in names:
        create(api, account_id, name)
    seen, cursor = [], None
    while True:
        params = {"per_page": 3, "name_contains": "list-"}
        if cursor:
            params["cursor"] = cursor
        body = api.get(buckets(account_id), params=params).json()
        seen += [bucket["name"] for bucket in body["result"]["buckets"]]
        assert body["result_info"]["per_page"] == 3
        cursor = body["result_info"].get("cursor")
        if not cursor:
            break
    assert seen == names[:7]
    descending = api.get(buckets(account_id), params={"direction": "desc", "per_page": 2}).json()["result"]["buckets"]
    assert [bucket["name"] for bucket in descending] == ["other-bucket", "list-06"]


def test_delete_of_a_non_empty_bucket_is_refused(api, account_id, fresh):
    from tests.emulator.test_emulator_s3 import s3_client  # the same storage as the S3 API
    create(api, account_id, "full-bucket")
    s3_client(fresh).put_object(Bucket="full-bucket", Key="keep.txt", Body=b"keep")
    response = api.delete(buckets(account_id, "full-bucket"))
    assert response.status_code == 409
    assert response.json()["errors"] == [{"code": 10008, "message": "The bucket you tried to delete (full-bucket) is not empty "
                                                                    "(account %s)." % account_id}]
    assert api.get(buckets(account_id, "full-bucket")).status_code == 200


def test_cors_put_get_delete(api, account_id):
    create(api, account_id, "cors-bucket")
    missing = api.get(buckets(account_id, "cors-bucket", "cors"))
    assert missing.status_code == 404 and error_codes(missing) == [10059]
    assert api.put(buckets(account_id, "cors-bucket", "cors"), json={"rules": CORS_RULES}).status_code == 200
    assert api.get(buckets(account_id, "cors-bucket", "cors")).json()["result"] == {"rules": CORS_RULES}
    assert api.delete(buckets(account_id, "cors-bucket", "cors")).status_code == 200
    assert api.get(buckets(account_id, "cors-bucket", "cors")).status_code == 404


def test_cors_rule_with_an_unknown_method_is_rejected(unchecked, account_id, api):
    create(api, account_id, "cors-bad")
    rules = [{"allowed": {"methods": ["PATCH"], "origins": ["*"]}}]
    response = unchecked.put(buckets(account_id, "cors-bad", "cors"), json={"rules": rules})
    assert response.status_code == 400
    assert "rules[0].allowed.methods: 'PATCH' is not one of" in response.json()["errors"][0]["message"]


def test_lifecycle_defaults_then_replaced(api, account_id):
    create(api, account_id, "life-bucket")
    default = api.get(buckets(account_id, "life-bucket", "lifecycle")).json()["result"]["rules"]
    assert [rule["abortMultipartUploadsTransition"]["condition"]["maxAge"] for rule in default] == [604800]
    assert api.put(buckets(account_id, "life-bucket", "lifecycle"), json={"rules": LIFECYCLE_RULES}).status_code == 200
    assert api.get(buckets(account_id, "life-bucket", "lifecycle")).json()["result"] == {"rules": LIFECYCLE_RULES}
    assert api.put(buckets(account_id, "life-bucket", "lifecycle"), json={"rules": []}).status_code == 200
    assert api.get(buckets(account_id, "life-bucket", "lifecycle")).json()["result"] == {"rules": []}


def test_lifecycle_rule_ids_must_be_unique(unchecked, account_id, api):
    create(api, account_id, "life-bad")
    response = unchecked.put(buckets(account_id, "life-bad", "lifecycle"), json={"rules": LIFECYCLE_RULES[:1] * 2})
    assert response.status_code == 400
    assert "is used twice" in response.json()["errors"][0]["message"]


def test_cors_of_a_missing_bucket_is_10006(api, account_id):
    assert error_codes(api.get(buckets(account_id, "no-such-bucket", "cors"))) == [10006]


def test_sdk_creates_lists_and_sets_cors(sdk, account_id):
    bucket = sdk.r2.buckets.create(account_id=account_id, name="sdk-bucket", location_hint="apac")
    assert bucket.location == "apac"
    assert [item.name for item in sdk.r2.buckets.list(account_id=account_id).buckets] == ["sdk-bucket"]
    sdk.r2.buckets.cors.update("sdk-bucket", account_id=account_id,
                               rules=[{"allowed": {"methods": ["GET"], "origins": ["*"]}, "max_age_seconds": 60}])
    rules = sdk.r2.buckets.cors.get("sdk-bucket", account_id=account_id).rules
    assert rules[0].allowed.methods == ["GET"] and rules[0].max_age_seconds == 60


def test_malformed_cors_body_and_unknown_jurisdiction_have_their_codes(unchecked, account_id, api):
    create(api, account_id, "cors-malformed")
    malformed = unchecked.put(buckets(account_id, "cors-malformed", "cors"), json={"rules": "everything"})
    assert malformed.status_code == 400 and error_codes(malformed) == [10040]
    moon = unchecked.get(buckets(account_id), headers={"cf-r2-jurisdiction": "moon"})
    assert moon.status_code == 400 and error_codes(moon) == [10087]
