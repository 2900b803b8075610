"""The fidelity ledger (emulator/fidelity/*.yml, format in docs/dev/fidelity.md) covers the emulator.

One test per area, so a failure says whose ledger is short:
- every route of the area (the route table ``server.py`` builds from ``emulator.api.AREAS``, plus what
  ``server.py`` dispatches outside it: R2's S3 operations, D1's export downloads) has a ``routes`` entry;
- every error code written in the area's source (``ApiError(...)`` by AST, see tests/support/fidelity_scan.py)
  has an ``error_codes`` entry in some ledger file;
- the area's file is well formed: every route entry names a route, every entry has a source or is a
  marked assumption with alternatives and existing tests, ``sdk`` and ``openapi`` sources exist.
Across files: behaviour ids and route entries are unique, and every error code the collection
branches on (plugins/) has an entry.
"""
import ast
import json
import pathlib
import re
import subprocess
import sys

import cloudflare
import pytest
import yaml

from emulator import api, s3
from emulator.api import d1
from emulator.routing import Router
from tests.support.fidelity_scan import emulator_error_codes, module_error_codes, modules_from_sources

REPO = pathlib.Path(__file__).resolve().parents[2]
LEDGER = REPO / "emulator" / "fidelity"
SDK_ROOT = pathlib.Path(cloudflare.__file__).resolve().parent
OPENAPI = REPO / "emulator" / "openapi" / "openapi.json"
WRANGLER_MIRROR = pathlib.Path("/work/.mirror/cloudflare+workers-sdk/repo")
WRANGLER_TAG = "wrangler@4.78.0"
TERRAFORM_MIRROR = pathlib.Path("/work/.mirror/cloudflare+terraform-provider-cloudflare/repo")
TERRAFORM_COMMIT = "a2efdc5786"  # v5.22.0

SOURCE_KINDS = ("sdk", "openapi", "wrangler", "terraform", "docs", "issue")
SECTIONS = ("routes", "behaviours", "error_codes")
ENTRY_KEYS = {
    "routes": {"source", "notes", "assumption", "alternatives", "emulator", "tested_by"},
    "behaviours": {"claim", "source", "notes", "modules", "assumption", "alternatives", "emulator", "tested_by"},
    "error_codes": {"status", "when", "source", "notes", "assumption", "alternatives", "emulator", "tested_by", "modules"},
}
BEHAVIOUR_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ISSUE_URL = re.compile(r"^https://github\.com/[\w.-]+/[\w.-]+/(?:issues|pull|discussions)/\d+(?:#[\w-]+)?$")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")

# Areas beside emulator/api/<area>.py; source files of the emulator that are not an area's module.
EXTRA_AREAS = ("auth", "s3", "edge", "analytics", "core")
HELPER_MODULES = {"workers_model": "workers", "ruleset_expressions": "rulesets", "paging": "core", "__init__": "core"}
FILE_AREAS = {"emulator/auth.py": "auth", "emulator/s3.py": "s3", "emulator/s3_auth.py": "s3",
              "emulator/bindings.py": "edge"}

# What server.py's RequestHandler._handle dispatches outside the route table: the condition (as
# ast.unparse prints it) -> the Cloudflare routes behind it (ledger keys), or None for the emulator's
# own endpoints (admin, the edge runtime's binding calls), which stand for nothing of Cloudflare's.
OUTSIDE_THE_ROUTER = {
    "s3.owns(self.path)": ("s3", ["s3:" + operation for operation in s3.OPERATIONS]),
    "path == API_PREFIX or path.startswith(API_PREFIX + '/')": None,  # the route table itself
    "path.startswith(d1.EXPORTS_PREFIX)": ("d1", ["GET %s{bookmark}/{filename}" % d1.EXPORTS_PREFIX]),
    "bindings.handles(path)": None,
    "path == admin.PREFIX or path.startswith(admin.PREFIX + '/')": None,
}


# Loading -----------------------------------------------------------------------------------------------

