"""Static scans behind the fidelity ledger test (docs/dev/fidelity.md).

- ``emulator_error_codes()``: every error code the emulator can answer, found by AST in
  ``emulator/**/*.py``: the ``code`` argument of each ``ApiError(status, code, ...)`` and the codes of
  its ``more=[(code, message), ...]``, resolved through module constants, imports, local variables,
  conditional expressions, dict look-ups and (for a code that is a function parameter) the
  parameter's default and the arguments of every call of that function.
- ``module_error_codes()``: every error code the collection branches on, found by AST in
  ``plugins/**/*.py``: arguments of ``<x>.has_code(...)``, values compared with ``<x>.codes``,
  module constants named ``*_CODE`` / ``*_CODES``, and literal codes (>= 1000, or S3-style names)
  compared with an error code (``.code``, ``["code"]``, ``.get("code")``, a variable named ``code``).

What cannot be resolved is reported as such (``Unresolved``), never dropped: the ledger test fails
on it with the file and line, so a new way of raising a code cannot slip past the ledger.
"""
import ast
import dataclasses
import pathlib
import re

REPO = pathlib.Path(__file__).resolve().parents[2]
UNKNOWN = object()          # a value the scan cannot know (a message, a request field)
MAX_OPTIONS = 256           # bound what one expression may resolve to
S3_CODE = re.compile(r"^[A-Z][A-Za-z0-9]+$")
CODE_NAMES = {"code", "codes", "error_code", "error_codes"}


@dataclasses.dataclass(frozen=True)
class Seq:
    """A tuple/list/set literal or comprehension: the options of each element (``open``: any length)."""
    items: tuple
    open: bool = False


@dataclasses.dataclass(frozen=True)
class Map:
    items: tuple  # ((key, options), ...)


@dataclasses.dataclass(frozen=True)
class Found:
    code: object   # int (Cloudflare v4) or str (S3-style)
    file: str      # repository-relative path of the constant (where the code is written)
    line: int
    how: str       # what was scanned: "ApiError code", "has_code", "constant NAME", ...
    at: str        # where it is used: "emulator/api/dns.py:63"


@dataclasses.dataclass(frozen=True)
class Unresolved:
    file: str
    line: int
    expression: str
    how: str


class _Module:
    def __init__(self, rel, names, source):
        self.rel = rel      # repository-relative path
        self.names = names  # dotted names this module is imported as
        self.tree = ast.parse(source, filename=rel)
        self.parents = {}
        for parent in ast.walk(self.tree):
            for child in ast.iter_child_nodes(parent):
                self.parents[child] = parent
        self.constants = {}   # module-level NAME -> [value nodes]
        self.imports = {}     # alias -> ("module", dotted) | ("name", dotted module, name)
        self.functions = {}   # name -> [FunctionDef] (module functions and methods)
        for node in self.tree.body:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        self.constants.setdefault(target.id, []).append(node.value)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                self.constants.setdefault(node.target.id, []).append(node.value)
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self.imports[alias.asname or alias.name.split(".")[0]] = ("module", alias.name if alias.asname else alias.name.split(".")[0])
            elif isinstance(node, ast.ImportFrom) and node.module:
                base = node.module
                if node.level:
                    package = self.names[0].split(".")[:-node.level]
                    base = ".".join(package + [node.module])
                for alias in node.names:
                    self.imports[alias.asname or alias.name] = ("name", base, alias.name)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions.setdefault(node.name, []).append(node)

    def enclosing_functions(self, node):
        chain = []
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                chain.append(node)
        return chain

    def is_method(self, function):
        return isinstance(self.parents.get(function), ast.ClassDef)


