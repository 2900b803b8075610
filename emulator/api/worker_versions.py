"""Worker versions and deployments, Durable Object migrations, and what the edge runtime serves.

Every script upload (``PUT .../scripts/{s}``, ``PUT .../content``), settings PATCH and secret change
creates a version and a 100% deployment of it, as on Cloudflare. ``POST .../versions`` uploads a
version without deploying it; ``POST .../deployments`` splits traffic between one or two versions.

The script row (workers_model) mirrors the version that serves the largest share of the current
deployment, so the script/settings/content views show what mostly serves.
"""
import hashlib
import json
import uuid

from emulator import hooks
from emulator.api import workers_model as model
from emulator.api.paging import page_window, paginate
from emulator.envelope import ApiError, ok
from emulator.routing import Route
from emulator.store import now_iso

SCHEMA = """
CREATE TABLE IF NOT EXISTS worker_versions (
    account_id TEXT NOT NULL,
    script_name TEXT NOT NULL,
    id TEXT NOT NULL,
    number INTEGER NOT NULL,
    created_on TEXT NOT NULL,
    source TEXT NOT NULL,
    main_module TEXT NOT NULL,
    has_modules INTEGER NOT NULL,
    settings TEXT NOT NULL,         -- JSON: version-level settings (compatibility, placement, limits, usage_model)
    bindings TEXT NOT NULL,         -- JSON array; secret_text bindings keep their text (the version's snapshot)
    annotations TEXT NOT NULL,      -- JSON object
    migration_tag TEXT,             -- the script's DO migration tag when the version was made
    etag TEXT NOT NULL,
    PRIMARY KEY (account_id, script_name, id)
);
CREATE TABLE IF NOT EXISTS worker_version_modules (
    account_id TEXT NOT NULL,
    script_name TEXT NOT NULL,
    version_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    content BLOB NOT NULL,
    PRIMARY KEY (account_id, script_name, version_id, name)
);
CREATE TABLE IF NOT EXISTS worker_deployments (
    account_id TEXT NOT NULL,
    script_name TEXT NOT NULL,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,           -- creation order (created_on may tie)
    created_on TEXT NOT NULL,
    source TEXT NOT NULL,
    versions TEXT NOT NULL,         -- JSON [{version_id, percentage}]
    annotations TEXT NOT NULL,      -- JSON object
    PRIMARY KEY (account_id, script_name, id)
);
"""
RESOURCE_TABLES = ("worker_version_modules", "worker_versions", "worker_deployments")

# Error codes, each with its source or marked an assumption in emulator/fidelity/worker_versions.yml.
MIGRATION_TAG_MISMATCH = 10079
CLASS_ALREADY_EXISTS = 10074
DELETED_CLASS_STILL_BOUND = 10061
VERSION_NOT_DEPLOYED = 10215
SECRETS_CHANGED = 10220
VERSION_NOT_FOUND = 10231           # *
VERSION_NOT_DEPLOYABLE = 10232      # * outside the last 100 versions
MIGRATION_SINCE_VERSION = 10233     # *
BOUND_RESOURCE_MISSING = 10234      # *
DEPLOYMENT_NOT_FOUND = 10235        # *
ACTIVE_DEPLOYMENT = 10236           # *
MIGRATIONS_NOT_ALLOWED = 10237      # * migrations in a version upload

DEPLOYABLE_VERSIONS = 100           # rollback / deployment window: the last 100 versions
MAX_DEPLOYMENT_VERSIONS = 2
VERSION_SETTINGS = model.VERSION_LEVEL + ("usage_model",)
MESSAGE_MAX_BYTES = 1000            # SDK: truncated to 1000 bytes
# What a version upload may annotate (the SDK's version_create_params MetadataAnnotations) and, of
# those, what a script upload may (script_update_params MetadataAnnotations).
VERSION_ANNOTATIONS = ("workers/message", "workers/tag", "workers/alias", "workers/commit_sha",
                       "workers/pull_request_number", "workers/pull_request_title", "workers/pull_request_url",
                       "workers/repository_url")
