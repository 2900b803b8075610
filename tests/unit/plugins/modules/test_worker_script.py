"""worker_script against a real local HTTP server: the shapes Cloudflare's settings answer plausibly
takes for server-filled binding fields, and refusals with codes the module does not know."""
import hashlib
import json

import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils._workers import FINGERPRINT_BINDING
from ansible_collections.cfops.cloudflare.plugins.modules import worker_script
from ansible_collections.cfops.cloudflare.tests.unit.plugins.modules.module_runner import ACCOUNT_ID, run_module
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply, envelope, failure
from emulator import multipart

SCRIPT = "books-api"
BASE = "/client/v4/accounts/%s/workers/scripts" % ACCOUNT_ID
CODE = b"export class Room {}\nexport default { fetch() { return new Response('ok'); } };\n"
DB = "5e1f2a3b-4c5d-6e7f-8091-a2b3c4d5e6f7"


class FakeScript:
    """``fill`` turns an uploaded binding into what the settings answer shows; ``refusal`` answers the upload."""

    def __init__(self, fill, refusal=None):
        self.fill = fill
        self.refusal = refusal
        self.bindings = None
        self.modules = []
        self.uploads = []

    def __call__(self, request):
        if request.path == BASE and request.method == "GET":
            # "rooms" holds the Durable Object class bound: binding targets are checked before the upload.
            return Reply(200, envelope([{"id": "rooms"}] + ([{"id": SCRIPT, "etag": "e1"}] if self.bindings is not None else [])))
        if request.path.startswith("/client/v4/accounts/%s/d1/database/" % ACCOUNT_ID) and request.method == "GET":
            return Reply(200, envelope({"uuid": request.path.rsplit("/", 1)[1], "name": "books"}))
        if request.path == BASE + "/" + SCRIPT and request.method == "PUT":
            parts = multipart.parse(request.body, request.headers["Content-Type"])
            metadata = json.loads(next(p for p in parts if p.name == "metadata").data)
            self.uploads.append(metadata)
            if self.refusal is not None:
                return self.refusal
            self.bindings = [self.fill(dict(b)) for b in metadata["bindings"]]
            self.modules = [(p.filename, p.data, p.content_type) for p in parts if p.name != "metadata"]
            return Reply(200, envelope({"id": SCRIPT, "etag": "e1", "modified_on": "2025-01-15T10:00:00Z"}))
        if request.path == BASE + "/%s/settings" % SCRIPT:
            if self.bindings is None:
                return failure(404, (10007, "This Worker does not exist on your account."))
            shown = [{k: v for k, v in b.items() if not (b["type"] == "secret_text" and k == "text")} for b in self.bindings]
            return Reply(200, envelope({"bindings": shown, "compatibility_date": "2025-01-15", "compatibility_flags": []}))
        if request.path == BASE + "/%s/content/v2" % SCRIPT:
            body, content_type = multipart.build((name, name, kind, data) for name, data, kind in self.modules)
            return Reply(200, raw=body, headers={"Content-Type": content_type, "CF-Entrypoint": "index.js"})
        return failure(404, (7003, "No route for that URI"))


def d1_and_do(binding, d1_fields, do_fields):
    if binding["type"] == "d1":
        identifier = binding.pop("id")
        binding.update({field: identifier for field in d1_fields})
    if binding["type"] == "durable_object_namespace":
        binding.update(do_fields)
    return binding


@pytest.fixture
def code(tmp_path):
    path = tmp_path / "index.js"
    path.write_bytes(CODE)
    return str(path)


def run(capsys, server, code, **args):
    options = dict(name=SCRIPT, main_module=code, compatibility_date="2025-01-15",
                   d1_databases=[{"binding": "DB", "database_id": DB}],
                   durable_objects=[{"binding": "ROOMS", "class_name": "Room", "script_name": "rooms"}])
    options.update(args)
    return run_module(worker_script.main, capsys, server, **options)


@pytest.mark.parametrize("d1_fields, do_fields", [
    (("id", "database_id"), {"namespace_id": "0f2ac74b498b48028cb68387c421e279"}),   # the emulator's answer
    (("database_id",), {"namespace_id": "0f2ac74b498b48028cb68387c421e279"}),        # the SDK settings type only
    (("id",), {}),                                                                   # nothing filled in
    (("database_id",), {"namespace_id": "x", "environment": "production"}),          # more server fields
], ids=["id-and-database_id", "database_id-only", "as-sent", "extra-fields"])
def test_a_d1_and_durable_object_bound_worker_is_unchanged_on_the_second_run(server, capsys, code, d1_fields, do_fields):
    api = FakeScript(lambda b: d1_and_do(b, d1_fields, do_fields))
    server.handler = api
    failed, first = run(capsys, server, code)
    assert not failed and first["changed"], first
    [upload] = api.uploads
    assert {"type": "d1", "name": "DB", "id": DB} in upload["bindings"]          # as wrangler and Terraform send it
    assert {"type": "durable_object_namespace", "name": "ROOMS", "class_name": "Room", "script_name": "rooms"} in upload["bindings"]
    server.requests.clear()
    failed, second = run(capsys, server, code, _ansible_diff=True)
    assert not failed and not second["changed"], second["differences"]
    assert [r.method for r in server.requests if r.method != "GET"] == [] and second["api_calls"]["writes"] == 0
    assert second["diff"]["before"]["bindings"] == second["diff"]["after"]["bindings"]


def test_a_changed_database_is_a_change_whichever_field_shows_it(server, capsys, code):
    api = FakeScript(lambda b: d1_and_do(b, ("database_id",), {}))
    server.handler = api
    run(capsys, server, code)
    failed, result = run(capsys, server, code, d1_databases=[{"binding": "DB", "database_id": "another-db"}])
    assert not failed and result["changed"] and result["differences"] == ["bindings"]


@pytest.mark.parametrize("status, code_", [(400, 10021), (400, 10074), (400, 10061), (409, 12345)])
def test_a_refused_upload_fails_with_cloudflares_message_and_code(server, capsys, code, status, code_):
    server.handler = FakeScript(lambda b: b, refusal=failure(status, (code_, "Cloudflare says no")))
    failed, result = run(capsys, server, code)
    assert failed and "failed with HTTP %d: [%d] Cloudflare says no" % (status, code_) in result["msg"], result
    assert result["errors"] == [{"code": code_, "message": "Cloudflare says no"}]


def test_the_upload_carries_the_fingerprint_annotations_and_keeps_version_metadata(server, capsys, code):
    api = FakeScript(lambda b: b)
    server.handler = api
    failed, result = run(capsys, server, code, version_message="release 1", tag="1", secrets={"API_KEY": "s"})
    assert not failed
    [upload] = api.uploads
    assert upload["annotations"] == {"workers/message": "release 1", "workers/tag": "1"}
    assert {"type": "plain_text", "name": FINGERPRINT_BINDING, "text": result["script"]["fingerprint"]} in upload["bindings"]
    assert {"type": "secret_text", "name": "API_KEY", "text": "s"} in upload["bindings"]
    assert upload["keep_bindings"] == ["secret_text", "secret_key", "version_metadata"]
    assert len(result["script"]["fingerprint"]) == len(hashlib.sha256().hexdigest())
