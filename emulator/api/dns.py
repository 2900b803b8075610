"""DNS records of a zone: CRUD, filtered lists, the batch endpoint, BIND export and import, with validation.

Every write path (single calls, batch, import) goes through ``_apply_post``/``_apply_update`` inside one
write transaction, so the checks (content, TTL, proxied, CNAME conflicts, duplicates) are the same
everywhere and a failing batch or import leaves the zone as it was.
"""
import ipaddress
import json
import math
import re

from emulator.api import dns_bind
from emulator.api.paging import direction_arg, page_window
from emulator.api.zones import NAME_SERVERS, zone_of
from emulator.envelope import ApiError, ok, raw
from emulator.routing import Route
from emulator.store import new_id, now_iso

SCHEMA = """
CREATE TABLE IF NOT EXISTS dns_records (
    id TEXT PRIMARY KEY,
    zone_id TEXT NOT NULL,
    name TEXT NOT NULL,          -- FQDN, lower case, no trailing dot
    type TEXT NOT NULL,
    content TEXT NOT NULL,       -- normalised; SRV/CAA content is derived from data
    body TEXT NOT NULL,          -- JSON: ttl, proxied, priority, data, comment, tags
    created_on TEXT NOT NULL,
    modified_on TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dns_records_by_name ON dns_records (zone_id, name);
-- the list's orders (type, the default, and name): a page is read from an index, not sorted
CREATE INDEX IF NOT EXISTS dns_records_by_type ON dns_records (zone_id, type, name, content, id);
CREATE INDEX IF NOT EXISTS dns_records_by_name_order ON dns_records (zone_id, name, type, content, id);
"""
RESOURCE_TABLES = ("dns_records",)

# Cloudflare's codes, as quoted in API answers (see emulator/README.md for the confirmed/UNCONFIRMED list).
VALIDATION = 1004               # "DNS Validation Error" (generic bad input)
INVALID_A = 9005                # "Content for A record must be a valid IPv4 address."
INVALID_AAAA = 9006             # "Content for AAAA record must be a valid IPv6 address."
INVALID_PROXIED = 9041          # "Invalid proxied mode. Record cannot be proxied"
RECORD_NOT_FOUND = 81044        # "Record does not exist."
HOST_EXISTS = 81053             # "An A, AAAA, or CNAME record with that host already exists."
CNAME_EXISTS = 81054            # "A CNAME record with that host already exists."
NS_CONFLICT = 81056             # UNCONFIRMED code: "NS records with that host already exist."
IDENTICAL_EXISTS = 81058        # "An identical record already exists."
INVALID_TTL = 9021              # UNCONFIRMED code
INVALID_CONTENT = 9007          # UNCONFIRMED code: hostname content (CNAME, NS, MX, PTR) is invalid
NAME_OUTSIDE_ZONE = 9008        # UNCONFIRMED code
TOO_MANY_BATCH_ITEMS = 81060    # UNCONFIRMED code

TYPES = ("A", "AAAA", "CAA", "CNAME", "HTTPS", "MX", "NS", "PTR", "SRV", "SVCB", "TXT", "URI")
PROXIABLE = ("A", "AAAA", "CNAME")
HOSTNAME_TYPES = ("CNAME", "MX", "NS", "PTR")
MAX_PER_PAGE = 5_000_000
# Batch limit per zone plan (developers.cloudflare.com/dns/manage-dns-records/how-to/batch-record-changes/):
# Free 200, Pro/Business/Enterprise 3,500 (zones.plan; `--zone NAME:PLAN`).
MAX_BATCH_ITEMS = {"free": 200, "pro": 3500, "business": 3500, "enterprise": 3500}
MAX_COMMENT_CHARS = 100          # Free plan
MAX_TXT_CHARS = 2048             # UNCONFIRMED (2,048 is the long-documented content limit)
_HOSTNAME = re.compile(r"^(?=.{1,253}$)(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9-]{0,61}[a-z0-9])?$")
_TAG = re.compile(r"^[A-Za-z0-9_-]+(:.*)?$")
FIELDS = ("type", "name", "content", "data", "ttl", "proxied", "priority", "comment", "tags", "settings", "id")


def _bad(code, message):
    return ApiError(400, code, message)


# Normalising and validating one record ---------------------------------------------------------------------

