"""Workers scripts: upload validation, content, settings, secrets, keep_bindings, delete."""
import email.parser
import email.policy
import json
import uuid

import httpx
import pytest

from tests.emulator.helpers import MODULE, create_namespace, error_codes, upload_parts, upload_script


def script_path(account_id, name="my-worker", *rest):
    return "/accounts/%s/workers/scripts/%s%s" % (account_id, name, "".join("/" + part for part in rest))


def parse_multipart(response):
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + response.headers["content-type"].encode() + b"\r\n\r\n" + response.content)
    return {part.get_filename(): (part.get_content_type(), part.get_payload(decode=True)) for part in message.iter_parts()}


@pytest.fixture
def kv_id(api, account_id):
    return create_namespace(api, account_id, "worker-cache")


def full_metadata(kv_id):
    return {
        "main_module": "index.js",
        "compatibility_date": "2024-09-23",
        "compatibility_flags": ["nodejs_compat"],
        "usage_model": "bundled",
        "logpush": True,
        "tags": ["team:books"],
        "observability": {"enabled": True},
        "bindings": [
            {"type": "kv_namespace", "name": "CACHE", "namespace_id": kv_id},
            {"type": "plain_text", "name": "ENVIRONMENT", "text": "local"},
            {"type": "json", "name": "CONFIG", "json": {"retries": 3}},
            {"type": "secret_text", "name": "UPLOADED_SECRET", "text": "uploaded-secret-value"},
        ],
    }


# Upload and read back -----------------------------------------------------------------------------------

def test_upload_returns_the_script_object(api, account_id, kv_id):
    response = upload_script(api, account_id, "my-worker", full_metadata(kv_id), modules=[
        ("index.js", MODULE, "application/javascript+module"),
        ("lib/util.js", b"export const x = 1;\n", "application/javascript+module"),
        ("data.txt", b"some text", "text/plain"),
        ("add.wasm", b"\x00asm\x01\x00\x00\x00", "application/wasm"),
    ])
    assert response.status_code == 200, response.text
    script = response.json()["result"]
    assert script["id"] == "my-worker"
    assert len(script["etag"]) == 64
    assert script["handlers"] == ["fetch"] and script["has_modules"] is True
    assert script["compatibility_date"] == "2024-09-23" and script["compatibility_flags"] == ["nodejs_compat"]
    assert script["usage_model"] == "bundled" and script["created_on"] == script["modified_on"]
    listed = api.get("/accounts/%s/workers/scripts" % account_id).json()["result"]
    assert [item["id"] for item in listed] == ["my-worker"] and listed[0]["etag"] == script["etag"]


def test_content_comes_back_as_multipart_with_the_entry_point(api, account_id):
    modules = [("index.js", MODULE, "application/javascript+module"), ("add.wasm", b"\x00asm\x01\x00\x00\x00\r\n", "application/wasm")]
    upload_script(api, account_id, "my-worker", modules=modules)
    for path in (script_path(account_id), script_path(account_id, "my-worker", "content", "v2")):
        response = api.get(path)
        assert response.status_code == 200
        assert response.headers["CF-Entrypoint"] == "index.js"
        assert parse_multipart(response) == {name: (content_type, content) for name, content, content_type in modules}


def test_put_content_replaces_code_and_keeps_settings(api, account_id, kv_id):
    upload_script(api, account_id, "my-worker", full_metadata(kv_id))
    before = api.get(script_path(account_id, "my-worker", "settings")).json()["result"]
    new_code = b"export default { fetch() { return new Response('v2'); } };\n"
    response = api.put(script_path(account_id, "my-worker", "content"),
                       files=upload_parts({"main_module": "main.js"}, [("main.js", new_code, "application/javascript+module")]))
    assert response.status_code == 200, response.text
    content = api.get(script_path(account_id, "my-worker", "content", "v2"))
    assert content.headers["CF-Entrypoint"] == "main.js"
    assert parse_multipart(content) == {"main.js": ("application/javascript+module", new_code)}
    assert api.get(script_path(account_id, "my-worker", "settings")).json()["result"] == before


