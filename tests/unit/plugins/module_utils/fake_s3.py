"""A real local HTTP server answering like S3 as each test scripts it (HEAD included), recording every request."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Seen:
    def __init__(self, method, path, query, headers, body):
        self.method, self.path, self.query, self.headers, self.body = method, path, query, headers, body

    @property
    def operation(self):
        return "%s %s%s" % (self.method, self.path, "?" + "&".join(sorted(self.query)) if self.query else "")


class FakeS3:
    """Answers with ``answer(seen)`` -> ``(status, headers, body)``; records every request (HEAD too)."""

    def __init__(self, answer):
        self.answer = answer
        self.seen = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                seen = Seen(self.command, url.path, parse_qs(url.query, keep_blank_values=True),
                            {name.lower(): value for name, value in self.headers.items()}, body)
                fake.seen.append(seen)
                status, headers, payload = fake.answer(seen)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if "Content-Length" not in headers:  # a HEAD may announce the size of a body it does not send
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def operations(self):
        return [seen.operation for seen in self.seen]
