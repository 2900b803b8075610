"""Validate every request and response of the emulator tests against the vendored OpenAPI schema,
and every successful response also against the official SDK's model of its route (``sdk_contract.py``).

The schema is ``emulator/openapi/openapi.json`` (Cloudflare's 2024-08-06 subset) plus
``supplement.json`` (paths the subset lacks and JSON Patch repairs, each with its source).

``ValidatingTransport`` wraps httpx's transport, so a plain ``httpx.Client`` and the official SDK
(``cloudflare.Cloudflare(http_client=...)``) are both checked on every call.  Errors are raised and
also recorded, because the SDK may swallow an exception raised inside its transport and retry;
the tests' autouse fixture fails any test that left an error behind.

Known limits of openapi-core, handled here rather than hidden:
- multipart/form-data request bodies: openapi-core cannot decode a JSON part, so the JSON parts
  (``metadata``, ``settings``) are validated against their part schema and the module parts are
  checked for a declared content type; path, query and security are validated by openapi-core.
- error responses (4xx, 5xx, also injected 429/5xx) are validated against Cloudflare's common
  failure envelope (``workers_api-response-common-failure``) and must carry ``success: false`` and
  at least one error: most operations of the 2024 schema declare their ``4XX`` body as
  allOf(success shape, failure shape), which no response can satisfy (``success`` would have to be
  both true and false).
"""
import email.parser
import email.policy
import json
import pathlib
import threading
from urllib.parse import parse_qsl

import httpx
from jsonschema_path import SchemaPath
from openapi_core import OpenAPI
from openapi_core.configurations import Config
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.templating.paths.finders import APICallPathFinder
from openapi_core.validation.request.validators import V30RequestParametersValidator, V30RequestSecurityValidator
from openapi_schema_validator import OAS30WriteValidator, OAS30ReadValidator
from werkzeug.datastructures import Headers, ImmutableMultiDict

from tests.emulator.sdk_contract import SdkContract

REPO = pathlib.Path(__file__).resolve().parents[2]
SPEC_DIR = REPO / "emulator" / "openapi"
MULTIPART = "multipart/form-data"
FAILURE_ENVELOPE = "#/components/schemas/workers_api-response-common-failure"


class SchemaViolation(AssertionError):
    pass


# Loading -------------------------------------------------------------------------------------------------

def _pointer_parts(pointer):
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer.lstrip("/").split("/")]


def apply_json_patch(document, operation):
    """One RFC 6902 operation (add, replace, remove) applied in place."""
    *parents, last = _pointer_parts(operation["path"])
    target = document
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    op = operation["op"]
    if isinstance(target, list):
        if op == "add":
            target.append(operation["value"]) if last == "-" else target.insert(int(last), operation["value"])
        elif op == "replace":
            target[int(last)] = operation["value"]
        else:
            del target[int(last)]
        return
    if op in ("replace", "remove") and last not in target:
        raise KeyError("JSON Patch %s: %s does not exist" % (op, operation["path"]))
    if op == "remove":
        del target[last]
    else:
        target[last] = operation["value"]


LOCAL_SERVER = {"url": "http://127.0.0.1:{port}/client/v4", "variables": {"port": {"default": "8791"}},
                "description": "the local emulator, any port"}


def load_spec(server_url=None):
    """The subset with the supplement merged in, the local emulator (any port) added to ``servers``."""
    spec = json.loads((SPEC_DIR / "openapi.json").read_text())
    supplement = json.loads((SPEC_DIR / "supplement.json").read_text())
    for path, item in supplement["paths"].items():
        if path in spec["paths"]:
            raise ValueError("supplement.json redefines %s; use x-json-patch to change the subset" % path)
        spec["paths"][path] = item
    for section, entries in supplement["components"].items():
        target = spec["components"].setdefault(section, {})
        for name, value in entries.items():
            if name in target and target[name] != value:
                raise ValueError("supplement.json component %s/%s differs from the subset's" % (section, name))
            target[name] = value
    for operation in supplement["x-json-patch"]:
        apply_json_patch(spec, operation)
    spec["servers"].append(LOCAL_SERVER)
    if server_url:
        spec["servers"].append({"url": server_url})
    return spec


