"""The schema check itself: a green run must mean the traffic really matched the schema."""
import json

import httpx
import pytest

from tests.emulator.schema import SPEC_DIR, SchemaValidator, SchemaViolation, ValidatingTransport, load_spec

BASE = "http://127.0.0.1:8791/client/v4"
ACCOUNT = "023e105f4ecef8ad9ca31a8372d0c353"
AUTH = {"Authorization": "Bearer token"}


@pytest.fixture(scope="module")
def offline_validator():
    return SchemaValidator(BASE)


def client(validator, status, body, content_type="application/json", check_requests=True):
    def answer(request):
        return httpx.Response(status, content=json.dumps(body).encode() if not isinstance(body, bytes) else body,
                              headers={"Content-Type": content_type})
    return httpx.Client(base_url=BASE, headers=AUTH, trust_env=False,
                        transport=ValidatingTransport(validator, check_requests=check_requests, inner=httpx.MockTransport(answer)))


def ok(result, **extra):
    return dict({"success": True, "errors": [], "messages": [], "result": result}, **extra)


def test_the_supplement_only_adds_paths_and_every_patch_names_its_source():
    spec = load_spec()
    supplement = json.loads((SPEC_DIR / "supplement.json").read_text())
    assert supplement["x-json-patch"] and all(op.get("x-cfops-source") for op in supplement["x-json-patch"])
    assert all(item[method].get("x-cfops-source") for item in supplement["paths"].values() for method in item)
    assert "/accounts/{account_id}/workers/scripts/{script_name}/secrets" in spec["paths"]


def test_a_response_that_breaks_the_schema_is_caught(offline_validator):
    bad_settings = ok({"bindings": [{"type": "kv_namespace", "name": "CACHE"}]})  # namespace_id missing
    with client(offline_validator, 200, bad_settings) as http:
        with pytest.raises(SchemaViolation, match="settings"):
            http.get("/accounts/%s/workers/scripts/w/settings" % ACCOUNT)
    offline_validator.errors.clear()


def test_a_request_that_breaks_the_schema_is_caught(offline_validator):
    with client(offline_validator, 200, ok({"id": "x", "title": "t"})) as http:
        with pytest.raises(SchemaViolation):
            http.post("/accounts/%s/storage/kv/namespaces" % ACCOUNT, json={"title": 5})
        with pytest.raises(SchemaViolation):  # no token
            http.get("/accounts", headers={"Authorization": ""})
    offline_validator.errors.clear()


def test_a_bad_multipart_metadata_part_is_caught(offline_validator):
    metadata = {"main_module": "index.js", "usage_model": "free-for-all"}
    files = [("metadata", (None, json.dumps(metadata), "application/json")),
             ("index.js", ("index.js", b"export default {}", "application/javascript+module"))]
    with client(offline_validator, 200, ok({"id": "w"})) as http:
        with pytest.raises(SchemaViolation, match="usage_model|free-for-all"):
            http.put("/accounts/%s/workers/scripts/w" % ACCOUNT, files=files)
    offline_validator.errors.clear()


def test_an_error_must_be_a_failure_envelope(offline_validator):
    with client(offline_validator, 503, {"success": True, "errors": [], "messages": [], "result": None}) as http:
        with pytest.raises(SchemaViolation, match="success: false"):
            http.get("/accounts")
    with client(offline_validator, 404, b"not json", content_type="text/plain", check_requests=False) as http:
        with pytest.raises(SchemaViolation, match="not JSON"):
            http.get("/accounts/%s/unknown" % ACCOUNT)
    offline_validator.errors.clear()