class Scanner:
    """Resolves expressions of a set of modules to the values they can take."""

    def __init__(self, modules):
        self.modules = modules
        self.by_name = {name: module for module in modules for name in module.names}
        self._active = set()
        self._memo = {}
        self.trace = []   # (constant, file, line) of the constants met while resolving
        self._calls = {}  # called name -> [(Call node, module)]
        for module in modules:
            for node in ast.walk(module.tree):
                if isinstance(node, ast.Call):
                    called = _called(node.func)
                    if called:
                        self._calls.setdefault(called, []).append((node, module))

    # Public -----------------------------------------------------------------------------------------

    def values(self, node, module):
        """The abstract values ``node`` can take (ints, strs, None, Seq, Map, UNKNOWN)."""
        key = (module.rel, id(node))
        if key in self._memo:
            result, trace = self._memo[key]
            self.trace.extend(trace)
            return result
        if key in self._active:  # recursion through call sites: what is not known yet is unknown
            return [UNKNOWN]
        self._active.add(key)
        outer, self.trace = self.trace, []
        try:
            result = _dedupe(self._values(node, module))[:MAX_OPTIONS]
        finally:
            self._active.discard(key)
            trace, self.trace = self.trace, outer
            self.trace.extend(trace)
        self._memo[key] = (result, trace)
        return result

    def origins(self, node, module):
        """``(values, {value: [(file, line)]})``: where each constant the expression can take is written."""
        self.trace = []
        result = self.values(node, module)
        where = {}
        for value, rel, line in self.trace:
            where.setdefault(value, [])
            if (rel, line) not in where[value]:
                where[value].append((rel, line))
        return result, where

    # Expressions ------------------------------------------------------------------------------------

    def _values(self, node, module):
        if isinstance(node, ast.Constant):
            if isinstance(node.value, (int, str)) and not isinstance(node.value, bool):
                self.trace.append((node.value, module.rel, node.lineno))
            return [node.value]
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            if any(isinstance(e, ast.Starred) for e in node.elts):
                return [UNKNOWN]
            return [Seq(tuple(tuple(self.values(e, module)) for e in node.elts))]
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            return [Seq((tuple(self.values(node.elt, module)),), open=True)]
        if isinstance(node, ast.Dict):
            if any(k is None for k in node.keys):
                return [UNKNOWN]
            keys = [self.values(k, module) for k in node.keys]
            items = tuple((k[0] if len(k) == 1 else UNKNOWN, tuple(self.values(v, module))) for k, v in zip(keys, node.values))
            return [Map(items)]
        if isinstance(node, ast.IfExp):
            return self.values(node.body, module) + self.values(node.orelse, module)
        if isinstance(node, ast.BoolOp):
            return [v for value in node.values for v in self.values(value, module)]
        if isinstance(node, ast.Name):
            return self._name(node, module)
        if isinstance(node, ast.Attribute):
            return self._attribute(node, module)
        if isinstance(node, ast.Subscript):
            return self._subscript(node, module)
        if isinstance(node, ast.Call):
            return self._call(node, module)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            return [-node.operand.value]
        return [UNKNOWN]

    def _name(self, node, module):
        name = node.id
        for function in module.enclosing_functions(node):
            local = self._local(function, name, module)
            if local is not None:
                return local
        if name in module.constants:
            return [v for value in module.constants[name] for v in self.values(value, module)]
        if name in module.imports:
            return self._imported(module.imports[name])
        return [UNKNOWN]

    def _imported(self, spec):
        if spec[0] == "name":
            _kind, base, name = spec
            target = self.by_name.get(base)
            if target is not None and name in target.constants:
                return [v for value in target.constants[name] for v in self.values(value, target)]
        return [UNKNOWN]

    def _module_of_alias(self, alias, module):
        spec = module.imports.get(alias)
        if spec is None:
            return None
        dotted = spec[1] if spec[0] == "module" else spec[1] + "." + spec[2]
        return self.by_name.get(dotted)

    def _attribute(self, node, module):
        if isinstance(node.value, ast.Name):
            target = self._module_of_alias(node.value.id, module)
            if target is not None and node.attr in target.constants:
                return [v for value in target.constants[node.attr] for v in self.values(value, target)]
        return [UNKNOWN]

    def _subscript(self, node, module):
        containers = self.values(node.value, module)
        keys = self.values(node.slice, module)
        result = []
        for container in containers:
            if isinstance(container, Map):
                result += [v for key, options in container.items if key in keys or UNKNOWN in keys for v in options]
            elif isinstance(container, Seq):
                indexes = [k for k in keys if isinstance(k, int)]
                if indexes and not container.open and len(keys) == len(indexes):
                    result += [v for i in indexes if -len(container.items) <= i < len(container.items) for v in container.items[i]]
                else:
                    result += [v for options in container.items for v in options]
            else:
                result.append(UNKNOWN)
        return result or [UNKNOWN]

    def _call(self, node, module):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "get" and node.args:
            containers = self.values(func.value, module)
            if all(isinstance(c, Map) for c in containers):
                result = [v for c in containers for _key, options in c.items for v in options]
                if len(node.args) > 1:
                    result += self.values(node.args[1], module)
                else:
                    result.append(None)
                return result
        if isinstance(func, ast.Name) and func.id in ("tuple", "list", "set", "frozenset", "sorted") and len(node.args) == 1:
            return self.values(node.args[0], module)
        return [UNKNOWN]

    # Names bound inside a function ------------------------------------------------------------------

    def _local(self, function, name, module):
        """Values of ``name`` bound in ``function`` (assignment or parameter), or None when it is not bound there."""
        found, bound = [], False
        body = function.body if isinstance(function.body, list) else [function.body]
        for statement in body:
            for node in ast.walk(statement):
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(target)):
                            hit = self._assigned(target, name, self.values(node.value, module))
                            bound = True
                            found += hit if hit is not None else [UNKNOWN]
                elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and isinstance(node.target, ast.Name) \
                        and node.target.id == name and node.value is not None:
                    bound = True
                    found += self.values(node.value, module)
                elif isinstance(node, (ast.For, ast.comprehension, ast.With, ast.ExceptHandler, ast.NamedExpr)):
                    targets = [getattr(node, "target", None)] + [i.optional_vars for i in getattr(node, "items", [])]
                    if isinstance(node, ast.ExceptHandler) and node.name == name:
                        bound = True
                        found.append(UNKNOWN)
                    for target in targets:
                        if target is not None and any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(target)):
                            bound = True
                            found.append(UNKNOWN)
        parameter = self._parameter(function, name, module)
        if parameter is not None:
            return found + parameter
        return found if bound else None

    def _assigned(self, target, name, options):
        if isinstance(target, ast.Name):
            return options if target.id == name else None
        if isinstance(target, (ast.Tuple, ast.List)):
            for index, element in enumerate(target.elts):
                if isinstance(element, ast.Name) and element.id == name:
                    result = []
                    for option in options:
                        if isinstance(option, Seq) and not option.open and len(option.items) == len(target.elts):
                            result += list(option.items[index])
                        else:
                            result.append(UNKNOWN)
                    return result
        return None

    def _parameter(self, function, name, module):
        """A parameter's default plus the argument every call of the function passes for it."""
        if isinstance(function, ast.Lambda):
            return None
        arguments = function.args
        positional = arguments.posonlyargs + arguments.args
        names = [a.arg for a in positional] + [a.arg for a in arguments.kwonlyargs]
        if name not in names:
            return None
        result = []
        defaults = dict(zip([a.arg for a in positional][len(positional) - len(arguments.defaults):], arguments.defaults))
        defaults.update({a.arg: d for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults) if d is not None})
        skip = 1 if module.is_method(function) else 0
        index = [a.arg for a in positional].index(name) - skip if name in [a.arg for a in positional] else None
        calls = list(self._calls_of(function, module))
        if not calls and name not in defaults:
            return [UNKNOWN]
        for call, call_module in calls:
            keyword = next((k.value for k in call.keywords if k.arg == name), None)
            if keyword is not None:
                result += self.values(keyword, call_module)
            elif index is not None and 0 <= index < len(call.args):
                if any(isinstance(a, ast.Starred) for a in call.args[:index + 1]):
                    result.append(UNKNOWN)
                else:
                    result += self.values(call.args[index], call_module)
            elif name in defaults:
                result += self.values(defaults[name], module)
            else:
                result.append(UNKNOWN)
        if not calls:
            result += self.values(defaults[name], module)
        return result

    def _calls_of(self, function, module):
        name = function.name
        method = module.is_method(function)
        for node, other in self._calls.get(name, ()):
            imported_here = other is module or any(
                spec[0] == "name" and spec[2] == name and self.by_name.get(spec[1]) is module for spec in other.imports.values())
            func = node.func
            if isinstance(func, ast.Name) and imported_here and not method:
                yield node, other
            elif isinstance(func, ast.Attribute):
                if method or (isinstance(func.value, ast.Name) and self._module_of_alias(func.value.id, other) is module):
                    yield node, other


