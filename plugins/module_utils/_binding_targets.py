# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""Check that every resource a Worker binds exists, with reads only, before the first write of a deploy.

Cloudflare refuses an upload whose D1, R2, queue or service binding names nothing (code 10021, as the
emulator does); checked here, the refusal comes before a KV namespace or a version was created.
"""

from __future__ import annotations

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError, build_path
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._queues import lookup_queues


def _exists(client, path):
    """True when GET ``path`` answers, False on a 404 (the object is not there)."""
    try:
        client.get(path)
    except CloudflareAPIError as exc:
        if exc.status == 404:
            return False
        raise
    return True


def missing_targets(client, account_id, params, script_name):
    """``["d1_databases: binding DB: D1 database id ... does not exist", ...]`` for the targets that do not exist."""
    problems = []
    for spec in params.get("d1_databases") or []:
        if not _exists(client, build_path("accounts", account_id, "d1", "database", spec["database_id"])):
            problems.append("d1_databases: binding %s: no D1 database with id %s (create it with cfops.cloudflare.d1_database)"
                            % (spec["binding"], spec["database_id"]))
    for spec in params.get("r2_buckets") or []:
        if not _exists(client, build_path("accounts", account_id, "r2", "buckets", spec["bucket_name"])):
            problems.append("r2_buckets: binding %s: no R2 bucket named %s (create it with cfops.cloudflare.r2_bucket)"
                            % (spec["binding"], spec["bucket_name"]))
    queue_specs = params.get("queues") or []
    if queue_specs:
        found = lookup_queues(client, account_id, [spec["queue_name"] for spec in queue_specs])
        for spec in queue_specs:
            if found.get(spec["queue_name"]) is None:
                problems.append("queues: binding %s: no queue named %s (create it with cfops.cloudflare.queue)"
                                % (spec["binding"], spec["queue_name"]))
    # A Worker may bind itself (service or Durable Object): it exists once this upload is applied.
    scripts = [("services", spec["binding"], spec["service"]) for spec in params.get("services") or []]
    scripts += [("durable_objects", spec["binding"], spec["script_name"]) for spec in params.get("durable_objects") or []
                if spec.get("script_name")]
    scripts = [item for item in scripts if item[2] != script_name]
    if scripts:
        names = worker_names(client, account_id)
        for option, binding, name in scripts:
            if name not in names:
                problems.append("%s: binding %s: no Worker named %s in account %s (deploy it first)"
                                % (option, binding, name, account_id))
    return problems


def check_targets(client, account_id, params, script_name):
    """InvalidInputError listing every binding whose target does not exist."""
    problems = missing_targets(client, account_id, params, script_name)
    if problems:
        raise InvalidInputError("Worker %s binds resources that do not exist: %s" % (script_name, "; ".join(problems)))


def worker_names(client, account_id):
    """The names of the account's Workers (one read)."""
    return {script.get("id") for script in client.get(build_path("accounts", account_id, "workers", "scripts")) or []}


def check_worker_exists(client, account_id, name, option, what="route to it"):
    """InvalidInputError unless the account has a Worker called ``name`` (read before a write that names it)."""
    if name not in worker_names(client, account_id):
        raise InvalidInputError("%s: no Worker named %s in account %s: deploy it (cfops.cloudflare.worker_script) "
                                "before you %s" % (option, name, account_id, what))
