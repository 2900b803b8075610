"""DNS record logic: validation messages, record-set plan, exclusive/ignore/threshold, batches, BIND parsing."""
import time

import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils import _bind, _dns
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError

ZONE = "example.com"


def stored(name, rtype, content, record_id=None, **extra):
    record = {"id": record_id or "%s-%s-%s" % (name, rtype, content), "name": _dns.fqdn(name, ZONE), "type": rtype,
              "content": content, "ttl": 1, "proxied": False, "comment": None, "tags": []}
    record.update(extra)
    return record


def want(*records):
    return _dns.check_input(list(records), ZONE)


@pytest.mark.parametrize("record, message", [
    ({"name": "api", "type": "A", "content": "192.0.2.300"}, "records[0] (api A 192.0.2.300): content '192.0.2.300' is not a valid IPv4 address"),
    ({"name": "api", "type": "AAAA", "content": "192.0.2.1"}, "is not a valid IPv6 address"),
    ({"name": "api", "type": "A", "content": "192.0.2.1", "ttl": 30}, "ttl must be 1 (automatic) or from 60 to 86400 seconds, got 30"),
    ({"name": "api", "type": "TXT", "content": "x", "proxied": True}, "only A, AAAA and CNAME records can be proxied"),
    ({"name": "mail", "type": "MX", "content": "mx.example.net"}, "priority is required for MX records"),
    ({"name": "x", "type": "CNAME", "content": "not a host"}, "content must be a hostname"),
    ({"name": "x", "type": "SPF", "content": "v"}, "type must be one of"),
    ({"name": "x.other.org.", "type": "A", "content": "192.0.2.1"}, "the name x.other.org. is not in the zone example.com"),
    ({"name": "x", "type": "CAA", "data": {"tag": "bogus", "value": "v"}}, "CAA data.tag must be issue, issuewild or iodef"),
    ({"name": "x", "type": "A", "content": "192.0.2.1", "color": "red"}, "unknown key 'color'"),
    ({"name": "x", "type": "A", "content": "192.0.2.1", "tags": ["has space"]}, "tags must be a list of name:value"),
])
def test_bad_records_are_named(record, message):
    with pytest.raises(InvalidInputError) as error:
        want(record)
    assert message in str(error.value)


def test_duplicates_in_the_input_are_refused():
    with pytest.raises(InvalidInputError, match=r"records\[1\] \(www A 192.0.2.1\) duplicates records\[0\]"):
        want({"name": "www", "type": "A", "content": "192.0.2.1"}, {"name": "WWW.example.com.", "type": "A", "content": "192.0.2.1"})


def test_normalisation_matches_what_cloudflare_stores():
    aaaa, cname, proxied = want({"name": "@", "type": "AAAA", "content": "2001:DB8:0::1"},
                                {"name": "Docs", "type": "CNAME", "content": "Target.Example.NET."},
                                {"name": "p", "type": "A", "content": "192.0.2.1", "ttl": 300, "proxied": True})
    assert (aaaa["name"], aaaa["content"]) == ("example.com", "2001:db8::1")
    assert (cname["name"], cname["content"]) == ("docs.example.com", "target.example.net")
    assert proxied["ttl"] == 1  # proxied records are always automatic


def test_record_sets_pair_changes_and_leave_other_sets_alone():
    existing = [stored("www", "A", "192.0.2.1"), stored("www", "A", "192.0.2.2"), stored("www", "TXT", "keep"),
                stored("mail", "MX", "mx.example.net", priority=10)]
    changes = _dns.plan(existing, want({"name": "www", "type": "A", "content": "192.0.2.3"},
                                       {"name": "mail", "type": "MX", "content": "mx.example.net", "priority": 20}), ZONE)
    assert [(old["content"], new["content"]) for old, new in changes["update"]] == [
        ("mx.example.net", "mx.example.net"), ("192.0.2.1", "192.0.2.3")]
    assert [r["content"] for r in changes["delete"]] == ["192.0.2.2"]
    assert changes["create"] == []


def test_comment_and_tags_are_managed_only_when_given():
    existing = [stored("www", "A", "192.0.2.1", comment="by hand", tags=["a:b"])]
    assert not _dns.has_changes(_dns.plan(existing, want({"name": "www", "type": "A", "content": "192.0.2.1"}), ZONE))
    changes = _dns.plan(existing, want({"name": "www", "type": "A", "content": "192.0.2.1", "tags": []}), ZONE)
    assert len(changes["update"]) == 1


def test_exclusive_removes_unlisted_but_not_ignored_apex_ns_or_other_names():
    existing = [stored("www", "A", "192.0.2.1"), stored("old", "A", "192.0.2.9"), stored("@", "NS", "ns1.other.net"),
                stored("_acme-challenge", "TXT", "token"), stored("other", "TXT", "x")]
    changes = _dns.plan(existing, want({"name": "www", "type": "A", "content": "192.0.2.1"}), ZONE, exclusive=True,
                        ignore=["_acme-challenge*/TXT"])
    assert sorted(r["name"] for r in changes["delete"]) == ["old.example.com", "other.example.com"]
    scoped = _dns.plan(existing, want({"name": "www", "type": "A", "content": "192.0.2.1"}), ZONE, exclusive=True,
                       names={"www.example.com", "old.example.com"})
    assert [r["name"] for r in scoped["delete"]] == ["old.example.com"]


