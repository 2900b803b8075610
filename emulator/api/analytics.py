"""Workers invocations per version: what the edge records and ``POST /graphql`` answers.

The edge (emulator/runtime) records every invocation it runs -- fetch, queue consumer batch, cron
event -- with ``record()``: rows are buffered in memory and written to ``edge_invocations`` in batches
by one thread, never on the request path; rows older than ``RETENTION_MS`` or beyond ``MAX_ROWS`` are
dropped. ``POST /client/v4/graphql`` answers Cloudflare's GraphQL Analytics API for the
``workersInvocationsAdaptive`` dataset, the one that splits invocations by ``scriptVersion``; the
documented shape, its sources and what is uncertain are in emulator/fidelity/analytics.yml (written
from /work/plan/analytics-contract.md). Everything outside that subset is refused in Cloudflare's
GraphQL error shape (``{"data": null, "errors": [{message, path, extensions: {timestamp}}]}``).
"""
import datetime
import json
import re
import threading
import time

from emulator.envelope import json_response
from emulator.graphql import Enum, GraphQLError, parse, resolve
from emulator.routing import Route
from emulator.store import now_iso

SCHEMA = """
CREATE TABLE IF NOT EXISTS edge_invocations (
    account_id TEXT NOT NULL,
    script_name TEXT NOT NULL,
    version_id TEXT NOT NULL,
    ts_ms INTEGER NOT NULL,          -- when the invocation started (ms since the epoch)
    kind TEXT NOT NULL,              -- fetch | queue | scheduled
    http_status INTEGER,             -- the response status (fetch only)
    outcome TEXT NOT NULL,           -- Cloudflare's invocation status (success, scriptThrewException, ...)
    wall_us INTEGER NOT NULL,
    response_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS edge_invocations_by_script ON edge_invocations (account_id, script_name, ts_ms);
CREATE INDEX IF NOT EXISTS edge_invocations_by_time ON edge_invocations (ts_ms);
"""
RESOURCE_TABLES = ("edge_invocations",)

RETENTION_MS = 7 * 86400 * 1000
MAX_ROWS = 200_000
FLUSH_SECONDS = 0.25
PRUNE_SECONDS = 60

# https://developers.cloudflare.com/workers/observability/metrics-and-analytics/#invocation-statuses
OUTCOMES = ("success", "clientDisconnected", "scriptThrewException", "exceededResources", "internalError")
ERROR_OUTCOMES = frozenset(("scriptThrewException", "exceededResources", "internalError"))
MAX_LIMIT = 10000
DEFAULT_LIMIT = 100
GB_PER_INVOCATION = 128 / 1024  # duration is GB-seconds of a 128 MB Worker

DATASET = "workersInvocationsAdaptive"
TYPE = "AccountWorkersInvocationsAdaptive"


# Recording -----------------------------------------------------------------------------------------------

class _Recorder:
    """Buffers rows for one store; a daemon thread writes them in batches."""

    def __init__(self, store):
        self.store = store
        self.pending = []
        self.lock = threading.Lock()
        self.write_lock = threading.Lock()
        self.wake = threading.Event()
        self.pruned_at = 0.0
        threading.Thread(target=self._run, name="analytics-writer", daemon=True).start()

    def add(self, rows):
        with self.lock:
            self.pending.extend(rows)
        self.wake.set()

    def _run(self):
        while True:
            self.wake.wait()
            time.sleep(FLUSH_SECONDS)  # gather a batch
            self.wake.clear()
            try:
                self.flush()
            except Exception as exc:  # noqa: BLE001 - analytics must never take the edge down
                print("cfops analytics: could not write invocations: %s" % exc)

    def flush(self):
        with self.write_lock:
            with self.lock:
                rows, self.pending = self.pending, []
            now = time.time()
            if not rows and now - self.pruned_at < PRUNE_SECONDS:
                return
            with self.store.write() as db:
                db.executemany(
                    "INSERT INTO edge_invocations (account_id, script_name, version_id, ts_ms, kind, http_status, outcome, "
                    "wall_us, response_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(r["account_id"], r["script_name"], r["version_id"], int(r["ts_ms"]), r.get("kind", "fetch"),
                      r.get("http_status"), r["outcome"], int(r.get("wall_us") or 0), int(r.get("response_bytes") or 0))
                     for r in rows])
                if now - self.pruned_at >= PRUNE_SECONDS:
                    self.pruned_at = now
                    _prune(db, int(now * 1000))


