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
import hmac
import json
import os
import re

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import build_path
from ansible_collections.cfops.cloudflare.plugins.module_utils import _validate
from ansible_collections.cfops.cloudflare.plugins.module_utils._binding_targets import check_targets
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
# A version_metadata binding added outside the collection (by hand, by wrangler) survives an upload
# that does not set version_metadata: its type is kept too (keep_bindings).
VERSION_METADATA_TYPE = "version_metadata"
# The release marker: a plain_text binding every upload of the collection carries, whose text is the
# release fingerprint. Bindings are in the documented version response (resources.bindings), so an
# identical release is recognised whether or not the API echoes annotations.
FINGERPRINT_BINDING = "CFOPS_RELEASE_FINGERPRINT"
# Fields the API fills in that name the same thing as a field the collection sends: a D1 binding is
# uploaded with ``id`` (wrangler, Terraform) and read back with ``database_id`` (SDK settings type;
# Terraform's worker_version resource: "The API returns database_id for D1 bindings").
FIELD_ALIASES = {("d1", "id"): ("id", "database_id")}


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
    _check_syntax(modules[0], main_module)
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
        _check_syntax(modules[-1], path)
    return modules


def _check_syntax(module, path):
    """Refuse an ES module that does not parse, before the upload Cloudflare would refuse (code 10021)."""
    if module["content_type"] != "application/javascript+module":
        return
    error = _validate.js_syntax_error(module["content"], module["name"])
    if error:
        raise InvalidInputError("%s does not parse as JavaScript (%s): fix the code before deploying" % (path, error))


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
    for name in sorted(secrets or {}):
        _validate.secret_name(name, option="secrets: the name")
    seen = {}
    named = [("kv_namespaces", spec["binding"]) for spec in kv_specs or []]
    for option, values in (("text_vars", text_vars), ("json_vars", json_vars), ("secrets", secrets)):
        named += [(option, name) for name in sorted(values or {})]
    named += list(other)
    for option, name in named:
        if name == FINGERPRINT_BINDING:
            raise InvalidInputError("%s: the binding name %s is reserved for the release fingerprint the collection "
                                    "adds to every upload" % (option, FINGERPRINT_BINDING))
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


def sorted_bindings(bindings):
    return sorted((normalise_binding(binding) for binding in bindings), key=lambda b: (b.get("name") or "", b.get("type") or ""))


def binding_matches(sent, current):
    """Whether ``current`` (as the API shows it) is the binding ``sent``: same type and name, and every
    field the collection sends equal. Fields the server adds (a D1 binding's ``database_id``, a Durable
    Object's ``namespace_id``) are ignored, as wrangler maps bindings field by field; secrets compare by
    name only (their values cannot be read back)."""
    kind = sent.get("type")
    if kind != current.get("type") or sent.get("name") != current.get("name"):
        return False
    if kind in SECRET_BINDING_TYPES:
        return True
    for field, value in sent.items():
        if field in ("type", "name"):
            continue
        if not any(alias in current and current[alias] == value for alias in FIELD_ALIASES.get((kind, field), (field,))):
            return False
    return True


def compare_bindings(desired, current, kept_types=()):
    """``(equal, before)``: whether the API's ``current`` bindings are the ``desired`` ones (field by
    field, see binding_matches), and ``current`` as the diff should show it (a matching binding shown
    as sent, so server-filled fields do not look like a change). Current bindings of ``kept_types`` that
    ``desired`` does not name are kept by the upload and do not count."""
    desired_names = {binding.get("name") for binding in desired}
    unmatched = list(desired)
    equal = True
    before = []
    for binding in current:
        match = next((wanted for wanted in unmatched if binding_matches(wanted, binding)), None)
        if match is not None:
            unmatched.remove(match)
            before.append(match)
            continue
        before.append(binding)
        if not (binding.get("type") in kept_types and binding.get("name") not in desired_names):
            equal = False
    return equal and not unmatched, before


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


def marker_binding(fingerprint):
    return {"type": "plain_text", "name": FINGERPRINT_BINDING, "text": fingerprint}


def kept_binding_types(keep_secrets, desired_bindings):
    """The binding types an upload keeps from the current ones (``keep_bindings``): secrets unless
    ``keep_secrets`` is off, and version_metadata unless the upload sets one itself."""
    kept = list(KEEP_SECRET_BINDINGS) if keep_secrets else []
    if not any(binding.get("type") == VERSION_METADATA_TYPE for binding in desired_bindings):
        kept.append(VERSION_METADATA_TYPE)
    return kept


