# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""Workers logic shared by the worker modules: paths, input checks, bindings, the upload plan."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import build_path
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._kv import NAMESPACES_PER_PAGE, namespaces_path

SCRIPT_NAME_RE = re.compile(r"^[a-z0-9_][a-z0-9-_]*$")
SCRIPT_NAME_MAX_LENGTH = 63
SCRIPT_NOT_FOUND_CODE = 10007

MODULE_CONTENT_TYPES = {
    ".js": "application/javascript+module",
    ".mjs": "application/javascript+module",
    ".wasm": "application/wasm",
    ".txt": "text/plain",
    ".bin": "application/octet-stream",
    ".map": "application/source-map",
}
MAIN_MODULE_EXTENSIONS = (".js", ".mjs")

SECRET_BINDING_TYPES = ("secret_text", "secret_key")
# Sent as keep_bindings so secrets set outside the upload (worker_secret) survive it.
KEEP_SECRET_BINDINGS = ["secret_text", "secret_key"]


def scripts_path(account_id, *rest):
    return build_path("accounts", account_id, "workers", "scripts", *rest)


def sha256_hex(content):
    return hashlib.sha256(content).hexdigest()


def validate_script_name(name, option="name"):
    if not name or len(name) > SCRIPT_NAME_MAX_LENGTH or not SCRIPT_NAME_RE.match(name):
        raise InvalidInputError(
            "%s %r is not a valid Worker name: use at most %d characters from a-z, 0-9, '-' and '_', "
            "not starting with '-'" % (option, name, SCRIPT_NAME_MAX_LENGTH))


def validate_compatibility_date(value):
    if value is None:
        raise InvalidInputError("compatibility_date is required when state is present (YYYY-MM-DD)")
    try:
        if not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
            raise ValueError(value)
        datetime.date.fromisoformat(value)
    except ValueError:
        raise InvalidInputError("compatibility_date %r must be a date like 2024-09-23 (YYYY-MM-DD)" % value) from None


def load_modules(main_module, additional_modules):
    """Read the module files into ``[{name, content, content_type}]``, the main module first.

    Names are paths relative to the main module's directory, with ``/`` separators, as the
    main module imports them (``import x from "./lib/x.js"``).
    """
    main_path = os.path.abspath(main_module)
    missing = [path for path in [main_module] + list(additional_modules or []) if not os.path.isfile(path)]
    if missing:
        raise InvalidInputError("code file(s) not found: %s" % ", ".join(missing))
    if not main_path.endswith(MAIN_MODULE_EXTENSIONS):
        raise InvalidInputError("main_module %s must be an ES module (.js or .mjs)" % main_module)
    base_dir = os.path.dirname(main_path)
    modules = [_read_module(main_path, os.path.basename(main_path), "main_module")]
    names = {modules[0]["name"]}
    for path in additional_modules or []:
        full_path = os.path.abspath(path)
        relative = os.path.relpath(full_path, base_dir)
        if relative == os.pardir or relative.startswith(os.pardir + os.sep):
            raise InvalidInputError("additional_modules: %s is outside the main module's directory %s" % (path, base_dir))
        name = relative.replace(os.sep, "/")
        if name in names:
            raise InvalidInputError("additional_modules: %s is listed twice (module name %s)" % (path, name))
        names.add(name)
        modules.append(_read_module(full_path, name, "additional_modules"))
    return modules


def _read_module(path, name, option):
    extension = os.path.splitext(path)[1].lower()
    content_type = MODULE_CONTENT_TYPES.get(extension)
    if content_type is None:
        raise InvalidInputError("%s: %s has an unsupported extension (supported: %s)"
                                % (option, path, ", ".join(sorted(MODULE_CONTENT_TYPES))))
    with open(path, "rb") as handle:
        content = handle.read()
    return {"name": name, "content": content, "content_type": content_type}


def _text_value(option, name, value):
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise InvalidInputError("%s.%s must be a string (quote it; use json_vars for structured values)" % (option, name))


