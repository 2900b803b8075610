"""The current contract: the emulator's responses checked against the official Python SDK's response models.

The OpenAPI subset in ``emulator/openapi/`` is Cloudflare's schema of 2024; the SDK (``cloudflare``,
pinned 5.9.0 in requirements-dev.txt) is generated from the current one. For every route of the
emulator, ``SdkContract`` finds the SDK method that calls the same path (an AST read of
``cloudflare/resources/**.py``: ``self._get(path_template("/zones/{zone_id}/dns_records/{dns_record_id}"),
cast_to=cast(Type[RecordResponse], ResultWrapper[RecordResponse]))``, ``self._get_api_list(...,
page=SyncV4PagePaginationArray[RecordResponse])``) and validates each successful JSON response with
pydantic against what that method parses it as:

- ``ResultWrapper[X]``: ``result`` against ``X`` (``Optional[X]`` where the SDK casts to Optional);
- a page (``SyncV4PagePaginationArray[X]``, ``SyncSinglePage[X]``, ...): the envelope and ``result_info``
  against the page model, each item of ``result`` against ``X``;
- a model as ``cast_to`` (no envelope unwrapping): the whole body against it.

Validation is pydantic's strict JSON mode: the types of the fields the model declares (a string is not
a number, an enum is one of its ``Literal`` values, a required field is present), extra fields allowed
as the SDK's models allow them. A union of record types (``RecordResponse``) is narrowed to the member
whose ``type`` literal matches, so a message names the one relevant field.

``KNOWN_MISMATCHES`` lists mismatches found in areas whose emulator code belongs to another helper
(``docs/dev/fidelity.md``); each is reported to its owner and removed once fixed. It is keyed by route
and field, so any other mismatch of the same route still fails.
"""
import ast
import dataclasses
import enum
import functools
import importlib
import json
import pathlib
import re
import types
import typing

import cloudflare
import pydantic
import pydantic_core

SDK_ROOT = pathlib.Path(cloudflare.__file__).resolve().parent
SDK_VERSION = cloudflare.__version__
HTTP_METHODS = {"_get": "GET", "_post": "POST", "_put": "PUT", "_patch": "PATCH", "_delete": "DELETE"}
NO_MODEL_TYPES = {"object", "str", "NoneType", "BinaryAPIResponse", "bytes", "Any"}

# (METHOD, emulator route template) -> {field path prefix: the area that owns the fix}. Field paths are
# those of the messages ("result.settings.delivery_delay", "result[*].script"); "[*]" stands for any index.
WORKER_SETTINGS = "/accounts/{account_id}/workers/scripts/{script_name}/settings"
KNOWN_MISMATCHES = {
    # workers: a Worker without smart placement answers `placement: {}`; every member of the SDK's
    # placement union requires its key (mode, region, hostname or host). Omit it, or send {"mode": ...}.
    ("GET", WORKER_SETTINGS): {"result.placement": "workers"},
    ("PATCH", WORKER_SETTINGS): {"result.placement": "workers"},
    # data: KV bulk get answers `null` for a key that does not exist; the SDK's values union
    # (str | float | bool | object) has no null. Which one Cloudflare sends needs a source.
    ("POST", "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk/get"): {"result.values": "data"},
}