def plan_script(current, desired, update_secrets="on_create", keep_secrets=True, fingerprint=None):
    """Compare a script with what is wanted and say what an upload must carry.

    ``current`` is None (no script) or ``{modules: {name: sha256}, compatibility_date,
    compatibility_flags, bindings}`` as read back from the API. ``desired`` is ``{main_module,
    modules: [{name, content, content_type}], compatibility_date, compatibility_flags, bindings
    (non-secret), secrets: {name: value}}``. ``fingerprint`` (release_fingerprint) is carried as the
    CFOPS_RELEASE_FINGERPRINT binding; it covers a keyed digest of the secret values, so a rotated
    secret shows as a changed ``fingerprint``.

    Bindings compare field by field (compare_bindings). Secret values cannot be read back: with
    ``update_secrets=on_create`` a secret counts as changed when its name is new or its value changed
    the fingerprint; with ``always`` every run uploads. Every upload carries every secret of
    ``secrets`` with its value (a new version has them all). With ``keep_secrets`` the upload keeps
    the script's other secrets (``keep_bindings``).

    Returns ``{changed, differences, upload_bindings, keep_bindings, before, after}``;
    ``before``/``after`` are summaries safe to show (no secret values, no code).
    """
    secrets = desired.get("secrets") or {}
    wanted = list(desired["bindings"])
    marker = [marker_binding(fingerprint)] if fingerprint else []
    kept = kept_binding_types(keep_secrets, wanted)
    desired_modules = {module["name"]: sha256_hex(module["content"]) for module in desired["modules"]}
    current_bindings = (current or {}).get("bindings") or []
    current_secret_names = {b.get("name") for b in current_bindings if b.get("type") in SECRET_BINDING_TYPES}
    current_plain = [b for b in current_bindings
                     if b.get("type") not in SECRET_BINDING_TYPES and b.get("name") != FINGERPRINT_BINDING]
    current_marker = [b for b in current_bindings if b.get("name") == FINGERPRINT_BINDING]

    after_secret_names = set(secrets) | (current_secret_names if keep_secrets else set())
    after_bindings = wanted + marker + [{"type": "secret_text", "name": name} for name in secrets]
    if keep_secrets:
        after_bindings += [b for b in current_bindings if b.get("type") in SECRET_BINDING_TYPES and b.get("name") not in secrets]
    if VERSION_METADATA_TYPE in kept:
        after_bindings += [b for b in current_plain if b.get("type") == VERSION_METADATA_TYPE]
    after = script_summary(desired_modules, desired["compatibility_date"], desired.get("compatibility_flags"), after_bindings)

    if current is None:
        differences = ["script"]
        before = None
    else:
        bindings_equal, shown = compare_bindings(wanted, current_plain, kept)
        before = script_summary(current.get("modules") or {}, current.get("compatibility_date"),
                                current.get("compatibility_flags"),
                                shown + current_marker + [b for b in current_bindings if b.get("type") in SECRET_BINDING_TYPES])
        differences = []
        if before["modules"] != after["modules"]:
            differences.append("modules")
        if before["compatibility_date"] != after["compatibility_date"]:
            differences.append("compatibility_date")
        if before["compatibility_flags"] != after["compatibility_flags"]:
            differences.append("compatibility_flags")
        if not bindings_equal:
            differences.append("bindings")
        if after_secret_names != current_secret_names or (secrets and update_secrets == "always"):
            differences.append("secrets")
        # Content changes change the fingerprint too; it is named alone when nothing else explains it
        # (secret values, message or tag changed, or the script has no fingerprint yet).
        if marker and not differences and not compare_bindings(marker, current_marker)[0]:
            differences.append("fingerprint")

    upload_bindings = wanted + marker + [
        {"type": "secret_text", "name": name, "text": secrets[name]} for name in sorted(secrets)]
    return {
        "changed": bool(differences),
        "differences": differences,
        "upload_bindings": upload_bindings,
        "keep_bindings": kept,
        "before": before,
        "after": after,
    }


