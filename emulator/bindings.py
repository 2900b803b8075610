"""Internal endpoints for the edge runtime (emulator/runtime): never counted as API calls, no faults.

Every call needs the edge runtime's per-start credential (header ``x-cfops-edge-credential``), except the
admin-side edge calls (``/__emulator/edge``, ``/sync``, ``/scheduled``), which need the admin token (admin.py).

- ``ANY /__emulator/bindings/api/<Cloudflare API path>``: runs the API's own handler for that path
  without an API token, call counting or fault injection, for the calls a binding makes only
  (``BINDING_ROUTES``: KV values, metadata, keys, bulk get; D1 query and raw). The Workers' KV and D1 binding shims
  (emulator/runtime/workers/*.js) call it, so a Worker reads and writes exactly the data the API
  manages (a ``kv_entry`` written through the API is what ``env.KV.get`` returns, and back).
- ``POST /__emulator/bindings/queues/<account_id>/<queue_name>``: ``{"messages": [{"body", "content_type",
  "delay_seconds"}]}`` from a Worker's queue producer binding, into the emulator's queue storage.
- ``/__emulator/bindings/r2/<account_id>/<bucket>/object?key=K`` (GET, HEAD, PUT, DELETE) and ``.../list``: the
  r2_bucket binding, on the R2 area's files (``emulator/api/r2.py``); object facts in the ``x-cfops-r2-object``
  header (JSON), custom metadata sent in ``x-cfops-r2-custom-metadata``.
- ``GET /__emulator/edge/table``: the edge router's host/percentage table (fetched per edge request).
- ``GET /__emulator/edge``: the edge's status (URL, reload generations, last ``setOptions`` time).
- ``POST /__emulator/edge/sync``: body ``{"timeout": seconds}`` (default 10, at most 120); returns once the edge
  serves every change made so far (``{"synced": bool}``: false on timeout or when that reload failed).
- ``POST /__emulator/edge/scheduled``: body ``{"script": name, "cron": "* * * * *", "account_id": id}`` (cron
  default ``* * * * *``; account_id optional when one account has that script): runs the Worker's
  ``scheduled()`` now, as ``wrangler dev --test-scheduled``'s ``/__scheduled`` does, but on the admin side
  (Worker code cannot reach ``/__emulator``: sidecar.mjs refuses it). Answers ``{"ran", "version_id",
  "outcome", "no_retry"}``; the invocation is recorded like a cron trigger's.
"""
import hmac
import json
import sys
import traceback
from urllib.parse import parse_qs, unquote

from emulator.admin import authorized, unauthorized
from emulator.envelope import ApiError, Response, json_response

BINDINGS = "/__emulator/bindings"
EDGE = "/__emulator/edge"
# The edge runtime's own credential (new at every start, given to the sidecar in its environment, to the
# router and the binding shims as a binding Worker code never sees): the only key to /__emulator/bindings/*
# and the router's table. The admin-side edge calls (status, sync, scheduled) need the admin token.
CREDENTIAL_HEADER = "x-cfops-edge-credential"
# The API calls the binding shims make (emulator/runtime/workers/{kv,d1}.js); nothing else of the API is
# reachable on the bindings path, so even a leaked credential reaches no token, no script, no other area.
BINDING_ROUTES = frozenset((
    ("GET", "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/keys"),
    ("GET", "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/values/{key_name}"),
    ("PUT", "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/values/{key_name}"),
    ("DELETE", "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/values/{key_name}"),
    ("GET", "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/metadata/{key_name}"),
    ("POST", "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk/get"),
    ("POST", "/accounts/{account_id}/d1/database/{database_id}/query"),
    ("POST", "/accounts/{account_id}/d1/database/{database_id}/raw"),
))
# Handlers that look at the caller's token see an unrestricted one.
EDGE_TOKEN = {"id": "cfops-edge-runtime", "account_id": None, "token": ""}


def handles(path):
    return path.startswith(BINDINGS + "/") or path == EDGE or path.startswith(EDGE + "/")


