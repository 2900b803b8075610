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


def check_bindings(kv_specs, text_vars, json_vars, secrets):
    """Fail on binding input that cannot be uploaded; needs no API call, so it runs before any."""
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