def upload_metadata(desired, upload_bindings, keep_bindings=None, message=None, tag=None, migrations=None):
    """The ``metadata`` part of ``PUT .../scripts/{name}`` (a plain function: action plugins call it too).

    ``keep_bindings`` are the binding types the upload keeps (plan_script's ``keep_bindings``);
    ``message``/``tag`` become the new version's ``workers/message``/``workers/tag`` annotations."""
    metadata = {
        "main_module": desired["main_module"],
        "compatibility_date": desired["compatibility_date"],
        "compatibility_flags": list(desired.get("compatibility_flags") or []),
        "bindings": upload_bindings,
    }
    if keep_bindings:
        metadata["keep_bindings"] = list(keep_bindings)
    annotations = release_annotations(message, tag)
    if annotations:
        metadata["annotations"] = annotations
    if migrations:
        metadata["migrations"] = migrations
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
        version_metadata=dict(type="str"),
        version_message=dict(type="str"),
        tag=dict(type="str"),
        secret_digest_key=dict(type="str", no_log=True),
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
    names = [(option, spec["binding"]) for option, _kind, _fields in RESOURCE_BINDING_OPTIONS for spec in params.get(option) or []]
    if params.get("version_metadata"):
        names.append(("version_metadata", params["version_metadata"]))
    return names


def version_metadata_bindings(params):
    """The ``version_metadata`` binding (``{type: version_metadata, name}``) when the option names one."""
    name = params.get("version_metadata")
    return [{"type": VERSION_METADATA_TYPE, "name": name}] if name else []


def desired_code(client, account_id, params, modules):
    """``{main_module, modules, compatibility_date, compatibility_flags, bindings (non-secret), secrets}``;
    reads the account's KV namespaces (one paged list) only when kv_namespaces is given."""
    # Every bound resource must exist before the first write (reads only; KV is checked just below).
    check_targets(client, account_id, params, params.get("name") or params.get("script"))
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
        "bindings": bindings + resource_bindings(params) + version_metadata_bindings(params),
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
    if params.get("tag") is not None and len(params["tag"].encode("utf-8")) > TAG_MAX_BYTES:
        raise InvalidInputError("tag is longer than %d bytes (Cloudflare's limit for workers/tag)" % TAG_MAX_BYTES)
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
    """A class the pending migrations delete must not be bound by this upload. Cloudflare matches the
    binding by class name alone, even one naming another script (alchemy-run/alchemy#799), and refuses
    ("Cannot apply --delete-class migration ... without also removing the binding", workers-sdk#8210)."""
    deleted = {name for step in (migrations or {}).get("steps", []) for name in step.get("deleted_classes") or []}
    for binding in bindings:
        if binding.get("type") == "durable_object_namespace" and binding.get("class_name") in deleted:
            raise InvalidInputError("migrations delete the Durable Object class %s, but binding %s (durable_objects) "
                                    "still uses it; remove the binding in the same change"
                                    % (binding["class_name"], binding["name"]))


# --- Versions and the release fingerprint --------------------------------------------------------------------

MESSAGE_ANNOTATION = "workers/message"
TAG_ANNOTATION = "workers/tag"
COMMIT_SHA_ANNOTATION = "workers/commit_sha"
# 1.1 put the fingerprint in workers/commit_sha; a version of 1.1 still matches through it when the
# API echoes that annotation (wrangler's and Terraform's version types do not list it, so it may not).
LEGACY_FINGERPRINT_ANNOTATION = COMMIT_SHA_ANNOTATION
TAG_MAX_BYTES = 100           # SDK: workers/tag "Maximum 100 bytes"
COMMIT_SHA_MAX_BYTES = 64     # SDK: workers/commit_sha "Maximum 64 bytes"
VERSIONS_COMPARED = 5