# Adapters between httpx and openapi-core ---------------------------------------------------------------------

class _Request:
    def __init__(self, request):
        url = request.url
        self.host_url = "%s://%s" % (url.scheme, url.netloc.decode("ascii"))
        # The raw path keeps %2F inside a KV key as one segment, as the server sees it.
        self.path = url.raw_path.decode("ascii").split("?", 1)[0]
        self.method = request.method.lower()
        self.body = request.content or None
        self.content_type = request.headers.get("content-type", "")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(url.query.decode("utf-8"), keep_blank_values=True)),
            header=Headers(list(request.headers.items())),
            cookie=ImmutableMultiDict(),
        )


class _Response:
    def __init__(self, response):
        self.status_code = response.status_code
        self.content_type = response.headers.get("content-type", "")
        self.headers = Headers(list(response.headers.items()))
        self.data = response.content


def _multipart_parts(body, content_type):
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not message.is_multipart():
        raise SchemaViolation("body is not multipart/form-data")
    return [(part.get_param("name", header="content-disposition"), part.get_content_type(),
             part.get_payload(decode=True)) for part in message.iter_parts()]


# The validator ---------------------------------------------------------------------------------------------

class SchemaValidator:
    def __init__(self, server_url):
        self.spec_dict = load_spec(server_url)
        self.spec = SchemaPath.from_dict(self.spec_dict)
        self.openapi = OpenAPI(self.spec)  # validates the merged document once
        quick = dict(spec_validator_cls=None)
        self._parameters = OpenAPI(self.spec, config=Config(request_validator_cls=V30RequestParametersValidator, **quick))
        self._security = OpenAPI(self.spec, config=Config(request_validator_cls=V30RequestSecurityValidator, **quick))
        self._finder = APICallPathFinder(self.spec)
        self.sdk = SdkContract()
        self.api_prefix = httpx.URL(server_url).raw_path.decode("ascii").rstrip("/") if server_url else "/client/v4"
        self.errors = []
        self.checked = 0
        self._lock = threading.Lock()

    def _fail(self, what, request, detail):
        message = "%s %s %s: %s" % (what, request.method, request.url, detail)
        with self._lock:
            self.errors.append(message)
        raise SchemaViolation(message)

    def operation(self, request):
        """``(path template, operation dict)`` of ``request`` in the schema, or ``(None, None)``."""
        adapted = _Request(request)
        try:
            found = self._finder.find(adapted.method, adapted.host_url + adapted.path)
        except PathError:
            return None, None
        template = found.path_result.pattern
        return template, self.spec_dict["paths"][template][adapted.method]

    def check_request(self, request):
        adapted = _Request(request)
        if adapted.content_type.split(";")[0].strip().lower() == MULTIPART:
            errors = list(self._parameters.iter_request_errors(adapted)) + list(self._security.iter_request_errors(adapted))
            if not errors:
                errors = self._multipart_request_errors(adapted, request)
        else:
            errors = list(self.openapi.iter_request_errors(adapted))
        if errors:
            self._fail("request", request, "; ".join(_describe(e) for e in errors))
        with self._lock:
            self.checked += 1

    def check_response(self, request, response):
        """Successes against the operation and the SDK's model; errors against Cloudflare's failure envelope (see module doc)."""
        self._check_sdk_contract(request, response)
        _template, operation = self.operation(request)
        if operation is None or response.status_code >= 400:
            self._check_failure_envelope(request, response)
            return
        errors = list(self.openapi.iter_response_errors(_Request(request), _Response(response)))
        if errors:
            self._fail("response to", request, "HTTP %d %s; body %s" % (
                response.status_code, "; ".join(_describe(e) for e in errors), response.content[:500]))

    def _check_sdk_contract(self, request, response):
        path = _Request(request).path
        if not path.startswith(self.api_prefix + "/"):
            return
        problems = self.sdk.problems(request.method, path[len(self.api_prefix):], response.status_code,
                                     response.headers.get("content-type", ""), response.content)
        if problems:
            self._fail("response to", request, "HTTP %d does not fit the SDK's model: %s" % (
                response.status_code, "; ".join(problems)))

    def _check_failure_envelope(self, request, response):
        schema = self._resolved({"$ref": FAILURE_ENVELOPE})
        try:
            document = response.json()
        except ValueError:
            self._fail("response to", request, "HTTP %d is not JSON: %r" % (response.status_code, response.content[:200]))
        problems = [error.message for error in OAS30ReadValidator(schema).iter_errors(document)]
        if document.get("success") is not False or not document.get("errors"):
            problems.append("an error response needs success: false and at least one error")
        if problems:
            self._fail("response to", request, "HTTP %d: %s" % (response.status_code, "; ".join(problems)))

    def _multipart_request_errors(self, adapted, request):
        _template, operation = self.operation(request)
        media = self._resolved(operation["requestBody"])["content"].get(MULTIPART)
        if media is None:
            return ["the operation does not accept multipart/form-data"]
        part_schemas = {}
        for alternative in _alternatives(self._resolved(media["schema"])):
            for name, schema in alternative.get("properties", {}).items():
                part_schemas.setdefault(name, schema)
        encoding = media.get("encoding", {})
        allowed_types = [t.strip() for t in encoding.get("<any part name>", {}).get("contentType", "").split(",") if t.strip()]
        errors = []
        for name, content_type, payload in _multipart_parts(adapted.body, adapted.content_type):
            schema = part_schemas.get(name)
            if schema is not None:
                if schema.get("type") == "object":  # a JSON part (upload metadata, settings)
                    try:
                        document = json.loads(payload)
                    except ValueError:
                        errors.append("part %r is not JSON" % name)
                        continue
                else:
                    document = payload.decode("utf-8", "surrogateescape")
                errors += ["part %r: %s" % (name, e.message) for e in OAS30WriteValidator(schema).iter_errors(document)]
            elif allowed_types and content_type not in allowed_types:
                errors.append("module part %r has content type %r, not one of %s" % (name, content_type, allowed_types))
            elif not allowed_types:
                errors.append("undeclared part %r" % name)
        return errors

    def _resolved(self, schema, depth=0):
        """``schema`` with every $ref inlined (the parts we validate are not recursive)."""
        if depth > 40:
            raise RecursionError("schema nests too deep")
        if isinstance(schema, dict):
            if "$ref" in schema:
                target = self.spec_dict
                for part in _pointer_parts(schema["$ref"][1:]):
                    target = target[part]
                return self._resolved(target, depth + 1)
            return {key: self._resolved(value, depth + 1) for key, value in schema.items()}
        if isinstance(schema, list):
            return [self._resolved(item, depth + 1) for item in schema]
        return schema