def test_threshold_refuses_with_the_counts_unless_forced():
    changes = {"create": [], "update": [("a", "b")], "delete": ["c", "d"]}
    with pytest.raises(InvalidInputError, match=r"refusing to change 1 and remove 2 of the zone's 5 records \(60.0%"):
        _dns.check_threshold(changes, 5, 30, force=False)
    _dns.check_threshold(changes, 5, 30, force=True)
    _dns.check_threshold(changes, 10, 30, force=False)


def test_cname_beside_another_record_is_refused_on_the_resulting_zone():
    existing = [stored("books", "TXT", "owner")]
    desired = want({"name": "books", "type": "CNAME", "content": "w.example.net"})
    changes = _dns.plan(existing, desired, ZONE)
    with pytest.raises(InvalidInputError, match=r"CNAME books CNAME w.example.net cannot sit beside other records .*books TXT owner"):
        _dns.check_final_state(_dns.resulting_records(existing, changes), ZONE)
    exclusive = _dns.plan(existing, desired, ZONE, exclusive=True)
    _dns.check_final_state(_dns.resulting_records(existing, exclusive), ZONE)  # the TXT goes: fine


def test_batches_keep_cloudflare_order_and_size():
    existing = [stored("d%d" % i, "A", "192.0.2.%d" % i) for i in range(3)]
    changes = {"delete": existing, "update": [], "create": want(*[{"name": "n%d" % i, "type": "A", "content": "192.0.2.1"} for i in range(4)])}
    bodies = list(_dns.batches(changes, 5))
    assert [sorted(body) for body in bodies] == [["deletes", "posts"], ["posts"]]
    assert len(bodies[0]["deletes"]) == 3 and len(bodies[0]["posts"]) == 2 and len(bodies[1]["posts"]) == 2


def test_info_format_round_trips_into_the_input():
    api = {"id": "1", "name": "_sip._tcp.example.com", "type": "SRV", "content": "5 5060 sip.example.com", "ttl": 300,
           "proxied": False, "data": {"priority": 1, "weight": 5, "port": 5060, "target": "sip.example.com"}, "tags": []}
    record = _dns.from_api(api)
    shown = _dns.to_input(record, ZONE)
    assert shown == {"name": "_sip._tcp", "type": "SRV", "data": api["data"], "ttl": 300}
    assert not _dns.plan([record], want(shown), ZONE)["update"]


def test_planning_a_5000_record_zone_is_fast():
    existing = [stored("h%04d" % i, "A", "10.0.%d.%d" % (i // 250, i % 250)) for i in range(5000)]
    desired = want(*[{"name": "h%04d" % i, "type": "A", "content": "10.0.%d.%d" % (i // 250, i % 250 if i % 100 else 251)}
                     for i in range(5000)])
    started = time.monotonic()
    changes = _dns.plan(existing, desired, ZONE, exclusive=True)
    _dns.check_final_state(_dns.resulting_records(existing, changes), ZONE)
    assert _dns.count_changes(changes) == {"added": 0, "changed": 50, "removed": 0}
    assert time.monotonic() - started < 5


ZONE_FILE = """$ORIGIN example.com.
$TTL 3600
@   IN SOA ns.example.com. admin.example.com. (
        1 7200 3600 1209600 3600 )
@        IN NS  ns1.other.net.
www  300 IN A   192.0.2.10
         IN AAAA 2001:db8::10 ; the owner is www again
mail     IN MX  10 mx.example.net.
@        IN TXT "v=spf1 include:example.net -all"
_sip._tcp IN SRV 1 5 5060 sip
@        IN CAA 0 issue "letsencrypt.org"
"""


def test_bind_parser():
    records = _bind.parse(ZONE_FILE, ZONE)
    assert [(r["name"], r["type"]) for r in records] == [
        ("example.com", "NS"), ("www.example.com", "A"), ("www.example.com", "AAAA"), ("mail.example.com", "MX"),
        ("example.com", "TXT"), ("_sip._tcp.example.com", "SRV"), ("example.com", "CAA")]
    assert records[1]["ttl"] == 300 and records[2]["ttl"] == 3600
    assert records[3]["priority"] == 10 and records[3]["content"] == "mx.example.net"
    assert records[4]["content"] == "v=spf1 include:example.net -all"
    assert records[5]["data"]["target"] == "sip.example.com"
    assert records[6]["data"] == {"flags": 0, "tag": "issue", "value": "letsencrypt.org"}


def test_bind_parser_names_the_bad_line():
    with pytest.raises(InvalidInputError, match="line 2: the MX record is malformed"):
        _bind.parse("www IN A 192.0.2.1\nmail IN MX ten mx\n", ZONE)