def secret_digest(secrets, key):
    """HMAC-SHA256, keyed by ``key``, of the secret values by name; None without secrets.

    The fingerprint covers this digest, never the values: a rotated secret changes the fingerprint
    (so it makes a new version), and without the key the digest tells nothing about the values."""
    if not secrets:
        return None
    if not key:
        raise InvalidInputError("secret_digest_key (or the API token it defaults to) is needed to fingerprint secrets")
    document = json.dumps(dict(sorted(secrets.items())), sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hmac.new(key.encode("utf-8"), document, hashlib.sha256).hexdigest()


def release_fingerprint(desired, message=None, tag=None, secret_digest_key=None):
    """The release fingerprint of ``desired`` (desired_code's result): SHA-256 over the main module, the
    modules (name, content type, SHA-256), the compatibility date and flags, the bindings as sent
    (secrets by name), the message, the tag and the keyed digest of the secret values.

    A plain function, for the modules and for in-process callers (action plugins). Without secrets the
    document is the one 1.1 hashed, so a 1.1 version's workers/commit_sha equals it."""
    secrets = desired.get("secrets") or {}
    bindings = [b for b in desired["bindings"] if b.get("name") != FINGERPRINT_BINDING]
    document = {
        "main_module": desired["main_module"],
        "modules": sorted([m["name"], m["content_type"], sha256_hex(m["content"])] for m in desired["modules"]),
        "compatibility_date": desired.get("compatibility_date"),
        "compatibility_flags": sorted(set(desired.get("compatibility_flags") or [])),
        "bindings": sorted_bindings(bindings + [{"type": "secret_text", "name": name} for name in secrets]),
        "message": message,
        "tag": tag,
    }
    digest = secret_digest(secrets, secret_digest_key)
    if digest is not None:
        document["secret_digest"] = digest
    return sha256_hex(json.dumps(document, sort_keys=True).encode("utf-8"))


def release_annotations(message=None, tag=None, commit_sha=None):
    return {key: value for key, value in ((MESSAGE_ANNOTATION, message), (TAG_ANNOTATION, tag),
                                          (COMMIT_SHA_ANNOTATION, commit_sha)) if value is not None}


def version_upload_metadata(desired, fingerprint, message=None, tag=None, commit_sha=None):
    """The ``metadata`` part of ``POST .../versions``: the bindings with the fingerprint marker and every
    secret of ``desired`` with its value; the newest version's other secrets and a version_metadata
    binding it has are kept (``keep_bindings``). A plain function (action plugins call it too)."""
    bindings = [b for b in desired["bindings"] if b.get("name") != FINGERPRINT_BINDING]
    secrets = desired.get("secrets") or {}
    metadata = {
        "main_module": desired["main_module"],
        "compatibility_date": desired["compatibility_date"],
        "compatibility_flags": list(desired.get("compatibility_flags") or []),
        "bindings": bindings + [marker_binding(fingerprint)] + [
            {"type": "secret_text", "name": name, "text": value} for name, value in sorted(secrets.items())],
        "keep_bindings": kept_binding_types(True, bindings),
    }
    annotations = release_annotations(message, tag, commit_sha)
    if annotations:
        metadata["annotations"] = annotations
    return metadata


def version_fingerprint_of(version):
    """The release fingerprint a version carries: its CFOPS_RELEASE_FINGERPRINT binding's text, else
    (1.1 versions) its workers/commit_sha annotation when the API echoes it; None when neither."""
    for binding in (version.get("resources") or {}).get("bindings") or []:
        if binding.get("name") == FINGERPRINT_BINDING and isinstance(binding.get("text"), str):
            return binding["text"]
    return (version.get("annotations") or {}).get(LEGACY_FINGERPRINT_ANNOTATION)


def marker_text_hidden(version):
    """Whether a version shows the fingerprint binding without its text (a read that hides plain-text
    values; not what wrangler's `versions view` expects, but possible)."""
    return any(binding.get("name") == FINGERPRINT_BINDING and not isinstance(binding.get("text"), str)
               for binding in (version.get("resources") or {}).get("bindings") or [])


def newest_first(versions):
    """Versions sorted newest first by number (then creation time): the API's order is not relied on
    (wrangler sorts the list itself)."""
    return sorted(versions, key=lambda v: (v.get("number") or 0, (v.get("metadata") or {}).get("created_on") or ""),
                  reverse=True)


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
        "fingerprint": version_fingerprint_of(version),
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
    """1 or 2 versions, distinct ids, each 0-100 %, summing to 100; returns ``[{version_id, percentage}]``.

    0 % is allowed: wrangler's ``versions deploy`` takes 0-100, and Cloudflare's version-overrides docs
    deploy a new version at 0 % to smoke-test it."""
    if not versions or len(versions) > MAX_DEPLOYMENT_VERSIONS:
        raise InvalidInputError("versions: a deployment has 1 or %d versions, got %d" % (MAX_DEPLOYMENT_VERSIONS, len(versions or [])))
    ids = [item["version_id"] for item in versions]
    if len(set(ids)) != len(ids):
        raise InvalidInputError("versions: version %s is listed twice" % ids[0])
    for item in versions:
        if not 0 <= item["percentage"] <= 100:
            raise InvalidInputError("versions: the percentage of %s must be between 0 and 100, got %g"
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
