"""D1 SQL splitting and read detection, and the kv_export file format (round trip, canonical bytes)."""
import base64
import json

import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils._d1 import (
    iter_statements,
    split_statements,
    statement_is_read,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._kv import (
    entries_from_directory,
    entries_from_file,
    export_line,
    parse_export_line,
)


def test_split_keeps_semicolons_in_strings_comments_and_trigger_bodies():
    sql = ("CREATE TABLE a (x); -- one; comment\nINSERT INTO a VALUES ('p;q');"
           "CREATE TRIGGER t AFTER INSERT ON a BEGIN DELETE FROM a WHERE x = ';'; END; SELECT 1")
    assert split_statements(sql) == [
        "CREATE TABLE a (x);",
        "-- one; comment\nINSERT INTO a VALUES ('p;q');",
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN DELETE FROM a WHERE x = ';'; END;",
        "SELECT 1",
    ]


@pytest.mark.parametrize("statement, read", [
    ("SELECT * FROM t", True),
    ("  -- why\n select 1", True),
    ("EXPLAIN QUERY PLAN SELECT 1", True),
    ("PRAGMA table_info(t)", False),
    ("PRAGMA foreign_keys", True),
    ("PRAGMA foreign_keys = ON", False),
    ("WITH x AS (SELECT 1) SELECT * FROM x", True),
    ("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", False),
    ("INSERT INTO t VALUES (1)", False),
    ("CREATE TABLE t (x)", False),
])
def test_statement_is_read(statement, read):
    assert statement_is_read(statement) is read


def test_iter_statements_streams_lines():
    lines = ["CREATE TABLE a (x);\n", "INSERT INTO a VALUES ('multi\n", "line; value');\n", "INSERT INTO a VALUES (2);\n"]
    statements = list(iter_statements(lines))
    assert statements == ["CREATE TABLE a (x);\n", "INSERT INTO a VALUES ('multi\nline; value');\n",
                          "INSERT INTO a VALUES (2);\n"]


def test_export_line_is_canonical_and_round_trips_text_and_binary():
    line = export_line("k", "Ünï ✓".encode(), {"b": 1, "a": 2}, None)
    assert line == '{"base64":false,"expiration":null,"key":"k","metadata":{"a":2,"b":1},"value":"Ünï ✓"}\n'.encode()
    binary = export_line("bin", b"\x00\xff", None, 1900000000)
    record = json.loads(binary)
    assert record == {"key": "bin", "value": base64.b64encode(b"\x00\xff").decode(), "base64": True,
                      "metadata": None, "expiration": 1900000000}
    parsed = parse_export_line(binary.decode(), "f line 1")
    assert parsed["base64"] and parsed["expiration"] == 1900000000 and parsed["value"] == "AP8="
    with pytest.raises(InvalidInputError, match="f line 2: not a JSON object"):
        parse_export_line("{nope", "f line 2")


def test_directory_and_mapping_sources(tmp_path):
    (tmp_path / "tree" / "sub").mkdir(parents=True)
    (tmp_path / "tree" / "sub" / "a.txt").write_text("text")
    (tmp_path / "tree" / "b.bin").write_bytes(b"\xff\x00")
    assert entries_from_directory(str(tmp_path / "tree")) == [
        {"key": "b.bin", "value": "/wA=", "base64": True},
        {"key": "sub/a.txt", "value": "text", "base64": False},
    ]
    mapping = tmp_path / "m.json"
    mapping.write_text('{"x": "1", "y": "2"}')
    assert entries_from_file(str(mapping), None) == [{"key": "x", "value": "1"}, {"key": "y", "value": "2"}]
    bad = tmp_path / "bad.json"
    bad.write_text('[1, 2]')
    with pytest.raises(InvalidInputError, match="must hold a list of entries"):
        entries_from_file(str(bad), None)
