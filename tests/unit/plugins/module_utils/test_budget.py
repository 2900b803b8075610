"""The shared API budget: a token bucket in a file, shared across processes, honouring Retry-After and Ratelimit."""
import multiprocessing
import os
import time

import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils import _budget
from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareClient
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply, envelope, failure


class Clock:
    """A fake clock; ``advance=False``: sleeping does not move it (callers arriving at the same instant)."""

    def __init__(self, advance=True):
        self.t = 1_000_000.0
        self.advance = advance
        self.slept = []

    def now(self):
        return self.t

    def sleep(self, seconds):
        self.slept.append(round(seconds, 3))
        if self.advance:
            self.t += seconds


def budget(tmp_path, clock, requests=10, seconds=10):
    return _budget.Budget(str(tmp_path / "b.json"), requests, seconds, sleep=clock.sleep, now=clock.now)


def test_at_most_the_limit_in_any_window(tmp_path):
    clock = Clock()
    bucket = budget(tmp_path, clock)
    for _index in range(10):
        bucket.before_send()
    assert clock.slept == []
    bucket.before_send()
    assert clock.slept == [10.25]  # the 11th waits for the first to leave the window (and a margin)
    for _index in range(9):
        bucket.before_send()
    assert clock.slept == [10.25]


def test_callers_arriving_together_queue_window_after_window(tmp_path):
    clock = Clock(advance=False)
    callers = [budget(tmp_path, clock) for _index in range(25)]  # 25 forks, one file
    for caller in callers:
        caller.before_send()
    assert clock.slept == [10.25] * 10 + [20.5] * 5


def test_a_429_retry_after_holds_every_process_sharing_the_file(tmp_path):
    clock = Clock()
    got_429, other = budget(tmp_path, clock, 1200, 300), budget(tmp_path, clock, 1200, 300)
    got_429.after_response(429, {"retry-after": "30"})
    other.before_send()
    assert clock.slept == [30.0]


def test_ratelimit_remaining_counts_calls_made_elsewhere(tmp_path):
    clock = Clock()
    bucket = budget(tmp_path, clock, 1200, 300)
    bucket.after_response(200, {"ratelimit": '"default";r=2;t=30'})
    bucket.before_send()
    bucket.before_send()
    assert clock.slept == []
    bucket.before_send()
    assert clock.slept == [33.0]  # the window is full until Cloudflare's reset (+1 % margin)


def test_ratelimit_zero_waits_for_the_reset(tmp_path):
    clock = Clock()
    bucket = budget(tmp_path, clock, 1200, 300)
    bucket.after_response(200, {"ratelimit": '"burst";r=40;t=5, "default";r=0;t=42'})
    bucket.before_send()
    assert clock.slept == [45.0]  # the reset, +1 % margin


@pytest.mark.parametrize("header, expected", [
    ('"default";r=50;t=30', (50.0, 30.0)),
    ('"a";r=9;t=1, "b";r=3;t=20', (3.0, 20.0)),
    ("garbage", None),
    (None, None),
])
def test_ratelimit_header_parsing(header, expected):
    assert _budget.parse_ratelimit(header) == expected


def test_the_budget_is_on_for_cloudflare_off_for_other_urls_and_configurable(tmp_path):
    env = {"CFOPS_API_BUDGET_DIR": str(tmp_path)}
    on = _budget.from_environment("https://api.cloudflare.com/client/v4", "SECRET-TOKEN", env)
    assert (on.requests, on.seconds) == (1200, 300.0)
    assert "SECRET-TOKEN" not in on.path and on.path.startswith(str(tmp_path))
    assert _budget.from_environment("http://127.0.0.1:8787/client/v4", "t", env) is None
    asked = _budget.from_environment("http://127.0.0.1:8787/client/v4", "t", dict(env, CFOPS_API_BUDGET="120/30"))
    assert (asked.requests, asked.seconds) == (120, 30.0)
    assert _budget.from_environment("https://api.cloudflare.com/client/v4", "t", dict(env, CFOPS_API_BUDGET="off")) is None
    other_token = _budget.from_environment("https://api.cloudflare.com/client/v4", "another", env)
    assert other_token.path != on.path  # the limit is per user: one budget per credential
    with pytest.raises(_budget.BudgetConfigError, match="REQUESTS/SECONDS"):
        _budget.from_environment("https://api.cloudflare.com/client/v4", "t", dict(env, CFOPS_API_BUDGET="fast"))


def _spend(path, count):
    bucket = _budget.Budget(path, 20, 2)
    for _index in range(count):
        bucket.before_send()


def test_processes_share_one_budget(tmp_path):
    path = str(tmp_path / "shared.json")
    started = time.monotonic()
    workers = [multiprocessing.Process(target=_spend, args=(path, 10)) for _index in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(20)
    elapsed = time.monotonic() - started
    assert all(worker.exitcode == 0 for worker in workers)
    # 40 requests, 20 in any 2 s: the last 20 wait for the window (each process alone would not wait)
    assert 1.8 <= elapsed < 6, elapsed
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


class Recording:
    def __init__(self):
        self.events = []

    def before_send(self):
        self.events.append("send")

    def after_response(self, status, headers):
        self.events.append((status, headers.get("retry-after"), headers.get("ratelimit")))


def test_the_client_calls_the_budget_around_every_attempt(server):
    server.script(failure(429, (10000, "Rate limited"), headers={"Retry-After": "2", "Ratelimit": '"default";r=0;t=2'}),
                  Reply(200, envelope({"ok": True}), headers={"Ratelimit": '"default";r=7;t=100'}))
    recording = Recording()
    client = CloudflareClient("t", base_url=server.base_url, sleep=lambda s: None, budget=recording)
    assert client.get("/thing") == {"ok": True}
    assert recording.events == ["send", (429, "2", '"default";r=0;t=2'), "send", (200, None, '"default";r=7;t=100')]


def test_a_client_for_a_local_url_has_no_budget_by_default(server, monkeypatch):
    monkeypatch.delenv("CFOPS_API_BUDGET", raising=False)
    assert CloudflareClient("t", base_url=server.base_url).budget is None
