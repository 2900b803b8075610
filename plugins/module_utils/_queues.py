# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""Queues logic shared by the queue modules: paths, names, finding a queue, settings comparison."""

from __future__ import annotations

import re

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import build_path
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError

NAME_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
QUEUES_PER_PAGE = 1000
QUEUE_SETTINGS = ("delivery_delay", "delivery_paused", "message_retention_period")
# Cloudflare's limits (developers.cloudflare.com/queues/platform/limits).
QUEUE_SETTING_LIMITS = {"delivery_delay": (0, 43200), "message_retention_period": (60, 1209600)}
CONSUMER_SETTING_LIMITS = {"batch_size": (1, 100), "max_retries": (0, 100), "max_wait_time_ms": (0, 60000),
                           "max_concurrency": (1, 250), "retry_delay": (0, 43200)}


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


def list_queues(client, account_id):
    """Every queue of the account, each with its consumers (one read per 1,000 queues)."""
    return client.list_pages(queues_path(account_id), per_page=QUEUES_PER_PAGE)


def find_queue(queues, name):
    for queue in queues:
        if queue.get("queue_name") == name:
            return queue
    return None


def settings_differ(wanted, current):
    """The names of the settings in ``wanted`` (None: leave as is) whose value differs from ``current``."""
    return sorted(name for name, value in wanted.items() if value is not None and current.get(name) != value)