def test_settings_show_bindings_without_secret_text(api, account_id, kv_id):
    upload_script(api, account_id, "my-worker", full_metadata(kv_id))
    settings = api.get(script_path(account_id, "my-worker", "settings")).json()["result"]
    assert settings["bindings"] == [
        {"type": "kv_namespace", "name": "CACHE", "namespace_id": kv_id},
        {"type": "plain_text", "name": "ENVIRONMENT", "text": "local"},
        {"type": "json", "name": "CONFIG", "json": {"retries": 3}},
        {"name": "UPLOADED_SECRET", "type": "secret_text"},
    ]
    assert settings["compatibility_date"] == "2024-09-23" and settings["compatibility_flags"] == ["nodejs_compat"]
    assert settings["logpush"] is True and settings["tags"] == ["team:books"]
    assert settings["observability"] == {"enabled": True}
    assert settings["usage_model"] == "bundled" and "placement" not in settings and settings["tail_consumers"] == []


def test_patch_settings_merges(api, account_id, kv_id):
    upload_script(api, account_id, "my-worker", full_metadata(kv_id))
    patch = {"compatibility_date": "2024-10-01", "tail_consumers": [{"service": "tail-worker"}]}
    response = api.patch(script_path(account_id, "my-worker", "settings"),
                         files={"settings": (None, json.dumps(patch), "application/json")})
    assert response.status_code == 200, response.text
    settings = response.json()["result"]
    assert settings["compatibility_date"] == "2024-10-01" and settings["tail_consumers"] == [{"service": "tail-worker"}]
    assert settings["logpush"] is True and len(settings["bindings"]) == 4
    # Echoing the bindings from GET (no secret text) keeps the secret; changing a plain_text changes it.
    bindings = settings["bindings"]
    bindings[1]["text"] = "staging"
    response = api.patch(script_path(account_id, "my-worker", "settings"),
                         files={"settings": (None, json.dumps({"bindings": bindings}), "application/json")})
    assert response.status_code == 200, response.text
    names = {b["name"]: b for b in api.get(script_path(account_id, "my-worker", "settings")).json()["result"]["bindings"]}
    assert names["ENVIRONMENT"]["text"] == "staging" and names["UPLOADED_SECRET"] == {"name": "UPLOADED_SECRET", "type": "secret_text"}


def test_script_settings_get_and_patch(api, account_id, kv_id):
    upload_script(api, account_id, "my-worker", full_metadata(kv_id))
    current = api.get(script_path(account_id, "my-worker", "script-settings")).json()["result"]
    assert current == {"logpush": True, "tail_consumers": [], "tags": ["team:books"], "observability": {"enabled": True}}
    patched = api.patch(script_path(account_id, "my-worker", "script-settings"), json={"logpush": False}).json()["result"]
    assert patched["logpush"] is False and patched["tags"] == ["team:books"]
    # Script-level settings survive an upload that does not name them.
    upload_script(api, account_id, "my-worker")
    assert api.get(script_path(account_id, "my-worker", "script-settings")).json()["result"]["tags"] == ["team:books"]


def test_upload_replaces_bindings_and_keep_bindings_keeps_secrets(api, account_id, kv_id):
    upload_script(api, account_id, "my-worker", full_metadata(kv_id))
    api.put(script_path(account_id, "my-worker", "secrets"), json={"name": "API_KEY", "text": "k-1", "type": "secret_text"})

    kept = {"main_module": "index.js", "keep_bindings": ["secret_text"],
            "bindings": [{"type": "plain_text", "name": "ENVIRONMENT", "text": "prod"}]}
    assert upload_script(api, account_id, "my-worker", kept).status_code == 200
    bindings = api.get(script_path(account_id, "my-worker", "settings")).json()["result"]["bindings"]
    assert {b["name"]: b["type"] for b in bindings} == {"ENVIRONMENT": "plain_text", "UPLOADED_SECRET": "secret_text",
                                                        "API_KEY": "secret_text"}
    assert [s["name"] for s in api.get(script_path(account_id, "my-worker", "secrets")).json()["result"]] == ["UPLOADED_SECRET", "API_KEY"]

    upload_script(api, account_id, "my-worker", {"main_module": "index.js"})
    assert api.get(script_path(account_id, "my-worker", "settings")).json()["result"]["bindings"] == []
    assert api.get(script_path(account_id, "my-worker", "secrets")).json()["result"] == []