class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys silently; a ledger must not lose an entry that way."""


def _mapping(loader, node, deep=False):
    seen = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, "duplicate key %r" % (key,), key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _load(path):
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        return None, ["%s: not valid YAML: %s" % (_rel(path), exc)]
    if document is None:
        document = {}
    if not isinstance(document, dict):
        return None, ["%s: the document must be a mapping with %s" % (_rel(path), ", ".join(SECTIONS))]
    problems = ["%s: unknown top-level key %r (allowed: %s)" % (_rel(path), key, ", ".join(SECTIONS))
                for key in document if key not in SECTIONS]
    for section in SECTIONS:
        document.setdefault(section, {})
        if document[section] is None:
            document[section] = {}
        if not isinstance(document[section], dict):
            problems.append("%s: %s must be a mapping" % (_rel(path), section))
            document[section] = {}
    document["error_codes"] = {_code_key(key): value for key, value in document["error_codes"].items()}
    return document, problems


def _code_key(key):
    return int(key) if isinstance(key, str) and key.isdigit() else key


def _rel(path):
    return pathlib.Path(path).resolve().relative_to(REPO).as_posix()


def _ledger_files():
    return sorted(LEDGER.glob("*.yml")) if LEDGER.is_dir() else []


def _all_ledgers():
    return {path.stem: _load(path)[0] or {section: {} for section in SECTIONS} for path in _ledger_files()}


# What the emulator has ------------------------------------------------------------------------------------

def _area_of_module(name):
    return HELPER_MODULES.get(name, name)


def _area_of_file(rel):
    if rel in FILE_AREAS:
        return FILE_AREAS[rel]
    if rel.startswith("emulator/runtime/"):
        return "edge"
    if rel.startswith("emulator/api/"):
        return _area_of_module(pathlib.PurePosixPath(rel).stem)
    return "core"


def _routes_by_area():
    """``{area: {ledger key}}``: the route table as server.py builds it, plus what it serves outside it."""
    areas = {}
    router = Router(api.routes())  # server.build_state builds exactly this
    by_handler_module = {}
    for module in api.AREAS:
        for route in module.ROUTES:
            by_handler_module[(route.method, route.template)] = _area_of_module(module.__name__.rsplit(".", 1)[-1])
    for route in router.routes:
        areas.setdefault(by_handler_module[(route.method, route.template)], set()).add("%s %s" % (route.method, route.template))
    for condition in _dispatch_conditions():
        known = OUTSIDE_THE_ROUTER.get(condition)
        if known:
            area, keys = known
            areas.setdefault(area, set()).update(keys)
    return areas


def _dispatch_conditions():
    tree = ast.parse((REPO / "emulator" / "server.py").read_text(encoding="utf-8"))
    handle = next(node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == "_handle")
    conditions = []
    for node in ast.walk(handle):
        if isinstance(node, ast.If):
            test = node.test
            text = ast.unparse(test)
            if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
                text = ast.unparse(test.values[-1])  # `not self.state.admin_enabled and ...`-style switches
                text = next((ast.unparse(v) for v in test.values if ast.unparse(v) in OUTSIDE_THE_ROUTER), text)
            if "path" in text:
                conditions.append(text)
    return conditions


def _all_routes():
    return {key: area for area, keys in _routes_by_area().items() for key in keys}


_EMULATOR_CODES = None
_MODULE_CODES = None


def _emulator_codes():
    global _EMULATOR_CODES
    if _EMULATOR_CODES is None:
        _EMULATOR_CODES = emulator_error_codes()
    return _EMULATOR_CODES


def _module_codes():
    global _MODULE_CODES
    if _MODULE_CODES is None:
        _MODULE_CODES = module_error_codes()
    return _MODULE_CODES


def _known_areas():
    areas = {_area_of_module(path.stem) for path in (REPO / "emulator" / "api").glob("*.py")}
    return sorted(areas | set(EXTRA_AREAS))


def _areas_to_check():
    with_something = set(_routes_by_area()) | {_area_of_file(f.file) for f in _emulator_codes()[0]}
    with_something |= {_area_of_file(u.file) for u in _emulator_codes()[1]}
    return sorted(with_something | {path.stem for path in _ledger_files()})


# Entry checks ----------------------------------------------------------------------------------------------

def _openapi_paths():
    return json.loads(OPENAPI.read_text(encoding="utf-8"))["paths"]


def _check_source(where, source, openapi_paths):
    if not isinstance(source, dict) or len(source) != 1:
        return ["%s: a source is a one-key mapping {kind: reference}, kinds %s; got %r" % (where, ", ".join(SOURCE_KINDS), source)]
    (kind, reference), = source.items()
    if kind not in SOURCE_KINDS:
        return ["%s: unknown source kind %r (kinds: %s)" % (where, kind, ", ".join(SOURCE_KINDS))]
    if not isinstance(reference, str) or not reference.strip():
        return ["%s: the %s source needs a reference string" % (where, kind)]
    if kind == "sdk":
        path, _hash, name = reference.partition("#")
        target = SDK_ROOT / path
        if not path or ".." in pathlib.PurePosixPath(path).parts or not target.is_file():
            return ["%s: sdk source %r: no file %s in the installed cloudflare %s package"
                    % (where, reference, path, cloudflare.__version__)]
        if name and not re.search(r"\b%s\b" % re.escape(name), target.read_text(encoding="utf-8")):
            return ["%s: sdk source %r: %r does not occur in cloudflare/%s" % (where, reference, name, path)]
    elif kind == "openapi":
        method, _space, template = reference.partition(" ") if reference.split(" ", 1)[0] in METHODS else ("", "", reference)
        if template not in openapi_paths:
            return ["%s: openapi source %r: no path %s in emulator/openapi/openapi.json" % (where, reference, template)]
        if method and method.lower() not in openapi_paths[template]:
            return ["%s: openapi source %r: the schema has no %s operation on %s" % (where, reference, method, template)]
    elif kind in ("wrangler", "terraform"):
        if reference.startswith(("/", "http")) or ".." in reference:
            return ["%s: %s source %r must be a path inside the repository" % (where, kind, reference)]
    elif kind == "docs":
        if not reference.startswith("https://"):
            return ["%s: docs source %r must be an https URL" % (where, reference)]
    elif kind == "issue":
        if not ISSUE_URL.match(reference):
            return ["%s: issue source %r must be a GitHub issue/PR URL (https://github.com/OWNER/REPO/issues/N)" % (where, reference)]
    return []


def _check_tested_by(where, test):
    if not isinstance(test, str) or "::" not in test:
        return ["%s: tested_by entry %r must be PATH::test_name (or a task file PATH::task name)" % (where, test)]
    path, _sep, name = test.partition("::")
    target = REPO / path
    if not target.is_file():
        return ["%s: tested_by %r: the file %s does not exist" % (where, test, path)]
    text = target.read_text(encoding="utf-8")
    if path.endswith(".py"):
        function = re.sub(r"\[.*\]$", "", name.split("::")[-1])
        if not re.search(r"^\s*(?:async\s+)?def %s\(" % re.escape(function), text, re.M):
            return ["%s: tested_by %r: no `def %s(` in %s" % (where, test, function, path)]
    elif path.endswith((".yml", ".yaml")):
        if not re.search(r"^\s*-?\s*name:\s*[\"']?%s[\"']?\s*$" % re.escape(name), text, re.M):
            return ["%s: tested_by %r: no task named %r in %s" % (where, test, name, path)]
    else:
        return ["%s: tested_by %r: a test is a .py function or a task of a .yml task file" % (where, test)]
    return []


def _check_entry(where, section, entry, openapi_paths):
    if not isinstance(entry, dict):
        return ["%s: the entry must be a mapping (source:, or assumption: true with alternatives: and tested_by:)" % where]
    problems = ["%s: unknown key %r (allowed: %s)" % (where, key, ", ".join(sorted(ENTRY_KEYS[section])))
                for key in entry if key not in ENTRY_KEYS[section]]
    if section == "behaviours" and not isinstance(entry.get("claim"), str):
        problems.append("%s: a behaviour needs a claim (one sentence of what is true)" % where)
    if section == "error_codes":
        status = entry.get("status")
        statuses = status if isinstance(status, list) else [status]
        if not statuses or not all(isinstance(s, int) and 100 <= s <= 599 for s in statuses):
            problems.append("%s: status must be an HTTP status (or a list of them), got %r" % (where, status))
        if not isinstance(entry.get("when"), str):
            problems.append("%s: an error code needs when: (what makes the API answer it)" % where)
    sources = entry.get("source")
    if sources is not None:
        sources = sources if isinstance(sources, list) else [sources]
        if not sources:
            problems.append("%s: source: is empty" % where)
        for source in sources:
            problems += _check_source(where, source, openapi_paths)
    if entry.get("assumption") is True:
        alternatives = entry.get("alternatives")
        if not isinstance(alternatives, list) or not alternatives:
            problems.append("%s: an assumption needs alternatives: (the plausible other answers)" % where)
        tested_by = entry.get("tested_by")
        if not isinstance(tested_by, list) or not tested_by:
            problems.append("%s: an assumption needs tested_by: (tests proving the modules work under each alternative)" % where)
        else:
            for test in tested_by:
                problems += _check_tested_by(where, test)
    elif "assumption" in entry:
        problems.append("%s: assumption must be true (or left out when the entry has a source)" % where)
    elif sources is None:
        problems.append("%s: no source: and not marked assumption: true with alternatives: and tested_by:" % where)
    for module in entry.get("modules") or []:
        if not (REPO / module).is_file():
            problems.append("%s: modules: %s does not exist" % (where, module))
    return problems


def _entry_problems(path, document, routes):
    rel = _rel(path)
    openapi_paths = _openapi_paths()
    problems = []
    for key, entry in document["routes"].items():
        where = "%s routes %r" % (rel, key)
        if key not in routes:
            problems.append("%s: names no route of the emulator (routes are 'METHOD /template' exactly as in the route "
                            "table, or 's3:Operation')" % where)
        problems += _check_entry(where, "routes", entry, openapi_paths)
    for key, entry in document["behaviours"].items():
        where = "%s behaviours %r" % (rel, key)
        if not isinstance(key, str) or not BEHAVIOUR_ID.match(key):
            problems.append("%s: a behaviour id is kebab-case (a-z, 0-9, -)" % where)
        problems += _check_entry(where, "behaviours", entry, openapi_paths)
    for key, entry in document["error_codes"].items():
        where = "%s error_codes %r" % (rel, key)
        if not isinstance(key, (int, str)) or isinstance(key, bool):
            problems.append("%s: an error code is a number (or an S3 code name)" % where)
        problems += _check_entry(where, "error_codes", entry, openapi_paths)
    return problems


# Tests ------------------------------------------------------------------------------------------------------

def test_server_dispatch_outside_the_router_is_known():
    """A new endpoint served beside the route table (GraphQL, say) must be named here, or its routes escape the ledger."""
    unknown = [condition for condition in _dispatch_conditions() if condition not in OUTSIDE_THE_ROUTER]
    assert unknown == [], (
        "emulator/server.py dispatches requests outside the route table on conditions the ledger test does not know: %s. "
        "Add each to OUTSIDE_THE_ROUTER in tests/emulator/test_fidelity_ledger.py with the Cloudflare routes it serves "
        "(or None for an emulator-only endpoint)." % unknown)


def test_every_ledger_file_is_an_area():
    known = _known_areas()
    strays = [_rel(path) for path in _ledger_files() if path.stem not in known]
    assert strays == [], "ledger files that name no area (areas: %s): %s" % (", ".join(known), strays)


@pytest.mark.parametrize("area", _areas_to_check())
def test_area_ledger(area):
    """The area's routes and raised codes have entries; its ledger file is well formed."""
    path = LEDGER / ("%s.yml" % area)
    routes = _all_routes()
    ledgers = _all_ledgers()
    documented_routes = {key for document in ledgers.values() for key in document["routes"]}
    documented_codes = {code for document in ledgers.values() for code in document["error_codes"]}
    problems = []
    if path.is_file():
        document, load_problems = _load(path)
        problems += load_problems
        if document is not None:
            problems += _entry_problems(path, document, routes)
    missing_routes = sorted(key for key in _routes_by_area().get(area, ()) if key not in documented_routes)
    if missing_routes:
        problems.append("%s: no routes entry (in any ledger file) for %d route(s) of the %s area:\n    %s" % (
            _rel(path), len(missing_routes), area, "\n    ".join(missing_routes)))
    found, unresolved = _emulator_codes()
    missing_codes = {}
    for item in found:
        if _area_of_file(item.file) == area and item.code not in documented_codes:
            missing_codes.setdefault(item.code, []).append("%s:%d (%s at %s)" % (item.file, item.line, item.how, item.at))
    if missing_codes:
        problems.append("%s: no error_codes entry (in any ledger file) for code(s) the emulator answers:\n    %s" % (
            _rel(path), "\n    ".join("%s: %s" % (code, "; ".join(sorted(set(where)))) for code, where in sorted(missing_codes.items(), key=str))))
    for item in unresolved:
        if _area_of_file(item.file) == area:
            problems.append("%s:%d: cannot tell which error code %s `%s` is; use an int or a module constant"
                            % (item.file, item.line, item.how, item.expression))
    if not path.is_file() and (missing_routes or missing_codes):
        problems.insert(0, "%s does not exist (the %s area's ledger; format in docs/dev/fidelity.md)" % (_rel(path), area))
    assert not problems, "\n".join(problems)