def resolve_kv_bindings(specs, namespaces, account_id):
    """``kv_namespaces`` items (``{binding, namespace_id}`` or ``{binding, title}``) → kv_namespace bindings.

    ``namespaces`` is the account's namespace list; an unknown id or title is an error naming it.
    """
    by_id = {namespace["id"]: namespace for namespace in namespaces}
    by_title = {namespace["title"]: namespace for namespace in namespaces}
    bindings = []
    for spec in specs or []:
        if spec.get("namespace_id"):
            if spec["namespace_id"] not in by_id:
                raise InvalidInputError("kv_namespaces: binding %s: KV namespace id %r does not exist in account %s"
                                        % (spec["binding"], spec["namespace_id"], account_id))
            namespace_id = spec["namespace_id"]
        else:
            if spec.get("title") not in by_title:
                raise InvalidInputError("kv_namespaces: binding %s: no KV namespace titled %r in account %s"
                                        % (spec["binding"], spec.get("title"), account_id))
            namespace_id = by_title[spec["title"]]["id"]
        bindings.append({"type": "kv_namespace", "name": spec["binding"], "namespace_id": namespace_id})
    return bindings


def check_bindings(kv_specs, text_vars, json_vars, secrets, other=()):
    """Fail on binding input that cannot be uploaded; needs no API call, so it runs before any.

    ``other`` are ``(option, binding name)`` pairs of the other binding options."""
    empty = sorted(name for name, value in (secrets or {}).items() if value is None or value == "")
    if empty:
        raise InvalidInputError("secret(s) without a value: %s" % ", ".join(empty))
    for option, values in (("text_vars", text_vars), ("secrets", secrets)):
        for name, value in (values or {}).items():
            _text_value(option, name, value)
    seen = {}
    named = [("kv_namespaces", spec["binding"]) for spec in kv_specs or []]
    for option, values in (("text_vars", text_vars), ("json_vars", json_vars), ("secrets", secrets)):
        named += [(option, name) for name in sorted(values or {})]
    named += list(other)
    for option, name in named:
        if name in seen:
            raise InvalidInputError("binding name %s is used twice (in %s and %s)" % (name, seen[name], option))
        seen[name] = option


def desired_bindings(kv_bindings, text_vars, json_vars, secrets):
    """The bindings a script should have: ``(non_secret_bindings, {secret name: value})``.

    Expects input that passed ``check_bindings``.
    """
    bindings = list(kv_bindings)
    for name, value in sorted((text_vars or {}).items()):
        bindings.append({"type": "plain_text", "name": name, "text": _text_value("text_vars", name, value)})
    for name, value in sorted((json_vars or {}).items()):
        bindings.append({"type": "json", "name": name, "json": value})
    secret_values = {name: _text_value("secrets", name, value) for name, value in (secrets or {}).items()}
    return bindings, secret_values


def normalise_binding(binding):
    """A binding as compared and shown: secrets by type and name only, keys sorted."""
    if binding.get("type") in SECRET_BINDING_TYPES:
        return {"type": binding["type"], "name": binding.get("name")}
    return dict(sorted(binding.items()))


def _binding_key(binding):
    return json.dumps(normalise_binding(binding), sort_keys=True)


def sorted_bindings(bindings):
    return sorted((normalise_binding(binding) for binding in bindings), key=lambda b: (b.get("name") or "", b.get("type") or ""))


def current_modules(parts):
    """``content/v2`` multipart parts → ``{module name: sha256}``."""
    modules = {}
    for part in parts:
        name = part.get("filename") or part.get("name")
        if name:
            modules[name] = sha256_hex(part["content"])
    return modules


def script_summary(modules, compatibility_date, compatibility_flags, bindings):
    """What the diff and the result show of a script: digests, not code; secret names, not values."""
    return {
        "modules": [{"name": name, "sha256": digest} for name, digest in sorted(modules.items())],
        "compatibility_date": compatibility_date,
        "compatibility_flags": sorted(set(compatibility_flags or [])),
        "bindings": sorted_bindings(bindings),
    }


