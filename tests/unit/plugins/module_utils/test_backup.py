"""Backup sets: unique names, the directory lock, pruning that neither follows symlinks nor dies half-way, and
manifests written so that they verify (and 1.1's format-1 sets still verify)."""
import datetime
import json
import multiprocessing
import os
import time

import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils._backup import (
    DirectoryLock,
    SetError,
    build_manifest,
    is_set_name,
    new_set_name,
    read_sets,
    set_time,
    verify_set,
    write_manifest,
)
from ansible_collections.cfops.cloudflare.plugins.modules.backup_sets import create_set, prune


def make_set(root, name, complete=True):
    path = root / name
    (path / "kv").mkdir(parents=True)
    (path / "kv" / "cache.jsonl").write_text('{"key":"a"}\n')
    if complete:
        write_manifest(str(path), build_manifest(str(path), [{"kind": "kv", "name": "cache", "files": ["kv/cache.jsonl"]}], {}))
    return path


def test_set_names_are_unique_within_a_second_and_still_sort_by_time():
    now = datetime.datetime(2026, 11, 23, 2, 0, 0, tzinfo=datetime.timezone.utc)
    names = {new_set_name(now) for _index in range(1000)}
    assert len(names) == 1000
    assert all(name.startswith("20261123T020000Z-") and is_set_name(name) for name in names)
    assert set_time("20261123T020000Z-1a2b3c4d") == set_time("20261123T020000Z") == now
    assert not is_set_name("20261123T020000Z-../../x")


def test_create_set_never_reuses_a_directory(tmp_path):
    made = {create_set(str(tmp_path), False)[0] for _index in range(50)}
    assert len(made) == 50
    assert all(sorted(os.listdir(tmp_path / name)) == ["d1", "kv", "r2"] for name in made)
    assert oct((tmp_path / made.pop()).stat().st_mode & 0o777) == "0o700"


def test_symlinked_sets_are_listed_as_skipped_and_never_pruned(tmp_path):
    root = tmp_path / "sets"
    make_set(root, "20260101T000000Z")
    elsewhere = make_set(tmp_path / "elsewhere", "20250101T000000Z")
    os.symlink(elsewhere, root / "20250101T000000Z")
    sets, skipped = read_sets(str(root))
    assert [s["name"] for s in sets] == ["20260101T000000Z"] and skipped == ["20250101T000000Z"]
    failures = []
    assert prune(sets, failures) == ["20260101T000000Z"] and failures == []
    assert (elsewhere / "manifest.json").is_file()  # the link's target is untouched


def test_prune_goes_on_when_a_set_vanished_and_reports_what_it_could_not_delete(tmp_path):
    gone = {"name": "20260101T000000Z", "path": str(tmp_path / "20260101T000000Z"), "complete": True}
    kept = make_set(tmp_path, "20260102T000000Z")
    os.chmod(kept, 0o500)  # its entries cannot be removed
    later = make_set(tmp_path, "20260103T000000Z")
    failures = []
    try:
        entries = [gone, {"name": kept.name, "path": str(kept), "complete": True},
                   {"name": later.name, "path": str(later), "complete": True}]
        deleted = prune(entries, failures)
    finally:
        if kept.exists():
            os.chmod(kept, 0o700)
    if os.geteuid() == 0:  # root ignores the mode
        assert deleted == [gone["name"], kept.name, later.name]
    else:
        assert deleted == [gone["name"], later.name] and failures and failures[0].startswith(kept.name)
    assert not later.exists()


def _hold(directory, seconds, started):
    with DirectoryLock(directory):
        started.set()
        time.sleep(seconds)


def test_the_lock_makes_a_second_job_wait_then_gives_up_after_its_timeout(tmp_path):
    started = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold, args=(str(tmp_path), 1.5, started))
    holder.start()
    try:
        assert started.wait(10)
        with pytest.raises(SetError, match="another job holds the lock"):
            with DirectoryLock(str(tmp_path), timeout=0.3):
                pass
        begun = time.monotonic()
        with DirectoryLock(str(tmp_path), timeout=30) as lock:
            assert lock.waited > 0.3
        assert time.monotonic() - begun < 10
    finally:
        holder.join(10)


def test_a_written_manifest_verifies_and_lists_md5(tmp_path):
    path = make_set(tmp_path, "20261123T020000Z-00000001")
    manifest = verify_set(str(path))
    assert manifest["format"] == 2 and set(manifest["files"]["kv/cache.jsonl"]) == {"bytes", "sha256", "md5"}


def test_a_format_1_set_of_1_1_still_verifies(tmp_path):
    path = make_set(tmp_path, "20261123T020000Z")
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["format"] = 1
    for entry in manifest["files"].values():
        del entry["md5"]
    (path / "manifest.json").write_text(json.dumps(manifest))
    assert verify_set(str(path))["format"] == 1


def test_directories_of_an_item_are_expanded_into_its_files(tmp_path):
    path = tmp_path / "set"
    (path / "r2" / "books" / "deep").mkdir(parents=True)
    (path / "r2" / "books" / "deep" / "a.bin").write_bytes(b"a")
    (path / "r2" / "books.objects.jsonl").write_text("")
    manifest = build_manifest(str(path), [{"kind": "r2", "name": "books", "files": ["r2/books.objects.jsonl"],
                                           "directories": ["r2/books"]}], {})
    assert manifest["items"][0]["files"] == ["r2/books.objects.jsonl", "r2/books/deep/a.bin"]
    assert "directories" not in manifest["items"][0]


def test_a_symlink_in_the_set_is_refused_when_writing_the_manifest_too(tmp_path):
    path = tmp_path / "set"
    (path / "kv").mkdir(parents=True)
    (tmp_path / "outside").write_text("x")
    os.symlink(tmp_path / "outside", path / "kv" / "cache.jsonl")
    with pytest.raises(SetError, match="kv/cache.jsonl is a symlink"):
        build_manifest(str(path), [{"kind": "kv", "name": "cache", "files": ["kv/cache.jsonl"]}], {})
