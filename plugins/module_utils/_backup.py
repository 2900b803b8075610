# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""Backup sets: their names, their manifest, and the checks that make a set unable to lie.

A set is a directory ``<sets dir>/<set id>/`` holding ``kv/``, ``d1/`` and ``r2/`` files and, written last,
``manifest.json``: every file with its size, SHA-256 and MD5, and the items (what each file is). A set is
accepted only when all of this holds, checked before anything reads a file of it:

- the set and everything in it are real directories and regular files: no symlink, none followed;
- every path in the manifest is relative, normalised (no ``.``, ``..``, empty segments, backslashes) and so
  inside the set; no path is listed twice (the JSON has no duplicate keys either);
- the files on disk are exactly the manifest's files, each with its size and SHA-256 (and MD5 when listed);
- every item has a known kind, a valid name, and files of the manifest in its kind's directory (one file for
  KV and D1); no two items share a kind and name, or a file; an item's bytes are its files' bytes.
"""

from __future__ import annotations

import datetime
import errno
import fcntl
import hashlib
import json
import os
import posixpath
import re
import secrets
import stat
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.cfops.cloudflare.plugins.module_utils._backup_paths import regular_files

MANIFEST = "manifest.json"
FORMAT = 2
FORMATS = (1, 2)  # 1: 1.1's sets (files without md5), still restorable
CHUNK = 1024 * 1024
KINDS = ("kv", "d1", "r2")
SET_TIME_FORMAT = "%Y%m%dT%H%M%SZ"
# 1.1 named sets by the second (YYYYMMDDTHHMMSSZ); 1.2 adds 8 random hex digits, so two jobs never share one.
SET_NAME = re.compile(r"^(\d{8}T\d{6}Z)(?:-([0-9a-f]{8}))?$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
MD5_HEX = re.compile(r"^[0-9a-f]{32}$")
D1_NAME = re.compile(r"^[a-z0-9][a-z0-9-_]{0,63}$")
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
HASH_THREADS = 4
LOCK_FILE = ".lock"


class SetError(Exception):
    """A set that cannot be trusted; ``problems`` lists every reason found."""

    def __init__(self, message, problems=()):
        super().__init__(message)
        self.message = message
        self.problems = list(problems)

    def __str__(self):
        return self.message


# Names ---------------------------------------------------------------------------------------------------------

def new_set_name(now=None):
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return "%s-%s" % (now.strftime(SET_TIME_FORMAT), secrets.token_hex(4))


def set_time(name):
    match = SET_NAME.match(name)
    if not match:
        raise ValueError("%r is not a set name" % name)
    return datetime.datetime.strptime(match.group(1), SET_TIME_FORMAT).replace(tzinfo=datetime.timezone.utc)


def is_set_name(name):
    return SET_NAME.match(name) is not None


# Paths ---------------------------------------------------------------------------------------------------------

def path_problem(relative):
    """Why ``relative`` cannot be a path of a set's file, or None."""
    if not isinstance(relative, str) or not relative:
        return "is not a non-empty string"
    if "\x00" in relative or "\\" in relative:
        return "has a NUL or a backslash"
    if relative.startswith("/"):
        return "is absolute"
    segments = relative.split("/")
    if any(segment in ("", ".", "..") for segment in segments) or posixpath.normpath(relative) != relative:
        return "is not normalised ('.', '..' or empty segments) or leaves the set"
    return None


def file_hashes(path):
    sha256, md5 = hashlib.sha256(), hashlib.md5()
    size = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            sha256.update(block)
            md5.update(block)
            size += len(block)
    return {"bytes": size, "sha256": sha256.hexdigest(), "md5": md5.hexdigest()}


def hash_files(root, relatives):
    """``{relative: {bytes, sha256, md5}}``, a few files at once (hashing releases the GIL)."""
    with ThreadPoolExecutor(max_workers=HASH_THREADS) as pool:
        return dict(zip(relatives, pool.map(lambda relative: file_hashes(os.path.join(root, relative)), relatives)))


def check_root(root):
    try:
        info = os.lstat(root)
    except FileNotFoundError:
        raise SetError("backup set %s does not exist" % root) from None
    if stat.S_ISLNK(info.st_mode):
        raise SetError("backup set %s is a symlink; a set is read only where it is" % root)
    if not stat.S_ISDIR(info.st_mode):
        raise SetError("backup set %s is not a directory" % root)


# Items ---------------------------------------------------------------------------------------------------------

