# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""DNS records: local validation and normalisation, the record-set plan, batched apply, the input/output format.

The record format is the one ``dns_records`` takes and ``dns_records_info`` returns::

    {name: www | "@" | FQDN, type: A, content: 192.0.2.1 | data: {...}, ttl: 1, proxied: false,
     priority: 10, comment: "...", tags: ["team:web"]}

A *record set* is every record of one (name, type). ``plan()`` treats each listed set as complete:
listed values are kept or created, other values of that set are changed into the missing ones
(one PATCH instead of a delete and a create) or removed.  Sets not listed are left alone unless
``exclusive``.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re

from ansible.module_utils.common.yaml import yaml_load

from ansible_collections.cfops.cloudflare.plugins.module_utils import _validate
from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError
from ansible_collections.cfops.cloudflare.plugins.module_utils._data_file import load_document
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule
from ansible_collections.cfops.cloudflare.plugins.module_utils._zones import resolve_zone, zone_path

# GET /zones/{id}/dns_records accepts per_page up to 5,000,000 (api-facts.md section 2): one read per zone.
RECORDS_PER_PAGE = 5000000
# Operations per batch call: Cloudflare allows 200 on the Free plan and 3,500 on the others
# (developers.cloudflare.com/dns/manage-dns-records/how-to/batch-record-changes/).
DEFAULT_BATCH_SIZE = 200
PAID_PLAN_BATCH_SIZE = 3500
TYPES = ("A", "AAAA", "CAA", "CNAME", "HTTPS", "MX", "NS", "PTR", "SRV", "SVCB", "TXT", "URI")
PROXIABLE = ("A", "AAAA", "CNAME")
HOSTNAME_TYPES = ("CNAME", "MX", "NS", "PTR")
PRIORITY_TYPES = ("MX", "URI")
DATA_TYPES = ("SRV", "CAA")
# A and AAAA usually carry one address per name, CNAME can only have one: dns_record's solo default.
SOLO_BY_DEFAULT = ("A", "AAAA", "CNAME")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9-]{0,61}[a-z0-9])?$")
_TAG = re.compile(r"^[A-Za-z0-9_-]+(:.*)?$")
RECORD_KEYS = ("name", "type", "content", "data", "ttl", "proxied", "priority", "comment", "tags")


def records_path(zone_id, *rest):
    return zone_path(zone_id, "dns_records", *rest)


def fqdn(name, zone_name):
    """The record name as Cloudflare stores it: lower case punycode, no trailing dot, ``@`` the apex, relative names under the zone.

    The checks (label length, characters, a name of another zone) are ``_validate.dns_name``'s; a
    problem is a ValueError here, so the caller names the record.
    """
    try:
        return _validate.dns_name(name, zone_name, option="name")
    except InvalidInputError as exc:
        raise ValueError(str(exc))


def relative(name, zone_name):
    """``@`` for the apex, else the name without the zone suffix (the short form people write)."""
    if name == zone_name:
        return "@"
    suffix = "." + zone_name
    return name[:-len(suffix)] if name.endswith(suffix) else name


def label(record, zone_name=None):
    """How error messages and the diff name a record: ``www A 192.0.2.1``."""
    name = record.get("name") or "@"
    if zone_name:
        name = relative(name, zone_name)
    return "%s %s %s" % (name, record.get("type"), record.get("content") or "")


def _int(value, what, low, high):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError("%s must be an integer from %d to %d, got %r" % (what, low, high, value))
    if isinstance(value, bool) or number != float(value) or not low <= number <= high:
        raise ValueError("%s must be an integer from %d to %d, got %r" % (what, low, high, value))
    return number


def _hostname(value, what):
    host = value.strip().lower().rstrip(".") if isinstance(value, str) else ""
    if not _HOSTNAME.match(host):
        raise ValueError("%s must be a hostname, got %r" % (what, value))
    return host


