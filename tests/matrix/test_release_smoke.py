"""One end-to-end release per ansible-core line of the support matrix (scripts/test.sh matrix).

``ansible-playbook <checkout>/playbooks/deploy.yml -i <checkout>/inventories/local``, run from another
directory without the checkout's ansible.cfg, with the ansible-core under test
(``CFOPS_MATRIX_BIN``: the bin directory of that line's venv; default: this Python's) deploys the
example Worker to an emulator with its edge (workers.dev on and the health gates off, with ``-e``), and the Worker answers at the edge;
the second run reports ``changed=0`` and makes no write call.
"""
import json
import os
import re
import subprocess
import sys
import urllib.request

import pytest

from tests.support.emulator import EmulatorProcess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("CFOPS_MATRIX_BIN") or os.path.dirname(sys.executable)
RECAP = re.compile(r"^\S+\s+:\s+ok=\d+\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)", re.M)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    with EmulatorProcess(data_dir=str(tmp_path_factory.mktemp("emulator")), edge=True, startup_timeout=90) as emu:
        yield emu


def _deploy(emulator, cwd):
    # From another directory and without the checkout's ansible.cfg, as a user's CI job would run it: the
    # collection is found next to the playbook (playbooks/collections, made by scripts/bootstrap.sh).
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""), CLOUDFLARE_API_BASE_URL=emulator.base_url,
               CLOUDFLARE_API_TOKEN=emulator.token, CLOUDFLARE_ACCOUNT_ID=emulator.account_id, CLOUDFLARE_API_TIMEOUT="10",
               CFOPS_EDGE_URL=emulator.edge_url)
    # The emulator, as Cloudflare, turns workers.dev on only when asked (wrangler asks after an upload). The
    # health gates are off: on main the gate's version marker needs the version_metadata binding the worker
    # role does not set yet (the release work); the test reads the Worker at the edge itself.
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), os.path.join(REPO, "playbooks", "deploy.yml"),
                           "-i", os.path.join(REPO, "inventories", "local"), "-e", "worker_workers_dev=true", "-e", "worker_gate_url="],
                          cwd=str(cwd), env=env, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL, check=False)
    output = proc.stdout + proc.stderr
    recap = [{k: int(v) for k, v in m.groupdict().items()} for m in RECAP.finditer(proc.stdout)]
    assert proc.returncode == 0 and recap and not any(r["failed"] or r["unreachable"] for r in recap), output[-6000:]
    return sum(r["changed"] for r in recap), output


def test_the_ansible_core_under_test_runs_the_playbook():
    version = subprocess.run([os.path.join(BIN, "ansible-playbook"), "--version"], capture_output=True, text=True,
                             timeout=60, check=True).stdout.splitlines()[0]
    expected = os.environ.get("CFOPS_MATRIX_LINE")
    if expected:
        assert "[core %s." % expected in version, version


def test_a_release_deploys_then_a_second_run_changes_nothing(emulator, tmp_path):
    changed, _output = _deploy(emulator, tmp_path)
    assert changed > 0
    request = urllib.request.Request(emulator.edge_url + "/health", headers={"Host": "books-api-local.cfops-local.workers.dev"})
    with urllib.request.urlopen(request, timeout=30) as response:
        health = json.loads(response.read())
    assert response.status == 200 and health["ok"] is True and health["environment"] == "local", health

    emulator.reset_calls()
    changed, output = _deploy(emulator, tmp_path)
    assert changed == 0, output[-6000:]
    assert emulator.calls()["writes"] == 0, emulator.calls()
