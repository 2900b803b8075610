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


class ScriptedServer:
    """Answers requests from a queue of ``Reply``s, or with ``handler(request)`` once the queue is empty."""

    def __init__(self, port=0):
        self.replies = queue.Queue()
        self.handler = None
        self.requests = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                request = Recorded(self.command, url.path, parse_qs(url.query), dict(self.headers), body)
                server.requests.append(request)
                try:
                    reply = server.replies.get_nowait()
                except queue.Empty:
                    reply = server.handler(request) if server.handler else Reply(500, {"unscripted": True})
                if reply.action == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if reply.action == "hang":
                    time.sleep(reply.seconds)
                if reply.raw is not None:
                    payload = reply.raw
                    content_type = reply.headers.get("Content-Type", "application/octet-stream")
                else:
                    payload = json.dumps(reply.body).encode()
                    content_type = "application/json"
                self.send_response(reply.status)
                self.send_header("Content-Type", content_type)
                for name, value in reply.headers.items():
                    if name != "Content-Type":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = "http://127.0.0.1:%d/client/v4" % self.port
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()

    def script(self, *replies):
        for reply in replies:
            self.replies.put(reply)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
