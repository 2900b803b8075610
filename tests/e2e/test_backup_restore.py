"""backup.yml and restore.yml for real: fill an environment in the emulator, back it up, wipe it,
restore it, and compare every KV key/value/metadata, every D1 row and every R2 object byte for byte (and its
content type and metadata). Also: a second restore changes nothing and writes nothing; check mode writes
nothing; the restore from the R2 copy on a machine without the local sets (a fresh AWX job container); a
corrupted or partial set is refused before any write; prod needs confirm=prod; each run ends with one summary
line.

Live-capable (docs/dev/live-mode.md): against a real account every object carries the run prefix (an inventory
generated from inventories/local, tests/live/e2e.py), R2 is read through the account's S3 endpoint with the token's
key pair, and the buckets are emptied and everything the run made is deleted after each test; the call counts
(the no-op restore writes nothing, a damaged set is refused before any write) are the emulator's and skip live.
"""
import base64
import hashlib
import json
import os
import shutil

import httpx
import pytest

from tests.e2e.conftest import run_playbook
from tests.live.e2e import after_test, RunNames, clean_slate, run_names, s3_client, write_inventory
from tests.support.emulator import EmulatorProcess
from tests.support.target import CloudflareTarget

APP = "books-data"
# The names inventories/local gives the example application: the emulator-only backup tests (the other
# test_backup_*.py files, test_fault_convergence.py) run that inventory as it is, with these helpers.
KV_TITLE = "books-api-local-cache"
D1_NAME = "books-local"
R2_BUCKET = "books-local-assets"
UPLOAD_BUCKET = "books-local-backups"
LOCAL_NAMES = RunNames(worker="books-api-local", cache=KV_TITLE, counter="counter-do-local", d1=D1_NAME,
                       r2_bucket=R2_BUCKET, upload_bucket=UPLOAD_BUCKET)


@pytest.fixture(scope="module")
def inventory(target, tmp_path_factory):
    return write_inventory(target, tmp_path_factory.mktemp("backup") / "inventory", release=False)


@pytest.fixture
def fresh(target):
    """A target holding none of this run's objects (the emulator: no resources, faults or counts at all)."""
    clean_slate(target)
    yield target
    after_test(target)


def play(target, inventory, *args, **kwargs):
    return run_playbook(target, *args, inventory=inventory, **kwargs)


class Api:
    def __init__(self, target):
        if isinstance(target, EmulatorProcess):  # an emulator-only test's emulator, with inventories/local's names
            target, self.names = CloudflareTarget.from_emulator(target), LOCAL_NAMES
        else:
            self.names = run_names(target)
        self.target = target
        self.emulator = target.emulator  # None live
        self.http = httpx.Client(base_url=target.base_url, headers={"Authorization": "Bearer " + target.token}, timeout=60)
        self.account = "/accounts/%s" % target.account_id

    def call(self, method, path, **kwargs):
        response = self.http.request(method, self.account + path, **kwargs)
        assert response.status_code < 300, response.text
        return response.json()["result"]

    # KV
    def kv_namespace_id(self, title):
        for namespace in self.call("GET", "/storage/kv/namespaces", params={"per_page": 100}):
            if namespace["title"] == title:
                return namespace["id"]
        return None

    def kv_snapshot(self, title):
        namespace = self.kv_namespace_id(title)
        keys = self.call("GET", "/storage/kv/namespaces/%s/keys" % namespace, params={"limit": 1000})
        snapshot = {}
        for key in keys:
            value = self.http.get(self.account + "/storage/kv/namespaces/%s/values/%s" % (namespace, key["name"]))
            snapshot[key["name"]] = (value.content, key.get("metadata"))
        return snapshot

    # R2 (through the S3-compatible endpoint, with boto3 as an independent client)
    def s3(self):
        # The token's own key pair (id, SHA-256 of the value) at the account's endpoint, as on Cloudflare.
        return s3_client(self.target)

    def r2_snapshot(self, bucket, with_metadata=False):
        s3 = self.s3()
        keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket) for o in page.get("Contents", [])]
        objects = {key: s3.get_object(Bucket=bucket, Key=key) for key in keys}
        if not with_metadata:
            return {key: item["Body"].read() for key, item in objects.items()}
        return {key: (item["Body"].read(), item["ContentType"], {k: v for k, v in item["Metadata"].items() if k != "sha256"})
                for key, item in objects.items()}

    # D1
    def d1_id(self, name):
        for database in self.call("GET", "/d1/database", params={"per_page": 10000}):
            if database["name"] == name:
                return database["uuid"]
        return None

    def d1_query(self, name, sql, params=None):
        return self.call("POST", "/d1/database/%s/query" % self.d1_id(name), json={"sql": sql, "params": params or []})

    def d1_snapshot(self, name):
        tables = [row["name"] for row in self.d1_query(name, "SELECT name FROM sqlite_master WHERE type='table' "
                                                             "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name")[0]["results"]]
        return {table: self.d1_query(name, 'SELECT * FROM "%s" ORDER BY rowid' % table)[0]["results"] for table in tables}


