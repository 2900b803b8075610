"""At -vvvv, with --diff, on create, no-op and rotation runs, no secret value reaches the output."""
import hashlib
import json
import os
import sys
import time
import uuid

import httpx
import pytest

from tests.e2e.conftest import REPO, run_playbook
from tests.support.emulator import EmulatorProcess


@pytest.fixture
def private_emulator(tmp_path):
    # Its own token, so the test can also prove the API token never shows.
    # With the edge: the deploys gate the Worker on its real responses.
    with EmulatorProcess(data_dir=str(tmp_path / "emu"), token="tok-" + uuid.uuid4().hex, edge=True) as emu:
        yield emu


def test_secret_and_token_never_appear_at_vvvv(private_emulator):
    secret, rotated = "s3cret-" + uuid.uuid4().hex, "r0tated-" + uuid.uuid4().hex
    env, env_rotated = {"BOOKS_API_KEY": secret}, {"BOOKS_API_KEY": rotated}
    runs = [
        run_playbook(private_emulator, "-vvvv", "--diff", env=env),  # create
        run_playbook(private_emulator, "-vvvv", "--diff", env=env),  # no-op
        # A rotated value is a new release (the fingerprint covers a keyed digest of the values): plan it, then do it.
        run_playbook(private_emulator, "-vvvv", "--diff", "--check", env=env_rotated),
        run_playbook(private_emulator, "-vvvv", "--diff", env=env_rotated),  # rotation
    ]
    for run in runs:
        assert run.rc == 0, run.output[-3000:]
        assert secret not in run.output and rotated not in run.output
        assert private_emulator.token not in run.output
    # The rotation really wrote the secret (so the value went through the modules).
    assert runs[2].changed >= 1 and runs[3].changed >= 1


def test_backup_and_restore_at_vvvv_show_neither_the_token_nor_the_derived_r2_secret(private_emulator, tmp_path):
    token = private_emulator.token
    http = httpx.Client(base_url=private_emulator.base_url + "/accounts/" + private_emulator.account_id,
                        headers={"Authorization": "Bearer " + token}, trust_env=False)
    namespace = http.post("/storage/kv/namespaces", json={"title": "books-api-local-cache"}).json()["result"]["id"]
    http.put("/storage/kv/namespaces/%s/values/greeting" % namespace, content=b"hello")
    for bucket in ("books-local-assets", "books-local-backups"):
        assert http.post("/r2/buckets", json={"name": bucket}).status_code == 200
    extra = json.dumps({"backup_root": str(tmp_path / "backups"), "backup_r2_buckets": ["books-local-assets"],
                        "backup_upload_bucket": "books-local-backups"})
    runs = [
        run_playbook(private_emulator, "-vvvv", "--diff", "-e", extra, playbook="playbooks/backup.yml"),
        run_playbook(private_emulator, "-vvvv", "--diff", "-e", extra, playbook="playbooks/restore.yml"),
    ]
    # R2's S3 secret is derived from the token (SHA-256 of its value): it must not show either.
    derived_secret = hashlib.sha256(token.encode()).hexdigest()
    for run in runs:
        assert run.rc == 0, run.output[-3000:]
        assert token not in run.output
        assert derived_secret not in run.output


# --- a set of modules and playbooks/security.yml, every secret marked, at -vvvv --diff ------------------------

MODULES_PLAYBOOK = """
- name: Every secret-carrying option, at -vvvv --diff
  hosts: local
  gather_facts: false
  tasks:
    - name: A namespace
      cfops.cloudflare.kv_namespace:
        title: secrets-e2e
      register: kv
    # No loops over secrets: a loop's item is part of every result Ansible prints.
    - name: A KV secret value (secret is the default)
      cfops.cloudflare.kv_entry:
        namespace_id: "{{ kv.namespace.id }}"
        key: api-key
        value: "{{ marks.kv }}"
    - name: Rotated (the diff's before differs from the value given)
      cfops.cloudflare.kv_entry:
        namespace_id: "{{ kv.namespace.id }}"
        key: api-key
        value: "{{ marks.kv_rotated }}"
    - name: KV entries with secret values
      cfops.cloudflare.kv_entry:
        namespace_id: "{{ kv.namespace.id }}"
        entries:
          - {key: bulk-secret, value: "{{ marks.kv_entries }}"}
    - name: A health check with an Authorization header
      cfops.cloudflare.healthcheck:
        zone: example.com
        name: secret-header-check
        address: books.example.com
        header:
          Authorization: ["{{ marks.header }}"]
    - name: Rotated (Cloudflare's current value differs from the one given)
      cfops.cloudflare.healthcheck:
        zone: example.com
        name: secret-header-check
        address: books.example.com
        header:
          Authorization: ["{{ marks.header_rotated }}"]
    - name: A Worker with a secret
      cfops.cloudflare.worker_script:
        name: secrets-e2e
        main_module: "{{ worker_js }}"
        compatibility_date: "2024-09-23"
        secrets:
          API_KEY: "{{ marks.worker }}"
    - name: Its secret set on its own
      cfops.cloudflare.worker_secret:
        script: secrets-e2e
        name: OTHER_KEY
        value: "{{ marks.worker_secret }}"
    - name: Rotated
      cfops.cloudflare.worker_secret:
        script: secrets-e2e
        name: OTHER_KEY
        value: "{{ marks.worker_secret_rotated }}"
        update_secret: always
    - name: A bucket
      cfops.cloudflare.r2_bucket:
        name: secrets-e2e
    - name: An object whose content is a secret (the S3 key pair is derived from the token)
      cfops.cloudflare.r2_object:
        mode: put
        bucket: secrets-e2e
        key: credentials.txt
        content: "{{ marks.r2_content }}"
    - name: A database
      cfops.cloudflare.d1_database:
        name: secrets-e2e
    - name: A table, and a secret bound as a parameter
      cfops.cloudflare.d1_query:
        database: secrets-e2e
        sql: "CREATE TABLE IF NOT EXISTS keys (name TEXT PRIMARY KEY, value TEXT)"
    - name: Insert the secret
      cfops.cloudflare.d1_query:
        database: secrets-e2e
        sql: "INSERT OR REPLACE INTO keys (name, value) VALUES (?, ?)"
        params: [api, "{{ marks.d1 }}"]
    - name: A failure shows no token either
      cfops.cloudflare.kv_entry:
        namespace_id: "ffffffffffffffffffffffffffffffff"
        key: nowhere
        value: "{{ marks.kv }}"
      ignore_errors: true
"""

