"""Workers versions, deployments and Durable Object migrations: the decisions made before any API call."""
import json

import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._workers import (
    FINGERPRINT_BINDING,
    check_bindings,
    check_deleted_classes_unbound,
    newest_first,
    pending_migrations,
    release_fingerprint,
    resource_binding_names,
    resource_bindings,
    rollback_target,
    secret_digest,
    sha256_hex,
    split_of,
    validate_migrations,
    validate_split,
    version_fingerprint_of,
    version_upload_metadata,
)

STEPS = [
    {"tag": "v1", "new_sqlite_classes": ["Counter"], "new_classes": [], "renamed_classes": [], "deleted_classes": [],
     "transferred_classes": []},
    {"tag": "v2", "new_classes": [], "new_sqlite_classes": [], "renamed_classes": [{"from": "Counter", "to": "Tally"}],
     "deleted_classes": [], "transferred_classes": []},
    {"tag": "v3", "new_classes": [], "new_sqlite_classes": [], "renamed_classes": [], "deleted_classes": ["Tally"],
     "transferred_classes": []},
]


# --- migrations ---

def test_no_current_tag_sends_every_step_without_old_tag():
    assert pending_migrations(STEPS, None) == {"new_tag": "v3", "steps": [
        {"new_sqlite_classes": ["Counter"]}, {"renamed_classes": [{"from": "Counter", "to": "Tally"}]},
        {"deleted_classes": ["Tally"]}]}


def test_only_the_steps_after_the_current_tag_are_sent():
    assert pending_migrations(STEPS, "v1") == {"old_tag": "v1", "new_tag": "v3", "steps": [
        {"renamed_classes": [{"from": "Counter", "to": "Tally"}]}, {"deleted_classes": ["Tally"]}]}


@pytest.mark.parametrize("steps, tag", [(STEPS, "v3"), ([], "v1"), ([], None)])
def test_nothing_is_sent_when_up_to_date(steps, tag):
    assert pending_migrations(steps, tag) is None


def test_a_current_tag_missing_from_the_steps_is_an_error_naming_it():
    with pytest.raises(InvalidInputError, match="current Durable Object migration tag is 'v9', which is not among .*v1, v2, v3"):
        pending_migrations(STEPS, "v9")


def test_duplicate_tags_are_refused():
    with pytest.raises(InvalidInputError, match="tag 'v1' is used by more than one step"):
        validate_migrations([STEPS[0], dict(STEPS[1], tag="v1")])


def test_deleting_a_class_this_upload_binds_is_refused_even_through_another_script():
    # Cloudflare matches the binding by class name alone (alchemy-run/alchemy#799; workers-sdk#8210's message).
    migrations = pending_migrations(STEPS, "v2")
    own = {"type": "durable_object_namespace", "name": "TALLY", "class_name": "Tally"}
    with pytest.raises(InvalidInputError, match="delete the Durable Object class Tally, but binding TALLY"):
        check_deleted_classes_unbound(migrations, [own], "chat")
    with pytest.raises(InvalidInputError, match="delete the Durable Object class Tally, but binding TALLY"):
        check_deleted_classes_unbound(migrations, [dict(own, script_name="other")], "chat")
    check_deleted_classes_unbound(migrations, [dict(own, class_name="Other")], "chat")
    check_deleted_classes_unbound(None, [own], "chat")


# --- bindings ---

PARAMS = {
    "durable_objects": [{"binding": "ROOMS", "class_name": "Room", "script_name": None},
                        {"binding": "EXT", "class_name": "Counter", "script_name": "counters"}],
    "queues": [{"binding": "JOBS", "queue_name": "jobs"}],
    "d1_databases": [{"binding": "DB", "database_id": "5e1f"}],
    "r2_buckets": [{"binding": "FILES", "bucket_name": "files"}],
    "services": [{"binding": "AUTH", "service": "auth", "environment": None}],
    "analytics_engine_datasets": [{"binding": "EVENTS", "dataset": "events"}],
}


