# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""Read a wrangler configuration (wrangler.toml, wrangler.json, wrangler.jsonc) into module arguments.

Environment inheritance follows wrangler (packages/workers-utils/src/config/environment.ts and
validation.ts in cloudflare/workers-sdk): keys marked ``@inheritable`` are taken from ``[env.<name>]``
when it sets them and from the top level otherwise; ``@nonInheritable`` keys (vars and every binding)
come only from the environment; the name defaults to ``<top-level name>-<environment>``.
"""

from __future__ import annotations

import json
import os

from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._worker_triggers import cron_problem, pattern_host

try:
    import tomllib  # Python 3.11+
except ImportError:  # older controllers read JSON configs only
    tomllib = None

# wrangler looks for these in this order.
CONFIG_FILES = ("wrangler.json", "wrangler.jsonc", "wrangler.toml")

# Keys wrangler takes from the top level when [env.<name>] does not set them.
INHERITABLE = frozenset((
    "name", "account_id", "compatibility_date", "compatibility_flags", "main", "find_additional_modules",
    "preserve_file_names", "base_dir", "workers_dev", "preview_urls", "routes", "route", "tsconfig", "jsx_factory",
    "jsx_fragment", "migrations", "exports", "triggers", "limits", "rules", "build", "no_bundle", "minify",
    "keep_names", "first_party_worker", "logfwdr", "logpush", "upload_source_maps", "placement", "assets",
    "observability", "access", "cache", "python_modules", "previews", "usage_model", "node_compat",
    "compliance_region",
))
# Keys only an environment itself sets (wrangler warns when the top level has them and the environment does not).
NON_INHERITABLE = frozenset((
    "define", "vars", "secrets", "durable_objects", "workflows", "cloudchamber", "containers", "kv_namespaces",
    "send_email", "queues", "r2_buckets", "d1_databases", "vectorize", "hyperdrive", "services",
    "analytics_engine_datasets", "browser", "ai", "images", "media", "stream", "version_metadata", "unsafe",
    "mtls_certificates", "tail_consumers", "streaming_tail_consumers", "dispatch_namespaces", "pipelines",
    "secrets_store_secrets", "ratelimits", "worker_loaders", "vpc_services", "ai_search", "ai_search_namespaces",
    "agent_memory", "websearch", "artifacts", "flagship", "connect", "unsafe_hello_world", "vpc_networks",
))
# Keys that only matter to wrangler itself or local development: listed in ``ignored``, not mapped.
TOOLING_ONLY = frozenset(("$schema", "dev", "send_metrics", "keep_vars", "alias", "env"))
# The keys mapped to module arguments.
MAPPED = frozenset((
    "name", "account_id", "main", "compatibility_date", "compatibility_flags", "vars", "kv_namespaces",
    "durable_objects", "migrations", "queues", "d1_databases", "r2_buckets", "services",
    "analytics_engine_datasets", "routes", "route", "triggers", "workers_dev", "preview_urls", "version_metadata",
))
# Binding entry keys used by local development only (wrangler dev, remote bindings).
DEV_ONLY_FIELDS = frozenset(("preview_id", "preview_bucket_name", "preview_database_id", "remote", "migrations_dir",
                             "migrations_table", "migrations_pattern", "database_internal_env", "local_dev",
                             "experimental_remote"))


class WranglerConfigError(InvalidInputError):
    """A configuration that cannot be read; the message names the file (and the line when known)."""


# Reading -------------------------------------------------------------------------------------------------------

def find_config(path):
    """The config file: ``path`` itself, or the first of CONFIG_FILES in the directory ``path``."""
    if os.path.isdir(path):
        for name in CONFIG_FILES:
            candidate = os.path.join(path, name)
            if os.path.isfile(candidate):
                return candidate
        raise WranglerConfigError("no wrangler configuration in %s (looked for %s)" % (path, ", ".join(CONFIG_FILES)))
    if not os.path.isfile(path):
        raise WranglerConfigError("wrangler configuration %s does not exist" % path)
    return path


def strip_jsonc(text):
    """``text`` with ``//`` and ``/* */`` comments and trailing commas blanked out.

    Every removed character becomes a space (newlines stay), so json's line and column numbers
    still point into the original file.
    """
    out = list(text)
    index, length = 0, len(text)
    last_comma = None  # index of a comma that may turn out to be trailing
    while index < length:
        char = text[index]
        if char == '"':
            last_comma = None
            index += 1
            while index < length and text[index] != '"':
                index += 2 if text[index] == "\\" else 1
            index += 1
            continue
        if text.startswith("//", index):
            while index < length and text[index] != "\n":
                out[index] = " "
                index += 1
            continue
        if text.startswith("/*", index):
            end = text.find("*/", index + 2)
            end = length if end < 0 else end + 2
            for position in range(index, end):
                if text[position] != "\n":
                    out[position] = " "
            index = end
            continue
        if char == ",":
            last_comma = index
        elif char in "}]":
            if last_comma is not None:
                out[last_comma] = " "
            last_comma = None
        elif not char.isspace():
            last_comma = None
        index += 1
    return "".join(out)


def parse_config(path):
    """The configuration document of the file ``path``."""
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise WranglerConfigError("%s is not UTF-8 text: %s" % (path, exc))
    if path.endswith(".toml"):
        if tomllib is None:
            raise WranglerConfigError("reading %s needs Python 3.11 or later on the host running the module "
                                      "(tomllib); use wrangler.json(c) or run the task with a newer Python" % path)
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise WranglerConfigError("%s: TOML syntax error: %s" % (path, exc))
    try:
        document = json.loads(strip_jsonc(text))
    except ValueError as exc:
        raise WranglerConfigError("%s: JSON syntax error at line %s, column %s: %s"
                                  % (path, getattr(exc, "lineno", "?"), getattr(exc, "colno", "?"),
                                     getattr(exc, "msg", exc)))
    if not isinstance(document, dict):
        raise WranglerConfigError("%s: the configuration must be a JSON object" % path)
    return document


# Environments ------------------------------------------------------------------------------------------------

def effective_config(document, environment, warnings):
    """The keys wrangler uses for ``environment`` (None: the top level), with its inheritance rules."""
    if not environment:
        return {key: value for key, value in document.items() if key != "env"}
    environments = document.get("env") or {}
    if not isinstance(environments, dict) or environment not in environments:
        raise WranglerConfigError("environment %r is not defined (defined: %s)"
                                  % (environment, ", ".join(sorted(environments)) or "none"))
    env = environments[environment] or {}
    merged = {}
    for key, value in document.items():
        if key == "env" or key in NON_INHERITABLE:
            continue
        merged[key] = value
    merged.update(env)
    if "name" not in env and document.get("name"):
        merged["name"] = "%s-%s" % (document["name"], environment)
    if ("route" in env or "routes" in env) and not ("route" in env and "routes" in env):
        merged.pop("routes" if "route" in env else "route", None)
    for key in sorted(NON_INHERITABLE & set(document) - set(env)):
        warnings.append("%r exists at the top level but not in env.%s: wrangler does not inherit it, so the "
                        "environment gets none (as wrangler deploy --env %s would)" % (key, environment, environment))
    return merged


# Mapping to module arguments ---------------------------------------------------------------------------------

class _Mapper:
    def __init__(self, config, config_dir):
        self.config = config
        self.config_dir = config_dir
        self.unsupported = []
        self.ignored = []

    def entries(self, key, value=None, fields=()):
        """The list of tables at ``key``; unknown fields of each are reported."""
        value = self.config.get(key) if value is None else value
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise WranglerConfigError("%s must be a list of tables" % key)
        for index, item in enumerate(value):
            for field in sorted(set(item) - set(fields)):
                target = self.ignored if field in DEV_ONLY_FIELDS else self.unsupported
                target.append("%s[%d].%s" % (key, index, field))
        return value

    def require(self, key, index, item, field):
        if not isinstance(item.get(field), str) or not item[field]:
            raise WranglerConfigError("%s[%d] needs a string %r" % (key, index, field))
        return item[field]

    def vars(self):
        text_vars, json_vars = {}, {}
        values = self.config.get("vars") or {}
        if not isinstance(values, dict):
            raise WranglerConfigError("vars must be a table of names to values")
        for name, value in values.items():
            # wrangler sends strings as plain_text bindings and everything else as json bindings.
            (text_vars if isinstance(value, str) else json_vars)[name] = value
        return text_vars, json_vars

    def main_module(self):
        main = self.config.get("main")
        if main is None:
            return None
        if not isinstance(main, str):
            raise WranglerConfigError("main must be a path")
        return os.path.normpath(os.path.join(self.config_dir, main))

    def kv_namespaces(self):
        return [{"binding": self.require("kv_namespaces", index, item, "binding"),
                 "namespace_id": self.require("kv_namespaces", index, item, "id")}
                for index, item in enumerate(self.entries("kv_namespaces", fields=("binding", "id")))]

    def durable_objects(self):
        section = self.config.get("durable_objects") or {}
        if not isinstance(section, dict):
            raise WranglerConfigError("durable_objects must be a table with a bindings list")
        for key in sorted(set(section) - {"bindings"}):
            self.unsupported.append("durable_objects.%s" % key)
        result = []
        key = "durable_objects.bindings"
        for index, item in enumerate(self.entries(key, section.get("bindings"), ("name", "class_name", "script_name"))):
            binding = {"binding": self.require(key, index, item, "name"),
                       "class_name": self.require(key, index, item, "class_name")}
            if item.get("script_name"):
                binding["script_name"] = item["script_name"]
            result.append(binding)
        return result

    def migrations(self):
        fields = ("tag", "new_classes", "new_sqlite_classes", "renamed_classes", "deleted_classes",
                  "transferred_classes")
        result = []
        for index, item in enumerate(self.entries("migrations", fields=fields)):
            migration = {"tag": self.require("migrations", index, item, "tag")}
            for field in fields[1:]:
                migration[field] = list(item.get(field) or [])
            result.append(migration)
        return result

    def queues(self):
        section = self.config.get("queues") or {}
        if not isinstance(section, dict):
            raise WranglerConfigError("queues must be a table with producers and consumers lists")
        for key in sorted(set(section) - {"producers", "consumers"}):
            self.unsupported.append("queues.%s" % key)
        producers = [{"binding": self.require("queues.producers", index, item, "binding"),
                      "queue_name": self.require("queues.producers", index, item, "queue")}
                     for index, item in enumerate(self.entries("queues.producers", section.get("producers"),
                                                               ("binding", "queue")))]
        consumer_fields = ("queue", "type", "max_batch_size", "max_batch_timeout", "max_retries", "dead_letter_queue",
                           "max_concurrency", "retry_delay", "visibility_timeout_ms")
        consumers = []
        for index, item in enumerate(self.entries("queues.consumers", section.get("consumers"), consumer_fields)):
            consumer = {"queue_name": self.require("queues.consumers", index, item, "queue")}
            consumer.update({field: item[field] for field in consumer_fields[1:] if field in item})
            consumers.append(consumer)
        return producers, consumers

    def simple(self, key, mapping):
        """Entries of ``key`` with fields renamed by ``mapping`` ({wrangler field: option field}); all required
        except those mapped to a name ending in ``?``."""
        result = []
        for index, item in enumerate(self.entries(key, fields=tuple(mapping))):
            entry = {}
            for source, target in mapping.items():
                if target.endswith("?"):
                    if item.get(source):
                        entry[target[:-1]] = item[source]
                else:
                    entry[target] = self.require(key, index, item, source)
            result.append(entry)
        return result

    def routes(self):
        value = self.config.get("routes")
        if value is None and self.config.get("route") is not None:
            value = [self.config["route"]]
        routes, custom_domains = [], []
        for index, item in enumerate(value or []):
            if isinstance(item, str):
                item = {"pattern": item}
            if not isinstance(item, dict) or not isinstance(item.get("pattern"), str):
                raise WranglerConfigError("routes[%d] must be a pattern or a table with a pattern" % index)
            for field in sorted(set(item) - {"pattern", "zone_name", "zone_id", "custom_domain"}):
                self.unsupported.append("routes[%d].%s" % (index, field))
            zone = item.get("zone_id") or item.get("zone_name")
            if item.get("custom_domain"):
                custom_domains.append({"hostname": pattern_host(item["pattern"]), "zone": zone})
            else:
                routes.append({"pattern": item["pattern"], "zone": zone})
        return routes, custom_domains

    def version_metadata(self):
        """The binding name of ``version_metadata = { binding = "NAME" }`` (None without one)."""
        section = self.config.get("version_metadata")
        if section is None:
            return None
        if not isinstance(section, dict) or not isinstance(section.get("binding"), str) or not section["binding"]:
            raise WranglerConfigError("version_metadata must be a table with a string 'binding'")
        for key in sorted(set(section) - {"binding"}):
            self.unsupported.append("version_metadata.%s" % key)
        return section["binding"]

    def crons(self, warnings):
        triggers = self.config.get("triggers") or {}
        if not isinstance(triggers, dict):
            raise WranglerConfigError("triggers must be a table with a crons list")
        for key in sorted(set(triggers) - {"crons"}):
            self.unsupported.append("triggers.%s" % key)
        crons = triggers.get("crons") or []
        if not isinstance(crons, list) or not all(isinstance(cron, str) for cron in crons):
            raise WranglerConfigError("triggers.crons must be a list of cron expressions")
        for cron in crons:
            problem = cron_problem(cron)
            if problem:
                warnings.append("triggers.crons: Cloudflare will reject %r: %s" % (cron, problem))
        return list(crons)


def to_module_arguments(document, config_path, environment=None):
    """``(result, warnings)``: the module arguments the configuration means for ``environment``."""
    warnings = []
    config = effective_config(document, environment, warnings)
    mapper = _Mapper(config, os.path.dirname(os.path.abspath(config_path)))
    text_vars, json_vars = mapper.vars()
    producers, consumers = mapper.queues()
    routes, custom_domains = mapper.routes()
    crons = mapper.crons(warnings)
    worker = {
        "name": config.get("name"),
        "main_module": mapper.main_module(),
        "compatibility_date": config.get("compatibility_date"),
        "compatibility_flags": list(config.get("compatibility_flags") or []),
        "text_vars": text_vars,
        "json_vars": json_vars,
        "kv_namespaces": mapper.kv_namespaces(),
        "durable_objects": mapper.durable_objects(),
        "migrations": mapper.migrations(),
        "queues": producers,
        "d1_databases": mapper.simple("d1_databases", {"binding": "binding", "database_id": "database_id",
                                                       "database_name": "database_name?"}),
        "r2_buckets": mapper.simple("r2_buckets", {"binding": "binding", "bucket_name": "bucket_name",
                                                   "jurisdiction": "jurisdiction?"}),
        "services": mapper.simple("services", {"binding": "binding", "service": "service",
                                               "environment": "environment?", "entrypoint": "entrypoint?"}),
        "analytics_engine_datasets": mapper.simple("analytics_engine_datasets",
                                                   {"binding": "binding", "dataset": "dataset?"}),
        "version_metadata": mapper.version_metadata(),
    }
    if worker["main_module"] and not worker["main_module"].endswith((".js", ".mjs")):
        warnings.append("main is %s: the upload needs the built JavaScript module, so build it and point "
                        "main_module at the output" % worker["main_module"])
    workers_dev = config.get("workers_dev")
    if workers_dev is None:
        workers_dev = not routes and not custom_domains  # wrangler's default: on unless routes are set
    preview_urls = config.get("preview_urls")
    for key in sorted(set(config) - MAPPED - TOOLING_ONLY):
        mapper.unsupported.append(key)
    mapper.ignored.extend(sorted(set(config) & TOOLING_ONLY))
    if mapper.unsupported:
        warnings.append("wrangler keys not mapped to module arguments (apply them another way): %s"
                        % ", ".join(mapper.unsupported))
    result = {
        "config_file": os.path.abspath(config_path),
        "environment": environment,
        "account_id": config.get("account_id"),
        "worker": worker,
        "routes": routes,
        "custom_domains": custom_domains,
        "crons": crons,
        "workers_dev": bool(workers_dev),
        "preview_urls": preview_urls if preview_urls is None else bool(preview_urls),
        "queue_consumers": consumers,
        "unsupported": mapper.unsupported,
        "ignored": mapper.ignored,
    }
    return result, warnings


def read_wrangler_config(path, environment=None):
    """``(result, warnings)`` for the config at ``path`` (a file or a project directory)."""
    config_path = find_config(path)
    return to_module_arguments(parse_config(config_path), config_path, environment)
