"""r2_object through real ansible-playbook runs: a download whose stored bytes were corrupted, a wrong key pair.

Live-capable (docs/dev/live-mode.md): ``scripts/test.sh live`` runs this file against the account; the corrupted
download needs the emulator's stored files and is skipped there (emulator-only), the wrong key pair runs on both.
"""
import os
import sqlite3
import textwrap

import httpx

from tests.e2e.conftest import run_playbook
from tests.support.target import TargetError

PLAY = """
- name: r2_object end to end
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
%s
"""


def token_id(target):
    """The id of the target's API token, which is R2's access key id: an account token is verified at the account
    path, a user token at the user path (emulator/fidelity/accounts.yml)."""
    try:
        return target.api("GET", "/accounts/%s/tokens/verify" % target.account_id)["result"]["id"]
    except TargetError:
        return target.api("GET", "/user/tokens/verify")["result"]["id"]


def playbook(tmp_path, tasks):
    path = tmp_path / "play.yml"
    path.write_text(PLAY % textwrap.indent(textwrap.dedent(tasks), "    "))
    return str(path)


def create_bucket(emulator, name):
    response = httpx.post(emulator.base_url + "/accounts/%s/r2/buckets" % emulator.account_id, json={"name": name},
                          headers={"Authorization": "Bearer " + emulator.token})
    assert response.status_code in (200, 409), response.text


def stored_file(emulator, bucket, key):
    with sqlite3.connect(os.path.join(emulator.data_dir, "state.sqlite3")) as db:
        bucket_id, file_name = db.execute(
            "SELECT b.id, o.file FROM r2_objects o JOIN r2_buckets b ON b.id = o.bucket_id WHERE b.name = ? AND o.key = ?",
            (bucket, key)).fetchone()
    return os.path.join(emulator.data_dir, "r2", bucket_id, file_name)


def test_get_of_a_corrupted_object_fails_and_leaves_dest_alone(target, tmp_path):
    emulator = target.require_emulator("corrupting an object's stored bytes in the emulator's files")
    create_bucket(emulator, "e2e-corrupt")
    dest = tmp_path / "restored.txt"
    dest.write_text("the previous content\n")
    put = run_playbook(emulator, playbook=playbook(tmp_path, """
        - name: Put an object
          cfops.cloudflare.r2_object:
            mode: put
            bucket: e2e-corrupt
            key: data.txt
            content: "the original bytes of the object"
    """))
    assert put.rc == 0, put.output
    path = stored_file(emulator, "e2e-corrupt", "data.txt")
    with open(path, "r+b") as handle:  # same size, other bytes: only a checksum can tell
        handle.write(b"THE")
    got = run_playbook(emulator, playbook=playbook(tmp_path, """
        - name: Get the object
          cfops.cloudflare.r2_object:
            mode: get
            bucket: e2e-corrupt
            key: data.txt
            dest: %s
    """ % dest))
    assert got.rc != 0
    assert "s3://e2e-corrupt/data.txt: checksum mismatch: the content's SHA-256 is" in got.output
    assert "was not written" in got.output
    assert dest.read_text() == "the previous content\n"
    assert sorted(os.listdir(tmp_path)) == ["play.yml", "restored.txt"]  # no temporary file left behind
    assert "Traceback" not in got.output


def test_a_wrong_key_pair_is_a_clear_error(target, tmp_path):
    bucket = target.name("e2e-keys")
    target.api("POST", "/accounts/%s/r2/buckets" % target.account_id, json={"name": bucket})
    run = run_playbook(target, playbook=playbook(tmp_path, """
        - name: List with a secret that does not belong to the key id
          cfops.cloudflare.r2_object:
            mode: list
            bucket: %s
    """ % bucket), env={"R2_ACCESS_KEY_ID": token_id(target), "R2_SECRET_ACCESS_KEY": "not-the-secret"})
    assert run.rc != 0
    assert "HTTP 403 SignatureDoesNotMatch" in run.output
    assert "check access_key_id and secret_access_key" in run.output
    assert "not-the-secret" not in run.output
    assert "Traceback" not in run.output
