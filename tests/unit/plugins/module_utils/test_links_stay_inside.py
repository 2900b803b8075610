"""kv_entry src (a directory) and d1_migrations read nothing outside their directory through a symlink."""
import os

import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._kv import entries_from_directory
from ansible_collections.cfops.cloudflare.plugins.modules.d1_migrations import read_migrations


@pytest.fixture
def outside(tmp_path):
    secret = tmp_path / "controller-secret.txt"
    secret.write_text("not for KV")
    return secret


def test_kv_src_refuses_a_file_link_that_leaves_it(tmp_path, outside):
    src = tmp_path / "kv"
    src.mkdir()
    (src / "a.txt").write_text("a")
    os.symlink(outside, src / "leak.txt")
    with pytest.raises(InvalidInputError, match="leak.txt is a symlink that leaves"):
        entries_from_directory(str(src))


def test_kv_src_refuses_a_directory_link_and_keeps_links_inside(tmp_path, outside):
    src = tmp_path / "kv"
    (src / "real").mkdir(parents=True)
    (src / "real" / "b.txt").write_text("b")
    os.symlink(src / "real" / "b.txt", src / "alias.txt")
    assert sorted(entry["key"] for entry in entries_from_directory(str(src))) == ["alias.txt", "real/b.txt"]
    os.symlink(outside.parent, src / "everything")
    with pytest.raises(InvalidInputError, match="everything is a symlink to a directory"):
        entries_from_directory(str(src))


def test_migrations_refuse_a_link_that_leaves_the_directory(tmp_path, outside):
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0001_init.sql").write_text("CREATE TABLE t (x);")
    assert read_migrations(str(migrations)) == ["0001_init.sql"]
    os.symlink(outside, migrations / "0002_leak.sql")
    with pytest.raises(InvalidInputError, match="0002_leak.sql is a symlink that leaves"):
        read_migrations(str(migrations))
