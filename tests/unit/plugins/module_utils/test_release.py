"""Deployments of a release against a real local HTTP server: compare-and-set, the steps, the plan's diff."""
import json

import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils import _release as rel
from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareClient
from ansible_collections.cfops.cloudflare.plugins.module_utils._workers import FINGERPRINT_BINDING
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply, envelope, failure

ACCOUNT, NAME = "023e105f4ecef8ad9ca31a8372d0c353", "books-api-prod"
NEW, OLD, OTHER = "8b8d0000-new", "4a1c0000-old", "77770000-other"
FP = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"


def deployment(dep_id, versions, message=None):
    item = {"id": dep_id, "created_on": "2026-01-01T10:00:00Z", "strategy": "percentage",
            "versions": [{"version_id": v, "percentage": p} for v, p in versions]}
    if message:
        item["annotations"] = {"workers/message": message}
    return item


def listing(*deployments):
    return Reply(200, envelope({"deployments": list(deployments)}))


@pytest.fixture
def client(server):
    with CloudflareClient("t", base_url=server.base_url, max_retries=0, sleep=lambda _s: None) as api:
        yield api


def test_a_missing_worker_reads_as_not_existing(server, client):
    server.script(failure(404, (10007, "This Worker does not exist on your account.")))
    assert rel.read_deployments(client, ACCOUNT, NAME) == (False, [])


def test_deploy_checks_the_current_deployment_then_writes_then_verifies(server, client):
    d0 = deployment("d0", [(OLD, 100)])
    d1 = deployment("d1", [(NEW, 10), (OLD, 90)], rel.release_message(FP, "1.4.0", 10))
    server.script(listing(d0), Reply(200, envelope(d1)), listing(d1, d0))
    written = rel.deploy_split(client, ACCOUNT, NAME, rel.step_split(NEW, OLD, 10), d1["annotations"]["workers/message"], d0)
    assert written["id"] == "d1"
    post = server.requests[1]
    assert post.method == "POST" and post.path.endswith("/workers/scripts/books-api-prod/deployments")
    versions = [{"version_id": NEW, "percentage": 10.0}, {"version_id": OLD, "percentage": 90.0}]
    assert post.json() == {"strategy": "percentage", "versions": versions,
                           "annotations": {"workers/message": "cfops release 2c26b46b68ff 1.4.0: 10%"}}


def test_another_jobs_deployment_stops_the_release_before_it_writes(server, client):
    theirs = deployment("d9", [(OTHER, 10), (OLD, 90)], "cfops release aaaaaaaaaaaa: 10%")
    server.script(listing(theirs, deployment("d0", [(OLD, 100)])))
    with pytest.raises(rel.ConflictError) as caught:
        rel.deploy_split(client, ACCOUNT, NAME, [(NEW, 25.0), (OLD, 75.0)], "m", deployment("d0", [(OLD, 100)]))
    message = str(caught.value)
    assert caught.value.kind == "changed" and caught.value.other["id"] == "d9"
    assert "the current deployment is deployment d9 (2026-01-01T10:00:00Z, \"cfops release aaaaaaaaaaaa: 10%\"): " \
           "4a1c0000 90% + 77770000 10%, not d0" in message
    assert "another job changed it" in message
    assert [r.method for r in server.requests] == ["GET"]


def test_a_write_overtaken_by_another_job_is_noticed(server, client):
    d0 = deployment("d0", [(OLD, 100)])
    ours = deployment("d1", [(NEW, 10), (OLD, 90)])
    theirs = deployment("d2", [(OTHER, 10), (OLD, 90)])
    server.script(listing(d0), Reply(200, envelope(ours)), listing(theirs, ours, d0))
    with pytest.raises(rel.ConflictError, match="another job deployed right after this release .*d2.* replaced our d1") as caught:
        rel.deploy_split(client, ACCOUNT, NAME, [(NEW, 10.0), (OLD, 90.0)], "m", d0)
    assert caught.value.kind == "overtaken"


def test_a_write_that_replaced_another_jobs_deployment_is_noticed(server, client):
    d0 = deployment("d0", [(OLD, 100)])
    theirs = deployment("d2", [(OTHER, 10), (OLD, 90)])
    ours = deployment("d3", [(NEW, 10), (OLD, 90)])
    server.script(listing(d0), Reply(200, envelope(ours)), listing(ours, theirs, d0))
    with pytest.raises(rel.ConflictError, match="another job deployed between this release's check and its write") as caught:
        rel.deploy_split(client, ACCOUNT, NAME, [(NEW, 10.0), (OLD, 90.0)], "m", d0)
    assert caught.value.kind == "replaced" and caught.value.other["id"] == "d2" and caught.value.ours["id"] == "d3"


def test_putting_back_a_replaced_deployment_copies_its_split_and_message_over_ours(server, client):
    theirs = deployment("d2", [(OTHER, 10), (OLD, 90)], "cfops release aaaaaaaaaaaa: 10%")
    ours = deployment("d3", [(NEW, 10), (OLD, 90)], "cfops release 2c26b46b68ff: 10%")
    back = deployment("d4", [(OTHER, 10), (OLD, 90)], "cfops release aaaaaaaaaaaa: 10%")
    server.script(listing(ours, theirs), Reply(200, envelope(back)), listing(back, ours, theirs))
    rel.restore(client, ACCOUNT, NAME, theirs, ours)
    body = server.requests[1].json()
    assert body["versions"] == [{"version_id": OLD, "percentage": 90.0}, {"version_id": OTHER, "percentage": 10.0}]
    assert body["annotations"] == {"workers/message": "cfops release aaaaaaaaaaaa: 10%"}
    # The other job's next check accepts the copy as its own deployment (same split, same message).
    assert rel.same_deployment(back, theirs) and not rel.same_deployment(ours, theirs)