def fill(api):
    KV_TITLE, D1_NAME, R2_BUCKET, UPLOAD_BUCKET = api.names.cache, api.names.d1, api.names.r2_bucket, api.names.upload_bucket
    namespace = api.call("POST", "/storage/kv/namespaces", json={"title": KV_TITLE})["id"]
    entries = [{"key": "book:%04d" % i, "value": "title %d ✓" % i, "metadata": {"n": i}} for i in range(300)]
    entries.append({"key": "blob", "value": base64.b64encode(bytes(range(256))).decode(), "base64": True})
    api.call("PUT", "/storage/kv/namespaces/%s/bulk" % namespace, json=entries)
    api.call("POST", "/d1/database", json={"name": D1_NAME})
    api.d1_query(D1_NAME, "CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT NOT NULL, cover BLOB, price REAL)")
    api.d1_query(D1_NAME, "CREATE TABLE authors (name TEXT PRIMARY KEY, born INTEGER)")
    rows = [("it's book %d" % i, i / 3) for i in range(200)]
    for start in range(0, len(rows), 40):  # D1 binds at most 100 parameters per statement
        chunk = rows[start:start + 40]
        api.d1_query(D1_NAME, "INSERT INTO books (title, cover, price) VALUES " + ", ".join(["(?, X'00ff10', ?)"] * len(chunk)),
                     [value for row in chunk for value in row])
    api.d1_query(D1_NAME, "INSERT INTO authors VALUES ('O''Brien', 1910), ('Ada', NULL)")
    api.call("POST", "/r2/buckets", json={"name": R2_BUCKET})
    api.call("POST", "/r2/buckets", json={"name": UPLOAD_BUCKET})
    s3 = api.s3()
    s3.put_object(Bucket=R2_BUCKET, Key="covers/1.png", Body=bytes(range(256)) * 4000)
    s3.put_object(Bucket=R2_BUCKET, Key="covers/deep/2.bin", Body=os.urandom(300_000))
    s3.put_object(Bucket=R2_BUCKET, Key="index.html", Body="<h1>books ✓</h1>".encode(), ContentType="text/html",
                  Metadata={"owner": "books"})
    s3.put_object(Bucket=R2_BUCKET, Key="odd keys/ünïcode ✓ & más.txt", Body=b"odd")


def wipe(api):
    KV_TITLE, D1_NAME, R2_BUCKET = api.names.cache, api.names.d1, api.names.r2_bucket
    namespace = api.kv_namespace_id(KV_TITLE)
    keys = [key["name"] for key in api.call("GET", "/storage/kv/namespaces/%s/keys" % namespace, params={"limit": 1000})]
    api.call("POST", "/storage/kv/namespaces/%s/bulk/delete" % namespace, json=keys)
    api.call("PUT", "/storage/kv/namespaces/%s/values/%s" % (namespace, "stray"), content=b"not in the backup")
    api.call("DELETE", "/d1/database/%s" % api.d1_id(D1_NAME))
    s3 = api.s3()
    s3.delete_object(Bucket=R2_BUCKET, Key="covers/1.png")
    s3.put_object(Bucket=R2_BUCKET, Key="index.html", Body=b"defaced")
    s3.put_object(Bucket=R2_BUCKET, Key="stray.txt", Body=b"not in the backup")


def local_backup_vars(root, **extra):
    """backup_vars for inventories/local's names (the emulator-only backup tests)."""
    return backup_vars(LOCAL_NAMES, root, **extra)


def backup_vars(names, root, **extra):
    return json.dumps(dict({"backup_root": str(root), "backup_kv_namespaces": [names.cache], "backup_d1_databases": [names.d1],
                            "backup_r2_buckets": [names.r2_bucket]}, **extra))


def snapshot(api):
    return {"kv": api.kv_snapshot(api.names.cache), "d1": api.d1_snapshot(api.names.d1),
            "r2": api.r2_snapshot(api.names.r2_bucket, True)}


def the_set(root):
    (name,) = [name for name in os.listdir(root / APP) if not name.startswith(".")]  # .lock is the directory's lock
    return name, root / APP / name


def summary_line(output, word):
    """The summary message (``<word> of <application> ...``), unfolded from the callback's line wrapping."""
    text = " ".join(output.split())
    start = text.rfind("%s of %s" % (word, APP))
    assert start >= 0, output[-3000:]
    return text[start:text.find(" PLAY RECAP", start)]


@pytest.fixture
def filled(fresh):
    api = Api(fresh)
    fill(api)
    return api