def _prune(db, now_ms):
    db.execute("DELETE FROM edge_invocations WHERE ts_ms < ?", (now_ms - RETENTION_MS,))
    excess = db.execute("SELECT COUNT(*) FROM edge_invocations").fetchone()[0] - MAX_ROWS
    if excess > 0:
        db.execute("DELETE FROM edge_invocations WHERE rowid IN "
                   "(SELECT rowid FROM edge_invocations ORDER BY ts_ms LIMIT ?)", (excess,))


_recorders = {}
_recorders_lock = threading.Lock()


def _recorder(store):
    with _recorders_lock:
        recorder = _recorders.get(id(store))
        if recorder is None or recorder.store is not store:
            recorder = _recorders[id(store)] = _Recorder(store)
        return recorder


def record(store, rows):
    """Queue invocation rows: dicts with account_id, script_name, version_id, ts_ms, kind, http_status,
    outcome, wall_us, response_bytes. Returns at once; the rows are written within ``FLUSH_SECONDS``."""
    if rows:
        _recorder(store).add(list(rows))


def flush(store):
    """Write what is buffered now (a query answers every invocation recorded before it)."""
    _recorder(store).flush()


# The dataset's fields --------------------------------------------------------------------------------------

def _utc(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)


def _floor(ms, minutes):
    moment = _utc(ms).replace(second=0, microsecond=0)
    return moment.replace(minute=moment.minute - moment.minute % minutes)


# Dimensions: name -> value of a row (a datetime or date for the time dimensions).
DIMENSIONS = {
    "scriptName": lambda r: r["script_name"],
    "scriptVersion": lambda r: r["version_id"],
    "status": lambda r: r["outcome"],
    "datetime": lambda r: _utc(r["ts_ms"]).replace(microsecond=0),
    "datetimeMinute": lambda r: _floor(r["ts_ms"], 1),
    "datetimeFiveMinutes": lambda r: _floor(r["ts_ms"], 5),
    "datetimeFifteenMinutes": lambda r: _floor(r["ts_ms"], 15),
    "datetimeHour": lambda r: _utc(r["ts_ms"]).replace(minute=0, second=0, microsecond=0),
    "date": lambda r: _utc(r["ts_ms"]).date(),
}
# Fields Cloudflare's schema has (public code against the live API introspected them) that the
# emulator cannot answer truthfully: refused as unsupported, not as unknown.
UNSUPPORTED = {
    "dimensions": {"cacheStatus", "coloCode", "dispatchNamespaceName", "environmentName", "isDispatcher", "isPreview",
                   "previewSlug", "scriptTag", "usageModel"},
    "sum": {"subrequests", "cpuTimeUs"},
    "quantiles": {"cpuTime%s" % level for level in ("P25", "P50", "P75", "P90", "P99", "P999")},
    "max": {"cpuTime", "memoryUsageBytes"},
    "min": {"cpuTime"},
    "avg": {"cpuTime"},
}
UNSUPPORTED_WHY = {
    "subrequests": "the emulator's edge does not count subrequests",
    "cpuTimeUs": "workerd under Miniflare reports no CPU time; use wallTime",
    "cpuTime": "workerd under Miniflare reports no CPU time; use wallTime",
    "memoryUsageBytes": "the emulator's edge does not measure memory",
}


def _wall(rows):
    return [r["wall_us"] for r in rows]


def _duration(rows):
    return [r["wall_us"] / 1e6 * GB_PER_INVOCATION for r in rows]


def _bytes(rows):
    return [r["response_bytes"] for r in rows]