def _content_and_data(rtype, record):
    """(content, data, priority) checked for the type; content of SRV/CAA is derived from data, as Cloudflare does."""
    if rtype in DATA_TYPES:
        data = record.get("data")
        if not isinstance(data, dict):
            raise ValueError("%s records need data (%s)" % (
                rtype, "priority, weight, port, target" if rtype == "SRV" else "flags, tag, value"))
        if rtype == "SRV":
            data = {"priority": _int(data.get("priority"), "data.priority", 0, 65535),
                    "weight": _int(data.get("weight"), "data.weight", 0, 65535),
                    "port": _int(data.get("port"), "data.port", 0, 65535),
                    "target": "." if data.get("target") == "." else _hostname(data.get("target"), "data.target")}
            return "%d %d %s" % (data["weight"], data["port"], data["target"]), data, None
        if data.get("tag") not in ("issue", "issuewild", "iodef"):
            raise ValueError("CAA data.tag must be issue, issuewild or iodef, got %r" % (data.get("tag"),))
        if not isinstance(data.get("value"), str):
            raise ValueError("CAA data.value must be a string")
        data = {"flags": _int(data.get("flags", 0), "data.flags", 0, 255), "tag": data["tag"], "value": data["value"]}
        return '%d %s "%s"' % (data["flags"], data["tag"], data["value"]), data, None
    # YAML reads an unquoted TXT value such as 12345 as a number: its text is the content.
    content = record.get("content")
    if isinstance(content, bool) or not isinstance(content, (str, int, float, type(None))):
        raise ValueError("content must be a string, got %r: quote it" % (content,))
    content = _validate.text_value(content, "content")
    if not isinstance(content, str) or not content.strip():
        raise ValueError("content is required for %s records" % rtype)
    content = content.strip()
    priority = None
    if rtype == "A":
        try:
            content = str(ipaddress.IPv4Address(content))
        except ValueError:
            raise ValueError("content %r is not a valid IPv4 address" % content)
    elif rtype == "AAAA":
        try:
            content = str(ipaddress.IPv6Address(content))
        except ValueError:
            raise ValueError("content %r is not a valid IPv6 address" % content)
    elif rtype in HOSTNAME_TYPES:
        content = _hostname(content, "content")
    if rtype in PRIORITY_TYPES:
        if record.get("priority") is None:
            raise ValueError("priority is required for %s records" % rtype)
        priority = _int(record["priority"], "priority", 0, 65535)
    return content, None, priority


def normalise(record, zone_name, where="record"):
    """The comparable form of one input record (FQDN name, normalised content, defaults), or InvalidInputError naming it."""
    if not isinstance(record, dict):
        raise InvalidInputError("%s must be a dict with name, type and content, got %r" % (where, record))
    unknown = sorted(set(record) - set(RECORD_KEYS))
    rtype = str(record.get("type") or "").upper()
    short = relative(str(record.get("name") or "@").lower().rstrip("."), zone_name)
    shown = "%s (%s %s %s)" % (where, short, rtype or "?", record.get("content") or record.get("data") or "")
    try:
        if unknown:
            raise ValueError("unknown key %r; a record takes %s" % (unknown[0], ", ".join(RECORD_KEYS)))
        if rtype not in TYPES:
            raise ValueError("type must be one of %s" % ", ".join(TYPES))
        name = fqdn(record.get("name"), zone_name)
        content, data, priority = _content_and_data(rtype, record)
        proxied = record.get("proxied")
        proxied = False if proxied is None else proxied
        if not isinstance(proxied, bool):
            raise ValueError("proxied must be true or false")
        if proxied and rtype not in PROXIABLE:
            raise ValueError("only A, AAAA and CNAME records can be proxied")
        ttl = 1 if record.get("ttl") is None else record["ttl"]
        ttl = _int(ttl, "ttl", 1, 86400)
        if ttl != 1 and ttl < 60:
            raise ValueError("ttl must be 1 (automatic) or from 60 to 86400 seconds, got %d" % ttl)
        if proxied:
            ttl = 1  # Cloudflare answers proxied names itself: their TTL is always automatic
        tags = record.get("tags")
        if tags is not None:
            if not isinstance(tags, list) or not all(isinstance(t, str) and _TAG.match(t) for t in tags):
                raise ValueError("tags must be a list of name:value strings (the name made of letters, digits, _ and -)")
            tags = sorted(set(tags))
        comment = record.get("comment")
        if comment is not None and not isinstance(comment, str):
            raise ValueError("comment must be a string")
    except ValueError as exc:
        raise InvalidInputError("%s: %s" % (shown, exc))
    normal = {"name": name, "type": rtype, "content": content, "ttl": ttl, "proxied": proxied}
    if priority is not None:
        normal["priority"] = priority
    if data is not None:
        normal["data"] = data
    if comment is not None:
        normal["comment"] = comment
    if tags is not None:
        normal["tags"] = tags
    return normal


