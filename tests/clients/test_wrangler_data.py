"""wrangler's data commands (KV, D1, R2, Queues) and whoami, unmodified, against the emulator.

Each test runs the command a user would run with CLOUDFLARE_API_BASE_URL pointed at the local Cloudflare,
then checks the state it left through the API, not only wrangler's own output.
"""
import hashlib
import json
import uuid

import httpx
import pytest

pytestmark = pytest.mark.slow

IMPORT_ROUTE = "/accounts/{account_id}/d1/database/{database_id}/import"


@pytest.fixture
def api(fresh):
    with httpx.Client(base_url=fresh.base_url, headers={"Authorization": "Bearer " + fresh.token}, timeout=30,
                      trust_env=False) as client:
        yield client


def result(response):
    assert response.status_code == 200, response.text
    return response.json()["result"]


def trailing_json(text):
    """The JSON document that ends wrangler's output (``d1 execute --file --json`` prints its spinner first)."""
    start = 0 if text.startswith(("[", "{")) else min(i + 1 for i in (text.find("\n["), text.find("\n{")) if i >= 0)
    return json.loads(text[start:])


def route_count(emulator, method, route):
    return sum(call["count"] for call in emulator.calls()["calls"] if call["method"] == method and call["route"] == route)


# whoami ----------------------------------------------------------------------------------------------------

def test_whoami_with_the_default_token_a_users_api_token(wrangler):
    run = wrangler("whoami", "--account", wrangler.emulator.account_id)
    assert "logged in with an User API Token" in run.stdout, run.output
    assert wrangler.emulator.account_id in run.stdout
    assert "Super Administrator - All Privileges" in run.stdout  # from /memberships
    info = wrangler("whoami", "--json").json()
    assert info["authType"] == "User API Token" and "@" in info["email"]
    assert wrangler.emulator.account_id in [account["id"] for account in info["accounts"]]


def test_whoami_with_an_account_api_token(wrangler):
    emulator = wrangler.emulator
    token = "account-token-" + uuid.uuid4().hex
    emulator.admin("POST", "/tokens", json={"token": token, "account_id": emulator.account_id, "owner": "account"})
    env = {"CLOUDFLARE_API_TOKEN": token}
    info = wrangler("whoami", "--json", env=env).json()
    assert info["authType"] == "Account API Token"
    assert [account["id"] for account in info["accounts"]] == [emulator.account_id]
    run = wrangler("whoami", "--account", emulator.account_id, env=env)
    assert "logged in with an Account API Token, associated with the account cfops local account" in run.stdout
    assert "Unable to get membership roles" in run.stdout  # an account token has no user memberships


# KV ----------------------------------------------------------------------------------------------------------

def namespaces(api, account_id):
    return result(api.get("/accounts/%s/storage/kv/namespaces" % account_id, params={"per_page": 100}))


def test_kv_namespace_create_list_delete(wrangler, api):
    account = wrangler.emulator.account_id
    created = wrangler("kv", "namespace", "create", "books-cache")
    (namespace,) = namespaces(api, account)
    assert namespace["title"] == "books-cache" and namespace["id"] in created.stdout
    # "kv namespace list" asks for per_page=1000 through the SDK (kv/index.ts), which the live API takes.
    listed = json.loads(wrangler("kv", "namespace", "list").stdout)
    assert [(item["id"], item["title"]) for item in listed] == [(namespace["id"], "books-cache")]
    wrangler("kv", "namespace", "delete", "--namespace-id", namespace["id"])
    assert namespaces(api, account) == []


