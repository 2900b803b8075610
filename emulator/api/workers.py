"""Workers scripts: upload, list, download, content, settings, script-settings, delete."""
import json
import posixpath
import re

from emulator import hooks, multipart
from emulator.api import worker_triggers
from emulator.api import worker_versions as versions
from emulator.api import workers_model as model
from emulator.envelope import ApiError, ok, raw
from emulator.routing import Route

SCHEMA = model.SCHEMA
RESOURCE_TABLES = model.RESOURCE_TABLES


def _modules(parts, skip):
    return [model.Module(part.module_name, multipart.media_type(part.content_type) or "application/octet-stream", part.data)
            for part in parts if part.name not in skip]


def _json_part(parts, name, required):
    """The JSON object in the part called ``name`` (None when absent and not required)."""
    for part in parts:
        if part.name == name:
            try:
                document = json.loads(part.data)
            except ValueError:
                raise ApiError(400, model.UNPARSEABLE_BODY, "Unparseable script body: the %r part is not valid JSON" % name)
            if not isinstance(document, dict):
                raise ApiError(400, model.UNPARSEABLE_BODY, "Unparseable script body: the %r part must be a JSON object" % name)
            return document
    if required:
        raise ApiError(400, model.UNPARSEABLE_BODY, "Unparseable script body: the upload needs a %r part" % name)
    return None


def upload_body(req):
    """``(metadata, modules)`` of an upload: multipart, or a raw service-worker script."""
    if req.media_type in model.SERVICE_WORKER_TYPES:
        return {"body_part": "worker.js"}, [model.Module("worker.js", req.media_type, req.body)]
    if req.media_type != "multipart/form-data":
        raise ApiError(400, model.UNSUPPORTED_CONTENT_TYPE, "Unsupported or unexpected Content Type %r; send multipart/form-data"
                       % (req.content_type or "(none)"))
    parts = req.parts(model.UNPARSEABLE_BODY)
    return _json_part(parts, "metadata", required=True), _modules(parts, skip=("metadata",))


# A new-class migration needs the class exported by the script: Cloudflare answers 10070 "Cannot apply new-class
# migration to class X that is not exported by script" (emulator/fidelity/workers.yml, new-class-must-be-exported).
CLASS_NOT_EXPORTED = 10070
_IDENT = r"[A-Za-z_$][\w$]*"
_EXPORT_DECLARATION = re.compile(r"\bexport\s+(?:class|(?:async\s+)?function\s*\*?|const|let|var)\s+(%s)" % _IDENT)
_EXPORT_LIST = re.compile(r"\bexport\s*(?:type\s*)?\{([^}]*)\}")
_EXPORT_ALL = re.compile(r"""\bexport\s*\*\s*(?:as\s+(%s)\s*)?from\s*["']([^"']+)["']""" % _IDENT)
_JS_MODULE_TYPES = ("application/javascript+module", "text/javascript+module")


def _exported_names(modules, name, seen=()):
    """The names module ``name`` exports (read from its source, ``export *`` followed into uploaded modules), or
    None when that cannot be told (a module that is not JavaScript, or ``export *`` from one not uploaded)."""
    module = next((m for m in modules if m.name == name), None)
    if module is None or module.content_type not in _JS_MODULE_TYPES or name in seen:
        return None
    source = module.content.decode("utf-8", "replace")
    names = set(_EXPORT_DECLARATION.findall(source))
    for items in _EXPORT_LIST.findall(source):
        for item in items.split(","):
            words = item.split()
            if words:
                names.add(words[-1])  # "a", "a as b", "type a"
    for alias, target in _EXPORT_ALL.findall(source):
        if alias:
            names.add(alias)
            continue
        inner = _exported_names(modules, posixpath.normpath(posixpath.join(posixpath.dirname(name), target)), seen + (name,))
        if inner is None:
            return None
        names |= inner
    return names


