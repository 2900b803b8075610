"""Workers scripts: storage, validation shared by the script and secret routes, and the API views."""
import dataclasses
import datetime
import hashlib
import json
import re
import shutil
import subprocess

from emulator.api.kv import namespace_exists
from emulator.envelope import ApiError
from emulator.store import now_iso

SCHEMA = """
CREATE TABLE IF NOT EXISTS worker_scripts (
    account_id TEXT NOT NULL,
    name TEXT NOT NULL,
    etag TEXT NOT NULL,
    created_on TEXT NOT NULL,
    modified_on TEXT NOT NULL,
    main_module TEXT NOT NULL,
    has_modules INTEGER NOT NULL,   -- 0: service-worker syntax (metadata.body_part)
    settings TEXT NOT NULL,         -- JSON object, see DEFAULT_SETTINGS
    bindings TEXT NOT NULL,         -- JSON array; secret_text bindings keep their text here only
    PRIMARY KEY (account_id, name)
);
CREATE TABLE IF NOT EXISTS worker_modules (
    account_id TEXT NOT NULL,
    script_name TEXT NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    content BLOB NOT NULL,
    PRIMARY KEY (account_id, script_name, name)
);
"""
RESOURCE_TABLES = ("worker_modules", "worker_scripts")

# Error codes: Cloudflare's, from x-cfLinkErrors of the Workers schema and from live API messages
# (each with its source in emulator/fidelity/workers.yml).
UNSUPPORTED_CONTENT_TYPE = 10001
UNPARSEABLE_BODY = 10006
SCRIPT_NOT_FOUND = 10007
INVALID_SCRIPT_NAME = 10016
VALIDATION_FAILED = 10021
SCRIPT_TOO_LARGE = 10027
INVALID_KV_NAMESPACE = 10042   # "KV namespace 'ID' is not valid. ..." (workers-sdk#14249)
BINDING_NAME_IN_USE = 10053
SECRET_NOT_FOUND = 10056

SCRIPT_NAME = re.compile(r"^[a-z0-9_][a-z0-9-_]*$")
MAX_SCRIPT_NAME = 63
MAX_SCRIPT_BYTES = 10 * 1024 * 1024  # Workers Paid, after compression; we do not compress
JS_TYPES = ("application/javascript+module", "text/javascript+module", "application/javascript", "text/javascript")
MODULE_TYPES = JS_TYPES + ("application/wasm", "text/plain", "application/octet-stream", "application/source-map")
SERVICE_WORKER_TYPES = ("application/javascript", "text/javascript")
USAGE_MODELS = ("bundled", "unbound", "standard")
SECRET_TYPES = ("secret_text", "secret_key")

# Settings of the script, kept across uploads unless an upload or PATCH names them.
SCRIPT_LEVEL = ("logpush", "tags", "tail_consumers", "observability", "usage_model")
# Settings of the uploaded version, replaced by every upload.
VERSION_LEVEL = ("compatibility_date", "compatibility_flags", "placement", "limits")
DEFAULT_SETTINGS = {
    "compatibility_date": None,
    "compatibility_flags": [],
    "placement": {},
    "limits": None,
    "logpush": False,
    "tags": [],
    "tail_consumers": [],
    "observability": None,
    "usage_model": "bundled",
    # Durable Objects (worker_versions applies migrations): the last applied tag and the live classes.
    "migration_tag": None,
    "durable_object_classes": {},
}
# Script state that only migrations change: carried across uploads, never set from metadata.
MIGRATION_STATE = ("migration_tag", "durable_object_classes")


@dataclasses.dataclass
class Module:
    name: str
    content_type: str
    content: bytes


@dataclasses.dataclass
class Script:
    account_id: str
    name: str
    main_module: str
    has_modules: bool
    settings: dict
    bindings: list
    etag: str = ""
    created_on: str = ""
    modified_on: str = ""


def not_found():
    return ApiError(404, SCRIPT_NOT_FOUND, "This Worker does not exist on your account.")


def check_script_name(name):
    if len(name) > MAX_SCRIPT_NAME or not SCRIPT_NAME.match(name):
        raise ApiError(400, INVALID_SCRIPT_NAME,
                       "Invalid script name %r: use lowercase letters, digits, '-' and '_' (pattern %s), at most %d characters"
                       % (name, SCRIPT_NAME.pattern, MAX_SCRIPT_NAME))


def invalid(message):
    return ApiError(400, VALIDATION_FAILED, message)


# Storage ---------------------------------------------------------------------------------------------------

