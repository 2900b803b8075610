"""The official Python SDK (pinned 5.9.0) over the data objects the modules manage: queues and consumers,
KV, D1 (queries and the import API), R2 buckets and CORS, accounts, the user and token verification.

The SDK parses the emulator's answers into its generated models; a test reads back what it wrote.
"""
import hashlib
import uuid

import cloudflare
import httpx
import pytest


def test_queues_and_a_consumer_as_the_sdk_sees_them(sdk, fresh):
    account = fresh.account_id
    # The consumer's Worker, with a queue() handler: Cloudflare refuses a consumer whose Worker does not exist.
    code = b"export default { async queue(batch) { batch.ackAll(); } };\n"
    uploaded = httpx.put("%s/accounts/%s/workers/scripts/books-worker" % (fresh.base_url, account), trust_env=False,
                         headers={"Authorization": "Bearer " + fresh.token}, files=[
                             ("metadata", (None, '{"main_module": "index.js", "compatibility_date": "2024-09-23"}',
                                           "application/json")),
                             ("index.js", ("index.js", code, "application/javascript+module"))])
    assert uploaded.status_code == 200, uploaded.text
    dlq = sdk.queues.create(account_id=account, queue_name="tasks-dlq")
    queue = sdk.queues.create(account_id=account, queue_name="tasks")
    assert queue.queue_name == "tasks" and queue.settings.message_retention_period == 345600
    sdk.queues.edit(queue.queue_id, account_id=account, settings={"delivery_delay": 30})
    consumer = sdk.queues.consumers.create(queue.queue_id, account_id=account, script_name="books-worker", type="worker",
                                           dead_letter_queue=dlq.queue_name, settings={"batch_size": 25})
    assert consumer.consumer_id and consumer.settings.batch_size == 25 and consumer.dead_letter_queue == "tasks-dlq"
    # The live API names the Worker "script" (Terraform queue_consumer/custom.go); the SDK keeps it as an extra field.
    assert consumer.to_dict().get("script") == "books-worker"
    got = sdk.queues.consumers.get(consumer.consumer_id, queue_id=queue.queue_id, account_id=account)
    assert got.consumer_id == consumer.consumer_id
    listed = list(sdk.queues.list(account_id=account))
    assert sorted(q.queue_name for q in listed) == ["tasks", "tasks-dlq"]
    fetched = sdk.queues.get(queue.queue_id, account_id=account)
    assert fetched.settings.delivery_delay == 30 and [c.consumer_id for c in fetched.consumers] == [consumer.consumer_id]
    sdk.queues.consumers.update(consumer.consumer_id, queue_id=queue.queue_id, account_id=account,
                                script_name="books-worker", type="worker", settings={"batch_size": 5})
    assert [c.settings.batch_size for c in sdk.queues.consumers.list(queue.queue_id, account_id=account)] == [5]
    sdk.queues.consumers.delete(consumer.consumer_id, queue_id=queue.queue_id, account_id=account)
    sdk.queues.delete(queue.queue_id, account_id=account)
    assert [q.queue_name for q in sdk.queues.list(account_id=account)] == ["tasks-dlq"]


def test_kv_namespaces_values_and_bulk(sdk, fresh):
    account = fresh.account_id
    namespace = sdk.kv.namespaces.create(account_id=account, title="books-cache")
    # wrangler asks for per_page=1000 through this very call (kv/index.ts).
    assert [n.id for n in sdk.kv.namespaces.list(account_id=account, per_page=1000)] == [namespace.id]
    sdk.kv.namespaces.bulk_update(namespace.id, account_id=account, body=[
        {"key": "a", "value": "1"}, {"key": "b", "value": "2", "metadata": {"m": True}}])
    assert sdk.kv.namespaces.values.get("a", account_id=account, namespace_id=namespace.id).read() == b"1"
    keys = sdk.kv.namespaces.keys.list(namespace.id, account_id=account)
    assert [k.name for k in keys] == ["a", "b"]
    sdk.kv.namespaces.bulk_delete(namespace.id, account_id=account, body=["a"])
    assert [k.name for k in sdk.kv.namespaces.keys.list(namespace.id, account_id=account)] == ["b"]
    sdk.kv.namespaces.delete(namespace.id, account_id=account)