def _canonical_content(rtype, content):
    """Content in the form ``normalise`` gives the input, whether or not Cloudflare normalised it (it is not documented)."""
    if not isinstance(content, str):
        return content
    try:
        if rtype == "A":
            return str(ipaddress.IPv4Address(content.strip()))
        if rtype == "AAAA":
            return str(ipaddress.IPv6Address(content.strip()))
    except ValueError:
        return content
    if rtype in HOSTNAME_TYPES:
        return content.strip().lower().rstrip(".")
    return content


def from_api(record):
    """The comparable form of a record Cloudflare returned."""
    normal = {"id": record["id"], "name": str(record["name"]).lower().rstrip("."), "type": record["type"],
              "content": _canonical_content(record["type"], record["content"]),
              "ttl": record.get("ttl", 1), "proxied": bool(record.get("proxied")),
              "comment": record.get("comment") or None, "tags": sorted(record.get("tags") or [])}
    if record["type"] in PRIORITY_TYPES and record.get("priority") is not None:
        normal["priority"] = record["priority"]
    if record["type"] in DATA_TYPES and record.get("data"):
        data = record["data"]
        keys = ("priority", "weight", "port", "target") if record["type"] == "SRV" else ("flags", "tag", "value")
        normal["data"] = dict((key, data.get(key)) for key in keys)
    return normal


def to_input(record, zone_name):
    """A stored record in the input format of dns_records (relative name; defaults and empty fields left out)."""
    out = {"name": relative(record["name"], zone_name), "type": record["type"]}
    if record["type"] in DATA_TYPES:
        out["data"] = dict(record["data"])
    else:
        out["content"] = record["content"]
    if record.get("priority") is not None and record["type"] in PRIORITY_TYPES:
        out["priority"] = record["priority"]
    if record["ttl"] != 1:
        out["ttl"] = record["ttl"]
    if record["type"] in PROXIABLE:
        out["proxied"] = record["proxied"]
    if record.get("comment"):
        out["comment"] = record["comment"]
    if record.get("tags"):
        out["tags"] = list(record["tags"])
    return out


def sort_key(record):
    return (record["name"], record["type"], record["content"])


def differs(want, have):
    """Fields of ``want`` that ``have`` does not match (comment and tags only when ``want`` sets them)."""
    fields = ["content", "ttl", "proxied", "priority", "data"]
    fields += [key for key in ("comment", "tags") if key in want]
    return [key for key in fields if want.get(key) != have.get(key)]


def api_body(record):
    """The JSON Cloudflare takes to create or replace ``record``."""
    body = {"name": record["name"], "type": record["type"], "ttl": record["ttl"]}
    if record["type"] in DATA_TYPES:
        body["data"] = record["data"]
    else:
        body["content"] = record["content"]
    if record["type"] in PROXIABLE:
        body["proxied"] = record["proxied"]
    for key in ("priority", "comment", "tags"):
        if key in record:
            body[key] = record[key]
    return body


def check_input(records, zone_name, option="records"):
    """Normalised records; the first problem (bad content, duplicate) raises InvalidInputError naming the record."""
    normal, seen = [], {}
    for index, record in enumerate(records or []):
        item = normalise(record, zone_name, where="%s[%d]" % (option, index))
        key = sort_key(item)
        if key in seen:
            raise InvalidInputError("%s[%d] (%s) duplicates %s[%d]" % (option, index, label(item, zone_name), option, seen[key]))
        seen[key] = index
        normal.append(item)
    return normal


def check_final_state(records, zone_name):
    """CNAME rule on the zone as it would be: a CNAME cannot share its name with any other record."""
    by_name = {}
    for record in records:
        by_name.setdefault(record["name"], []).append(record)
    for name in sorted(by_name):
        group = by_name[name]
        cnames = [r for r in group if r["type"] == "CNAME"]
        if cnames and len(group) > 1:
            others = sorted(label(r, zone_name) for r in group if r is not cnames[0])
            raise InvalidInputError("CNAME %s cannot sit beside other records at the same name (%s): a CNAME must be "
                                    "the only record of its name" % (label(cnames[0], zone_name), "; ".join(others)))


def ignore_matcher(patterns, zone_name):
    """``f(record)``: True when the record is managed elsewhere (``NAME_GLOB`` or ``NAME_GLOB/TYPE``)."""
    rules = []
    for pattern in patterns or []:
        name, _sep, rtype = str(pattern).partition("/")
        rules.append((name.strip().lower(), rtype.strip().upper()))

    def ignored(record):
        short = relative(record["name"], zone_name)
        for name, rtype in rules:
            if (fnmatch.fnmatchcase(short, name) or fnmatch.fnmatchcase(record["name"], name)) and rtype in ("", record["type"]):
                return True
        return False
    return ignored