def test_kv_bulk_and_key_commands(wrangler, api, project):
    account = wrangler.emulator.account_id
    namespace_id = result(api.post("/accounts/%s/storage/kv/namespaces" % account, json={"title": "books-kv"}))["id"]
    values = "/accounts/%s/storage/kv/namespaces/%s" % (account, namespace_id)
    (project / "bulk.json").write_text(json.dumps([
        {"key": "plain", "value": "one"},
        {"key": "binary", "value": "AP8=", "base64": True, "metadata": {"kind": "bytes"}},
        {"key": "expiring", "value": "soon", "expiration_ttl": 3600},
    ]))
    wrangler("kv", "bulk", "put", "bulk.json", "--namespace-id", namespace_id, "--remote")
    assert api.get(values + "/values/plain").content == b"one"
    assert api.get(values + "/values/binary").content == b"\x00\xff"
    assert result(api.get(values + "/metadata/binary")) == {"kind": "bytes"}
    wrangler("kv", "key", "put", "greeting", "hello world", "--namespace-id", namespace_id, "--remote",
             "--metadata", '{"lang": "en"}')
    assert api.get(values + "/values/greeting").content == b"hello world"
    assert result(api.get(values + "/metadata/greeting")) == {"lang": "en"}
    assert wrangler("kv", "key", "get", "greeting", "--namespace-id", namespace_id, "--remote").stdout == "hello world"
    listed = json.loads(wrangler("kv", "key", "list", "--namespace-id", namespace_id, "--remote").stdout)
    assert [item["name"] for item in listed] == ["binary", "expiring", "greeting", "plain"]
    assert [item for item in listed if item["name"] == "expiring"][0]["expiration"] > 0
    wrangler("kv", "key", "delete", "greeting", "--namespace-id", namespace_id, "--remote")
    assert api.get(values + "/values/greeting").status_code == 404
    (project / "delete.json").write_text(json.dumps(["plain", "binary"]))
    wrangler("kv", "bulk", "delete", "delete.json", "--namespace-id", namespace_id, "--remote", "--force")
    assert [item["name"] for item in result(api.get(values + "/keys"))] == ["expiring"]


# D1 ----------------------------------------------------------------------------------------------------------

def query(api, account, database_id, sql):
    return result(api.post("/accounts/%s/d1/database/%s/query" % (account, database_id), json={"sql": sql}))[0]["results"]


def test_d1_create_list_migrations_and_execute(wrangler, api, project):
    emulator, account = wrangler.emulator, wrangler.emulator.account_id
    wrangler("d1", "create", "books-db")
    (database,) = result(api.get("/accounts/%s/d1/database" % account))
    assert database["name"] == "books-db"
    listed = json.loads(wrangler("d1", "list", "--json").stdout)
    assert [item["uuid"] for item in listed] == [database["uuid"]]

    (project / "wrangler.jsonc").write_text(json.dumps({
        "name": "books-api", "compatibility_date": "2025-01-01",
        "d1_databases": [{"binding": "DB", "database_name": "books-db", "database_id": database["uuid"]}]}))
    (project / "migrations").mkdir()
    (project / "migrations" / "0001_books.sql").write_text("CREATE TABLE books (isbn TEXT PRIMARY KEY, title TEXT);\n")
    (project / "migrations" / "0002_seed.sql").write_text("INSERT INTO books VALUES ('1', 'Dune');\n")
    wrangler("d1", "migrations", "apply", "books-db", "--remote")
    applied = query(api, account, database["uuid"], "SELECT name FROM d1_migrations ORDER BY id")
    assert [row["name"] for row in applied] == ["0001_books.sql", "0002_seed.sql"]
    assert "No migrations to apply" in wrangler("d1", "migrations", "apply", "books-db", "--remote").output

    rows = wrangler("d1", "execute", "books-db", "--remote", "--command", "SELECT title FROM books", "--json").json()
    assert rows[0]["results"] == [{"title": "Dune"}]

    # --file goes through the import API: init, the upload to the signed URL, ingest (and polls).
    sql = "INSERT INTO books VALUES ('2', 'Emma');\nINSERT INTO books VALUES ('3', 'It''s; a trap');\n"
    (project / "more.sql").write_text(sql)
    emulator.reset_calls()
    imported = trailing_json(wrangler("d1", "execute", "books-db", "--remote", "--file", "more.sql", "--json").stdout)
    assert imported[0]["results"][0]["Total queries executed"] == 2 and imported[0]["results"][0]["Rows written"] == 2
    assert route_count(emulator, "POST", IMPORT_ROUTE) >= 2
    assert route_count(emulator, "PUT", "s3:D1ImportUpload") == 1
    assert route_count(emulator, "POST", "/accounts/{account_id}/d1/database/{database_id}/query") == 0
    titles = query(api, account, database["uuid"], "SELECT title FROM books ORDER BY isbn")
    assert [row["title"] for row in titles] == ["Dune", "Emma", "It's; a trap"]

    # The same file again: D1 has it already (init starts it, no upload), and the duplicate keys fail it whole.
    (project / "again.sql").write_text("INSERT INTO books VALUES ('4', 'Ulysses');\nINSERT INTO books VALUES ('5', 'Odyssey');\n")
    wrangler("d1", "execute", "books-db", "--remote", "--file", "again.sql")
    emulator.reset_calls()
    failed = wrangler("d1", "execute", "books-db", "--remote", "--file", "again.sql", check=False)
    assert failed.rc != 0 and "UNIQUE constraint failed: books.isbn: SQLITE_CONSTRAINT" in failed.output
    assert "File already uploaded" in failed.output and route_count(emulator, "PUT", "s3:D1ImportUpload") == 0
    count = query(api, account, database["uuid"], "SELECT count(*) AS n FROM books")
    assert count == [{"n": 5}]  # the failed import applied nothing
    assert hashlib.md5((project / "again.sql").read_bytes()).hexdigest() in failed.output


