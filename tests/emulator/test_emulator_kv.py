"""Workers KV: namespaces, keys, values, metadata, bulk endpoints, paging and limits."""
import base64
import json
import sqlite3
import time
from urllib.parse import quote

import pytest

from tests.emulator.helpers import create_namespace, error_codes


def ns_path(account_id, namespace_id="", *rest):
    path = "/accounts/%s/storage/kv/namespaces" % account_id
    if namespace_id:
        path += "/" + namespace_id
    return path + "".join("/" + quote(part, safe="") for part in rest)


@pytest.fixture
def namespace(api, account_id):
    return create_namespace(api, account_id, "kv-tests")


# Namespaces ----------------------------------------------------------------------------------------------

def test_namespace_create_get_rename_delete(api, account_id):
    created = api.post(ns_path(account_id), json={"title": "first"}).json()["result"]
    assert len(created["id"]) == 32 and int(created["id"], 16) >= 0
    assert created == {"id": created["id"], "title": "first", "supports_url_encoding": True}
    assert api.get(ns_path(account_id, created["id"])).json()["result"] == created
    renamed = api.put(ns_path(account_id, created["id"]), json={"title": "second"}).json()["result"]
    assert renamed["title"] == "second"
    assert api.delete(ns_path(account_id, created["id"])).status_code == 200
    missing = api.get(ns_path(account_id, created["id"]))
    assert missing.status_code == 404
    assert missing.json()["errors"] == [{"code": 10013, "message": "namespace not found"}]


def test_duplicate_title_is_400_code_10014(api, account_id):
    create_namespace(api, account_id, "twice")
    response = api.post(ns_path(account_id), json={"title": "twice"})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"code": 10014, "message": "a namespace with this account ID and title already exists"}]
    other = create_namespace(api, account_id, "other")
    assert api.put(ns_path(account_id, other), json={"title": "twice"}).status_code == 400


def test_missing_title_is_rejected(unchecked, account_id):
    response = unchecked.post(ns_path(account_id), json={})
    assert response.status_code == 400
    assert error_codes(response) == [10019]


def test_namespace_list_pages_with_page_and_per_page(api, account_id):
    titles = ["ns-%02d" % index for index in range(12)]
    for title in titles:
        create_namespace(api, account_id, title)
    seen = []
    for page in (1, 2, 3):
        body = api.get(ns_path(account_id), params={"page": page, "per_page": 5}).json()
        assert body["result_info"] == {"page": page, "per_page": 5, "count": len(body["result"]),
                                       "total_count": 12, "total_pages": 3}
        seen += [ns["title"] for ns in body["result"]]
    assert seen == titles
    desc = api.get(ns_path(account_id), params={"per_page": 100, "order": "title", "direction": "desc"}).json()["result"]
    assert [ns["title"] for ns in desc] == titles[::-1]
    default = api.get(ns_path(account_id)).json()["result_info"]
    assert default["per_page"] == 20


def test_namespace_per_page_bounds(unchecked, account_id):
    # wrangler's "kv namespace list" asks for per_page=1000 (kv/index.ts), which the live API takes.
    taken = unchecked.get(ns_path(account_id), params={"per_page": 1000, "order": "title", "direction": "asc"})
    assert taken.status_code == 200 and taken.json()["result_info"]["per_page"] == 1000
    assert unchecked.get(ns_path(account_id), params={"per_page": 1001}).status_code == 400
    assert unchecked.get(ns_path(account_id), params={"per_page": 4}).status_code == 400


# Values and metadata ----------------------------------------------------------------------------------------

def test_raw_value_round_trip_with_an_url_encoded_key(api, account_id, namespace):
    key = "dir/sub file?x=1&y=ü"
    body = bytes(range(256))
    put = api.put(ns_path(account_id, namespace, "values", key), content=body,
                  headers={"Content-Type": "application/octet-stream"})
    assert put.status_code == 200
    got = api.get(ns_path(account_id, namespace, "values", key))
    assert got.content == body
    assert got.headers["content-type"] == "application/octet-stream"
    keys = api.get(ns_path(account_id, namespace, "keys")).json()["result"]
    assert keys == [{"name": key}]


def test_multipart_value_with_metadata_and_ttl(api, account_id, namespace):
    response = api.put(ns_path(account_id, namespace, "values", "k"), params={"expiration_ttl": 120},
                       files={"value": (None, "v1"), "metadata": (None, json.dumps({"owner": "tests"}))})
    assert response.status_code == 200, response.text
    assert api.get(ns_path(account_id, namespace, "values", "k")).text == "v1"
    assert api.get(ns_path(account_id, namespace, "metadata", "k")).json()["result"] == {"owner": "tests"}
    listed = api.get(ns_path(account_id, namespace, "keys")).json()["result"][0]
    assert listed["metadata"] == {"owner": "tests"}
    assert abs(listed["expiration"] - (time.time() + 120)) < 10


