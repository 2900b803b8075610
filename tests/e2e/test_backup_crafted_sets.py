"""Sets that cannot lie: restore.yml on crafted backup sets - path traversal, absolute paths, symlinked files and
directories, duplicate entries, sizes that lie, a manifest that omits files. Each is refused before any write
(the emulator counts none), naming the problem, and nothing outside the set is read into Cloudflare."""
import hashlib
import json
import os
import shutil

import pytest

from tests.e2e.conftest import run_playbook
from tests.e2e.test_backup_restore import APP, R2_BUCKET, Api, local_backup_vars, fill

SECRET = b'{"base64":false,"expiration":null,"key":"stolen","metadata":null,"value":"controller secret"}\n'


def entry(data):
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "md5": hashlib.md5(data).hexdigest()}


class Crafted:
    """A copy of a good set to tamper with, and a file outside it the attacker wants read."""

    def __init__(self, original, root, outside):
        shutil.copytree(original, root)
        (name,) = [n for n in os.listdir(root / APP) if not n.startswith(".")]
        self.root, self.set = root, root / APP / name
        self.outside = outside
        self.manifest = json.loads((self.set / "manifest.json").read_text())

    def item(self, kind):
        return next(item for item in self.manifest["items"] if item["kind"] == kind)

    def save(self, text=None):
        (self.set / "manifest.json").write_text(text if text is not None else json.dumps(self.manifest, indent=2))


def traversal(crafted):
    relative = os.path.relpath(crafted.outside, crafted.set)  # ../../../outside.jsonl
    kv = crafted.item("kv")
    del crafted.manifest["files"][kv["files"][0]]
    os.unlink(crafted.set / kv["files"][0])
    kv["files"] = [relative]
    crafted.manifest["files"][relative] = entry(SECRET)
    crafted.save()
    return "is not normalised ('.', '..' or empty segments) or leaves the set"


def absolute(crafted):
    d1 = crafted.item("d1")
    evil = crafted.outside.with_name("evil.sql")
    evil.write_bytes(b"DROP TABLE books;\n")
    del crafted.manifest["files"][d1["files"][0]]
    os.unlink(crafted.set / d1["files"][0])
    d1["files"] = [str(evil)]
    crafted.manifest["files"][str(evil)] = entry(evil.read_bytes())
    crafted.save()
    return "'%s' is absolute" % evil


def symlinked_file(crafted):
    kv = crafted.item("kv")
    path = crafted.set / kv["files"][0]
    crafted.outside.write_bytes(path.read_bytes())  # the same bytes: only the link gives it away
    path.unlink()
    os.symlink(crafted.outside, path)
    return "%s is a symlink" % kv["files"][0]


def symlinked_directory(crafted):
    controller = crafted.outside.parent / "controller-files"
    controller.mkdir(exist_ok=True)
    bucket_dir = crafted.set / "r2" / R2_BUCKET
    for path in bucket_dir.rglob("*"):
        if path.is_file():
            target = controller / path.relative_to(bucket_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
    shutil.rmtree(bucket_dir)
    os.symlink(controller, bucket_dir)
    return "r2/%s is a symlink" % R2_BUCKET


def duplicate_file_key(crafted):
    text = json.dumps(crafted.manifest, indent=2)
    kv_file = crafted.item("kv")["files"][0]
    first = '"%s": {' % kv_file
    text = text.replace(first, '"%s": {"bytes": 1, "sha256": "%s"}, %s' % (kv_file, "0" * 64, first), 1)
    crafted.save(text)
    return "%s is listed more than once" % kv_file


def duplicate_item(crafted):
    crafted.manifest["items"].append(dict(crafted.item("d1")))
    crafted.save()
    return "is listed twice"


def file_in_two_items(crafted):
    crafted.manifest["items"].append({"kind": "kv", "name": "another-namespace", "files": crafted.item("kv")["files"]})
    crafted.save()
    return "also belongs to"


def size_lies(crafted):
    d1_file = crafted.item("d1")["files"][0]
    crafted.manifest["files"][d1_file]["bytes"] += 10
    crafted.save()
    return "%s has %d bytes, the manifest says %d" % (d1_file, (crafted.set / d1_file).stat().st_size,
                                                      (crafted.set / d1_file).stat().st_size + 10)


def item_size_lies(crafted):
    crafted.item("kv")["bytes"] = 1
    crafted.save()
    return "says 1 bytes, its files have"


def manifest_omits_a_file(crafted):
    (crafted.set / "r2" / R2_BUCKET / "planted.exe").write_bytes(b"not in any backup")
    return "r2/%s/planted.exe is not in the manifest" % R2_BUCKET


def manifest_drops_an_entry(crafted):
    r2 = crafted.item("r2")
    dropped = next(f for f in r2["files"] if f.endswith("index.html"))
    del crafted.manifest["files"][dropped]
    crafted.save()
    return "%s is not in the manifest" % dropped


CRAFTS = [traversal, absolute, symlinked_file, symlinked_directory, duplicate_file_key, duplicate_item, file_in_two_items,
          size_lies, item_size_lies, manifest_omits_a_file, manifest_drops_an_entry]


@pytest.fixture(scope="module")
def good_set(emulator, tmp_path_factory):
    emulator.clear_faults()
    emulator.reset_state()
    fill(Api(emulator))
    root = tmp_path_factory.mktemp("good")
    backup = run_playbook(emulator, "-e", local_backup_vars(root), playbook="playbooks/backup.yml")
    assert backup.rc == 0, backup.output
    return root


@pytest.mark.timeout(600)
@pytest.mark.parametrize("craft", CRAFTS, ids=[craft.__name__ for craft in CRAFTS])
def test_a_crafted_set_is_refused_before_any_write(good_set, emulator, tmp_path, craft):
    crafted = Crafted(good_set, tmp_path / "backups", tmp_path / "outside.jsonl")
    crafted.outside.write_bytes(SECRET)
    expected = craft(crafted)
    emulator.reset_calls()
    restore = run_playbook(emulator, "-e", local_backup_vars(crafted.root), "-e", "restore_source=local",
                           playbook="playbooks/restore.yml")
    assert restore.rc != 0, restore.output
    assert "does not match its manifest, refusing it" in restore.output, restore.output
    assert expected in " ".join(restore.output.split()), restore.output
    calls = emulator.calls()
    assert calls["writes"] == 0, calls
    assert calls["total"] == 0, calls  # refused before the first call, not only before the first write
