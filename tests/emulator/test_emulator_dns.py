"""DNS records: CRUD, filters and paging, validation codes, conflicts, batch (order and atomicity), export/import."""
import re

import pytest

from emulator.api.zones import zone_id_for
from tests.emulator.helpers import error_codes


@pytest.fixture
def path(account_id):
    return "/zones/%s/dns_records" % zone_id_for(account_id, "example.com")


def create(api, path, **record):
    response = api.post(path, json=record)
    assert response.status_code == 200, response.text
    return response.json()["result"]


def names(api, path, **query):
    return sorted((r["name"], r["type"], r["content"]) for r in api.get(path, params=query).json()["result"])


def test_create_read_replace_patch_delete(api, path):
    created = create(api, path, type="A", name="www", content="192.0.2.1", ttl=300, comment="web", tags=["team:web"])
    assert (created["name"], created["ttl"], created["proxied"], created["proxiable"]) == ("www.example.com", 300, False, True)
    assert api.get(path + "/" + created["id"]).json()["result"]["content"] == "192.0.2.1"
    replaced = api.put(path + "/" + created["id"], json={"type": "A", "name": "www", "content": "192.0.2.2"}).json()["result"]
    assert (replaced["content"], replaced["ttl"], replaced.get("comment"), replaced["tags"]) == ("192.0.2.2", 1, None, [])
    patched = api.patch(path + "/" + created["id"], json={"proxied": True}).json()["result"]
    assert patched["proxied"] is True and patched["content"] == "192.0.2.2"
    assert api.request("DELETE", path + "/" + created["id"], json={}).json()["result"] == {"id": created["id"]}
    assert error_codes(api.get(path + "/" + created["id"])) == [81044]


def test_names_structured_types_and_normalisation(api, path):
    assert create(api, path, type="AAAA", name="@", content="2001:DB8:0:0::1")["content"] == "2001:db8::1"
    assert create(api, path, type="CNAME", name="Docs.Example.com.", content="Target.Example.net.")["content"] == "target.example.net"
    mx = create(api, path, type="MX", name="example.com", content="mx1.example.net", priority=10)
    assert mx["priority"] == 10 and mx["name"] == "example.com"
    srv = create(api, path, type="SRV", name="_sip._tcp", data={"priority": 1, "weight": 5, "port": 5060, "target": "sip.example.com"})
    assert srv["content"] == "5 5060 sip.example.com" and srv["data"]["priority"] == 1
    caa = create(api, path, type="CAA", name="@", data={"flags": 0, "tag": "issue", "value": "letsencrypt.org"})
    assert caa["content"] == '0 issue "letsencrypt.org"'


@pytest.mark.parametrize("record, code, message", [
    ({"type": "A", "name": "x", "content": "300.1.1.1"}, 9005, "valid IPv4 address"),
    ({"type": "AAAA", "name": "x", "content": "192.0.2.1"}, 9006, "valid IPv6 address"),
    ({"type": "A", "name": "x", "content": "192.0.2.1", "ttl": 10}, 9021, "TTL must be between 60 and 86400"),
    ({"type": "TXT", "name": "x", "content": "hello", "proxied": True}, 9041, "cannot be proxied"),
    ({"type": "A", "name": "www.other.org.", "content": "192.0.2.1"}, 9008, "is not in the zone"),
    ({"type": "MX", "name": "x", "content": "mx.example.net"}, 1004, "priority must be an integer"),
    ({"type": "CNAME", "name": "x", "content": "not a host"}, 9007, "valid hostname"),
    ({"type": "TXT", "name": "x", "content": "a" * 2049}, 1004, "at most 2048 characters"),
    ({"type": "A", "name": "x", "content": "192.0.2.1", "comment": "c" * 101}, 1004, "at most 100 characters"),
    ({"type": "A", "name": "x", "content": "192.0.2.1", "tags": ["bad tag"]}, 1004, "name:value"),
])
def test_validation(unchecked, path, record, code, message):
    response = unchecked.post(path, json=record)
    assert response.status_code == 400 and error_codes(response) == [code], response.text
    assert message in response.json()["errors"][0]["message"]
    assert unchecked.get(path).json()["result"] == []


def test_cname_conflicts_and_duplicates(api, unchecked, path):
    create(api, path, type="A", name="app", content="192.0.2.1")
    assert error_codes(unchecked.post(path, json={"type": "CNAME", "name": "app", "content": "x.example.net"})) == [81053]
    assert error_codes(unchecked.post(path, json={"type": "A", "name": "app", "content": "192.0.2.1"})) == [81058]
    create(api, path, type="CNAME", name="alias", content="x.example.net")
    assert error_codes(unchecked.post(path, json={"type": "TXT", "name": "alias", "content": "v"})) == [81054]
    assert error_codes(unchecked.post(path, json={"type": "A", "name": "alias", "content": "192.0.2.9"})) == [81054]


