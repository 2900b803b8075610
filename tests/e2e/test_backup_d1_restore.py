"""restore.yml replaces a D1 database in one import: while it runs, a reader sees the old rows or the new, never
an empty database; a failure of the ingest (refused, applied but answered with an error, or the API killed while
it hangs) leaves the old data or the new - never none. A refused or applied-then-failed ingest converges in the same
run (the tables are read again and the load runs again, never doubled); after a kill the next run converges."""
import threading
import time

import httpx
import pytest

from tests.e2e.conftest import run_playbook
from tests.e2e.test_backup_restore import D1_NAME, Api, local_backup_vars
from tests.support.emulator import EmulatorProcess

IMPORT_ROUTE = "/accounts/{account_id}/d1/database/{database_id}/import"


class Reader(threading.Thread):
    """Counts the rows of ``books`` every few milliseconds; records every answer (or error text)."""

    def __init__(self, api):
        super().__init__(daemon=True)
        self.api = api
        self.seen = []
        self.stop = threading.Event()

    def run(self):
        http = httpx.Client(base_url=self.api.emulator.base_url, timeout=30,
                            headers={"Authorization": "Bearer " + self.api.emulator.token})
        while not self.stop.is_set():
            try:
                database = self.api.d1_id(D1_NAME)
                response = http.post("/accounts/%s/d1/database/%s/query" % (self.api.emulator.account_id, database),
                                     json={"sql": "SELECT count(*) AS n FROM books"})
                body = response.json()
                self.seen.append(body["result"][0]["results"][0]["n"] if body.get("success")
                                 else "; ".join(error["message"] for error in body["errors"]))
            except (httpx.HTTPError, AssertionError, KeyError, ValueError, TypeError):
                self.seen.append("unreachable")  # the API is down (the kill test): no answer about the data
            time.sleep(0.02)

    def answers(self):
        self.stop.set()
        self.join(30)
        return [answer for answer in self.seen if answer != "unreachable"]


@pytest.fixture
def d1_env(tmp_path):
    """An emulator of its own (the kill test restarts it), a database of 200 books and a backup of it, then
    50 more books and a table the backup does not have."""
    with EmulatorProcess(data_dir=str(tmp_path / "emulator")) as emulator:
        api = Api(emulator)
        api.call("POST", "/d1/database", json={"name": D1_NAME})
        api.d1_query(D1_NAME, "CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT NOT NULL)")
        api.d1_query(D1_NAME, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200) "
                              "INSERT INTO books (title) SELECT 'book ' || x FROM c")
        root = tmp_path / "backups"
        extra = local_backup_vars(root, backup_kv_namespaces=[], backup_r2_buckets=[])
        backup = run_playbook(emulator, "-e", extra, playbook="playbooks/backup.yml")
        assert backup.rc == 0, backup.output
        backed_up = api.d1_snapshot(D1_NAME)
        api.d1_query(D1_NAME, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50) "
                              "INSERT INTO books (title) SELECT 'new ' || x FROM c")
        api.d1_query(D1_NAME, "CREATE TABLE later (x)")
        yield emulator, api, extra, backed_up, api.d1_snapshot(D1_NAME)


def restore(emulator, extra):
    return run_playbook(emulator, "-e", extra, "-e", "restore_source=local", playbook="playbooks/restore.yml")


@pytest.mark.timeout(600)
def test_an_ingest_refused_converges_in_the_same_run_and_a_reader_never_sees_an_empty_database(d1_env):
    emulator, api, extra, backed_up, _current = d1_env
    # init is the first POST of the import, ingest the second: the ingest fails, unapplied.
    emulator.inject_fault(method="POST", path=IMPORT_ROUTE, action="status", status=500, every=2, count=1)
    reader = Reader(api)
    reader.start()
    run = restore(emulator, extra)
    answers = reader.answers()
    assert run.rc == 0, run.output
    assert api.d1_snapshot(D1_NAME) == backed_up
    assert answers and set(answers) <= {250, 200} and answers[-1] == 200, answers
    assert emulator.calls()["faulted"] == 1, emulator.calls()  # the ingest really failed once
    emulator.reset_calls()
    again = restore(emulator, extra)
    assert again.rc == 0 and again.changed == 0, again.output
    assert emulator.calls()["writes"] == 0, emulator.calls()


@pytest.mark.timeout(600)
def test_an_ingest_applied_but_answered_with_an_error_converges_in_the_same_run_and_a_rerun_writes_nothing(d1_env):
    emulator, api, extra, backed_up, _current = d1_env
    emulator.inject_fault(method="POST", path=IMPORT_ROUTE, action="status", status=500, every=2, count=1, apply=True)
    run = restore(emulator, extra)
    assert run.rc == 0, run.output
    assert api.d1_snapshot(D1_NAME) == backed_up
    emulator.reset_calls()
    again = restore(emulator, extra)
    assert again.rc == 0 and again.changed == 0, again.output
    assert emulator.calls()["writes"] == 0, emulator.calls()


@pytest.mark.timeout(600)
def test_the_api_killed_during_the_ingest_leaves_the_old_data_and_a_rerun_converges(d1_env):
    emulator, api, extra, backed_up, current = d1_env
    emulator.inject_fault(method="POST", path=IMPORT_ROUTE, action="hang", seconds=60, every=2, count=1)
    reader = Reader(api)
    reader.start()
    outcome = {}
    runner = threading.Thread(target=lambda: outcome.update(run=restore(emulator, extra)), daemon=True)
    runner.start()

    def ingest_hangs():
        # The fault is used up (and gone from the list) once the ingest is held; the call counts show it.
        return any(call["route"] == IMPORT_ROUTE and call["count"] >= 2 for call in emulator.calls()["calls"])

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not ingest_hangs():
        time.sleep(0.1)
    assert ingest_hangs(), "the ingest never arrived"
    time.sleep(0.5)
    emulator.restart()  # killed while the ingest hangs; same port and data
    runner.join(300)
    answers = reader.answers()
    # Killed mid-ingest: the run may fail (the API is gone while it retries) or converge once the API is back;
    # either way the database holds the old data or the new, whole, and a reader never saw it empty.
    if outcome["run"].rc == 0:
        assert api.d1_snapshot(D1_NAME) == backed_up
    else:
        assert api.d1_snapshot(D1_NAME) in (current, backed_up), outcome["run"].output
    assert answers and set(answers) <= {250, 200}, answers
    again = restore(emulator, extra)
    assert again.rc == 0, again.output
    assert api.d1_snapshot(D1_NAME) == backed_up
