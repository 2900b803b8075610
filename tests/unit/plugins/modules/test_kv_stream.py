"""kv_entry streaming: src read item by item, compared with the namespace through the staging file in any order,
written and deleted in bulk requests as they fill, values read through a bounded pool; the shared src loader."""
import json
import threading
import time

import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils import _data_file
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._kv import READ_WORKERS, Staging, normalise_entry
from ansible_collections.cfops.cloudflare.plugins.modules import kv_entry
from ansible_collections.cfops.cloudflare.tests.unit.plugins.modules.module_runner import module_result, writes
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply, envelope

NAMESPACE = "5" * 32


class FakeNamespace:
    """Answers the key listing (1,000 a page, in the order given), bulk/get, bulk writes and deletes; counts
    the bulk/get calls in flight at once."""

    def __init__(self, keys, listing_order=None, delay=0.0):
        self.keys = dict(keys)  # name -> (value, metadata)
        self.order = listing_order or sorted(self.keys)
        self.delay = delay
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()

    def __call__(self, request):
        tail = request.path.rsplit("/", 2)
        if request.method == "GET" and tail[-1] == "keys":
            start = int((request.query.get("cursor") or ["0"])[0])
            names = self.order[start:start + 1000]
            cursor = str(start + 1000) if start + 1000 < len(self.order) else ""
            result = [dict({"name": n}, **({"metadata": self.keys[n][1]} if self.keys[n][1] else {})) for n in names]
            return Reply(200, envelope(result, {"count": len(result), "cursor": cursor}))
        if request.method == "POST" and tail[-2:] == ["bulk", "get"]:
            with self.lock:
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            time.sleep(self.delay)
            values = {}
            for name in request.json()["keys"]:
                if name in self.keys:
                    values[name] = {"value": self.keys[name][0], "metadata": self.keys[name][1], "expiration": None}
            with self.lock:
                self.in_flight -= 1
            return Reply(200, envelope({"values": values}))
        if request.method in ("PUT", "POST"):
            return Reply(200, envelope({"successful_key_count": len(request.json()), "unsuccessful_keys": []}))
        return Reply(500, {"unexpected": request.path})


def run(server, capsys, **args):
    return module_result(kv_entry.main, capsys, server, namespace_id=NAMESPACE, **args)


def jsonl(path, entries):
    path.write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    return str(path)


def bulk_writes(server):
    return [r.json() for r in writes(server) if r.method == "PUT"]


def bulk_deletes(server):
    return [r.json() for r in writes(server) if r.path.endswith("/bulk/delete")]


def test_an_unsorted_src_is_compared_with_an_unsorted_listing_and_prune_deletes_the_rest(server, capsys, tmp_path):
    fake = FakeNamespace({"b": ("same", None), "d": ("old", None), "z": ("gone", None), "a0": ("x", {"m": 1})},
                         listing_order=["z", "b", "a0", "d"])  # whatever order the listing comes in
    server.handler = fake
    src = jsonl(tmp_path / "e.jsonl", [{"key": "d", "value": "new"}, {"key": "c", "value": "added"},
                                       {"key": "b", "value": "same"}, {"key": "a", "value": "added too"}])
    result = run(server, capsys, src=src, exclusive=True)
    assert result["changed"] and result["counts"] == {"added": 2, "changed": 1, "removed": 2}
    assert (result["keys_added"], result["keys_changed"], result["keys_removed"]) == (["a", "c"], ["d"], ["a0", "z"])
    assert result["changes_truncated"] is False
    assert bulk_writes(server) == [[{"key": "a", "value": "added too"}, {"key": "c", "value": "added"},
                                    {"key": "d", "value": "new"}]]
    assert bulk_deletes(server) == [["a0", "z"]]


def test_a_key_listed_twice_is_refused_before_any_call(server, capsys, tmp_path):
    src = tmp_path / "e.json"
    src.write_text(json.dumps([{"key": "k2", "value": "1"}, {"key": "k1", "value": "2"}, {"key": "k2", "value": "3"}]))
    result = run(server, capsys, src=str(src))
    assert result["failed"] and result["msg"] == "src[2]: key 'k2' is listed twice (also at src[0])"
    assert server.requests == []  # not even the listing: nothing written, nothing read


