"""A parser for the subset of Cloudflare's Rules language that rule expressions use.

It checks what Cloudflare checks when a rule is saved: the syntax, that every field and function exists,
and that operators get operands of the right type.  Errors read like Cloudflare's::

    Filter parsing error (1:15):
    starts_with(http.uri.path, "/x")
                ^^^^^^^^^^^^^ unknown identifier

The expression is never evaluated: the emulator stores rules, it does not filter traffic.
"""
import ipaddress
import re

# Field name -> type ("string", "int", "float", "bool", "ip", "array", "map").
# https://developers.cloudflare.com/ruleset-engine/rules-language/fields/ (the commonly used ones).
FIELDS = {
    "http.cookie": "string", "http.host": "string", "http.referer": "string", "http.user_agent": "string",
    "http.x_forwarded_for": "string", "http.request.full_uri": "string", "http.request.method": "string",
    "http.request.uri": "string", "http.request.uri.path": "string", "http.request.uri.path.extension": "string",
    "http.request.uri.query": "string", "http.request.version": "string", "http.request.timestamp.sec": "int",
    "http.request.body.raw": "string", "http.request.body.size": "int", "http.request.body.truncated": "bool",
    "http.request.headers": "map", "http.request.headers.names": "array", "http.request.headers.values": "array",
    "http.request.headers.truncated": "bool", "http.request.cookies": "map", "http.request.uri.args": "map",
    "http.request.uri.args.names": "array", "http.request.uri.args.values": "array",
    "http.request.accepted_languages": "array",
    "http.response.code": "int", "http.response.headers": "map", "http.response.headers.names": "array",
    "http.response.headers.values": "array", "http.response.content_type.media_type": "string",
    "ip.src": "ip", "ip.src.lat": "string", "ip.src.lon": "string", "ip.src.city": "string",
    "ip.src.postal_code": "string", "ip.src.metro_code": "string", "ip.src.region": "string",
    "ip.src.region_code": "string", "ip.src.timezone.name": "string", "ip.src.asnum": "int",
    "ip.src.country": "string", "ip.src.continent": "string", "ip.src.subdivision_1_iso_code": "string",
    "ip.src.subdivision_2_iso_code": "string", "ip.src.is_in_european_union": "bool",
    "ip.geoip.asnum": "int", "ip.geoip.country": "string", "ip.geoip.continent": "string",
    "ip.geoip.subdivision_1_iso_code": "string", "ip.geoip.subdivision_2_iso_code": "string",
    "ip.geoip.is_in_european_union": "bool",
    "ssl": "bool", "cf.threat_score": "int", "cf.client.bot": "bool", "cf.verified_bot_category": "string",
    "cf.bot_management.score": "int", "cf.bot_management.verified_bot": "bool",
    "cf.bot_management.static_resource": "bool", "cf.bot_management.js_detection.passed": "bool",
    "cf.bot_management.ja3_hash": "string", "cf.bot_management.ja4": "string",
    "cf.waf.score": "int", "cf.waf.score.sqli": "int", "cf.waf.score.xss": "int", "cf.waf.score.rce": "int",
    "cf.waf.score.class": "string", "cf.waf.credential_check.password_leaked": "bool",
    "cf.edge.server_port": "int", "cf.edge.server_ip": "ip", "cf.colo.id": "int", "cf.ray_id": "string",
    "cf.tls_client_auth.cert_verified": "bool", "cf.hostname.metadata": "string", "cf.zone.name": "string",
    "cf.zone.plan": "string", "cf.unique_visitor_id": "string", "cf.api_gateway.auth_id_present": "bool",
    "cf.api_gateway.request_violates_schema": "bool", "cf.worker.upstream_zone": "string",
    "raw.http.request.full_uri": "string", "raw.http.request.uri": "string", "raw.http.request.uri.path": "string",
    "raw.http.request.uri.query": "string", "raw.http.request.uri.args": "map",
}

# Function name -> result type (arguments are checked for count only).
FUNCTIONS = {
    "any": ("bool", 1, 1), "all": ("bool", 1, 1), "concat": ("string", 1, 99), "ends_with": ("bool", 2, 2),
    "starts_with": ("bool", 2, 2), "len": ("int", 1, 1), "lower": ("string", 1, 1), "upper": ("string", 1, 1),
    "url_decode": ("string", 1, 2), "to_string": ("string", 1, 1), "regex_replace": ("string", 3, 3),
    "wildcard_replace": ("string", 3, 4), "remove_bytes": ("string", 2, 2), "lookup_json_string": ("string", 2, 99),
    "lookup_json_integer": ("int", 2, 99), "encode_base64": ("string", 1, 2), "decode_base64": ("string", 1, 1),
    "substring": ("string", 2, 3), "split": ("array", 3, 3), "join": ("string", 2, 2), "has_key": ("bool", 2, 2),
    "has_value": ("bool", 2, 2), "cidr": ("ip", 3, 3), "cidr6": ("ip", 2, 2), "uuidv4": ("string", 1, 1),
    "is_timed_hmac_valid_v0": ("bool", 3, 5), "bit_slice": ("int", 3, 3),
}