def _fqdn(name, zone_name):
    if not isinstance(name, str) or not name.strip():
        raise _bad(VALIDATION, "DNS Validation Error: name is required")
    name = name.strip().lower()
    if name == "@":
        return zone_name
    if name.endswith("."):
        name = name[:-1]
        if name != zone_name and not name.endswith("." + zone_name):
            raise _bad(NAME_OUTSIDE_ZONE, "The record name %s. is not in the zone %s." % (name, zone_name))
        return name
    if name == zone_name or name.endswith("." + zone_name):
        return name
    return "%s.%s" % (name, zone_name)


def _hostname(value, rtype):
    host = value.strip().lower().rstrip(".") if isinstance(value, str) else ""
    if not _HOSTNAME.match(host):
        raise _bad(INVALID_CONTENT, "Content for %s record is invalid. Must be a valid hostname, got %r."
                   % (rtype, value))
    return host


def _int_field(value, what, low, high):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or not low <= value <= high:
        raise _bad(VALIDATION, "DNS Validation Error: %s must be an integer from %d to %d, got %r" % (what, low, high, value))
    return int(value)


def _content(rtype, record):
    """(content, data, priority) of a record, checked for its type."""
    content = record.get("content")
    if rtype in ("SRV", "CAA"):
        data = record.get("data")
        if not isinstance(data, dict):
            raise _bad(VALIDATION, "DNS Validation Error: %s records need a data object" % rtype)
        if rtype == "SRV":
            data = {"priority": _int_field(data.get("priority"), "data.priority", 0, 65535),
                    "weight": _int_field(data.get("weight"), "data.weight", 0, 65535),
                    "port": _int_field(data.get("port"), "data.port", 0, 65535),
                    "target": "." if data.get("target") == "." else _hostname(data.get("target"), "SRV")}
            return "%d %d %s" % (data["weight"], data["port"], data["target"]), data, data["priority"]
        tag = data.get("tag")
        if tag not in ("issue", "issuewild", "iodef"):
            raise _bad(VALIDATION, "DNS Validation Error: CAA data.tag must be issue, issuewild or iodef, got %r" % (tag,))
        value = data.get("value")
        if not isinstance(value, str):
            raise _bad(VALIDATION, "DNS Validation Error: CAA data.value must be a string")
        data = {"flags": _int_field(data.get("flags", 0), "data.flags", 0, 255), "tag": tag, "value": value}
        return '%d %s "%s"' % (data["flags"], tag, value), data, None
    if not isinstance(content, str) or not content.strip():
        raise _bad(VALIDATION, "DNS Validation Error: content is required for %s records" % rtype)
    priority = None
    if rtype == "A":
        try:
            content = str(ipaddress.IPv4Address(content.strip()))
        except ValueError:
            raise _bad(INVALID_A, "Content for A record must be a valid IPv4 address.")
    elif rtype == "AAAA":
        try:
            content = str(ipaddress.IPv6Address(content.strip()))
        except ValueError:
            raise _bad(INVALID_AAAA, "Content for AAAA record must be a valid IPv6 address.")
    elif rtype in HOSTNAME_TYPES:
        content = _hostname(content, rtype)
        if rtype == "MX":
            priority = _int_field(record.get("priority"), "priority", 0, 65535)
    elif rtype == "TXT" and len(content) > MAX_TXT_CHARS:
        raise _bad(VALIDATION, "DNS Validation Error: TXT content must be at most %d characters" % MAX_TXT_CHARS)
    elif rtype == "URI":
        priority = _int_field(record.get("priority"), "priority", 0, 65535)
    return content, None, priority