def test_delete_removes_the_script_and_its_secrets(api, account_id):
    upload_script(api, account_id, "my-worker")
    api.put(script_path(account_id, "my-worker", "secrets"), json={"name": "API_KEY", "text": "k", "type": "secret_text"})
    assert api.delete(script_path(account_id, "my-worker"), params={"force": "true"}).status_code == 200
    assert api.get(script_path(account_id, "my-worker", "secrets")).status_code == 404
    upload_script(api, account_id, "my-worker")
    assert api.get(script_path(account_id, "my-worker", "secrets")).json()["result"] == []


# Upload validation -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["Books_API", "books.api", "-starts-with-dash", "x" * 64])
def test_invalid_script_names_are_400_code_10016(unchecked, account_id, name):
    response = upload_script(unchecked, account_id, name)
    assert response.status_code == 400
    assert error_codes(response) == [10016]
    assert response.json()["errors"][0]["message"].startswith("Invalid script name")


def test_a_63_character_name_is_fine(api, account_id):
    assert upload_script(api, account_id, "a" * 63).status_code == 200


@pytest.mark.parametrize("metadata,modules,message", [
    ({"main_module": "missing.js"}, None, "metadata.main_module 'missing.js' is not one of the uploaded parts (uploaded: index.js)"),
    ({}, None, "metadata must name the entry point"),
    ({"main_module": "data.txt"}, [("data.txt", b"x", "text/plain")], "must be JavaScript"),
    ({"main_module": "index.js"}, [("index.js", b"x", "image/png")], "unsupported content type 'image/png'"),
    ({"main_module": "index.js", "bindings": [{"type": "plain_text", "name": "A", "text": "1"},
                                              {"type": "plain_text", "name": "A", "text": "2"}]}, None, "Binding name 'A' is used more than once"),
    ({"main_module": "index.js", "bindings": [{"type": "plain_text", "name": "A"}]}, None, "needs a string 'text'"),
    ({"main_module": "index.js", "compatibility_date": "yesterday"}, None, "compatibility_date 'yesterday'"),
])
def test_invalid_uploads_are_400_code_10021(unchecked, account_id, metadata, modules, message):
    response = upload_script(unchecked, account_id, "my-worker", metadata, modules)
    assert response.status_code == 400, response.text
    assert error_codes(response) == [10021]
    assert message in response.json()["errors"][0]["message"]
    assert unchecked.get(script_path(account_id)).status_code == 404


def test_binding_to_an_unknown_kv_namespace_is_rejected(api, account_id):
    metadata = {"main_module": "index.js", "bindings": [{"type": "kv_namespace", "name": "CACHE", "namespace_id": "0123456789abcdef0123456789abcdef"}]}
    response = upload_script(api, account_id, "my-worker", metadata)
    assert response.status_code == 400
    # The live answer quoted in workers-sdk#14249.
    message = "KV namespace '0123456789abcdef0123456789abcdef' is not valid. Please verify the namespace_id in your configuration."
    assert response.json()["errors"] == [{"code": 10042, "message": message}]


def test_upload_needs_multipart_with_a_metadata_part(unchecked, account_id):
    not_multipart = unchecked.put(script_path(account_id), content=b"{}", headers={"Content-Type": "application/json"})
    assert not_multipart.status_code == 400 and error_codes(not_multipart) == [10001]
    no_metadata = unchecked.put(script_path(account_id), files=[("index.js", ("index.js", MODULE, "application/javascript+module"))])
    assert no_metadata.status_code == 400 and error_codes(no_metadata) == [10006]
    bad_json = unchecked.put(script_path(account_id), files=[("metadata", (None, "{nope", "application/json"))])
    assert bad_json.status_code == 400 and error_codes(bad_json) == [10006]


