"""A DNS batch after an ambiguous failure (5xx, read timeout, dropped connection): the zone is re-read and only
what is still missing is sent, never a duplicate. Against a real HTTP server playing a zone whose batch answer
is lost after (or before) it was applied, and, as the alternative the evidence rules out but a concurrent writer
can cause, a batch applied only in part."""
import itertools

import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils import _dns
from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError, CloudflareClient
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply, ScriptedServer, envelope, failure

ZONE, ZONE_ID = "example.com", "z" * 32


class Zone:
    """An in-memory zone behind the scripted server: list and batch, with a scripted fate per batch call."""

    def __init__(self, records):
        self.records = dict((r["id"], dict(r)) for r in records)
        self.ids = ("id%04d" % n for n in itertools.count())
        # per batch call: "ok", or (fate, status | "drop" | "hang") with fate "lost" (applied, answer lost),
        # "unapplied" (not applied), "partial" (its first half applied) or "trickle" (its first operation applied)
        self.fates = []
        self.batch_bodies = []

    def handle(self, request):
        if request.method == "GET" and request.path.endswith("/dns_records"):
            info = {"page": 1, "per_page": 5000000, "total_pages": 1, "count": len(self.records),
                    "total_count": len(self.records)}
            return Reply(200, envelope(list(self.records.values()), info))
        assert request.method == "POST" and request.path.endswith("/dns_records/batch"), request.path
        body = request.json()
        self.batch_bodies.append(body)
        fate = self.fates.pop(0) if self.fates else "ok"
        kind, how = (fate, None) if fate == "ok" else fate
        if kind == "unapplied":
            return self._lost(how)
        result = self._apply(body, partial=kind)
        if isinstance(result, Reply):
            return result
        return self._lost(how) if kind in ("lost", "partial", "trickle") else Reply(200, envelope(result))

    @staticmethod
    def _lost(how):
        if how == "drop":
            return Reply(action="drop")
        if how == "hang":
            return Reply(200, envelope({}), action="hang", seconds=1.5)
        return failure(how, (10013, "An unknown error has occurred"))

    def _apply(self, body, partial=None):
        result = {"deletes": [], "patches": [], "puts": [], "posts": []}
        operations = [(key, item) for key in ("deletes", "patches", "posts") for item in body.get(key, [])]
        if partial == "partial":  # the first half
            operations = operations[: len(operations) // 2]
        elif partial == "trickle":  # one operation
            operations = operations[:1]
        for key, item in operations:
            if key == "deletes":
                if item["id"] not in self.records:
                    return failure(404, (81044, "Record does not exist."))
                result[key].append({"id": self.records.pop(item["id"])["id"]})
                continue
            record = dict({"ttl": 1, "proxied": False, "tags": [], "comment": None}, **{k: v for k, v in item.items() if k != "id"})
            if key == "posts":
                if any((r["name"], r["type"], r["content"]) == (record["name"], record["type"], record["content"])
                       for r in self.records.values()):
                    return failure(400, (81058, "An identical record already exists."))
                record["id"] = next(self.ids)
            else:
                record["id"] = item["id"]
            self.records[record["id"]] = record
            result[key].append(record)
        return result

    def state(self):
        return sorted((r["name"], r["type"], r["content"], r["ttl"]) for r in self.records.values())


def a_record(index, content=None, record_id=None):
    record = {"name": "host%02d.example.com" % index, "type": "A", "content": content or "192.0.2.%d" % (index + 1),
              "ttl": 300, "proxied": False}
    if record_id:
        record["id"] = record_id
    return record


@pytest.fixture
def zone():
    server = ScriptedServer()
    zone = Zone([a_record(0, record_id="old0"), a_record(1, record_id="old1"), a_record(2, record_id="old2")])
    server.handler = zone.handle
    zone.server = server
    yield zone
    server.close()


def converge(zone, desired, exclusive=True, batch_size=200):
    client = CloudflareClient("token", base_url=zone.server.base_url, timeout=1, max_retries=6, sleep=lambda s: None,
                              jitter=lambda: 0.0)
    existing = _dns.read_zone(client, ZONE_ID)
    changes = _dns.plan(existing, _dns.check_input(desired, ZONE), ZONE, exclusive=exclusive)
    results = _dns.apply(client, ZONE_ID, changes, batch_size)
    client.close()
    return results


def wanted():
    # host00 kept, host01 changed (a patch), host02 removed (a delete), host03..05 added (posts)
    return ([{"name": "host00", "type": "A", "content": "192.0.2.1", "ttl": 300},
             {"name": "host01", "type": "A", "content": "198.51.100.1", "ttl": 300}]
            + [{"name": "host%02d" % i, "type": "A", "content": "192.0.2.%d" % (i + 1), "ttl": 300} for i in (3, 4, 5)])


def expected_state():
    return sorted((_dns.fqdn(r["name"], ZONE), r["type"], r["content"], r["ttl"]) for r in wanted())


@pytest.mark.parametrize("how", [500, 502, "drop", "hang"])
def test_a_batch_applied_whose_answer_was_lost_is_not_sent_again(zone, how):
    zone.fates = [("lost", how)]
    results = converge(zone, wanted())
    assert zone.state() == expected_state()
    assert len(zone.batch_bodies) == 1  # the re-read showed it applied: nothing sent twice
    assert sorted(r["name"] for r in results[0]["posts"]) == ["host03.example.com", "host04.example.com", "host05.example.com"]
    assert all(r["id"].startswith("id") for r in results[0]["posts"])  # the ids the server gave, for dns_record
    assert [r["id"] for r in results[0]["patches"]] == ["old1"] and results[0]["deletes"] == [{"id": "old2"}]


@pytest.mark.parametrize("how", [503, "drop", "hang"])
def test_a_batch_not_applied_is_sent_again_whole(zone, how):
    zone.fates = [("unapplied", how), ("unapplied", how)]
    converge(zone, wanted())
    assert zone.state() == expected_state()
    assert len(zone.batch_bodies) == 3 and zone.batch_bodies[0] == zone.batch_bodies[2]


def test_a_batch_applied_in_part_sends_only_the_rest(zone):
    zone.fates = [("partial", 500)]
    converge(zone, wanted())
    assert zone.state() == expected_state()
    first, second = zone.batch_bodies
    assert sorted(first) == ["deletes", "patches", "posts"]
    assert second == {"posts": first["posts"]}  # the applied delete and patch are never sent again


def test_each_batch_of_several_converges_on_its_own(zone):
    zone.fates = ["ok", ("lost", "drop"), ("unapplied", 500)]
    converge(zone, wanted(), batch_size=2)
    assert zone.state() == expected_state()
    assert len(zone.batch_bodies) == 4  # 3 batches of at most 2, the unapplied one twice


def test_a_batch_that_stays_partly_applied_stops_with_a_clear_message(zone):
    zone.fates = [("trickle", 500)] * 10
    with pytest.raises(CloudflareAPIError) as error:
        converge(zone, wanted())
    assert "still only partly applied after 4 re-reads" in str(error.value)
    assert "nothing was sent twice" in str(error.value)
