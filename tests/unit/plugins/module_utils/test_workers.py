"""Workers comparisons and payload builders: what counts as a change, what an upload carries."""
import json

import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._workers import (
    FINGERPRINT_BINDING,
    check_bindings,
    current_modules,
    desired_bindings,
    load_modules,
    plan_script,
    resolve_kv_bindings,
    sha256_hex,
    upload_files,
    upload_metadata,
    validate_compatibility_date,
    validate_script_name,
)

INDEX = b"import { route } from './lib/http.js';\nexport default { fetch: route };\n"
HTTP = b"export function route() { return new Response('ok'); }\n"
KV = {"type": "kv_namespace", "name": "CACHE", "namespace_id": "ns1"}


@pytest.fixture
def code(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "index.js").write_bytes(INDEX)
    (tmp_path / "lib" / "http.js").write_bytes(HTTP)
    return tmp_path


def desired(modules=None, bindings=None, secrets=None, flags=None, date="2024-09-23"):
    modules = modules or [{"name": "index.js", "content": INDEX, "content_type": "application/javascript+module"}]
    return {"main_module": modules[0]["name"], "modules": modules, "compatibility_date": date,
            "compatibility_flags": flags or [], "bindings": bindings if bindings is not None else [KV], "secrets": secrets or {}}


def current(modules=None, bindings=None, flags=None, date="2024-09-23"):
    return {"modules": modules or {"index.js": sha256_hex(INDEX)}, "compatibility_date": date,
            "compatibility_flags": flags or [], "bindings": bindings if bindings is not None else [KV]}


# --- input checks ---

@pytest.mark.parametrize("name", ["books-api", "a", "_x", "a_b-c9", "a" * 63])
def test_valid_script_names(name):
    validate_script_name(name)


@pytest.mark.parametrize("name", ["", "Books_API!", "-lead", "has space", "a" * 64, "UPPER"])
def test_invalid_script_names(name):
    with pytest.raises(InvalidInputError, match="is not a valid Worker name"):
        validate_script_name(name)


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01", "2024-9-1", "2024-02-30"])
def test_invalid_compatibility_dates(value):
    with pytest.raises(InvalidInputError, match="must be a date like"):
        validate_compatibility_date(value)


def test_modules_are_named_relative_to_the_main_module(code):
    modules = load_modules(str(code / "index.js"), [str(code / "lib" / "http.js")])
    assert [(m["name"], m["content_type"]) for m in modules] == [
        ("index.js", "application/javascript+module"), ("lib/http.js", "application/javascript+module")]
    assert modules[1]["content"] == HTTP


def test_missing_code_files_are_named(code):
    with pytest.raises(InvalidInputError, match="code file\\(s\\) not found: /nope/index.js, /nope/x.js"):
        load_modules("/nope/index.js", ["/nope/x.js"])


def test_a_module_outside_the_main_directory_is_refused(code, tmp_path_factory):
    outside = tmp_path_factory.mktemp("other") / "x.js"
    outside.write_text("export {}")
    with pytest.raises(InvalidInputError, match="outside the main module's directory"):
        load_modules(str(code / "index.js"), [str(outside)])


def test_an_unsupported_extension_is_refused(code):
    (code / "style.css").write_text("a{}")
    with pytest.raises(InvalidInputError, match="style.css has an unsupported extension"):
        load_modules(str(code / "index.js"), [str(code / "style.css")])


def test_content_types_by_extension(code):
    for name in ("a.wasm", "b.txt", "c.bin", "d.map", "e.mjs"):
        (code / name).write_bytes(b"x")
    modules = load_modules(str(code / "index.js"), [str(code / n) for n in ("a.wasm", "b.txt", "c.bin", "d.map", "e.mjs")])
    assert [m["content_type"] for m in modules[1:]] == [
        "application/wasm", "text/plain", "application/octet-stream", "application/source-map", "application/javascript+module"]