WORKER_JS = "export default { fetch() { return new Response('ok'); } };\n"


def shown_forms(secret):
    """The forms a secret can take in a message (see plugins/module_utils/_errors.py:secret_forms)."""
    from urllib.parse import quote  # noqa: PLC0415
    return {secret, repr(secret)[1:-1], quote(secret, safe="")}


def files_written_since(root, since, skip=(".git", ".venv", "node_modules", ".collections", ".tmp")):
    for directory, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in skip]
        for name in names:
            path = os.path.join(directory, name)
            try:
                if os.path.getmtime(path) >= since and os.path.getsize(path) < 20_000_000:
                    yield path
            except OSError:
                continue


def test_modules_and_security_playbook_at_vvvv_diff_show_no_marked_secret(tmp_path):
    started = time.time()
    # A token as a file gives it (trailing newline): it is stripped, and neither form may show.
    token = "tok-%s-MARKTOKEN" % uuid.uuid4().hex
    marks = {kind: "MARK-%s-%s" % (kind, uuid.uuid4().hex) for kind in (
        "kv", "kv_rotated", "kv_entries", "header", "header_rotated", "worker", "worker_secret",
        "worker_secret_rotated", "r2_content", "d1")}
    marks["header"] = "Bearer " + marks["header"]
    # example.com on Pro: health checks need a Pro plan or higher.
    with EmulatorProcess(data_dir=str(tmp_path / "emu"), token=token, zones=["example.com:pro"]) as emu:
        (tmp_path / "worker.js").write_text(WORKER_JS)
        (tmp_path / "modules.yml").write_text(MODULES_PLAYBOOK)
        (tmp_path / "hosts.ini").write_text("local ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
        (tmp_path / "vars.json").write_text(json.dumps({"marks": marks, "worker_js": str(tmp_path / "worker.js")}))
        env = {"CLOUDFLARE_API_TOKEN": token + "\n"}
        modules = run_playbook(emu, "-vvvv", "--diff", "-e", "@%s" % (tmp_path / "vars.json"),
                               playbook=str(tmp_path / "modules.yml"), inventory=str(tmp_path / "hosts.ini"), env=env)
        assert modules.rc == 0, modules.output[-3000:]
        assert modules.changed >= 10, modules.stdout[-2000:]
        # The values really went through: the rotated KV value is what the API holds.
        namespace = [ns for ns in _api(emu, token, "GET", "/accounts/%s/storage/kv/namespaces" % emu.account_id)
                     if ns["title"] == "secrets-e2e"][0]["id"]
        response = httpx.get("%s/accounts/%s/storage/kv/namespaces/%s/values/api-key" % (emu.base_url, emu.account_id, namespace),
                             headers={"Authorization": "Bearer " + token}, timeout=10, trust_env=False)
        assert response.text == marks["kv_rotated"]

        security_marks = {"Authorization": ["Bearer " + marks["header_rotated"] + "-security"]}
        health = [{"name": "books-api-health", "address": "books.example.com", "path": "/health", "header": security_marks}]
        # From a vars file, as secrets come (at -vvvv ansible-playbook prints its command line, -e values included).
        (tmp_path / "security.json").write_text(json.dumps({"edge_security_healthchecks": health}))
        security = run_playbook(emu, "-vvvv", "--diff", "-e", "@%s" % (tmp_path / "security.json"),
                                playbook="playbooks/security.yml", env=env)
        assert security.rc == 0, security.output[-3000:]
        hidden = dict(marks, token=token, security_header=security_marks["Authorization"][0],
                      r2_secret=hashlib.sha256(token.encode()).hexdigest())
        outputs = {"modules": modules.output, "security": security.output}
        # The emulator's state holds the secrets (it is Cloudflare here); its log must not.
        written = list(files_written_since(REPO, started)) + [emu.log_path]
        for path in written:
            with open(path, "rb") as handle:
                outputs[path] = handle.read().decode("utf-8", "replace")
        leaks = sorted("%s shows %s" % (where, kind) for where, text in outputs.items()
                       for kind, secret in hidden.items() for form in shown_forms(secret) if form in text)
        assert leaks == [], "\n".join(leaks)


def _api(emu, token, method, path):
    response = httpx.request(method, emu.base_url + path, headers={"Authorization": "Bearer " + token}, timeout=10,
                             trust_env=False)
    return response.json()["result"]