SERIES = {"wallTime": _wall, "duration": _duration, "responseBodySize": _bytes}
SUMS = {
    "requests": len,
    "errors": lambda rows: sum(1 for r in rows if r["outcome"] in ERROR_OUTCOMES),
    "clientDisconnects": lambda rows: sum(1 for r in rows if r["outcome"] == "clientDisconnected"),
    "wallTime": lambda rows: sum(_wall(rows)),
    "duration": lambda rows: sum(_duration(rows)),
    "responseBodySize": lambda rows: sum(_bytes(rows)),
}
# P25..P999; no P95: every field list introspected from the live schema goes from P90 to P99.
LEVELS = {"P25": 0.25, "P50": 0.5, "P75": 0.75, "P90": 0.9, "P99": 0.99, "P999": 0.999}
QUANTILES = {series + level: (series, q) for series in SERIES for level, q in LEVELS.items()}


def _quantile(values, q):
    """Linear interpolation between closest ranks: Cloudflare's documented example answers 212.5 and
    261.19 for the P50 and P99 of four invocations, which is this estimate."""
    ordered = sorted(values)
    if not ordered:
        return 0
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    value = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return round(value, 2) if isinstance(value, float) and not value.is_integer() else int(value)


def _aggregate(kind, values):
    if not values:
        return 0
    if kind == "avg":
        return round(sum(values) / len(values), 2)
    return max(values) if kind == "max" else min(values)


def _over(kind, series):
    """The ``kind`` aggregate (avg, max, min) of one series, as a function of a group's rows."""
    def compute(rows):
        return _aggregate(kind, series(rows))
    return compute


AGGREGATES = {
    "avg": {"sampleInterval": lambda rows: 1, **{name: _over("avg", f) for name, f in SERIES.items()}},
    "max": {name: _over("max", f) for name, f in SERIES.items()},
    "min": {name: _over("min", f) for name, f in SERIES.items()},
}
GROUPS = {"sum": SUMS, "quantiles": QUANTILES, **AGGREGATES}


def _format(value):
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


# Errors ------------------------------------------------------------------------------------------------

def _unknown(name, on_type, path):
    return GraphQLError('unknown field "%s" on type "%s"' % (name, on_type), path)


def _unsupported(name, group, path):
    why = UNSUPPORTED_WHY.get(name) or UNSUPPORTED_WHY.get(re.sub(r"P\d+$", "", name)) or "the emulator does not record it"
    return GraphQLError("%s.%s is not supported by the emulator's GraphQL endpoint: %s" % (group, name, why), path)


def _error_document(error):
    return {"data": None, "errors": [{"message": error.message, "path": error.path or None,
                                      "extensions": {"timestamp": now_iso()}}]}


# Filters -----------------------------------------------------------------------------------------------

OPERATORS = ("geq", "leq", "gt", "lt", "neq", "notin", "in", "notlike", "like")
TIME_DIMENSIONS = {"datetime", "datetimeMinute", "datetimeFiveMinutes", "datetimeFifteenMinutes", "datetimeHour"}


def _parse_time(value, field, path):
    if isinstance(value, str):
        try:
            moment = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None:
            return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)
    raise GraphQLError("error parsing args: %s must be a time (RFC 3339), got %r" % (field, value), path)


def _parse_date(value, field, path):
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise GraphQLError("error parsing args: %s must be a date (YYYY-MM-DD), got %r" % (field, value), path)


def _coerce(dimension, value, field, path):
    if isinstance(value, list):
        return [_coerce(dimension, item, field, path) for item in value]
    if dimension in TIME_DIMENSIONS:
        return _parse_time(value, field, path)
    if dimension == "date":
        return _parse_date(value, field, path)
    if not isinstance(value, str):
        raise GraphQLError("error parsing args: %s must be a string, got %r" % (field, value), path)
    return value


def _like(pattern):
    return re.compile("^%s$" % ".*".join(re.escape(part) for part in pattern.split("%")), re.DOTALL)