def test_binding_names_must_be_unique_and_secrets_non_empty():
    with pytest.raises(InvalidInputError, match="binding name CACHE is used twice \\(in kv_namespaces and text_vars\\)"):
        check_bindings([{"binding": "CACHE", "title": "t"}], {"CACHE": "x"}, {}, {})
    with pytest.raises(InvalidInputError, match="secret\\(s\\) without a value: A, B"):
        check_bindings([], {}, {}, {"B": "", "A": None, "C": "ok"})
    with pytest.raises(InvalidInputError, match="text_vars.FLAG must be a string"):
        check_bindings([], {"FLAG": True}, {}, {})


def test_kv_namespaces_resolve_by_id_or_title_and_unknown_ones_are_named():
    namespaces = [{"id": "ns1", "title": "cache"}, {"id": "ns2", "title": "other"}]
    bindings = resolve_kv_bindings([{"binding": "A", "title": "cache"}, {"binding": "B", "namespace_id": "ns2"}], namespaces, "acc")
    assert bindings == [{"type": "kv_namespace", "name": "A", "namespace_id": "ns1"},
                        {"type": "kv_namespace", "name": "B", "namespace_id": "ns2"}]
    with pytest.raises(InvalidInputError, match="'0123' does not exist in account acc"):
        resolve_kv_bindings([{"binding": "A", "namespace_id": "0123"}], namespaces, "acc")
    with pytest.raises(InvalidInputError, match="no KV namespace titled 'gone'"):
        resolve_kv_bindings([{"binding": "A", "title": "gone"}], namespaces, "acc")


def test_desired_bindings_types():
    bindings, secrets = desired_bindings([KV], {"PORT": 8080, "ENV": "prod"}, {"LIMITS": {"a": [1]}}, {"API_KEY": "s"})
    assert bindings == [KV, {"type": "plain_text", "name": "ENV", "text": "prod"},
                        {"type": "plain_text", "name": "PORT", "text": "8080"},
                        {"type": "json", "name": "LIMITS", "json": {"a": [1]}}]
    assert secrets == {"API_KEY": "s"}


# --- the plan ---

def test_a_missing_script_is_created_with_every_secret():
    plan = plan_script(None, desired(secrets={"API_KEY": "s"}))
    assert plan["changed"] and plan["differences"] == ["script"]
    assert {"type": "secret_text", "name": "API_KEY", "text": "s"} in plan["upload_bindings"]
    assert plan["before"] is None


def test_an_identical_script_is_unchanged_whatever_the_order():
    state = current(bindings=[{"type": "plain_text", "name": "B", "text": "2"}, KV, {"type": "plain_text", "name": "A", "text": "1"}],
                    flags=["b", "a"])
    want = desired(bindings=[{"name": "A", "text": "1", "type": "plain_text"}, KV, {"type": "plain_text", "name": "B", "text": "2"}],
                   flags=["a", "b"])
    plan = plan_script(state, want)
    assert not plan["changed"], plan["differences"]
    assert plan["before"] == plan["after"]


@pytest.mark.parametrize("change, difference", [
    (lambda d: d["modules"][0].update(content=b"export default {}"), "modules"),
    (lambda d: d["modules"].append({"name": "x.txt", "content": b"x", "content_type": "text/plain"}), "modules"),
    (lambda d: d.update(compatibility_date="2025-01-01"), "compatibility_date"),
    (lambda d: d.update(compatibility_flags=["nodejs_compat"]), "compatibility_flags"),
    (lambda d: d.update(bindings=[dict(KV, namespace_id="ns9")]), "bindings"),
    (lambda d: d.update(bindings=[]), "bindings"),
    (lambda d: d["bindings"].append({"type": "json", "name": "J", "json": {"a": 1}}), "bindings"),
])
def test_each_difference_is_detected(change, difference):
    want = desired()
    change(want)
    plan = plan_script(current(), want)
    assert plan["differences"] == [difference]


