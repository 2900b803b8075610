"""Cloudflare's own clients, unmodified, against the emulator: wrangler (pinned in
emulator/runtime/package-lock.json) and the official Python SDK (pinned in constraints.txt).

A test here proves the emulator answers the way those clients expect from the live API: if wrangler
or the SDK fails against the emulator, the emulator is wrong (or the test drives the client wrongly),
never the client.
"""
import dataclasses
import json
import os
import shutil
import subprocess

import cloudflare
import httpx
import pytest

from tests.support.emulator import REPO, EmulatorProcess

WRANGLER_JS = os.path.join(REPO, "emulator", "runtime", "node_modules", "wrangler", "bin", "wrangler.js")
WRANGLER_TIMEOUT = 180


@dataclasses.dataclass
class WranglerRun:
    args: list
    rc: int
    stdout: str
    stderr: str

    @property
    def output(self):
        return self.stdout + self.stderr

    def json(self):
        return json.loads(self.stdout)


class Wrangler:
    """Runs ``node wrangler.js ARGS`` in a project directory with the emulator's credentials.

    The environment is wrangler's documented one (CLOUDFLARE_API_BASE_URL, CLOUDFLARE_API_TOKEN,
    CLOUDFLARE_ACCOUNT_ID); HOME and XDG dirs are per test so no user config, cache or login is read
    or written, and telemetry is off.
    """

    def __init__(self, emulator, home, project):
        self.emulator = emulator
        self.home = str(home)
        self.project = str(project)

    def env(self, extra=None):
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": self.home,
            "XDG_CONFIG_HOME": os.path.join(self.home, ".config"),
            "XDG_CACHE_HOME": os.path.join(self.home, ".cache"),
            "CLOUDFLARE_API_BASE_URL": self.emulator.base_url,
            "CLOUDFLARE_API_TOKEN": self.emulator.token,
            "CLOUDFLARE_ACCOUNT_ID": self.emulator.account_id,
            "WRANGLER_SEND_METRICS": "false",
            "WRANGLER_SEND_ERROR_REPORTS": "false",
            "WRANGLER_HIDE_BANNER": "true",
            "WRANGLER_LOG_PATH": os.path.join(self.home, "wrangler-logs"),
            "CI": "true",
            "NO_COLOR": "1",
            "FORCE_COLOR": "0",
            "NO_PROXY": "127.0.0.1,localhost",
        }
        env.update(extra or {})
        return env

    def __call__(self, *args, check=True, env=None, cwd=None, timeout=WRANGLER_TIMEOUT, input=None):
        node = shutil.which("node")
        assert node, "wrangler needs node on PATH"
        proc = subprocess.run(
            [node, WRANGLER_JS, *args], cwd=cwd or self.project, env=self.env(env), capture_output=True, text=True,
            timeout=timeout, input=input, stdin=None if input is not None else subprocess.DEVNULL, check=False)
        run = WranglerRun(list(args), proc.returncode, proc.stdout, proc.stderr)
        if check:
            assert run.rc == 0, "wrangler %s failed (exit %d):\n%s" % (" ".join(args), run.rc, run.output[-6000:])
        return run


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    if not os.path.exists(WRANGLER_JS):
        pytest.fail("wrangler is not installed: run scripts/bootstrap.sh (npm ci in emulator/runtime)")
    with EmulatorProcess(data_dir=str(tmp_path_factory.mktemp("emulator"))) as emu:
        yield emu


@pytest.fixture
def fresh(emulator):
    """The shared emulator with no resources, no faults and zeroed counts."""
    emulator.clear_faults()
    emulator.reset_state()
    emulator.reset_calls()
    yield emulator
    emulator.clear_faults()


@pytest.fixture
def project(tmp_path):
    """An empty wrangler project directory (tests write wrangler.jsonc and code into it)."""
    path = tmp_path / "project"
    path.mkdir()
    return path


@pytest.fixture
def wrangler(fresh, tmp_path, project):
    home = tmp_path / "home"
    home.mkdir()
    return Wrangler(fresh, home, project)


@pytest.fixture
def sdk(fresh):
    """The official Cloudflare SDK pointed at the emulator (no retries: a failure must show)."""
    http = httpx.Client(timeout=30, trust_env=False)
    client = cloudflare.Cloudflare(api_token=fresh.token, base_url=fresh.base_url, http_client=http, max_retries=0)
    yield client
    client.close()