def test_a_plain_put_replaces_value_and_drops_metadata(api, account_id, namespace):
    api.put(ns_path(account_id, namespace, "values", "k"), files={"value": (None, "v1"), "metadata": (None, '{"a": 1}')})
    api.put(ns_path(account_id, namespace, "values", "k"), content=b"v2", headers={"Content-Type": "text/plain"})
    assert api.get(ns_path(account_id, namespace, "values", "k")).text == "v2"
    assert api.get(ns_path(account_id, namespace, "keys")).json()["result"] == [{"name": "k"}]


def test_missing_key_is_404_code_10009_and_delete_is_idempotent(api, account_id, namespace):
    for kind in ("values", "metadata"):
        response = api.get(ns_path(account_id, namespace, kind, "nope"))
        assert response.status_code == 404
        assert response.json()["errors"] == [{"code": 10009, "message": "get: 'key not found'"}]
    assert api.delete(ns_path(account_id, namespace, "values", "nope")).status_code == 200


def test_values_in_an_unknown_namespace_are_404(api, account_id):
    response = api.get(ns_path(account_id, "0" * 32, "values", "k"))
    assert response.status_code == 404
    assert error_codes(response) == [10013]


def test_expired_keys_vanish(fresh, api, account_id, namespace):
    api.put(ns_path(account_id, namespace, "values", "short"), params={"expiration_ttl": 60}, content=b"x",
            headers={"Content-Type": "text/plain"})
    api.put(ns_path(account_id, namespace, "values", "long"), content=b"y", headers={"Content-Type": "text/plain"})
    # White box: move the key's expiry into the past rather than wait a minute.
    with sqlite3.connect(fresh.data_dir + "/state.sqlite3", timeout=10) as db:
        db.execute("UPDATE kv_entries SET expiration = ? WHERE key = 'short'", (int(time.time()) - 1,))
    assert api.get(ns_path(account_id, namespace, "values", "short")).status_code == 404
    assert [k["name"] for k in api.get(ns_path(account_id, namespace, "keys")).json()["result"]] == ["long"]
    got = api.post(ns_path(account_id, namespace, "bulk", "get"), json={"keys": ["short", "long"]}).json()["result"]
    assert got == {"values": {"short": None, "long": "y"}}


# Limits ------------------------------------------------------------------------------------------------------

def test_key_longer_than_512_bytes_is_rejected(unchecked, account_id, namespace):
    response = unchecked.put(ns_path(account_id, namespace, "values", "é" * 257), content=b"x",
                             headers={"Content-Type": "text/plain"})
    assert response.status_code == 414
    assert response.json()["errors"] == [{"code": 10022, "message": "UTF-8 encoded length of 514 exceeds key length limit of 512."}]
    ok = unchecked.put(ns_path(account_id, namespace, "values", "k" * 512), content=b"x", headers={"Content-Type": "text/plain"})
    assert ok.status_code == 200