def test_json_bindings_compare_by_value_not_key_order():
    state = current(bindings=[KV, {"type": "json", "name": "J", "json": {"a": 1, "b": [1, 2]}}])
    want = desired(bindings=[KV, {"type": "json", "name": "J", "json": {"b": [1, 2], "a": 1}}])
    assert not plan_script(state, want)["changed"]


def test_existing_secrets_are_unchanged_on_create_and_rewritten_always():
    state = current(bindings=[KV, {"type": "secret_text", "name": "API_KEY"}])
    on_create = plan_script(state, desired(secrets={"API_KEY": "new"}), "on_create")
    assert not on_create["changed"]
    always = plan_script(state, desired(secrets={"API_KEY": "new"}), "always")
    assert always["differences"] == ["secrets"]
    assert {"type": "secret_text", "name": "API_KEY", "text": "new"} in always["upload_bindings"]


def test_a_new_secret_is_sent_alone_and_kept_secrets_stay():
    state = current(bindings=[KV, {"type": "secret_text", "name": "OLD"}])
    plan = plan_script(state, desired(secrets={"NEW": "n"}))
    assert plan["differences"] == ["secrets"]
    assert [b for b in plan["upload_bindings"] if b["type"] == "secret_text"] == [{"type": "secret_text", "name": "NEW", "text": "n"}]
    assert [b["name"] for b in plan["after"]["bindings"] if b["type"] == "secret_text"] == ["NEW", "OLD"]


def test_secrets_set_elsewhere_are_ignored_when_kept_and_removed_when_not():
    state = current(bindings=[KV, {"type": "secret_text", "name": "FROM_WORKER_SECRET"}])
    assert not plan_script(state, desired(), keep_secrets=True)["changed"]
    plan = plan_script(state, desired(secrets={"A": "a"}), keep_secrets=False)
    assert plan["differences"] == ["secrets"]
    assert [b["name"] for b in plan["after"]["bindings"] if b["type"] == "secret_text"] == ["A"]


def test_without_keep_secrets_every_upload_carries_all_secret_values():
    state = current(bindings=[KV, {"type": "secret_text", "name": "A"}])
    want = desired(secrets={"A": "a"})
    want["modules"][0]["content"] = b"changed"
    plan = plan_script(state, want, keep_secrets=False)
    assert plan["differences"] == ["modules"]
    assert {"type": "secret_text", "name": "A", "text": "a"} in plan["upload_bindings"]


def test_the_summaries_never_hold_secret_values_or_code():
    plan = plan_script(current(bindings=[KV, {"type": "secret_text", "name": "S", "text": "leak"}]),
                       desired(secrets={"S": "value-1", "T": "value-2"}), "always")
    shown = json.dumps([plan["before"], plan["after"]])
    for secret in ("leak", "value-1", "value-2", INDEX.decode()):
        assert secret not in shown
    assert plan["after"]["modules"] == [{"name": "index.js", "sha256": sha256_hex(INDEX)}]


def test_upload_metadata_and_parts():
    want = desired()
    metadata = upload_metadata(want, [KV], keep_bindings=["secret_text", "secret_key", "version_metadata"],
                               message="release 1", tag="1")
    assert metadata == {"main_module": "index.js", "compatibility_date": "2024-09-23", "compatibility_flags": [],
                        "bindings": [KV], "keep_bindings": ["secret_text", "secret_key", "version_metadata"],
                        "annotations": {"workers/message": "release 1", "workers/tag": "1"}}
    assert "keep_bindings" not in upload_metadata(want, [KV]) and "annotations" not in upload_metadata(want, [KV])
    files = upload_files(metadata, want["modules"])
    assert files[0][0] == "metadata" and json.loads(files[0][1][1]) == metadata
    assert files[1] == ("index.js", ("index.js", INDEX, "application/javascript+module"))


# --- bindings compare field by field: what the API adds is not a change ---

D1_SENT = {"type": "d1", "name": "DB", "id": "db-uuid"}
DO_SENT = {"type": "durable_object_namespace", "name": "ROOMS", "class_name": "Room"}


