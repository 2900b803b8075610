"""Worker secrets: secret_text bindings of a script, written one by one or in bulk, never read back."""
from emulator import hooks
from emulator.api import worker_versions as versions
from emulator.api import workers_model as model
from emulator.envelope import ApiError, ok
from emulator.routing import Route

SCHEMA = ""            # secrets are bindings, stored with the script (workers_model)
RESOURCE_TABLES = ()


def _secret_binding(document, name=None):
    """A validated secret_text binding from ``{name, text, type}``."""
    if not isinstance(document, dict):
        raise model.invalid("a secret must be an object {name, text, type: secret_text}")
    name = document.get("name", name)
    if not isinstance(name, str) or not name:
        raise model.invalid("a secret needs a non-empty 'name'")
    kind = document.get("type", "secret_text")
    if kind != "secret_text":
        raise model.invalid("secret %r: type must be 'secret_text' (this emulator does not store secret_key)" % name)
    if not isinstance(document.get("text"), str):
        raise model.invalid("secret %r needs a string 'text'" % name)
    return {"name": name, "type": "secret_text", "text": document["text"]}


def _put(script, binding):
    for index, existing in enumerate(script.bindings):
        if existing["name"] == binding["name"]:
            if existing["type"] not in model.SECRET_TYPES:
                raise ApiError(400, model.BINDING_NAME_IN_USE,
                               "Binding name '%s' already in use. Please use a different name and try again." % binding["name"])
            script.bindings[index] = binding
            return
    script.bindings.append(binding)


def _save(db, script):
    """A secret change is a new version of the latest one, deployed at once (Cloudflare's 10215 otherwise)."""
    model.save_script(db, script)
    versions.version_and_deploy(db, script, model.load_modules(db, script), "secret")


def _secret_not_found(name):
    # The live message (workers-sdk#12812): "Binding 'MY_SECRET' not found. [code: 10056]".
    return ApiError(404, model.SECRET_NOT_FOUND, "Binding '%s' not found." % name)


def list_secrets(req):
    with req.store.read() as db:
        return ok(model.secrets_of(model.load_script(db, req.account_id, req.params["script_name"])))


def put_secret(req):
    binding = _secret_binding(req.json_object(model.UNPARSEABLE_BODY))
    with req.store.write() as db:
        script = model.load_script(db, req.account_id, req.params["script_name"])
        versions.require_latest_deployed(db, script)
        _put(script, binding)
        _save(db, script)
    hooks.publish("deployments")
    return ok(model.public_binding(binding))


def get_secret(req):
    name = req.params["secret_name"]
    with req.store.read() as db:
        script = model.load_script(db, req.account_id, req.params["script_name"])
    for secret in model.secrets_of(script):
        if secret["name"] == name:
            return ok(secret)
    raise _secret_not_found(name)


def delete_secret(req):
    name = req.params["secret_name"]
    with req.store.write() as db:
        script = model.load_script(db, req.account_id, req.params["script_name"])
        kept = [b for b in script.bindings if not (b["name"] == name and b["type"] in model.SECRET_TYPES)]
        if len(kept) == len(script.bindings):
            raise _secret_not_found(name)
        versions.require_latest_deployed(db, script)
        script.bindings = kept
        _save(db, script)
    hooks.publish("deployments")
    return ok(None)


def bulk_update_secrets(req):
    """JSON merge patch of ``{"secrets": {name: secret or null}}``: null deletes, omitted stays."""
    document = req.json_object(model.UNPARSEABLE_BODY)
    secrets = document.get("secrets", {})
    if not isinstance(secrets, dict):
        raise model.invalid("'secrets' must be an object mapping names to secrets (or null to delete)")
    updates = {name: None if value is None else _secret_binding(value, name) for name, value in secrets.items()}
    with req.store.write() as db:
        script = model.load_script(db, req.account_id, req.params["script_name"])
        versions.require_latest_deployed(db, script)
        for name, binding in updates.items():
            if binding is None:
                script.bindings = [b for b in script.bindings if not (b["name"] == name and b["type"] in model.SECRET_TYPES)]
            else:
                _put(script, binding)
        _save(db, script)
    hooks.publish("deployments")
    return ok({secret["name"]: secret for secret in model.secrets_of(script)})


BASE = "/accounts/{account_id}/workers/scripts/{script_name}"
ROUTES = [
    Route("GET", BASE + "/secrets", list_secrets),
    Route("PUT", BASE + "/secrets", put_secret),
    Route("GET", BASE + "/secrets/{secret_name}", get_secret),
    Route("DELETE", BASE + "/secrets/{secret_name}", delete_secret),
    Route("PATCH", BASE + "/secrets-bulk", bulk_update_secrets),
]
