"""A GraphQL query-document parser for the subset Cloudflare's GraphQL Analytics API clients send.

One operation (``query Name($v: Type = default) { ... }`` or an anonymous ``{ ... }``), fields with
aliases, arguments and nested selections, and the input values of the GraphQL spec (variables, ints,
floats, strings, booleans, null, enums, lists, objects). Fragments, directives, mutations and
subscriptions are refused with a ``GraphQLError`` (the emulator's analytics area answers it in
Cloudflare's error shape). https://spec.graphql.org/October2021/#sec-Language
"""
import dataclasses
import re

_TOKEN = re.compile(r"""
    (?P<skip>[\s,\ufeff]+|\#[^\n\r]*)
  | (?P<spread>\.\.\.)
  | (?P<punct>[!$&()\[\]{}:=@|])
  | (?P<block>\"\"\"(?:\\\"\"\"|[^"]|"(?!""))*\"\"\")
  | (?P<string>"(?:[^"\\\n\r]|\\["\\/bfnrt]|\\u[0-9A-Fa-f]{4})*")
  | (?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
  | (?P<name>[_A-Za-z][_0-9A-Za-z]*)
""", re.VERBOSE)
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class GraphQLError(Exception):
    """A query Cloudflare would refuse: ``message`` and the response ``path`` (list of names)."""

    def __init__(self, message, path=None, status=400):
        super().__init__(message)
        self.message = message
        self.path = list(path or [])
        self.status = status


@dataclasses.dataclass(frozen=True)
class Variable:
    name: str


@dataclasses.dataclass(frozen=True)
class Enum:
    name: str


@dataclasses.dataclass
class Field:
    name: str
    alias: str = None
    arguments: dict = dataclasses.field(default_factory=dict)
    selections: list = None  # None: a leaf

    @property
    def key(self):
        return self.alias or self.name


@dataclasses.dataclass
class Operation:
    kind: str                # "query"
    name: str
    variables: dict          # name -> default value (None when there is none)
    selections: list


def _tokens(text):
    tokens, at = [], 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            raise GraphQLError("query contains error, please review it and retry: unexpected character %r at %d"
                               % (text[at], at))
        at = match.end()
        if match.lastgroup != "skip":
            tokens.append((match.lastgroup, match.group()))
    tokens.append(("end", ""))
    return tokens


def _string(raw):
    if raw.startswith('"""'):
        return raw[3:-3].replace('\\"""', '"""')
    out, i, body = [], 0, raw[1:-1]
    while i < len(body):
        char = body[i]
        if char == "\\":
            escape = body[i + 1]
            if escape == "u":
                out.append(chr(int(body[i + 2:i + 6], 16)))
                i += 6
                continue
            out.append(_ESCAPES[escape])
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


class _Parser:
    def __init__(self, text):
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self, value=None):
        kind, text = self.tokens[self.at]
        return text if value is None else (text == value and kind in ("punct", "name", "spread"))

    def take(self, expected=None):
        kind, text = self.tokens[self.at]
        if kind == "end" or (expected is not None and text != expected):
            raise GraphQLError("query contains error, please review it and retry: expected %s, found %s"
                               % (expected or "more input", text or "the end of the query"))
        self.at += 1
        return kind, text

    def name(self):
        kind, text = self.take()
        if kind != "name":
            raise GraphQLError("query contains error, please review it and retry: expected a name, found %r" % text)
        return text

    def document(self):
        operations = []
        while self.tokens[self.at][0] != "end":
            operations.append(self.operation())
        if len(operations) != 1:
            raise GraphQLError("query contains error, please review it and retry: expected exactly one operation, got %d"
                               % len(operations))
        return operations[0]

    def operation(self):
        if self.peek("{"):
            return Operation("query", None, {}, self.selection_set())
        kind = self.name()
        if kind == "fragment":
            raise GraphQLError("fragments are not supported by the emulator's GraphQL endpoint")
        if kind != "query":
            raise GraphQLError("%s operations are not supported: the GraphQL Analytics API answers queries" % kind)
        name = self.name() if self.tokens[self.at][0] == "name" else None
        variables = self.variable_definitions() if self.peek("(") else {}
        self.no_directives()
        return Operation("query", name, variables, self.selection_set())

    def variable_definitions(self):
        self.take("(")
        variables = {}
        while not self.peek(")"):
            self.take("$")
            name = self.name()
            self.take(":")
            self.type_reference()
            variables[name] = None
            if self.peek("="):
                self.take("=")
                variables[name] = self.value(const=True)
            self.no_directives()
        self.take(")")
        return variables

    def type_reference(self):
        # Cloudflare's own clients name types loosely (wrangler sends ZoneWorkersRequestsFilter_InputObject
        # for an account dataset's filter), so the type is read and not checked.
        if self.peek("["):
            self.take("[")
            self.type_reference()
            self.take("]")
        else:
            self.name()
        if self.peek("!"):
            self.take("!")

    def no_directives(self):
        if self.peek("@"):
            raise GraphQLError("directives are not supported by the emulator's GraphQL endpoint")

    def selection_set(self):
        self.take("{")
        selections = []
        while not self.peek("}"):
            if self.peek("..."):
                raise GraphQLError("fragments are not supported by the emulator's GraphQL endpoint")
            selections.append(self.field())
        self.take("}")
        if not selections:
            raise GraphQLError("query contains error, please review it and retry: an empty selection")
        return selections

    def field(self):
        name, alias = self.name(), None
        if self.peek(":"):
            self.take(":")
            alias, name = name, self.name()
        arguments = {}
        if self.peek("("):
            self.take("(")
            while not self.peek(")"):
                argument = self.name()
                self.take(":")
                arguments[argument] = self.value()
            self.take(")")
        self.no_directives()
        selections = self.selection_set() if self.peek("{") else None
        return Field(name, alias, arguments, selections)

    def value(self, const=False):
        kind, text = self.tokens[self.at]
        if text == "$" and kind == "punct":
            if const:
                raise GraphQLError("query contains error, please review it and retry: a default value cannot use a variable")
            self.take()
            return Variable(self.name())
        if kind in ("string", "block"):
            self.take()
            return _string(text)
        if kind == "number":
            self.take()
            return float(text) if any(c in text for c in ".eE") else int(text)
        if text == "[":
            self.take()
            items = []
            while not self.peek("]"):
                items.append(self.value(const))
            self.take("]")
            return items
        if text == "{":
            self.take()
            fields = {}
            while not self.peek("}"):
                key = self.name()
                self.take(":")
                fields[key] = self.value(const)
            self.take("}")
            return fields
        if kind == "name":
            self.take()
            literals = {"true": True, "false": False, "null": None}
            return literals[text] if text in literals else Enum(text)
        raise GraphQLError("query contains error, please review it and retry: unexpected %r" % (text or "end of the query"))


def parse(text):
    """The query's one ``Operation``; raises ``GraphQLError``."""
    if not isinstance(text, str) or not text.strip():
        raise GraphQLError("query contains error, please review it and retry: the query is empty")
    return _Parser(text).document()


def resolve(value, variables):
    """``value`` with every ``Variable`` replaced by its value from ``variables`` (a missing one is None)."""
    if isinstance(value, Variable):
        return variables.get(value.name)
    if isinstance(value, list):
        return [resolve(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: resolve(item, variables) for key, item in value.items()}
    return value
