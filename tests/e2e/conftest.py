"""Run the collection's playbooks for real (ansible-playbook subprocesses) against the emulator."""
import dataclasses
import os
import re
import subprocess
import sys

import pytest

from tests.live.e2e import EmulatorChecks, run_names
from tests.support.emulator import EmulatorProcess
from tests.support.target import live_or_emulator

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
PAID_ZONE = "pro.example.com"
RECAP = re.compile(r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)", re.M)


@dataclasses.dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str

    @property
    def output(self):
        return self.stdout + self.stderr

    @property
    def recap(self):
        return {m["host"]: {k: int(m[k]) for k in ("ok", "changed", "unreachable", "failed")} for m in RECAP.finditer(self.stdout)}

    @property
    def changed(self):
        return sum(host["changed"] for host in self.recap.values())


def run_playbook(emulator, *args, playbook="playbooks/deploy.yml", inventory="inventories/local", env=None, timeout=600):
    """ansible-playbook from the repo root, pointed at ``emulator`` through the environment."""
    run_env = dict(os.environ)
    run_env.update({
        "ANSIBLE_CONFIG": os.path.join(REPO, "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "PATH": BIN + os.pathsep + run_env.get("PATH", ""),
        "CLOUDFLARE_API_BASE_URL": emulator.base_url,
        "CLOUDFLARE_API_TOKEN": emulator.token,
        "CLOUDFLARE_ACCOUNT_ID": emulator.account_id,
        # Short, bounded retries keep fault tests quick; the defaults are for real networks.
        "CLOUDFLARE_API_TIMEOUT": "10",
    })
    if getattr(emulator, "edge_url", None):
        # inventories/local's health gates probe the deployed Worker on the emulator's edge.
        run_env["CFOPS_EDGE_URL"] = emulator.edge_url
    run_env.update(env or {})
    proc = subprocess.run(
        [os.path.join(BIN, "ansible-playbook"), playbook, "-i", inventory, *args],
        cwd=REPO, env=run_env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False,
    )
    return PlaybookRun(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    # With the edge: playbooks/deploy.yml gates each release on the Worker's real responses.
    # example.com on Free (the Free plan's limits are tested on it) and a Pro zone for what Free zones lack
    # (health checks: PAID_ZONE).
    with EmulatorProcess(data_dir=str(tmp_path_factory.mktemp("emulator")), edge=True, startup_timeout=90,
                         zones=["example.com", PAID_ZONE + ":pro"]) as emu:
        yield emu


@pytest.fixture
def fresh(emulator):
    """The shared emulator with no resources, no faults and zeroed counts."""
    emulator.clear_faults()
    emulator.reset_state()
    emulator.reset_calls()
    yield emulator
    emulator.clear_faults()


# The live-capable files (test_deploy, test_release, test_backup_restore, test_awx_backup, test_r2_object; tests/live/e2e.py)


@pytest.fixture(scope="module")
def target(request):
    """The account in live mode, else the e2e emulator; what the run made (its prefix) is deleted after the module."""
    with live_or_emulator(lambda: request.getfixturevalue("emulator")) as found:
        yield found


@pytest.fixture(scope="module")
def names(target):
    """The example application's object names, with the target's run prefix."""
    return run_names(target)


@pytest.fixture
def only(target):
    """Emulator-only checks inside a live-capable test: run at once on the emulator, one named skip live."""
    return EmulatorChecks(target)