def test_behaviour_ids_and_route_entries_are_unique_across_files():
    owners = {}
    for path in _ledger_files():
        document = _load(path)[0]
        if document is None:
            continue  # reported by the area's test
        for section in ("routes", "behaviours"):
            for key in document[section]:
                owners.setdefault((section, key), []).append(_rel(path))
    duplicates = ["%s %r in %s" % (section, key, ", ".join(files)) for (section, key), files in sorted(owners.items(), key=str)
                  if len(files) > 1]
    assert duplicates == [], "entries defined in more than one ledger file:\n  " + "\n  ".join(duplicates)


def _module_files_with_codes():
    found, unresolved = _module_codes()
    return sorted({item.at.rsplit(":", 1)[0] for item in found} | {item.file for item in unresolved})


@pytest.mark.parametrize("module", _module_files_with_codes())
def test_every_error_code_the_modules_branch_on_has_an_entry(module):
    """``module`` (a file of plugins/) branches on error codes: each needs an error_codes entry in some ledger file."""
    documented = {code for document in _all_ledgers().values() for code in document["error_codes"]}
    found, unresolved = _module_codes()
    missing = {}
    for item in found:
        if item.at.rsplit(":", 1)[0] == module and item.code not in documented:
            missing.setdefault(item.code, set()).add("%s at %s, written at %s:%d" % (item.how, item.at, item.file, item.line))
    problems = ["%s branches on error code %r, which has no error_codes entry in emulator/fidelity/*.yml (%s)"
                % (module, code, "; ".join(sorted(where))) for code, where in sorted(missing.items(), key=str)]
    problems += ["%s:%d: cannot tell which error code the %s `%s` is; use an int or a module constant *_CODE(S)"
                 % (item.file, item.line, item.how, item.expression) for item in unresolved if item.file == module]
    assert not problems, "\n".join(problems)


