"""What a route handler receives: the parsed request plus the store and the caller's token."""
import json

from emulator import multipart
from emulator.envelope import ApiError

# Cloudflare's generic "bad request" codes, shared by every product area.
INVALID_JSON = 10006
INVALID_PARAMETER = 1004


class ApiRequest:
    def __init__(self, method, path, params, query, headers, body, store, token=None):
        self.method = method
        self.path = path            # the concrete path after /client/v4, still URL-encoded
        self.params = params        # path parameters, URL-decoded
        self.query = query          # {name: [values]}
        self.headers = headers      # case-insensitive (email.message.Message from http.server)
        self.body = body
        self.store = store
        self.token = token          # the caller's token row (None before authentication)

    @property
    def account_id(self):
        return self.params.get("account_id")

    @property
    def content_type(self):
        return self.headers.get("Content-Type", "")

    @property
    def media_type(self):
        return multipart.media_type(self.content_type)

    def arg(self, name, default=None):
        values = self.query.get(name)
        return values[-1] if values else default

    def int_arg(self, name, default, minimum=None, maximum=None):
        value = self.arg(name)
        if value in (None, ""):
            return default
        try:
            number = int(value)
        except ValueError:
            raise ApiError(400, INVALID_PARAMETER, "%s must be an integer, got %r" % (name, value))
        if minimum is not None and number < minimum or maximum is not None and number > maximum:
            bounds = "at least %d" % minimum if maximum is None else "between %d and %d" % (minimum, maximum)
            raise ApiError(400, INVALID_PARAMETER, "%s must be %s, got %d" % (name, bounds, number))
        return number

    def bool_arg(self, name, default=False):
        value = self.arg(name)
        if value in (None, ""):
            return default
        return value.lower() in ("1", "true", "yes")

    def json(self, code=INVALID_JSON):
        """The body parsed as JSON; an API error with ``code`` when it is not JSON."""
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise ApiError(400, code, "Could not parse the request body as JSON: %s" % exc.msg)

    def json_object(self, code=INVALID_JSON):
        document = self.json(code)
        if not isinstance(document, dict):
            raise ApiError(400, code, "The request body must be a JSON object")
        return document

    def parts(self, code):
        """The multipart/form-data parts; an API error with ``code`` when the body is not multipart."""
        try:
            return multipart.parse(self.body, self.content_type)
        except multipart.MultipartError as exc:
            raise ApiError(400, code, "Could not parse the multipart/form-data body: %s" % exc)