@pytest.mark.timeout(900)  # four playbook runs
def test_round_trip_is_byte_identical_and_a_second_restore_is_a_no_op(filled, fresh, inventory, names, only, tmp_path):
    api = filled
    before = snapshot(api)
    assert len(before["kv"]) == 301 and len(before["d1"]["books"]) == 200 and len(before["r2"]) == 4
    backup = play(fresh, inventory, "-e", backup_vars(names, tmp_path), "-e", "backup_upload_bucket=" + names.upload_bucket,
                  playbook="playbooks/backup.yml")
    assert backup.rc == 0, backup.output
    set_name, set_dir = the_set(tmp_path)
    line = summary_line(backup.output, "Backup")
    assert set_name in line and "1 KV namespace(s) (301 keys)" in line and "1 R2 bucket(s) (4 objects)" in line, line
    # The set was copied to R2 too: every file and the manifest, byte for byte, then the marker that it is whole.
    uploaded = api.r2_snapshot(names.upload_bucket)
    prefix = "backups/local/%s/%s/" % (APP, set_name)
    local = {prefix + path.relative_to(set_dir).as_posix(): path.read_bytes() for path in set_dir.rglob("*") if path.is_file()}
    assert {key: value for key, value in uploaded.items() if key.startswith(prefix)} == local
    assert uploaded["backups/local/%s/%s.complete" % (APP, set_name)] == (set_name + "\n").encode()
    manifest = json.loads((set_dir / "manifest.json").read_text())
    assert manifest["format"] == 2 and manifest["application"] == APP
    assert {item["kind"]: item["name"] for item in manifest["items"]} == {"kv": names.cache, "d1": names.d1, "r2": names.r2_bucket}
    for relative, entry in manifest["files"].items():
        data = (set_dir / relative).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and hashlib.md5(data).hexdigest() == entry["md5"]

    wipe(api)
    wiped = {"kv": api.kv_snapshot(names.cache), "r2": api.r2_snapshot(names.r2_bucket, True), "d1": api.d1_id(names.d1)}
    only.reset_calls()
    preview = play(fresh, inventory, "--check", "--diff", "-e", backup_vars(names, tmp_path), playbook="playbooks/restore.yml")
    assert preview.rc == 0, preview.output
    assert preview.changed > 0
    only("check mode wrote nothing (call counts)", lambda emu: emu.calls()["writes"] == 0)
    assert "check mode: nothing written" in summary_line(preview.output, "Restore")
    # What a user can see: the check run changed nothing (the D1 database is still gone).
    assert {"kv": api.kv_snapshot(names.cache), "r2": api.r2_snapshot(names.r2_bucket, True), "d1": api.d1_id(names.d1)} == wiped

    restore = play(fresh, inventory, "-e", backup_vars(names, tmp_path), playbook="playbooks/restore.yml")
    assert restore.rc == 0, restore.output
    assert snapshot(api) == before
    line = summary_line(restore.output, "Restore")
    assert "from set %s (local" % set_name in line and "D1 %s (created): replaced" % names.d1 in line, line
    assert "R2 %s: 1 added, 1 changed, 1 removed, 2 unchanged objects" % names.r2_bucket in line, line

    only.reset_calls()
    again = play(fresh, inventory, "-e", backup_vars(names, tmp_path), playbook="playbooks/restore.yml")
    assert again.rc == 0, again.output
    assert again.changed == 0, again.output
    assert "0 added, 0 changed, 0 removed, 4 unchanged objects" in summary_line(again.output, "Restore")
    only("the second restore wrote nothing (call counts)", lambda emu: emu.calls()["writes"] == 0)
    # A no-op restore of a bucket only lists it.
    only("the no-op restore's only S3 call is one ListObjectsV2 (call counts)", lambda emu: {
        call["route"]: call["count"] for call in emu.calls()["calls"] if call["route"].startswith("s3:")} == {"s3:ListObjectsV2": 1})
    assert snapshot(api) == before
    only.done()


@pytest.mark.timeout(900)
def test_restore_from_the_r2_copy_where_no_local_set_exists(filled, fresh, inventory, names, only, tmp_path):
    api = filled
    before = snapshot(api)
    backup = play(fresh, inventory, "-e", backup_vars(names, tmp_path / "first-machine"),
                  "-e", "backup_upload_bucket=" + names.upload_bucket, playbook="playbooks/backup.yml")
    assert backup.rc == 0, backup.output
    set_name, _set_dir = the_set(tmp_path / "first-machine")
    # A second set that never finished uploading (no marker) must not be picked.
    api.s3().put_object(Bucket=names.upload_bucket, Key="backups/local/%s/29991231T235959Z-00000000/kv/x.jsonl" % APP, Body=b"{}")
    wipe(api)
    only.reset_calls()
    restore = play(fresh, inventory, "-e", backup_vars(names, tmp_path / "fresh-machine", backup_upload_bucket=names.upload_bucket),
                   playbook="playbooks/restore.yml")
    assert restore.rc == 0, restore.output
    assert snapshot(api) == before
    assert "from set %s (r2://%s/backups/local/%s/%s/)" % (set_name, names.upload_bucket, APP, set_name) in summary_line(
        restore.output, "Restore")
    assert not (tmp_path / "fresh-machine").exists() or not any((tmp_path / "fresh-machine").rglob("*.sql"))
    only.reset_calls()
    again = play(fresh, inventory, "-e", backup_vars(names, tmp_path / "fresh-machine", backup_upload_bucket=names.upload_bucket),
                 playbook="playbooks/restore.yml")
    assert again.rc == 0 and again.changed == 0, again.output
    only("the second restore wrote nothing (call counts)", lambda emu: emu.calls()["writes"] == 0)
    assert snapshot(api) == before
    only.done()


