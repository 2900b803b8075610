"""D1's import API as wrangler drives it (d1/execute.ts), against a scripted server: every answer shape
the sources give (the SDK's DatabaseImportResponse, wrangler's ImportPollingResponse / PollingFailure)."""
import hashlib

import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError, CloudflareClient
from ansible_collections.cfops.cloudflare.plugins.module_utils._d1 import (
    MAX_STATEMENT_BYTES,
    check_sql_file,
    check_statement_lengths,
    import_sql_file,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply, envelope, failure

ACCOUNT = "a" * 32
DATABASE = "0b7ebd8a-8a4c-4a43-9c4b-6f1f8b8e2c11"
SQL = b"CREATE TABLE books (isbn TEXT);\nINSERT INTO books VALUES ('1');\n"
ETAG = hashlib.md5(SQL).hexdigest()
COMPLETE = {"success": True, "type": "import", "at_bookmark": "b1", "messages": ["done"], "status": "complete",
            "result": {"num_queries": 2, "final_bookmark": "b2",
                       "meta": {"rows_written": 1, "rows_read": 0, "changed_db": True, "size_after": 8192}}}


@pytest.fixture
def client(server):
    api = CloudflareClient("the-token", base_url=server.base_url, max_retries=2, sleep=lambda _s: None,
                           jitter=lambda: 0.0)
    yield api
    api.close()


@pytest.fixture
def sql_file(tmp_path):
    path = tmp_path / "dump.sql"
    path.write_bytes(SQL)
    return str(path)


def upload_url(server):
    return server.base_url.replace("/client/v4", "") + "/signed/upload?sig=1"


def init_answer(server):
    return Reply(200, envelope({"filename": DATABASE + "-" + ETAG + ".sql", "upload_url": upload_url(server)}))


def uploaded(etag=ETAG):
    return Reply(200, {}, headers={"ETag": '"%s"' % etag})


def run(client, sql_file, **kwargs):
    return import_sql_file(client, ACCOUNT, DATABASE, sql_file, sleep=lambda _s: None, **kwargs)


def calls(server):
    return [(r.method, r.path.rsplit("/", 1)[-1], r.json().get("action") if r.path.endswith("/import") else None)
            for r in server.requests]


def test_init_upload_ingest_poll_as_wrangler_does(server, client, sql_file):
    running = {"success": True, "type": "import", "at_bookmark": "b1", "messages": ["Processing"]}
    server.script(init_answer(server), uploaded(), Reply(200, envelope(running)), Reply(200, envelope(COMPLETE)))
    outcome = run(client, sql_file)
    assert outcome == {"num_queries": 2, "final_bookmark": "b2", "meta": COMPLETE["result"]["meta"], "changed": True}
    assert calls(server) == [("POST", "import", "init"), ("PUT", "upload", None), ("POST", "import", "ingest"),
                             ("POST", "import", "poll")]
    init, put, ingest, poll = server.requests
    assert init.json() == {"action": "init", "etag": ETAG}
    assert put.body == SQL and "Authorization" not in put.headers  # the signed URL carries its own authority
    assert ingest.json() == {"action": "ingest", "filename": DATABASE + "-" + ETAG + ".sql", "etag": ETAG}
    assert poll.json() == {"action": "poll", "current_bookmark": "b1"}
    assert client.calls == {"reads": 2, "writes": 1}  # init and poll read; ingest starts the import


def test_an_init_that_finds_the_file_already_uploaded_skips_the_upload(server, client, sql_file):
    server.script(Reply(200, envelope(dict(COMPLETE, status=None, result=None))), Reply(200, envelope(COMPLETE)))
    assert run(client, sql_file)["num_queries"] == 2
    assert calls(server) == [("POST", "import", "init"), ("POST", "import", "poll")]


@pytest.mark.parametrize("answer, text", [
    ({"success": True, "type": "import", "at_bookmark": "b1", "messages": [], "status": "error",
      "error": "no such table: nope: SQLITE_ERROR"}, "no such table: nope"),                      # the SDK's field
    ({"success": True, "type": "import", "at_bookmark": "b1", "messages": [], "status": "error",
      "errors": ["near \"SELEC\": syntax error"]}, "near \"SELEC\""),                             # wrangler's field
    ({"success": False, "error": "Import already in progress"}, "Import already in progress"),  # PollingFailure
])
def test_a_failed_import_says_why_and_that_the_database_was_left_as_it_was(server, client, sql_file, answer, text):
    server.script(init_answer(server), uploaded(), Reply(200, envelope(answer)))
    with pytest.raises(CloudflareAPIError, match="left the database as it was") as caught:
        run(client, sql_file)
    assert text in str(caught.value)


def test_an_upload_with_the_wrong_etag_is_not_ingested(server, client, sql_file):
    server.script(init_answer(server), uploaded("f" * 32))
    with pytest.raises(CloudflareAPIError, match="not the file's MD5"):
        run(client, sql_file)
    assert [c[2] for c in calls(server)] == ["init", None]


def test_an_upload_that_fails_with_5xx_is_sent_again(server, client, sql_file):
    server.script(init_answer(server), Reply(503, {}), uploaded(), Reply(200, envelope(COMPLETE)))
    assert run(client, sql_file)["changed"] is True
    assert [r.method for r in server.requests] == ["POST", "PUT", "PUT", "POST"]


def test_an_ambiguous_ingest_failure_is_not_resent(server, client, sql_file):
    server.script(init_answer(server), uploaded(), failure(502, (10013, "Bad gateway")))
    with pytest.raises(CloudflareAPIError, match="not retried because the request may have been applied"):
        run(client, sql_file)
    assert [c[2] for c in calls(server)].count("ingest") == 1


def test_an_import_that_does_not_finish_in_time_names_its_bookmark(server, client, sql_file):
    running = {"success": True, "type": "import", "at_bookmark": "b1", "messages": []}
    server.handler = lambda request: Reply(200, envelope(running))
    server.script(init_answer(server), uploaded())
    clock = iter(range(0, 10000, 100))
    with pytest.raises(CloudflareAPIError, match="did not finish within 250 seconds .bookmark b1"):
        import_sql_file(client, ACCOUNT, DATABASE, sql_file, timeout=250, sleep=lambda _s: None, now=lambda: next(clock))


def test_check_mode_never_starts_an_import(server, client, sql_file):
    client.writes_allowed = False
    with pytest.raises(CloudflareAPIError, match="writes are disabled"):
        run(client, sql_file)
    assert server.requests == []


def test_a_statement_over_100000_bytes_is_refused_before_any_call(tmp_path):
    path = tmp_path / "big.sql"
    path.write_text("CREATE TABLE t (v);\nINSERT INTO t VALUES ('%s'); INSERT INTO t VALUES (1);\n" % ("x" * MAX_STATEMENT_BYTES))
    with pytest.raises(InvalidInputError, match="a statement is 100026 bytes and D1 takes at most 100000"):
        check_sql_file(str(path))
    check_statement_lengths(["SELECT '%s';" % ("x" * 99000)], "sql")  # under the limit: fine


def test_an_sqlite_database_file_is_not_taken_for_sql(tmp_path):
    path = tmp_path / "db.sqlite3"
    path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    with pytest.raises(InvalidInputError, match="is an SQLite database file, not SQL text"):
        check_sql_file(str(path))
