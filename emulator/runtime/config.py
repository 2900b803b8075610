"""What the edge serves, computed from the emulator's state.

Two documents, so that most deployment changes need no workerd restart:

``serving_config(db)``, the sidecar's Miniflare configuration (a change means one ``setOptions``):

- ``workers``: one Miniflare worker per *loaded* version, named ``v-<version_id>``, with its modules
  (base64), compatibility settings and bindings mapped to Miniflare options (KV, D1 and queue bindings
  are wrapped bindings whose shim calls the Python API back, see workers/*.js). Loaded are the versions
  of each script's active deployment, of its previous deployment (an instant rollback) and its newest
  ``PRELOADED_VERSIONS`` versions (a version uploaded for a gradual rollout is ready before it is deployed);
- ``router_services``: the router's service bindings to those workers (``V_<version id>``);
- ``skipped``: bindings the edge cannot provide (logged, never fatal).

``routing_table(db, loaded)``, which the router worker fetches per request (``GET /__emulator/edge/table``):
the host/path routes and each script's versions with their percentages, among the loaded versions.
"""
import base64
import json
import re

from emulator.api import worker_versions, workers_model
from emulator.api.worker_triggers import host_map
from emulator.api.worker_versions import active_deployments

DEFAULT_COMPATIBILITY_DATE = "2024-09-23"
PRELOADED_VERSIONS = 2
_ESM_SYNTAX = re.compile(rb"^\s*(export|import)\b", re.MULTILINE)

# Wrapped-binding shims (workers/<kind>.js) and the binding fields they receive.
SHIMS = {
    "kv_namespace": ("cfops-shim-kv", {"NAMESPACE_ID": "namespace_id"}),
    "d1": ("cfops-shim-d1", {"DATABASE_ID": "id"}),
    "queue": ("cfops-shim-queue", {"QUEUE_NAME": "queue_name"}),
    "r2_bucket": ("cfops-shim-r2", {"BUCKET_NAME": "bucket_name"}),
}


def script_key(account_id, script_name):
    return "%s/%s" % (account_id, script_name)


def worker_name(version_id):
    return "v-%s" % version_id


def service_name(version_id):
    """The router's binding to a version's worker: stable, so a table never points at the wrong version."""
    return "V_%s" % version_id.replace("-", "_")


def _module_type(module, is_main):
    content_type = (module["content_type"] or "").split(";")[0].strip().lower()
    if content_type.endswith("+module"):
        return "ESModule"
    if content_type in ("application/javascript", "text/javascript"):
        # A main module in plain "application/javascript" that uses import/export is an ES module.
        return "ESModule" if is_main and _ESM_SYNTAX.search(module["content"]) else "CommonJS"
    if content_type == "application/wasm":
        return "CompiledWasm"
    if content_type == "text/plain":
        return "Text"
    if content_type == "application/source-map":
        return None
    return "Data"


def _host_specificity(entry):
    """Sort key: exact hosts before wildcards, longer hosts and paths first, custom domains before routes."""
    host, path = entry["hostname"], entry["path_pattern"] or "/*"
    return (host.startswith("*"), -len(host.lstrip("*")), path.endswith("*"), -len(path.rstrip("*")),
            entry["kind"] != "custom_domain")


def _storage_of(db, account_id, script_name):
    script = workers_model.find_script(db, account_id, script_name)
    return (script.settings.get("durable_object_classes") or {}) if script else {}


def _durable_object_key(db, account_id, script_name, class_name):
    """Where a class's objects keep their storage: its namespace id, which a ``renamed_classes`` migration
    keeps (Contract 2, set by the workers area); without one, the script and class name."""
    info = _storage_of(db, account_id, script_name).get(class_name) or {}
    if info.get("namespace_id"):
        return "ns-%s" % info["namespace_id"]
    return "%s-%s-%s" % (account_id, script_name, class_name)


