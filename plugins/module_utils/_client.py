# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""The one Cloudflare API client: auth, retries, pagination, errors.

It knows HTTP and Cloudflare's response envelope, nothing about Workers, KV or DNS.
"""

from __future__ import annotations

import datetime
import email.message
import email.utils
import math
import random
import re
import time
import traceback
from urllib.parse import quote

try:
    import httpx
except ImportError:
    httpx = None
    HTTPX_IMPORT_ERROR = traceback.format_exc()
else:
    HTTPX_IMPORT_ERROR = None

from ansible_collections.cfops.cloudflare.plugins.module_utils import _budget
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import clean_token, redact
from ansible_collections.cfops.cloudflare.plugins.module_utils._version import COLLECTION_VERSION

HAS_HTTPX = httpx is not None

DEFAULT_API_BASE_URL = "https://api.cloudflare.com/client/v4"
USER_AGENT = "cfops.cloudflare/%s" % COLLECTION_VERSION

RETRY_AFTER_MIN = 1.0
# Kept for callers of the 1.1 name; Retry-After is no longer capped (retrying earlier only earns another
# 429), the retry time budget (api_max_retry_time) bounds the wait instead.
RETRY_AFTER_MAX = float("inf")
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
# A refused connection means nothing listens there: a server restarting gets two short retries,
# a server that is down fails in about a second instead of the whole retry budget.
CONNECT_REFUSED_RETRIES = 2
CONNECT_REFUSED_DELAY = 0.5
LOOPBACK_HOSTS = ("localhost", "::1")

WRITE_METHODS = frozenset(("POST", "PUT", "PATCH", "DELETE"))

AUTH_HINTS = {
    401: " (check api_token)",
    403: " (check account_id and the token's permissions)",
}

_REDACTED = "<redacted>"
_MAX_BODY_IN_MESSAGE = 300


class CloudflareAPIError(Exception):
    """A failed API call, with one message fit for a user.

    ``errors`` is Cloudflare's ``[{code, message}]`` list (empty when the response had none).
    """

    def __init__(self, message, status=None, errors=None, method=None, path=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors = errors or []
        self.method = method
        self.path = path
        # True when the failed request may have been applied (a write not resent after a 5xx or a timeout).
        self.ambiguous = False

    def __str__(self):
        return self.message

    @property
    def codes(self):
        return [error.get("code") for error in self.errors]

    def has_code(self, *codes):
        return any(code in codes for code in self.codes)

    def with_message(self, message):
        return CloudflareAPIError(message, status=self.status, errors=self.errors, method=self.method, path=self.path)


def build_path(*segments):
    """``build_path("accounts", account_id, "storage", "kv", "namespaces")`` with each segment URL-encoded.

    Encoding every segment keeps a KV key such as ``a/b?c`` one path segment.
    """
    return "/" + "/".join(quote(str(segment), safe="") for segment in segments)


def parse_retry_after(value, now):
    """Seconds to wait from a ``Retry-After`` header (seconds or HTTP date), at least 1; None if unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
        seconds = when.timestamp() - now()
    if not math.isfinite(seconds):
        return None
    return max(RETRY_AFTER_MIN, seconds)


def _header_params(header_value, header_name):
    """Parse ``value; a="x"; b=y`` the way the email package does (quoting, RFC 2231)."""
    message = email.message.Message()
    message[header_name] = header_value
    return message


def parse_multipart(content_type, body):
    """Split a ``multipart/*`` response body into ``[{name, filename, content_type, content}]``.

    Written out rather than using the email parser, which is not byte-exact for part bodies
    (line endings), and module bytes are compared by digest.
    """
    boundary = _header_params(content_type or "", "content-type").get_param("boundary")
    if not boundary:
        raise ValueError("multipart response without a boundary (Content-Type: %s)" % content_type)
    boundary = boundary.encode("latin-1")
    parts = []
    for newline in (b"\r\n", b"\n"):
        sections = (newline + body).split(newline + b"--" + boundary)
        if len(sections) > 1:
            break
    else:
        return parts
    for section in sections[1:]:
        if section.startswith(b"--"):
            break
        # The delimiter line may carry trailing whitespace before its line break.
        section = section.lstrip(b" \t")
        if section.startswith(newline):
            section = section[len(newline):]
        head, separator, content = section.partition(newline + newline)
        if not separator:
            # A part with no headers starts with the blank line.
            head, content = b"", section[len(newline):] if section.startswith(newline) else section
        headers = {}
        for line in head.split(newline):
            name, colon, value = line.decode("latin-1").partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        disposition = _header_params(headers.get("content-disposition", ""), "content-disposition")
        parts.append({
            "name": disposition.get_param("name", header="content-disposition"),
            "filename": disposition.get_filename(),
            "content_type": headers.get("content-type"),
            "content": content,
        })
    return parts


