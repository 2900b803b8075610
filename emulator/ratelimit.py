"""Cloudflare's per-user API rate limit, enforced when asked (``CFOPS_EMULATOR_RATE_LIMIT=REQUESTS/SECONDS``).

Cloudflare allows 1,200 requests per five minutes per user; past it "all API calls for the next five
minutes will be blocked, receiving a HTTP 429 response", and its REST answers carry ``Ratelimit``
(``"default";r=<remaining>;t=<seconds to reset>``), ``Ratelimit-Policy`` (``"default";q=<quota>;w=<window>``)
and, on a 429 only, ``Retry-After`` (seconds until more capacity, rounded up)
(https://developers.cloudflare.com/fundamentals/api/reference/limits/). The emulator counts calls per
bearer token in a sliding window; the block after an excess lasts one window. Off unless the environment
asks, so the test suite runs at full speed. A smaller window (``120/30``) keeps Cloudflare's rate while
making benchmarks short.
"""
import collections
import math
import os
import threading
import time

from emulator.envelope import ApiError

ENV = "CFOPS_EMULATOR_RATE_LIMIT"
RATE_LIMITED = 10000  # the code the fault injector's 429 answers with (emulator/server.py FAULT_ERRORS)


class RateLimiter:
    def __init__(self, requests, seconds, now=time.monotonic):
        self.requests = int(requests)
        self.seconds = float(seconds)
        self.now = now
        self._lock = threading.Lock()
        self._calls = collections.defaultdict(collections.deque)  # token -> times of admitted calls
        self._blocked_until = {}

    @classmethod
    def from_environment(cls, environ=None):
        value = (os.environ if environ is None else environ).get(ENV, "").strip()
        if not value or value.lower() == "off":
            return None
        requests, _slash, seconds = value.partition("/")
        return cls(int(requests), float(seconds or 300))

    def refuse(self, authorization):
        """None when the call may proceed, else the 429 response (Retry-After, Ratelimit, Ratelimit-Policy)."""
        token = (authorization or "").strip()
        with self._lock:
            now = self.now()
            calls = self._calls[token]
            while calls and calls[0] <= now - self.seconds:
                calls.popleft()
            blocked = self._blocked_until.get(token, 0.0)
            if blocked <= now and len(calls) < self.requests:
                calls.append(now)
                return None
            if blocked <= now:  # the excess: every call is refused for the next window
                blocked = self._blocked_until[token] = now + self.seconds
            wait = max(1, int(math.ceil(blocked - now)))
        headers = {"Retry-After": str(wait), "Ratelimit": '"default";r=0;t=%d' % wait,
                   "Ratelimit-Policy": '"default";q=%d;w=%d' % (self.requests, int(self.seconds))}
        return ApiError(429, RATE_LIMITED, "Rate limited. Please wait and consider throttling your request speed",
                        headers=headers).response()


LIMITER = RateLimiter.from_environment()


def refuse(authorization):
    """The server's one call: a 429 response when the caller is over the limit (None when off or under it)."""
    return LIMITER.refuse(authorization) if LIMITER is not None else None