def item_problems(items, files):
    """What is wrong with the manifest's ``items`` given its ``files`` (``{relative: entry}``)."""
    problems = []
    if not isinstance(items, list):
        return ["items is not a list"]
    seen, owner = set(), {}
    for index, item in enumerate(items):
        where = "items[%d]" % index
        if not isinstance(item, dict):
            problems.append("%s is not an object" % where)
            continue
        kind, name, item_files = item.get("kind"), item.get("name"), item.get("files")
        if kind not in KINDS:
            problems.append("%s has kind %r (not one of %s)" % (where, kind, ", ".join(KINDS)))
            continue
        where = "%s (%s %r)" % (where, kind, name)
        if not isinstance(name, str) or not name or (kind == "d1" and not D1_NAME.match(name)) or (
                kind == "r2" and not BUCKET_NAME.match(name)):
            problems.append("%s has no valid name" % where)
            continue
        if (kind, name) in seen:
            problems.append("%s is listed twice" % where)
        seen.add((kind, name))
        if not isinstance(item_files, list) or not item_files or not all(isinstance(f, str) for f in item_files):
            problems.append("%s lists no files" % where)
            continue
        for relative in item_files:
            problem = path_problem(relative)
            if problem:
                problems.append("%s: file %r %s" % (where, relative, problem))
            elif relative not in files:
                problems.append("%s: file %s is not in the manifest's files" % (where, relative))
            elif relative in owner:
                problems.append("%s: file %s also belongs to %s" % (where, relative, owner[relative]))
            elif not _in_kind_directory(kind, name, relative, len(item_files)):
                problems.append("%s: file %s is not where a %s item's files are" % (where, relative, kind))
            owner.setdefault(relative, where)
        declared = item.get("bytes")
        if declared is not None and all(f in files for f in item_files):
            actual = sum(files[f].get("bytes") or 0 for f in item_files if isinstance(files[f], dict))
            if declared != actual:
                problems.append("%s says %s bytes, its files have %d" % (where, declared, actual))
    for relative in sorted(set(files) - set(owner)):
        problems.append("file %s belongs to no item" % relative)
    return problems


def _in_kind_directory(kind, name, relative, count):
    if kind == "kv":
        return count == 1 and relative.startswith("kv/") and relative.count("/") == 1 and relative.endswith(".jsonl")
    if kind == "d1":
        return count == 1 and relative.startswith("d1/") and relative.count("/") == 1 and relative.endswith(".sql")
    return relative.startswith("r2/%s/" % name) or relative == "r2/%s.objects.jsonl" % name


# The manifest --------------------------------------------------------------------------------------------------

def _no_duplicates(pairs):
    keys = [key for key, _value in pairs]
    duplicated = sorted({key for key in keys if keys.count(key) > 1})
    if duplicated:
        raise SetError("the manifest lists %s more than once" % ", ".join(duplicated),
                       ["%s is listed more than once" % key for key in duplicated])
    return dict(pairs)


def read_manifest(root):
    path = os.path.join(root, MANIFEST)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise SetError("backup set %s has no %s: it is partial (the backup did not finish) or not a backup set"
                       % (root, MANIFEST)) from None
    if not stat.S_ISREG(info.st_mode):
        raise SetError("backup set %s: %s is not a regular file (a symlink?)" % (root, MANIFEST))
    try:
        with open(path, encoding="utf-8") as handle:
            manifest = json.load(handle, object_pairs_hook=_no_duplicates)
    except SetError as exc:
        raise SetError("backup set %s does not match its manifest, refusing it: %s" % (root, exc.message), exc.problems) from None
    except ValueError as exc:
        raise SetError("backup set %s: %s is not valid JSON (%s)" % (root, MANIFEST, exc)) from None
    if not isinstance(manifest, dict):
        raise SetError("backup set %s: %s is not a JSON object" % (root, MANIFEST))
    return manifest


def verify_set(root, check_contents=True):
    """The manifest of the set at ``root`` when the set is exactly what it says (see the module docstring);
    raises ``SetError`` naming every problem otherwise. Reads every file once (SHA-256 and MD5 together)."""
    check_root(root)
    manifest = read_manifest(root)
    problems = []
    if manifest.get("format") not in FORMATS:
        problems.append("format %r is not one this collection reads (%s)" % (manifest.get("format"), FORMATS))
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise SetError("backup set %s does not match its manifest, refusing it: it has no files" % root, ["no files"])
    for relative, entry in sorted(files.items()):
        problem = path_problem(relative)
        if problem or relative == MANIFEST:
            problems.append("%r %s" % (relative, problem or "is the manifest itself"))
        elif not isinstance(entry, dict) or not isinstance(entry.get("bytes"), int) or isinstance(entry.get("bytes"), bool) \
                or entry["bytes"] < 0 or not SHA256_HEX.match(str(entry.get("sha256"))) \
                or ("md5" in entry and not MD5_HEX.match(str(entry["md5"]))):
            problems.append("%s has no valid bytes and sha256" % relative)
    problems.extend(item_problems(manifest.get("items"), files))
    on_disk, walk_problems = regular_files(root)
    problems.extend(walk_problems)
    on_disk.pop(MANIFEST, None)
    for relative in sorted(set(on_disk) - set(files)):
        problems.append("%s is not in the manifest" % relative)
    listed = sorted(relative for relative in files if isinstance(files[relative], dict) and path_problem(relative) is None)
    to_hash = []
    for relative in listed:
        if relative not in on_disk:
            problems.append("%s is missing" % relative)
        elif on_disk[relative] != files[relative].get("bytes"):
            problems.append("%s has %d bytes, the manifest says %s" % (relative, on_disk[relative], files[relative].get("bytes")))
        else:
            to_hash.append(relative)
    if check_contents:  # only regular files of the set (the walk followed no link), so nothing outside is read
        for relative, actual in sorted(hash_files(root, to_hash).items()):
            expected = files[relative]
            if actual["sha256"] != expected.get("sha256"):
                problems.append("%s does not match its sha256 in the manifest" % relative)
            elif "md5" in expected and actual["md5"] != expected["md5"]:
                problems.append("%s does not match its md5 in the manifest" % relative)
    if problems:
        raise SetError("backup set %s does not match its manifest, refusing it: %s" % (root, "; ".join(problems[:20])
                       + ("; and %d more" % (len(problems) - 20) if len(problems) > 20 else "")), problems)
    return manifest