def _git_show(mirror, revision, path):
    """The file's text at ``revision`` of a bare mirror, or None when it does not exist there."""
    done = subprocess.run(["git", "--git-dir", str(mirror), "show", "%s:%s" % (revision, path)], capture_output=True,
                          check=False)
    return done.stdout.decode("utf-8", "replace") if done.returncode == 0 else None


@pytest.mark.skipif(not (WRANGLER_MIRROR.exists() and TERRAFORM_MIRROR.exists()),
                    reason="needs the workers-sdk and terraform-provider-cloudflare mirrors (/work/.mirror)")
def test_wrangler_and_terraform_sources_exist_at_the_pinned_versions():
    """Where the mirrors are at hand, a wrangler/terraform path must exist at wrangler@4.78.0 / v5.22.0."""
    problems = []
    for path in _ledger_files():
        document = _load(path)[0] or {}
        for section in SECTIONS:
            for key, entry in (document.get(section) or {}).items():
                sources = entry.get("source") if isinstance(entry, dict) else None
                for source in (sources if isinstance(sources, list) else [sources] if sources else []):
                    if not isinstance(source, dict):
                        continue
                    for kind, mirror, revision in (("wrangler", WRANGLER_MIRROR, WRANGLER_TAG),
                                                   ("terraform", TERRAFORM_MIRROR, TERRAFORM_COMMIT)):
                        reference = source.get(kind)
                        if not isinstance(reference, str):
                            continue
                        file_path, _hash, name = reference.partition("#")
                        text = _git_show(mirror, revision, file_path)
                        if text is None:
                            problems.append("%s %s %r: %s source %s does not exist at %s" % (
                                _rel(path), section, key, kind, file_path, revision))
                        elif name and name not in text:
                            problems.append("%s %s %r: %s source %s: %r does not occur in the file at %s" % (
                                _rel(path), section, key, kind, file_path, name, revision))
    assert problems == [], "\n".join(problems)