SCRIPT_ANNOTATIONS = ("workers/message", "workers/tag")
ANNOTATION_MAX_BYTES = {"workers/tag": 100, "workers/commit_sha": 64, "workers/pull_request_number": 20,
                        "workers/pull_request_title": 512, "workers/pull_request_url": 512, "workers/repository_url": 512}
# What a version read answers of them: wrangler's ApiVersion type and Terraform's worker_version
# annotations model know only these three (the SDK's VersionGetResponse has no annotations at all).
ECHOED_ANNOTATIONS = ("workers/message", "workers/tag", "workers/triggered_by")


def _invalid(message):
    return model.invalid(message)


# Durable Object migrations ---------------------------------------------------------------------------------

MIGRATION_STEP_FIELDS = ("new_classes", "new_sqlite_classes", "renamed_classes", "deleted_classes", "transferred_classes")


def _class_list(step, field, index):
    value = step.get(field) or []
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise _invalid("migrations step %d: %s must be an array of class names" % (index, field))
    return value


def _pair_list(step, field, index, keys):
    value = step.get(field) or []
    if not isinstance(value, list) or not all(
            isinstance(item, dict) and all(isinstance(item.get(key), str) and item[key] for key in keys) for item in value):
        raise _invalid("migrations step %d: %s must be an array of objects with %s" % (index, field, ", ".join(keys)))
    return value


def migration_steps(migrations):
    """``(old_tag, new_tag, steps)`` of the metadata ``migrations`` (single step or ``steps``)."""
    if not isinstance(migrations, dict):
        raise _invalid("migrations must be an object")
    old_tag, new_tag = migrations.get("old_tag"), migrations.get("new_tag")
    for field, tag in (("old_tag", old_tag), ("new_tag", new_tag)):
        if tag is not None and not isinstance(tag, str):
            raise _invalid("migrations.%s must be a string" % field)
    if "steps" in migrations:
        steps = migrations["steps"]
        if not isinstance(steps, list) or not all(isinstance(step, dict) for step in steps):
            raise _invalid("migrations.steps must be an array of objects")
    else:
        steps = [{field: migrations[field] for field in MIGRATION_STEP_FIELDS if field in migrations}]
    return old_tag, new_tag, steps


def apply_migrations(db, script, migrations):
    """Apply ``migrations`` to ``script.settings`` (tag and DO classes), Cloudflare's checks included."""
    old_tag, new_tag, steps = migration_steps(migrations)
    current = script.settings.get("migration_tag")
    if (old_tag or None) != (current or None):
        raise ApiError(400, MIGRATION_TAG_MISMATCH, "Migration tag precondition failed; current tag is %s"
                       % (current if current else "not set"))
    classes = {name: dict(info) for name, info in (script.settings.get("durable_object_classes") or {}).items()}
    for index, step in enumerate(steps):
        for field, storage in (("new_classes", "legacy-kv"), ("new_sqlite_classes", "sqlite")):
            for name in _class_list(step, field, index):
                if name in classes:
                    raise ApiError(400, CLASS_ALREADY_EXISTS, "Cannot create Durable Object class %r: it already exists "
                                   "in script %r (migrations step %d, %s)" % (name, script.name, index, field))
                classes[name] = {"storage": storage, "namespace_id": uuid.uuid4().hex}
        for pair in _pair_list(step, "renamed_classes", index, ("from", "to")):
            if pair["from"] not in classes:
                raise _invalid("migrations step %d: cannot rename Durable Object class %r: script %r has no such class"
                               % (index, pair["from"], script.name))
            if pair["to"] in classes:
                raise ApiError(400, CLASS_ALREADY_EXISTS, "migrations step %d: cannot rename %r to %r: class %r already exists"
                               % (index, pair["from"], pair["to"], pair["to"]))
            classes[pair["to"]] = classes.pop(pair["from"])
        for name in _class_list(step, "deleted_classes", index):
            if name not in classes:
                raise _invalid("migrations step %d: cannot delete Durable Object class %r: script %r has no such class"
                               % (index, name, script.name))
            del classes[name]
        for item in _pair_list(step, "transferred_classes", index, ("from", "from_script", "to")):
            source = model.find_script(db, script.account_id, item["from_script"])
            source_classes = (source.settings.get("durable_object_classes") or {}) if source else {}
            if item["from"] not in source_classes:
                raise _invalid("migrations step %d: cannot transfer Durable Object class %r from script %r: it has no such class"
                               % (index, item["from"], item["from_script"]))
            if item["to"] in classes:
                raise ApiError(400, CLASS_ALREADY_EXISTS, "migrations step %d: cannot transfer into %r: class already exists"
                               % (index, item["to"]))
            classes[item["to"]] = source_classes.pop(item["from"])
            source.settings["durable_object_classes"] = source_classes
            model.save_script(db, source)
    script.settings["durable_object_classes"] = classes
    if new_tag is not None:
        script.settings["migration_tag"] = new_tag
    return classes


