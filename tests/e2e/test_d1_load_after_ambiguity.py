"""A dump load (d1_query src + drop_existing, as the restore role runs it) whose import start fails after D1
applied it converges: the tables are read again and the load runs again, so the database holds the dump
exactly once. A plain file load is never run twice. Against the real emulator, with an injected fault that
applies the ingest and then answers 500 (an ambiguous failure)."""
import httpx
import pytest

from tests.support.emulator import EmulatorProcess
from tests.e2e.test_bad_input_catalogue import run

IMPORT = "/accounts/{account_id}/d1/database/{database_id}/import"
DUMP = ("PRAGMA defer_foreign_keys=TRUE;\nCREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT);\n"
        "INSERT INTO books VALUES (1, 'one');\nINSERT INTO books VALUES (2, 'two');\n")


@pytest.fixture(scope="module")
def emulator():
    with EmulatorProcess() as emu:
        yield emu


def query(emu, database, sql):
    http = httpx.Client(base_url=emu.base_url, headers={"Authorization": "Bearer " + emu.token})
    [db] = [d for d in http.get("/accounts/%s/d1/database" % emu.account_id).json()["result"] if d["name"] == database]
    answer = http.post("/accounts/%s/d1/database/%s/query" % (emu.account_id, db["uuid"]), json={"sql": sql}).json()
    return answer["result"][0]["results"]


@pytest.fixture
def dump(tmp_path):
    path = tmp_path / "dump.sql"
    path.write_text(DUMP)
    return str(path)


def ambiguous_ingest(emu):
    # The import POSTs are init (idempotent), then ingest: fault the second, applied before the 500.
    emu.clear_faults()
    emu.inject_fault(method="POST", path=IMPORT, action="status", status=500, apply=True, every=2, count=1)


def test_a_replacing_load_converges_after_an_ambiguous_ingest(emulator, dump):
    assert not run(emulator, "d1_database", dict(name="restored")).get("failed")
    assert not run(emulator, "d1_query", dict(database="restored", sql="CREATE TABLE old (x)")).get("failed")
    ambiguous_ingest(emulator)
    result = run(emulator, "d1_query", dict(database="restored", src=dump, drop_existing=True, api_max_retries=3))
    assert emulator.faults() == []  # the fault was spent on the ingest
    assert not result.get("failed"), result["msg"]
    assert result["changed"]
    assert query(emulator, "restored", "SELECT id, title FROM books ORDER BY id") == [
        {"id": 1, "title": "one"}, {"id": 2, "title": "two"}]
    tables = query(emulator, "restored", "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf_%' "
                                         "AND name NOT LIKE 'sqlite_%' ORDER BY name")
    assert tables == [{"name": "books"}]


def test_a_plain_load_is_not_run_twice_after_an_ambiguous_ingest(emulator, dump):
    assert not run(emulator, "d1_database", dict(name="plain")).get("failed")
    ambiguous_ingest(emulator)
    result = run(emulator, "d1_query", dict(database="plain", src=dump, api_max_retries=3))
    assert result.get("failed") and "may have been applied" in result["msg"], result
    assert query(emulator, "plain", "SELECT count(*) AS n FROM books") == [{"n": 2}]  # applied once, not twice