def test_resource_bindings_use_the_api_field_names():
    assert resource_bindings(PARAMS) == [
        {"type": "durable_object_namespace", "name": "ROOMS", "class_name": "Room"},
        {"type": "durable_object_namespace", "name": "EXT", "class_name": "Counter", "script_name": "counters"},
        {"type": "queue", "name": "JOBS", "queue_name": "jobs"},
        {"type": "d1", "name": "DB", "id": "5e1f"},
        {"type": "r2_bucket", "name": "FILES", "bucket_name": "files"},
        {"type": "service", "name": "AUTH", "service": "auth"},
        {"type": "analytics_engine", "name": "EVENTS", "dataset": "events"},
    ]


def test_binding_names_are_unique_across_every_option():
    with pytest.raises(InvalidInputError, match="binding name DB is used twice \\(in text_vars and d1_databases\\)"):
        check_bindings([], {"DB": "x"}, {}, {}, other=resource_binding_names(PARAMS))


# --- versions and the release fingerprint ---

MODULE = {"name": "index.js", "content": b"export default {};", "content_type": "application/javascript+module"}
KEY = "digest-key"


def desired(**extra):
    document = {"main_module": "index.js", "modules": [MODULE], "compatibility_date": "2024-09-23",
                "compatibility_flags": ["a", "b"], "bindings": [{"type": "plain_text", "name": "X", "text": "1"}],
                "secrets": {"S": "value-1"}}
    document.update(extra)
    return document


def fingerprint(document=None, message="m", tag="t", key=KEY):
    return release_fingerprint(document or desired(), message, tag, key)


def test_the_fingerprint_ignores_order():
    reordered = desired(compatibility_flags=["b", "a"], bindings=list(reversed(desired()["bindings"])))
    assert fingerprint() == fingerprint(reordered)


@pytest.mark.parametrize("change", [
    {"compatibility_date": "2024-09-24"},
    {"bindings": [{"type": "plain_text", "name": "X", "text": "2"}]},
    {"bindings": [{"type": "plain_text", "name": "X", "text": "1"}, {"type": "version_metadata", "name": "CF_VERSION_METADATA"}]},
    {"secrets": {"S": "value-2"}},
    {"secrets": {"S": "value-1", "T": "value-1"}},
    {"modules": [dict(MODULE, content=b"x")]},
])
def test_the_fingerprint_changes_with_content_and_secret_values(change):
    assert fingerprint(desired(**change)) != fingerprint()


@pytest.mark.parametrize("message, tag", [("other", "t"), (None, "t"), ("m", None)])
def test_the_fingerprint_changes_with_message_and_tag(message, tag):
    assert fingerprint(message=message, tag=tag) != fingerprint()


def test_the_secret_digest_is_keyed_and_never_the_values():
    assert secret_digest({"S": "value-1"}, KEY) != secret_digest({"S": "value-1"}, "other-key")
    assert fingerprint(key="other-key") != fingerprint()
    assert "value-1" not in secret_digest({"S": "value-1"}, KEY)
    # Without secrets the key plays no part: rotating the API token does not re-upload such a Worker.
    assert fingerprint(desired(secrets={}), key="a") == fingerprint(desired(secrets={}), key="b")


def test_without_secrets_the_fingerprint_is_the_one_release_1_1_put_in_workers_commit_sha():
    # 1.1 hashed exactly this document (worker_version's version_fingerprint), so its versions still match.
    legacy = {"main_module": "index.js", "modules": [["index.js", MODULE["content_type"], sha256_hex(MODULE["content"])]],
              "compatibility_date": "2024-09-23", "compatibility_flags": ["a", "b"],
              "bindings": [{"name": "X", "text": "1", "type": "plain_text"}], "message": "m", "tag": "t"}
    assert fingerprint(desired(secrets={})) == sha256_hex(json.dumps(legacy, sort_keys=True).encode("utf-8"))


def test_the_marker_binding_is_never_part_of_its_own_fingerprint():
    marked = desired(bindings=desired()["bindings"] + [{"type": "plain_text", "name": FINGERPRINT_BINDING, "text": "old"}])
    assert fingerprint(marked) == fingerprint()


def test_the_version_upload_carries_the_marker_every_secret_and_keeps_version_metadata():
    metadata = version_upload_metadata(desired(), "f" * 64, message="m", tag="t", commit_sha="abc")
    assert metadata["bindings"] == [{"type": "plain_text", "name": "X", "text": "1"},
                                    {"type": "plain_text", "name": FINGERPRINT_BINDING, "text": "f" * 64},
                                    {"type": "secret_text", "name": "S", "text": "value-1"}]
    assert metadata["annotations"] == {"workers/message": "m", "workers/tag": "t", "workers/commit_sha": "abc"}
    assert metadata["keep_bindings"] == ["secret_text", "secret_key", "version_metadata"]
    own = version_upload_metadata(desired(bindings=[{"type": "version_metadata", "name": "V"}]), "f" * 64)
    assert own["keep_bindings"] == ["secret_text", "secret_key"] and "annotations" not in own