COMPARISON = {"eq": "eq", "==": "eq", "ne": "ne", "!=": "ne", "lt": "lt", "<": "lt", "le": "le", "<=": "le",
              "gt": "gt", ">": "gt", "ge": "ge", ">=": "ge", "contains": "contains", "matches": "matches",
              "~": "matches", "wildcard": "wildcard", "strict": "strict", "in": "in"}
LOGICAL = {"and": "and", "&&": "and", "or": "or", "||": "or", "xor": "xor", "^^": "xor"}
NOT = ("not", "!")

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<rawstring>r(?P<hashes>\#*)".*?"(?P=hashes))
  | (?P<ip>(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?(?![\w.])|[0-9a-fA-F]*:[0-9a-fA-F:.]+(?:/\d{1,3})?)
  | (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
  | (?P<dollar>\$[a-z0-9_]+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_0-9][A-Za-z0-9_]*)*)
  | (?P<op>==|!=|<=|>=|&&|\|\||\^\^|[<>~!(){}\[\],*])
""", re.VERBOSE | re.DOTALL)


class ExpressionError(ValueError):
    """A parse error; ``str()`` is Cloudflare's three-line message."""

    def __init__(self, expression, start, length, reason):
        self.reason = reason
        self.column = start + 1
        line = expression.replace("\n", " ")
        super().__init__("Filter parsing error (1:%d):\n%s\n%s%s %s"
                         % (self.column, line, " " * start, "^" * max(1, length), reason))


class _Token:
    __slots__ = ("kind", "text", "start")

    def __init__(self, kind, text, start):
        self.kind, self.text, self.start = kind, text, start


def _tokens(expression):
    tokens, position = [], 0
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None:
            if expression[position] == '"':
                raise ExpressionError(expression, position, len(expression) - position, "unterminated string")
            raise ExpressionError(expression, position, 1, "unrecognised input")
        kind = match.lastgroup if match.lastgroup != "hashes" else "rawstring"
        if match.group("rawstring"):
            kind = "rawstring"
        if kind != "space":
            tokens.append(_Token(kind, match.group(0), position))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, expression):
        self.expression = expression
        self.tokens = _tokens(expression)
        self.index = 0

    # helpers
    def peek(self):
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self):
        token = self.peek()
        self.index += 1
        return token

    def fail(self, token, reason):
        if token is None:
            raise ExpressionError(self.expression, len(self.expression), 1, reason)
        raise ExpressionError(self.expression, token.start, len(token.text), reason)

    def expect(self, text, reason):
        token = self.take()
        if token is None or token.text != text:
            self.fail(token, reason)
        return token

    # grammar: or > xor > and > not > simple
    def parse(self):
        if not self.tokens:
            self.fail(None, "expected an expression")
        self.logical(("or", "xor", "and"))
        if self.peek() is not None:
            self.fail(self.peek(), "unrecognised input")

    def logical(self, levels):
        if not levels:
            return self.unary()
        self.logical(levels[1:])
        while self._logical_operator() == levels[0]:
            self.take()
            self.logical(levels[1:])
        return "bool"

    def _logical_operator(self):
        token = self.peek()
        return LOGICAL.get(token.text.lower()) if token is not None and token.kind in ("ident", "op") else None

    def unary(self):
        token = self.peek()
        if token is not None and token.text in NOT:
            self.take()
            return self.unary()
        if token is not None and token.text == "(":
            self.take()
            self.logical(("or", "xor", "and"))
            self.expect(")", "expected ')'")
            return "bool"
        return self.comparison()

    def comparison(self, allow_plain=False):
        start = self.peek()
        kind = self.value()
        token = self.peek()
        operator = COMPARISON.get(token.text.lower()) if token is not None and token.kind in ("ident", "op") else None
        if operator is None:
            if kind != "bool" and not allow_plain:
                self.fail(token, "expected a comparison operator after a %s value" % kind)
            return kind
        self.take()
        if operator == "in":
            self.set_or_list(kind)
        else:
            if operator in ("contains", "matches", "wildcard", "strict") and kind not in ("string", "array"):
                self.fail(start, "operator %r needs a string field" % token.text)
            if operator == "strict":
                self.expect("wildcard", "expected 'wildcard' after 'strict'")
            self.literal(kind, regex=operator == "matches")
        return "bool"

    def value(self):
        token = self.take()
        if token is None:
            self.fail(None, "expected a field, a function or a value")
        if token.kind != "ident":
            self.fail(token, "expected a field or a function")
        if token.text in ("true", "false"):
            return "bool"
        following = self.peek()
        if following is not None and following.text == "(":
            return self.call(token)
        field_type = FIELDS.get(token.text)
        if field_type is None:
            self.fail(token, "unknown identifier")
        return self.index_suffix(field_type)

    def index_suffix(self, field_type):
        while self.peek() is not None and self.peek().text == "[":
            self.take()
            inner = self.take()
            if inner is None or inner.kind not in ("string", "number") and inner.text != "*":
                self.fail(inner, 'expected literal "expected quoted utf8 string or positive integer"')
            self.expect("]", "expected ']'")
            field_type = "array" if field_type == "map" else "string"
        return field_type

    def call(self, name_token):
        spec = FUNCTIONS.get(name_token.text)
        if spec is None:
            self.fail(name_token, "unknown function")
        result, minimum, maximum = spec
        self.take()  # (
        count = 0
        if self.peek() is not None and self.peek().text == ")":
            self.take()
        else:
            while True:
                self.argument()
                count += 1
                token = self.take()
                if token is None or token.text not in (",", ")"):
                    self.fail(token, "expected ',' or ')'")
                if token.text == ")":
                    break
        if not minimum <= count <= maximum:
            self.fail(name_token, "function %s takes %s argument(s), got %d"
                      % (name_token.text, minimum if minimum == maximum else "%d to %d" % (minimum, maximum), count))
        return self.index_suffix(result) if result in ("array", "map") else result

    def argument(self):
        token = self.peek()
        if token is None:
            self.fail(None, "expected an argument")
        if token.kind in ("string", "rawstring", "number", "ip"):
            self.take()
            return
        if token.text in NOT or token.text == "(":
            self.unary()
            return
        # a plain value (field, nested call) or a comparison (for any/all)
        self.comparison(allow_plain=True)

    def literal(self, kind, regex=False):
        token = self.take()
        if token is None:
            self.fail(None, "expected a value")
        if token.kind in ("string", "rawstring"):
            if kind not in ("string", "array"):
                self.fail(token, "expected a %s literal, got a string" % kind)
            if regex:
                body = token.text[1:-1] if token.kind == "string" else token.text.split('"', 1)[1].rsplit('"', 1)[0]
                try:
                    re.compile(body.replace('\\"', '"'))
                except re.error as exc:
                    self.fail(token, "invalid regular expression: %s" % exc)
            return
        if token.kind == "number":
            if kind not in ("int", "float", "array"):
                self.fail(token, "expected a %s literal, got a number" % kind)
            return
        if token.kind == "ip":
            if kind != "ip":
                self.fail(token, "expected a %s literal, got an IP address" % kind)
            self.check_ip(token)
            return
        if token.kind == "ident" and token.text in ("true", "false") and kind == "bool":
            return
        if token.kind == "ident" and kind in ("string", "int", "ip") and FIELDS.get(token.text) == kind:
            return  # field compared with a field of the same type
        self.fail(token, 'expected literal "expected quoted utf8 string or positive integer"'
                  if token.kind == "ident" else "expected a value")

    def set_or_list(self, kind):
        token = self.peek()
        if token is not None and token.kind == "dollar":
            self.take()
            return
        self.expect("{", "expected '{' or a list name ($name) after 'in'")
        items = 0
        while self.peek() is not None and self.peek().text != "}":
            self.literal(kind)
            items += 1
        self.expect("}", "expected '}'")
        if items == 0:
            self.fail(token, "a set needs at least one value")

    def check_ip(self, token):
        try:
            ipaddress.ip_network(token.text, strict=False)
        except ValueError:
            self.fail(token, "invalid IP address or network")


def parse(expression):
    """Raise ExpressionError when ``expression`` is not a valid rule expression."""
    if not isinstance(expression, str) or not expression.strip():
        raise ExpressionError(expression or "", 0, 1, "expected an expression")
    _Parser(expression).parse()


def fields_used(expression):
    """The field names an expression refers to (for the rate limiting checks)."""
    return [token.text for token in _tokens(expression) if token.kind == "ident" and token.text in FIELDS]