def _normalise(record, zone_name):
    """The stored form of a request's record: name as FQDN, content normalised, defaults filled."""
    rtype = record.get("type")
    if rtype not in TYPES:
        raise _bad(VALIDATION, "DNS Validation Error: type must be one of %s, got %r" % (", ".join(TYPES), rtype))
    name = _fqdn(record.get("name"), zone_name)
    content, data, priority = _content(rtype, record)
    ttl = record.get("ttl", 1)
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not (ttl == 1 or 60 <= ttl <= 86400):
        raise _bad(INVALID_TTL, "TTL must be between 60 and 86400 seconds, or 1 for Automatic, got %r" % (ttl,))
    proxied = record.get("proxied", False)
    if not isinstance(proxied, bool):
        raise _bad(VALIDATION, "DNS Validation Error: proxied must be true or false")
    if proxied and rtype not in PROXIABLE:
        raise _bad(INVALID_PROXIED, "Invalid proxied mode. Record cannot be proxied")
    if proxied and ttl != 1:
        ttl = 1  # a proxied record's TTL is always Auto
    comment = record.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT_CHARS):
        raise _bad(VALIDATION, "DNS Validation Error: comment must be a string of at most %d characters"
                   % MAX_COMMENT_CHARS)
    tags = record.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) and _TAG.match(t) for t in tags):
        raise _bad(VALIDATION, "DNS Validation Error: tags must be a list of name:value strings (the name made of "
                   "letters, digits, _ and -), got %r" % (tags,))
    body = {"ttl": int(ttl), "proxied": proxied, "comment": comment or None, "tags": sorted(set(tags))}
    if priority is not None:
        body["priority"] = priority
    if data is not None:
        body["data"] = data
    return {"name": name, "type": rtype, "content": content, "body": body}


# Storage ------------------------------------------------------------------------------------------------

def record_view(row, zone_name):
    body = json.loads(row["body"])
    view = {
        "id": row["id"], "zone_id": row["zone_id"], "zone_name": zone_name, "name": row["name"],
        "type": row["type"], "content": row["content"], "proxiable": row["type"] in PROXIABLE,
        "proxied": body["proxied"], "ttl": body["ttl"], "settings": {}, "meta": {},
        "tags": body["tags"], "created_on": row["created_on"], "modified_on": row["modified_on"],
    }
    if body["comment"] is not None:  # the 2024 schema's comment is a non-nullable string
        view["comment"] = body["comment"]
    for key in ("priority", "data"):
        if key in body:
            view[key] = body[key]
    return view


def _row(db, zone_id, record_id):
    row = db.execute("SELECT * FROM dns_records WHERE id = ? AND zone_id = ?", (record_id, zone_id)).fetchone()
    if row is None:
        raise ApiError(404, RECORD_NOT_FOUND, "Record does not exist.")
    return row


def _check_conflicts(db, zone, record, except_id=""):
    others = db.execute("SELECT type, content FROM dns_records WHERE zone_id = ? AND name = ? AND id != ?",
                        (zone["id"], record["name"], except_id)).fetchall()
    for other in others:
        if other["type"] == record["type"] and other["content"] == record["content"]:
            raise _bad(IDENTICAL_EXISTS, "An identical record already exists.")
    types = {other["type"] for other in others}
    if record["type"] == "CNAME" and types:
        raise _bad(HOST_EXISTS, "An A, AAAA, or CNAME record with that host already exists.")
    if "CNAME" in types:
        raise _bad(CNAME_EXISTS, "A CNAME record with that host already exists.")
    if record["name"] != zone["name"] and types and (record["type"] == "NS") != (types == {"NS"}):
        raise _bad(NS_CONFLICT, "NS records with that host already exist.")


def _apply_post(db, zone, request_record):
    record = _normalise(request_record, zone["name"])
    _check_conflicts(db, zone, record)
    now, record_id = now_iso(), new_id()
    db.execute("INSERT INTO dns_records (id, zone_id, name, type, content, body, created_on, modified_on) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               (record_id, zone["id"], record["name"], record["type"], record["content"],
                json.dumps(record["body"]), now, now))
    return record_view(_row(db, zone["id"], record_id), zone["name"])


def _apply_update(db, zone, record_id, request_record, merge):
    row = _row(db, zone["id"], record_id)
    if merge:  # PATCH: the fields given replace the stored ones
        current = dict(json.loads(row["body"]), name=row["name"], type=row["type"], content=row["content"])
        if "type" in request_record and request_record["type"] != row["type"]:
            current.pop("data", None)
            current.pop("priority", None)
        request_record = dict(current, **{k: v for k, v in request_record.items() if k != "id"})
    record = _normalise(request_record, zone["name"])
    _check_conflicts(db, zone, record, except_id=record_id)
    db.execute("UPDATE dns_records SET name = ?, type = ?, content = ?, body = ?, modified_on = ? WHERE id = ?",
               (record["name"], record["type"], record["content"], json.dumps(record["body"]), now_iso(), record_id))
    return record_view(_row(db, zone["id"], record_id), zone["name"])