def _dedupe(values):
    seen, result = set(), []
    for value in values:
        key = ("id", id(value)) if value is UNKNOWN else (type(value).__name__, value)
        try:
            hash(key)
        except TypeError:
            key = ("id", id(value))
        if key not in seen:
            seen.add(key)
            result.append(value)
    return result


def _codes(options):
    """Scalar codes of a list of options; UNKNOWN (and anything not a code) makes it unresolved."""
    codes = []
    for option in options:
        if isinstance(option, bool) or not isinstance(option, (int, str)):
            return None
        codes.append(option)
    return codes


def _elements(options):
    """The element options of sequence values (a constant tuple of codes, a list of tuples)."""
    result = []
    for option in options:
        if isinstance(option, Seq):
            result += [v for item in option.items for v in item]
        else:
            result.append(option)
    return result


def load_modules(root, pattern, prefixes, exclude=()):
    modules = []
    for path in sorted((REPO / root).rglob(pattern)):
        rel = path.relative_to(REPO)
        if any(part in exclude for part in rel.parts):
            continue
        dotted = ".".join(rel.with_suffix("").parts)
        if dotted.endswith(".__init__"):
            dotted = dotted[: -len(".__init__")]
        modules.append(_Module(rel.as_posix(), [prefix + dotted for prefix in prefixes], path.read_text(encoding="utf-8")))
    return modules


