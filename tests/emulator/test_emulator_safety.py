"""A local Cloudflare that cannot be turned against its user (issue 13).

- the admin API (/__emulator/*) needs the data directory's own admin token, kept 0600 in the data dir;
- the bindings path (/__emulator/bindings/*) and the router's table need the edge runtime's per-start
  credential, and even with it reach only the calls a binding makes;
- Worker code running on the edge reaches neither, however it spells the URL;
- a non-loopback --host warns loudly and the ready line shows the address really bound.
"""
import json
import os
import re
import stat
import subprocess
import sys

import httpx
import pytest

from tests.emulator.edge_helpers import api_client, deploy, edge_client, edge_process, hit, workers_dev
from tests.support.emulator import REPO, EmulatorProcess

pytestmark = pytest.mark.slow
ADMIN_CALLS = [("GET", "/__emulator/calls"), ("POST", "/__emulator/calls/reset"), ("POST", "/__emulator/faults"),
               ("GET", "/__emulator/faults"), ("DELETE", "/__emulator/faults"), ("POST", "/__emulator/accounts"),
               ("POST", "/__emulator/tokens"), ("POST", "/__emulator/state/reset"), ("GET", "/__emulator/r2/credentials"),
               ("GET", "/__emulator/edge"), ("POST", "/__emulator/edge/sync"), ("POST", "/__emulator/edge/scheduled")]
EDGE_SIDE = [("GET", "/__emulator/edge/table"), ("POST", "/__emulator/bindings/queues/%s/jobs"),
             ("GET", "/__emulator/bindings/r2/%s/bucket/object?key=k"),
             ("GET", "/__emulator/bindings/api/accounts/%s/storage/kv/namespaces")]


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    yield from edge_process(tmp_path_factory)


@pytest.fixture
def api(edge):
    yield from api_client(edge)


@pytest.fixture
def client(edge):
    yield from edge_client(edge)


def call(edge, method, path, **kwargs):
    return httpx.request(method, edge.root_url + path, timeout=30, trust_env=False, **kwargs)