def _condition(key, value, path):
    """One filter member as a predicate on a row."""
    dimension, operator = key, "eq"
    if key not in DIMENSIONS:
        for candidate in OPERATORS:
            if key.endswith("_" + candidate) and key[:-len(candidate) - 1] in DIMENSIONS:
                dimension, operator = key[:-len(candidate) - 1], candidate
                break
        else:
            if key.split("_")[0] in UNSUPPORTED["dimensions"]:
                raise GraphQLError("error parsing args: filtering on %s is not supported by the emulator" % key, path)
            raise GraphQLError('error parsing args: unknown filter field "%s"' % key, path)
    if value is None:
        return lambda row: True  # an unset variable: no constraint
    if operator in ("in", "notin") and not isinstance(value, list):
        raise GraphQLError("error parsing args: %s needs a list" % key, path)
    if operator in ("like", "notlike"):
        if not isinstance(value, str):
            raise GraphQLError("error parsing args: %s needs a string" % key, path)
        regex = _like(value)
        get = DIMENSIONS[dimension]
        return (lambda row: bool(regex.match(str(_format(get(row)))))) if operator == "like" \
            else (lambda row: not regex.match(str(_format(get(row)))))
    wanted = _coerce(dimension, value, key, path)
    get = DIMENSIONS[dimension]
    compare = {
        "eq": lambda have: have == wanted, "neq": lambda have: have != wanted,
        "gt": lambda have: have > wanted, "lt": lambda have: have < wanted,
        "geq": lambda have: have >= wanted, "leq": lambda have: have <= wanted,
        "in": lambda have: have in wanted, "notin": lambda have: have not in wanted,
    }[operator]
    return lambda row: compare(get(row))


def _combined(quantifier, parts):
    def check(row):
        return quantifier(part(row) for part in parts)
    return check


def _predicate(document, path):
    if document is None:
        return lambda row: True
    if not isinstance(document, dict):
        raise GraphQLError("error parsing args: filter must be an object", path)
    checks = []
    for key, value in document.items():
        if key in ("AND", "OR"):
            if not isinstance(value, list):
                raise GraphQLError("error parsing args: %s needs a list of filters" % key, path)
            checks.append(_combined(all if key == "AND" else any, [_predicate(item, path) for item in value]))
        else:
            checks.append(_condition(key, value, path))
    return lambda row: all(check(row) for check in checks)


# Execution ------------------------------------------------------------------------------------------------

def _leaves(field, path):
    for leaf in field.selections or ():
        if leaf.selections is not None:
            raise GraphQLError("scalar fields must have no selections", path + [field.key, leaf.key])
    if field.selections is None:
        raise GraphQLError("object field must have selections", path + [field.key])
    return field.selections


def _check_selection(dataset, path):
    """Validate the dataset's selection before reading anything (as a schema would)."""
    for part in dataset.selections or ():
        where = path + [part.key]
        if part.name == "__typename":
            continue
        if part.name == "dimensions":
            for leaf in _leaves(part, path):
                if leaf.name == "__typename" or leaf.name in DIMENSIONS:
                    continue
                if leaf.name in UNSUPPORTED["dimensions"]:
                    raise _unsupported(leaf.name, "dimensions", where + [leaf.key])
                raise _unknown(leaf.name, TYPE + "Dimensions", where + [leaf.key])
        elif part.name in GROUPS:
            for leaf in _leaves(part, path):
                if leaf.name == "__typename" or leaf.name in GROUPS[part.name]:
                    continue
                if leaf.name in UNSUPPORTED.get(part.name, ()):
                    raise _unsupported(leaf.name, part.name, where + [leaf.key])
                raise _unknown(leaf.name, TYPE + part.name[0].upper() + part.name[1:], where + [leaf.key])
        else:
            raise _unknown(part.name, TYPE, where)
    if dataset.selections is None:
        raise GraphQLError("object field must have selections", path)


def _by_dimension(name):
    def key(group):
        return group["dims"][name]
    return key


def _by_aggregate(compute):
    def key(group):
        return compute(group["rows"])
    return key


