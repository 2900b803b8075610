"""D1: databases as real SQLite files, /query and /raw, errors worded as D1 words them, the export polling flow."""
import os
import sqlite3

import httpx
import pytest

from emulator.api import d1
from emulator.store import Store
from tests.emulator.helpers import error_codes


def db_path(account_id, database_id="", *rest):
    path = "/accounts/%s/d1/database" % account_id
    if database_id:
        path += "/" + database_id
    return path + "".join("/" + part for part in rest)


@pytest.fixture
def database(api, account_id):
    return api.post(db_path(account_id), json={"name": "books"}).json()["result"]["uuid"]


def test_create_list_get_delete_and_the_file_on_disk(api, fresh, account_id):
    created = api.post(db_path(account_id), json={"name": "books-prod", "primary_location_hint": "weur"}).json()["result"]
    assert created["name"] == "books-prod" and created["version"] == "production" and len(created["uuid"]) == 36
    path = os.path.join(fresh.data_dir, "d1", created["uuid"] + ".sqlite3")
    assert os.path.isfile(path)
    store = Store(fresh.data_dir)
    assert d1.database_path(store, account_id, created["uuid"]) == path
    with store.read() as db:
        assert d1.database_exists(db, account_id, created["uuid"])
    listed = api.get(db_path(account_id), params={"name": "books-prod"}).json()["result"]
    assert [item["uuid"] for item in listed] == [created["uuid"]]
    got = api.get(db_path(account_id, created["uuid"])).json()["result"]
    assert got["num_tables"] == 0 and got["name"] == "books-prod"
    assert api.delete(db_path(account_id, created["uuid"])).status_code == 200
    missing = api.get(db_path(account_id, created["uuid"]))
    assert missing.status_code == 404 and error_codes(missing) == [7404]
    assert not os.path.exists(path)
    assert d1.database_path(store, account_id, created["uuid"]) is None
    store.close()


def test_names_cloudflare_rejects_and_duplicates(unchecked, api, account_id):
    for bad in ("Books", "-books", "books prod", "", "a" * 65):
        response = unchecked.post(db_path(account_id), json={"name": bad})
        assert response.status_code == 400 and error_codes(response) == [7400], bad
    api.post(db_path(account_id), json={"name": "twice"})
    response = unchecked.post(db_path(account_id), json={"name": "twice"})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"code": 7502, "message": "A database with that name already exists"}]


def test_query_runs_several_statements_atomically_with_meta(api, account_id, database):
    sql = ("CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT, note TEXT);"
           "INSERT INTO books (title, note) VALUES ('Dune', 'a;b');"
           "INSERT INTO books (title) VALUES ('Emma'); SELECT * FROM books ORDER BY id")
    results = api.post(db_path(account_id, database, "query"), json={"sql": sql}).json()["result"]
    assert len(results) == 4
    assert results[1]["meta"]["changes"] == 1 and results[1]["meta"]["last_row_id"] == 1
    assert results[2]["meta"]["last_row_id"] == 2 and results[2]["meta"]["changed_db"] is True
    assert results[3]["results"] == [{"id": 1, "title": "Dune", "note": "a;b"}, {"id": 2, "title": "Emma", "note": None}]
    assert results[3]["meta"]["rows_read"] == 2 and results[3]["meta"]["changes"] == 0
    raw = api.post(db_path(account_id, database, "raw"),
                   json={"sql": "SELECT title FROM books WHERE id = ?", "params": ["2"]}).json()["result"]
    assert raw[0]["results"] == {"columns": ["title"], "rows": [["Emma"]]}
    assert api.get(db_path(account_id, database)).json()["result"]["num_tables"] == 1


def test_sql_error_has_the_sqlite_message_and_rolls_back_the_batch(unchecked, api, account_id, database):
    api.post(db_path(account_id, database, "query"), json={"sql": "CREATE TABLE t (x INTEGER)"})
    response = unchecked.post(db_path(account_id, database, "query"),
                              json={"sql": "INSERT INTO t VALUES (1); SELEC nonsense"})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"code": 7500, "message": 'near "SELEC": syntax error: SQLITE_ERROR'}]
    rows = api.post(db_path(account_id, database, "query"), json={"sql": "SELECT count(*) AS n FROM t"}).json()["result"]
    assert rows[0]["results"] == [{"n": 0}]


def test_params_need_a_single_statement(unchecked, account_id, database):
    response = unchecked.post(db_path(account_id, database, "query"), json={"sql": "SELECT ?; SELECT 2", "params": ["1"]})
    assert response.status_code == 400 and error_codes(response) == [7500]


