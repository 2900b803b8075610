"""worker_version against a real local HTTP server answering in each shape Cloudflare plausibly uses.

Whether a version read echoes annotations is not documented (the SDK's VersionGetResponse has none;
wrangler's and Terraform's types know workers/message, workers/tag and workers/triggered_by), nor
whether it shows plain-text values. The module must recognise an identical release in every case.
"""
import json
import uuid

import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils._workers import FINGERPRINT_BINDING
from ansible_collections.cfops.cloudflare.plugins.modules import worker_version
from ansible_collections.cfops.cloudflare.tests.unit.plugins.modules.module_runner import ACCOUNT_ID, run_module
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply, envelope, failure
from emulator import multipart

SCRIPT = "books-api"
BASE = "/client/v4/accounts/%s/workers/scripts" % ACCOUNT_ID
CODE = b"export default { fetch() { return new Response('ok'); } };\n"


class FakeWorkers:
    """A Worker's versions, deployments and settings; ``echo`` picks the annotations a version read shows
    (``all``, ``wrangler`` = message/tag/triggered_by, ``none``); ``hide_text`` drops plain-text values
    from version reads; ``reverse_list`` lists the versions oldest first."""

    def __init__(self, echo="none", hide_text=False, reverse_list=False):
        self.echo, self.hide_text, self.reverse_list = echo, hide_text, reverse_list
        self.versions = []
        self.deployments = []
        self.uploads = []

    def add_version(self, bindings, annotations=None, deploy=True):
        version = {"id": str(uuid.uuid4()), "number": len(self.versions) + 1, "annotations": dict(annotations or {}),
                   "bindings": bindings, "metadata": {"created_on": "2025-01-15T10:00:%02d.000000Z" % len(self.versions)}}
        self.versions.append(version)
        if deploy:
            self.deployments.insert(0, {"id": str(uuid.uuid4()), "versions": [{"version_id": version["id"], "percentage": 100}]})
        return version

    def view(self, version):
        annotations = version["annotations"]
        if self.echo == "none":
            annotations = {}
        elif self.echo == "wrangler":
            annotations = {k: v for k, v in annotations.items() if k in ("workers/message", "workers/tag", "workers/triggered_by")}
        bindings = [{k: v for k, v in b.items() if not (self.hide_text and k == "text")} if b["type"] == "plain_text"
                    else {k: v for k, v in b.items() if k != "text"} for b in version["bindings"]]
        document = {"id": version["id"], "number": version["number"], "metadata": version["metadata"],
                    "resources": {"bindings": bindings, "script": {"etag": "e"},
                                  "script_runtime": {"compatibility_date": "2025-01-15", "compatibility_flags": []}}}
        if annotations:
            document["annotations"] = annotations
        return document

    def serving_bindings(self):
        serving = self.deployments[0]["versions"][0]["version_id"]
        version = next(v for v in self.versions if v["id"] == serving)
        return [{k: v for k, v in b.items() if not (b["type"] == "secret_text" and k == "text")} for b in version["bindings"]]

    def __call__(self, request):
        path = request.path
        if request.method == "GET" and path == BASE:
            return Reply(200, envelope([{"id": SCRIPT, "etag": "e"}]))
        if path == BASE + "/%s/versions" % SCRIPT:
            if request.method == "POST":
                parts = multipart.parse(request.body, request.headers["Content-Type"])
                metadata = json.loads(next(p for p in parts if p.name == "metadata").data)
                self.uploads.append(dict(metadata, query=request.query))
                return Reply(200, envelope(self.view(self.add_version(metadata["bindings"], metadata.get("annotations"), False))))
            listed = [{"id": v["id"], "number": v["number"], "metadata": v["metadata"]} for v in reversed(self.versions)]
            return Reply(200, envelope({"items": list(reversed(listed)) if self.reverse_list else listed}))
        if path.startswith(BASE + "/%s/versions/" % SCRIPT):
            version_id = path.rsplit("/", 1)[1]
            found = [v for v in self.versions if v["id"] == version_id]
            return Reply(200, envelope(self.view(found[0]))) if found else failure(404, (10007, "not found"))
        if path == BASE + "/%s/deployments" % SCRIPT:
            return Reply(200, envelope({"deployments": self.deployments}))
        if path == BASE + "/%s/settings" % SCRIPT:
            return Reply(200, envelope({"bindings": self.serving_bindings()}))
        return failure(404, (7003, "No route for that URI"))


