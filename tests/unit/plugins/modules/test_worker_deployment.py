"""worker_deployment against a real local HTTP server: 0 % versions, and Cloudflare's refusals it cannot
foresee (which code a migration or a 0 % split is refused with is not documented)."""
import json

import pytest

from ansible_collections.cfops.cloudflare.plugins.modules import worker_deployment
from ansible_collections.cfops.cloudflare.tests.unit.plugins.modules.module_runner import ACCOUNT_ID, run_module
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply, envelope, failure

SCRIPT = "books-api"
BASE = "/client/v4/accounts/%s/workers/scripts" % ACCOUNT_ID
OLD, NEW = "4a1c2b3d-0000-4000-8000-000000000001", "18f97339-c287-4872-9bdd-e2135c07ec12"


class FakeDeployments:
    """``version_tags``: what each version read reports as ``script_runtime.migration_tag``;
    ``refusal``: the reply to the deployment POST (None: accepted)."""

    def __init__(self, worker_tag=None, version_tags=None, refusal=None):
        self.worker_tag = worker_tag
        self.version_tags = version_tags or {}
        self.refusal = refusal
        self.deployments = [{"id": "d1", "versions": [{"version_id": OLD, "percentage": 100}]}]
        self.posted = []
        self.other_job = None    # a deployment another job makes right after our POST

    def __call__(self, request):
        path = request.path
        if path == BASE:
            return Reply(200, envelope([{"id": SCRIPT, "migration_tag": self.worker_tag}]))
        if path == BASE + "/%s/deployments" % SCRIPT:
            if request.method == "POST":
                self.posted.append(request.json())
                if self.refusal is not None:
                    return self.refusal
                deployment = dict(request.json(), id="d%d" % (len(self.deployments) + 1))
                self.deployments.insert(0, deployment)
                if self.other_job:
                    self.deployments.insert(0, self.other_job)
                return Reply(200, envelope(deployment))
            return Reply(200, envelope({"deployments": self.deployments}))
        if path == BASE + "/%s/versions" % SCRIPT:
            return Reply(200, envelope({"items": [{"id": NEW, "number": 2}, {"id": OLD, "number": 1}]}))
        if path.startswith(BASE + "/%s/versions/" % SCRIPT):
            version_id = path.rsplit("/", 1)[1]
            runtime = {"migration_tag": self.version_tags.get(version_id, self.worker_tag)}
            return Reply(200, envelope({"id": version_id, "number": 2 if version_id == NEW else 1,
                                        "resources": {"bindings": [], "script_runtime": runtime}}))
        return failure(404, (7003, "No route for that URI"))


def run(capsys, server, **args):
    return run_module(worker_deployment.main, capsys, server, script=SCRIPT, **args)


def smoke_split():
    return [{"version_id": NEW, "percentage": 0}, {"version_id": OLD, "percentage": 100}]


def test_a_new_version_at_0_percent_is_deployed(server, capsys):
    api = FakeDeployments()
    server.handler = api
    failed, result = run(capsys, server, versions=smoke_split())
    assert not failed and result["changed"], result
    assert api.posted == [{"strategy": "percentage", "versions": smoke_split()}]
    assert not run(capsys, server, versions=smoke_split())[1]["changed"]      # the same split again: no write
    assert len(api.posted) == 1


def test_a_refused_0_percent_split_is_reported_clearly(server, capsys):
    # The 2024 OpenAPI subset says minimum 0.01; newer sources (wrangler, the docs) deploy at 0 %.
    server.handler = FakeDeployments(refusal=failure(400, (10021, "percentage must be at least 0.01")))
    failed, result = run(capsys, server, versions=smoke_split())
    assert failed
    assert result["msg"] == ("Cloudflare refused the deployment of %s at 0%%, %s at 100%% of Worker books-api: POST "
                             "/accounts/%s/workers/scripts/books-api/deployments failed with HTTP 400: [10021] percentage "
                             "must be at least 0.01" % (NEW, OLD, ACCOUNT_ID))


def test_a_version_reported_before_a_migration_is_refused_before_any_write(server, capsys):
    # Cloudflare's rollback docs: not allowed "if a Durable Object migration has occurred between" the versions.
    api = FakeDeployments(worker_tag="v2", version_tags={OLD: "v1"})
    server.handler = api
    api.deployments = [{"id": "d1", "versions": [{"version_id": NEW, "percentage": 100}]}]
    failed, result = run(capsys, server, rollback_to=OLD)
    assert failed and "made before a Durable Object migration (its migration tag is v1, the Worker's is v2)" in result["msg"]
    assert api.posted == []


@pytest.mark.parametrize("status, code", [(400, 10233), (400, 10021), (409, 10000), (422, 99999)])
def test_when_version_reads_show_the_workers_tag_cloudflares_own_refusal_is_reported(server, capsys, status, code):
    # The alternative: script_runtime.migration_tag is the Worker's current tag on every version, so the
    # module cannot see the migration; whatever 4xx Cloudflare answers is reported with what was asked.
    api = FakeDeployments(worker_tag="v2", refusal=failure(status, (code, "Cannot deploy across a Durable Object migration")))
    server.handler = api
    api.deployments = [{"id": "d1", "versions": [{"version_id": NEW, "percentage": 100}]}]
    failed, result = run(capsys, server, rollback_to=OLD)
    assert failed and len(api.posted) == 1
    assert result["msg"].startswith("Cloudflare refused the deployment of %s at 100%% of Worker books-api: " % OLD)
    assert "failed with HTTP %d: [%d] Cannot deploy across a Durable Object migration" % (status, code) in result["msg"]


def test_a_secret_refusal_still_points_at_force(server, capsys):
    server.handler = FakeDeployments(refusal=failure(400, (10220, "The following secrets have changed: API_KEY")))
    failed, result = run(capsys, server, rollback_to=NEW)
    assert failed and result["msg"].endswith("(set force: true to deploy anyway)")
    assert json.dumps(result).count("API_KEY") >= 1


def test_compare_and_set_writes_over_the_deployment_it_was_given(server, capsys):
    api = FakeDeployments()
    server.handler = api
    failed, result = run(capsys, server, rollback_to=NEW, expected_deployment_id="d1")
    assert not failed and result["changed"] and result["deployment"]["id"] == "d2"
    assert len(api.posted) == 1


def test_compare_and_set_refuses_before_any_write_when_another_job_deployed_since(server, capsys):
    api = FakeDeployments()
    server.handler = api
    api.deployments.insert(0, {"id": "d9", "versions": [{"version_id": NEW, "percentage": 100}],
                               "annotations": {"workers/message": "someone else"}})
    failed, result = run(capsys, server, rollback_to=OLD, expected_deployment_id="d1")
    assert failed and api.posted == []
    assert result["msg"] == ('Worker books-api: the current deployment is d9 (%s 100%%, "someone else"), not d1: another '
                             "job changed it since; nothing written" % NEW)


def test_compare_and_set_reports_another_jobs_deployment_right_after_the_write(server, capsys):
    api = FakeDeployments()
    api.other_job = {"id": "d7", "versions": [{"version_id": OLD, "percentage": 100}]}
    server.handler = api
    failed, result = run(capsys, server, rollback_to=NEW, expected_deployment_id="d1")
    assert failed and result["changed"] and len(api.posted) == 1
    assert "another job deployed right after this one (d7 (%s 100%%) replaced our d2)" % OLD in result["msg"]