def plan_script(current, desired, update_secrets="on_create", keep_secrets=True):
    """Compare a script with what is wanted and say what an upload must carry.

    ``current`` is None (no script) or ``{modules: {name: sha256}, compatibility_date,
    compatibility_flags, bindings}`` as read back from the API. ``desired`` is ``{main_module,
    modules: [{name, content, content_type}], compatibility_date, compatibility_flags, bindings
    (non-secret), secrets: {name: value}}``.

    Secret values cannot be read back: with ``update_secrets=on_create`` an existing secret name
    counts as unchanged; with ``always`` every given secret is rewritten (so the plan changes).
    With ``keep_secrets`` the upload keeps the script's other secrets (``keep_bindings``).

    Returns ``{changed, differences, upload_bindings, before, after}``; ``before``/``after`` are
    summaries safe to show (no secret values, no code).
    """
    secrets = desired.get("secrets") or {}
    desired_modules = {module["name"]: sha256_hex(module["content"]) for module in desired["modules"]}
    current_bindings = (current or {}).get("bindings") or []
    current_secret_names = {b.get("name") for b in current_bindings if b.get("type") in SECRET_BINDING_TYPES}
    current_plain = [b for b in current_bindings if b.get("type") not in SECRET_BINDING_TYPES]

    if update_secrets == "always" or not keep_secrets:
        # Without keep_bindings the upload replaces every secret, so all of them must be sent.
        secrets_to_send = sorted(secrets)
    else:
        secrets_to_send = sorted(name for name in secrets if name not in current_secret_names)
    after_secret_names = set(secrets) | (current_secret_names if keep_secrets else set())

    after_bindings = list(desired["bindings"]) + [{"type": "secret_text", "name": name} for name in secrets]
    if keep_secrets:
        after_bindings += [b for b in current_bindings if b.get("type") in SECRET_BINDING_TYPES and b.get("name") not in secrets]
    after = script_summary(desired_modules, desired["compatibility_date"], desired.get("compatibility_flags"), after_bindings)

    if current is None:
        differences = ["script"]
        before = None
    else:
        before = script_summary(current.get("modules") or {}, current.get("compatibility_date"),
                                current.get("compatibility_flags"), current_bindings)
        differences = []
        if before["modules"] != after["modules"]:
            differences.append("modules")
        if before["compatibility_date"] != after["compatibility_date"]:
            differences.append("compatibility_date")
        if before["compatibility_flags"] != after["compatibility_flags"]:
            differences.append("compatibility_flags")
        if {_binding_key(b) for b in current_plain} != {_binding_key(b) for b in desired["bindings"]}:
            differences.append("bindings")
        if after_secret_names != current_secret_names or (secrets and update_secrets == "always"):
            differences.append("secrets")

    upload_bindings = list(desired["bindings"]) + [
        {"type": "secret_text", "name": name, "text": secrets[name]} for name in secrets_to_send]
    return {
        "changed": bool(differences),
        "differences": differences,
        "upload_bindings": upload_bindings,
        "before": before,
        "after": after,
    }


def upload_metadata(desired, upload_bindings, keep_secrets=True):
    """The ``metadata`` part of ``PUT .../scripts/{name}``."""
    metadata = {
        "main_module": desired["main_module"],
        "compatibility_date": desired["compatibility_date"],
        "compatibility_flags": list(desired.get("compatibility_flags") or []),
        "bindings": upload_bindings,
    }
    if keep_secrets:
        metadata["keep_bindings"] = list(KEEP_SECRET_BINDINGS)
    return metadata


def upload_files(metadata, modules):
    """The multipart parts (httpx ``files=``): the metadata JSON, then one part per module."""
    files = [("metadata", (None, json.dumps(metadata).encode("utf-8"), "application/json"))]
    for module in modules:
        files.append((module["name"], (module["name"], module["content"], module["content_type"])))
    return files


# --- Shared options of worker_script and worker_version --------------------------------------------------

