"""BIND zone files for the DNS area: parse an uploaded file into record bodies, write a zone's records.

Covers what Cloudflare's import and export deal with: ``$ORIGIN``, ``$TTL``, ``@``, relative and
absolute names, an omitted owner (the previous one), optional TTL and class in either order,
parentheses spanning lines, ``;`` comments outside quotes, quoted TXT strings, and the structured
types (MX, SRV, CAA).  SOA lines are parsed and skipped (Cloudflare owns the SOA).
"""
import re
import time

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[^\s"]+')
_CLASSES = ("IN", "CH", "HS")


class BindError(ValueError):
    """A line that is not a zone file record; the message names the line."""


def _logical_lines(text):
    """(line number, tokens) per record, parentheses joined and comments removed."""
    pending, start, depth = [], 0, 0
    for number, line in enumerate(text.splitlines(), 1):
        tokens, starts_blank = [], bool(line[:1].isspace())
        for match in _TOKEN.finditer(_strip_comment(line)):
            token = match.group(0)
            if token in ("(", ")"):
                depth += 1 if token == "(" else -1
                continue
            tokens.append(token)
        if not pending:
            start = number
            if starts_blank and tokens:
                tokens.insert(0, "")  # the owner is omitted: the previous record's
        pending.extend(tokens)
        if depth <= 0 and pending:
            yield start, pending
            pending, depth = [], 0
    if pending:
        yield start, pending


def _strip_comment(line):
    quoted = False
    for index, char in enumerate(line):
        if char == '"' and (index == 0 or line[index - 1] != "\\"):
            quoted = not quoted
        elif char == ";" and not quoted:
            return line[:index]
    return line


def _absolute(name, origin):
    if name == "@":
        return origin
    if name.endswith("."):
        return name[:-1].lower()
    return ("%s.%s" % (name, origin)).lower()


def _unquote(token):
    if len(token) >= 2 and token[0] == token[-1] == '"':
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    return token


def parse(text, zone_name):
    """Record bodies (API shape: name, type, ttl, content or data/priority) of a zone file."""
    origin, default_ttl, previous = zone_name, 1, zone_name
    records = []
    for number, tokens in _logical_lines(text):
        if tokens[0].upper() == "$ORIGIN":
            origin = tokens[1].rstrip(".").lower()
            continue
        if tokens[0].upper() == "$TTL":
            default_ttl = int(tokens[1])
            continue
        if tokens[0].startswith("$"):
            raise BindError("line %d: unsupported directive %s" % (number, tokens[0]))
        owner = previous if tokens[0] == "" else _absolute(tokens[0], origin)
        previous = owner
        rest, ttl = tokens[1:], default_ttl
        while rest and (rest[0].isdigit() or rest[0].upper() in _CLASSES):
            if rest[0].isdigit():
                ttl = int(rest[0])
            rest = rest[1:]
        if len(rest) < 2:
            raise BindError("line %d: a record needs a type and a value" % number)
        rtype, values = rest[0].upper(), rest[1:]
        if rtype == "SOA":
            continue
        records.append(_record(number, owner, rtype, ttl, values, origin))
    return records


def _record(number, name, rtype, ttl, values, origin):
    record = {"name": name, "type": rtype, "ttl": ttl}
    try:
        if rtype == "MX":
            record.update(priority=int(values[0]), content=_absolute(values[1], origin))
        elif rtype == "SRV":
            record["data"] = {"priority": int(values[0]), "weight": int(values[1]), "port": int(values[2]),
                              "target": _absolute(values[3], origin)}
        elif rtype == "CAA":
            record["data"] = {"flags": int(values[0]), "tag": values[1], "value": _unquote(values[2])}
        elif rtype in ("CNAME", "NS", "PTR"):
            record["content"] = _absolute(values[0], origin)
        elif rtype == "TXT":
            # One string is stored without its quotes (as the API takes it); several stay as written.
            record["content"] = _unquote(values[0]) if len(values) == 1 else " ".join(values)
        else:
            record["content"] = " ".join(values)
    except (IndexError, ValueError):
        raise BindError("line %d: malformed %s record" % (number, rtype))
    return record


def write(zone_name, records, name_servers, exported=None):
    """The zone file Cloudflare's export gives: a header with the export time (UTC), SOA, its name servers,
    then the records by type and name."""
    exported = exported if exported is not None else time.gmtime()
    lines = [
        ";;",
        ";; Domain:     %s." % zone_name,
        ";; Exported:   %s" % time.strftime("%Y-%m-%d %H:%M:%S", exported),
        ";;",
        "",
        ";; SOA Record",
        "%s.\t3600\tIN\tSOA\t%s. dns.cloudflare.com. 2050000000 10000 2400 604800 3600" % (zone_name, name_servers[0]),
        "",
        ";; NS Records",
    ]
    lines += ["%s.\t86400\tIN\tNS\t%s." % (zone_name, server) for server in name_servers]
    by_type = {}
    for record in records:
        by_type.setdefault(record["type"], []).append(record)
    for rtype in sorted(by_type):
        lines += ["", ";; %s Records" % rtype]
        for record in sorted(by_type[rtype], key=lambda r: (r["name"], r["content"])):
            lines.append("%s.\t%d\tIN\t%s\t%s" % (record["name"], record["ttl"], rtype, _value(record)))
    return "\n".join(lines) + "\n"


def _value(record):
    rtype = record["type"]
    if rtype == "MX":
        return "%d %s." % (record["priority"], record["content"])
    if rtype == "SRV":
        data = record["data"]
        return "%d %d %d %s." % (data["priority"], data["weight"], data["port"], data["target"])
    if rtype in ("CNAME", "NS", "PTR"):
        return record["content"] + "."
    if rtype == "TXT" and not record["content"].startswith('"'):
        return '"%s"' % record["content"].replace("\\", "\\\\").replace('"', '\\"')
    return record["content"]