def version_metadata(db, account_id, script_name, version_id):
    """The ``version_metadata`` binding's value: ``{id, tag, timestamp}``
    (https://developers.cloudflare.com/workers/runtime-apis/bindings/version-metadata/; the shape of
    Miniflare's own binding: packages/miniflare/src/plugins/version-metadata/index.ts). ``tag`` is the
    version's ``workers/tag`` annotation or "", ``timestamp`` its ``created_on``."""
    row = db.execute("SELECT created_on, annotations FROM worker_versions WHERE account_id = ? AND script_name = ? AND id = ?",
                     (account_id, script_name, version_id)).fetchone()
    annotations = json.loads(row["annotations"]) if row is not None else {}
    return {"id": version_id, "tag": annotations.get("workers/tag") or "",
            "timestamp": row["created_on"] if row is not None else ""}


def _version_worker(db, deployment, version, hosts_of, skipped):
    """The Miniflare options of one deployed version."""
    account_id, script_name = deployment["account_id"], deployment["script_name"]
    name = worker_name(version["version_id"])
    main = next((m for m in version["modules"] if m["name"] == version["main_module"]), None)
    worker = {"name": name, "compatibilityDate": version.get("compatibility_date") or DEFAULT_COMPATIBILITY_DATE,
              "compatibilityFlags": list(version.get("compatibility_flags") or [])}
    if main is not None and _module_type(main, True) == "CommonJS":
        # A service-worker script (addEventListener("fetch", ...)): one classic script, bindings are globals.
        worker["script_b64"] = base64.b64encode(main["content"]).decode("ascii")
        worker["modules"] = []
    else:
        modules = []
        for module in sorted(version["modules"], key=lambda m: m["name"] != version["main_module"]):
            kind = _module_type(module, module["name"] == version["main_module"])
            if kind is not None:
                modules.append({"name": module["name"], "type": kind,
                                "content_b64": base64.b64encode(module["content"]).decode("ascii")})
        worker["modules"] = modules
    plain, wrapped, durable, services = {}, {}, {}, {}
    for binding in version["bindings"]:
        kind, binding_name = binding.get("type"), binding.get("name")
        if kind in ("plain_text", "secret_text"):
            plain[binding_name] = binding.get("text", "")
        elif kind == "json":
            plain[binding_name] = binding.get("json")
        elif kind == "version_metadata":
            plain[binding_name] = version_metadata(db, account_id, script_name, version["version_id"])
        elif kind in SHIMS:
            shim, fields = SHIMS[kind]
            inner = {"ACCOUNT_ID": account_id}
            inner.update({key: str(binding.get(field) or "") for key, field in fields.items()})
            wrapped[binding_name] = {"scriptName": shim, "bindings": inner}
        elif kind == "durable_object_namespace":
            target = binding.get("script_name") or script_name
            host = hosts_of.get(script_key(account_id, target))
            if host is None:
                skipped.append("%s: Durable Object binding %s: script %s has no active deployment" % (name, binding_name, target))
                continue
            storage = _storage_of(db, account_id, target).get(binding.get("class_name"), {}).get("storage")
            durable[binding_name] = {"className": binding.get("class_name"), "scriptName": host,
                                     # Storage follows the class's namespace, not the version serving it.
                                     "unsafeUniqueKey": _durable_object_key(db, account_id, target, binding.get("class_name")),
                                     "useSQLite": storage == "sqlite"}
        elif kind == "service":
            host = hosts_of.get(script_key(account_id, binding.get("service")))
            if host is None:
                skipped.append("%s: service binding %s: script %s has no active deployment" % (name, binding_name, binding.get("service")))
                continue
            services[binding_name] = {"name": host, "entrypoint": binding["entrypoint"]} if binding.get("entrypoint") else host
        else:
            skipped.append("%s: binding %s of type %s is not provided by the emulator's edge" % (name, binding_name, kind))
    worker.update(bindings=plain, wrappedBindings=wrapped, durableObjects=durable, serviceBindings=services)
    return worker