# Routes the SDK has no model for, and why (sdk_contract_report() lists them; a test keeps this in step).
NO_SDK_MODEL = {
    ("GET", "/accounts/{account_id}/workers/services/{service_name}"): "not in the SDK; wrangler reads it before deploy and versions upload",
    ("POST", "/graphql"): "GraphQL Analytics API: its own {data, errors} body, not the v4 envelope (no SDK resource)",
    ("GET", "/zones/{zone_id}/settings"): "the SDK no longer exposes the aggregate zone settings read",
    ("PATCH", "/zones/{zone_id}/settings"): "the SDK no longer exposes the aggregate zone settings edit",
    ("GET", "/zones/{zone_id}/dns_records/export"): "BIND text (the SDK returns str)",
    ("DELETE", "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk"): "not in the SDK (POST .../bulk/delete is)",
    ("DELETE", "/accounts/{account_id}/r2/buckets/{bucket_name}"): "the SDK casts the result to object",
    ("PUT", "/accounts/{account_id}/r2/buckets/{bucket_name}/cors"): "the SDK casts the result to object",
    ("DELETE", "/accounts/{account_id}/r2/buckets/{bucket_name}/cors"): "the SDK casts the result to object",
    ("PUT", "/accounts/{account_id}/r2/buckets/{bucket_name}/lifecycle"): "the SDK casts the result to object",
    ("DELETE", "/accounts/{account_id}/d1/database/{database_id}"): "the SDK casts the result to object",
    ("GET", "/accounts/{account_id}/workers/scripts/{script_name}"): "multipart script content (the SDK returns str)",
    ("DELETE", "/accounts/{account_id}/workers/scripts/{script_name}"): "the SDK casts the result to object",
    ("GET", "/accounts/{account_id}/workers/scripts/{script_name}/content/v2"): "script content (binary)",
    ("DELETE", "/zones/{zone_id}/rulesets/{ruleset_id}"): "204 without a body (the SDK casts to None)",
    ("DELETE", "/accounts/{account_id}/rulesets/{ruleset_id}"): "204 without a body (the SDK casts to None)",
    ("GET", "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/values/{key_name}"): "the raw value (binary)",
    ("GET", "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/metadata/{key_name}"):
        "the SDK casts the result to object",
    ("DELETE", "/accounts/{account_id}/workers/scripts/{script_name}/secrets/{secret_name}"):
        "the SDK casts the result to object",
}


@dataclasses.dataclass(frozen=True)
class SdkOperation:
    method: str
    template: str         # the SDK's path template
    resource: str         # cloudflare/resources/... path
    function: str         # Class.method
    kind: str             # "result", "page" or "body"
    type_source: str      # the model expression, e.g. "RecordResponse"
    optional: bool        # the SDK casts the result to Optional[...]
    page_source: str = ""  # e.g. "SyncV4PagePaginationArray"

    @property
    def module(self):
        return "cloudflare." + self.resource[:-3].replace("/", ".")

    @property
    def describe(self):
        wrapped = "%s[%s]" % (self.page_source, self.type_source) if self.kind == "page" else self.type_source
        return "%s (%s, cloudflare/%s)" % (wrapped, self.function, self.resource)


# Reading the SDK's resources -----------------------------------------------------------------------------

def _template(node):
    """The path template of a request call's first argument, or None."""
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "path_template" and node.args \
            and isinstance(node.args[0], ast.Constant):
        return node.args[0].value
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{param}" for v in node.values)
    return None


def _keyword(call, name):
    return next((k.value for k in call.keywords if k.arg == name), None)


def _subscript_arg(node, name):
    """``X`` of ``name[X]`` (as source), or None."""
    if isinstance(node, ast.Subscript) and ast.unparse(node.value) == name:
        return ast.unparse(node.slice)
    return None


def _strip_optional(source):
    if source.startswith("Optional[") and source.endswith("]"):
        return source[len("Optional["):-1], True
    return source, False


def _operation(call, method, resource, function):
    template = _template(call.args[0]) if call.args else None
    if template is None:
        return None
    page = _keyword(call, "page")
    if page is not None:  # self._get_api_list(path, page=SyncSinglePage[X], ...)
        if not isinstance(page, ast.Subscript):
            return None
        method = (_keyword(call, "method").value.upper() if isinstance(_keyword(call, "method"), ast.Constant) else "GET")
        return SdkOperation(method, template, resource, function, "page", ast.unparse(page.slice), False, ast.unparse(page.value))
    cast_to = _keyword(call, "cast_to")
    if cast_to is None:
        return None
    options = _keyword(call, "options")
    post_parser = _keyword(options, "post_parser") if isinstance(options, ast.Call) else None
    optional = False
    if isinstance(cast_to, ast.Call) and getattr(cast_to.func, "id", None) == "cast" and len(cast_to.args) == 2:
        declared, wrapper = cast_to.args
        inner = _subscript_arg(wrapper, "ResultWrapper")
        if inner is None:
            return None
        declared_source = ast.unparse(declared)
        optional = "Optional[" in declared_source
        if isinstance(post_parser, ast.Attribute):
            parsed = _subscript_arg(post_parser.value, "ResultWrapper")
            if parsed is not None:
                inner, optional_here = _strip_optional(parsed)
                optional = optional or optional_here
        inner, optional_inner = _strip_optional(inner)
        return SdkOperation(method, template, resource, function, "result", inner, optional or optional_inner)
    inner = _subscript_arg(cast_to, "ResultWrapper")
    if inner is not None:
        inner, optional = _strip_optional(inner)
        return SdkOperation(method, template, resource, function, "result", inner, optional)
    return SdkOperation(method, template, resource, function, "body", ast.unparse(cast_to), False)