def _apply_delete(db, zone, record_id):
    row = _row(db, zone["id"], record_id)
    db.execute("DELETE FROM dns_records WHERE id = ?", (record_id,))
    return record_view(row, zone["name"])


def _body(req):
    body = req.json_object(VALIDATION)
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise _bad(VALIDATION, "DNS Validation Error: unknown field %r" % unknown[0])
    return body


# Routes -------------------------------------------------------------------------------------------------

# The list's filters, as SQL over the stored columns (body is JSON): one (clause, parameters) per filter given.
_ORDER_COLUMNS = {"type": "type", "name": "name", "content": "content",
                  "ttl": "json_extract(body, '$.ttl')", "proxied": "json_extract(body, '$.proxied')"}


def _filters(req):
    filters = []
    if req.arg("name"):
        filters.append(("name = ?", [req.arg("name").lower().rstrip(".")]))
    if req.arg("type"):
        filters.append(("type = ?", [req.arg("type").upper()]))
    if req.arg("content"):
        filters.append(("content = ?", [req.arg("content")]))
    if req.arg("proxied") not in (None, ""):
        filters.append(("json_extract(body, '$.proxied') = ?", [1 if req.bool_arg("proxied") else 0]))
    if req.arg("comment") not in (None, ""):
        filters.append(("json_extract(body, '$.comment') IS ?", [req.arg("comment")]))
    if req.arg("tag"):
        # a tag filter names a whole tag (name:value) or a tag name (every value of it)
        tag = req.arg("tag")
        filters.append(("EXISTS (SELECT 1 FROM json_each(body, '$.tags') WHERE value = ? "
                        "OR (instr(?, ':') = 0 AND substr(value, 1, length(?) + 1) = ? || ':'))", [tag, tag, tag, tag]))
    return filters


def list_records(req):
    """Filters, ordering and paging in SQL (the (zone_id, name) index): only the page's rows are decoded."""
    page, per_page = page_window(req, 100, 1, MAX_PER_PAGE)
    order = req.arg("order") or "type"
    if order not in _ORDER_COLUMNS:
        raise _bad(VALIDATION, "order must be one of type, name, content, ttl, proxied")
    filters = _filters(req)
    where, parameters = "zone_id = ?", []
    if filters:
        joiner = " OR " if req.arg("match") == "any" else " AND "
        where += " AND (%s)" % joiner.join(clause for clause, _params in filters)
        parameters = [value for _clause, params in filters for value in params]
    direction = "DESC" if direction_arg(req) == "desc" else "ASC"
    columns = [_ORDER_COLUMNS[order]] + [c for c in ("name", "type", "content", "id") if c != order]
    # no column twice: SQLite then reads the page straight from an index instead of sorting the zone
    ordering = ", ".join("%s %s" % (column, direction) for column in columns)
    with req.store.read() as db:
        zone = zone_of(db, req)
        arguments = [zone["id"]] + parameters
        total = db.execute("SELECT COUNT(*) FROM dns_records WHERE " + where, arguments).fetchone()[0]
        # the page's rowids from a covering index first, so the rows skipped by OFFSET are never read
        rows = db.execute("SELECT * FROM dns_records WHERE rowid IN (SELECT rowid FROM dns_records WHERE %s "
                          "ORDER BY %s LIMIT ? OFFSET ?) ORDER BY %s" % (where, ordering, ordering),
                          arguments + [per_page, (page - 1) * per_page]).fetchall()
    info = {"page": page, "per_page": per_page, "count": len(rows), "total_count": total,
            "total_pages": max(1, math.ceil(total / per_page))}  # as paging.paginate answers
    return ok([record_view(row, zone["name"]) for row in rows], info)


def create_record(req):
    body = _body(req)
    with req.store.write() as db:
        return ok(_apply_post(db, zone_of(db, req), body))


def get_record(req):
    with req.store.read() as db:
        zone = zone_of(db, req)
        return ok(record_view(_row(db, zone["id"], req.params["dns_record_id"]), zone["name"]))


def replace_record(req):
    body = _body(req)
    with req.store.write() as db:
        return ok(_apply_update(db, zone_of(db, req), req.params["dns_record_id"], body, merge=False))


def patch_record(req):
    body = _body(req)
    with req.store.write() as db:
        return ok(_apply_update(db, zone_of(db, req), req.params["dns_record_id"], body, merge=True))


