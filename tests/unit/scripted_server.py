"""A real local HTTP/1.1 server with scripted responses, for testing the API client without mocks."""
import json
import queue
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Reply:
    """One scripted answer: a status with a JSON or raw body, or a transport failure.

    ``action``: None (answer), ``"drop"`` (read the request, close without answering) or
    ``"hang"`` (wait ``seconds`` before answering, to trigger a read timeout).
    """

    def __init__(self, status=200, body=None, raw=None, headers=None, action=None, seconds=0.0):
        self.status = status
        self.body = body
        self.raw = raw
        self.headers = headers or {}
        self.action = action
        self.seconds = seconds


def envelope(result=None, result_info=None):
    body = {"success": True, "errors": [], "messages": [], "result": result}
    if result_info is not None:
        body["result_info"] = result_info
    return body


def failure(status, *errors, headers=None):
    return Reply(status, {"success": False, "errors": [{"code": c, "message": m} for c, m in errors],
                          "messages": [], "result": None}, headers=headers)


class Recorded:
    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)


class LocalServer:
    """A real HTTP/1.1 server on 127.0.0.1 (port 0: a free one unless ``port`` is given), serving from a daemon
    thread until ``close()``. Every request it reads is recorded in ``requests`` (as ``recorded(...)`` makes it)
    and answered by ``respond(handler, request)``; it answers only the methods in ``methods``."""

    methods = ("GET", "POST", "PUT", "PATCH", "DELETE")

    def __init__(self, port=0):
        self.requests = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = server.recorded(self.command, urlsplit(self.path), self.headers, body)
                server.requests.append(request)
                server.respond(self, request)

        for method in self.methods:
            setattr(Handler, "do_" + method, Handler._handle)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()

    def recorded(self, method, url, headers, body):
        return Recorded(method, url.path, parse_qs(url.query), dict(headers), body)

    def respond(self, handler, request):
        raise NotImplementedError

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class ScriptedServer(LocalServer):
    """Answers requests from a queue of ``Reply``s, or with ``handler(request)`` once the queue is empty."""

    def __init__(self, port=0):
        self.replies = queue.Queue()
        self.handler = None
        super().__init__(port)
        self.base_url = "http://127.0.0.1:%d/client/v4" % self.port

    def respond(self, handler, request):
        try:
            reply = self.replies.get_nowait()
        except queue.Empty:
            reply = self.handler(request) if self.handler else Reply(500, {"unscripted": True})
        if reply.action == "drop":
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        if reply.action == "hang":
            time.sleep(reply.seconds)
        if reply.raw is not None:
            payload = reply.raw
            content_type = reply.headers.get("Content-Type", "application/octet-stream")
        else:
            payload = json.dumps(reply.body).encode()
            content_type = "application/json"
        handler.send_response(reply.status)
        handler.send_header("Content-Type", content_type)
        for name, value in reply.headers.items():
            if name != "Content-Type":
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def script(self, *replies):
        for reply in replies:
            self.replies.put(reply)