def code_argument_spec():
    """The code, compatibility, binding and migration options of worker_script and worker_version."""
    def binding_list(**fields):
        options = dict(binding=dict(type="str", required=True))
        options.update(fields)
        return dict(type="list", elements="dict", default=[], options=options)

    return dict(
        main_module=dict(type="path"),
        additional_modules=dict(type="list", elements="path", default=[]),
        compatibility_date=dict(type="str"),
        compatibility_flags=dict(type="list", elements="str", default=[]),
        kv_namespaces=dict(
            type="list", elements="dict", default=[],
            options=dict(
                binding=dict(type="str", required=True),
                namespace_id=dict(type="str"),
                title=dict(type="str"),
            ),
            mutually_exclusive=[("namespace_id", "title")],
            required_one_of=[("namespace_id", "title")],
        ),
        text_vars=dict(type="dict", default={}),
        json_vars=dict(type="dict", default={}),
        secrets=dict(type="dict", default={}, no_log=True),
        durable_objects=binding_list(class_name=dict(type="str", required=True), script_name=dict(type="str")),
        queues=binding_list(queue_name=dict(type="str", required=True)),
        d1_databases=binding_list(database_id=dict(type="str", required=True)),
        r2_buckets=binding_list(bucket_name=dict(type="str", required=True)),
        services=binding_list(service=dict(type="str", required=True), environment=dict(type="str")),
        analytics_engine_datasets=binding_list(dataset=dict(type="str", required=True)),
        migrations=dict(
            type="list", elements="dict", default=[],
            options=dict(
                tag=dict(type="str", required=True),
                new_classes=dict(type="list", elements="str", default=[]),
                new_sqlite_classes=dict(type="list", elements="str", default=[]),
                renamed_classes=dict(type="list", elements="dict", default=[],
                                     options={"from": dict(type="str", required=True), "to": dict(type="str", required=True)}),
                deleted_classes=dict(type="list", elements="str", default=[]),
                transferred_classes=dict(type="list", elements="dict", default=[],
                                         options={"from": dict(type="str", required=True),
                                                  "from_script": dict(type="str", required=True),
                                                  "to": dict(type="str", required=True)}),
            ),
        ),
    )


# option -> (binding type, [(option field, metadata field)])
RESOURCE_BINDING_OPTIONS = (
    ("durable_objects", "durable_object_namespace", (("class_name", "class_name"), ("script_name", "script_name"))),
    ("queues", "queue", (("queue_name", "queue_name"),)),
    ("d1_databases", "d1", (("database_id", "id"),)),
    ("r2_buckets", "r2_bucket", (("bucket_name", "bucket_name"),)),
    ("services", "service", (("service", "service"), ("environment", "environment"))),
    ("analytics_engine_datasets", "analytics_engine", (("dataset", "dataset"),)),
)


def resource_bindings(params):
    """The bindings of durable_objects, queues, d1_databases, r2_buckets, services, analytics_engine_datasets."""
    bindings = []
    for option, kind, fields in RESOURCE_BINDING_OPTIONS:
        for spec in params.get(option) or []:
            binding = {"type": kind, "name": spec["binding"]}
            for field, key in fields:
                if spec.get(field):
                    binding[key] = spec[field]
            bindings.append(binding)
    return bindings


def resource_binding_names(params):
    return [(option, spec["binding"]) for option, _kind, _fields in RESOURCE_BINDING_OPTIONS for spec in params.get(option) or []]


def desired_code(client, account_id, params, modules):
    """``{main_module, modules, compatibility_date, compatibility_flags, bindings (non-secret), secrets}``;
    reads the account's KV namespaces (one paged list) only when kv_namespaces is given."""
    kv_bindings = []
    if params["kv_namespaces"]:
        namespaces = client.list_pages(namespaces_path(account_id), per_page=NAMESPACES_PER_PAGE)
        kv_bindings = resolve_kv_bindings(params["kv_namespaces"], namespaces, account_id)
    bindings, secrets = desired_bindings(kv_bindings, params["text_vars"], params["json_vars"], params["secrets"])
    return {
        "main_module": modules[0]["name"],
        "modules": modules,
        "compatibility_date": params["compatibility_date"],
        "compatibility_flags": params["compatibility_flags"],
        "bindings": bindings + resource_bindings(params),
        "secrets": secrets,
    }