def is_zone_apex_authority(record, zone_name):
    """SOA and the apex NS records belong to Cloudflare's DNS for the zone: never changed or removed."""
    return record["type"] in ("SOA", "NS") and record["name"] == zone_name


def plan(existing, desired, zone_name, exclusive=False, ignore=None, names=None):
    """``{"create": [...], "update": [(old, new)], "delete": [...]}`` turning ``existing`` into ``desired``."""
    ignored = ignore_matcher(ignore, zone_name)
    in_scope = (lambda record: record["name"] in names) if names else (lambda record: True)
    desired_sets, existing_sets = {}, {}
    for record in desired:
        desired_sets.setdefault((record["name"], record["type"]), []).append(record)
    for record in existing:
        if is_zone_apex_authority(record, zone_name) and (record["name"], record["type"]) not in desired_sets:
            continue
        existing_sets.setdefault((record["name"], record["type"]), []).append(record)
    changes = {"create": [], "update": [], "delete": []}
    for key in sorted(set(desired_sets) | set(existing_sets)):
        have = sorted(existing_sets.get(key, []), key=sort_key)
        if key not in desired_sets:
            if exclusive and not any(ignored(r) for r in have) and in_scope(have[0]):
                changes["delete"].extend(have)
            continue
        want = sorted(desired_sets[key], key=sort_key)
        by_content = dict((r["content"], r) for r in have)
        unmatched_want = []
        for record in want:
            match = by_content.pop(record["content"], None)
            if match is None:
                unmatched_want.append(record)
            elif differs(record, match):
                changes["update"].append((match, record))
        leftover = sorted(by_content.values(), key=sort_key)
        for old, new in zip(leftover, unmatched_want):
            changes["update"].append((old, new))
        changes["create"].extend(unmatched_want[len(leftover):])
        changes["delete"].extend(leftover[len(unmatched_want):])
    return changes


def resulting_records(existing, changes):
    """The zone's records once ``changes`` are applied (for the CNAME check)."""
    gone = set(id(r) for r in changes["delete"]) | set(id(old) for old, _new in changes["update"])
    return [r for r in existing if id(r) not in gone] + [new for _old, new in changes["update"]] + changes["create"]


def count_changes(changes):
    return {"added": len(changes["create"]), "changed": len(changes["update"]), "removed": len(changes["delete"])}


def check_threshold(changes, existing_count, max_change_percent, force):
    """Refuse to change or remove more than ``max_change_percent`` of the zone's records unless forced."""
    touched = len(changes["update"]) + len(changes["delete"])
    if force or not touched:
        return
    percent = 100.0 * touched / max(existing_count, 1)
    if percent > max_change_percent:
        raise InvalidInputError(
            "refusing to change %d and remove %d of the zone's %d records (%.1f%%, above max_change_percent=%s); "
            "nothing was written. Check the record list, raise max_change_percent or set force: true"
            % (len(changes["update"]), len(changes["delete"]), existing_count, percent, max_change_percent))


def diff_view(changes, zone_name):
    """``(before, after)``: every record removed, changed or added, in the input format, sorted."""
    before = sorted(list(changes["delete"]) + [old for old, _new in changes["update"]], key=sort_key)
    after = sorted([new for _old, new in changes["update"]] + changes["create"], key=sort_key)
    return ({"records": [_shown(r, zone_name) for r in before]}, {"records": [_shown(r, zone_name) for r in after]})


def _shown(record, zone_name):
    full = dict({"ttl": 1, "proxied": False}, **record)
    return to_input(full, zone_name)


def changes_view(changes, zone_name, limit=None):
    """The changes in the input format, sorted; at most ``limit`` records per list (None: all)."""
    def first(items, key):
        return sorted(items, key=key)[:limit] if limit is not None else sorted(items, key=key)
    return {
        "added": [_shown(r, zone_name) for r in first(changes["create"], sort_key)],
        "changed": [{"before": _shown(old, zone_name), "after": _shown(new, zone_name)}
                    for old, new in first(changes["update"], lambda pair: sort_key(pair[0]))],
        "removed": [_shown(r, zone_name) for r in first(changes["delete"], sort_key)],
    }


def is_truncated(changes, limit):
    return limit is not None and any(len(changes[key]) > limit for key in ("create", "update", "delete"))