def find_script(db, account_id, name):
    row = db.execute("SELECT * FROM worker_scripts WHERE account_id = ? AND name = ?", (account_id, name)).fetchone()
    if row is None:
        return None
    settings = dict(DEFAULT_SETTINGS)
    settings.update(json.loads(row["settings"]))
    return Script(account_id=row["account_id"], name=row["name"], main_module=row["main_module"],
                  has_modules=bool(row["has_modules"]), settings=settings, bindings=json.loads(row["bindings"]),
                  etag=row["etag"], created_on=row["created_on"], modified_on=row["modified_on"])


def load_script(db, account_id, name):
    script = find_script(db, account_id, name)
    if script is None:
        raise not_found()
    return script


def list_scripts(db, account_id):
    names = [row["name"] for row in db.execute(
        "SELECT name FROM worker_scripts WHERE account_id = ? ORDER BY name", (account_id,))]
    return [find_script(db, account_id, name) for name in names]


def load_modules(db, script):
    return [Module(row["name"], row["content_type"], bytes(row["content"])) for row in db.execute(
        "SELECT name, content_type, content FROM worker_modules WHERE account_id = ? AND script_name = ? ORDER BY position",
        (script.account_id, script.name))]


def save_script(db, script, modules=None):
    """Insert or update ``script``; ``modules`` (when given) replace the stored ones.  Sets etag and times."""
    if modules is None:
        modules = load_modules(db, script)
    else:
        db.execute("DELETE FROM worker_modules WHERE account_id = ? AND script_name = ?", (script.account_id, script.name))
        db.executemany(
            "INSERT INTO worker_modules (account_id, script_name, position, name, content_type, content) VALUES (?, ?, ?, ?, ?, ?)",
            [(script.account_id, script.name, position, module.name, module.content_type, module.content)
             for position, module in enumerate(modules)])
    now = now_iso()
    script.modified_on = now
    script.created_on = script.created_on or now
    script.etag = content_etag(script, modules)
    db.execute(
        "INSERT INTO worker_scripts (account_id, name, etag, created_on, modified_on, main_module, has_modules, settings, bindings) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(account_id, name) DO UPDATE SET etag = excluded.etag, "
        "modified_on = excluded.modified_on, main_module = excluded.main_module, has_modules = excluded.has_modules, "
        "settings = excluded.settings, bindings = excluded.bindings",
        (script.account_id, script.name, script.etag, script.created_on, script.modified_on, script.main_module,
         int(script.has_modules), json.dumps(script.settings), json.dumps(script.bindings)))


def delete_script(db, script):
    db.execute("DELETE FROM worker_modules WHERE account_id = ? AND script_name = ?", (script.account_id, script.name))
    db.execute("DELETE FROM worker_scripts WHERE account_id = ? AND name = ?", (script.account_id, script.name))


def content_etag(script, modules):
    # Secret values stay out of the hash: only their names count.
    document = {
        "main_module": script.main_module,
        "has_modules": script.has_modules,
        "modules": [[m.name, m.content_type, hashlib.sha256(m.content).hexdigest()] for m in modules],
        "settings": script.settings,
        "bindings": public_bindings(script.bindings),
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode("utf-8")).hexdigest()


# Validation ----------------------------------------------------------------------------------------------

def check_modules(modules):
    """Content types, duplicate names and total size of uploaded modules."""
    if not modules:
        raise invalid("No modules were uploaded: add at least one module part and name it in metadata.main_module")
    seen = set()
    for module in modules:
        if module.name in seen:
            raise invalid("Module %r was uploaded more than once" % module.name)
        seen.add(module.name)
        if module.content_type not in MODULE_TYPES:
            raise invalid("Module %r has unsupported content type %r; use one of: %s"
                          % (module.name, module.content_type or "(none)", ", ".join(MODULE_TYPES)))
    size = sum(len(module.content) for module in modules)
    if size > MAX_SCRIPT_BYTES:
        raise ApiError(400, SCRIPT_TOO_LARGE, "Script body was too large: %d bytes (limit %d)" % (size, MAX_SCRIPT_BYTES))
    for module in modules:
        if module.content_type in ES_MODULE_TYPES:
            error = _syntax_error(module.content)
            if error:
                # Cloudflare validates the script at upload: a script that does not parse is 10021 with the
                # V8 error (wrangler's deploy tests answer startup errors so: __tests__/deploy/entry-points.test.ts).
                raise invalid("Uncaught %s\n  at %s" % (error[1], "%s:%s" % (module.name, error[0])))


ES_MODULE_TYPES = ("application/javascript+module", "text/javascript+module")


