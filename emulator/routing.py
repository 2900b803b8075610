"""Route table: Cloudflare path templates (as in the OpenAPI schema) to handlers."""
import dataclasses
from urllib.parse import unquote

from emulator.envelope import ApiError

WRITE_METHODS = frozenset(("POST", "PUT", "PATCH", "DELETE"))
ROUTE_NOT_FOUND = 7003
NO_ROUTE = 7000
METHOD_NOT_ALLOWED = 10405


@dataclasses.dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: object
    read_only: bool = False  # a POST that changes nothing (KV bulk/get) counts as a read

    @property
    def write(self):
        return self.method in WRITE_METHODS and not self.read_only

    @property
    def segments(self):
        return self.template.strip("/").split("/")


def _is_param(segment):
    return segment.startswith("{") and segment.endswith("}")


class Router:
    def __init__(self, routes):
        self._routes = list(routes)
        seen = set()
        for route in self._routes:
            key = (route.method, route.template)
            if key in seen:
                raise ValueError("route defined twice: %s %s" % key)
            seen.add(key)
        # Literal segments beat parameters when two templates could match the same path.
        self._routes.sort(key=lambda r: sum(_is_param(s) for s in r.segments))

    @property
    def routes(self):
        return list(self._routes)

    def resolve(self, method, path):
        """Match ``path`` (URL-encoded, after /client/v4) against the table."""
        segments = path.strip("/").split("/") if path.strip("/") else []
        allowed = []
        template = None
        for route in self._routes:
            params = _match_segments(route.segments, segments)
            if params is None:
                continue
            if route.method == method:
                return Resolved(route, params, route.template, [], route.write)
            allowed.append(route.method)
            template = template or route.template
        return Resolved(None, {}, template, sorted(set(allowed)), method in WRITE_METHODS)


@dataclasses.dataclass
class Resolved:
    route: object        # the Route, or None
    params: dict
    template: object     # the template the path matched (also when only the method was wrong), or None
    allowed: list        # methods the path supports when ``route`` is None
    write: bool          # counted as a write (unmatched calls: by method)

    def error(self, method, path):
        """The API error for an unmatched call."""
        if self.allowed:
            return ApiError(405, METHOD_NOT_ALLOWED, "Method %s not allowed for %s" % (method, path),
                            headers={"Allow": ", ".join(self.allowed)})
        return ApiError(404, ROUTE_NOT_FOUND, "Could not route to %s, perhaps your object identifier is invalid?" % path,
                        more=[(NO_ROUTE, "No route for that URI")])


def _match_segments(template, segments):
    if len(template) != len(segments):
        return None
    params = {}
    for expected, actual in zip(template, segments):
        if _is_param(expected):
            if not actual:
                return None
            params[expected[1:-1]] = unquote(actual)
        elif expected != actual:
            return None
    return params