def test_trigger_bodies_and_comments_are_not_split():
    sql = ("-- a comment; still a comment\nCREATE TABLE a (x);\n"
           "CREATE TRIGGER t AFTER INSERT ON a BEGIN INSERT INTO a VALUES (1); END;\n/* x; y */ SELECT 'q;''r';")
    assert d1.split_statements(sql) == [
        "-- a comment; still a comment\nCREATE TABLE a (x);",
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN INSERT INTO a VALUES (1); END;",
        "/* x; y */ SELECT 'q;''r';",
    ]


def test_export_polls_then_serves_a_dump_that_restores_identical_rows(api, unchecked, account_id, database, tmp_path):
    api.post(db_path(account_id, database, "query"), json={"sql": (
        "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, score REAL, data BLOB);"
        "INSERT INTO t (name, score, data) VALUES ('it''s', 0.1, x'00ff'), (NULL, 1e300, NULL);"
        "CREATE INDEX t_name ON t (name)")})
    started = api.post(db_path(account_id, database, "export"), json={"output_format": "polling"}).json()["result"]
    assert "status" not in started and started["at_bookmark"]
    done = api.post(db_path(account_id, database, "export"),
                    json={"output_format": "polling", "current_bookmark": started["at_bookmark"]}).json()["result"]
    assert done["status"] == "complete" and done["result"]["filename"].endswith(".sql")
    dump = httpx.get(done["result"]["signed_url"], timeout=10)
    assert dump.status_code == 200
    text = dump.text
    assert text.startswith("PRAGMA defer_foreign_keys=TRUE;\n") and "BEGIN TRANSACTION" not in text
    restored = sqlite3.connect(tmp_path / "restored.sqlite3")
    restored.executescript(text)
    original_rows = api.post(db_path(account_id, database, "raw"), json={"sql": "SELECT * FROM t ORDER BY id"}).json()
    assert restored.execute("SELECT id, name, score, data FROM t ORDER BY id").fetchall() == [
        (1, "it's", 0.1, b"\x00\xff"), (2, None, 1e300, None)]
    assert original_rows["result"][0]["results"]["rows"][0][3] == [0, 255]
    tampered = httpx.get(done["result"]["signed_url"].replace("signature=", "signature=0"), timeout=10)
    assert tampered.status_code == 403


def test_unknown_database_is_404_7404(unchecked, account_id):
    response = unchecked.post(db_path(account_id, "0" * 32, "query"), json={"sql": "SELECT 1"})
    assert response.status_code == 404 and error_codes(response) == [7404]


def test_export_dump_options_select_schema_data_and_tables(api, account_id, database):
    api.post(db_path(account_id, database, "query"), json={"sql": (
        "CREATE TABLE a (x); CREATE TABLE b (y); INSERT INTO a VALUES (1); INSERT INTO b VALUES (2)")})

    def dump(options):
        body = {"output_format": "polling", "dump_options": options}
        bookmark = api.post(db_path(account_id, database, "export"), json=body).json()["result"]["at_bookmark"]
        done = api.post(db_path(account_id, database, "export"), json=dict(body, current_bookmark=bookmark)).json()["result"]
        return httpx.get(done["result"]["signed_url"], timeout=10).text

    assert "INSERT" not in dump({"no_data": True}) and "CREATE TABLE a" in dump({"no_data": True})
    assert "CREATE" not in dump({"no_schema": True}) and 'INSERT INTO "b"' in dump({"no_schema": True})
    only_a = dump({"tables": ["a"]})
    assert "CREATE TABLE a" in only_a and 'INSERT INTO "a"' in only_a and '"b"' not in only_a


# Import: the flow wrangler's ``d1 execute --remote --file`` drives (d1/execute.ts) ---------------------

DUMP = (b"CREATE TABLE books (isbn TEXT PRIMARY KEY, title TEXT);\n"
        b"INSERT INTO books VALUES ('1', 'Dune'); INSERT INTO books VALUES ('2', 'Emma');\n"
        b"INSERT INTO books VALUES ('3', 'It''s; a trap');\n")


def import_file(api, account_id, database, content):
    """init -> PUT upload_url -> ingest -> poll until it finishes, as wrangler does; the final answer."""
    import hashlib
    etag = hashlib.md5(content).hexdigest()
    init = api.post(db_path(account_id, database, "import"), json={"action": "init", "etag": etag}).json()["result"]
    assert set(init) == {"filename", "upload_url"} and etag in init["filename"]
    upload = httpx.put(init["upload_url"], content=content, trust_env=False)
    assert upload.status_code == 200 and upload.headers["etag"].strip('"') == etag
    answer = api.post(db_path(account_id, database, "import"),
                      json={"action": "ingest", "filename": init["filename"], "etag": etag}).json()["result"]
    while "status" not in answer:
        answer = api.post(db_path(account_id, database, "import"),
                          json={"action": "poll", "current_bookmark": answer["at_bookmark"]}).json()["result"]
    assert answer["success"] is True and answer["type"] == "import" and isinstance(answer["messages"], list)
    return answer