MISSING_SCRIPT_CALLS = [
    ("GET", ""), ("DELETE", ""), ("GET", "/content/v2"), ("GET", "/settings"), ("GET", "/script-settings"),
    ("PATCH", "/script-settings"), ("GET", "/secrets"), ("PUT", "/secrets"), ("GET", "/secrets/API_KEY"),
    ("DELETE", "/secrets/API_KEY"), ("PATCH", "/secrets-bulk"),
]


@pytest.mark.parametrize("method,suffix", MISSING_SCRIPT_CALLS, ids=["%s %s" % call for call in MISSING_SCRIPT_CALLS])
def test_every_call_on_a_missing_script_is_404_code_10007(api, account_id, method, suffix):
    body = {"PUT": {"name": "A", "text": "t", "type": "secret_text"}, "PATCH": {"secrets": {}} if "bulk" in suffix else {"logpush": True}}
    response = api.request(method, script_path(account_id, "no-such-worker") + suffix, json=body.get(method))
    assert response.status_code == 404
    assert response.json()["errors"] == [{"code": 10007, "message": "This Worker does not exist on your account."}]


# The Worker as a "service": what wrangler deploy and wrangler versions upload read first ------------------------

@pytest.fixture
def plain(fresh):
    """A client without schema validation, for the route the 2024 OpenAPI subset lacks."""
    with httpx.Client(base_url=fresh.base_url, headers={"Authorization": "Bearer " + fresh.token}, timeout=10,
                      trust_env=False) as client:
        yield client


def service_path(account_id, name):
    return "/accounts/%s/workers/services/%s" % (account_id, name)


def test_the_service_view_names_the_script_tag_and_last_deploy_source(api, plain, account_id):
    uploaded = upload_script(api, account_id, "my-worker").json()["result"]
    service = plain.get(service_path(account_id, "my-worker")).json()["result"]
    script = service["default_environment"]["script"]
    # wrangler deploy.ts reads default_environment.script.{tag, tags, last_deployed_from}.
    assert service["id"] == "my-worker" and service["default_environment"]["environment"] == "production"
    assert script["tag"] == uploaded["tag"] and len(script["tag"]) == 32
    assert script["tags"] == [] and script["last_deployed_from"] == "api"
    # The tag is the script's immutable id: kept by uploads, new for a script deleted and made again.
    upload_script(api, account_id, "my-worker")
    assert plain.get(service_path(account_id, "my-worker")).json()["result"]["default_environment"]["script"]["tag"] == script["tag"]
    api.delete(script_path(account_id))
    upload_script(api, account_id, "my-worker")
    assert plain.get(service_path(account_id, "my-worker")).json()["result"]["default_environment"]["script"]["tag"] != script["tag"]


def test_a_missing_service_is_10007_which_wrangler_takes_as_not_deployed_yet(plain, account_id):
    # wrangler's isWorkerNotFoundError: code 10007 (or 10090 for a legacy environment).
    response = plain.get(service_path(account_id, "no-such-worker"))
    assert response.status_code == 404
    assert response.json()["errors"] == [{"code": 10007, "message": "This Worker does not exist on your account."}]


# Secrets ---------------------------------------------------------------------------------------------------