@pytest.mark.parametrize("version, expected", [
    ({"resources": {"bindings": [{"type": "plain_text", "name": FINGERPRINT_BINDING, "text": "abc"}]}}, "abc"),
    ({"annotations": {"workers/commit_sha": "legacy"}, "resources": {"bindings": []}}, "legacy"),
    ({"annotations": {"workers/commit_sha": "legacy"},
      "resources": {"bindings": [{"type": "plain_text", "name": FINGERPRINT_BINDING, "text": "abc"}]}}, "abc"),
    ({"resources": {"bindings": [{"type": "secret_text", "name": FINGERPRINT_BINDING}]}}, None),
    ({"resources": {"bindings": [{"type": "plain_text", "name": "OTHER", "text": "abc"}]}}, None),
    ({}, None),
])
def test_the_fingerprint_a_version_carries(version, expected):
    assert version_fingerprint_of(version) == expected


def test_versions_are_compared_newest_first_whatever_the_api_order():
    listed = [{"id": "a", "number": 1}, {"id": "c", "number": 3}, {"id": "b", "number": 2}]
    assert [v["id"] for v in newest_first(listed)] == ["c", "b", "a"]


# --- deployments ---

@pytest.mark.parametrize("versions, message", [
    ([], "1 or 2 versions, got 0"),
    ([{"version_id": "a", "percentage": 50}] * 3, "1 or 2 versions, got 3"),
    ([{"version_id": "a", "percentage": 50}, {"version_id": "a", "percentage": 50}], "version a is listed twice"),
    ([{"version_id": "a", "percentage": 60}, {"version_id": "b", "percentage": 30}], "add up to 90%"),
    ([{"version_id": "a", "percentage": 101}, {"version_id": "b", "percentage": -1}], "between 0 and 100, got 101"),
])
def test_bad_splits(versions, message):
    with pytest.raises(InvalidInputError, match=message):
        validate_split(versions)


def test_a_version_at_0_percent_is_a_good_split():
    # wrangler `versions deploy v@0%`; Cloudflare's version-overrides docs smoke-test a version at 0 %.
    assert validate_split([{"version_id": "new", "percentage": 0}, {"version_id": "old", "percentage": 100}]) == [
        {"version_id": "new", "percentage": 0}, {"version_id": "old", "percentage": 100}]


def test_a_good_split_and_its_comparison():
    split = validate_split([{"version_id": "b", "percentage": 10.0}, {"version_id": "a", "percentage": 90}])
    assert split_of({"versions": split}) == [("a", 90.0), ("b", 10.0)]
    assert split_of(None) == []


def deployment(*split):
    return {"versions": [{"version_id": v, "percentage": p} for v, p in split]}


NUMBERS = {"v1": 1, "v2": 2, "v3": 3}


def test_rollback_during_a_canary_goes_to_the_old_version():
    history = [deployment(("v3", 10), ("v2", 90)), deployment(("v2", 100)), deployment(("v1", 100))]
    assert rollback_target(history, NUMBERS) == "v2"


def test_rollback_goes_to_the_previous_full_deployment():
    assert rollback_target([deployment(("v3", 100)), deployment(("v3", 50), ("v2", 50)), deployment(("v2", 100))], NUMBERS) == "v2"


def test_a_second_rollback_steps_further_back_never_forward():
    history = [deployment(("v2", 100)), deployment(("v3", 100)), deployment(("v2", 100)), deployment(("v1", 100))]
    assert rollback_target(history, NUMBERS) == "v1"
    with pytest.raises(InvalidInputError, match="no earlier deployment served an older version"):
        rollback_target([deployment(("v1", 100)), deployment(("v2", 100)), deployment(("v1", 100))], NUMBERS)


def test_rollback_without_deployments():
    with pytest.raises(InvalidInputError, match="no deployment"):
        rollback_target([], NUMBERS)