# The checks themselves --------------------------------------------------------------------------------------

SCAN_EMULATOR = {
    "emulator/envelope.py": "class ApiError(Exception):\n    pass\n",
    "emulator/api/thing.py": '''
from emulator.envelope import ApiError
from emulator.api import shared as model
from emulator.api.shared import SHARED
NOT_FOUND = 4404
ERRORS = {429: (4429, "slow down"), 500: (4500, "oops")}

def _invalid(code, message):
    return ApiError(400, code, message)

def handler(req, status):
    code, message = ERRORS.get(status, (4001 if status > 500 else 4002, "other"))
    if req:
        raise ApiError(status, code, message)
    if status:
        raise _invalid(model.VIA_ALIAS, "x")
    raise ApiError(404, NOT_FOUND, "gone", more=[(SHARED, "and") for _ in req])

def opaque(req):
    raise ApiError(400, req.code, "?")
''',
    "emulator/api/shared.py": "VIA_ALIAS = 4021\nSHARED = 4022\n",
    "emulator/request.py": '''
from emulator.envelope import ApiError
class ApiRequest:
    def json(self, code=4006):
        raise ApiError(400, code, "not JSON")
def use(req):
    req.json(4007)
    req.json()
''',
}


def test_the_scan_resolves_codes_through_constants_imports_calls_and_lookups():
    found, unresolved = emulator_error_codes(modules_from_sources(SCAN_EMULATOR))
    codes = {(item.code, item.file) for item in found}
    assert codes == {
        (4429, "emulator/api/thing.py"), (4500, "emulator/api/thing.py"), (4001, "emulator/api/thing.py"),
        (4002, "emulator/api/thing.py"), (4404, "emulator/api/thing.py"), (4021, "emulator/api/shared.py"),
        (4022, "emulator/api/shared.py"), (4006, "emulator/request.py"), (4007, "emulator/request.py")}
    assert [(u.file, u.expression) for u in unresolved] == [("emulator/api/thing.py", "req.code")]