def load_records_src(path, load_yaml):
    """Records from a JSON or YAML file: a list of records, or a mapping whose C(records) is that list
    (what dns_records_info returns). Read by the module itself, so the records never pass through variables."""
    document = load_document(path, load_yaml)
    if isinstance(document, dict) and "records" in document:
        document = document["records"]
    if document is None:
        document = []
    if not isinstance(document, list) or not all(isinstance(item, dict) for item in document):
        raise InvalidInputError("src %s must hold a list of records ({name, type, content, ...}) or a mapping "
                                "with such a list under records" % path)
    return document


def _operations(changes):
    """``(key, body, change)`` for every operation, in Cloudflare's batch order (deletes, patches, posts)."""
    operations = [("deletes", {"id": r["id"]}, r) for r in sorted(changes["delete"], key=sort_key)]
    for old, new in sorted(changes["update"], key=lambda pair: sort_key(pair[0])):
        operations.append(("patches", dict(api_body(new), id=old["id"]), (old, new)))
    operations += [("posts", api_body(r), r) for r in sorted(changes["create"], key=sort_key)]
    return operations


def _batch_body(operations):
    body = {}
    for key, operation, _change in operations:
        body.setdefault(key, []).append(operation)
    return body


def batches(changes, batch_size):
    """Batch bodies in Cloudflare's order (deletes, patches, posts), at most ``batch_size`` operations each."""
    operations = _operations(changes)
    for start in range(0, len(operations), batch_size):
        yield _batch_body(operations[start:start + batch_size])


def _is_written(want, have):
    return have is not None and (have["name"], have["type"]) == (want["name"], want["type"]) and not differs(want, have)


def still_missing(operations, zone_records):
    """The operations of a batch that the zone (its records as ``from_api`` gives them) does not show applied.

    A delete is applied when its id is gone; a patch when its id carries the wanted record; a post when a
    record of the same name, type and content with the wanted fields exists (Cloudflare refuses a second
    identical record, 81058, so that record can only be the one this batch created).
    """
    by_id = dict((record["id"], record) for record in zone_records)
    by_value = dict((sort_key(record), record) for record in zone_records)
    missing = []
    for operation in operations:
        key, _body, change = operation
        if key == "deletes":
            applied = change["id"] not in by_id
        elif key == "patches":
            applied = _is_written(change[1], by_id.get(change[0]["id"]))
        else:
            applied = _is_written(change, by_value.get(sort_key(change)))
        if not applied:
            missing.append(operation)
    return missing


class _PartlyApplied(Exception):
    """A batch whose answer was lost and which the zone shows only partly applied: the rest is sent."""

    def __init__(self, remaining):
        super(_PartlyApplied, self).__init__("%d operations still missing" % len(remaining))
        self.remaining = remaining


# A DNS batch runs "in a single database transaction" (developers.cloudflare.com/api/resources/dns/subresources/
# records/methods/batch/): after an ambiguous failure it was applied whole or not at all. A partly applied batch
# (someone else writing meanwhile, or the evidence being wrong) is still handled, at most this many times.
MAX_PARTIAL_ROUNDS = 3


def _applied_result(operations, raw_records):
    """What the batch would have answered, from the re-read zone (dns_record reads the written record's id)."""
    by_id = dict((record["id"], record) for record in raw_records)
    by_value = dict((sort_key(from_api(record)), record) for record in raw_records)
    return {"deletes": [{"id": change["id"]} for key, _body, change in operations if key == "deletes"],
            "patches": [by_id[change[0]["id"]] for key, _body, change in operations if key == "patches"],
            "puts": [],
            "posts": [by_value[sort_key(change)] for key, _body, change in operations if key == "posts"]}


def _send_batch(client, zone_id, operations):
    """One batch call that converges after a 5xx, a timeout or a dropped connection: the zone is re-read and
    only what is still missing is sent again, never a duplicate (retries bounded by the client's retry budget)."""
    path = records_path(zone_id, "batch")
    for _round in range(MAX_PARTIAL_ROUNDS + 1):
        def find_existing(operations=operations):
            raw_records = client.list_pages(records_path(zone_id), per_page=RECORDS_PER_PAGE)
            remaining = still_missing(operations, [from_api(record) for record in raw_records])
            if not remaining:
                return _applied_result(operations, raw_records)
            if len(remaining) == len(operations):
                return None  # nothing of it applied: the same batch again
            raise _PartlyApplied(remaining)
        try:
            return client.create(path, find_existing, json=_batch_body(operations))
        except _PartlyApplied as exc:
            operations = exc.remaining
    raise CloudflareAPIError("POST %s: the batch was still only partly applied after %d re-reads of the zone (%d "
                             "operations missing); nothing was sent twice, run again to converge"
                             % (path, MAX_PARTIAL_ROUNDS + 1, len(operations)), method="POST", path=path)


