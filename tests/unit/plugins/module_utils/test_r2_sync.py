"""r2_sync's decisions that need no server: which keys can be files, what a directory walk refuses, and when a
local file and an object are the same bytes (MD5 ETag, multipart ETag at a part size, sha256 metadata)."""
import hashlib
import os

import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._r2_sync import (
    file_directory_conflicts,
    normalise_prefix,
    read_metadata_file,
    relative_path_problem,
    scan_directory,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._s3 import multipart_etag
from ansible_collections.cfops.cloudflare.plugins.module_utils._s3_transfer import (
    MIB,
    ContentHasher,
    candidate_part_sizes,
    hash_file,
    local_matches_remote,
)


@pytest.mark.parametrize("relative, problem", [
    ("a/b.txt", None), ("space and ünïcode/✓", None), ("..hidden", None),
    ("", "empty name"), ("/etc/passwd", "an absolute path"), ("../outside", "'.', '..' or empty path segments"),
    ("a/../../b", "'.', '..' or empty path segments"), ("a//b", "'.', '..' or empty path segments"),
    ("./a", "'.', '..' or empty path segments"), ("a/", "'.', '..' or empty path segments"),
    ("nul\x00byte", "a NUL character"), ("x" * 256, "a path component longer than 255 bytes"),
])
def test_which_keys_can_be_files(relative, problem):
    assert relative_path_problem(relative) == problem


def test_a_key_that_is_also_a_directory_is_a_conflict():
    assert file_directory_conflicts(["a", "a/b", "c/d", "c/e"]) == ["a/b (also a file, a)"]


def test_prefix_is_a_directory_of_the_bucket():
    assert normalise_prefix("") == ""
    assert normalise_prefix("sets/one") == "sets/one/"
    assert normalise_prefix("sets/") == "sets/"
    with pytest.raises(InvalidInputError, match="must not start with '/'"):
        normalise_prefix("/sets")


def test_the_walk_refuses_symlinks_and_special_files_and_follows_none(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "file.txt").write_bytes(b"12345")
    (root / "top.bin").write_bytes(b"")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("controller file")
    os.symlink(outside, root / "linked-dir")
    os.symlink(outside / "secret", root / "sub" / "linked-file")
    os.mkfifo(root / "pipe")
    files, problems = scan_directory(str(root))
    assert files == {"sub/file.txt": 5, "top.bin": 0}
    assert sorted(problems) == ["linked-dir is a symlink", "pipe is not a regular file", "sub/linked-file is a symlink"]
    files, problems = scan_directory(str(root), patterns=("linked-*", "pipe", "sub/linked-*"))
    assert problems == [] and set(files) == {"sub/file.txt", "top.bin"}
    os.symlink(root, tmp_path / "root-link")
    assert scan_directory(str(tmp_path / "root-link")) == ({}, ["%s is a symlink" % (tmp_path / "root-link")])


def test_scan_names_a_non_utf8_name_and_passes_an_excluded_directory_over_whole(tmp_path):
    root = tmp_path / "root"
    (root / "cache" / "deep").mkdir(parents=True)
    os.symlink("/etc", root / "cache" / "deep" / "link")
    with open(os.path.join(os.fsencode(root), b"caf\xe9.txt"), "wb") as handle:
        handle.write(b"abc")
    (root / "kept.txt").write_bytes(b"1")
    files, problems = scan_directory(str(root), patterns=("cache",))
    assert files == {"kept.txt": 1}
    assert problems == ["'caf\\udce9.txt' is not a UTF-8 name"]


def test_content_hasher_gives_the_multipart_etag_of_each_part_size():
    data = os.urandom(5 * MIB * 2 + 123)
    hasher = ContentHasher(len(data), (5 * MIB, 8 * MIB))
    for start in range(0, len(data), 777_777):  # chunk boundaries that do not fall on part boundaries
        hasher.update(data[start:start + 777_777])
    parts5 = [hashlib.md5(data[i:i + 5 * MIB]).hexdigest() for i in range(0, len(data), 5 * MIB)]
    parts8 = [hashlib.md5(data[i:i + 8 * MIB]).hexdigest() for i in range(0, len(data), 8 * MIB)]
    assert hasher.multipart_etags() == {5 * MIB: multipart_etag(parts5), 8 * MIB: multipart_etag(parts8)}
    assert hasher.digests() == {"size": len(data), "md5": hashlib.md5(data).hexdigest(),
                                "sha256": hashlib.sha256(data).hexdigest()}


def test_candidate_part_sizes_match_the_part_count():
    size = 20 * MIB
    assert candidate_part_sizes(size, "abc-4") == [5 * MIB]
    assert candidate_part_sizes(size, "abc-3") == [8 * MIB]
    assert candidate_part_sizes(size, "abc-2") == [10 * MIB, 15 * MIB, 16 * MIB]
    assert candidate_part_sizes(size, "abc") == []


def test_same_bytes_by_md5_etag_multipart_etag_or_sha256(tmp_path):
    path = tmp_path / "f"
    data = os.urandom(11 * MIB)
    path.write_bytes(data)
    local = hash_file(str(path), 5 * MIB)
    md5 = hashlib.md5(data).hexdigest()
    sha256 = hashlib.sha256(data).hexdigest()
    assert local_matches_remote(md5, None, len(data), local, 5 * MIB) is True
    assert local_matches_remote(hashlib.md5(b"other").hexdigest(), None, len(data), local, 5 * MIB) is False
    assert local_matches_remote(md5, None, len(data) + 1, local, 5 * MIB) is False
    assert local_matches_remote(local["multipart_etag"], None, len(data), local, 5 * MIB) is True
    # A multipart ETag of another part size cannot be judged from the file alone: the sha256 metadata decides.
    assert local_matches_remote("0" * 32 + "-2", None, len(data), local, 5 * MIB) is None
    assert local_matches_remote("0" * 32 + "-2", sha256, len(data), local, 5 * MIB) is True
    assert local_matches_remote(md5, "f" * 64, len(data), local, 5 * MIB) is False


def test_metadata_file_lines_are_checked(tmp_path):
    path = tmp_path / "objects.jsonl"
    path.write_text('{"key":"a","content_type":"text/html","metadata":{"x":"1"}}\n{"key":"d/","marker":true}\n')
    assert read_metadata_file(str(path)) == {"a": {"content_type": "text/html", "metadata": {"x": "1"}, "marker": False},
                                             "d/": {"content_type": None, "metadata": {}, "marker": True}}
    path.write_text('{"key":"a"}\n{"key":"a"}\n')
    with pytest.raises(InvalidInputError, match="line 2: key 'a' is listed twice"):
        read_metadata_file(str(path))
    path.write_text('{"key":"a","metadata":{"n":1}}\n')
    with pytest.raises(InvalidInputError, match="metadata must map names to strings"):
        read_metadata_file(str(path))
