"""The release engine against a real local HTTP server that plays a Worker's versions and deployments API,
with another job writing at the worst moments: right after the release's write, and between its check and
its write. The release must never leave the other job's release undone, and must finish its own."""
import json

import pytest

from ansible_collections.cfops.cloudflare.plugins.action import worker_release
from ansible_collections.cfops.cloudflare.plugins.module_utils import _release as rel
from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareClient, parse_multipart
from ansible_collections.cfops.cloudflare.plugins.module_utils._workers import FINGERPRINT_BINDING
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply, envelope, failure

ACCOUNT, NAME = "023e105f4ecef8ad9ca31a8372d0c353", "books-api"
BASE = "/client/v4/accounts/%s/workers/scripts/%s" % (ACCOUNT, NAME)
THEIRS = "cfops release aaaaaaaaaaaa: 50%"


class FakeWorker:
    """One Worker's versions and deployments. ``before_our_post`` / ``after_our_post``: another job's writes,
    run once around the release's next deployment POST; ``on_sleep``: what the other job does while the
    release waits."""

    def __init__(self):
        self.versions, self.deployments, self.count = {}, [], 0
        self.before_our_post = self.after_our_post = self.on_sleep = None

    def version(self, fingerprint):
        self.count += 1
        vid = "%08d-0000-4000-8000-000000000000" % self.count
        self.versions[vid] = {"id": vid, "number": self.count, "resources": {
            "bindings": [{"type": "plain_text", "name": FINGERPRINT_BINDING, "text": fingerprint}], "script_runtime": {}}}
        return vid

    def deploy(self, versions, message):
        self.count += 1
        deployment = {"id": "dep-%d" % self.count, "created_on": "2026-01-01T10:00:%02dZ" % self.count,
                      "versions": [{"version_id": v, "percentage": p} for v, p in versions],
                      "annotations": {"workers/message": message}}
        self.deployments.insert(0, deployment)
        return deployment

    def __call__(self, request):
        path = request.path
        if path == BASE + "/deployments":
            if request.method == "GET":
                return Reply(200, envelope({"deployments": self.deployments}))
            if self.before_our_post:
                hook, self.before_our_post = self.before_our_post, None
                hook()
            body = request.json()
            ours = self.deploy([(v["version_id"], v["percentage"]) for v in body["versions"]],
                               body["annotations"]["workers/message"])
            if self.after_our_post:
                hook, self.after_our_post = self.after_our_post, None
                hook()
            return Reply(200, envelope(ours))
        if path == BASE + "/versions" and request.method == "GET":
            return Reply(200, envelope({"items": [{"id": v["id"], "number": v["number"]} for v in self.versions.values()]}))
        if path == BASE + "/versions" and request.method == "POST":
            parts = parse_multipart(request.headers["Content-Type"], request.body)
            metadata = json.loads(next(p for p in parts if p["name"] == "metadata")["content"])
            fingerprint = next(b["text"] for b in metadata["bindings"] if b["name"] == FINGERPRINT_BINDING)
            return Reply(200, envelope(self.versions[self.version(fingerprint)]))
        if path.startswith(BASE + "/versions/"):
            return Reply(200, envelope(self.versions[path.rsplit("/", 1)[1]]))
        return failure(404, (7003, "No route for that URI"))

    def splits(self):
        return [({v["version_id"]: v["percentage"] for v in d["versions"]}, d["annotations"]["workers/message"])
                for d in reversed(self.deployments)]


@pytest.fixture
def worker(server, tmp_path):
    fake = FakeWorker()
    server.handler = fake
    stable = fake.version("f" * 64)
    fake.deploy([(stable, 100.0)], "first release")
    main = tmp_path / "index.js"
    main.write_text("export default { fetch() { return new Response('v2'); } };\n")
    fake.stable, fake.main = stable, str(main)
    return fake


def release(server, worker, lines):
    params = {key: option.get("default") for key, option in rel.argument_spec().items()}
    params.update(api_token="t", account_id=ACCOUNT, api_base_url=server.base_url, api_max_retries=0, script=NAME,
                  main_module=worker.main, compatibility_date="2024-09-23", gate="none", smoke_test=False, steps=[50, 100],
                  wait_timeout=60)
    clock = [1000.0]

    def sleep(seconds):
        clock[0] += seconds
        if worker.on_sleep:
            hook, worker.on_sleep = worker.on_sleep, None
            hook()

    client = CloudflareClient("t", base_url=server.base_url, max_retries=0, sleep=lambda _s: None)
    return worker_release.Release(client, params, lines.append, sleep=sleep, now=lambda: clock[0]).run()


def test_overtaken_by_another_job_the_release_waits_for_it_then_releases_over_it(server, worker):
    other = worker.version("a" * 64)
    worker.after_our_post = lambda: worker.deploy([(other, 50.0), (worker.stable, 50.0)], THEIRS)
    worker.on_sleep = lambda: worker.deploy([(other, 100.0)], "cfops release aaaaaaaaaaaa: 100%")
    lines = []
    result = release(server, worker, lines)
    ours = result["version"]
    assert result["outcome"] == "released" and result["previous"] == other
    history = [split for split, _message in worker.splits()]
    # Ours at 50%, theirs right after (untouched), theirs at 100%, then ours over theirs.
    assert history[1:] == [{ours: 50.0, worker.stable: 50.0}, {other: 50.0, worker.stable: 50.0}, {other: 100.0},
                           {ours: 50.0, other: 50.0}, {ours: 100.0}]
    assert any("another job deployed right after this release" in line and "waiting for that release" in line
               for line in lines), lines


def test_a_write_that_replaced_another_jobs_deployment_puts_it_back_then_waits(server, worker):
    other = worker.version("a" * 64)
    # The other job writes after the release checked the current deployment and before its write lands.
    worker.before_our_post = lambda: worker.deploy([(other, 50.0), (worker.stable, 50.0)], THEIRS)
    worker.on_sleep = lambda: worker.deploy([(other, 100.0)], "cfops release aaaaaaaaaaaa: 100%")
    lines = []
    result = release(server, worker, lines)
    ours = result["version"]
    history = worker.splits()
    theirs = ({other: 50.0, worker.stable: 50.0}, THEIRS)
    # Theirs, ours (which replaced it), theirs put back with its own message, theirs at 100%, then ours over it.
    assert history[1] == theirs and history[2][0] == {ours: 50.0, worker.stable: 50.0} and history[3] == theirs
    assert [split for split, _message in history[4:]] == [{other: 100.0}, {ours: 50.0, other: 50.0}, {ours: 100.0}]
    assert any("our dep-" in line and "replaced it; put it back" in line for line in lines), lines
    assert result["outcome"] == "released"


def test_another_release_under_way_is_waited_for_then_fails_clearly_at_the_wait_timeout(server, worker):
    other = worker.version("a" * 64)
    worker.deploy([(other, 10.0), (worker.stable, 90.0)], "cfops release aaaaaaaaaaaa: 10%")
    lines = []
    with pytest.raises(rel.ConflictError) as caught:
        release(server, worker, lines)
    assert "another release is rolling out (deployment " in str(caught.value)
    assert "waited 60 s (wait_timeout)" in str(caught.value)
    assert lines[0].startswith("books-api: waiting for another release to finish (deployment ")
    assert len(worker.deployments) == 2     # nothing written
