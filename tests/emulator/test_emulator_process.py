"""The emulator process: CLI, ready line, clean stop, restart keeping state, HTTP/1.1 keep-alive."""
import os
import re
import signal
import socket
import subprocess
import sys

import httpx

from tests.emulator.helpers import create_namespace, make_client, upload_script
from tests.support.emulator import REPO, EmulatorProcess

READY = re.compile(r"^cfops emulator ready: http://127\.0\.0\.1:(\d+)/client/v4\n$")


def test_cli_prints_the_ready_line_and_stops_cleanly_on_sigint(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "emulator", "--port", "0", "--data-dir", str(tmp_path / "data"), "--quiet"],
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        match = READY.match(line)
        assert match, line
        assert os.path.exists(tmp_path / "data" / "state.sqlite3")
        response = httpx.get("http://127.0.0.1:%s/__emulator/health" % match.group(1), timeout=10, trust_env=False)
        assert response.json() == {"ok": True}
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()


def test_sigterm_exits_0_and_restart_keeps_every_resource(tmp_path, validator):
    with EmulatorProcess(data_dir=tmp_path / "state", token="restart-token") as emu:
        port = emu.port
        emu.add_account("2" * 32, "restart account")
        emu.admin("POST", "/tokens", json={"token": "restart-limited", "account_id": "2" * 32, "owner": "account"})
        with make_client(emu, validator) as api:
            namespace = create_namespace(api, emu.account_id, "persisted")
            api.put("/accounts/%s/storage/kv/namespaces/%s/bulk" % (emu.account_id, namespace),
                    json=[{"key": "k%d" % i, "value": "v%d" % i, "metadata": {"i": i}} for i in range(50)])
            upload_script(api, emu.account_id, "persisted-worker",
                          {"main_module": "index.js", "bindings": [{"type": "kv_namespace", "name": "CACHE", "namespace_id": namespace}]})
            api.put("/accounts/%s/workers/scripts/persisted-worker/secrets" % emu.account_id,
                    json={"name": "API_KEY", "text": "persisted", "type": "secret_text"})
            before = api.get("/accounts/%s/workers/scripts/persisted-worker/settings" % emu.account_id).json()["result"]
            etag = api.get("/accounts/%s/workers/scripts" % emu.account_id).json()["result"][0]["etag"]

        assert emu.stop() == 0
        emu.start()
        assert emu.port == port
        with make_client(emu, validator) as api:
            keys = api.get("/accounts/%s/storage/kv/namespaces/%s/keys" % (emu.account_id, namespace)).json()["result"]
            assert len(keys) == 50 and keys[0] == {"name": "k0", "metadata": {"i": 0}}
            assert api.get("/accounts/%s/storage/kv/namespaces/%s/values/k7" % (emu.account_id, namespace)).text == "v7"
            assert api.get("/accounts/%s/workers/scripts/persisted-worker/settings" % emu.account_id).json()["result"] == before
            assert api.get("/accounts/%s/workers/scripts" % emu.account_id).json()["result"][0]["etag"] == etag
            assert [s["name"] for s in api.get("/accounts/%s/workers/scripts/persisted-worker/secrets" % emu.account_id).json()["result"]] == ["API_KEY"]
        with make_client(emu, validator, token="restart-limited") as limited:
            assert limited.get("/accounts/%s/tokens/verify" % ("2" * 32)).status_code == 200
        assert emu.stop() == 0


def test_the_shared_emulator_survives_a_restart(fresh, api, account_id):
    create_namespace(api, account_id, "across-restart")
    fresh.restart()
    assert [ns["title"] for ns in api.get("/accounts/%s/storage/kv/namespaces" % account_id).json()["result"]] == ["across-restart"]


def test_http_1_1_keep_alive_serves_several_requests_on_one_connection(fresh):
    request = ("GET /client/v4/user/tokens/verify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               "Authorization: Bearer %s\r\n\r\n" % fresh.token).encode()
    put = ("PUT /client/v4/accounts/%s/storage/kv/namespaces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n"
           "Authorization: Bearer %s\r\n\r\n{}" % (fresh.account_id, fresh.token)).encode()
    with socket.create_connection(("127.0.0.1", fresh.port), timeout=10) as sock:
        reader = sock.makefile("rb")
        for payload, status in ((request, b"200"), (put, b"405"), (request, b"200")):
            sock.sendall(payload)
            status_line = reader.readline()
            assert status_line.startswith(b"HTTP/1.1 " + status), status_line
            headers = {}
            while True:
                line = reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _colon, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            assert "close" not in headers.get("connection", "")
            body = reader.read(int(headers["content-length"]))
            assert body.startswith(b'{"success":')


def test_chunked_request_bodies_are_read(fresh, account_id):
    body = b'{"title": "chunked"}'
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    head = ("POST /client/v4/accounts/%s/storage/kv/namespaces HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
            "Content-Type: application/json\r\nAuthorization: Bearer %s\r\n\r\n" % (account_id, fresh.token)).encode()
    with socket.create_connection(("127.0.0.1", fresh.port), timeout=10) as sock:
        sock.sendall(head + chunked)
        assert sock.makefile("rb").readline().startswith(b"HTTP/1.1 200")