def namespace_id_of(account_id, script_name, class_name, info):
    """The Durable Object namespace id of a class: the one stored at creation (kept by renames and
    transfers), or for classes stored before namespace ids existed a stable id derived from the
    script and class (the edge falls back to its older storage key for those)."""
    if info.get("namespace_id"):
        return info["namespace_id"]
    return hashlib.sha256(("%s/%s/%s" % (account_id, script_name, class_name)).encode("utf-8")).hexdigest()[:32]


def _do_classes(db, account_id, script_name, own_name, own_classes):
    if script_name == own_name:
        return own_classes
    other = model.find_script(db, account_id, script_name)
    return (other.settings.get("durable_object_classes") or {}) if other else {}


def _resource_problem(db, account_id, script_name, own_classes, binding):
    """Why a binding's resource does not exist (None when it does, or cannot be checked)."""
    kind, name = binding["type"], binding["name"]
    if kind == "kv_namespace":
        from emulator.api.kv import namespace_exists
        if not namespace_exists(db, account_id, binding.get("namespace_id")):
            return "KV namespace %r of binding %r does not exist" % (binding.get("namespace_id"), name)
    elif kind == "durable_object_namespace":
        target = binding.get("script_name") or script_name
        if binding.get("class_name") not in _do_classes(db, account_id, target, script_name, own_classes):
            return "Durable Object class %r of binding %r does not exist in script %r" % (binding.get("class_name"), name, target)
    else:
        check = _EXISTENCE_CHECKS.get(kind)
        if check is not None:
            module_name, function_name, field, label = check
            exists = _optional_check(module_name, function_name)
            if exists is not None and not exists(db, account_id, binding.get(field)):
                return "%s %r of binding %r does not exist" % (label, binding.get(field), name)
    return None


# Checks owned by other product areas; skipped while their module or function does not exist yet.
_EXISTENCE_CHECKS = {
    "d1": ("emulator.api.d1", "database_exists", "id", "D1 database"),
    "r2_bucket": ("emulator.api.r2", "bucket_exists", "bucket_name", "R2 bucket"),
    "queue": ("emulator.api.queues", "queue_exists", "queue_name", "Queue"),
}


def _optional_check(module_name, function_name):
    import importlib
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return getattr(module, function_name, None)


BINDING_FIELDS = {
    "durable_object_namespace": (("class_name",), ("script_name", "environment")),
    "queue": (("queue_name",), ()),
    "d1": (("id",), ()),
    "r2_bucket": (("bucket_name",), ("jurisdiction",)),
    "service": (("service",), ("environment", "entrypoint")),
    "analytics_engine": (("dataset",), ()),
}


def check_binding_shapes(bindings):
    """Field checks of the binding kinds this area adds (the others are checked by workers_model)."""
    for binding in bindings:
        fields = BINDING_FIELDS.get(binding.get("type"))
        if fields is None:
            continue
        required, optional = fields
        for field in required:
            if not isinstance(binding.get(field), str) or not binding[field]:
                raise _invalid("%s binding %r needs a string %r" % (binding["type"], binding.get("name"), field))
        for field in optional:
            if field in binding and not isinstance(binding[field], str):
                raise _invalid("%s binding %r: %r must be a string" % (binding["type"], binding.get("name"), field))