def test_steps_as_shares_or_splits_and_every_bad_one_named():
    assert rel.steps_of([10, {"new": 25, "old": 75}, "50", 100]) == [10.0, 25.0, 50.0, 100.0]
    with pytest.raises(rel.InvalidInputError) as caught:
        rel.steps_of([10, {"new": 50, "old": 60}, 100])
    assert 'step {"new": 50, "old": 60}: new + old = 110%, must total 100%' in str(caught.value)
    for bad, words in (([50, 25, 100], "must be ascending shares"), ([10, 50], "ending at 100"),
                       ([0, 100], "step 0 is not a share above 0"), ([], "ending at 100")):
        with pytest.raises(rel.InvalidInputError, match=words):
            rel.steps_of(bad)


def test_rollback_force_is_sent(server, client):
    d1 = deployment("d1", [(NEW, 10), (OLD, 90)])
    back = deployment("d2", [(OLD, 100)], "rollback (automatic) of x")
    server.script(listing(d1), Reply(200, envelope(back)), listing(back, d1))
    rel.deploy_split(client, ACCOUNT, NAME, [(OLD, 100.0)], "rollback (automatic) of x", d1, force=True)
    assert server.requests[1].query == {"force": ["true"]}


def test_foreign_rollouts_are_told_from_ours():
    assert rel.is_foreign_rollout(deployment("d", [(OTHER, 10), (OLD, 90)], "cfops release aaaaaaaaaaaa: 10%"), FP)
    assert rel.is_foreign_rollout(deployment("d", [(OTHER, 10), (OLD, 90)]), FP)
    assert not rel.is_foreign_rollout(deployment("d", [(NEW, 10), (OLD, 90)], rel.release_message(FP, "", 10)), FP)
    assert not rel.is_foreign_rollout(deployment("d", [(OLD, 100)]), FP)


def test_steps_and_shares():
    assert rel.step_split(NEW, OLD, 0) == [(NEW, 0.0), (OLD, 100.0)]
    assert rel.step_split(NEW, OLD, 100) == [(NEW, 100.0)]
    assert rel.step_split(NEW, None, 10) == [(NEW, 100.0)]
    assert rel.remaining_steps([10, 25, 50, 100], 25) == [50, 100]
    assert rel.pct(10.0) == "10" and rel.pct(12.5) == "12.5"
    assert rel.rate_pct(0) == "0%" and rel.rate_pct(1 / 30.0) == "3.3%" and rel.rate_pct(1) == "100%"


def test_modules_diff_text_up_to_the_limit_then_digests():
    lines = rel.modules_diff({"index.js": b"a\nb\n", "big.js": b"x" * 10}, {"index.js": b"a\nc\n", "big.js": b"y" * 10}, limit=8)
    assert "--- a/index.js" in lines and "-b" in lines and "+c" in lines
    [big] = [line for line in lines if line.startswith("module big.js")]
    assert big.startswith("module big.js: sha256:") and "10 bytes -> sha256:" in big
    assert rel.modules_diff({"a.js": b"same"}, {"a.js": b"same"}) == []
    assert rel.modules_diff(None, {"a.js": b"new"})[0].startswith("module a.js: sha256:")
    # A first deploy (nothing serving) shows each text module whole.
    assert rel.modules_diff({}, {"a.js": b"one\ntwo\n"}) == ["--- /dev/null", "+++ b/a.js", "@@ -0,0 +1,2 @@", "+one", "+two"]


def test_bindings_diff_compares_only_sent_fields_and_never_shows_secret_values():
    before = [{"type": "d1", "name": "DB", "id": "x", "database_id": "x"},
              {"type": "plain_text", "name": "ENVIRONMENT", "text": "prod"},
              {"type": "secret_text", "name": "API_KEY"},
              {"type": "plain_text", "name": FINGERPRINT_BINDING, "text": "old"}]
    after = [{"type": "d1", "name": "DB", "id": "x"},
             {"type": "plain_text", "name": "ENVIRONMENT", "text": "staging"},
             {"type": "secret_text", "name": "API_KEY", "text": "s3cr3t"},
             {"type": "secret_text", "name": "NEW_KEY", "text": "s3cr3t"}]
    lines = rel.bindings_diff(before, after)
    assert lines == ["-binding plain_text ENVIRONMENT text=prod", "+binding plain_text ENVIRONMENT text=staging",
                     "+binding secret_text NEW_KEY (secret)"]
    assert "s3cr3t" not in json.dumps(lines)


def test_settings_diff():
    assert rel.settings_diff({"compatibility_date": "2024-09-23", "compatibility_flags": [], "migration_tag": "v1"},
                             {"compatibility_date": "2025-01-15", "compatibility_flags": [], "migration_tag": "v2"}) == [
        "compatibility date: 2024-09-23 -> 2025-01-15", "migration tag: v1 -> v2"]