@pytest.fixture
def code(tmp_path):
    path = tmp_path / "index.js"
    path.write_bytes(CODE)
    return str(path)


def run(capsys, server, code, **args):
    options = dict(script=SCRIPT, main_module=code, compatibility_date="2025-01-15", text_vars={"ENVIRONMENT": "prod"},
                   version_message="release 1.4.0", tag="1.4.0")
    options.update(args)
    return run_module(worker_version.main, capsys, server, **options)


def writes(server):
    return [r for r in server.requests if r.method != "GET"]


@pytest.mark.parametrize("echo", ["none", "wrangler", "all"])
@pytest.mark.parametrize("reverse_list", [False, True])
def test_an_identical_release_is_found_whatever_the_annotation_echo(server, capsys, code, echo, reverse_list):
    api = FakeWorkers(echo=echo, reverse_list=reverse_list)
    server.handler = api
    api.add_version([{"type": "plain_text", "name": "ENVIRONMENT", "text": "old"}])
    failed, first = run(capsys, server, code)
    assert not failed and first["changed"], first
    [upload] = api.uploads
    [marker] = [b for b in upload["bindings"] if b["name"] == FINGERPRINT_BINDING]
    assert marker == {"type": "plain_text", "name": FINGERPRINT_BINDING, "text": first["version"]["fingerprint"]}
    assert upload["annotations"] == {"workers/message": "release 1.4.0", "workers/tag": "1.4.0"}
    # The identical release again: found by its marker binding, whatever the annotations say.
    api.add_version([{"type": "plain_text", "name": "ENVIRONMENT", "text": "newer"}], deploy=False)
    server.requests.clear()
    failed, second = run(capsys, server, code)
    assert not failed and not second["changed"], second
    assert second["version"]["id"] == first["version"]["id"] and writes(server) == []
    assert second["api_calls"]["writes"] == 0
    assert [r.query for r in server.requests if r.path.endswith("/versions")] == [{"deployable": ["true"]}]


def test_a_release_1_1_version_matches_through_its_commit_sha_echo(server, capsys, code):
    api = FakeWorkers(echo="all")
    server.handler = api
    failed, probe = run(capsys, server, code, _ansible_check_mode=True)
    fingerprint = probe["version"]["fingerprint"]
    legacy = api.add_version([{"type": "plain_text", "name": "ENVIRONMENT", "text": "prod"}],
                             annotations={"workers/commit_sha": fingerprint, "workers/message": "release 1.4.0"})
    failed, result = run(capsys, server, code)
    assert not failed and not result["changed"] and result["version"]["id"] == legacy["id"]
    assert result["version"]["fingerprint"] == fingerprint


def test_without_the_echo_a_release_1_1_version_is_uploaded_once_more(server, capsys, code):
    api = FakeWorkers(echo="wrangler")
    server.handler = api
    failed, probe = run(capsys, server, code, _ansible_check_mode=True)
    api.add_version([{"type": "plain_text", "name": "ENVIRONMENT", "text": "prod"}],
                    annotations={"workers/commit_sha": probe["version"]["fingerprint"]})
    failed, result = run(capsys, server, code)
    assert not failed and result["changed"] and len(api.uploads) == 1
    assert not run(capsys, server, code)[1]["changed"]          # and from then on it is found