def find_script(client, account_id, name):
    """The script's entry of the account's script list (etag, migration_tag, ...), or None."""
    for script in client.get(scripts_path(account_id)) or []:
        if script.get("id") == name:
            return script
    return None


def check_code_input(params):
    """Every check of the shared options that needs no API call: compatibility date, code files,
    binding names, migration steps. Returns the loaded modules."""
    if not params["main_module"]:
        raise InvalidInputError("main_module is required: the path of the Worker's ES-module entry file")
    validate_compatibility_date(params["compatibility_date"])
    modules = load_modules(params["main_module"], params["additional_modules"])
    check_bindings(params["kv_namespaces"], params["text_vars"], params["json_vars"], params["secrets"],
                   other=resource_binding_names(params))
    validate_migrations(params.get("migrations") or [])
    return modules


# --- Durable Object migrations (wrangler's way) ----------------------------------------------------------------

MIGRATION_LISTS = ("new_classes", "new_sqlite_classes", "renamed_classes", "deleted_classes", "transferred_classes")


def validate_migrations(steps):
    tags = [step["tag"] for step in steps]
    for tag in tags:
        if not tag:
            raise InvalidInputError("migrations: every step needs a non-empty tag")
        if tags.count(tag) > 1:
            raise InvalidInputError("migrations: tag %r is used by more than one step" % tag)


def pending_migrations(steps, current_tag):
    """The ``migrations`` metadata for the steps after ``current_tag``, or None when up to date.

    As wrangler: no current tag sends every step; the last step's tag is the current one sends
    nothing. Unlike wrangler, a current tag missing from ``steps`` is an error (replaying every step
    would recreate classes that exist).
    """
    if not steps:
        return None
    tags = [step["tag"] for step in steps]
    if current_tag:
        if current_tag not in tags:
            raise InvalidInputError(
                "the Worker's current Durable Object migration tag is %r, which is not among the migrations' tags (%s); "
                "add the steps that led to it (migrations are append-only)" % (current_tag, ", ".join(tags)))
        todo = steps[tags.index(current_tag) + 1:]
    else:
        todo = steps
    if not todo:
        return None
    result = {"new_tag": todo[-1]["tag"], "steps": [
        {field: step[field] for field in MIGRATION_LISTS if step.get(field)} for step in todo]}
    if current_tag:
        result["old_tag"] = current_tag
    return result


def check_deleted_classes_unbound(migrations, bindings, script_name):
    """A class the pending migrations delete must not be bound by this Worker's own bindings."""
    deleted = {name for step in (migrations or {}).get("steps", []) for name in step.get("deleted_classes") or []}
    for binding in bindings:
        if binding.get("type") == "durable_object_namespace" and binding.get("class_name") in deleted \
                and binding.get("script_name") in (None, "", script_name):
            raise InvalidInputError("migrations delete the Durable Object class %s, but binding %s (durable_objects) "
                                    "still uses it; remove the binding in the same change"
                                    % (binding["class_name"], binding["name"]))


# --- Versions ----------------------------------------------------------------------------------------------------

# The fingerprint of a version's content rides in this annotation (64 hex = a SHA-256), so an
# identical upload is recognised without downloading code (version content cannot be read back).
FINGERPRINT_ANNOTATION = "workers/commit_sha"
MESSAGE_ANNOTATION = "workers/message"
TAG_ANNOTATION = "workers/tag"
VERSIONS_COMPARED = 5
# keep_bindings of a version upload: secrets of the latest version survive it (as wrangler does).
VERSION_KEEP_BINDINGS = ["secret_text", "secret_key"]


