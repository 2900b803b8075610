# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""What r2_sync does: a bucket (or a prefix of it) to a directory or back, like ``aws s3 sync``.

1. Check: every key maps to a safe relative path (download), every file is a regular file reached without a
   symlink (upload); refused before any transfer, naming the first offenders.
2. List the destination and the source (ListObjectsV2 at 1,000 keys a page; a directory walk).
3. Plan: a key/file is unchanged when sizes match and the content hash matches (``_s3_transfer``: the
   ``sha256`` metadata, else the MD5 ETag of a single-part object, else the multipart ETag at our part size);
   added or changed otherwise; with ``exclusive``, what the source lacks is removed.
4. Transfer with ``concurrency`` objects in flight, each streamed in 1 MiB chunks (memory is bounded by the
   pool, not the data), verified; a transfer that fails after the client's retries is tried once more at the
   end. Removals come last, and only when every transfer succeeded, so a failed run never loses data.
"""

from __future__ import annotations

import concurrent.futures
import fnmatch
import json
import os
import tempfile
import time

from ansible_collections.cfops.cloudflare.plugins.module_utils._backup_paths import regular_files
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._r2_objects import S3Module
from ansible_collections.cfops.cloudflare.plugins.module_utils._s3 import MAX_KEYS, S3Error
from ansible_collections.cfops.cloudflare.plugins.module_utils._s3_transfer import (
    MAX_PART_MB,
    MIB,
    MIN_PART_MB,
    SHA256_METADATA,
    download_file,
    hash_file,
    local_matches_remote,
    object_view,
    upload_file,
)

# R2 limits (developers.cloudflare.com/r2/platform/limits): object keys up to 1,024 bytes.
MAX_KEY_BYTES = 1024
MAX_NAME_BYTES = 255  # one path component on the usual file systems
MAX_CONCURRENCY = 64
DIRECTORY_MARKER = "/"


# Keys and paths --------------------------------------------------------------------------------------------

def normalise_prefix(prefix):
    """``""`` or a prefix ending with ``/``: the sync works on a "directory" of the bucket."""
    prefix = prefix or ""
    if prefix.startswith("/"):
        raise InvalidInputError("prefix %r must not start with '/': S3 keys have no leading slash" % prefix)
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def relative_path_problem(relative):
    """Why ``relative`` (a key below the prefix) cannot be a file below the directory, or None."""
    if not relative:
        return "empty name"
    if "\x00" in relative:
        return "a NUL character"
    if relative.startswith("/"):
        return "an absolute path"
    segments = relative.split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        return "'.', '..' or empty path segments"
    if any(len(segment.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES for segment in segments):
        return "a path component longer than %d bytes" % MAX_NAME_BYTES
    return None


def file_directory_conflicts(relatives):
    """Paths that would have to be a file and a directory at once (``a`` and ``a/b``)."""
    names = set(relatives)
    conflicts = []
    for relative in relatives:
        parts = relative.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent in names:
                conflicts.append("%s (also a file, %s)" % (relative, parent))
                break
    return conflicts


def excluded(relative, patterns):
    return any(fnmatch.fnmatchcase(relative, pattern) for pattern in patterns)


def scan_directory(root, patterns=()):
    """``({relative path: size}, problems)`` of the regular files below ``root``, which must not be reached
    through a symlink; a symlink or a special file anywhere below it is a problem (never followed)."""
    if os.path.islink(root):
        return {}, ["%s is a symlink" % root]
    return regular_files(root, lambda relative: False if excluded(relative, patterns) else utf8_name_problem(relative))


def utf8_name_problem(relative):
    try:
        relative.encode("utf-8")
    except UnicodeEncodeError:
        return "%r is not a UTF-8 name" % relative
    return None


def safe_directory(root):
    """Refuse a destination reached through a symlink (an existing path component that is a link)."""
    path = os.path.abspath(root)
    current = os.sep
    for part in path.split(os.sep)[1:]:
        current = os.path.join(current, part)
        if os.path.islink(current):
            raise InvalidInputError("path %s goes through the symlink %s; refusing to write through it" % (root, current))
        if not os.path.exists(current):
            break


# Metadata of the objects (content types, custom metadata, directory markers) --------------------------------

def read_metadata_file(path):
    """``{relative: {content_type, metadata, marker}}`` from a metadata file (JSON Lines)."""
    entries = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise InvalidInputError("%s line %d: not JSON: %s" % (path, number, exc)) from None
            if not isinstance(record, dict) or not isinstance(record.get("key"), str):
                raise InvalidInputError("%s line %d: each line is an object with a key" % (path, number))
            if record["key"] in entries:
                raise InvalidInputError("%s line %d: key %r is listed twice" % (path, number, record["key"]))
            metadata = record.get("metadata") or {}
            if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
                raise InvalidInputError("%s line %d: metadata must map names to strings" % (path, number))
            entries[record["key"]] = {"content_type": record.get("content_type"), "metadata": metadata,
                                      "marker": bool(record.get("marker"))}
    return entries


def write_metadata_file(path, entries):
    directory = os.path.dirname(os.path.abspath(path))
    handle, temp = tempfile.mkstemp(prefix=".r2-metadata-", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            for relative in sorted(entries):
                record = dict(entries[relative], key=relative)
                out.write(json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n")
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.remove(temp)


def metadata_entry(headers):
    view = object_view("", "", headers)
    metadata = {name: value for name, value in view["metadata"].items() if name != SHA256_METADATA}
    return {"content_type": view["content_type"], "metadata": metadata, "marker": False}


# The plan ----------------------------------------------------------------------------------------------------

class Plan:
    def __init__(self):
        self.added, self.changed, self.removed, self.unchanged = [], [], [], []

    def transfers(self):
        return sorted(self.added + self.changed)

    def counts(self):
        return {"added": len(self.added), "changed": len(self.changed), "removed": len(self.removed),
                "unchanged": len(self.unchanged)}


class R2SyncRunner(S3Module):
    """r2_sync."""

    def check_input(self):
        params = self.params
        if not MIN_PART_MB <= params["part_size_mb"] <= MAX_PART_MB:
            raise InvalidInputError("part_size_mb must be from %d to %d, got %d" % (MIN_PART_MB, MAX_PART_MB, params["part_size_mb"]))
        if not 1 <= params["concurrency"] <= MAX_CONCURRENCY:
            raise InvalidInputError("concurrency must be from 1 to %d, got %d" % (MAX_CONCURRENCY, params["concurrency"]))
        self.prefix = normalise_prefix(params["prefix"])
        self.path = os.path.abspath(params["path"])
        self.part_bytes = params["part_size_mb"] * MIB
        self.pool = params["concurrency"]
        metadata_file = params["metadata_file"]
        if metadata_file:
            absolute = os.path.abspath(metadata_file)
            if absolute == self.path or absolute.startswith(self.path + os.sep):
                raise InvalidInputError("metadata_file %s must be outside path %s (it would be synced too)" % (metadata_file, self.path))
        if params["direction"] == "upload":
            if not os.path.isdir(self.path):
                raise InvalidInputError("path %s is not a directory" % params["path"])
            if metadata_file and not os.path.isfile(metadata_file):
                raise InvalidInputError("metadata_file %s does not exist" % metadata_file)
        else:
            safe_directory(self.path)
            parent = os.path.dirname(self.path)
            if not os.path.isdir(parent):
                raise InvalidInputError("the directory above path %s does not exist" % params["path"])
            if os.path.exists(self.path) and not os.path.isdir(self.path):
                raise InvalidInputError("path %s exists and is not a directory" % params["path"])
            if params["manifest"]:
                raise InvalidInputError("manifest works with direction=upload only")
        self.checksums = self.read_manifest(params["manifest"]) if params["manifest"] else None

    def read_manifest(self, manifest):
        """The manifest's ``{bytes, sha256, md5}`` of each file below ``path``, by path relative to ``path``."""
        root = os.path.dirname(os.path.abspath(manifest))
        if not (self.path + os.sep).startswith(root + os.sep):
            raise InvalidInputError("path %s is not inside the set of manifest %s" % (self.params["path"], manifest))
        inside = os.path.relpath(self.path, root).replace(os.sep, "/")
        inside = "" if inside == "." else inside + "/"
        try:
            with open(manifest, encoding="utf-8") as handle:
                files = json.load(handle).get("files")
        except (OSError, ValueError, AttributeError) as exc:
            raise InvalidInputError("manifest %s cannot be read: %s" % (manifest, exc)) from None
        if not isinstance(files, dict):
            raise InvalidInputError("manifest %s has no files" % manifest)
        return {name[len(inside):]: entry for name, entry in files.items() if name.startswith(inside)}

    def execute(self):
        started = time.monotonic()
        self.failures = []
        if self.params["direction"] == "upload":
            plan, sizes = self.plan_upload()
        else:
            plan, sizes = self.plan_download()
        self.report(plan, sizes)
        if plan.transfers() or plan.removed:
            self.mark_changed()
        if not self.check_mode:
            if self.params["direction"] == "upload":
                self.run_upload(plan)
            else:
                self.run_download(plan)
        self.result["seconds"] = round(time.monotonic() - started, 3)
        if self.failures:
            shown = self.failures[:self.params["show_names"]]
            raise S3Error("%d of %d transfers failed after every retry (nothing was removed): %s" % (
                len(self.failures), len(plan.transfers()), "; ".join(shown)))

    # Listing -----------------------------------------------------------------------------------------------

    def remote_objects(self):
        """``{relative: object}`` of the keys below the prefix, and the keys that are directory markers."""
        objects, _prefixes = self.s3.list_all(self.params["bucket"], self.prefix)
        remote = {}
        for item in objects:
            relative = item["key"][len(self.prefix):]
            if excluded(relative, self.params["exclude"]):
                continue
            remote[relative] = item
        return remote

    # Upload ------------------------------------------------------------------------------------------------

    def plan_upload(self):
        files, problems = scan_directory(self.path, self.params["exclude"])
        for relative in files:
            if len((self.prefix + relative).encode("utf-8")) > MAX_KEY_BYTES:
                problems.append("%s makes a key longer than %d bytes" % (relative, MAX_KEY_BYTES))
        self.metadata = read_metadata_file(self.params["metadata_file"]) if self.params["metadata_file"] else {}
        markers = sorted(relative for relative, entry in self.metadata.items() if entry["marker"])
        for relative, entry in sorted(self.metadata.items()):
            if entry["marker"] and not relative.endswith(DIRECTORY_MARKER):
                problems.append("metadata_file: marker %s does not end with '/'" % relative)
            elif not entry["marker"] and relative not in files:
                problems.append("metadata_file names %s, which is not a file of path" % relative)
        checksums = self.checksums
        if checksums is not None:
            problems.extend(self.check_against_checksums(files, checksums))
        self.refuse(problems)
        self.digests = {}
        if checksums is not None:
            for relative in files:
                entry = checksums[relative]
                self.digests[relative] = {"size": entry["bytes"], "md5": entry.get("md5"), "sha256": entry["sha256"]}
        remote = self.remote_objects()
        # Only a file with an object of its size needs hashing to be compared (MD5: the ETag's hash), unless the
        # manifest gives it; the files to upload are hashed in full by the transfer itself.
        to_hash = [relative for relative, size in files.items()
                   if relative in remote and remote[relative]["size"] == size and not self.digests.get(relative, {}).get("md5")]
        self.digests.update(self.hash_locally(to_hash))
        plan = Plan()
        unknown = []
        for relative, size in sorted(files.items()):
            item = remote.get(relative)
            if item is None:
                plan.added.append(relative)
                continue
            if item["size"] != size:
                plan.changed.append(relative)
                continue
            match = local_matches_remote(item["etag"], None, item["size"], self.digests[relative], self.part_bytes)
            if match is None:
                unknown.append(relative)
            elif match:
                plan.unchanged.append(relative)
            else:
                plan.changed.append(relative)
        self.resolve_with_head(unknown, plan)
        for relative in markers:
            (plan.unchanged if relative in remote else plan.added).append(relative)
        if self.params["exclusive"]:
            wanted = set(files) | set(markers)
            plan.removed = sorted(relative for relative in remote if relative not in wanted)
        sizes = {relative: files.get(relative, 0) for relative in plan.transfers()}
        return plan, sizes

    def check_against_checksums(self, files, checksums):
        problems = []
        for relative in sorted(r for r in set(checksums) - set(files) if not excluded(r, self.params["exclude"])):
            problems.append("%s is in the manifest but not a file of path" % relative)
        for relative, size in sorted(files.items()):
            entry = checksums.get(relative)
            if not isinstance(entry, dict) or not entry.get("sha256"):
                problems.append("%s is not in the manifest" % relative)
            elif entry.get("bytes") != size:
                problems.append("%s has %d bytes, the manifest says %s" % (relative, size, entry.get("bytes")))
        return problems

    def hash_locally(self, relatives):
        """MD5 (and the multipart ETag at our part size) of files to compare, a few at once."""
        part_bytes = self.part_bytes
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(self.pool, 8)) as pool:
            results = pool.map(lambda relative: (relative, hash_file(os.path.join(self.path, relative), part_bytes, False)),
                               relatives)
            return dict(results)

    def full_digests(self, relative):
        """``{size, md5, sha256}`` of a local file: the manifest's, or read now."""
        digests = self.digests.get(relative) or {}
        if not digests.get("sha256") or not digests.get("md5"):
            digests = hash_file(os.path.join(self.path, relative), self.part_bytes)
            self.digests[relative] = digests
        return digests

    def resolve_with_head(self, relatives, plan):
        """Multipart objects of another part size: their ``sha256`` metadata decides (one HEAD each)."""
        def head(relative):
            return relative, self.s3.head_object(self.params["bucket"], self.prefix + relative)

        with concurrent.futures.ThreadPoolExecutor(max_workers=self.pool) as pool:
            for relative, headers in pool.map(head, relatives):
                sha256 = (headers or {}).get("x-amz-meta-" + SHA256_METADATA)
                same = sha256 is not None and sha256 == self.full_digests(relative)["sha256"]
                (plan.unchanged if same else plan.changed).append(relative)

    def run_upload(self, plan):
        bucket = self.params["bucket"]

        def upload(relative):
            key = self.prefix + relative
            entry = self.metadata.get(relative) or {}
            headers = {"x-amz-meta-" + name: value for name, value in (entry.get("metadata") or {}).items()}
            if entry.get("content_type"):
                headers["Content-Type"] = entry["content_type"]
            if entry.get("marker"):
                self.s3.request("PUT", bucket, key, headers=dict(headers, **{"Content-Length": "0"}), body=b"")
                return 0
            digests = self.full_digests(relative)
            upload_file(self.s3, bucket, key, os.path.join(self.path, relative), digests, headers, self.part_bytes)
            return digests["size"]

        self.transfer_all(plan.transfers(), upload)
        if self.failures or not plan.removed:
            return
        keys = [self.prefix + relative for relative in plan.removed]
        for start in range(0, len(keys), MAX_KEYS):
            self.s3.delete_objects(bucket, keys[start:start + MAX_KEYS])

    # Download ----------------------------------------------------------------------------------------------

    def plan_download(self):
        remote = self.remote_objects()
        problems, markers = [], []
        for relative, item in sorted(remote.items()):
            if relative.endswith(DIRECTORY_MARKER) and item["size"] == 0 and relative_path_problem(relative[:-1]) is None:
                markers.append(relative)
                continue
            problem = relative_path_problem(relative)
            if problem:
                problems.append("key %r has %s" % (item["key"], problem))
        for relative in markers:
            del remote[relative]
        if markers and not self.params["metadata_file"]:
            self.module.warn("%d directory marker(s) (empty keys ending with '/', e.g. %s) are not files and were skipped; "
                             "set metadata_file to keep them" % (len(markers), self.prefix + markers[0]))
        problems.extend("key %s cannot be a file: %s" % (self.prefix, conflict)
                        for conflict in file_directory_conflicts(sorted(remote)))
        local, local_problems = scan_directory(self.path, self.params["exclude"]) if os.path.isdir(self.path) else ({}, [])
        problems.extend("path: %s" % problem for problem in local_problems)
        self.refuse(problems)
        self.markers = markers
        self.remote = remote
        same_size = [relative for relative, item in remote.items() if local.get(relative) == item["size"]]
        self.digests = self.hash_locally(same_size)
        plan = Plan()
        unknown = []
        for relative, item in sorted(remote.items()):
            if relative not in local:
                plan.added.append(relative)
            elif relative not in self.digests:
                plan.changed.append(relative)
            else:
                match = local_matches_remote(item["etag"], None, item["size"], self.digests[relative], self.part_bytes)
                if match is None:
                    unknown.append(relative)
                else:
                    (plan.unchanged if match else plan.changed).append(relative)
        self.resolve_with_head(unknown, plan)
        if self.params["exclusive"]:
            plan.removed = sorted(relative for relative in local if relative not in remote)
        sizes = {relative: remote[relative]["size"] for relative in plan.transfers()}
        return plan, sizes

    def run_download(self, plan):
        bucket = self.params["bucket"]
        os.makedirs(self.path, mode=0o700, exist_ok=True)
        metadata = {}
        unverified = []

        def download(relative):
            dest = os.path.join(self.path, relative)
            directory = os.path.dirname(dest)
            if not os.path.isdir(directory):
                os.makedirs(directory, mode=0o700, exist_ok=True)
            fetched = download_file(self.s3, bucket, self.prefix + relative, dest, self.part_bytes,
                                    expected_size=self.remote[relative]["size"])
            metadata[relative] = metadata_entry(fetched["headers"])
            if fetched["verified"] is None:
                unverified.append(relative)
            return fetched["size"]

        self.transfer_all(plan.transfers(), download)
        if self.failures:
            return
        if self.params["metadata_file"]:
            # Objects left alone were not read: their content type and metadata come from a HEAD.
            def head(relative):
                return relative, self.s3.head_object(bucket, self.prefix + relative)

            with concurrent.futures.ThreadPoolExecutor(max_workers=self.pool) as pool:
                for relative, headers in pool.map(head, [r for r in self.remote if r not in metadata]):
                    if headers is not None:
                        metadata[relative] = metadata_entry(headers)
            for relative in self.markers:
                metadata[relative] = {"content_type": None, "metadata": {}, "marker": True}
            write_metadata_file(self.params["metadata_file"], metadata)
        if unverified:
            self.module.warn("%d multipart object(s) without sha256 metadata, of a part size not tried, could only be "
                             "checked by size: %s" % (len(unverified), ", ".join(sorted(unverified)[:5])))
        self.result["unverified"] = sorted(unverified)[:self.params["show_names"]]
        for relative in plan.removed:
            os.unlink(os.path.join(self.path, relative))
        self.remove_empty_directories(plan.removed)

    def remove_empty_directories(self, removed):
        directories = sorted({os.path.dirname(relative) for relative in removed if "/" in relative},
                             key=lambda name: -name.count("/"))
        for relative in directories:
            while relative:
                full = os.path.join(self.path, relative)
                try:
                    os.rmdir(full)
                except OSError:
                    break  # not empty
                relative = os.path.dirname(relative)

    # Both directions -------------------------------------------------------------------------------------------

    def transfer_all(self, relatives, transfer):
        """Run ``transfer(relative)`` for each with ``concurrency`` at once; what fails is tried once more."""
        done_bytes = 0
        pending = list(relatives)
        for attempt in range(2):
            failed = []
            with concurrent.futures.ThreadPoolExecutor(max_workers=self.pool) as pool:
                futures = {pool.submit(transfer, relative): relative for relative in pending}
                for future in concurrent.futures.as_completed(futures):
                    relative = futures[future]
                    try:
                        done_bytes += future.result()
                    except (S3Error, OSError) as exc:
                        failed.append((relative, exc))
            pending = [relative for relative, _exc in failed]
            if not pending:
                break
        self.failures = ["%s: %s" % (relative, exc) for relative, exc in sorted(failed, key=lambda item: item[0])] if pending else []
        self.result["transferred_bytes"] = done_bytes

    def refuse(self, problems):
        if problems:
            shown = problems[:self.params["show_names"]]
            more = len(problems) - len(shown)
            raise InvalidInputError("nothing was transferred: %d problem(s): %s%s" % (
                len(problems), "; ".join(shown), " (and %d more)" % more if more else ""))

    def report(self, plan, sizes):
        show = self.params["show_names"]
        counts = plan.counts()
        counts["bytes"] = sum(sizes.values())
        self.result.update(summary=counts, transferred_bytes=0,
                           names={"added": plan.added[:show], "changed": plan.changed[:show], "removed": plan.removed[:show]})
        upload = self.params["direction"] == "upload"
        remote = "s3://%s/%s" % (self.params["bucket"], self.prefix)
        lines = ["%s %s %s: %d added, %d changed, %d removed, %d unchanged; %s to transfer" % (
            remote, "<-" if upload else "->", self.params["path"], counts["added"], counts["changed"], counts["removed"],
            counts["unchanged"], human_bytes(counts["bytes"]))]
        for sign, names in (("+", plan.added), ("~", plan.changed), ("-", plan.removed)):
            lines.extend("%s %s" % (sign, name) for name in names[:show])
            if len(names) > show:
                lines.append("%s ... and %d more" % (sign, len(names) - show))
        self._diff = {"prepared": "\n".join(lines) + "\n"}


def human_bytes(count):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return ("%d %s" % (count, unit)) if unit == "B" else ("%.1f %s" % (count, unit))
        count /= 1024.0
    return "%d B" % count