def damages(names):
    return {
        "corrupt": "d1/%s.sql does not match its sha256 in the manifest" % names.d1,
        "truncate": "d1/%s.sql has" % names.d1,
        "partial": "No complete backup set in",
    }


@pytest.mark.timeout(900)  # five playbook runs
def test_a_damaged_set_is_refused_before_any_write(filled, fresh, inventory, names, only, tmp_path):
    api = filled
    original = tmp_path / "original"
    backup = play(fresh, inventory, "-e", backup_vars(names, original), playbook="playbooks/backup.yml")
    assert backup.rc == 0, backup.output
    set_name, _set_dir = the_set(original)
    before = snapshot(api)
    for damage, expected in damages(names).items():
        root = tmp_path / damage
        shutil.copytree(original, root)
        dump = root / APP / set_name / "d1" / (names.d1 + ".sql")
        if damage == "corrupt":
            data = bytearray(dump.read_bytes())
            data[-5] ^= 0x01
            dump.write_bytes(bytes(data))
        elif damage == "truncate":
            dump.write_bytes(dump.read_bytes()[:-100])
        else:
            (root / APP / set_name / "manifest.json").unlink()
        only.reset_calls()
        restore = play(fresh, inventory, "-e", backup_vars(names, root), playbook="playbooks/restore.yml")
        assert restore.rc != 0, damage
        assert expected in restore.output, restore.output
        only("a damaged set was refused before any write (call counts)", lambda emu: emu.calls()["writes"] == 0)
    assert snapshot(api) == before   # what a user can see: nothing was restored over the data
    # Naming the partial set explicitly is refused too, with the reason.
    restore = play(fresh, inventory, "-e", backup_vars(names, tmp_path / "partial"), "-e", "restore_set=" + set_name,
                   "-e", "restore_source=local", playbook="playbooks/restore.yml")
    assert restore.rc != 0
    assert "has no manifest.json: it is partial" in restore.output, restore.output
    only.done()


@pytest.mark.parametrize("missing", ["backup_upload_bucket", "backup_kv_namespaces", "backup_r2_buckets"])
def test_a_missing_source_or_upload_bucket_fails_before_the_export(filled, fresh, inventory, names, only, tmp_path, missing):
    wrong = {"backup_upload_bucket": names.upload_bucket + "-nothing", "backup_kv_namespaces": [target_name(names, "not-a-namespace")],
             "backup_r2_buckets": [target_name(names, "not-a-bucket")]}[missing]
    message = {"backup_upload_bucket": names.upload_bucket + "-nothing",
               "backup_kv_namespaces": "No KV namespace titled %s in the account; nothing was exported." % wrong[0],
               "backup_r2_buckets": "s3://%s failed with HTTP 404 NoSuchBucket" % wrong[0]}[missing]
    only.reset_calls()
    backup = play(fresh, inventory, "-e", backup_vars(names, tmp_path, **{missing: wrong}), playbook="playbooks/backup.yml")
    assert backup.rc != 0
    assert message in " ".join(backup.output.split()), backup.output
    assert not (tmp_path / APP).exists()  # no set was started
    only("no export call was made (the emulator's call log)", lambda emu: not {call["route"] for call in emu.calls()["calls"]} & {
        "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk/get",
        "/accounts/{account_id}/d1/database/{database_id}/export", "s3:GetObject"})
    only.done()


def target_name(names, suffix):
    """A name under the run prefix that no object has (the prefix of ``names.worker``)."""
    return names.worker[:-len("books-api")] + suffix


def test_prod_restore_needs_confirmation(fresh, names, only, tmp_path):
    only.reset_calls()
    result = run_playbook(fresh, "-e", backup_vars(names, tmp_path), playbook="playbooks/restore.yml", inventory="inventories/prod")
    assert result.rc != 0
    assert "prod is protected: re-run with -e confirm=prod" in result.output
    only("nothing was called (call counts)", lambda emu: emu.calls()["writes"] == 0)
    only.done()