def delete_record(req):
    with req.store.write() as db:
        zone = zone_of(db, req)
        _apply_delete(db, zone, req.params["dns_record_id"])
    return ok({"id": req.params["dns_record_id"]})


def _batch_list(body, key):
    items = body.get(key) or []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise _bad(VALIDATION, "%s must be a list of objects" % key)
    return items


def batch(req):
    """deletes, then patches, then puts, then posts, in one transaction: all applied or none."""
    body = req.json_object(VALIDATION)
    operations = {key: _batch_list(body, key) for key in ("deletes", "patches", "puts", "posts")}
    total = sum(len(items) for items in operations.values())
    result = {key: [] for key in operations}
    with req.store.write() as db:
        zone = zone_of(db, req)
        limit = MAX_BATCH_ITEMS.get(zone["plan"], MAX_BATCH_ITEMS["free"])
        if total > limit:
            raise _bad(TOO_MANY_BATCH_ITEMS, "A batch may hold at most %d operations on this zone's plan, got %d"
                       % (limit, total))
        for key, items in operations.items():
            for index, item in enumerate(items):
                try:
                    if key == "posts":
                        result[key].append(_apply_post(db, zone, item))
                        continue
                    record_id = item.get("id")
                    if not isinstance(record_id, str):
                        raise _bad(VALIDATION, "an id is required")
                    if key == "deletes":
                        result[key].append(_apply_delete(db, zone, record_id))
                    else:
                        result[key].append(_apply_update(db, zone, record_id, item, merge=key == "patches"))
                except ApiError as exc:
                    exc.errors[0]["message"] = "%s[%d]: %s" % (key, index, exc.errors[0]["message"])
                    raise
    return ok(result)


def export_records(req):
    with req.store.read() as db:
        zone = zone_of(db, req)
        rows = db.execute("SELECT * FROM dns_records WHERE zone_id = ?", (zone["id"],)).fetchall()
    text = dns_bind.write(zone["name"], [record_view(row, zone["name"]) for row in rows], NAME_SERVERS)
    return raw(text.encode("utf-8"), "text/plain; charset=utf-8")


def import_records(req):
    """Adds the file's records; identical records already there are skipped, any other error adds nothing."""
    parts = {part.name: part for part in req.parts(VALIDATION)}
    if "file" not in parts:
        raise _bad(VALIDATION, "a BIND zone file is required in the 'file' part")
    proxied = "proxied" in parts and parts["proxied"].text().strip().lower() == "true"
    with req.store.write() as db:
        zone = zone_of(db, req)
        try:
            records = dns_bind.parse(parts["file"].text(), zone["name"])
        except (dns_bind.BindError, UnicodeDecodeError) as exc:
            raise _bad(VALIDATION, "Unable to parse the zone file: %s" % exc)
        parsed, added = 0, 0
        for record in records:
            if record["type"] == "NS" and record["name"] == zone["name"]:
                continue  # Cloudflare's own name servers answer for the apex
            parsed += 1
            if proxied and record["type"] in PROXIABLE:
                record["proxied"] = True
            try:
                _apply_post(db, zone, record)
                added += 1
            except ApiError as exc:
                if exc.errors[0]["code"] != IDENTICAL_EXISTS:
                    exc.errors[0]["message"] = "%s %s: %s" % (record["name"], record["type"], exc.errors[0]["message"])
                    raise
    return ok({"recs_added": added, "total_records_parsed": parsed})


ROUTES = [
    Route("GET", "/zones/{zone_id}/dns_records", list_records),
    Route("POST", "/zones/{zone_id}/dns_records", create_record),
    Route("POST", "/zones/{zone_id}/dns_records/batch", batch),
    Route("GET", "/zones/{zone_id}/dns_records/export", export_records),
    Route("POST", "/zones/{zone_id}/dns_records/import", import_records),
    Route("GET", "/zones/{zone_id}/dns_records/{dns_record_id}", get_record),
    Route("PUT", "/zones/{zone_id}/dns_records/{dns_record_id}", replace_record),
    Route("PATCH", "/zones/{zone_id}/dns_records/{dns_record_id}", patch_record),
    Route("DELETE", "/zones/{zone_id}/dns_records/{dns_record_id}", delete_record),
]