@pytest.mark.parametrize("shown", [
    dict(D1_SENT, database_id="db-uuid"),                               # the emulator: both fields
    {"type": "d1", "name": "DB", "database_id": "db-uuid"},             # the SDK's settings type: only database_id
    dict(DO_SENT, namespace_id="0f2ac74b498b48028cb68387c421e279"),     # Terraform: namespace_id is computed
    dict(DO_SENT, namespace_id="0f2a", script_name="chat", environment="production"),
])
def test_server_filled_fields_are_not_a_difference(shown):
    sent = D1_SENT if shown["type"] == "d1" else DO_SENT
    plan = plan_script(current(bindings=[KV, shown]), desired(bindings=[KV, sent]))
    assert not plan["changed"], plan["differences"]
    assert plan["before"] == plan["after"]          # the diff shows no change either


@pytest.mark.parametrize("shown", [
    {"type": "d1", "name": "DB", "database_id": "other-uuid"},
    {"type": "d1", "name": "DB", "id": "other-uuid", "database_id": "other-uuid"},
    dict(DO_SENT, class_name="Other", namespace_id="x"),
    {"type": "r2_bucket", "name": "DB", "bucket_name": "db-uuid"},
])
def test_a_sent_field_that_differs_is_a_difference(shown):
    sent = D1_SENT if shown.get("class_name") is None else DO_SENT
    assert plan_script(current(bindings=[KV, shown]), desired(bindings=[KV, sent]))["differences"] == ["bindings"]


def test_a_binding_only_the_server_has_is_a_difference():
    assert plan_script(current(bindings=[KV, dict(D1_SENT, database_id="db-uuid")]), desired())["differences"] == ["bindings"]


def test_a_version_metadata_binding_is_kept_unless_the_module_sets_one():
    shown = {"type": "version_metadata", "name": "CF_VERSION_METADATA"}
    kept = plan_script(current(bindings=[KV, shown]), desired())
    assert not kept["changed"] and "version_metadata" in kept["keep_bindings"]
    assert shown in kept["after"]["bindings"]
    own = plan_script(current(bindings=[KV, shown]), desired(bindings=[KV, shown]))
    assert not own["changed"] and "version_metadata" not in own["keep_bindings"]
    renamed = plan_script(current(bindings=[KV, shown]), desired(bindings=[KV, dict(shown, name="VERSION")]))
    assert renamed["differences"] == ["bindings"]


# --- the release fingerprint marker ---

def marker(text):
    return {"type": "plain_text", "name": FINGERPRINT_BINDING, "text": text}


def test_the_fingerprint_marker_is_compared_and_uploaded():
    same = plan_script(current(bindings=[KV, marker("f1")]), desired(), fingerprint="f1")
    assert not same["changed"]
    missing = plan_script(current(), desired(), fingerprint="f1")       # a Worker uploaded by 1.1
    assert missing["differences"] == ["fingerprint"]
    assert marker("f1") in missing["upload_bindings"]


def test_a_rotated_secret_changes_the_fingerprint_and_the_upload_carries_every_secret():
    state = current(bindings=[KV, marker("before"), {"type": "secret_text", "name": "A"}, {"type": "secret_text", "name": "B"}])
    plan = plan_script(state, desired(secrets={"A": "rotated", "B": "same"}), "on_create", fingerprint="after")
    assert plan["differences"] == ["fingerprint"]
    assert [b for b in plan["upload_bindings"] if b["type"] == "secret_text"] == [
        {"type": "secret_text", "name": "A", "text": "rotated"}, {"type": "secret_text", "name": "B", "text": "same"}]
    assert "rotated" not in json.dumps([plan["before"], plan["after"]])


def test_current_modules_from_multipart_parts():
    parts = [{"name": "index.js", "filename": "index.js", "content": INDEX}, {"name": "lib/http.js", "filename": None, "content": HTTP}]
    assert current_modules(parts) == {"index.js": sha256_hex(INDEX), "lib/http.js": sha256_hex(HTTP)}