def check_binding_resources(db, script, bindings, deleted_classes=()):
    """Every bound resource exists; a DO class deleted by this upload's migrations must not be bound.

    Fills what the server adds to a binding: a Durable Object binding's ``namespace_id`` (Terraform's
    workers_script and worker_version models have it computed)."""
    own_classes = script.settings.get("durable_object_classes") or {}
    for binding in bindings:
        # Matched by class name alone, whatever script_name says (alchemy-run/alchemy#799); the live
        # message is quoted in workers-sdk#8210.
        if binding["type"] == "durable_object_namespace" and binding.get("class_name") in deleted_classes:
            raise ApiError(400, DELETED_CLASS_STILL_BOUND, "Cannot apply --delete-class migration to class '%s' without also "
                           "removing the binding that references it." % binding["class_name"])
        problem = _resource_problem(db, script.account_id, script.name, own_classes, binding)
        if problem:
            code = model.INVALID_KV_NAMESPACE if binding["type"] == "kv_namespace" else model.VALIDATION_FAILED
            raise ApiError(400, code, problem)
        if binding["type"] == "durable_object_namespace":
            target = binding.get("script_name") or script.name
            classes = _do_classes(db, script.account_id, target, script.name, own_classes)
            binding["namespace_id"] = namespace_id_of(script.account_id, target, binding["class_name"],
                                                      classes[binding["class_name"]])


def deleted_classes_of(migrations):
    if not migrations:
        return set()
    steps = migration_steps(migrations)[2]
    return {name for step in steps for name in (step.get("deleted_classes") or []) if isinstance(name, str)}


# Versions ----------------------------------------------------------------------------------------------------

def _version_row(db, account_id, script_name, version_id):
    return db.execute("SELECT * FROM worker_versions WHERE account_id = ? AND script_name = ? AND id = ?",
                      (account_id, script_name, version_id)).fetchone()


def load_version(db, account_id, script_name, version_id):
    row = _version_row(db, account_id, script_name, version_id)
    if row is None:
        raise ApiError(404, VERSION_NOT_FOUND, "Version %s of Worker %s was not found" % (version_id, script_name))
    return row


def _versions(db, account_id, script_name):
    """Version rows, newest first."""
    return db.execute("SELECT * FROM worker_versions WHERE account_id = ? AND script_name = ? ORDER BY number DESC",
                      (account_id, script_name)).fetchall()


def version_modules(db, row):
    return [model.Module(r["name"], r["content_type"], bytes(r["content"])) for r in db.execute(
        "SELECT name, content_type, content FROM worker_version_modules WHERE account_id = ? AND script_name = ? "
        "AND version_id = ? ORDER BY position", (row["account_id"], row["script_name"], row["id"]))]


def record_version(db, script, modules, annotations, source="api"):
    """Store ``script``'s current content as a new version; returns its row."""
    number = db.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM worker_versions WHERE account_id = ? AND script_name = ?",
                        (script.account_id, script.name)).fetchone()[0]
    version_id = str(uuid.uuid4())
    settings = {field: script.settings.get(field) for field in VERSION_SETTINGS}
    db.execute(
        "INSERT INTO worker_versions (account_id, script_name, id, number, created_on, source, main_module, has_modules, "
        "settings, bindings, annotations, migration_tag, etag) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (script.account_id, script.name, version_id, number, now_iso(), source, script.main_module, int(script.has_modules),
         json.dumps(settings), json.dumps(script.bindings), json.dumps(annotations), script.settings.get("migration_tag"),
         script.etag))
    db.executemany(
        "INSERT INTO worker_version_modules (account_id, script_name, version_id, position, name, content_type, content) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(script.account_id, script.name, version_id, position, m.name, m.content_type, m.content)
         for position, m in enumerate(modules)])
    return _version_row(db, script.account_id, script.name, version_id)


def _echoed_annotations(row):
    annotations = json.loads(row["annotations"])
    return {key: annotations[key] for key in ECHOED_ANNOTATIONS if key in annotations}


