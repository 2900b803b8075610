"""Cloudflare's v4 response envelope, API errors and the response object handlers return."""
import dataclasses
import json


@dataclasses.dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict = dataclasses.field(default_factory=dict)


class ApiError(Exception):
    """An error Cloudflare reports in the envelope: ``errors: [{code, message}]`` with an HTTP status."""

    def __init__(self, status, code, message, headers=None, more=()):
        super().__init__(message)
        self.status = status
        self.errors = [{"code": code, "message": message}] + [{"code": c, "message": m} for c, m in more]
        self.headers = dict(headers or {})

    def response(self):
        return json_response(self.status, failure_body(self.errors), self.headers)


def json_response(status, document, headers=None):
    return Response(status, json.dumps(document, separators=(",", ":")).encode("utf-8"), "application/json", dict(headers or {}))


def ok(result, result_info=None, messages=(), status=200):
    document = {"success": True, "errors": [], "messages": list(messages), "result": result}
    if result_info is not None:
        document["result_info"] = result_info
    return json_response(status, document)


def failure_body(errors):
    return {"success": False, "errors": errors, "messages": [], "result": None}


def raw(data, content_type="application/octet-stream", headers=None, status=200):
    return Response(status, data, content_type, dict(headers or {}))