def modules_from_sources(sources):
    """Modules from ``{"pkg/mod.py": source}`` (for testing the scan itself)."""
    return [_Module(rel, [rel[:-3].replace("/", ".")], source) for rel, source in sources.items()]


# The emulator ---------------------------------------------------------------------------------------------

class _Collector:
    def __init__(self, scanner):
        self.scanner = scanner
        self.found = []
        self.unresolved = []

    def add(self, expression, module, at, how, pick=None, strict=True):
        """Record the codes ``expression`` can take; ``pick`` maps the resolved options to code options.

        ``strict``: an option that is not a code makes the expression unresolved; otherwise only the
        options that look like error codes are kept.
        """
        options, where = self.scanner.origins(expression, module)
        options = pick(options) if pick else options
        if strict:
            codes = _codes(options)
            if codes is None:
                self.unresolved.append(Unresolved(module.rel, at.lineno, ast.unparse(expression), how))
                return
        else:
            codes = [option for option in options if _literal_code(option)]
        for code in _dedupe(codes):
            for rel, line in where.get(code) or [(module.rel, at.lineno)]:
                self.found.append(Found(code, rel, line, how, "%s:%d" % (module.rel, at.lineno)))


def emulator_error_codes(modules=None):
    """``(found, unresolved)``: the codes of every ``ApiError(...)`` in emulator/**/*.py."""
    modules = load_modules("emulator", "*.py", [""], exclude={"node_modules"}) if modules is None else modules
    collector = _Collector(Scanner(modules))
    for module in collector.scanner.modules:
        if module.rel == "emulator/envelope.py":
            continue  # the class itself
        for node in ast.walk(module.tree):
            if not (isinstance(node, ast.Call) and _called(node.func) == "ApiError"):
                continue
            code = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "code"), None)
            if code is None:
                collector.unresolved.append(Unresolved(module.rel, node.lineno, ast.unparse(node), "ApiError without a code"))
            else:
                collector.add(code, module, node, "ApiError code")
            more = next((k.value for k in node.keywords if k.arg == "more"), None)
            if more is not None:
                collector.add(more, module, node, "ApiError more",
                              pick=lambda options: [v for entry in _elements(options) for v in _first(entry)])
    return collector.found, collector.unresolved


def _first(entry):
    if isinstance(entry, Seq) and entry.items:
        return list(entry.items[0])
    return [UNKNOWN]


def _called(func):
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


# The collection ---------------------------------------------------------------------------------------------

def _is_code_accessor(node):
    if isinstance(node, ast.Attribute) and node.attr in ("code", "codes"):
        return True
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and node.slice.value == "code":
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
            and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == "code":
        return True
    return isinstance(node, ast.Name) and node.id in CODE_NAMES


def _literal_code(value):
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value >= 1000  # below are HTTP statuses
    return isinstance(value, str) and bool(S3_CODE.match(value))


def module_error_codes(modules=None):
    """``(found, unresolved)``: the error codes plugins/**/*.py branch on."""
    if modules is None:
        modules = load_modules("plugins", "*.py", ["", "ansible_collections.cfops.cloudflare."])
    collector = _Collector(Scanner(modules))
    for module in collector.scanner.modules:
        for name, values in module.constants.items():
            if name.endswith("_CODE") or name.endswith("_CODES"):
                for value in values:
                    collector.add(value, module, value, "constant " + name, pick=_elements)
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "has_code":
                for argument in node.args:
                    collector.add(argument, module, node, "has_code argument", pick=_elements)
            elif isinstance(node, ast.Compare):
                operands = [node.left] + list(node.comparators)
                for left, right in zip(operands, operands[1:]):
                    for accessor, other in ((left, right), (right, left)):
                        if not _is_code_accessor(accessor) or _is_code_accessor(other):
                            continue
                        if isinstance(accessor, ast.Attribute) and accessor.attr == "codes":
                            collector.add(other, module, node, "compared with .codes", pick=_elements)
                        else:
                            collector.add(other, module, node, "compared with an error code", pick=_elements, strict=False)
    return collector.found, collector.unresolved