def _version_short(row):
    # wrangler's `versions list` reads workers/tag, workers/message and workers/triggered_by from these items.
    return {
        "id": row["id"],
        "number": row["number"],
        "metadata": {"author_email": "local@cfops.invalid", "author_id": "cfops-emulator", "created_on": row["created_on"],
                     "modified_on": row["created_on"], "source": row["source"], "hasPreview": False},
        "annotations": _echoed_annotations(row),
    }


def version_view(row):
    settings = json.loads(row["settings"])
    runtime = {"compatibility_flags": settings.get("compatibility_flags") or [],
               "usage_model": settings.get("usage_model") or "bundled"}
    if settings.get("compatibility_date"):
        runtime["compatibility_date"] = settings["compatibility_date"]
    if settings.get("limits"):
        runtime["limits"] = settings["limits"]
    if row["migration_tag"]:
        runtime["migration_tag"] = row["migration_tag"]
    view = _version_short(row)
    view["resources"] = {
        "bindings": model.public_bindings(json.loads(row["bindings"])),
        "script": {"etag": row["etag"], "handlers": ["fetch"], "last_deployed_from": row["source"]},
        "script_runtime": runtime,
    }
    return view


def upload_annotations(metadata, allowed=VERSION_ANNOTATIONS):
    """The validated ``annotations`` of upload metadata (``allowed`` keys only; the message truncated)."""
    annotations = metadata.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise _invalid("annotations must be an object of strings")
    # A key with a null value is taken as not set.
    annotations = {key: value for key, value in annotations.items() if value is not None}
    if not all(isinstance(v, str) for v in annotations.values()):
        raise _invalid("annotations must be an object of strings")
    unknown = sorted(set(annotations) - set(allowed))
    if unknown:
        raise _invalid("Unknown version annotation(s): %s (allowed: %s)" % (", ".join(unknown), ", ".join(allowed)))
    for key, limit in ANNOTATION_MAX_BYTES.items():
        if len(annotations.get(key, "").encode("utf-8")) > limit:
            raise _invalid("annotations.%s is longer than %d bytes" % (key, limit))
    if "workers/message" in annotations:
        annotations["workers/message"] = annotations["workers/message"].encode("utf-8")[:MESSAGE_MAX_BYTES].decode("utf-8", "ignore")
    return annotations


def upload_version(req):
    from emulator.api.workers import upload_body  # workers imports this module
    name = req.params["script_name"]
    metadata, modules = upload_body(req)
    if metadata.get("migrations"):
        raise ApiError(400, MIGRATIONS_NOT_ALLOWED,
                       "You attempted to upload a version of a Worker that includes a Durable Object migration, but "
                       "migrations must be fully applied by uploading the script (PUT .../workers/scripts/%s)" % name)
    model.check_modules(modules)
    main_module, has_modules = model.entry_point(metadata, modules)
    annotations = upload_annotations(metadata)
    keep_types = model.keep_binding_types(metadata)
    update = model.settings_update(metadata, VERSION_SETTINGS)
    with req.store.write() as db:
        script = model.load_script(db, req.account_id, name)
        latest = _versions(db, req.account_id, name)[:1]
        previous = json.loads(latest[0]["bindings"]) if latest else script.bindings
        bindings = model.check_bindings(db, req.account_id, metadata.get("bindings"), previous=previous, keep_types=keep_types,
                                        inherit_strict=req.arg("bindings_inherit") == "strict")
        check_binding_shapes(bindings)
        check_binding_resources(db, script, bindings)
        # The version is built on a copy: the script row keeps mirroring what serves.
        draft = model.Script(account_id=script.account_id, name=name, main_module=main_module, has_modules=has_modules,
                             settings=dict(script.settings, **{f: model.DEFAULT_SETTINGS[f] for f in VERSION_SETTINGS}),
                             bindings=bindings)
        draft.settings.update(update)
        draft.etag = model.content_etag(draft, modules)
        row = record_version(db, draft, modules, annotations)
        view = dict(version_view(row), startup_time_ms=0)
    return ok(view)


