"""Queues: queues with settings, Worker consumers, the enqueue hook for the edge runtime."""
import pytest

from emulator.api import queues
from emulator.store import Store
from tests.emulator.helpers import error_codes, upload_script

QUEUE_WORKER = b"export default { async queue(batch) { batch.ackAll(); } };\n"


def q_path(account_id, *rest):
    return "/accounts/%s/queues" % account_id + "".join("/" + part for part in rest)


@pytest.fixture
def queue(api, account_id):
    # The Workers this file's consumers name: Cloudflare refuses a consumer whose Worker does not exist.
    for name in ("worker-a", "worker-b", "w"):
        assert upload_script(api, account_id, name, modules=[("index.js", QUEUE_WORKER, "application/javascript+module")]).status_code == 200
    return api.post(q_path(account_id), json={"queue_name": "tasks"}).json()["result"]


def test_create_get_list_update_delete(api, account_id, queue):
    assert queue["queue_name"] == "tasks" and len(queue["queue_id"]) == 32
    assert queue["settings"] == {"delivery_delay": 0, "delivery_paused": False, "message_retention_period": 345600}
    assert queue["consumers"] == [] and queue["consumers_total_count"] == 0
    assert [q["queue_name"] for q in api.get(q_path(account_id)).json()["result"]] == ["tasks"]
    patched = api.patch(q_path(account_id, queue["queue_id"]), json={"settings": {"delivery_delay": 30}}).json()["result"]
    assert patched["settings"]["delivery_delay"] == 30 and patched["settings"]["message_retention_period"] == 345600
    put = api.put(q_path(account_id, queue["queue_id"]),
                  json={"queue_name": "tasks", "settings": {"message_retention_period": 3600}}).json()["result"]
    assert put["settings"] == {"delivery_delay": 0, "delivery_paused": False, "message_retention_period": 3600}
    assert api.get(q_path(account_id, queue["queue_id"])).json()["result"]["settings"] == put["settings"]
    assert api.delete(q_path(account_id, queue["queue_id"])).status_code == 200
    missing = api.get(q_path(account_id, queue["queue_id"]))
    assert missing.status_code == 404 and error_codes(missing) == [11000]


def test_bad_names_duplicates_and_settings_out_of_range(unchecked, account_id, queue):
    for bad in ("Tasks", "-tasks", "a" * 64, ""):
        assert error_codes(unchecked.post(q_path(account_id), json={"queue_name": bad})) == [11003], bad
    duplicate = unchecked.post(q_path(account_id), json={"queue_name": "tasks"})
    assert duplicate.status_code == 409 and error_codes(duplicate) == [11009]
    out_of_range = unchecked.patch(q_path(account_id, queue["queue_id"]), json={"settings": {"delivery_delay": 999999}})
    assert out_of_range.status_code == 400 and "delivery_delay" in out_of_range.json()["errors"][0]["message"]


def test_consumers_with_settings_and_dead_letter_queue(api, unchecked, account_id, queue):
    api.post(q_path(account_id), json={"queue_name": "tasks-dlq"})
    created = api.post(q_path(account_id, queue["queue_id"], "consumers"), json={
        "script_name": "worker-a", "type": "worker", "dead_letter_queue": "tasks-dlq",
        "settings": {"batch_size": 50, "max_retries": 5, "max_wait_time_ms": 2000}}).json()["result"]
    assert created["settings"]["batch_size"] == 50 and created["dead_letter_queue"] == "tasks-dlq"
    assert created["type"] == "worker" and created["queue_name"] == "tasks"
    # The live API names the Worker ``script`` in a consumer (Terraform queue_consumer/custom.go), not script_name.
    assert created["script"] == "worker-a" and "script_name" not in created
    assert [c["script"] for c in api.get(q_path(account_id, queue["queue_id"])).json()["result"]["consumers"]] == ["worker-a"]
    listed = api.get(q_path(account_id, queue["queue_id"], "consumers")).json()["result"]
    assert [c["consumer_id"] for c in listed] == [created["consumer_id"]]
    assert api.get(q_path(account_id, queue["queue_id"])).json()["result"]["consumers_total_count"] == 1
    updated = api.put(q_path(account_id, queue["queue_id"], "consumers", created["consumer_id"]), json={
        "script_name": "worker-a", "type": "worker", "settings": {"batch_size": 10}}).json()["result"]
    assert updated["settings"]["batch_size"] == 10 and updated["dead_letter_queue"] == ""
    twice = unchecked.post(q_path(account_id, queue["queue_id"], "consumers"), json={"script_name": "worker-a", "type": "worker"})
    assert twice.status_code == 409
    no_dlq = unchecked.post(q_path(account_id, queue["queue_id"], "consumers"),
                            json={"script_name": "worker-b", "type": "worker", "dead_letter_queue": "nope"})
    assert no_dlq.status_code == 404 and error_codes(no_dlq) == [11000]
    assert api.delete(q_path(account_id, queue["queue_id"], "consumers", created["consumer_id"])).status_code == 200
    assert api.get(q_path(account_id, queue["queue_id"], "consumers")).json()["result"] == []