def from_edge(state, headers):
    expected = getattr(state, "edge_credential", None)
    given = headers.get(CREDENTIAL_HEADER) or ""
    return bool(expected) and bool(given) and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def refused(path):
    return json_response(403, {"error": "%s is the edge runtime's own endpoint: it needs the credential of the edge "
                                        "this emulator started" % path})


def handle(state, method, path, query, headers, body):
    edge_side = path.startswith(BINDINGS + "/") or path == EDGE + "/table"
    if edge_side and not from_edge(state, headers):
        return refused(path)
    if not edge_side and not authorized(getattr(state, "admin_token", None), headers):
        return unauthorized(path[len("/__emulator"):])
    if path.startswith(BINDINGS + "/api/"):
        return _api(state, method, path[len(BINDINGS + "/api"):], query, headers, body)
    if path.startswith(BINDINGS + "/r2/"):
        return _r2(state, method, path[len(BINDINGS + "/r2/"):], parse_qs(query, keep_blank_values=True), headers, body)
    if path.startswith(BINDINGS + "/queues/") and method == "POST":
        return _queue_send(state, path[len(BINDINGS + "/queues/"):], body)
    if path.rstrip("/") == EDGE and method == "GET":
        return _edge_status(state)
    if path == EDGE + "/table" and method == "GET":
        return _edge_table(state)
    if path.rstrip("/") == EDGE + "/sync" and method == "POST":
        return _edge_sync(state, body)
    if path.rstrip("/") == EDGE + "/scheduled" and method == "POST":
        return _edge_scheduled(state, body)
    return json_response(404, {"error": "no internal call %s %s" % (method, path)})


def _api(state, method, path, query, headers, body):
    from emulator.request import ApiRequest  # noqa: PLC0415 - request imports multipart, keep this module light
    resolved = state.router.resolve(method, path)
    if resolved.route is not None and (method, resolved.template) not in BINDING_ROUTES:
        return json_response(403, {"error": "%s %s is not a call a binding makes" % (method, resolved.template)})
    try:
        if resolved.route is None:
            raise resolved.error(method, path)
        request = ApiRequest(method, path, resolved.params, parse_qs(query, keep_blank_values=True), headers, body,
                             state.store, EDGE_TOKEN)
        return resolved.route.handler(request)
    except ApiError as exc:
        return exc.response()
    except Exception as exc:  # noqa: BLE001 - a bug in a handler: the binding call fails, the emulator keeps serving
        traceback.print_exc(file=sys.stderr)
        # An emulator-internal call, not a Cloudflare API answer: the shim turns it into the Worker's exception.
        return json_response(500, {"error": "the emulator failed on this binding call: %s" % exc})


def _queue_send(state, rest, body):
    try:
        from emulator.api import queues  # noqa: PLC0415 - optional product area
    except ImportError:
        return json_response(501, {"error": "this emulator has no queues area"})
    account_id, queue_name = rest.split("/", 1) if "/" in rest else (rest, "")
    queue_name = unquote(queue_name)
    try:
        messages = json.loads(body or b"{}").get("messages")
    except (ValueError, AttributeError):
        messages = None
    if not isinstance(messages, list) or not messages:
        return json_response(400, {"error": "the body must be {\"messages\": [...]} with at least one message"})
    ids = []
    try:
        for message in messages:
            ids.append(queues.enqueue_message(state.store, account_id, queue_name, message.get("body", ""),
                                              message.get("content_type", "json"), int(message.get("delay_seconds") or 0)))
    except LookupError as exc:
        return json_response(404, {"error": str(exc)})
    return json_response(200, {"message_ids": ids})


def _r2_object(row):
    return {"key": row["key"], "size": row["size"], "etag": row["etag"], "uploaded": row["uploaded"],
            "content_type": row.get("content_type"), "custom_metadata": row.get("metadata") or {}}