def list_versions(req):
    with req.store.read() as db:
        model.load_script(db, req.account_id, req.params["script_name"])
        rows = _versions(db, req.account_id, req.params["script_name"])
    if req.bool_arg("deployable"):
        # "Ignores pagination" (SDK): every deployable version on the first page; a later page is empty,
        # so a client that pages on until an empty page (the SDK's iterator) stops.
        page = req.int_arg("page", 1, minimum=1)
        items = [_version_short(row) for row in rows[:DEPLOYABLE_VERSIONS]] if page == 1 else []
        info = {"page": page, "per_page": len(items), "count": len(items), "total_count": len(items), "total_pages": 1}
        return ok({"items": items}, result_info=info)
    page, per_page = page_window(req, 10, 1, 100)
    chunk, info = paginate(rows, page, per_page)
    return ok({"items": [_version_short(row) for row in chunk]}, result_info=info)


def get_version(req):
    with req.store.read() as db:
        model.load_script(db, req.account_id, req.params["script_name"])
        return ok(version_view(load_version(db, req.account_id, req.params["script_name"], req.params["version_id"])))


# Deployments -------------------------------------------------------------------------------------------------

def _deployment_view(row):
    return {"id": row["id"], "created_on": row["created_on"], "source": row["source"], "strategy": "percentage",
            "versions": json.loads(row["versions"]), "annotations": json.loads(row["annotations"]),
            "author_email": "local@cfops.invalid"}


def _deployments(db, account_id, script_name):
    """Deployment rows, newest first."""
    return db.execute("SELECT * FROM worker_deployments WHERE account_id = ? AND script_name = ? ORDER BY seq DESC",
                      (account_id, script_name)).fetchall()


def current_deployment(db, account_id, script_name):
    rows = _deployments(db, account_id, script_name)
    return rows[0] if rows else None


def _secret_values(bindings):
    return {b["name"]: b.get("text") for b in bindings if b["type"] in model.SECRET_TYPES}


def _check_deployable(db, script, rows, force):
    """Cloudflare's refusals for deploying (or rolling back to) existing versions."""
    window = {row["id"] for row in _versions(db, script.account_id, script.name)[:DEPLOYABLE_VERSIONS]}
    latest = _versions(db, script.account_id, script.name)[0]
    latest_secrets = _secret_values(json.loads(latest["bindings"]))
    current_tag = script.settings.get("migration_tag")
    own_classes = script.settings.get("durable_object_classes") or {}
    for row in rows:
        if row["id"] not in window:
            raise ApiError(400, VERSION_NOT_DEPLOYABLE, "Version %s (number %d) is outside the last %d versions of Worker %s "
                           "and can no longer be deployed" % (row["id"], row["number"], DEPLOYABLE_VERSIONS, script.name))
        if (row["migration_tag"] or None) != (current_tag or None):
            raise ApiError(400, MIGRATION_SINCE_VERSION, "Cannot deploy version %s: a Durable Object migration was applied "
                           "after it (its migration tag is %s, the Worker's is %s)"
                           % (row["id"], row["migration_tag"] or "not set", current_tag or "not set"))
        for binding in json.loads(row["bindings"]):
            problem = _resource_problem(db, script.account_id, script.name, own_classes, binding)
            if problem:
                raise ApiError(400, BOUND_RESOURCE_MISSING, "Cannot deploy version %s: %s" % (row["id"], problem))
        changed = sorted(name for name in set(latest_secrets) | set(_secret_values(json.loads(row["bindings"])))
                         if latest_secrets.get(name) != _secret_values(json.loads(row["bindings"])).get(name))
        if changed and not force:
            raise ApiError(400, SECRETS_CHANGED, "A secret has changed since version %s was uploaded; deploy with "
                           "force=true to use it anyway. The following secrets have changed: %s" % (row["id"], ", ".join(changed)))