def build_manifest(root, items, metadata):
    """The manifest of the set at ``root`` (every file hashed); raises ``SetError`` when the set could not be
    verified afterwards (a symlink, a file no item names, an item naming a missing file)."""
    check_root(root)
    on_disk, problems = regular_files(root)
    on_disk.pop(MANIFEST, None)
    on_disk.pop(MANIFEST + ".partial", None)
    if problems:
        raise SetError("backup set %s cannot get a manifest: %s" % (root, "; ".join(problems[:20])), problems)
    items = [expand_directories(item, on_disk, problems) for item in items]
    missing = sorted({f for item in items if isinstance(item, dict) for f in (item.get("files") or [])
                      if isinstance(f, str)} - set(on_disk))
    if missing:
        raise SetError("backup set %s is incomplete: items name files that do not exist: %s" % (root, ", ".join(missing)))
    files = hash_files(root, sorted(on_disk))
    problems.extend(item_problems(items, files))
    if problems:
        raise SetError("backup set %s cannot get a manifest: %s" % (root, "; ".join(problems[:20])), problems)
    manifest = dict(metadata)
    manifest.update({
        "format": FORMAT,
        "set": os.path.basename(os.path.normpath(root)),
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "items": items,
        "files": files,
        "total_bytes": sum(entry["bytes"] for entry in files.values()),
    })
    return manifest


def expand_directories(item, on_disk, problems):
    """An item whose ``directories`` (paths relative to the set) are replaced by the files below them, added to
    its ``files``: a bucket's thousands of objects are listed by the module, not passed through Ansible."""
    if not isinstance(item, dict) or "directories" not in item:
        return item
    item = dict(item)
    files = list(item.get("files") or [])
    for directory in item.pop("directories") or []:
        problem = path_problem(directory)
        if problem:
            problems.append("directory %r %s" % (directory, problem))
            continue
        files.extend(sorted(relative for relative in on_disk if relative.startswith(directory + "/")))
    item["files"] = files
    return item


def write_manifest(root, manifest):
    path = os.path.join(root, MANIFEST)
    partial = path + ".partial"
    with open(partial, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.replace(partial, path)  # a reader never sees half a manifest
    return path


# The sets directory --------------------------------------------------------------------------------------------

def read_sets(directory):
    """``(sets, skipped)``: the sets in ``directory`` newest first (``{name, path, complete}``), and the entries
    that look like sets but are not real directories (symlinks: never followed, never pruned)."""
    if not os.path.isdir(directory):
        return [], []
    sets, skipped = [], []
    for entry in os.scandir(directory):
        if not is_set_name(entry.name):
            continue
        if entry.is_symlink() or not entry.is_dir(follow_symlinks=False):
            skipped.append(entry.name)
            continue
        manifest = os.path.join(entry.path, MANIFEST)
        complete = os.path.isfile(manifest) and not os.path.islink(manifest)
        sets.append({"name": entry.name, "path": entry.path, "complete": complete})
    return sorted(sets, key=lambda s: s["name"], reverse=True), sorted(skipped)


class DirectoryLock:
    """An exclusive ``flock`` on ``<directory>/.lock``, waited for up to ``timeout`` seconds."""

    def __init__(self, directory, timeout=300.0, sleep=time.sleep, clock=time.monotonic):
        self.path = os.path.join(directory, LOCK_FILE)
        self.timeout = timeout
        self._sleep, self._clock = sleep, clock
        self._fd = None
        self.waited = 0.0

    def __enter__(self):
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        started = self._clock()
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.waited = self._clock() - started
                return self
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if self._clock() - started >= self.timeout:
                os.close(self._fd)
                self._fd = None
                raise SetError("another job holds the lock %s for more than %s seconds" % (self.path, self.timeout))
            self._sleep(0.2)

    def __exit__(self, *exc_info):
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
