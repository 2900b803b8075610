"""A real local HTTP server answering like S3 as each test scripts it (HEAD included), recording every request."""
from urllib.parse import parse_qs

from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import LocalServer, Recorded


class Seen(Recorded):
    """A request as S3 sees it: header names lower-case, query parameters without a value kept."""

    @property
    def operation(self):
        return "%s %s%s" % (self.method, self.path, "?" + "&".join(sorted(self.query)) if self.query else "")


class FakeS3(LocalServer):
    """Answers with ``answer(seen)`` -> ``(status, headers, body)``; records every request (HEAD too) in ``seen``."""

    methods = ("GET", "POST", "PUT", "DELETE", "HEAD")

    def __init__(self, answer):
        self.answer = answer
        super().__init__()
        self.seen = self.requests
        self.url = "http://127.0.0.1:%d" % self.port

    def recorded(self, method, url, headers, body):
        return Seen(method, url.path, parse_qs(url.query, keep_blank_values=True),
                    {name.lower(): value for name, value in headers.items()}, body)

    def respond(self, handler, request):
        status, headers, payload = self.answer(request)
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        if "Content-Length" not in headers:  # a HEAD may announce the size of a body it does not send
            handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if request.method != "HEAD":
            handler.wfile.write(payload)

    def operations(self):
        return [seen.operation for seen in self.seen]