def test_d1_query_and_the_import_api(sdk, fresh):
    account = fresh.account_id
    database = sdk.d1.database.create(account_id=account, name="books-db")
    sdk.d1.database.query(database.uuid, account_id=account, sql="CREATE TABLE books (isbn TEXT PRIMARY KEY, title TEXT)")
    sql = b"INSERT INTO books VALUES ('1', 'Dune');\nINSERT INTO books VALUES ('2', 'Emma');\n"
    etag = hashlib.md5(sql).hexdigest()
    init = sdk.d1.database.import_(database.uuid, account_id=account, action="init", etag=etag)
    assert init.filename and init.upload_url
    upload = httpx.put(init.upload_url, content=sql, trust_env=False)
    assert upload.status_code == 200 and upload.headers["etag"].strip('"') == etag
    answer = sdk.d1.database.import_(database.uuid, account_id=account, action="ingest", etag=etag, filename=init.filename)
    while answer.status is None:
        answer = sdk.d1.database.import_(database.uuid, account_id=account, action="poll",
                                         current_bookmark=answer.at_bookmark)
    assert answer.status == "complete" and answer.result.num_queries == 2 and answer.result.meta.rows_written == 2
    rows = list(sdk.d1.database.query(database.uuid, account_id=account, sql="SELECT title FROM books ORDER BY isbn"))
    assert [row["title"] for row in rows[0].results] == ["Dune", "Emma"]
    listed = list(sdk.d1.database.list(account_id=account, name="books-db"))
    assert [d.uuid for d in listed] == [database.uuid]


def test_r2_bucket_and_cors(sdk, fresh):
    account = fresh.account_id
    bucket = sdk.r2.buckets.create(account_id=account, name="books-assets", location_hint="weur")
    assert bucket.name == "books-assets" and bucket.location == "weur"
    # No CORS policy yet: a 404, as Terraform's r2_bucket_cors resource expects.
    with pytest.raises(cloudflare.NotFoundError):
        sdk.r2.buckets.cors.get("books-assets", account_id=account)
    sdk.r2.buckets.cors.update("books-assets", account_id=account,
                               rules=[{"allowed": {"methods": ["GET"], "origins": ["https://books.example"]}}])
    assert sdk.r2.buckets.cors.get("books-assets", account_id=account).rules[0].allowed.methods == ["GET"]
    assert [b.name for b in sdk.r2.buckets.list(account_id=account).buckets] == ["books-assets"]
    sdk.r2.buckets.cors.delete("books-assets", account_id=account)
    sdk.r2.buckets.delete("books-assets", account_id=account)


def test_accounts_user_memberships_and_both_kinds_of_token(sdk, fresh):
    account = fresh.account_id
    assert account in [a.id for a in sdk.accounts.list()]
    assert sdk.user.get().email
    assert account in [m.account.id for m in sdk.memberships.list()]
    assert sdk.user.tokens.verify().status == "active"
    with pytest.raises(cloudflare.AuthenticationError):  # a user's token is not an account token
        sdk.accounts.tokens.verify(account_id=account)
    token = "sdk-account-token-" + uuid.uuid4().hex
    row = fresh.admin("POST", "/tokens", json={"token": token, "account_id": account, "owner": "account"})
    http = httpx.Client(timeout=30, trust_env=False)
    with cloudflare.Cloudflare(api_token=token, base_url=fresh.base_url, http_client=http, max_retries=0) as as_account:
        assert as_account.accounts.tokens.verify(account_id=account).id == row["id"]
        with pytest.raises(cloudflare.AuthenticationError):
            as_account.user.tokens.verify()
        with pytest.raises(cloudflare.PermissionDeniedError):
            as_account.user.get()