def version_fingerprint(metadata, modules):
    """SHA-256 over modules, compatibility settings, bindings (secrets by name only) and message/tag."""
    annotations = metadata.get("annotations") or {}
    document = {
        "main_module": metadata.get("main_module"),
        "modules": sorted([m["name"], m["content_type"], sha256_hex(m["content"])] for m in modules),
        "compatibility_date": metadata.get("compatibility_date"),
        "compatibility_flags": sorted(set(metadata.get("compatibility_flags") or [])),
        "bindings": sorted_bindings(metadata.get("bindings") or []),
        "message": annotations.get(MESSAGE_ANNOTATION),
        "tag": annotations.get(TAG_ANNOTATION),
    }
    return sha256_hex(json.dumps(document, sort_keys=True).encode("utf-8"))


def version_summary(version):
    """What the modules return of a version (``GET .../versions/{id}`` or the upload's answer)."""
    annotations = version.get("annotations") or {}
    resources = version.get("resources") or {}
    runtime = resources.get("script_runtime") or {}
    return {
        "id": version.get("id"),
        "number": version.get("number"),
        "created_on": (version.get("metadata") or {}).get("created_on"),
        "message": annotations.get(MESSAGE_ANNOTATION),
        "tag": annotations.get(TAG_ANNOTATION),
        "fingerprint": annotations.get(FINGERPRINT_ANNOTATION),
        "compatibility_date": runtime.get("compatibility_date"),
        "compatibility_flags": runtime.get("compatibility_flags") or [],
        "migration_tag": runtime.get("migration_tag"),
        "bindings": sorted_bindings(resources.get("bindings") or []),
    }


# --- Deployments ---------------------------------------------------------------------------------------------------

MAX_DEPLOYMENT_VERSIONS = 2
DEPLOYABLE_VERSIONS = 100
SECRETS_CHANGED_CODE = 10220


def validate_split(versions):
    """1 or 2 versions, distinct ids, each 0.01-100 %, summing to 100; returns ``[{version_id, percentage}]``."""
    if not versions or len(versions) > MAX_DEPLOYMENT_VERSIONS:
        raise InvalidInputError("versions: a deployment has 1 or %d versions, got %d" % (MAX_DEPLOYMENT_VERSIONS, len(versions or [])))
    ids = [item["version_id"] for item in versions]
    if len(set(ids)) != len(ids):
        raise InvalidInputError("versions: version %s is listed twice" % ids[0])
    for item in versions:
        if not 0.01 <= item["percentage"] <= 100:
            raise InvalidInputError("versions: the percentage of %s must be between 0.01 and 100, got %g"
                                    % (item["version_id"], item["percentage"]))
    total = sum(item["percentage"] for item in versions)
    if abs(total - 100) > 1e-6:
        raise InvalidInputError("versions: the percentages add up to %g%%, but must total exactly 100%%" % total)
    return [{"version_id": item["version_id"], "percentage": item["percentage"]} for item in versions]


def split_of(deployment):
    """A deployment's versions as a comparable, sorted list of ``(version_id, percentage)``."""
    return sorted((v["version_id"], float(v["percentage"])) for v in (deployment or {}).get("versions") or [])


def rollback_target(deployments, numbers):
    """The version to roll back to: from the newest earlier deployment, its version at 100 %, never
    one newer than what serves now (so a second rollback steps further back, not forward).

    ``deployments`` newest first (the first is current); ``numbers`` maps version id -> number.
    """
    if not deployments:
        raise InvalidInputError("rollback: the Worker has no deployment")
    current = deployments[0]
    newest_serving = max(numbers.get(v["version_id"], 0) for v in current.get("versions") or [])
    for deployment in deployments[1:]:
        for item in deployment.get("versions") or []:
            if float(item["percentage"]) == 100 and numbers.get(item["version_id"], 0) < newest_serving \
                    and split_of(current) != [(item["version_id"], 100.0)]:
                return item["version_id"]
    raise InvalidInputError("rollback: no earlier deployment served an older version at 100%; "
                            "name the version with rollback_to")