def test_writes_and_deletes_go_in_chunks_of_the_bulk_limits(server, capsys, tmp_path):
    """20,001 new keys are 3 bulk writes (10,000 pairs a request); 10,001 keys to prune are 2 bulk deletes."""
    server.handler = FakeNamespace({"old:%05d" % n: ("v", None) for n in range(10001)})
    src = jsonl(tmp_path / "e.jsonl", ({"key": "new:%05d" % n, "value": "v"} for n in reversed(range(20001))))
    result = run(server, capsys, src=src, exclusive=True)
    assert [len(batch) for batch in bulk_writes(server)] == [10000, 10000, 1]
    assert [len(batch) for batch in bulk_deletes(server)] == [10000, 1]
    assert result["counts"] == {"added": 20001, "changed": 0, "removed": 10001}
    assert result["keys_added"] == ["new:%05d" % n for n in range(100)] and result["changes_truncated"] is True
    assert result["api_calls"] == {"reads": 11, "writes": 5}


def test_check_mode_writes_nothing_and_plans_honestly(server, capsys, tmp_path):
    server.handler = FakeNamespace({"k1": ("old", None), "k9": ("x", None)})
    src = jsonl(tmp_path / "e.jsonl", [{"key": "k1", "value": "new"}, {"key": "k2", "value": "v"}])
    result = run(server, capsys, src=src, exclusive=True, _ansible_check_mode=True, _ansible_diff=True)
    assert result["changed"] and writes(server) == [r for r in writes(server) if r.path.endswith("/bulk/get")]
    assert result["counts"] == {"added": 1, "changed": 1, "removed": 1}
    assert set(result["diff"]["before"]) == {"k1", "k9"} and set(result["diff"]["after"]) == {"k1", "k2"}
    assert "new" not in json.dumps(result["diff"]) and "old" not in json.dumps(result["diff"])  # secret: digests only


@pytest.mark.parametrize("options, shown", [
    ({"changes_limit": 0}, 0),
    ({"changes_limit": 3}, 3),
    ({"changes_limit": 3, "_ansible_verbosity": 3}, 250),
    ({"changes_limit": 3, "_ansible_diff": True}, 250),
])
def test_changes_limit_caps_the_names_unless_diff_or_vvv(server, capsys, tmp_path, options, shown):
    server.handler = FakeNamespace({})
    src = jsonl(tmp_path / "e.jsonl", [{"key": "k%03d" % n, "value": "v"} for n in range(250)])
    result = run(server, capsys, src=src, **options)
    assert result["keys_added"] == ["k%03d" % n for n in range(shown)]
    assert result["counts"]["added"] == 250 and result["changes_truncated"] is (shown < 250)


def test_value_reads_run_through_a_pool_of_at_most_four(server, capsys, tmp_path):
    keys = {"k%04d" % n: ("v%d" % n, None) for n in range(1500)}
    fake = FakeNamespace(keys, delay=0.2)  # long enough for all 4 to overlap on a loaded machine
    server.handler = fake
    src = jsonl(tmp_path / "e.jsonl", [{"key": k, "value": "v%d" % n if n != 777 else "changed"}
                                       for n, k in enumerate(sorted(keys))])
    result = run(server, capsys, src=src)
    assert fake.max_in_flight == READ_WORKERS == 4
    gets = [r for r in server.requests if r.path.endswith("/bulk/get")]
    assert len(gets) == 15 and result["api_calls"] == {"reads": 2 + 15, "writes": 1}
    assert result["keys_changed"] == ["k0777"] and bulk_writes(server) == [[{"key": "k0777", "value": "changed"}]]