def read_zone(client, zone_id, params=None):
    """Every record of the zone (or those matching ``params``) in one read at the largest page size."""
    return [from_api(r) for r in client.list_pages(records_path(zone_id), params=params, per_page=RECORDS_PER_PAGE)]


def apply(client, zone_id, changes, batch_size=DEFAULT_BATCH_SIZE):
    """Send the changes as batch calls; returns the batch results (one per call)."""
    operations = _operations(changes)
    return [_send_batch(client, zone_id, operations[start:start + batch_size])
            for start in range(0, len(operations), batch_size)]


def has_changes(changes):
    return bool(changes["create"] or changes["update"] or changes["delete"])


class ZoneRecordsModule(CloudflareModule):
    """Base of the DNS modules: zone-scoped (no account needed), zone resolved once, changes applied in batches."""

    requires_account = False

    def zone(self):
        self.zone_info = resolve_zone(self.client, self.params["zone"], self.account_id)
        self.result["zone"] = self.zone_info
        return self.zone_info["name"]

    def fqdn_option(self, value, option):
        try:
            return fqdn(value, self.zone_info["name"])
        except ValueError as exc:
            raise InvalidInputError("%s: %s" % (option, exc))

    def finish(self, existing, changes, batch_size=None):
        """Check the zone as it would be, report the changes, and apply them (not in check mode).

        Without ``batch_size``, the zone's plan decides it (200 on Free, 3,500 on the others).
        """
        zone_name = self.zone_info["name"]
        if not batch_size:
            batch_size = DEFAULT_BATCH_SIZE if self.zone_info.get("plan", "free") == "free" else PAID_PLAN_BATCH_SIZE
        check_final_state(resulting_records(existing, changes), zone_name)
        self.result["counts"] = count_changes(changes)
        # Full lists only when asked (--diff, -vvv): a 20,000-record sync must not echo megabytes.
        limit = self.params.get("changes_limit")
        if self.module._diff or self.module._verbosity >= 3:
            limit = None
        self.result["changes"] = changes_view(changes, zone_name, limit)
        if "changes_limit" in self.params:
            self.result["changes_truncated"] = is_truncated(changes, limit)
        self.result["batch_calls"] = 0
        if self.module._diff:  # built only when it is shown
            self.set_diff(*diff_view(changes, zone_name))
        if not has_changes(changes):
            return []
        self.mark_changed()
        if self.check_mode:
            return []
        results = apply(self.client, self.zone_info["id"], changes, batch_size)
        self.result["batch_calls"] = len(results)
        return results


class RecordSetModule(ZoneRecordsModule):
    """dns_records: the declared record sets of a zone."""

    def execute(self):
        params = self.params
        if params["batch_size"] is not None and params["batch_size"] < 1:
            raise InvalidInputError("batch_size must be at least 1, got %d" % params["batch_size"])
        if not 0 <= params["max_change_percent"] <= 100:
            raise InvalidInputError("max_change_percent must be from 0 to 100, got %s" % params["max_change_percent"])
        zone_name = self.zone()
        names = None
        if params["names"]:
            names = set(self.fqdn_option(name, "names") for name in params["names"])
        if params["changes_limit"] < 0:
            raise InvalidInputError("changes_limit must be 0 or more, got %d" % params["changes_limit"])
        if params["src"] is not None and params["records"]:
            raise InvalidInputError("records and src are mutually exclusive: give the records in one of them")
        if params["src"] is not None:
            desired = check_input(load_records_src(params["src"], yaml_load), zone_name, option="src")
        else:
            desired = check_input(params["records"], zone_name)
        for index, record in enumerate(desired):
            if names is not None and record["name"] not in names:
                raise InvalidInputError("records[%d] (%s) is not under names (%s)"
                                        % (index, label(record, zone_name), ", ".join(sorted(names))))
        existing = read_zone(self.client, self.zone_info["id"])
        changes = plan(existing, desired, zone_name, exclusive=params["exclusive"], ignore=params["ignore"], names=names)
        if params["exclusive"]:
            managed = [r for r in existing if not is_zone_apex_authority(r, zone_name)]
            check_threshold(changes, len(managed), params["max_change_percent"], params["force"])
        self.finish(existing, changes, params["batch_size"])
