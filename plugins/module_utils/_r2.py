# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""R2 logic shared by the R2 modules: bucket names, paths, CORS and lifecycle rules, S3 endpoint and keys."""

from __future__ import annotations

import hashlib
import re

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import DEFAULT_API_BASE_URL, CloudflareAPIError, build_path
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError

BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
LOCATION_HINTS = ("apac", "eeur", "enam", "weur", "wnam", "oc")
STORAGE_CLASSES = ("Standard", "InfrequentAccess")
JURISDICTIONS = ("default", "eu", "fedramp")
CORS_METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")
NO_SUCH_BUCKET_CODE = 10006
DAY_SECONDS = 86400
EMULATOR_S3_PREFIX = "/r2-s3/"


def validate_bucket_name(name):
    if not isinstance(name, str) or not BUCKET_NAME.match(name):
        raise InvalidInputError(
            "bucket name %r is not valid for R2: use 3 to 63 characters, lower-case letters, digits and hyphens, "
            "starting and ending with a letter or digit" % (name,))
    return name


def buckets_path(account_id, *rest):
    return build_path("accounts", account_id, "r2", "buckets", *rest)


def jurisdiction_headers(jurisdiction):
    return {"cf-r2-jurisdiction": jurisdiction} if jurisdiction and jurisdiction != "default" else {}


# CORS ---------------------------------------------------------------------------------------------------

def cors_rules_to_api(rules):
    """The module's snake_case CORS rules as the API's rules, checked item by item."""
    api_rules = []
    for index, rule in enumerate(rules or []):
        where = "cors_rules[%d]" % index
        methods = [method.upper() for method in rule.get("allowed_methods") or []]
        if not methods:
            raise InvalidInputError("%s.allowed_methods needs at least one of %s" % (where, ", ".join(CORS_METHODS)))
        unknown = [method for method in methods if method not in CORS_METHODS]
        if unknown:
            raise InvalidInputError("%s.allowed_methods: %s not one of %s" % (where, ", ".join(unknown), ", ".join(CORS_METHODS)))
        if not rule.get("allowed_origins"):
            raise InvalidInputError("%s.allowed_origins needs at least one origin (or \"*\")" % where)
        api_rule = {"allowed": {"methods": methods, "origins": list(rule["allowed_origins"])}}
        if rule.get("allowed_headers"):
            api_rule["allowed"]["headers"] = list(rule["allowed_headers"])
        if rule.get("expose_headers"):
            api_rule["exposeHeaders"] = list(rule["expose_headers"])
        if rule.get("max_age_seconds") is not None:
            if not 0 <= rule["max_age_seconds"] <= 86400:
                raise InvalidInputError("%s.max_age_seconds must be from 0 to 86400" % where)
            api_rule["maxAgeSeconds"] = rule["max_age_seconds"]
        if rule.get("id"):
            api_rule["id"] = rule["id"]
        api_rules.append(api_rule)
    return api_rules


def canonical_cors(rules):
    """CORS rules in a form where equal policies compare equal (method order and empty lists ignored)."""
    canonical = []
    for rule in rules or []:
        allowed = rule.get("allowed") or {}
        item = {"allowed": {"methods": sorted(allowed.get("methods") or []), "origins": list(allowed.get("origins") or [])}}
        if allowed.get("headers"):
            item["allowed"]["headers"] = list(allowed["headers"])
        for name in ("exposeHeaders",):
            if rule.get(name):
                item[name] = list(rule[name])
        if rule.get("maxAgeSeconds") is not None:
            item["maxAgeSeconds"] = int(rule["maxAgeSeconds"])
        if rule.get("id"):
            item["id"] = rule["id"]
        canonical.append(item)
    return canonical


# Lifecycle -----------------------------------------------------------------------------------------------

def _age(days, where):
    if days < 1:
        raise InvalidInputError("%s must be at least 1 day" % where)
    return {"type": "Age", "maxAge": int(days) * DAY_SECONDS}