def _syntax_error(content):
    """``(line, "SyntaxError: ...")`` when node says the ES module does not parse; None when it parses or
    node is not there (the emulator's edge runs on node, so it normally is)."""
    key = hashlib.sha256(content if isinstance(content, bytes) else content.encode("utf-8")).digest()
    if key not in _SYNTAX_CHECKED:
        # A node start per upload is most of an upload's cost; the same code is uploaded again and again.
        if len(_SYNTAX_CHECKED) >= 1024:
            _SYNTAX_CHECKED.clear()
        _SYNTAX_CHECKED[key] = _node_syntax_error(content)
    return _SYNTAX_CHECKED[key]


_SYNTAX_CHECKED = {}


def _node_syntax_error(content):
    node = shutil.which("node")
    if not node:
        return None
    try:
        proc = subprocess.run([node, "--input-type=module", "--check"], input=content, capture_output=True,
                              timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode == 0:
        return None
    lines = [line for line in proc.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    error = next((line for line in lines if line.startswith("SyntaxError")), None)
    if error is None:
        return None
    line = lines[0].split(":", 1)[1] if lines[0].startswith("[stdin]:") else "1"
    return line, error


def entry_point(metadata, modules):
    """``(main_module, has_modules)`` named by metadata, checked against the uploaded modules."""
    main_module, body_part = metadata.get("main_module"), metadata.get("body_part")
    if main_module is None and body_part is None:
        raise invalid("metadata must name the entry point: main_module (ES modules) or body_part (service worker)")
    has_modules = main_module is not None
    name = main_module if has_modules else body_part
    field = "main_module" if has_modules else "body_part"
    if not isinstance(name, str) or not name:
        raise invalid("metadata.%s must be the name of an uploaded part" % field)
    by_name = {module.name: module for module in modules}
    if name not in by_name:
        raise invalid("metadata.%s %r is not one of the uploaded parts (uploaded: %s)"
                      % (field, name, ", ".join(sorted(by_name)) or "none"))
    allowed = JS_TYPES if has_modules else SERVICE_WORKER_TYPES
    if by_name[name].content_type not in allowed:
        raise invalid("The entry point %r must be JavaScript (%s), not %r"
                      % (name, " or ".join(allowed), by_name[name].content_type))
    return name, has_modules


def _string_list(value, field):
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid("%s must be an array of strings" % field)
    return list(value)


def _compatibility_date(value):
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
        raise invalid("compatibility_date %r is not a date like 2024-09-23" % (value,))
    try:
        date = datetime.date.fromisoformat(value)
    except ValueError:
        raise invalid("compatibility_date %r is not a valid date" % value)
    if date > datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=1):
        raise invalid("compatibility_date %r is in the future" % value)
    return value


def keep_binding_types(metadata):
    keep_types = metadata.get("keep_bindings") or []
    if not isinstance(keep_types, list) or not all(isinstance(kind, str) for kind in keep_types):
        raise invalid("keep_bindings must be an array of binding types")
    return keep_types


def settings_update(document, fields):
    """The settings named in ``document`` (upload metadata or a settings PATCH), validated."""
    update = {}
    for field in fields:
        if field not in document:
            continue
        value = document[field]
        if field == "compatibility_date":
            value = _compatibility_date(value) if value is not None else None
        elif field in ("compatibility_flags", "tags"):
            value = _string_list(value or [], field)
        elif field == "usage_model":
            if value not in USAGE_MODELS:
                raise invalid("usage_model must be one of %s" % ", ".join(USAGE_MODELS))
        elif field == "logpush":
            if not isinstance(value, bool):
                raise invalid("logpush must be true or false")
        elif field == "tail_consumers":
            value = value or []
            if not isinstance(value, list) or not all(isinstance(c, dict) and isinstance(c.get("service"), str) for c in value):
                raise invalid("tail_consumers must be an array of objects with a 'service'")
        elif field in ("placement", "observability", "limits"):
            if value is not None and not isinstance(value, dict):
                raise invalid("%s must be an object" % field)
            if field == "placement":
                value = value or {}
        update[field] = value
    return update


def check_bindings(db, account_id, bindings, previous=(), keep_types=(), inherit_strict=False, keep_secret_text=False):
    """The bindings to store, validated.

    ``previous`` are the script's current bindings: ``keep_types`` keeps those of the given types
    that ``bindings`` does not name (metadata.keep_bindings); ``inherit`` bindings copy them by name;
    with ``keep_secret_text`` a secret_text binding without text keeps the current secret (a settings
    PATCH echoes what GET settings returned, which carries no secret text).
    """
    if bindings is None:
        bindings = []
    if not isinstance(bindings, list):
        raise invalid("bindings must be an array")
    previous_by_name = {binding["name"]: binding for binding in previous}
    result, names = [], set()
    for index, binding in enumerate(bindings):
        if not isinstance(binding, dict) or not isinstance(binding.get("type"), str) \
                or not isinstance(binding.get("name"), str) or not binding["name"]:
            raise invalid("binding %d must be an object with a string 'type' and 'name'" % index)
        name, kind = binding["name"], binding["type"]
        if name in names:
            raise invalid("Binding name %r is used more than once" % name)
        names.add(name)
        binding = dict(binding)
        if kind == "inherit":
            inherited = previous_by_name.get(binding.get("old_name") or name)
            if inherited is None:
                if inherit_strict:
                    raise invalid("Binding %r inherits from the previous version, which has no such binding" % name)
                continue
            binding = dict(inherited, name=name)
        elif kind == "kv_namespace":
            namespace_id = binding.get("namespace_id")
            if not isinstance(namespace_id, str) or not namespace_exists(db, account_id, namespace_id):
                raise ApiError(400, INVALID_KV_NAMESPACE, "KV namespace '%s' is not valid. Please verify the namespace_id "
                               "in your configuration." % (namespace_id,))
        elif kind in ("plain_text", "secret_text"):
            if kind == "secret_text" and "text" not in binding and keep_secret_text \
                    and previous_by_name.get(name, {}).get("type") == "secret_text":
                binding["text"] = previous_by_name[name]["text"]
            if not isinstance(binding.get("text"), str):
                raise invalid("%s binding %r needs a string 'text'" % (kind, name))
        elif kind == "json":
            if "json" not in binding:
                raise invalid("json binding %r needs a 'json' value" % name)
        elif kind == "d1":
            # wrangler and Terraform send ``id``, the SDK's upload type names ``database_id``; the
            # settings and version responses carry ``database_id`` (and ``id``).
            database_id = binding.get("id") or binding.get("database_id")
            if not isinstance(database_id, str) or not database_id:
                raise invalid("binding %s of type d1 must have a valid `id` specified" % name)
            binding["id"] = binding["database_id"] = database_id
        result.append(binding)
    for binding in previous:
        if binding["type"] in keep_types and binding["name"] not in names:
            result.append(binding)
            names.add(binding["name"])
    return result


# Views ---------------------------------------------------------------------------------------------------

def public_binding(binding):
    """A binding as the API shows it: never a secret's value."""
    if binding["type"] == "secret_text":
        return {"name": binding["name"], "type": "secret_text"}
    if binding["type"] == "secret_key":
        return {key: value for key, value in binding.items() if key not in ("key_base64", "key_jwk")}
    return dict(binding)


def public_bindings(bindings):
    return [public_binding(binding) for binding in bindings]


def secrets_of(script):
    return [public_binding(binding) for binding in script.bindings if binding["type"] in SECRET_TYPES]


def script_tag(script):
    """The script's immutable id (SDK ``Script.tag``; wrangler reads it from the services endpoint):
    stable for the script's life, new when it is deleted and uploaded again."""
    return hashlib.sha256(("%s/%s/%s" % (script.account_id, script.name, script.created_on)).encode("utf-8")).hexdigest()[:32]


def script_view(script):
    settings = script.settings
    view = {
        "id": script.name,
        "tag": script_tag(script),
        "etag": script.etag,
        "created_on": script.created_on,
        "modified_on": script.modified_on,
        "usage_model": settings["usage_model"],
        "compatibility_flags": settings["compatibility_flags"],
        "handlers": ["fetch"],
        "has_modules": script.has_modules,
        "logpush": settings["logpush"],
        "tags": settings["tags"],
        "tail_consumers": settings["tail_consumers"],
        "last_deployed_from": "api",
    }
    if settings["compatibility_date"]:
        view["compatibility_date"] = settings["compatibility_date"]
    if settings["placement"].get("mode"):
        view["placement_mode"] = settings["placement"]["mode"]
    if settings["observability"] is not None:
        view["observability"] = settings["observability"]
    if settings["migration_tag"]:
        view["migration_tag"] = settings["migration_tag"]
    return view


def settings_view(script):
    settings = script.settings
    view = {
        "bindings": public_bindings(script.bindings),
        "compatibility_flags": settings["compatibility_flags"],
        "logpush": settings["logpush"],
        "tail_consumers": settings["tail_consumers"],
        "usage_model": settings["usage_model"],
        "tags": settings["tags"],
    }
    # Only a placement that is set: every member of the SDK's placement union requires its key (mode, ...).
    if settings["placement"]:
        view["placement"] = settings["placement"]
    for optional in ("compatibility_date", "observability", "limits"):
        if settings[optional] is not None:
            view[optional] = settings[optional]
    return view


def script_settings_view(script):
    settings = script.settings
    view = {"logpush": settings["logpush"], "tail_consumers": settings["tail_consumers"], "tags": settings["tags"]}
    if settings["observability"] is not None:
        view["observability"] = settings["observability"]
    return view
