# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""Queues logic shared by the queue modules: paths, names, looking queues up, consumers, settings."""

from __future__ import annotations

import re

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError, build_path
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError

NAME_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
QUEUE_SETTINGS = ("delivery_delay", "delivery_paused", "message_retention_period")
# Cloudflare's limits (developers.cloudflare.com/queues/platform/limits).
QUEUE_SETTING_LIMITS = {"delivery_delay": (0, 43200), "message_retention_period": (60, 1209600)}
CONSUMER_SETTING_LIMITS = {"batch_size": (1, 100), "max_retries": (0, 100), "max_wait_time_ms": (0, 60000),
                           "max_concurrency": (1, 250), "retry_delay": (0, 43200)}
# The fields that may name a consumer's Worker: the live API answers ``script`` (Terraform's
# queue_consumer/custom.go), wrangler also matches ``service``, the SDK's model has ``script_name``.
CONSUMER_SCRIPT_FIELDS = ("script", "service", "script_name")
MAX_PAGES = 1000


def queues_path(account_id, *rest):
    return build_path("accounts", account_id, "queues", *rest)


def validate_queue_name(name, option="name"):
    if not name or not NAME_PATTERN.match(name):
        raise InvalidInputError("%s %r is not a valid queue name: 1 to 63 lowercase letters, digits and dashes, "
                                "starting and ending with a letter or digit" % (option, name))


def validate_limits(values, limits):
    for name, value in values.items():
        if value is None or name not in limits:
            continue
        low, high = limits[name]
        if not low <= value <= high:
            raise InvalidInputError("%s must be from %d to %d, got %s" % (name, low, high, value))


def _more_pages(info, page, seen):
    """Whether ``result_info`` says there is a page after ``page`` (wrangler's hasMorePages, or total_pages)."""
    if not isinstance(info, dict):
        return False
    if info.get("total_pages") is not None:
        return page < info["total_pages"]
    total, per_page = info.get("total_count"), info.get("per_page")
    if total is not None and per_page:
        return page * per_page < total
    return total is not None and seen < total


def _list(client, account_id, names):
    """The queues the list returns for ``?name=...``, every page of it.

    The current SDK gives this list no paging (``SyncSinglePage``) while wrangler sends ``page`` and reads
    ``result_info``: follow the pages while ``result_info`` says there are more, and fail rather than stop
    early when the server does not move to the next page.
    """
    queues, seen_ids, page = [], set(), 1
    while True:
        params = [("name", name) for name in names] + [("page", page)]
        envelope = client.request("GET", queues_path(account_id), params=params)
        batch = envelope.get("result") or []
        info = envelope.get("result_info")
        fresh = [queue for queue in batch if queue.get("queue_id") not in seen_ids]
        seen_ids.update(queue.get("queue_id") for queue in fresh)
        queues.extend(fresh)
        if not _more_pages(info, page, len(queues)):
            return queues
        if not fresh or page >= MAX_PAGES:
            raise CloudflareAPIError(
                "GET %s: the list says it has more queues (%s) but page %d brought no new ones; stopping rather than "
                "working from a partial list" % (queues_path(account_id), info, page + 1), method="GET",
                path=queues_path(account_id))
        page += 1


def lookup_queues(client, account_id, names):
    """``{name: queue or None}`` for the queue names given, each queue with its consumers.

    One read for all of them (``?name=a&name=b``, as wrangler's deploy asks); a name the answer lacks is
    confirmed with a request of its own, in case the server filters by one name only.
    """
    names = list(dict.fromkeys(name for name in names if name))
    found = dict.fromkeys(names)
    for queue in _list(client, account_id, names):
        if queue.get("queue_name") in found and found[queue["queue_name"]] is None:
            found[queue["queue_name"]] = queue
    if len(names) > 1:
        for name in [name for name, queue in found.items() if queue is None]:
            found[name] = find_queue(_list(client, account_id, [name]), name)
    return found


def lookup_queue(client, account_id, name):
    """The queue named ``name`` (with its consumers), or None."""
    return lookup_queues(client, account_id, [name])[name]


def find_queue(queues, name):
    for queue in queues:
        if queue.get("queue_name") == name:
            return queue
    return None


def consumer_script(consumer):
    """The Worker a consumer names, whichever field the API used for it."""
    for field in CONSUMER_SCRIPT_FIELDS:
        if consumer.get(field):
            return consumer[field]
    return None


def find_worker_consumer(queue, script_name):
    """The Worker consumer of ``queue`` that names ``script_name``, or None."""
    for consumer in (queue or {}).get("consumers") or []:
        if consumer.get("type", "worker") == "worker" and consumer_script(consumer) == script_name:
            return consumer
    return None


def settings_differ(wanted, current):
    """The names of the settings in ``wanted`` (None: leave as is) whose value differs from ``current``."""
    return sorted(name for name, value in wanted.items() if value is not None and current.get(name) != value)
