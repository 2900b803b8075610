"""kv_entry digest=true against the emulator: a no-op of N keys reads only the key listing (ceil(N/1,000) pages),
a changed value is found from the listing, and --diff still shows what changes."""
import json
import math

import httpx
import pytest

from ansible_collections.cfops.cloudflare.plugins.modules import kv_entry
from ansible_collections.cfops.cloudflare.tests.unit.plugins.modules.module_runner import module_result

KEYS = 2500
pytestmark = pytest.mark.usefixtures("fresh")


@pytest.fixture
def runner(emulator, capsys):
    namespace = httpx.post(emulator.base_url + "/accounts/%s/storage/kv/namespaces" % emulator.account_id,
                           json={"title": "digest"}, headers={"Authorization": "Bearer " + emulator.token},
                           timeout=30, trust_env=False).json()["result"]["id"]

    def run(src, **args):
        emulator.reset_calls()
        options = dict(api_token=emulator.token, account_id=emulator.account_id, namespace_id=namespace, src=str(src))
        options.update(args)
        result = module_result(kv_entry.main, capsys, emulator, **options)
        calls = {(c["method"], c["route"].rsplit("/", 1)[-1]): c["count"] for c in emulator.calls()["calls"]}
        return result, calls
    return run


def entries(generation=0, changed=()):
    return [{"key": "k%05d" % n, "value": "value %d/%d" % (n, generation if n in changed else 0), "metadata": {"n": n}}
            for n in range(KEYS)]


def test_a_noop_with_digests_reads_only_the_key_listing(runner, tmp_path):
    src = tmp_path / "entries.json"
    src.write_text(json.dumps(entries()))
    written, _calls = runner(src, digest=True)
    assert written["changed"] and written["counts"] == {"added": KEYS, "changed": 0, "removed": 0}
    assert written["keys_added"] == ["k%05d" % n for n in range(100)] and written["changes_truncated"]  # changes_limit

    noop, calls = runner(src, digest=True)
    assert not noop["changed"] and noop["keys_changed"] == []
    assert calls == {("GET", "keys"): math.ceil(KEYS / 1000)}  # <= ceil(N/1,000) + 1, no value read, no write

    without, calls = runner(src, digest=False)
    assert without["changed"] and without["counts"]["changed"] == KEYS  # digest off: the digest field is not wanted
    assert calls[("POST", "get")] == math.ceil(KEYS / 100)


def test_a_changed_value_is_found_from_the_listing_and_diff_reads_only_it(runner, tmp_path):
    src = tmp_path / "entries.json"
    src.write_text(json.dumps(entries()))
    runner(src, digest=True)
    src.write_text(json.dumps(entries(generation=1, changed={7, 1234})))
    result, calls = runner(src, digest=True, _ansible_diff=True, _ansible_check_mode=True)
    assert result["changed"] and result["keys_changed"] == ["k00007", "k01234"]
    assert calls[("POST", "get")] == 1 and ("PUT", "bulk") not in calls  # the 2 stale keys only, check mode
    assert set(result["diff"]["before"]) == {"k00007", "k01234"}
    applied, calls = runner(src, digest=True)
    assert applied["keys_changed"] == ["k00007", "k01234"] and ("POST", "get") not in calls
    assert calls[("PUT", "bulk")] == 1


def test_metadata_too_large_with_the_digest_is_refused_before_any_write(runner, tmp_path, emulator):
    src = tmp_path / "entries.json"
    src.write_text(json.dumps([{"key": "big", "value": "v", "metadata": {"pad": "x" * 960}}]))
    result, calls = runner(src, digest=True)
    assert result["failed"] and "src[0] (key 'big'): metadata with the value digest (digest=true) is" in result["msg"]
    assert emulator.calls()["writes"] == 0
