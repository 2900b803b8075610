"""Start, stop and restart the local Cloudflare API emulator (``python -m emulator``) for tests and scripts.

    with EmulatorProcess(data_dir=tmp_path) as emu:
        httpx.get(emu.base_url + "/accounts", headers={"Authorization": "Bearer " + emu.token})
        emu.inject_fault(method="GET", path="/accounts", action="status", status=503)
        emu.restart()          # same port, same data: state survives
        emu.calls()["writes"]  # admin calls carry the admin token (<data-dir>/admin-token) for you

Standard library only, so any script can use it.
"""
import json as jsonlib  # admin() has a parameter called json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_ACCOUNT_ID = "023e105f4ecef8ad9ca31a8372d0c353"
DEFAULT_TOKEN = "cfops-local-emulator-token"
READY = re.compile(r"^cfops emulator ready: (http://(?P<host>\[[^\]]+\]|[^:/\[]+):(?P<port>\d+))/client/v4\s*$")
ADMIN_TOKEN_FILE = "admin-token"  # written 0600 by the emulator in its data directory (emulator/admin.py)
# The ready line shows the address bound; one that means "every interface" is reached on loopback.
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "[::]": "[::1]"}
EDGE_READY = re.compile(r"^cfops emulator edge: (?P<url>http://[^:/]+:(?P<port>\d+))\s*$")
ADMIN_PREFIX = "/__emulator"
# Proxies from the environment must never see calls to 127.0.0.1.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class EmulatorError(RuntimeError):
    pass


