# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""One API budget per controller: a sliding window of send times in a file, shared by every fork and module run.

Cloudflare allows 1,200 requests per five minutes per user, cumulatively over the dashboard, API keys and
tokens, and blocks every call for the next five minutes once it is exceeded
(https://developers.cloudflare.com/fundamentals/api/reference/limits/). Twenty forks each with its own
client cannot see that they share it; this budget makes them slow down together instead of failing together.

At most ``REQUESTS`` sends in any window of ``SECONDS``: each request takes its place before it is sent (a caller
that finds the window full reserves the first free place and sleeps until it is due, so waiting forks queue
instead of polling). After each answer the budget honours what Cloudflare says
(same page): ``Retry-After`` on a 429 (seconds until more capacity; every fork waits it, not only the one that
got the 429) and ``Ratelimit`` (``"default";r=50;t=30``: ``r`` requests remaining, the window resets in ``t``
seconds), which also counts calls made elsewhere with the same credentials.

The state is a small JSON file, updated under an exclusive ``flock``: by default
``$XDG_CACHE_HOME/cfops-cloudflare/`` (``~/.cache/...``) on the host the modules run on (the controller, for
the usual ``connection: local``), one file per API URL and token (named by a digest, never the token).

Configuration (environment of the module run, e.g. the play's ``environment:``):
``CFOPS_API_BUDGET`` = ``REQUESTS/SECONDS`` (default ``1200/300`` for https://api.cloudflare.com, off for any
other URL such as a local emulator), or ``off``; ``CFOPS_API_BUDGET_DIR`` = the directory of the state file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no shared budget
    fcntl = None

CLOUDFLARE_API = "https://api.cloudflare.com/"
DEFAULT_BUDGET = (1200, 300.0)   # developers.cloudflare.com/fundamentals/api/reference/limits/
ENV_BUDGET = "CFOPS_API_BUDGET"
ENV_DIR = "CFOPS_API_BUDGET_DIR"
MAX_HEADER_WAIT = 600.0          # a Retry-After or reset beyond this is taken as this (a garbled header)
_ITEM_PARAM = re.compile(r";\s*([a-z]+)\s*=\s*([0-9.]+)")


class BudgetConfigError(ValueError):
    pass


def parse_budget(text):
    """``(requests, seconds)`` from ``"1200/300"``; None for ``off``/``0``/``none``."""
    text = (text or "").strip().lower()
    if text in ("off", "0", "none", "false", "no"):
        return None
    match = re.match(r"^(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*s?$", text)
    if not match or int(match.group(1)) < 1 or float(match.group(2)) <= 0:
        raise BudgetConfigError("%s must be REQUESTS/SECONDS (for example 1200/300) or off, got %r" % (ENV_BUDGET, text))
    return int(match.group(1)), float(match.group(2))


def parse_ratelimit(value):
    """``(remaining, reset_seconds)`` of the most constrained item of a ``Ratelimit`` header, or None."""
    best = None
    for item in (value or "").split(","):
        params = dict(_ITEM_PARAM.findall(item))
        if "r" not in params:
            continue
        try:
            remaining, reset = float(params["r"]), float(params.get("t", 0))
        except ValueError:
            continue
        if best is None or remaining < best[0]:
            best = (remaining, min(reset, MAX_HEADER_WAIT))
    return best


def _retry_after_seconds(value):
    try:
        return min(MAX_HEADER_WAIT, max(0.0, float(str(value).strip())))
    except (TypeError, ValueError):
        return None  # an HTTP date: the client's retry honours it; the shared window keeps its own pace


class Budget:
    """At most ``requests`` sends in any ``seconds``-long window, over every process sharing ``path``.

    The file keeps the send times of the last window (a sliding-window log). This holds under a sliding
    window, a fixed window or a token bucket on Cloudflare's side (which one it uses is not documented);
    a local token bucket would not (a full bucket plus its refill sends up to twice the limit in a window).
    ``sleep``/``now`` are injectable for tests.
    """

    def __init__(self, path, requests=DEFAULT_BUDGET[0], seconds=DEFAULT_BUDGET[1], sleep=time.sleep, now=time.time):
        self.path = path
        self.requests = int(requests)
        self.seconds = float(seconds)
        self.sleep = sleep
        self.now = now
        self.waited = 0.0  # seconds this process slept for the budget
        # A send is logged when it is due, a little before it reaches Cloudflare; going over costs a blocked
        # window, so a place frees up a little after the window ends.
        self.margin = max(0.25, self.seconds * 0.01)

    def _update(self, change):
        """Apply ``change(sent, state, now)`` under the file lock (``sent``: the window's send times, sorted)."""
        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        with os.fdopen(fd, "r+") as handle:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                try:
                    state = json.loads(handle.read() or "{}")
                except ValueError:
                    state = {}
                now = self.now()
                sent = [t for t in state.get("sent", []) if t > now - self.seconds]
                state = {"blocked_until": float(state.get("blocked_until", 0.0))}
                answer = change(sent, state, now)
                state["sent"] = [round(t, 3) for t in sent]
                handle.seek(0)
                handle.truncate()
                handle.write(json.dumps(state))
                handle.flush()
                return answer
            finally:
                if fcntl is not None:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    def before_send(self):
        """Take one send from the budget, sleeping until it is due (a reservation: waiting callers queue)."""
        def take(sent, state, now):
            due = max(now, state["blocked_until"])
            if len(sent) >= self.requests:
                due = max(due, sent[len(sent) - self.requests] + self.seconds + self.margin)
            sent.append(due)
            sent.sort()
            return due - now
        wait = self._update(take)
        if wait > 0:
            self.sleep(wait)
            self.waited += wait

    def after_response(self, status, headers):
        """Honour ``Retry-After`` (a 429) and ``Ratelimit`` for every process sharing the budget."""
        retry_after = _retry_after_seconds(headers.get("retry-after")) if status == 429 else None
        ratelimit = parse_ratelimit(headers.get("ratelimit"))
        if retry_after is None and ratelimit is None:
            return

        def observe(sent, state, now):
            if retry_after is not None:
                state["blocked_until"] = max(state["blocked_until"], now + retry_after)
            if ratelimit is not None:
                remaining, reset = ratelimit
                if remaining <= 0:
                    state["blocked_until"] = max(state["blocked_until"], now + reset)
                # Calls made elsewhere with the same credentials: count them as sent, ageing out at the reset.
                missing = int(self.requests - remaining) - len(sent)
                if missing > 0:
                    sent.extend([now + reset - self.seconds] * missing)
                    sent.sort()
        self._update(observe)


def default_directory():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "cfops-cloudflare")


def from_environment(base_url, token, environ=None):
    """The shared budget for this API URL and token, or None when it is off (see the module docstring)."""
    environ = os.environ if environ is None else environ
    setting = environ.get(ENV_BUDGET)
    if setting is None:
        if not (base_url or "").startswith(CLOUDFLARE_API.rstrip("/")):
            return None  # a local emulator or a proxy: Cloudflare's limit is not theirs unless asked
        limits = DEFAULT_BUDGET
    else:
        limits = parse_budget(setting)
        if limits is None:
            return None
    digest = hashlib.sha256(("%s\n%s" % (base_url, token)).encode("utf-8")).hexdigest()[:20]
    directory = environ.get(ENV_DIR) or default_directory()
    return Budget(os.path.join(directory, "api-budget-%s.json" % digest), *limits)