def test_when_version_reads_hide_plain_text_the_serving_version_is_found_through_the_settings(server, capsys, code):
    api = FakeWorkers(echo="none", hide_text=True)
    server.handler = api
    failed, first = run(capsys, server, code)
    assert not failed and first["changed"]
    api.deployments.insert(0, {"id": "d2", "versions": [{"version_id": first["version"]["id"], "percentage": 100}]})
    server.requests.clear()
    failed, second = run(capsys, server, code)
    assert not failed and not second["changed"] and second["version"]["id"] == first["version"]["id"]
    assert writes(server) == []


def test_when_version_reads_hide_plain_text_a_version_not_serving_100_percent_is_uploaded_again(server, capsys, code):
    # The degraded case, stated: nothing tells that an undeployed version is identical, so a new one is made.
    api = FakeWorkers(echo="none", hide_text=True)
    server.handler = api
    api.add_version([{"type": "plain_text", "name": "ENVIRONMENT", "text": "old"}])
    run(capsys, server, code)
    failed, again = run(capsys, server, code)
    assert not failed and again["changed"] and len(api.uploads) == 2


def test_a_rotated_secret_makes_a_new_version_carrying_every_secret(server, capsys, code):
    api = FakeWorkers()
    server.handler = api
    api.add_version([])
    secrets = {"API_KEY": "first-value", "OTHER": "same"}
    first = run(capsys, server, code, secrets=secrets, secret_digest_key="k")[1]
    assert not run(capsys, server, code, secrets=secrets, secret_digest_key="k")[1]["changed"]
    rotated = run(capsys, server, code, secrets=dict(secrets, API_KEY="second-value"), secret_digest_key="k")[1]
    assert rotated["changed"] and rotated["version"]["fingerprint"] != first["version"]["fingerprint"]
    assert [b for b in api.uploads[-1]["bindings"] if b["type"] == "secret_text"] == [
        {"type": "secret_text", "name": "API_KEY", "text": "second-value"}, {"type": "secret_text", "name": "OTHER", "text": "same"}]
    assert "second-value" not in json.dumps(rotated) and "first-value" not in json.dumps(first)


def test_the_secret_digest_key_defaults_to_the_api_token(server, capsys, code):
    api = FakeWorkers()
    server.handler = api
    api.add_version([])
    default = run(capsys, server, code, secrets={"API_KEY": "v"}, _ansible_check_mode=True)[1]
    keyed = run(capsys, server, code, secrets={"API_KEY": "v"}, secret_digest_key="unit-test-token", _ansible_check_mode=True)[1]
    assert default["version"]["fingerprint"] == keyed["version"]["fingerprint"]


def test_version_metadata_and_commit_sha_are_uploaded(server, capsys, code):
    api = FakeWorkers()
    server.handler = api
    api.add_version([])
    failed, result = run(capsys, server, code, version_metadata="CF_VERSION_METADATA", commit_sha="a" * 40)
    assert not failed, result
    [upload] = api.uploads
    assert {"type": "version_metadata", "name": "CF_VERSION_METADATA"} in upload["bindings"]
    assert upload["annotations"]["workers/commit_sha"] == "a" * 40
    assert upload["keep_bindings"] == ["secret_text", "secret_key"]


@pytest.mark.parametrize("args, message", [
    ({"commit_sha": "a" * 65}, "commit_sha is longer than 64 bytes"),
    ({"tag": "t" * 101}, "tag is longer than 100 bytes"),
    ({"text_vars": {FINGERPRINT_BINDING: "x"}}, "reserved for the release fingerprint"),
    ({"version_metadata": "ENVIRONMENT"}, "binding name ENVIRONMENT is used twice"),
])
def test_bad_input_fails_before_any_call(server, capsys, code, args, message):
    server.handler = FakeWorkers()
    failed, result = run(capsys, server, code, **args)
    assert failed and message in result["msg"], result
    assert server.requests == []