def test_digests_compare_from_the_listing_alone(server, capsys, tmp_path):
    server.handler = FakeNamespace({})
    src = jsonl(tmp_path / "e.jsonl", [{"key": "k%d" % n, "value": "v"} for n in range(3)])
    run(server, capsys, src=src, digest=True)
    written = bulk_writes(server)[0]
    server.requests.clear()
    server.handler = FakeNamespace({item["key"]: ("ignored", item["metadata"]) for item in written})
    result = run(server, capsys, src=src, digest=True)
    assert not result["changed"] and [r.path.rsplit("/", 1)[-1] for r in server.requests] == ["keys"]


# The staging file and the shared loader ------------------------------------------------------------------------


def staged(items):
    staging = Staging()
    for index, item in enumerate(items):
        staging.add_wanted(normalise_entry(item, time.time, "src[%d]" % index), "src[%d]" % index)
    return staging


def test_staging_joins_in_sorted_order_whatever_the_input_order():
    with staged([{"key": "é", "value": "1"}, {"key": "b", "value": "2"}, {"key": "a/b", "value": "3"},
                 {"key": "a-c", "value": "4"}]) as staging:
        staging.add_listed([{"name": "zz"}, {"name": "b", "metadata": {"x": 1}}, {"name": "a"}])
        assert [key for key, _entry in staging.added()] == sorted(["é", "a/b", "a-c"]) == ["a-c", "a/b", "é"]
        assert [(key, listed) for key, _entry, listed in staging.existing()] == [("b", {"x": 1})]
        assert list(staging.removed()) == [("a", None), ("zz", None)]


def test_staging_refuses_a_duplicate_naming_both_places():
    with pytest.raises(InvalidInputError, match=r"^src\[3\]: key 'x' is listed twice \(also at src\[1\]\)$"):
        staged([{"key": "y", "value": "1"}, {"key": "x", "value": "1"}, {"key": "z", "value": "1"}, {"key": "x", "value": "2"}])


DOCUMENTS = [
    [{"key": "a", "value": "x" * 50, "n": 123456789, "f": -1.5e10}, {"key": "b\u00e9\"\\", "value": "\U0001f600", "t": True}],
    {"one": "1", "two": "2", "big": 12345678901234567890},
    "just a string",
    [],
]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_the_streaming_json_reader_gives_what_json_load_gives(tmp_path, monkeypatch, document):
    monkeypatch.setattr(_data_file, "READ_CHUNK", 7)  # every value crosses a chunk boundary
    path = tmp_path / "d.json"
    path.write_text(json.dumps(document, indent=1))
    events = list(_data_file.iter_document(str(path), None))
    if isinstance(document, list):
        assert events == [("item", index, item) for index, item in enumerate(document)]
    elif isinstance(document, dict):
        assert events == [("member", name, value) for name, value in document.items()]
    else:
        assert events == [("document", None, document)]


def test_the_streaming_yaml_reader_gives_items_and_members(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("- {key: a, value: '1'}\n- &x {key: b, value: '2'}\n")
    assert list(_data_file.iter_document(str(path), None)) == [
        ("item", 0, {"key": "a", "value": "1"}), ("item", 1, {"key": "b", "value": "2"})]
    path.write_text("a: '1'\nb: '2'\n")
    assert [e[:2] for e in _data_file.iter_document(str(path), None)] == [("member", "a"), ("member", "b")]
    path.write_text("")
    assert list(_data_file.iter_document(str(path), None)) == [("document", None, None)]


@pytest.mark.parametrize("name, text, message", [
    ("d.json", '[{"key": "a"}, {"key": ]', r"could not be parsed: Expecting value \(at character 23\)"),
    ("d.json", '[{"key": "a"} {"key": "b"}]', r"could not be parsed: expected ',', found '\{' at character 14"),
    ("d.json", '[1] [2]', "extra data after the document"),
    ("d.yaml", "- a\n- [b\n", "could not be parsed"),
    ("d.yaml", "a: 1\n---\nb: 2\n", "more than one YAML document"),
])
def test_a_file_that_does_not_parse_is_refused_with_where(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InvalidInputError, match=message):
        list(_data_file.iter_document(str(path), None))