def test_the_scan_finds_what_modules_branch_on():
    sources = {
        "plugins/module_utils/_x.py": 'GONE_CODE = 7001\nAUTH_CODES = ("AccessDenied", "NoSuchKey")\n',
        "plugins/modules/x.py": '''
from plugins.module_utils._x import GONE_CODE
def run(exc, error):
    if exc.has_code(GONE_CODE, 7002):
        return 1
    if 7003 in exc.codes or error.get("code") in (7004, 404):
        return 2
    if error["code"] == "BucketNotEmpty" or exc.status == 404:
        return 3
    return exc.has_code(error)
''',
    }
    found, unresolved = module_error_codes(modules_from_sources(sources))
    assert {item.code for item in found} == {7001, 7002, 7003, 7004, "AccessDenied", "NoSuchKey", "BucketNotEmpty"}
    assert [u.expression for u in unresolved] == ["error"]


def test_entry_checks_name_the_file_and_the_problem(tmp_path):
    path = LEDGER / "zz_selftest.yml"  # never written: _entry_problems only uses the path in messages
    document = {
        "routes": {
            "GET /zones": {"source": [{"sdk": "types/zones/zone.py#Zone"}]},
            "GET /nowhere": {"source": [{"sdk": "types/zones/no_such_file.py"}]},
            "GET /zones/{zone_id}": {"source": [{"sdk": "types/zones/zone.py#NoSuchName"}, {"openapi": "/no/such/path"}]},
        },
        "behaviours": {
            "Not_Kebab": {"claim": "x", "source": [{"blog": "https://example.com"}]},
            "needs-tests": {"claim": "x", "assumption": True, "alternatives": ["a"],
                            "tested_by": ["tests/emulator/test_fidelity_ledger.py::test_does_not_exist"]},
            "no-evidence": {"claim": "x"},
        },
        "error_codes": {1001: {"status": 404, "when": "w", "assumption": True}},
    }
    problems = "\n".join(_entry_problems(path, document, {"GET /zones", "GET /zones/{zone_id}"}))
    for expected in ["emulator/fidelity/zz_selftest.yml routes 'GET /nowhere': names no route",
                     "no file types/zones/no_such_file.py in the installed cloudflare",
                     "'NoSuchName' does not occur in cloudflare/types/zones/zone.py",
                     "no path /no/such/path in emulator/openapi/openapi.json",
                     "behaviours 'Not_Kebab': a behaviour id is kebab-case",
                     "unknown source kind 'blog'",
                     "no `def test_does_not_exist(` in tests/emulator/test_fidelity_ledger.py",
                     "behaviours 'no-evidence': no source: and not marked assumption",
                     "error_codes 1001: an assumption needs alternatives:",
                     "error_codes 1001: an assumption needs tested_by:"]:
        assert expected in problems
    assert "routes 'GET /zones':" not in problems


def test_duplicate_keys_in_a_ledger_file_are_refused(tmp_path, monkeypatch):
    path = tmp_path / "dup.yml"
    path.write_text("error_codes:\n  1001: {status: 404, when: a, source: [{docs: 'https://x'}]}\n"
                    "  1001: {status: 400, when: b, source: [{docs: 'https://y'}]}\n")
    monkeypatch.setattr(sys.modules[__name__], "_rel", str)  # the file is outside the repository
    document, problems = _load(path)
    assert document is None and "duplicate key 1001" in problems[0]