def _check_new_classes_exported(metadata, modules, main_module, has_modules):
    """Refuse a migration creating a Durable Object class the script does not export (a service-worker script
    exports nothing). Lenient where the source cannot tell: then the upload is taken."""
    _old, _new, steps = versions.migration_steps(metadata["migrations"])
    wanted = [name for step in steps for field in ("new_classes", "new_sqlite_classes")
              for name in (step.get(field) or []) if isinstance(name, str)]
    if not wanted:
        return
    exported = _exported_names(modules, main_module) if has_modules else set()
    for name in wanted:
        if exported is not None and name not in exported:
            raise ApiError(400, CLASS_NOT_EXPORTED, "Cannot apply new-class migration to class '%s' that is not exported "
                           "by script" % name)


def upload_script(req):
    name = req.params["script_name"]
    model.check_script_name(name)
    metadata, modules = upload_body(req)
    model.check_modules(modules)
    main_module, has_modules = model.entry_point(metadata, modules)
    keep_types = model.keep_binding_types(metadata)
    update = model.settings_update(metadata, model.VERSION_LEVEL + model.SCRIPT_LEVEL)
    annotations = versions.upload_annotations(metadata, versions.SCRIPT_ANNOTATIONS)
    with req.store.write() as db:
        previous = model.find_script(db, req.account_id, name)
        bindings = model.check_bindings(
            db, req.account_id, metadata.get("bindings"), previous=previous.bindings if previous else [],
            keep_types=keep_types, inherit_strict=req.arg("bindings_inherit") == "strict")
        versions.check_binding_shapes(bindings)
        settings = dict(model.DEFAULT_SETTINGS)
        if previous:
            settings.update({field: previous.settings[field] for field in model.SCRIPT_LEVEL + model.MIGRATION_STATE})
        settings.update(update)
        script = model.Script(account_id=req.account_id, name=name, main_module=main_module, has_modules=has_modules,
                              settings=settings, bindings=bindings, created_on=previous.created_on if previous else "")
        if metadata.get("migrations"):
            versions.apply_migrations(db, script, metadata["migrations"])
            _check_new_classes_exported(metadata, modules, main_module, has_modules)
        versions.check_binding_resources(db, script, bindings, versions.deleted_classes_of(metadata.get("migrations")))
        model.save_script(db, script, modules)
        version = versions.version_and_deploy(db, script, modules, "upload", annotations)
    hooks.publish("deployments")
    # wrangler deploy reports `deployment_id` of this answer as the new version's id ("Current Version ID").
    return ok(dict(model.script_view(script), startup_time_ms=0, deployment_id=version["id"]))


def list_scripts(req):
    with req.store.read() as db:
        return ok([model.script_view(script) for script in model.list_scripts(db, req.account_id)])


def download_script(req):
    """The script's modules; with ``?version=`` a version's (wrangler's ``versions secret put`` reads
    ``content/v2?version={id}`` to upload the same code again)."""
    with req.store.read() as db:
        script = model.load_script(db, req.account_id, req.params["script_name"])
        main_module, has_modules = script.main_module, script.has_modules
        if req.arg("version"):
            row = versions.load_version(db, req.account_id, script.name, req.arg("version"))
            main_module, has_modules, modules = row["main_module"], bool(row["has_modules"]), versions.version_modules(db, row)
        else:
            modules = model.load_modules(db, script)
    headers = {"CF-Entrypoint": main_module}
    if not has_modules:
        return raw(modules[0].content if modules else b"", "application/javascript", headers)
    body, content_type = multipart.build((m.name, m.name, m.content_type, m.content) for m in modules)
    return raw(body, content_type, headers)


def put_content(req):
    name = req.params["script_name"]
    parts = req.parts(model.UNPARSEABLE_BODY) if req.media_type == "multipart/form-data" else None
    if parts is None:
        raise ApiError(400, model.UNSUPPORTED_CONTENT_TYPE, "Unsupported or unexpected Content Type %r; send multipart/form-data"
                       % (req.content_type or "(none)"))
    metadata = _json_part(parts, "metadata", required=False) or {}
    if req.headers.get("CF-WORKER-MAIN-MODULE-PART"):
        metadata.setdefault("main_module", req.headers["CF-WORKER-MAIN-MODULE-PART"])
    if req.headers.get("CF-WORKER-BODY-PART"):
        metadata.setdefault("body_part", req.headers["CF-WORKER-BODY-PART"])
    modules = _modules(parts, skip=("metadata",))
    model.check_modules(modules)
    with req.store.write() as db:
        script = model.load_script(db, req.account_id, name)
        if "main_module" not in metadata and "body_part" not in metadata:
            metadata = {"main_module" if script.has_modules else "body_part": script.main_module}
        script.main_module, script.has_modules = model.entry_point(metadata, modules)
        model.save_script(db, script, modules)
        versions.version_and_deploy(db, script, modules, "upload")
    hooks.publish("deployments")
    return ok(model.script_view(script))