@functools.lru_cache(maxsize=None)
def _resource_texts():
    return {path.relative_to(SDK_ROOT).as_posix(): path.read_text(encoding="utf-8")
            for path in sorted((SDK_ROOT / "resources").rglob("*.py"))}


@functools.lru_cache(maxsize=None)
def _file_operations(resource):
    """Every request the synchronous resource classes of one SDK file make, read from its source."""
    operations = []
    tree = ast.parse(_resource_texts()[resource])
    for cls in tree.body:
        if not isinstance(cls, ast.ClassDef) or cls.name.startswith("Async") or "With" in cls.name:
            continue
        for function in cls.body:
            if not isinstance(function, ast.FunctionDef):
                continue
            for call in ast.walk(function):
                if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                        and isinstance(call.func.value, ast.Name) and call.func.value.id == "self"):
                    continue
                name = "%s.%s" % (cls.name, function.name)
                if call.func.attr in HTTP_METHODS:
                    operation = _operation(call, HTTP_METHODS[call.func.attr], resource, name)
                elif call.func.attr == "_get_api_list":
                    operation = _operation(call, "GET", resource, name)
                else:
                    continue
                if operation is not None:
                    operations.append(operation)
    return operations


def _tail_pattern(route_template):
    """A regex for how an SDK file writes the end of the route's path: ``/dns_records/{dns_record_id}"``."""
    segments = route_template.strip("/").split("/")
    last_literal = max(i for i, s in enumerate(segments) if not s.startswith("{"))
    tail = ["[{]\\w+[}]" if s.startswith("{") else re.escape(s) for s in segments[last_literal:]]
    return re.compile("/" + "/".join(tail) + '"')


def sdk_operations(route_template=None):
    """The SDK's requests; for a route, only those of the files that write the end of its path."""
    pattern = _tail_pattern(route_template) if route_template else None
    return [operation for resource, text in _resource_texts().items() if pattern is None or pattern.search(text)
            for operation in _file_operations(resource)]


def _segments(template):
    return [None if s.startswith("{") and s.endswith("}") else s for s in template.strip("/").split("/")]


def _match_score(sdk_template, route_template):
    """How well an SDK path template fits a route template: None when it cannot be the same path.

    A parameter of the SDK's may stand for a literal of the route's (the rulesets resource calls
    ``/{account_or_zone}/{account_or_zone_id}/rulesets``); each literal agreeing scores one.
    """
    sdk, route = _segments(sdk_template), _segments(route_template)
    if len(sdk) != len(route):
        return None
    score = 0
    for expected, actual in zip(sdk, route):
        if expected is None:
            continue
        if expected != actual:
            return None
        score += 1
    return score


def operations_for(method, route_template):
    """The SDK operations for a route, best match first (several when SDK methods share a path)."""
    scored = []
    for operation in sdk_operations(route_template):
        if operation.method != method:
            continue
        score = _match_score(operation.template, route_template)
        if score is not None:
            scored.append((score, operation))
    if not scored:
        return []
    best = max(score for score, _operation in scored)
    return [operation for score, operation in scored if score == best]


def model_operation(method, route_template):
    """The SDK operation whose model the route's responses are checked against, or None (no SDK model)."""
    for operation in operations_for(method, route_template):
        if operation.type_source.split("[")[0] not in NO_MODEL_TYPES:
            return operation
    return None