def deploy(db, script, versions, annotations, source="api", sync_script=True):
    """Insert a deployment of ``[{version_id, percentage}]``; with ``sync_script`` the script row then mirrors
    the version with the largest share (a script-level write already left it so)."""
    seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM worker_deployments WHERE account_id = ? AND script_name = ?",
                     (script.account_id, script.name)).fetchone()[0]
    deployment_id = str(uuid.uuid4())
    db.execute("INSERT INTO worker_deployments (account_id, script_name, id, seq, created_on, source, versions, annotations) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               (script.account_id, script.name, deployment_id, seq, now_iso(), source, json.dumps(versions), json.dumps(annotations)))
    main = max(versions, key=lambda v: v["percentage"])
    row = _version_row(db, script.account_id, script.name, main["version_id"])
    if sync_script:
        script.main_module, script.has_modules = row["main_module"], bool(row["has_modules"])
        script.settings.update(json.loads(row["settings"]))
        script.bindings = json.loads(row["bindings"])
        model.save_script(db, script, version_modules(db, row))
    return db.execute("SELECT * FROM worker_deployments WHERE account_id = ? AND script_name = ? AND id = ?",
                      (script.account_id, script.name, deployment_id)).fetchone()


def _deployment_request(document):
    if document.get("strategy") != "percentage":
        raise _invalid("strategy must be 'percentage'")
    versions = document.get("versions")
    if not isinstance(versions, list) or not 1 <= len(versions) <= MAX_DEPLOYMENT_VERSIONS:
        count = len(versions) if isinstance(versions, list) else "none"
        raise _invalid("A deployment has 1 or %d versions, got %s" % (MAX_DEPLOYMENT_VERSIONS, count))
    result = []
    for item in versions:
        if not isinstance(item, dict) or not isinstance(item.get("version_id"), str) \
                or not isinstance(item.get("percentage"), (int, float)) or isinstance(item.get("percentage"), bool):
            raise _invalid("each deployment version needs a string version_id and a numeric percentage")
        # 0 % is allowed: wrangler's `versions deploy` takes 0-100, and Cloudflare's version-overrides
        # docs deploy a new version at 0 % to smoke-test it.
        if not 0 <= item["percentage"] <= 100:
            raise _invalid("percentage of version %s must be between 0 and 100" % item["version_id"])
        result.append({"version_id": item["version_id"], "percentage": item["percentage"]})
    if len({item["version_id"] for item in result}) != len(result):
        raise _invalid("A version appears twice in the deployment")
    total = sum(item["percentage"] for item in result)
    if abs(total - 100) > 1e-6:
        raise _invalid("The traffic percentages add up to %g%%, but must total exactly 100%%" % total)
    annotations = document.get("annotations") or {}
    if not isinstance(annotations, dict) or set(annotations) - {"workers/message"} \
            or not all(isinstance(v, str) for v in annotations.values()):
        raise _invalid("deployment annotations may only carry a string 'workers/message'")
    annotations = dict(annotations)
    if "workers/message" in annotations:
        annotations["workers/message"] = annotations["workers/message"].encode("utf-8")[:MESSAGE_MAX_BYTES].decode("utf-8", "ignore")
    return result, annotations


def create_deployment(req):
    versions, annotations = _deployment_request(req.json_object(model.UNPARSEABLE_BODY))
    with req.store.write() as db:
        script = model.load_script(db, req.account_id, req.params["script_name"])
        rows = [load_version(db, req.account_id, script.name, item["version_id"]) for item in versions]
        _check_deployable(db, script, rows, req.bool_arg("force"))
        view = _deployment_view(deploy(db, script, versions, annotations))
    hooks.publish("deployments")
    return ok(view)


def list_deployments(req):
    with req.store.read() as db:
        model.load_script(db, req.account_id, req.params["script_name"])
        return ok({"deployments": [_deployment_view(row) for row in _deployments(db, req.account_id, req.params["script_name"])]})


def _deployment_row(db, req):
    model.load_script(db, req.account_id, req.params["script_name"])
    row = db.execute("SELECT * FROM worker_deployments WHERE account_id = ? AND script_name = ? AND id = ?",
                     (req.account_id, req.params["script_name"], req.params["deployment_id"])).fetchone()
    if row is None:
        raise ApiError(404, DEPLOYMENT_NOT_FOUND, "Deployment %s was not found" % req.params["deployment_id"])
    return row


def get_deployment(req):
    with req.store.read() as db:
        return ok(_deployment_view(_deployment_row(db, req)))


def delete_deployment(req):
    with req.store.write() as db:
        row = _deployment_row(db, req)
        if current_deployment(db, req.account_id, req.params["script_name"])["id"] == row["id"]:
            raise ApiError(400, ACTIVE_DEPLOYMENT, "Deployment %s is the active deployment and cannot be deleted" % row["id"])
        db.execute("DELETE FROM worker_deployments WHERE account_id = ? AND script_name = ? AND id = ?",
                   (row["account_id"], row["script_name"], row["id"]))
    hooks.publish("deployments")
    return ok(None)


# Used by the script and secret routes ----------------------------------------------------------------------------

def version_and_deploy(db, script, modules, triggered_by, annotations=None):
    """After a script-level write: a new version of the script row (with the upload's ``annotations``),
    deployed at 100%."""
    row = record_version(db, script, modules, dict(annotations or {}, **{"workers/triggered_by": triggered_by}))
    deploy(db, script, [{"version_id": row["id"], "percentage": 100}], {"workers/triggered_by": triggered_by},
           sync_script=False)
    return row


def require_latest_deployed(db, script):
    """Secrets change the latest version; Cloudflare refuses when that version does not serve 100%."""
    versions = _versions(db, script.account_id, script.name)[:1]
    current = current_deployment(db, script.account_id, script.name)
    if not versions or current is None:
        return
    served = json.loads(current["versions"])
    if len(served) != 1 or served[0]["version_id"] != versions[0]["id"]:
        raise ApiError(400, VERSION_NOT_DEPLOYED, "Secret edit failed. You attempted to modify a secret, but the latest "
                       "version of your Worker isn't currently deployed. Deploy it at 100% first, or upload a new "
                       "version that carries the secret.")


def delete_history(db, account_id, script_name):
    for table in RESOURCE_TABLES:
        db.execute("DELETE FROM %s WHERE account_id = ? AND script_name = ?" % table, (account_id, script_name))


# For the edge runtime ----------------------------------------------------------------------------------------------

def active_deployments(db):
    """What serves: one entry per script with a deployment (see docs/dev/interfaces.md)."""
    result = []
    scripts = db.execute("SELECT DISTINCT account_id, script_name FROM worker_deployments ORDER BY account_id, script_name")
    for account_id, script_name in [(r["account_id"], r["script_name"]) for r in scripts]:
        deployment = current_deployment(db, account_id, script_name)
        versions = []
        for item in json.loads(deployment["versions"]):
            row = _version_row(db, account_id, script_name, item["version_id"])
            settings = json.loads(row["settings"])
            versions.append({
                "version_id": row["id"],
                "percentage": item["percentage"],
                "main_module": row["main_module"],
                "modules": [{"name": m.name, "content_type": m.content_type, "content": m.content}
                            for m in version_modules(db, row)],
                "bindings": json.loads(row["bindings"]),
                "compatibility_date": settings.get("compatibility_date"),
                "compatibility_flags": settings.get("compatibility_flags") or [],
                "migration_tag": row["migration_tag"],
                # For a version_metadata binding (Contract 3): {id, tag, timestamp}.
                "tag": json.loads(row["annotations"]).get("workers/tag") or "",
                "created_on": row["created_on"],
            })
        result.append({"account_id": account_id, "script_name": script_name, "deployment_id": deployment["id"],
                       "versions": versions})
    return result


BASE = "/accounts/{account_id}/workers/scripts/{script_name}"
ROUTES = [
    Route("GET", BASE + "/versions", list_versions),
    Route("POST", BASE + "/versions", upload_version),
    Route("GET", BASE + "/versions/{version_id}", get_version),
    Route("GET", BASE + "/deployments", list_deployments),
    Route("POST", BASE + "/deployments", create_deployment),
    Route("GET", BASE + "/deployments/{deployment_id}", get_deployment),
    Route("DELETE", BASE + "/deployments/{deployment_id}", delete_deployment),
]