def test_secret_put_list_get_delete(api, account_id):
    upload_script(api, account_id, "my-worker")
    put = api.put(script_path(account_id, "my-worker", "secrets"), json={"name": "API_KEY", "text": "v1", "type": "secret_text"})
    assert put.json()["result"] == {"name": "API_KEY", "type": "secret_text"}
    api.put(script_path(account_id, "my-worker", "secrets"), json={"name": "API_KEY", "text": "v2", "type": "secret_text"})
    assert api.get(script_path(account_id, "my-worker", "secrets")).json()["result"] == [{"name": "API_KEY", "type": "secret_text"}]
    assert api.get(script_path(account_id, "my-worker", "secrets", "API_KEY")).json()["result"] == {"name": "API_KEY", "type": "secret_text"}
    bindings = api.get(script_path(account_id, "my-worker", "settings")).json()["result"]["bindings"]
    assert bindings == [{"name": "API_KEY", "type": "secret_text"}]
    assert api.delete(script_path(account_id, "my-worker", "secrets", "API_KEY")).status_code == 200
    missing = api.get(script_path(account_id, "my-worker", "secrets", "API_KEY"))
    assert missing.status_code == 404
    assert missing.json()["errors"] == [{"code": 10056, "message": "Binding 'API_KEY' not found."}]   # workers-sdk#12812
    assert api.delete(script_path(account_id, "my-worker", "secrets", "API_KEY")).status_code == 404


def test_secret_changes_the_etag(api, account_id):
    first = upload_script(api, account_id, "my-worker").json()["result"]["etag"]
    api.put(script_path(account_id, "my-worker", "secrets"), json={"name": "API_KEY", "text": "v1", "type": "secret_text"})
    listed = api.get("/accounts/%s/workers/scripts" % account_id).json()["result"][0]
    assert listed["etag"] != first


def test_secrets_bulk_merge_patch(api, account_id):
    upload_script(api, account_id, "my-worker")
    api.put(script_path(account_id, "my-worker", "secrets"), json={"name": "OLD", "text": "o", "type": "secret_text"})
    body = {"secrets": {"OLD": None, "NEW": {"name": "NEW", "text": "n", "type": "secret_text"}}}
    result = api.patch(script_path(account_id, "my-worker", "secrets-bulk"), json=body).json()["result"]
    assert result == {"NEW": {"name": "NEW", "type": "secret_text"}}


def test_a_secret_cannot_take_a_plain_binding_name(api, account_id):
    upload_script(api, account_id, "my-worker", {"main_module": "index.js", "bindings": [{"type": "plain_text", "name": "ENVIRONMENT", "text": "x"}]})
    response = api.put(script_path(account_id, "my-worker", "secrets"), json={"name": "ENVIRONMENT", "text": "s", "type": "secret_text"})
    assert response.status_code == 400
    assert error_codes(response) == [10053]


def test_secret_values_are_never_returned_or_logged(fresh, api, account_id, kv_id):
    secret = "s3cret-" + uuid.uuid4().hex
    uploaded = "up-" + uuid.uuid4().hex
    metadata = full_metadata(kv_id)
    metadata["bindings"][-1]["text"] = uploaded
    bodies = [upload_script(api, account_id, "my-worker", metadata).content]
    bodies.append(api.put(script_path(account_id, "my-worker", "secrets"), json={"name": "API_KEY", "text": secret, "type": "secret_text"}).content)
    bodies.append(api.patch(script_path(account_id, "my-worker", "secrets-bulk"),
                            json={"secrets": {"BULK": {"name": "BULK", "text": secret + "-bulk", "type": "secret_text"}}}).content)
    for suffix in ("", "/content/v2", "/settings", "/script-settings", "/secrets", "/secrets/API_KEY", "/secrets/UPLOADED_SECRET"):
        bodies.append(api.get(script_path(account_id, "my-worker") + suffix).content)
    bodies.append(api.get("/accounts/%s/workers/scripts" % account_id).content)
    bodies.append(api.patch(script_path(account_id, "my-worker", "script-settings"), json={"logpush": False}).content)
    bodies.append(api.patch(script_path(account_id, "my-worker", "settings"),
                            files={"settings": (None, json.dumps({"logpush": True}), "application/json")}).content)
    bodies.append(upload_script(api, account_id, "my-worker", {"main_module": "index.js", "keep_bindings": ["secret_text"]}).content)
    for body in bodies:
        assert secret.encode() not in body and uploaded.encode() not in body
    with open(fresh.log_path, "rb") as log:
        text = log.read()
    assert secret.encode() not in text and uploaded.encode() not in text