def _order(order_by, dimension_names, path):
    """[(key function on a group, descending)]: ``orderBy``, then the grouped dimensions ascending (Cloudflare
    appends the aggregation group to the order asked for, features/sorting)."""
    grouped = [(_by_dimension(name), False) for name in dimension_names]
    if order_by is None:
        return grouped
    if not isinstance(order_by, list):
        order_by = [order_by]
    keys = []
    for item in order_by:
        text = item.name if isinstance(item, Enum) else item
        match = re.match(r"^(.+)_(ASC|DESC)$", text or "") if isinstance(text, str) else None
        if match is None:
            raise GraphQLError("error parsing args: orderBy %r is not FIELD_ASC or FIELD_DESC" % (text,), path)
        field, descending = match.group(1), match.group(2) == "DESC"
        if field in DIMENSIONS:
            if field not in dimension_names:
                raise GraphQLError("error parsing args: orderBy %s needs %s among the dimensions" % (text, field), path)
            keys.append((_by_dimension(field), descending))
            continue
        group_name, _sep, member = field.partition("_")
        if group_name in ("sum", "avg", "max", "min") and member in GROUPS[group_name]:
            keys.append((_by_aggregate(GROUPS[group_name][member]), descending))
            continue
        raise GraphQLError("error parsing args: cannot order by %s" % text, path)
    return keys + grouped


def _dataset(field, load, variables, path):
    _check_selection(field, path)
    unknown = set(field.arguments) - {"limit", "filter", "orderBy"}
    if unknown:
        raise GraphQLError("error parsing args: unknown argument %s" % sorted(unknown)[0], path)
    limit = resolve(field.arguments.get("limit", DEFAULT_LIMIT), variables)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit <= MAX_LIMIT:
        raise GraphQLError("limit must be positive number and not greater than %d" % MAX_LIMIT, path)
    document = resolve(field.arguments.get("filter"), variables)
    keep = _predicate(document, path)
    rows = load(_narrowing(document))
    dimension_names = []
    for part in field.selections:
        if part.name == "dimensions":
            dimension_names += [leaf.name for leaf in part.selections if leaf.name in DIMENSIONS]
    dimension_names = list(dict.fromkeys(dimension_names))
    groups = {}
    for row in rows:
        if keep(row):
            key = tuple(DIMENSIONS[name](row) for name in dimension_names)
            groups.setdefault(key, []).append(row)
    ordered = [{"dims": dict(zip(dimension_names, key)), "rows": members} for key, members in groups.items()]
    for key, descending in reversed(_order(resolve(field.arguments.get("orderBy"), variables), dimension_names, path)):
        ordered.sort(key=key, reverse=descending)
    return [_group_view(field, group) for group in ordered[:limit]]


def _group_view(field, group):
    view = {}
    for part in field.selections:
        if part.name == "__typename":
            view[part.key] = TYPE
        elif part.name == "dimensions":
            view[part.key] = {leaf.key: (TYPE + "Dimensions" if leaf.name == "__typename" else _format(group["dims"][leaf.name]))
                              for leaf in part.selections}
        elif part.name == "quantiles":
            view[part.key] = {}
            for leaf in part.selections:
                if leaf.name == "__typename":
                    view[part.key][leaf.key] = TYPE + "Quantiles"
                else:
                    series, q = QUANTILES[leaf.name]
                    view[part.key][leaf.key] = _quantile(SERIES[series](group["rows"]), q)
        else:
            functions = GROUPS[part.name]
            view[part.key] = {leaf.key: (TYPE + part.name.capitalize() if leaf.name == "__typename"
                                         else functions[leaf.name](group["rows"])) for leaf in part.selections}
    return view