def test_import_runs_a_file_through_init_upload_ingest_and_poll(api, account_id, database):
    answer = import_file(api, account_id, database, DUMP)
    assert answer["status"] == "complete", answer
    result = answer["result"]
    assert result["num_queries"] == 4 and result["final_bookmark"]
    assert result["meta"]["rows_written"] == 3 and result["meta"]["changed_db"] is True
    assert result["meta"]["size_after"] > 0 and result["meta"]["duration"] >= 0
    rows = api.post(db_path(account_id, database, "query"), json={"sql": "SELECT title FROM books ORDER BY isbn"})
    assert [row["title"] for row in rows.json()["result"][0]["results"]] == ["Dune", "Emma", "It's; a trap"]


def test_an_import_that_fails_leaves_the_database_as_it_was(api, account_id, database):
    api.post(db_path(account_id, database, "query"), json={"sql": "CREATE TABLE kept (id INTEGER); INSERT INTO kept VALUES (1)"})
    answer = import_file(api, account_id, database, b"DROP TABLE kept;\nCREATE TABLE t (id INTEGER);\nINSERT INTO nope VALUES (1);\n")
    assert answer["status"] == "error" and "no such table: nope" in answer["error"] and answer["errors"] == [answer["error"]]
    tables = api.post(db_path(account_id, database, "query"),
                      json={"sql": "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"}).json()["result"]
    assert [row["name"] for row in tables[0]["results"]] == ["kept"]  # the DROP was rolled back too


def test_init_of_a_file_already_uploaded_starts_it_at_once(api, account_id, database):
    import hashlib
    import_file(api, account_id, database, b"CREATE TABLE once (id INTEGER);\n")
    etag = hashlib.md5(b"CREATE TABLE once (id INTEGER);\n").hexdigest()
    again = api.post(db_path(account_id, database, "import"), json={"action": "init", "etag": etag}).json()["result"]
    assert "upload_url" not in again and again["at_bookmark"]
    while "status" not in again:
        again = api.post(db_path(account_id, database, "import"),
                         json={"action": "poll", "current_bookmark": again["at_bookmark"]}).json()["result"]
    assert again["status"] == "error" and "already exists" in again["error"]  # it really ran a second time


def test_import_refuses_a_bad_signature_an_unuploaded_file_and_an_unknown_bookmark(api, unchecked, account_id, database):
    etag = "0" * 32
    init = api.post(db_path(account_id, database, "import"), json={"action": "init", "etag": etag}).json()["result"]
    forged = httpx.put(init["upload_url"].split("?")[0] + "?signature=" + "0" * 64, content=b"x", trust_env=False)
    assert forged.status_code == 403 and b"AccessDenied" in forged.content
    ingest = unchecked.post(db_path(account_id, database, "import"),
                            json={"action": "ingest", "filename": init["filename"], "etag": etag})
    assert ingest.status_code == 400 and error_codes(ingest) == [7400]
    poll = unchecked.post(db_path(account_id, database, "import"), json={"action": "poll", "current_bookmark": "f" * 32})
    assert poll.status_code == 404 and error_codes(poll) == [7405]


def test_a_statement_over_100000_bytes_is_refused_by_query_and_by_import(api, unchecked, account_id, database):
    api.post(db_path(account_id, database, "query"), json={"sql": "CREATE TABLE big (v TEXT)"})
    long_statement = "INSERT INTO big VALUES ('%s');" % ("x" * 100000)
    refused = unchecked.post(db_path(account_id, database, "query"), json={"sql": long_statement})
    assert refused.status_code == 400
    assert refused.json()["errors"] == [{"code": 7500, "message": "statement too long: SQLITE_TOOBIG"}]
    answer = import_file(api, account_id, database, long_statement.encode())
    assert answer["status"] == "error" and "statement too long" in answer["error"]
    fits = "INSERT INTO big VALUES ('%s');" % ("x" * 99000)
    assert api.post(db_path(account_id, database, "query"), json={"sql": fits}).status_code == 200


def test_a_constraint_error_ends_with_sqlite_constraint_as_d1_words_it(api, unchecked, account_id, database):
    api.post(db_path(account_id, database, "query"), json={"sql": "CREATE TABLE u (id TEXT PRIMARY KEY); INSERT INTO u VALUES ('a')"})
    duplicate = unchecked.post(db_path(account_id, database, "query"), json={"sql": "INSERT INTO u VALUES ('a')"})
    assert duplicate.json()["errors"] == [{"code": 7500, "message": "UNIQUE constraint failed: u.id: SQLITE_CONSTRAINT"}]