def test_value_larger_than_25_mib_is_413(api, account_id, namespace):
    limit = 25 * 1024 * 1024
    assert api.put(ns_path(account_id, namespace, "values", "big"), content=b"x" * limit,
                   headers={"Content-Type": "application/octet-stream"}).status_code == 200
    response = api.put(ns_path(account_id, namespace, "values", "too-big"), content=b"x" * (limit + 1),
                       headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 413
    assert error_codes(response) == [10024]


def test_metadata_over_1024_bytes_is_413(api, account_id, namespace):
    too_big = json.dumps({"m": "x" * 1020})
    response = api.put(ns_path(account_id, namespace, "values", "k"), files={"value": (None, "v"), "metadata": (None, too_big)})
    assert response.status_code == 413
    assert error_codes(response) == [10030]
    bulk = api.put(ns_path(account_id, namespace, "bulk"), json=[{"key": "k", "value": "v", "metadata": {"m": "x" * 1020}}])
    assert bulk.status_code == 413


def test_expiration_ttl_below_60_and_past_expirations_are_rejected(api, account_id, namespace):
    response = api.put(ns_path(account_id, namespace, "values", "k"), params={"expiration_ttl": 59}, content=b"v",
                       headers={"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert error_codes(response) == [10033]
    past = api.put(ns_path(account_id, namespace, "bulk"), json=[{"key": "k", "value": "v", "expiration": int(time.time())}])
    assert past.status_code == 400
    assert api.get(ns_path(account_id, namespace, "keys")).json()["result"] == []


# Keys paging ----------------------------------------------------------------------------------------------------

def test_keys_page_with_a_cursor_and_filter_by_prefix(api, account_id, namespace):
    names = ["item-%04d" % index for index in range(2300)] + ["other-%d" % index for index in range(20)]
    api.put(ns_path(account_id, namespace, "bulk"), json=[{"key": name, "value": "v"} for name in names])
    seen, cursor, pages = [], None, 0
    while True:
        params = {"cursor": cursor} if cursor else {}
        body = api.get(ns_path(account_id, namespace, "keys"), params=params).json()
        pages += 1
        assert body["result_info"]["count"] == len(body["result"])
        seen += [key["name"] for key in body["result"]]
        cursor = body["result_info"]["cursor"]
        if not cursor:
            break
    assert pages == 3 and seen == sorted(names)
    small = api.get(ns_path(account_id, namespace, "keys"), params={"prefix": "other-", "limit": 10}).json()
    assert [k["name"] for k in small["result"]] == sorted("other-%d" % index for index in range(20))[:10]
    rest = api.get(ns_path(account_id, namespace, "keys"),
                   params={"prefix": "other-", "limit": 10, "cursor": small["result_info"]["cursor"]}).json()
    assert len(rest["result"]) == 10 and rest["result_info"]["cursor"] == ""


def test_keys_limit_bounds(unchecked, account_id, namespace):
    assert unchecked.get(ns_path(account_id, namespace, "keys"), params={"limit": 9}).status_code == 400
    assert unchecked.get(ns_path(account_id, namespace, "keys"), params={"limit": 1001}).status_code == 400


# Bulk ------------------------------------------------------------------------------------------------------------

def test_bulk_write_get_and_delete(api, account_id, namespace):
    items = [
        {"key": "text", "value": "plain"},
        {"key": "binary", "value": base64.b64encode(b"\x00\xff").decode(), "base64": True},
        {"key": "json", "value": json.dumps({"n": 1}), "metadata": {"kind": "json"}, "expiration_ttl": 3600},
    ]
    written = api.put(ns_path(account_id, namespace, "bulk"), json=items).json()["result"]
    assert written == {"successful_key_count": 3, "unsuccessful_keys": []}
    assert api.get(ns_path(account_id, namespace, "values", "binary")).content == b"\x00\xff"

    text = api.post(ns_path(account_id, namespace, "bulk", "get"), json={"keys": ["text", "json", "absent"]}).json()
    assert text["result"] == {"values": {"text": "plain", "json": '{"n": 1}', "absent": None}}
    parsed = api.post(ns_path(account_id, namespace, "bulk", "get"),
                      json={"keys": ["json"], "type": "json", "withMetadata": True}).json()["result"]["values"]["json"]
    assert parsed["value"] == {"n": 1} and parsed["metadata"] == {"kind": "json"} and parsed["expiration"] > time.time()

    deleted = api.post(ns_path(account_id, namespace, "bulk", "delete"), json=["text"]).json()["result"]
    assert deleted["successful_key_count"] == 1
    api.request("DELETE", ns_path(account_id, namespace, "bulk"), json=["binary"])
    assert [k["name"] for k in api.get(ns_path(account_id, namespace, "keys")).json()["result"]] == ["json"]


def test_bulk_limits(api, unchecked, account_id, namespace):
    too_many = [{"key": "k%d" % index, "value": "v"} for index in range(10_001)]
    response = api.put(ns_path(account_id, namespace, "bulk"), json=too_many)
    assert response.status_code == 413
    assert error_codes(response) == [10031]
    assert api.put(ns_path(account_id, namespace, "bulk"), json=too_many[:10_000]).status_code == 200
    long_key = unchecked.put(ns_path(account_id, namespace, "bulk"), json=[{"key": "k" * 513, "value": "v"}])
    assert long_key.status_code == 400 and error_codes(long_key) == [10022]
    not_a_string = unchecked.put(ns_path(account_id, namespace, "bulk"), json=[{"key": "k", "value": 1}])
    assert not_a_string.status_code == 400
    too_many_gets = unchecked.post(ns_path(account_id, namespace, "bulk", "get"), json={"keys": ["k"] * 101})
    assert too_many_gets.status_code == 400
    too_many_deletes = api.post(ns_path(account_id, namespace, "bulk", "delete"), json=["k"] * 10_001)
    assert too_many_deletes.status_code == 413


def test_deleting_a_namespace_deletes_its_keys(api, account_id):
    first = create_namespace(api, account_id, "goes")
    api.put(ns_path(account_id, first, "bulk"), json=[{"key": "k", "value": "v"}])
    api.delete(ns_path(account_id, first))
    again = create_namespace(api, account_id, "goes")
    assert again != first
    assert api.get(ns_path(account_id, again, "keys")).json()["result"] == []


def test_bad_bodies_cursors_and_key_names_have_their_codes(unchecked, account_id, namespace):
    bad_item = unchecked.put(ns_path(account_id, namespace, "bulk"), json=[{"key": "k"}])
    assert bad_item.status_code == 400 and error_codes(bad_item) == [10011]
    bad_cursor = unchecked.get(ns_path(account_id, namespace, "keys"), params={"cursor": "__4"})  # not UTF-8 once decoded
    assert bad_cursor.status_code == 400 and error_codes(bad_cursor) == [10011]
    dot = unchecked.put(ns_path(account_id, namespace) + "/values/%2E%2E", content=b"x")
    assert dot.status_code == 400 and error_codes(dot) == [10020]