@pytest.mark.parametrize("method, path", ADMIN_CALLS)
def test_every_admin_call_needs_the_admin_token(edge, method, path):
    for headers in ({}, {"Authorization": "Bearer " + edge.token}, {"Authorization": "Bearer wrong-" + edge.admin_token},
                    {"Authorization": edge.admin_token}):
        response = call(edge, method, path, json={}, headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert "admin token" in response.json()["error"] and "secret_access_key" not in response.text
    # With it the call goes through (whatever the call itself then answers).
    assert call(edge, method, path, json={"timeout": 1}, headers=edge.admin_headers()).status_code != 401


def test_state_is_untouched_by_refused_admin_calls(edge):
    edge.reset_calls()
    before = edge.admin("GET", "/r2/credentials")
    assert call(edge, "POST", "/__emulator/tokens", json={"token": "minted-by-anyone"}).status_code == 401
    assert edge.admin("GET", "/r2/credentials") == before
    response = httpx.get(edge.base_url + "/user/tokens/verify", headers={"Authorization": "Bearer minted-by-anyone"},
                         timeout=10, trust_env=False)
    assert response.status_code in (400, 401, 403)


def test_health_stays_open_and_basic_auth_works_for_curl(edge):
    assert call(edge, "GET", "/__emulator/health").json() == {"ok": True}
    assert call(edge, "GET", "/__emulator/calls", auth=("admin", edge.admin_token)).status_code == 200


def test_the_admin_token_is_0600_in_the_data_dir_stable_across_restarts_and_own_to_each_dir(tmp_path):
    with EmulatorProcess(data_dir=tmp_path / "one") as one, EmulatorProcess(data_dir=tmp_path / "two") as two:
        path = os.path.join(one.data_dir, "admin-token")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        with open(path) as handle:
            assert handle.read().strip() == one.admin_token and len(one.admin_token) >= 32
        assert one.admin_token != two.admin_token
        assert call(two, "GET", "/__emulator/calls", headers=one.admin_headers()).status_code == 401
        token = one.admin_token
        os.chmod(path, 0o644)
        one.restart()
        assert one.admin_token == token and stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert one.calls()["total"] == 0


@pytest.mark.parametrize("method, path", EDGE_SIDE)
def test_the_bindings_path_needs_the_edges_own_credential(edge, method, path):
    path = path % edge.account_id if "%s" in path else path
    for headers in ({}, edge.admin_headers(), {"x-cfops-edge-credential": "guessed"},
                    {"Authorization": "Bearer " + edge.token}):
        response = call(edge, method, path, headers=headers, json={"messages": [{"body": "x"}]})
        assert response.status_code == 403, (headers, response.text)


def test_a_worker_reaches_neither_the_admin_api_nor_the_bindings(api, edge, client):
    api_port = edge.port
    targets = {
        "admin": "http://127.0.0.1:%d/__emulator/r2/credentials" % api_port,
        "admin_by_name": "http://localhost:%d/__emulator/tokens" % api_port,
        "double_slash": "http://127.0.0.1:%d//x/__emulator/r2/credentials" % api_port,
        "encoded": "http://127.0.0.1:%d/%%5F%%5Femulator/r2/credentials" % api_port,
        "upper": "http://127.0.0.1:%d/__EMULATOR/r2/credentials" % api_port,
        "dot_segments": "http://127.0.0.1:%d/client/v4/../../__emulator/calls" % api_port,
        "bindings_api": "http://127.0.0.1:%d/__emulator/bindings/api/accounts/%s/storage/kv/namespaces"
                        % (api_port, edge.account_id),
        "bindings_r2": "http://127.0.0.1:%d/__emulator/bindings/r2/%s/b/list" % (api_port, edge.account_id),
        "table": "http://127.0.0.1:%d/__emulator/edge/table" % api_port,
        "scheduled": "http://127.0.0.1:%d/__emulator/edge/scheduled" % api_port,
    }
    source = """
const TARGETS = %s;
export default {
  async fetch(request, env) {
    const seen = {};
    for (const [name, url] of Object.entries(TARGETS)) {
      try {
        const response = await fetch(url, { method: name === "scheduled" ? "POST" : "GET",
                                            headers: { authorization: "Bearer " + (env.GUESS || "") } });
        seen[name] = { status: response.status, body: (await response.text()).slice(0, 400) };
      } catch (error) {
        seen[name] = { status: 0, body: String(error) };
      }
    }
    return Response.json(seen);
  },
};
""" % json.dumps(targets)
    deploy(api, edge, "snoop-admin", source, bindings=[{"type": "plain_text", "name": "GUESS", "text": edge.token}])
    assert edge.edge_sync()
    edge.reset_calls()
    credentials = edge.admin("GET", "/r2/credentials")["credentials"]
    seen = hit(client, workers_dev("snoop-admin")).json()
    assert set(seen) == set(targets)
    for name, answer in seen.items():
        assert answer["status"] in (0, 401, 403, 404), (name, answer)
        assert "secret_access_key" not in answer["body"] and "routes" not in answer["body"], (name, answer)
        for item in credentials:
            assert item["secret_access_key"] not in answer["body"]
    # Nothing was minted, reset or counted on the way.
    assert edge.calls()["total"] == 0
    assert edge.admin("GET", "/r2/credentials")["credentials"] == credentials


def test_bindings_still_work_for_the_worker_itself(api, edge, client):
    namespace = api.post("/accounts/%s/storage/kv/namespaces" % edge.account_id, json={"title": "safe"}).json()["result"]["id"]
    api.put("/accounts/%s/storage/kv/namespaces/%s/values/greeting" % (edge.account_id, namespace), content=b"hello")
    source = """
export default {
  async fetch(request, env) {
    await env.KV.put("written", "by the worker");
    return new Response(await env.KV.get("greeting"));
  },
};
"""
    deploy(api, edge, "kv-user", source, bindings=[{"type": "kv_namespace", "name": "KV", "namespace_id": namespace}])
    assert edge.edge_sync()
    assert hit(client, workers_dev("kv-user")).text == "hello"
    assert api.get("/accounts/%s/storage/kv/namespaces/%s/values/written" % (edge.account_id, namespace)).text == "by the worker"


def start_cli(tmp_path, *args):
    process = subprocess.Popen([sys.executable, "-m", "emulator", "--port", "0", "--data-dir", str(tmp_path / "data"),
                                "--quiet", *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready = process.stdout.readline()
    process.terminate()
    _out, err = process.communicate(timeout=20)
    return ready, err


def test_a_non_loopback_host_warns_loudly_and_the_ready_line_shows_the_bound_address(tmp_path):
    ready, err = start_cli(tmp_path, "--host", "0.0.0.0")
    assert re.match(r"^cfops emulator ready: http://0\.0\.0\.0:\d+/client/v4$", ready), ready
    assert "WARNING: the cfops emulator listens on 0.0.0.0" in err
    assert "well-known default token" in err


def test_loopback_starts_quietly(tmp_path):
    ready, err = start_cli(tmp_path, "--host", "127.0.0.1")
    assert re.match(r"^cfops emulator ready: http://127\.0\.0\.1:\d+/client/v4$", ready), ready
    assert "WARNING" not in err


def test_a_request_target_starting_with_two_slashes_is_a_path(edge):
    # urlsplit("//x/__emulator/calls") reads "x" as a host and "/__emulator/calls" as the path.
    response = call(edge, "GET", "//x/__emulator/calls", headers=edge.admin_headers())
    assert response.status_code == 404