def _narrowing(document):
    """What SQL can select before the exact filter runs: a script name and start-time bounds that every
    matching row must meet (top-level members and AND lists only; the predicate still checks them all)."""
    found = {"script": None, "low": None, "high": None}
    members = [document] if isinstance(document, dict) else []
    while members:
        member = members.pop()
        for key, value in member.items():
            if key == "AND" and isinstance(value, list):
                members += [item for item in value if isinstance(item, dict)]
            elif key == "scriptName" and isinstance(value, str):
                found["script"] = value
            elif key in ("datetime_geq", "datetime_gt", "datetime_leq", "datetime_lt", "datetime") and isinstance(value, str):
                try:
                    moment = _parse_time(value, key, [])
                except GraphQLError:
                    continue
                ms = int(moment.timestamp() * 1000)
                # The datetime dimension is the start time to the second: widen by a second, never narrow.
                if key in ("datetime_geq", "datetime_gt", "datetime"):
                    found["low"] = max(found["low"] or ms - 1000, ms - 1000)
                if key in ("datetime_leq", "datetime_lt", "datetime"):
                    found["high"] = min(found["high"] or ms + 1000, ms + 1000)
    return found


def _loader(store, account_id):
    def load(narrowing):
        clauses, args = ["account_id = ?"], [account_id]
        if narrowing["script"] is not None:
            clauses.append("script_name = ?")
            args.append(narrowing["script"])
        if narrowing["low"] is not None:
            clauses.append("ts_ms >= ?")
            args.append(narrowing["low"])
        if narrowing["high"] is not None:
            clauses.append("ts_ms <= ?")
            args.append(narrowing["high"])
        with store.read() as db:
            return [dict(row) for row in db.execute("SELECT * FROM edge_invocations WHERE " + " AND ".join(clauses), args)]
    return load


def _account(store, token, field, variables, path):
    where = path + [field.key]
    document = resolve(field.arguments.get("filter"), variables)
    if not isinstance(document, dict) or not isinstance(document.get("accountTag"), str) or set(document) != {"accountTag"}:
        message = 'error parsing args: an account-scoped query needs filter: {accountTag: "<account id>"} (one account)'
        raise GraphQLError(message, where)
    account_id = document["accountTag"]
    with store.read() as db:
        exists = db.execute("SELECT 1 FROM accounts WHERE id = ?", (account_id,)).fetchone() is not None
    limited_to = token["account_id"] if token is not None else None
    if not exists or (limited_to is not None and limited_to != account_id):
        raise GraphQLError("not authorized for that account", where, status=403)
    return account_id


def _accounts(store, token, field, variables, path):
    account_id = _account(store, token, field, variables, path)
    load = _loader(store, account_id)
    view = {}
    for part in field.selections or ():
        where = path + [field.key, "0", part.key]
        if part.name == "__typename":
            view[part.key] = "account"
        elif part.name == DATASET:
            view[part.key] = _dataset(part, load, variables, where)
        else:
            raise GraphQLError('unknown field "%s" on type "account": the emulator answers only %s' % (part.name, DATASET),
                               where)
    if field.selections is None:
        raise GraphQLError("object field must have selections", path + [field.key])
    return [view]


def execute(store, token, operation, variables):
    data = {}
    for root in operation.selections:
        if root.name == "__typename":
            data[root.key] = "Query"
            continue
        if root.name != "viewer":
            raise _unknown(root.name, "Query", [root.key])
        viewer = {}
        for part in root.selections or ():
            if part.name == "__typename":
                viewer[part.key] = "viewer"
            elif part.name == "accounts":
                viewer[part.key] = _accounts(store, token, part, variables, [root.key])
            elif part.name == "zones":
                raise GraphQLError("viewer.zones is not supported by the emulator's GraphQL endpoint", [root.key, part.key])
            else:
                raise _unknown(part.name, "viewer", [root.key, part.key])
        data[root.key] = viewer
    return data


def graphql(req):
    try:
        try:
            body = json.loads(req.body or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            raise GraphQLError('query contains error, please review it and retry: the body must be JSON '
                               '{"query": "...", "variables": {...}}')
        variables = body.get("variables") or {}
        if not isinstance(variables, dict):
            raise GraphQLError("error parsing args: variables must be an object")
        operation = parse(body["query"])
        values = dict(operation.variables)
        values.update(variables)
        flush(req.store)
        return json_response(200, {"data": execute(req.store, req.token, operation, values), "errors": None})
    except GraphQLError as error:
        return json_response(error.status, _error_document(error))


ROUTES = [Route("POST", "/graphql", graphql, read_only=True)]