# R2 ----------------------------------------------------------------------------------------------------------

def test_r2_bucket_create_list_delete(wrangler, api):
    account = wrangler.emulator.account_id
    wrangler("r2", "bucket", "create", "books-assets")
    wrangler("r2", "bucket", "create", "books-archive", "--location", "weur", "--storage-class", "InfrequentAccess")
    buckets = "/accounts/%s/r2/buckets" % account
    archive = result(api.get(buckets + "/books-archive"))
    assert archive["location"] == "weur" and archive["storage_class"] == "InfrequentAccess"
    listed = wrangler("r2", "bucket", "list").stdout
    assert "books-assets" in listed and "books-archive" in listed
    wrangler("r2", "bucket", "delete", "books-archive")
    assert api.get(buckets + "/books-archive").status_code == 404
    assert [bucket["name"] for bucket in result(api.get(buckets))["buckets"]] == ["books-assets"]


# Queues ------------------------------------------------------------------------------------------------------

def queues(api, account):
    return result(api.get("/accounts/%s/queues" % account))


def deploy_queue_worker(api, account, name):
    """A Worker with a queue() handler: Cloudflare refuses a consumer whose Worker does not exist."""
    metadata = {"main_module": "index.js", "compatibility_date": "2024-09-23"}
    code = b"export default { async queue(batch) { batch.ackAll(); } };\n"
    result(api.put("/accounts/%s/workers/scripts/%s" % (account, name), files=[
        ("metadata", (None, json.dumps(metadata), "application/json")),
        ("index.js", ("index.js", code, "application/javascript+module"))]))


def test_queues_and_worker_consumers(wrangler, api):
    account = wrangler.emulator.account_id
    deploy_queue_worker(api, account, "books-worker")
    wrangler("queues", "create", "tasks")
    wrangler("queues", "create", "tasks-dlq", "--delivery-delay-secs", "5")
    by_name = {queue["queue_name"]: queue for queue in queues(api, account)}
    assert set(by_name) == {"tasks", "tasks-dlq"} and by_name["tasks-dlq"]["settings"]["delivery_delay"] == 5
    listed = wrangler("queues", "list").stdout
    assert by_name["tasks"]["queue_id"] in listed and by_name["tasks-dlq"]["queue_id"] in listed

    wrangler("queues", "consumer", "add", "tasks", "books-worker", "--batch-size", "20", "--batch-timeout", "3",
             "--message-retries", "4", "--dead-letter-queue", "tasks-dlq", "--max-concurrency", "2",
             "--retry-delay-secs", "10")
    (consumer,) = [queue for queue in queues(api, account) if queue["queue_name"] == "tasks"][0]["consumers"]
    assert consumer["script"] == "books-worker" and consumer["dead_letter_queue"] == "tasks-dlq"
    assert consumer["settings"] == {"batch_size": 20, "max_wait_time_ms": 3000, "max_retries": 4, "max_concurrency": 2,
                                    "retry_delay": 10}
    # wrangler finds the consumer by its "script" field (queues/client.ts resolveWorkerConsumerByName).
    assert "worker:books-worker" in wrangler("queues", "info", "tasks").stdout
    wrangler("queues", "consumer", "remove", "tasks", "books-worker")
    assert [queue for queue in queues(api, account) if queue["queue_name"] == "tasks"][0]["consumers"] == []
    wrangler("queues", "delete", "tasks")
    assert [queue["queue_name"] for queue in queues(api, account)] == ["tasks-dlq"]
