# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""BIND zone files read into records in the input format of dns_records.

Handles ``$ORIGIN``, ``$TTL``, ``@``, relative and absolute names, an omitted owner (the previous
record's), TTL and class in either order, parentheses across lines, ``;`` comments outside quotes,
quoted TXT strings, MX/URI priorities and SRV/CAA data. SOA records are skipped (Cloudflare owns the SOA).
"""

from __future__ import annotations

import re

from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[()]|[^\s"()]+')
_CLASSES = ("IN", "CH", "HS")


def _without_comment(line):
    quoted, escaped = False, False
    for index, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            return line[:index]
    return line


def _entries(text):
    """``(line number, tokens)`` for each entry; an omitted owner is the token ``""``."""
    tokens, start, depth = [], 0, 0
    for number, line in enumerate(text.splitlines(), 1):
        found = _TOKEN.findall(_without_comment(line))
        if not tokens:
            if not found:
                continue
            start = number
            if line[:1] in (" ", "\t"):
                tokens.append("")
        for token in found:
            if token == "(":
                depth += 1
            elif token == ")":
                depth -= 1
            else:
                tokens.append(token)
        if depth <= 0:
            yield start, tokens
            tokens, depth = [], 0
    if tokens:
        yield start, tokens


def _name(token, origin):
    if token == "@":
        return origin
    if token.endswith("."):
        return token[:-1].lower()
    return ("%s.%s" % (token, origin)).lower() if origin else token.lower()


def _text(tokens):
    if len(tokens) == 1 and len(tokens[0]) >= 2 and tokens[0][0] == tokens[0][-1] == '"':
        return re.sub(r'\\(.)', r'\1', tokens[0][1:-1])
    return " ".join(tokens)


def parse(text, zone_name):
    """Records (``name`` fully qualified, ``type``, ``ttl``, ``content`` or ``data``, ``priority``), file order."""
    origin, default_ttl, owner = zone_name, None, zone_name
    records = []
    for number, tokens in _entries(text):
        where = "line %d" % number
        head = tokens[0].upper()
        if head == "$ORIGIN":
            origin = tokens[1].rstrip(".").lower()
            continue
        if head == "$TTL":
            default_ttl = int(tokens[1])
            continue
        if head.startswith("$"):
            raise InvalidInputError("%s: the directive %s is not supported" % (where, tokens[0]))
        owner = owner if tokens[0] == "" else _name(tokens[0], origin)
        rest, ttl = tokens[1:], default_ttl
        while rest and (rest[0].isdigit() or rest[0].upper() in _CLASSES):
            if rest[0].isdigit():
                ttl = int(rest[0])
            rest = rest[1:]
        if len(rest) < 2:
            raise InvalidInputError("%s: a record needs a type and a value" % where)
        rtype, values = rest[0].upper(), rest[1:]
        if rtype == "SOA":
            continue
        record = {"name": owner, "type": rtype}
        if ttl is not None:
            record["ttl"] = ttl
        try:
            if rtype in ("MX", "URI"):
                record["priority"] = int(values[0])
                record["content"] = _name(values[1], origin) if rtype == "MX" else " ".join(values[1:])
            elif rtype == "SRV":
                record["data"] = {"priority": int(values[0]), "weight": int(values[1]), "port": int(values[2]),
                                  "target": _name(values[3], origin)}
            elif rtype == "CAA":
                record["data"] = {"flags": int(values[0]), "tag": values[1], "value": _text(values[2:])}
            elif rtype in ("CNAME", "NS", "PTR"):
                record["content"] = _name(values[0], origin)
            elif rtype == "TXT":
                record["content"] = _text(values)
            else:
                record["content"] = " ".join(values)
        except (IndexError, ValueError):
            raise InvalidInputError("%s: the %s record is malformed: %s" % (where, rtype, " ".join(values)))
        record["line"] = number
        records.append(record)
    return records