# Validating ------------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _resolve(module, source):
    namespace = vars(importlib.import_module(module))
    return eval(source, dict(namespace))  # noqa: S307 - a type expression read from the SDK's own source


@functools.lru_cache(maxsize=None)
def _adapter(tp):
    _accept_placeholders(tp, set())
    return pydantic.TypeAdapter(tp)


def _any_schema(cls, source, handler):
    return pydantic_core.core_schema.any_schema()


def _accept_placeholders(tp, seen):
    """Let pydantic accept anything where the SDK declares a bare placeholder class.

    The generator emits ``class ResourcesBindings: pass`` (no fields, not a model) where the schema is
    open (``types/workers/scripts/version_create_response.py``); it says nothing about the shape, so it
    validates as "any", as the SDK itself treats it.
    """
    if id(tp) in seen:
        return
    seen.add(id(tp))
    for arg in typing.get_args(tp):
        _accept_placeholders(arg, seen)
    if not isinstance(tp, type):
        return
    if issubclass(tp, pydantic.BaseModel):
        for field in tp.model_fields.values():
            _accept_placeholders(field.annotation, seen)
    elif tp.__module__.startswith("cloudflare.types.") and not hasattr(tp, "__get_pydantic_core_schema__") \
            and not issubclass(tp, (str, int, float, bytes, enum.Enum)):
        tp.__get_pydantic_core_schema__ = classmethod(_any_schema)


def _literal_values(annotation):
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    return ()


def _narrow(tp, value):
    """The member of a union of models that ``value`` claims to be (by a ``Literal`` field), else ``tp``."""
    if typing.get_origin(tp) is not typing.Union or not isinstance(value, dict):
        return tp
    members = [m for m in typing.get_args(tp) if isinstance(m, type) and issubclass(m, pydantic.BaseModel)]
    for field in ("type", "id", "kind"):
        if field not in value:
            continue
        fitting = [m for m in members if field in m.model_fields and value[field] in _literal_values(m.model_fields[field].annotation)]
        if len(fitting) == 1:
            return fitting[0]
    return tp


def _page_items_key(page_class):
    """None when a page's ``result`` is the item list; else the key of the list inside ``result``."""
    annotation = page_class.model_fields["result"].annotation
    if typing.get_origin(annotation) in (list, typing.List):
        return None
    for member in typing.get_args(annotation) or (annotation,):
        fields = getattr(member, "model_fields", {})
        for name, field in fields.items():
            inner = [a for a in typing.get_args(field.annotation) if a is not types.NoneType] or [field.annotation]
            if any(typing.get_origin(a) in (list, typing.List) for a in inner):
                return name
    return None


def _walk(loc, value, error_type):
    """``(path, tags)`` of a pydantic error location: the field path, and the union-member tags pydantic
    inserts ("PlacementMode", "str") with the path where each was tried."""
    parts, tags = [], []
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
            parts.append("[%d]" % part)
            value = value[part]
        elif isinstance(value, dict) and part in value:
            parts.append("." + str(part))
            value = value[part]
        elif last and error_type == "missing":
            parts.append("." + str(part))
        else:
            tags.append(("".join(parts), str(part)))
    return "".join(parts), tags


def _closest_member(errors):
    """Of a union's members tried at one path, keep the errors of the member that failed at the fewest fields.

    (A value a member accepts raises no error for it; pydantic reports every member only when all fail.)
    """
    by_member = {}
    for error in errors:
        first = error["tags"][0] if error["tags"] else None
        by_member.setdefault(first[0] if first else None, {}).setdefault(first, []).append(error)
    kept = []
    for _where, members in by_member.items():
        kept += min(members.values(), key=lambda member: len({error["path"] for error in member}))
    return kept