def _alternatives(schema):
    for key in ("oneOf", "anyOf", "allOf"):
        if key in schema:
            for item in schema[key]:
                yield from _alternatives(item)
    yield schema


def _describe(error):
    cause = getattr(error, "__cause__", None)
    details = getattr(cause, "schema_errors", None) or getattr(error, "schema_errors", None)
    if details:
        return "%s (%s)" % (error, "; ".join("%s at %s" % (e.message, "/".join(map(str, e.absolute_path))) for e in details))
    return "%s%s" % (error, " (%s)" % cause if cause else "")


class ValidatingTransport(httpx.BaseTransport):
    """An httpx transport that validates each request before sending it and each response after.

    ``check_requests=False`` is for tests that send a deliberately invalid request (no token, a
    path outside the schema, a wrong method): the response is still validated, against the
    operation when the schema has one, else against the failure envelope.
    """

    def __init__(self, validator, check_requests=True, inner=None):
        self.validator = validator
        self.check_requests = check_requests
        self.inner = inner or httpx.HTTPTransport()

    def handle_request(self, request):
        request.read()
        if self.check_requests:
            self.validator.check_request(request)
        response = self.inner.handle_request(request)
        response.read()
        self.validator.check_response(request, response)
        return response

    def close(self):
        self.inner.close()
