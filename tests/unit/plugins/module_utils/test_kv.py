"""KV limits, comparisons and bulk chunking."""
import base64
import json

import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._kv import (
    bulk_write_item,
    chunk_bulk_write,
    digest_view,
    entry_matches,
    normalise_entries,
    normalise_entry,
    plan_entries,
)

NOW = 1_700_000_000


def entry(**item):
    return normalise_entry(item, lambda: NOW, "entries[0]")


@pytest.mark.parametrize("item, message", [
    ({"key": "k" * 513, "value": "v"}, "longer than 512 bytes"),
    ({"key": "é" * 257, "value": "v"}, "longer than 512 bytes"),
    ({"key": "", "value": "v"}, "non-empty string"),
    ({"key": "..", "value": "v"}, "not allowed"),
    ({"key": "big", "value": "x" * (25 * 1024 * 1024 + 1)}, "key 'big'.*more than the 26214400 bytes"),
    ({"key": "m", "value": "v", "metadata": {"a": "x" * 1020}}, "key 'm'.*metadata is 1028 bytes"),
    ({"key": "t", "value": "v", "expiration_ttl": 59}, "key 't'.*expiration_ttl must be at least 60"),
    ({"key": "e", "value": "v", "expiration": NOW + 10}, "key 'e'.*at least 60 seconds in the future"),
    ({"key": "b", "value": "not base64!", "base64": True}, "key 'b'.*not valid base64"),
    ({"key": "n", "value": None}, "key 'n'.*value is required"),
])
def test_limits_are_checked_and_the_error_names_the_key(item, message):
    with pytest.raises(InvalidInputError, match=message):
        entry(**item)


def test_limits_at_the_boundary_are_accepted():
    entry(key="k" * 512, value="v", metadata={"a": "x" * 1016}, expiration_ttl=60, expiration=NOW + 60)


def test_duplicate_keys_are_refused():
    with pytest.raises(InvalidInputError, match="entries\\[1\\]: key 'a' is listed twice"):
        normalise_entries([{"key": "a", "value": "1"}, {"key": "a", "value": "2"}], lambda: NOW)


def test_match_compares_value_bytes_and_metadata_not_expiration():
    wanted = entry(key="k", value="v", metadata={"a": 1}, expiration_ttl=3600)
    assert entry_matches(wanted, {"value_bytes": b"v", "metadata": {"a": 1}})
    assert not entry_matches(wanted, {"value_bytes": b"w", "metadata": {"a": 1}})
    assert not entry_matches(wanted, {"value_bytes": b"v", "metadata": {"a": 2}})
    assert not entry_matches(wanted, {"value_bytes": b"v", "metadata": None})
    assert not entry_matches(wanted, None)


def test_no_metadata_and_empty_metadata_are_the_same():
    assert entry_matches(entry(key="k", value="v"), {"value_bytes": b"v", "metadata": {}})
    assert entry_matches(entry(key="k", value="v", metadata={}), {"value_bytes": b"v", "metadata": None})


def test_base64_values_compare_as_bytes():
    raw = b"\x00\xff\x10"
    wanted = entry(key="bin", value=base64.b64encode(raw).decode(), base64=True)
    assert entry_matches(wanted, {"value_bytes": raw, "metadata": None})
    assert bulk_write_item(wanted) == {"key": "bin", "value": base64.b64encode(raw).decode(), "base64": True}


def test_plan_splits_added_changed_and_unchanged():
    entries = normalise_entries([{"key": "new", "value": "1"}, {"key": "same", "value": "2"}, {"key": "diff", "value": "3"}], lambda: NOW)
    current = {"same": {"value_bytes": b"2", "metadata": None}, "diff": {"value_bytes": b"old", "metadata": None},
               "other": {"value_bytes": b"x", "metadata": None}}
    added, changed = plan_entries(entries, current)
    assert [e["key"] for e in added] == ["new"]
    assert [e["key"] for e in changed] == ["diff"]


def test_bulk_write_item_carries_only_what_is_set():
    assert bulk_write_item(entry(key="k", value="v")) == {"key": "k", "value": "v"}
    assert bulk_write_item(entry(key="k", value="v", metadata={"a": 1}, expiration_ttl=60)) == {
        "key": "k", "value": "v", "metadata": {"a": 1}, "expiration_ttl": 60}


def test_bulk_writes_are_chunked_by_count():
    items = [{"key": "k%d" % i, "value": "v"} for i in range(25001)]
    assert [len(c) for c in chunk_bulk_write(items)] == [10000, 10000, 5001]


def test_bulk_writes_are_chunked_under_the_size_limit():
    items = [{"key": "k%d" % i, "value": "x" * 100} for i in range(10)]
    one = len(json.dumps(items[0]))
    chunks = chunk_bulk_write(items, max_bytes=3 * (one + 2) + 3)
    assert [len(c) for c in chunks] == [3, 3, 3, 1]
    for chunk in chunks:
        assert len(json.dumps(chunk)) < 3 * (one + 2) + 3


def test_the_diff_view_shows_a_digest_not_the_value():
    view = digest_view(b"secret-ish", {"a": 1})
    assert "secret-ish" not in json.dumps(view)
    assert len(view["value_sha256"]) == 64
