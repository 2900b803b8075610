"""r2_object through real ansible-playbook runs: a download whose stored bytes were corrupted, a wrong key pair."""
import os
import sqlite3
import textwrap

import httpx

from tests.e2e.conftest import run_playbook

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


def test_get_of_a_corrupted_object_fails_and_leaves_dest_alone(emulator, tmp_path):
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


def test_a_wrong_key_pair_is_a_clear_error(emulator, tmp_path):
    create_bucket(emulator, "e2e-keys")
    run = run_playbook(emulator, playbook=playbook(tmp_path, """
        - name: List with a secret that does not belong to the key id
          cfops.cloudflare.r2_object:
            mode: list
            bucket: e2e-keys
    """), env={"R2_ACCESS_KEY_ID": emulator.add_token(emulator.token)["id"], "R2_SECRET_ACCESS_KEY": "not-the-secret"})
    assert run.rc != 0
    assert "HTTP 403 SignatureDoesNotMatch" in run.output
    assert "check access_key_id and secret_access_key" in run.output
    assert "not-the-secret" not in run.output
    assert "Traceback" not in run.output