def _r2(state, method, rest, query, headers, body):
    try:
        from emulator.api import r2  # noqa: PLC0415 - optional product area
    except ImportError:
        return json_response(501, {"error": "this emulator has no R2 area"})
    parts = rest.split("/")
    if len(parts) != 3:
        return json_response(404, {"error": "expected r2/<account_id>/<bucket>/(object|list)"})
    account_id, bucket, what = parts[0], unquote(parts[1]), parts[2]
    key = (query.get("key") or [""])[-1]
    try:
        if what == "list" and method == "GET":
            def arg(name, default=""):
                return (query.get(name) or [default])[-1]
            objects, prefixes, truncated, last = r2.list_objects(
                state.store, account_id, bucket, prefix=arg("prefix"), start_after=arg("cursor"),
                limit=max(1, min(int(arg("limit", "1000") or 1000), 1000)), delimiter=arg("delimiter"))
            return json_response(200, {"objects": [_r2_object(o) for o in objects], "delimitedPrefixes": prefixes,
                                       "truncated": truncated, "cursor": last if truncated else None})
        if what != "object" or not key:
            return json_response(400, {"error": "an object call needs ?key="})
        if method in ("GET", "HEAD"):
            row = r2.get_object(state.store, account_id, bucket, key)
            if row is None:
                return json_response(404, {"error": "no object %r" % key})
            with open(row["path"], "rb") as handle:
                data = b"" if method == "HEAD" else handle.read()
            return Response(200, data, "application/octet-stream", {"x-cfops-r2-object": json.dumps(_r2_object(row))})
        if method == "PUT":
            metadata = json.loads(headers.get("x-cfops-r2-custom-metadata") or "{}")
            row = r2.put_object(state.store, account_id, bucket, key, body,
                                content_type=headers.get("Content-Type") or None, metadata=metadata)
            return json_response(200, _r2_object(row))
        if method == "DELETE":
            return json_response(200, {"deleted": r2.delete_object(state.store, account_id, bucket, key)})
    except r2.StorageError as exc:
        return json_response(404 if exc.code == "NoSuchBucket" else 400, {"error": "%s: %s" % (exc.code, exc)})
    except ValueError as exc:
        return json_response(400, {"error": str(exc)})
    return json_response(405, {"error": "no R2 binding call %s %s" % (method, what)})


def _edge_status(state):
    edge = getattr(state, "edge", None)
    if edge is None:
        return json_response(404, {"error": "the emulator runs without an edge (start it with --edge-port)"})
    return json_response(200, edge.status())


def _edge_table(state):
    edge = getattr(state, "edge", None)
    if edge is None:
        return json_response(404, {"error": "the emulator runs without an edge (start it with --edge-port)"})
    return json_response(200, edge.table())


def _edge_sync(state, body):
    edge = getattr(state, "edge", None)
    if edge is None:
        return json_response(404, {"error": "the emulator runs without an edge (start it with --edge-port)"})
    try:
        timeout = float(json.loads(body or b"{}").get("timeout", 10))
    except (ValueError, TypeError, AttributeError):
        return json_response(400, {"error": "the body must be {\"timeout\": seconds} or empty"})
    return json_response(200, {"synced": edge.sync(timeout=min(max(timeout, 0), 120))})


def _edge_scheduled(state, body):
    edge = getattr(state, "edge", None)
    if edge is None:
        return json_response(404, {"error": "the emulator runs without an edge (start it with --edge-port)"})
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        document = None
    if not isinstance(document, dict) or not isinstance(document.get("script"), str) or not document["script"]:
        return json_response(400, {"error": "the body must be {\"script\": name, \"cron\": expression, \"account_id\": id}"})
    cron = document.get("cron") or "* * * * *"
    account_id = document.get("account_id")
    if account_id is None:
        with state.store.read() as db:
            accounts = [row[0] for row in db.execute("SELECT DISTINCT account_id FROM worker_deployments WHERE script_name = ?",
                                                     (document["script"],))]
        if len(accounts) != 1:
            return json_response(400, {"error": "%d accounts have a Worker %r: name account_id" % (len(accounts), document["script"])})
        account_id = accounts[0]
    from emulator.runtime import EdgeError  # noqa: PLC0415 - the runtime is optional (no --edge-port)
    try:
        result = edge.run_scheduled(account_id, document["script"], cron)
    except EdgeError as exc:
        return json_response(502, {"error": str(exc)})
    return json_response(200 if result["ran"] else 404, result)