def retryable_transport_errors():
    """Transport failures worth another attempt (the S3 client shares this list)."""
    return (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def unsent_transport_errors():
    """Failures that happen before the request leaves: the server cannot have applied it."""
    return (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


# Kept for callers of the 1.1 names.
_retryable_transport_errors = retryable_transport_errors
_unsent_transport_errors = unsent_transport_errors


class RetryPolicy:
    """How many retries, how long in total, and how long to wait before each: one policy for the API
    client and the S3 client (``_s3.py``), so both honour the same module options.

    ``sleep`` and ``now`` are injectable so tests run without waiting; ``jitter`` returns a float in [0, 1).
    """

    def __init__(self, max_retries=8, max_retry_time=120, sleep=time.sleep, now=time.time, jitter=random.random):
        self.max_retries = max(0, int(max_retries))
        self.max_retry_time = max(0.0, float(max_retry_time))
        self.sleep = sleep
        self.now = now
        self.jitter = jitter

    def delay(self, retries, retry_after, rate_limited, remaining):
        """Seconds to wait before the next attempt, or None when the time budget does not allow one."""
        if retry_after is not None:
            # Retrying before the server's Retry-After only earns another 429.
            return retry_after if retry_after <= remaining else None
        # Exponential backoff with full jitter.
        delay = self.jitter() * min(BACKOFF_CAP, BACKOFF_BASE * (2 ** retries))
        if rate_limited:
            delay += RETRY_AFTER_MIN
        if remaining <= 0:
            return None
        return min(delay, remaining)

    def attempts(self):
        """The retry state of one request: ``next_wait()`` before each retry."""
        return RetryAttempts(self)


class RetryAttempts:
    """One request's retries: counts them and the time slept, and says when to stop."""

    def __init__(self, policy):
        self.policy = policy
        self.retries = 0
        self.slept = 0.0

    @property
    def remaining(self):
        """Seconds left of the retry time budget."""
        return self.policy.max_retry_time - self.slept

    def next_wait(self, retry_after=None, rate_limited=False, fixed=None):
        """Sleep before the next attempt and return True, or return False when the retries or the time are used up.

        ``fixed`` waits that many seconds (cut to the budget) instead of the backoff.
        """
        if fixed is not None:
            delay = min(fixed, self.remaining) if self.remaining > 0 else None
        else:
            delay = self.policy.delay(self.retries, retry_after, rate_limited, self.remaining)
        if self.retries >= self.policy.max_retries or delay is None:
            return False
        self.policy.sleep(delay)
        self.slept += delay
        self.retries += 1
        return True


class CloudflareClient:
    """Calls the Cloudflare API with one pooled HTTP/1.1 connection.

    ``sleep`` and ``now`` are injectable so tests run without waiting; ``jitter`` returns a float in [0, 1).
    ``calls`` counts the requests sent (``reads``/``writes``), retries included.
    Setting ``writes_allowed = False`` (check mode) makes any write raise before it is sent.
    """

    def __init__(self, api_token, base_url=DEFAULT_API_BASE_URL, timeout=30, max_retries=8, max_retry_time=120,
                 sleep=time.sleep, now=time.time, jitter=random.random, budget=None):
        if httpx is None:
            raise RuntimeError("the Python library httpx is required")
        # As given (what a message might show) and as sent: surrounding whitespace from a file or a
        # vault string stripped, inner control characters refused (InvalidInputError, token not shown).
        self._given_token = api_token or ""
        self._token = clean_token(self._given_token)
        self.base_url = (base_url or DEFAULT_API_BASE_URL).rstrip("/")
        self.retry_policy = RetryPolicy(max_retries, max_retry_time, sleep=sleep, now=now, jitter=jitter)
        self._now = now
        self.calls = {"reads": 0, "writes": 0}
        self.writes_allowed = True
        # The controller's shared API budget (_budget.py): before each send, after each answer.
        self.budget = budget if budget is not None else _budget.from_environment(self.base_url, self._token)
        self._http = httpx.Client(
            headers={"Authorization": "Bearer %s" % self._token, "User-Agent": USER_AGENT},
            timeout=httpx.Timeout(float(timeout)),
            follow_redirects=False,
        )

    @property
    def max_retries(self):
        return self.retry_policy.max_retries

    @property
    def max_retry_time(self):
        return self.retry_policy.max_retry_time

    def close(self):
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # --- convenience wrappers: each returns the envelope's ``result`` ---

    def get(self, path, params=None):
        return self.request("GET", path, params=params)["result"]

    def put(self, path, json=None, files=None, params=None):
        return self.request("PUT", path, params=params, json=json, files=files)["result"]

    def patch(self, path, json=None, files=None, params=None):
        return self.request("PATCH", path, params=params, json=json, files=files)["result"]

    def delete(self, path, json=None, params=None):
        return self.request("DELETE", path, params=params, json=json)["result"]

    def post(self, path, json=None, files=None, params=None, idempotent=False, read_only=False):
        """POST; a non-idempotent one is never resent after an ambiguous failure (see ``create``)."""
        return self.request("POST", path, params=params, json=json, files=files,
                            idempotent=idempotent or read_only, read_only=read_only)["result"]

    def create(self, path, find_existing, json=None, files=None, params=None):
        """POST that creates an object, safe against duplicates.

        After an ambiguous failure (5xx, read timeout, connection dropped after sending) the
        request may have been applied, so ``find_existing()`` is called instead of POSTing again:
        what it returns (not None) is returned as the result; only when it finds nothing is the
        POST sent again.
        """
        return self.request("POST", path, params=params, json=json, files=files,
                            find_existing=find_existing)["result"]

    def get_raw(self, path, params=None, headers=None):
        """GET an endpoint that does not answer with the JSON envelope; returns the ``httpx.Response``."""
        return self.request("GET", path, params=params, headers=headers, raw=True)

    # --- pagination ---

    def list_pages(self, path, params=None, per_page=100):
        """All items of a ``page``/``per_page`` list. Pass the largest ``per_page`` the endpoint allows."""
        items = []
        page = 1
        while True:
            query = dict(params or {}, page=page, per_page=per_page)
            envelope = self.request("GET", path, params=query)
            batch = envelope.get("result") or []
            items.extend(batch)
            info = envelope.get("result_info") or {}
            if not batch:
                break
            total_pages = info.get("total_pages")
            if total_pages is not None:
                if page >= total_pages:
                    break
            elif info.get("total_count") is not None and len(items) >= info["total_count"]:
                break
            # The server may cap per_page below what was asked; its own figure decides.
            if len(batch) < (info.get("per_page") or per_page):
                break
            page += 1
        return items

    def list_cursor(self, path, params=None, limit=1000, limit_param="limit"):
        """All items of a cursor-paged list (``result_info.cursor``; an empty cursor ends it)."""
        items = []
        cursor = None
        while True:
            query = dict(params or {})
            query[limit_param] = limit
            if cursor:
                query["cursor"] = cursor
            envelope = self.request("GET", path, params=query)
            items.extend(envelope.get("result") or [])
            next_cursor = (envelope.get("result_info") or {}).get("cursor")
            if not next_cursor:
                break
            if next_cursor == cursor:
                raise CloudflareAPIError("GET %s returned the same cursor twice; stopping to avoid a loop" % path,
                                         method="GET", path=path)
            cursor = next_cursor
        return items

    # --- the request loop ---

    def request(self, method, path, params=None, json=None, files=None, content=None, headers=None,
                idempotent=None, read_only=False, find_existing=None, raw=False):
        """Send one API call with retries; returns the envelope (a dict), or the response when ``raw``.

        ``idempotent`` defaults to True for every method but POST: only idempotent calls are
        resent after an ambiguous failure. ``read_only`` marks a POST that reads (counted as a read).
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method != "POST" or read_only
        is_write = method in WRITE_METHODS and not read_only
        if is_write and not self.writes_allowed:
            raise CloudflareAPIError("internal error: %s %s is a write and writes are disabled (check mode)"
                                     % (method, path), method=method, path=path)
        attempts = self.retry_policy.attempts()
        refused = 0
        resent_after_ambiguity = False
        while True:
            try:
                response = self._send(method, path, params, json, files, content, headers, is_write)
            except httpx.RequestError as exc:
                cause = CloudflareAPIError(self._scrub("%s %s failed: %s: %s" % (method, path, type(exc).__name__, exc)),
                                           method=method, path=path)
                if not isinstance(exc, retryable_transport_errors()):
                    raise cause from None
                # A refusal (or a name that does not resolve); a ConnectTimeout is a TimeoutException, not this.
                if isinstance(exc, httpx.ConnectError):
                    refused += 1
                    if refused > CONNECT_REFUSED_RETRIES or not attempts.next_wait(fixed=CONNECT_REFUSED_DELAY):
                        raise self._unreachable(method, path, exc) from None
                    continue
                ambiguous = not isinstance(exc, unsent_transport_errors())
                retry_after = None
                rate_limited = False
            else:
                status = response.status_code
                if status != 429 and status < 500:
                    if resent_after_ambiguity and 400 <= status < 500:
                        # The first attempt may have been applied after all (slow, then applied): its
                        # resend then answers "already exists" (D1 7502, KV 10014, queues 11009, R2 10004,
                        # health checks 1005; the codes differ and some are not documented, so any 4xx
                        # is checked). What the lookup finds now is the object: found, not a failure.
                        found = find_existing()
                        if found is not None:
                            return {"success": True, "errors": [], "messages": [], "result": found}
                    return self._handle(method, path, response, raw)
                cause = self._api_error(method, path, response)
                # A 429 was not processed; a 5xx may have been.
                ambiguous = status >= 500
                rate_limited = status == 429
                retry_after = parse_retry_after(response.headers.get("retry-after"), self._now)

            guarded = ambiguous and not idempotent
            if guarded and find_existing is None:
                error = cause.with_message(cause.message + "; not retried because the request may have been applied")
                error.ambiguous = True
                raise error
            if not attempts.next_wait(retry_after, rate_limited):
                raise cause.with_message("stopping after %d retries: %s%s"
                                         % (attempts.retries, cause.message, _retry_after_note(retry_after, attempts)))
            if guarded:
                found = find_existing()
                if found is not None:
                    return {"success": True, "errors": [], "messages": [], "result": found}
                resent_after_ambiguity = True

    def _unreachable(self, method, path, exc):
        """The message for a server that refuses connections: the URL tried and, locally, how to start it."""
        message = "%s %s failed: could not connect to %s (%s: %s)" % (method, path, self.base_url, type(exc).__name__, exc)
        host = httpx.URL(self.base_url).host
        if host in LOOPBACK_HOSTS or host.startswith("127."):
            message += ("; nothing listens there: if it is the local Cloudflare emulator, start it with"
                        " ./scripts/emulator.sh start (from the collection's repository) and use the URL it prints")
        else:
            message += "; check api_base_url and the network"
        return CloudflareAPIError(self._scrub(message), method=method, path=path)

    def _send(self, method, path, params, json, files, content, headers, is_write):
        self.calls["writes" if is_write else "reads"] += 1
        if self.budget:
            self.budget.before_send()
        response = self._http.request(method, self.base_url + path, params=params, json=json, files=files,
                                      content=content, headers=headers)
        if self.budget:
            self.budget.after_response(response.status_code, response.headers)
        return response

    def _handle(self, method, path, response, raw):
        if not 200 <= response.status_code < 300:
            raise self._api_error(method, path, response)
        if raw:
            return response
        if not response.content:
            return {"success": True, "errors": [], "messages": [], "result": None}
        body = _json_or_none(response)
        if not isinstance(body, dict):
            raise CloudflareAPIError(
                self._scrub("%s %s returned HTTP %d with a body that is not Cloudflare's JSON envelope: %s"
                            % (method, path, response.status_code, _body_excerpt(response))),
                status=response.status_code, method=method, path=path)
        if body.get("success") is False:
            raise self._api_error(method, path, response, body)
        body.setdefault("result", None)
        return body

    def _api_error(self, method, path, response, body=None):
        status = response.status_code
        if body is None:
            body = _json_or_none(response)
        errors = []
        if isinstance(body, dict) and isinstance(body.get("errors"), list):
            for item in body["errors"]:
                if isinstance(item, dict):
                    errors.append({"code": item.get("code"), "message": self._scrub(str(item.get("message", "")))})
                    # Cloudflare may nest the specific cause: 1004 "DNS Validation Error" -> 9007 "Content for ...".
                    for cause in item.get("error_chain") or []:
                        if isinstance(cause, dict):
                            errors.append({"code": cause.get("code"), "message": self._scrub(str(cause.get("message", "")))})
                else:
                    errors.append({"code": None, "message": self._scrub(str(item))})
        if errors:
            detail = "; ".join(
                "[%s] %s" % (error["code"], error["message"]) if error["code"] is not None else error["message"]
                for error in errors)
        else:
            detail = _body_excerpt(response) or response.reason_phrase or "no error details"
        message = "%s %s failed with HTTP %d: %s%s" % (method, path, status, detail, AUTH_HINTS.get(status, ""))
        return CloudflareAPIError(self._scrub(message), status=status, errors=errors, method=method, path=path)

    def _scrub(self, text):
        """Remove the token, in every form a message can show it (raw, repr, URL-encoded), from text that may reach a user."""
        return redact(text, [self._given_token])


def _retry_after_note(retry_after, attempts):
    """Why the retries stopped when the server asked for a longer wait than the budget has left."""
    if retry_after is None or retry_after <= attempts.remaining:
        return ""
    return ("; Cloudflare asked to wait %g s before the next attempt (Retry-After), more than the %g s left of the"
            " retry time budget (api_max_retry_time): try again later or raise api_max_retry_time"
            % (retry_after, max(0.0, attempts.remaining)))


def _json_or_none(response):
    try:
        return response.json()
    except ValueError:
        return None


def _body_excerpt(response):
    text = re.sub(r"\s+", " ", response.text or "").strip()
    if len(text) > _MAX_BODY_IN_MESSAGE:
        text = text[:_MAX_BODY_IN_MESSAGE] + "..."
    return text