def lifecycle_rules_to_api(rules):
    """The module's lifecycle rules (days, dates) as the API's rules (seconds, conditions)."""
    api_rules, seen = [], set()
    for index, rule in enumerate(rules or []):
        where = "lifecycle_rules[%d]" % index
        rule_id = rule.get("id")
        if not rule_id:
            raise InvalidInputError("%s.id is required" % where)
        if rule_id in seen:
            raise InvalidInputError("%s.id %r is used by two rules" % (where, rule_id))
        seen.add(rule_id)
        api_rule = {"id": rule_id, "enabled": rule.get("enabled", True) is not False,
                    "conditions": {"prefix": rule.get("prefix") or ""}}
        if rule.get("delete_after_days") is not None and rule.get("delete_on"):
            raise InvalidInputError("%s: set delete_after_days or delete_on, not both" % where)
        if rule.get("delete_after_days") is not None:
            api_rule["deleteObjectsTransition"] = {"condition": _age(rule["delete_after_days"], where + ".delete_after_days")}
        elif rule.get("delete_on"):
            api_rule["deleteObjectsTransition"] = {"condition": {"type": "Date", "date": _date(rule["delete_on"], where)}}
        if rule.get("abort_multipart_after_days") is not None:
            api_rule["abortMultipartUploadsTransition"] = {
                "condition": _age(rule["abort_multipart_after_days"], where + ".abort_multipart_after_days")}
        if rule.get("infrequent_access_after_days") is not None:
            api_rule["storageClassTransitions"] = [{
                "condition": _age(rule["infrequent_access_after_days"], where + ".infrequent_access_after_days"),
                "storageClass": "InfrequentAccess"}]
        if len(api_rule) == 3:
            raise InvalidInputError("%s does nothing: set delete_after_days, delete_on, abort_multipart_after_days or "
                                    "infrequent_access_after_days" % where)
        api_rules.append(api_rule)
    return api_rules


def _date(value, where):
    if not re.match(r"^\d{4}-\d{2}-\d{2}$", str(value)):
        raise InvalidInputError("%s.delete_on must be a date YYYY-MM-DD, got %r" % (where, value))
    return "%sT00:00:00.000Z" % value


def canonical_lifecycle(rules):
    """Lifecycle rules keyed by id, with dates reduced to the day, so that equal policies compare equal."""
    canonical = {}
    for rule in rules or []:
        item = {"enabled": bool(rule.get("enabled")), "prefix": (rule.get("conditions") or {}).get("prefix") or ""}
        for name in ("deleteObjectsTransition", "abortMultipartUploadsTransition"):
            condition = (rule.get(name) or {}).get("condition")
            if condition:
                item[name] = _canonical_condition(condition)
        transitions = rule.get("storageClassTransitions") or []
        if transitions:
            item["storageClassTransitions"] = [dict(storageClass=t.get("storageClass"),
                                                    condition=_canonical_condition(t.get("condition") or {}))
                                               for t in transitions]
        canonical[rule.get("id")] = item
    return canonical


def _canonical_condition(condition):
    if condition.get("type") == "Date":
        return {"type": "Date", "date": str(condition.get("date"))[:10]}
    return {"type": condition.get("type"), "maxAge": condition.get("maxAge")}


# S3 endpoint and key pair ----------------------------------------------------------------------------------

def s3_endpoint(account_id, api_base_url, jurisdiction=None):
    """R2's S3 endpoint for the account; next to a non-Cloudflare ``api_base_url`` (the emulator) its
    ``/r2-s3/<account_id>`` path on the same host."""
    if api_base_url and api_base_url.rstrip("/") != DEFAULT_API_BASE_URL:
        root = api_base_url.rstrip("/")
        if root.endswith("/client/v4"):
            root = root[:-len("/client/v4")]
        return root + EMULATOR_S3_PREFIX + account_id
    if jurisdiction and jurisdiction != "default":
        return "https://%s.%s.r2.cloudflarestorage.com" % (account_id, jurisdiction)
    return "https://%s.r2.cloudflarestorage.com" % account_id


def key_pair_from_token(token_id, token_value):
    """R2's S3 credentials of an API token: the token id and the SHA-256 hex digest of its value."""
    return token_id, hashlib.sha256(token_value.encode("utf-8")).hexdigest()


def verify_token(client, account_id=None):
    """The token's verify answer (``{id, status}``) for an account API token or a user's API token.

    Each kind verifies at its own path (``/accounts/{account_id}/tokens/verify``, ``/user/tokens/verify``;
    cloudflare-docs#29486) and the other path refuses it, so the account path is tried first when the
    account is known (account tokens are what Cloudflare recommends), then the user path.
    """
    paths = ([build_path("accounts", account_id, "tokens", "verify")] if account_id else []) + ["/user/tokens/verify"]
    failures = []
    for path in paths:
        try:
            return client.get(path)
        except CloudflareAPIError as exc:
            if exc.status is None or not 400 <= exc.status < 500:
                raise  # a server or network failure is not an answer about the token
            failures.append(exc.message)
    raise CloudflareAPIError("the API token was refused as an account token and as a user token, so no R2 key pair can "
                             "be derived from it: " + "; ".join(failures), status=401)


def key_pair_for_token(client, api_token, account_id=None):
    """R2's S3 key pair derived from the API token of ``client`` (either kind of token)."""
    answer = verify_token(client, account_id) or {}
    if not answer.get("id"):
        raise CloudflareAPIError("the token verify answer has no token id, so no R2 key pair can be derived from it")
    return key_pair_from_token(answer["id"], api_token)