def get_settings(req):
    with req.store.read() as db:
        return ok(model.settings_view(model.load_script(db, req.account_id, req.params["script_name"])))


def patch_settings(req):
    if req.media_type == "multipart/form-data":
        document = _json_part(req.parts(model.UNPARSEABLE_BODY), "settings", required=True)
    else:
        document = req.json_object(model.UNPARSEABLE_BODY)
    update = model.settings_update(document, model.VERSION_LEVEL + model.SCRIPT_LEVEL)
    with req.store.write() as db:
        script = model.load_script(db, req.account_id, req.params["script_name"])
        if "bindings" in document:
            script.bindings = model.check_bindings(db, req.account_id, document["bindings"], previous=script.bindings,
                                                   keep_secret_text=True)
            versions.check_binding_shapes(script.bindings)
            versions.check_binding_resources(db, script, script.bindings)
        script.settings.update(update)
        model.save_script(db, script)
        if "bindings" in document or set(update) & set(versions.VERSION_SETTINGS):
            versions.version_and_deploy(db, script, model.load_modules(db, script), "settings")
    if "bindings" in document or set(update) & set(versions.VERSION_SETTINGS):
        hooks.publish("deployments")
    return ok(model.settings_view(script))


def get_script_settings(req):
    with req.store.read() as db:
        return ok(model.script_settings_view(model.load_script(db, req.account_id, req.params["script_name"])))


def patch_script_settings(req):
    update = model.settings_update(req.json_object(model.UNPARSEABLE_BODY), ("logpush", "tail_consumers", "observability", "tags"))
    with req.store.write() as db:
        script = model.load_script(db, req.account_id, req.params["script_name"])
        script.settings.update(update)
        model.save_script(db, script)
    return ok(model.script_settings_view(script))


def delete_script(req):
    with req.store.write() as db:
        model.delete_script(db, model.load_script(db, req.account_id, req.params["script_name"]))
        versions.delete_history(db, req.account_id, req.params["script_name"])
        worker_triggers.forget_script(db, req.account_id, req.params["script_name"])
    hooks.publish("deployments")
    return ok(None)


def get_service(req):
    """A Worker as a "service" with its one environment, ``production``: what ``wrangler deploy`` and
    ``wrangler versions upload`` read first (``default_environment.script.tag``/``tags``/``last_deployed_from``);
    a missing Worker is 10007, which wrangler takes as "not deployed yet"."""
    with req.store.read() as db:
        script = model.load_script(db, req.account_id, req.params["service_name"])
    environment = {"environment": "production", "created_on": script.created_on, "modified_on": script.modified_on,
                   "script": model.script_view(script)}
    return ok({"id": script.name, "default_environment": environment, "environments": [environment],
               "created_on": script.created_on, "modified_on": script.modified_on})


BASE = "/accounts/{account_id}/workers/scripts"
ROUTES = [
    Route("GET", BASE, list_scripts),
    Route("PUT", BASE + "/{script_name}", upload_script),
    Route("GET", BASE + "/{script_name}", download_script),
    Route("DELETE", BASE + "/{script_name}", delete_script),
    Route("PUT", BASE + "/{script_name}/content", put_content),
    Route("GET", BASE + "/{script_name}/content/v2", download_script),
    Route("GET", BASE + "/{script_name}/settings", get_settings),
    Route("PATCH", BASE + "/{script_name}/settings", patch_settings),
    Route("GET", BASE + "/{script_name}/script-settings", get_script_settings),
    Route("PATCH", BASE + "/{script_name}/script-settings", patch_script_settings),
    Route("GET", "/accounts/{account_id}/workers/services/{service_name}", get_service),
]
