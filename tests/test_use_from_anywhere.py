"""The playbooks work from any directory, without the checkout's ansible.cfg: scripts/bootstrap.sh links the
checkout as playbooks/collections/ansible_collections/cfops/cloudflare, the collections directory Ansible
always searches next to a playbook. (tests/matrix/test_release_smoke.py runs a real deploy that way.)"""
import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
BIN = pathlib.Path(sys.executable).parent
PLAYBOOKS = sorted(p.name for p in (REPO / "playbooks").glob("*.yml"))
LINK = REPO / "playbooks" / "collections" / "ansible_collections" / "cfops" / "cloudflare"


def _clean_env():
    return {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}


def test_bootstrap_made_the_playbook_adjacent_link_and_git_ignores_it():
    assert LINK.is_symlink() and LINK.resolve() == REPO, "run scripts/bootstrap.sh"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(LINK)], cwd=REPO, check=False).returncode
    assert ignored == 0, "playbooks/collections/ must be git-ignored (ansible-test refuses committed links to directories)"


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_the_playbook_loads_from_another_directory_without_ansible_cfg(playbook, tmp_path):
    proc = subprocess.run([str(BIN / "ansible-playbook"), str(REPO / "playbooks" / playbook), "-i",
                           str(REPO / "inventories" / "local"), "--syntax-check"],
                          cwd=tmp_path, env=_clean_env(), capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