class EmulatorProcess:
    def __init__(self, data_dir=None, port=0, token=None, account_id=None, host="127.0.0.1",
                 startup_timeout=None, stop_timeout=10, edge=False, edge_port=0, zones=(), admin=True):
        self.data_dir = str(data_dir) if data_dir is not None else None
        self.port = port
        self.token = token or DEFAULT_TOKEN
        self.account_id = account_id or DEFAULT_ACCOUNT_ID
        self.host = host
        # workerd's start is ~1 s on an idle machine but 20 s and more on one loaded by parallel test runs.
        self.startup_timeout = startup_timeout if startup_timeout is not None else (90 if edge else 20)
        self.stop_timeout = stop_timeout
        self.zones = list(zones)    # --zone NAME[:PLAN] each; none: the emulator's default example.com
        self.edge = edge            # also run deployed Workers in workerd (--edge-port)
        self.edge_port = edge_port  # 0: a free port, kept across restart()
        self.edge_url = None
        self.admin_enabled = admin  # False: --no-admin, /__emulator/* answers 404 (live-mode rehearsal)
        self.admin_token = None     # read from the data directory once the emulator is ready
        self._owns_data_dir = False
        self._process = None
        self._log = None

    # Lifecycle ------------------------------------------------------------------------------------

    @property
    def running(self):
        return self._process is not None and self._process.poll() is None

    @property
    def log_path(self):
        return os.path.join(self.data_dir, "emulator.log")

    def start(self):
        if self.running:
            raise EmulatorError("the emulator is already running at %s" % self.root_url)
        if self.data_dir is None:
            self.data_dir = tempfile.mkdtemp(prefix="cfops-emulator-")
            self._owns_data_dir = True
        os.makedirs(self.data_dir, exist_ok=True)
        command = [sys.executable, "-m", "emulator", "--port", str(self.port), "--data-dir", self.data_dir,
                   "--token", self.token, "--account-id", self.account_id, "--host", self.host]
        for zone in self.zones:
            command += ["--zone", zone]
        if not self.admin_enabled:
            command.append("--no-admin")
        if self.edge:
            # The ready line waits for the edge: leave the API part of startup_timeout a few seconds.
            command += ["--edge-port", str(self.edge_port), "--edge-timeout", str(max(5, self.startup_timeout - 5))]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        # stderr goes to a file: a pipe nobody reads would fill up and block the emulator.
        self._log = open(self.log_path, "ab")
        self._process = subprocess.Popen(command, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=self._log)
        lines = queue.Queue()
        threading.Thread(target=_pump, args=(self._process.stdout, lines), daemon=True).start()
        try:
            line = lines.get(timeout=self.startup_timeout)
        except queue.Empty:
            line = None
        match = READY.match(line or "")
        if not match:
            self._kill()
            raise EmulatorError("the emulator did not become ready within %ss (first output: %r); stderr:\n%s"
                                % (self.startup_timeout, line, self._log_tail()))
        self.port = int(match["port"])
        self.host = _WILDCARDS.get(match["host"], match["host"])
        self.admin_token = read_admin_token(self.data_dir)
        if self.edge:
            try:
                line = lines.get(timeout=self.startup_timeout)
            except queue.Empty:
                line = None
            edge_match = EDGE_READY.match(line or "")
            if not edge_match:
                self._kill()
                raise EmulatorError("the emulator printed no edge line (got %r); stderr:\n%s" % (line, self._log_tail()))
            self.edge_url = edge_match["url"]
            self.edge_port = int(edge_match["port"])
        return self

    def stop(self):
        """SIGTERM, then wait (SIGKILL after ``stop_timeout``).  Returns the exit code."""
        if self._process is None:
            return None
        process, self._process = self._process, None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=self.stop_timeout)
        if process.stdout:
            process.stdout.close()
        if self._log:
            self._log.close()
            self._log = None
        return process.returncode

    def restart(self):
        """Stop and start again on the same port and data directory."""
        self.stop()
        return self.start()

    def close(self):
        self.stop()
        if self._owns_data_dir and self.data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None
            self._owns_data_dir = False

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.close()

    def _kill(self):
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait(timeout=self.stop_timeout)
            self._process = None
        if self._log:
            self._log.close()
            self._log = None

    def _log_tail(self, size=4000):
        try:
            with open(self.log_path, "rb") as handle:
                return handle.read()[-size:].decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    # URLs ------------------------------------------------------------------------------------------

    @property
    def root_url(self):
        return "http://%s:%d" % (self.host, self.port)

    @property
    def base_url(self):
        return self.root_url + "/client/v4"

    @property
    def s3_url(self):
        """R2's S3-compatible endpoint for the account (path-style addressing, region ``auto``)."""
        return "%s/r2-s3/%s" % (self.root_url, self.account_id)

    # Admin API --------------------------------------------------------------------------------------

    def admin(self, method, path, json=None, timeout=10):
        """Call the admin API; ``path`` is below /__emulator (e.g. "/calls").  Returns the decoded JSON."""
        if not path.startswith(ADMIN_PREFIX):
            path = ADMIN_PREFIX + path
        data = jsonlib.dumps(json).encode("utf-8") if json is not None else None
        headers = dict(self.admin_headers(), **({"Content-Type": "application/json"} if data else {}))
        request = urllib.request.Request(self.root_url + path, data=data, method=method, headers=headers)
        try:
            with _OPENER.open(request, timeout=timeout) as response:
                return jsonlib.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise EmulatorError("%s %s failed with HTTP %d: %s" % (method, path, exc.code, exc.read().decode("utf-8", "replace")))

    def admin_headers(self):
        """The header the admin API needs (``Authorization: Bearer <admin token>``), for a client of one's own."""
        return {"Authorization": "Bearer " + self.admin_token} if self.admin_token else {}

    def health(self):
        return self.admin("GET", "/health")

    def calls(self):
        return self.admin("GET", "/calls")

    def reset_calls(self):
        return self.admin("POST", "/calls/reset")

    def inject_fault(self, **fault):
        """Add a fault (see docs/dev/interfaces.md); returns its id."""
        return self.admin("POST", "/faults", json=fault)["id"]

    def faults(self):
        return self.admin("GET", "/faults")["faults"]

    def clear_faults(self):
        return self.admin("DELETE", "/faults")

    def add_account(self, account_id=None, name=None):
        return self.admin("POST", "/accounts", json={"id": account_id, "name": name})

    def add_token(self, token, account_id=None):
        return self.admin("POST", "/tokens", json={"token": token, "account_id": account_id})

    def reset_state(self):
        return self.admin("POST", "/state/reset")

    # Edge (edge=True) ---------------------------------------------------------------------------------

    def edge_status(self):
        """URL, sidecar pid, reload generations and the last ``setOptions`` time of the edge runtime."""
        return self.admin("GET", "/edge")

    def edge_sync(self, timeout=60):
        """Wait until the edge serves every deployment and route change made so far; True when it does."""
        return self.admin("POST", "/edge/sync", json={"timeout": timeout}, timeout=timeout + 10)["synced"]


def read_admin_token(data_dir):
    """The admin token of the emulator of ``data_dir`` (None when it has not written one)."""
    try:
        with open(os.path.join(data_dir, ADMIN_TOKEN_FILE), encoding="ascii") as handle:
            return handle.read().strip() or None
    except OSError:
        return None


def _pump(stream, lines):
    """Forward the emulator's stdout lines; draining it keeps the emulator from blocking on a full pipe."""
    for raw in iter(stream.readline, b""):
        lines.put(raw.decode("utf-8", "replace"))
    lines.put(None)