def _errors(tp, value, prefix):
    """``[(path, message, input)]`` of ``value`` against ``tp``; union members' alternatives joined by " / "."""
    tp = _narrow(tp, value)
    try:
        _adapter(tp).validate_json(json.dumps(value), strict=True)
    except pydantic.ValidationError as exc:
        errors = []
        for error in exc.errors():
            path, tags = _walk(error["loc"], value, error["type"])
            errors.append({"path": (prefix + path).lstrip("."), "tags": tags, "msg": error["msg"], "input": error.get("input")})
        grouped = {}
        for error in _closest_member(errors):
            messages, _input = grouped.setdefault(error["path"], ([], error["input"]))
            if error["msg"] not in messages:
                messages.append(error["msg"])
        return [(path, " / ".join(messages), value_) for path, (messages, value_) in grouped.items()]
    return []


def check_document(operation, document):
    """``[(field path, message, input)]``: how ``document`` (a decoded success body) differs from the SDK's model."""
    model = _resolve(operation.module, operation.type_source)
    if operation.kind == "body":
        return _errors(model, document, "")
    if not isinstance(document, dict) or "result" not in document:
        return [("result", "the response has no result", None)]
    result = document["result"]
    if operation.kind == "page":
        page = _resolve(operation.module, "%s[%s]" % (operation.page_source, operation.type_source))
        items_key = _page_items_key(_resolve(operation.module, operation.page_source))
        if items_key is None:  # result is the list of items
            problems = _errors(page, dict(document, result=[]), "")
            items, prefix = result, "result"
        else:                  # result is an object holding the list (V4PagePagination: {items: [...]})
            if not isinstance(result, dict):
                return [("result", "the SDK's page holds its items in result.%s" % items_key, result)]
            problems = _errors(page, dict(document, result=dict(result, **{items_key: []})), "")
            items, prefix = result.get(items_key) or [], "result.%s" % items_key
        if not isinstance(items, list):
            return problems + [(prefix, "a page's items must be a list", items)]
        for index, item in enumerate(items):
            problems += _errors(model, item, "%s[%d]" % (prefix, index))
        return problems
    if result is None:
        return [] if operation.optional else [("result", "the SDK's model is not optional, the result is null", None)]
    return _errors(model, result, "result")


def _tolerated(method, template, field):
    known = KNOWN_MISMATCHES.get((method, template), {})
    wildcard = _wildcard(field)
    return any(wildcard == key or wildcard.startswith(key + ".") or wildcard.startswith(key + "[") for key in known)


def _wildcard(field):
    out, depth = [], 0
    for char in field:
        if char == "[":
            depth += 1
            out.append("[*]")
        elif char == "]":
            depth -= 1
        elif depth == 0:
            out.append(char)
    return "".join(out)


class SdkContract:
    """Checks each response of the emulator's route table against the SDK model of its route."""

    def __init__(self):
        from emulator import api  # noqa: PLC0415 - the tests' sys.path has the repository
        from emulator.routing import Router  # noqa: PLC0415
        self.router = Router(api.routes())
        self.checked = 0
        self.unmodelled = set()  # (METHOD, template) the emulator served that the SDK has no model for

    def route_of(self, method, api_path):
        resolved = self.router.resolve("GET" if method == "HEAD" else method, api_path)
        return resolved.template if resolved.route is not None else None

    def problems(self, method, api_path, status, content_type, body):
        """The mismatches of one response (``api_path`` after /client/v4), as messages; [] when it fits."""
        if status >= 400 or "json" not in (content_type or ""):
            return []
        template = self.route_of(method, api_path)
        if template is None:
            return []
        operation = model_operation(method, template)
        if operation is None:
            self.unmodelled.add((method, template))
            return []
        try:
            document = json.loads(body)
        except ValueError:
            return ["not JSON, but the SDK parses it as %s" % operation.describe]
        self.checked += 1
        found = [(field, message, value) for field, message, value in check_document(operation, document)
                 if not _tolerated(method, template, field)]
        if not found:
            return []
        return ["%s: %s (got %s)" % (field, message, json.dumps(value)[:120]) for field, message, value in found] + [
            "the SDK %s model: %s" % (SDK_VERSION, operation.describe)]


def routes_without_model(routes):
    """``[(METHOD, template)]`` of ``routes`` (Route objects) that the SDK has no response model for."""
    return sorted((route.method, route.template) for route in routes if model_operation(route.method, route.template) is None)
