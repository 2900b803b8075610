"""Cloudflare's per-user rate limit in the emulator (when asked), and the collection's shared budget keeping under it."""
import time

import httpx
import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils import _budget
from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareClient
from tests.support.emulator import EmulatorProcess


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("CFOPS_EMULATOR_RATE_LIMIT", "6/3")
    try:
        with EmulatorProcess(data_dir=str(tmp_path_factory.mktemp("emulator"))) as emu:
            yield emu
    finally:
        monkeypatch.undo()


def get(emulator, token=None):
    return httpx.get(emulator.base_url + "/zones", headers={"Authorization": "Bearer " + (token or emulator.token)},
                     timeout=10, trust_env=False)


def test_past_the_limit_every_call_gets_429_with_retry_after_for_one_window(limited):
    time.sleep(3.1)  # a window of its own
    other = "another-user-token"
    limited.add_token(other)
    answers = [get(limited) for _index in range(7)]
    assert [a.status_code for a in answers] == [200] * 6 + [429]
    refused = answers[-1]
    assert refused.json()["errors"][0]["code"] == 10000
    assert refused.headers["Retry-After"] == "3"
    assert refused.headers["Ratelimit"] == '"default";r=0;t=3' and refused.headers["Ratelimit-Policy"] == '"default";q=6;w=3'
    assert get(limited, other).status_code == 200  # per user: another token has its own budget
    time.sleep(1.5)
    assert get(limited).status_code == 429  # blocked for the whole window, not until a call ages out
    time.sleep(2.0)
    assert get(limited).status_code == 200


def test_the_shared_budget_keeps_a_client_under_the_limit(limited, tmp_path):
    time.sleep(3.1)
    bucket = _budget.Budget(str(tmp_path / "budget.json"), 6, 3)
    with CloudflareClient(limited.token, base_url=limited.base_url, budget=bucket, max_retries=0) as client:
        started = time.monotonic()
        for _index in range(14):
            client.get("/zones")  # max_retries=0: a 429 would fail the call
        elapsed = time.monotonic() - started
    # 14 calls, a burst of 6 then 2 a second: about 4 s, the floor the limit allows
    assert 3.5 <= elapsed < 8, elapsed
    assert bucket.waited > 3


def test_a_429_is_waited_by_every_client_sharing_the_budget(limited, tmp_path):
    time.sleep(3.1)
    path = str(tmp_path / "budget.json")
    for _index in range(6):
        assert get(limited).status_code == 200  # someone else spent the window (the dashboard, another tool)
    first = CloudflareClient(limited.token, base_url=limited.base_url, budget=_budget.Budget(path, 600, 3), max_retries=3)
    second = CloudflareClient(limited.token, base_url=limited.base_url, budget=_budget.Budget(path, 600, 3), max_retries=0)
    started = time.monotonic()
    first.get("/zones")  # 429, Retry-After 3: recorded in the shared file, then retried after it
    second.get("/zones")  # never sent before the block ends, so no retry needed
    assert time.monotonic() - started >= 2.5
    first.close()
    second.close()