def test_the_list_finds_queues_by_name_the_way_wrangler_asks(api, account_id, queue):
    for name in ("tasks-dlq", "tasks-2", "other"):
        api.post(q_path(account_id), json={"queue_name": name})
    by_name = api.get(q_path(account_id), params={"name": "tasks", "page": 1}).json()
    assert [q["queue_name"] for q in by_name["result"]] == ["tasks"]  # exact, not a prefix
    assert by_name["result_info"]["total_count"] == 1
    two = api.get(q_path(account_id), params=[("name", "other"), ("name", "tasks-dlq")]).json()["result"]
    assert sorted(q["queue_name"] for q in two) == ["other", "tasks-dlq"]
    assert api.get(q_path(account_id), params={"name": "missing"}).json()["result"] == []
    paged = api.get(q_path(account_id), params={"per_page": 2, "page": 2}).json()
    assert [q["queue_name"] for q in paged["result"]] == ["tasks-2", "tasks-dlq"]
    assert paged["result_info"] == {"page": 2, "per_page": 2, "count": 2, "total_count": 4, "total_pages": 2}


def test_settings_out_of_range_unknown_consumers_and_second_consumers_have_their_codes(api, unchecked, account_id, queue):
    out_of_range = unchecked.post(q_path(account_id, queue["queue_id"], "consumers"),
                                  json={"script_name": "w", "type": "worker", "settings": {"batch_size": 101}})
    assert out_of_range.status_code == 400 and error_codes(out_of_range) == [11001]
    unknown = unchecked.delete(q_path(account_id, queue["queue_id"], "consumers", "0" * 32))
    assert unknown.status_code == 404 and error_codes(unknown) == [11005]
    api.post(q_path(account_id, queue["queue_id"], "consumers"), json={"script_name": "w", "type": "worker"})
    second = unchecked.post(q_path(account_id, queue["queue_id"], "consumers"), json={"script_name": "w", "type": "worker"})
    assert second.status_code == 409 and error_codes(second) == [11007]


def test_a_consumer_for_a_worker_that_does_not_exist_is_refused_and_nothing_stored(api, unchecked, account_id, queue):
    missing = {"script_name": "no-such-worker", "type": "worker"}
    response = unchecked.post(q_path(account_id, queue["queue_id"], "consumers"), json=missing)
    assert response.status_code == 400 and error_codes(response) == [11001]
    assert "Queue handler is missing: Worker no-such-worker does not exist" in response.json()["errors"][0]["message"]
    created = api.post(q_path(account_id, queue["queue_id"], "consumers"), json={"script_name": "w", "type": "worker"})
    moved = unchecked.put(q_path(account_id, queue["queue_id"], "consumers", created.json()["result"]["consumer_id"]),
                          json=missing)
    assert moved.status_code == 400 and error_codes(moved) == [11001]
    assert [c["script"] for c in api.get(q_path(account_id, queue["queue_id"], "consumers")).json()["result"]] == ["w"]


def test_consumer_for_a_missing_queue_is_404(unchecked, account_id):
    response = unchecked.post(q_path(account_id, "0" * 32, "consumers"), json={"script_name": "w", "type": "worker"})
    assert response.status_code == 404 and error_codes(response) == [11000]


def test_queue_exists_and_enqueue_for_the_edge_runtime(fresh, account_id, queue):
    store = Store(fresh.data_dir)
    try:
        with store.read() as db:
            assert queues.queue_exists(db, account_id, "tasks")
            assert not queues.queue_exists(db, account_id, "other")
        message_id = queues.enqueue_message(store, account_id, "tasks", '{"job": 1}')
        with store.read() as db:
            rows = db.execute("SELECT id, body FROM queue_messages").fetchall()
        assert [(row["id"], bytes(row["body"])) for row in rows] == [(message_id, b'{"job": 1}')]
        with pytest.raises(LookupError):
            queues.enqueue_message(store, account_id, "other", "x")
    finally:
        store.close()