def test_filters_order_and_paging(api, path):
    for index in range(12):
        create(api, path, type="A", name="h%02d" % index, content="192.0.2.%d" % index, tags=["n:%d" % (index % 2)])
    create(api, path, type="TXT", name="h00", content="hello", comment="keep")
    assert len(api.get(path, params={"per_page": 5000000}).json()["result"]) == 13
    page = api.get(path, params={"per_page": 5, "page": 3, "order": "name"}).json()
    assert page["result_info"] == {"page": 3, "per_page": 5, "count": 3, "total_count": 13, "total_pages": 3}
    assert names(api, path, name="h00.example.com") == [("h00.example.com", "A", "192.0.2.0"), ("h00.example.com", "TXT", "hello")]
    assert names(api, path, type="TXT") == [("h00.example.com", "TXT", "hello")]
    assert len(names(api, path, tag="n:1")) == 6
    assert len(names(api, path, comment="keep", content="192.0.2.3", match="any")) == 2
    first = api.get(path, params={"order": "content", "direction": "desc", "per_page": 1}).json()["result"][0]
    assert first["content"] == "hello"


def test_batch_order_and_atomicity(api, unchecked, path):
    old = create(api, path, type="A", name="app", content="192.0.2.1")
    keep = create(api, path, type="TXT", name="txt", content="one")
    # deletes run first, so the CNAME posted at the same name does not conflict
    body = {"deletes": [{"id": old["id"]}], "patches": [{"id": keep["id"], "content": "two"}],
            "posts": [{"type": "CNAME", "name": "app", "content": "lb.example.net"}]}
    result = api.post(path + "/batch", json=body).json()["result"]
    assert [r["id"] for r in result["deletes"]] == [old["id"]] and result["patches"][0]["content"] == "two"
    assert result["posts"][0]["type"] == "CNAME"
    before = names(api, path)
    bad = {"posts": [{"type": "A", "name": "ok", "content": "192.0.2.5"}, {"type": "A", "name": "bad", "content": "1.2.3"}]}
    response = unchecked.post(path + "/batch", json=bad)
    assert response.status_code == 400 and error_codes(response) == [9005]
    assert response.json()["errors"][0]["message"].startswith("posts[1]: ")
    assert names(api, path) == before  # all or nothing


def test_batch_limit(unchecked, path):
    posts = [{"type": "A", "name": "h%d" % i, "content": "192.0.2.1"} for i in range(201)]
    response = unchecked.post(path + "/batch", json={"posts": posts})
    assert response.status_code == 400 and error_codes(response) == [81060]
    assert "at most 200" in response.json()["errors"][0]["message"]


ZONE_FILE = b"""$ORIGIN example.com.
$TTL 3600
@   IN SOA ns.example.com. admin.example.com. ( 1 7200 3600 1209600 3600 )
@   IN NS  ns1.other.net.
www 300 IN A 192.0.2.10
    IN AAAA 2001:db8::10   ; owner omitted: www again
mail IN MX 10 mx.example.net.
@ IN TXT "v=spf1 include:example.net -all"
_sip._tcp IN SRV 1 5 5060 sip.example.com.
@ IN CAA 0 issue "letsencrypt.org"
"""


def test_import_then_export_round_trip(api, path):
    response = api.post(path + "/import", files={"file": ("zone.txt", ZONE_FILE, "text/plain")})
    assert response.json()["result"] == {"recs_added": 6, "total_records_parsed": 6}
    assert ("www.example.com", "AAAA", "2001:db8::10") in names(api, path)
    again = api.post(path + "/import", files={"file": ("zone.txt", ZONE_FILE, "text/plain")}).json()["result"]
    assert again == {"recs_added": 0, "total_records_parsed": 6}  # identical records are skipped
    exported = api.get(path + "/export")
    assert exported.headers["content-type"].startswith("text/plain")
    text = exported.text
    assert "www.example.com.\t300\tIN\tA\t192.0.2.10" in text
    assert 'example.com.\t3600\tIN\tTXT\t"v=spf1 include:example.net -all"' in text
    assert "IN\tSOA\t" in text
    for record in api.get(path).json()["result"]:
        api.request("DELETE", path + "/" + record["id"], json={})
    response = api.post(path + "/import", files={"file": ("zone.txt", text.encode(), "text/plain")}).json()["result"]
    assert response["recs_added"] == 6


def test_import_proxied_and_bad_file(api, unchecked, path):
    response = api.post(path + "/import", files={"file": ("z", b"www 300 IN A 192.0.2.1\n", "text/plain")},
                        data={"proxied": "true"})
    assert response.json()["result"]["recs_added"] == 1
    assert api.get(path).json()["result"][0]["proxied"] is True
    bad = unchecked.post(path + "/import", files={"file": ("z", b"x IN A 999.1.1.1\ny IN A 192.0.2.3\n", "text/plain")})
    assert bad.status_code == 400 and error_codes(bad) == [9005]
    assert len(api.get(path).json()["result"]) == 1


def test_unknown_zone(unchecked):
    response = unchecked.get("/zones/%s/dns_records" % ("0" * 32))
    assert response.status_code == 404 and error_codes(response) == [1001]


def test_export_starts_with_cloudflares_header_and_the_export_time(api, path):
    """As Cloudflare's export does (pdxruby/pdxruby.github.io#69): ';; Domain:' and ';; Exported: <UTC time>'."""
    text = api.get(path + "/export").text
    assert text.startswith(";;\n;; Domain:     example.com.\n;; Exported:   ")
    assert re.search(r"^;; Exported:   \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", text, re.M)