def _version_document(db, account_id, script_name, version_id):
    """A version in the shape ``active_deployments`` gives (for versions that are not deployed)."""
    row = db.execute("SELECT * FROM worker_versions WHERE account_id = ? AND script_name = ? AND id = ?",
                     (account_id, script_name, version_id)).fetchone()
    if row is None:
        return None
    settings = json.loads(row["settings"])
    return {"version_id": row["id"], "percentage": 0, "main_module": row["main_module"],
            "modules": [{"name": m.name, "content_type": m.content_type, "content": m.content}
                        for m in worker_versions.version_modules(db, row)],
            "bindings": json.loads(row["bindings"]), "compatibility_date": settings.get("compatibility_date"),
            "compatibility_flags": settings.get("compatibility_flags") or [], "migration_tag": row["migration_tag"]}


def _preloaded_ids(db, account_id, script_name):
    """The newest versions and the previous deployment's versions of a script."""
    ids = [row["id"] for row in db.execute(
        "SELECT id FROM worker_versions WHERE account_id = ? AND script_name = ? ORDER BY number DESC LIMIT ?",
        (account_id, script_name, PRELOADED_VERSIONS))]
    previous = db.execute("SELECT versions FROM worker_deployments WHERE account_id = ? AND script_name = ? "
                          "ORDER BY seq DESC LIMIT 1 OFFSET 1", (account_id, script_name)).fetchone()
    if previous is not None:
        ids += [item["version_id"] for item in json.loads(previous["versions"])]
    return ids


def serving_config(db, broken=()):
    """``broken``: version ids workerd could not load; they are left out (the router answers 500 for them)."""
    deployments = active_deployments(db)
    # The version that serves the largest share hosts the script's Durable Objects and service-binding calls.
    hosts_of = {}
    for d in deployments:
        loadable = [v for v in d["versions"] if v["version_id"] not in broken]
        if loadable:
            hosts_of[script_key(d["account_id"], d["script_name"])] = worker_name(
                max(loadable, key=lambda v: v["percentage"])["version_id"])
    workers, services, skipped = [], {}, []
    for deployment in deployments:
        versions = [v for v in deployment["versions"] if v["version_id"] not in broken]
        active = {version["version_id"] for version in deployment["versions"]}
        for version_id in _preloaded_ids(db, deployment["account_id"], deployment["script_name"]):
            if version_id not in active and version_id not in broken:
                document = _version_document(db, deployment["account_id"], deployment["script_name"], version_id)
                if document is not None:
                    versions.append(document)
                    active.add(version_id)
        for version in versions:
            services[service_name(version["version_id"])] = worker_name(version["version_id"])
            workers.append(_version_worker(db, deployment, version, hosts_of, skipped))
    return {"workers": workers, "router_services": services, "skipped": skipped}


def routing_table(db, loaded, broken=None):
    """The router's table; ``loaded`` are the version ids the running workerd has, ``broken`` maps the
    ids it could not load to the error (the router answers 500 for those). A script whose deployment
    names a version not loaded yet is left out of ``scripts`` (``pending``): the caller keeps serving
    what it served before until the reload that loads it completes."""
    broken = broken or {}
    scripts, pending = {}, []
    for deployment in active_deployments(db):
        key = script_key(deployment["account_id"], deployment["script_name"])
        if all(version["version_id"] in loaded or version["version_id"] in broken for version in deployment["versions"]):
            scripts[key] = [{"binding": service_name(v["version_id"]), "version_id": v["version_id"],
                             "percentage": v["percentage"], "broken": broken.get(v["version_id"])}
                            for v in deployment["versions"]]
        else:
            pending.append(key)
    routes = [{"hostname": entry["hostname"].lower(), "path_pattern": entry["path_pattern"] or "/*",
               "script": script_key(entry["account_id"], entry["script_name"]), "kind": entry["kind"]}
              for entry in sorted(host_map(db), key=_host_specificity)]
    return {"routes": routes, "scripts": scripts, "pending": pending}


def fingerprint(config):
    return json.dumps(config, sort_keys=True, separators=(",", ":"))
