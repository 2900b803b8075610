"""The HTTP server: routes /client/v4 calls (auth, envelope, call counts, faults) and /__emulator admin calls.

HTTP/1.1 with keep-alive: every response carries Content-Length and every request body is read in
full, so a client (workerd, httpx) can reuse the connection.
"""
import dataclasses
import socket
import sys
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from emulator import admin, api, bindings, ratelimit, s3
from emulator.admin import ensure_admin_token
from emulator.api import d1
from emulator.api.zones import ensure_zone, parse_zone_spec
from emulator.auth import authenticate
from emulator.calls import CallCounter
from emulator.envelope import ApiError
from emulator.faults import FaultRegistry
from emulator.request import ApiRequest
from emulator.routing import Resolved, Router
from emulator.store import Store

API_PREFIX = "/client/v4"
MAX_BODY_BYTES = 200 * 1000 * 1000  # above the 100 MB KV bulk limit, so that limit answers with its own error
INTERNAL_ERROR = 10002
FAULT_ERRORS = {
    429: (10000, "Rate limited"),
    500: (10013, "An unknown error has occurred"),
    502: (10013, "Bad gateway"),
    503: (10013, "Service temporarily unavailable"),
}
DROP = object()  # a response that closes the connection without answering


@dataclasses.dataclass
class EmulatorState:
    store: Store
    router: Router
    calls: CallCounter
    faults: FaultRegistry
    log_requests: bool = True
    admin: bool = True  # False (python -m emulator --no-admin): /__emulator/* answers 404, as on Cloudflare
    admin_token: str = None  # what /__emulator/* needs (admin.py), kept in <data-dir>/admin-token
    edge_credential: str = None  # what /__emulator/bindings/* needs: the edge runtime's own, new at every start


def build_state(data_dir, account_id, token, account_name, log_requests=True, zones=(), admin=True):
    store = Store(data_dir, api.schemas(), api.resource_tables())
    store.ensure_account(account_id, account_name)
    store.ensure_token(token, None)
    for spec in zones:
        ensure_zone(store, account_id, *parse_zone_spec(spec))
    return EmulatorState(store, Router(api.routes()), CallCounter(), FaultRegistry(), log_requests, admin,
                         ensure_admin_token(data_dir))


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True       # a hanging call must not keep the process alive after SIGTERM
    allow_reuse_address = True  # restart on the same port right after a stop
    request_queue_size = 128

    def __init__(self, address, state):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, RequestHandler)
        self.state = state


class _BodyTooLarge(Exception):
    pass


def fault_response(fault):
    if fault.action == "drop":
        return DROP
    code, message = FAULT_ERRORS.get(fault.status, (10013 if fault.status >= 500 else 10000, "Injected fault"))
    headers = {"Retry-After": str(fault.retry_after)} if fault.status == 429 else {}
    return ApiError(fault.status, code, message, headers=headers).response()


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cfops-emulator"
    timeout = 300  # close idle keep-alive connections eventually
    disable_nagle_algorithm = True  # headers and body go out in two writes; Nagle + delayed ACK would add ~40 ms

    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    @property
    def state(self):
        return self.server.state

    def _handle(self):
        started = time.monotonic()
        if s3.owns(self.path):  # R2's S3 API streams its bodies itself
            self._log(s3.handle(self, self.state), started)
            return
        try:
            body = self._read_body()
        except _BodyTooLarge:
            self.close_connection = True
            self._send(ApiError(413, 10027, "Request body too large").response())
            return
        except (ValueError, OSError):
            self.close_connection = True
            self._send(ApiError(400, 10006, "Malformed request body").response())
            return
        # A request target is a path: "//host/__emulator/..." must not read as a network location (which
        # would make the path "/__emulator/..." behind the edge's guard, which sees "//host/...").
        split = urlsplit("http://emulator" + self.path if self.path.startswith("/") else self.path)
        path = split.path
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            response = self._api(path[len(API_PREFIX):] or "/", parse_qs(split.query, keep_blank_values=True), body)
        elif path.startswith(d1.EXPORTS_PREFIX):  # D1 export downloads (signed URLs, outside the API)
            response = d1.serve_export(self.state.store, path, parse_qs(split.query))
        elif bindings.handles(path):  # the edge runtime's binding calls: not counted, no faults
            response = bindings.handle(self.state, self.command, path, split.query, self.headers, body)
        elif path == admin.PREFIX or path.startswith(admin.PREFIX + "/"):
            if self.state.admin:
                response = admin.handle(self.state, self.command, path[len(admin.PREFIX):] or "/", body, self.headers)
            else:  # live-mode rehearsal: no admin API, an unknown path like any other
                response = Resolved(None, {}, None, [], False).error(self.command, path).response()
        else:
            response = Resolved(None, {}, None, [], False).error(self.command, path).response()
        if response is DROP:
            self.close_connection = True
            self._log("dropped", started)
            return
        self._send(response)
        self._log(response.status, started)

    def _api(self, path, query, body):
        state = self.state
        method = "GET" if self.command == "HEAD" else self.command
        resolved = state.router.resolve(method, path)
        fault = state.faults.decide(method, resolved.template, path)
        state.calls.record(method, resolved.template, resolved.write, faulted=fault is not None)
        refused = ratelimit.refuse(self.headers.get("Authorization"))  # Cloudflare's per-user limit, when asked
        if refused is not None:
            return refused
        if fault is not None and fault.action == "hang":
            time.sleep(fault.seconds)
            fault = None
        if fault is not None and not fault.apply:
            return fault_response(fault)
        response = self._run(method, path, query, body, resolved)
        return fault_response(fault) if fault is not None else response

    def _run(self, method, path, query, body, resolved):
        try:
            if resolved.route is None:
                raise resolved.error(method, path)
            token = authenticate(self.state.store, self.headers, resolved.params.get("account_id"))
            request = ApiRequest(method, path, resolved.params, query, self.headers, body, self.state.store, token)
            return resolved.route.handler(request)
        except ApiError as exc:
            return exc.response()
        except Exception:  # a bug in the emulator: answer like Cloudflare's internal error, keep serving
            traceback.print_exc(file=sys.stderr)
            return ApiError(500, INTERNAL_ERROR, "Unexpected internal server error").response()

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise _BodyTooLarge()
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self):
        chunks, total = [], 0
        while True:
            size = int(self.rfile.readline(1024).split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise _BodyTooLarge()
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _send(self, response):
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. timed out on a hang fault)

    def version_string(self):
        return self.server_version

    def log_request(self, code="-", size="-"):
        pass  # _log writes one line per call, after the response

    def _log(self, status, started):
        if self.state.log_requests:
            # Method, path and status only: bodies (secret values, KV data) and headers (tokens) never reach the log.
            elapsed_ms = (time.monotonic() - started) * 1000
            sys.stderr.write("%s %s %s %.1fms\n" % (self.command, urlsplit(self.path).path, status, elapsed_ms))
