"""The bad-input catalogue: every module refuses each bad input before any write, with a message that
names the item and the fix.

Each case runs the module's main() in this process against one real emulator (HTTP, SQLite) seeded with
a Worker, a KV namespace, a D1 database, an R2 bucket and a queue, and asserts: the module failed, the
message holds the expected text, and the emulator counted no write call. The playbook cases are in
tests/e2e/test_bad_input.py."""
import contextlib
import importlib
import io
import json
import os

import httpx
import pytest
from ansible.module_utils import _internal as module_internal
from ansible.module_utils.testing import patch_module_args

from tests.support.emulator import EmulatorProcess

MODULES = "ansible_collections.cfops.cloudflare.plugins.modules."
GOOD_JS = "export default { fetch() { return new Response('ok'); } };\n"
BAD_JS = "export default { fetch() { return new Response('ok' } };\n"
NO_SUCH_ID = "0123456789abcdef0123456789abcdef"
NO_SUCH_UUID = "00000000-0000-4000-8000-000000000000"
WORKER = "books-api"


def run(emulator, module, args, api=True):
    """The module's JSON result for ``args`` (connection options added for API modules)."""
    main = importlib.import_module(MODULES + module).main
    options = dict(api_token=emulator.token, account_id=emulator.account_id, api_base_url=emulator.base_url,
                   api_max_retries=0) if api else {}
    options.update(args)
    out = io.StringIO()
    was, module_internal.is_controller = module_internal.is_controller, False
    try:
        with patch_module_args(options), contextlib.redirect_stdout(out), pytest.raises(SystemExit):
            main()
    finally:
        module_internal.is_controller = was
    return json.loads(out.getvalue())


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("catalogue")
    paths = {"dir": str(root)}

    def write(name, content):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        paths[name.replace("/", "_").replace(".", "_")] = str(path)
        paths[name.split("/")[0]] = str(root / name.split("/")[0])

    write("index.js", GOOD_JS)
    write("bad.js", BAD_JS)
    write("lib/bad.js", BAD_JS)
    write("worker.py", "print('not an ES module')\n")
    write("kv_bad.json", "{not json")
    # kv_import reads JSON lines: one {"key", "value"} object a line.
    write("kv_not_list.json", json.dumps([{"key": "a", "value": "b"}]) + "\n")
    write("kv_no_value.json", json.dumps({"key": "a"}) + "\n")
    write("kv_long_key.json", json.dumps({"key": "k" * 513, "value": "v"}) + "\n")
    write("kv_good.json", json.dumps({"key": "a", "value": "1"}) + "\n")
    write("kv_dup.json", json.dumps({"key": "a", "value": "1"}) + "\n" + json.dumps({"key": "a", "value": "2"}) + "\n")
    write("zone_bad.txt", "this is not a zone file\n")
    write("zone_other.txt", "$ORIGIN other.org.\nwww 300 IN A 192.0.2.1\n")
    write("zone_bad_a.txt", "$ORIGIN example.com.\nwww 300 IN A 999.0.2.1\n")
    write("empty.sql", "")
    write("migrations/0001_init.sql", "CREATE TABLE t (a);\n")
    write("wrangler_bad.toml", "name = [\n")
    write("wrangler_noname.toml", "main = 'index.js'\n")
    write("wrangler.toml", "name = 'books-api'\nmain = 'index.js'\ncompatibility_date = '2025-01-15'\n")
    write("sets/readme.txt", "x")
    return paths


@pytest.fixture(scope="module")
def emulator(files):
    with EmulatorProcess() as emu:
        seeded = [
            ("worker_script", dict(name=WORKER, main_module=files["index_js"], compatibility_date="2025-01-15")),
            ("kv_namespace", dict(title="cache")),
            ("d1_database", dict(name="books")),
            ("r2_bucket", dict(name="assets")),
            ("queue", dict(name="jobs")),
        ]
        for module, args in seeded:
            result = run(emu, module, args)
            assert not result.get("failed"), result
        yield emu


def expand(value, files):
    if isinstance(value, str) and value.startswith("@") and value[1:] in files:
        return files[value[1:]]
    if isinstance(value, dict):
        return {k: expand(v, files) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, files) for v in value]
    return value


JS = dict(main_module="@index_js", compatibility_date="2025-01-15")
Z = dict(zone="example.com")
A = dict(Z, type="A", content="192.0.2.1")
HC = dict(Z, name="books-health", address="books.example.com")
# module, options, text the message must hold. "@name" is a file of the ``files`` fixture.
CASES = [
    # --- DNS names and content (dns_record) ---
    ("dns_record", dict(A, name="a" * 64), "a DNS label is at most 63 octets (RFC 1035)"),
    ("dns_record", dict(A, name="a" * 64 + ".sub"), "a DNS label is at most 63 octets"),
    ("dns_record", dict(A, name=".".join(["a" * 60] * 5)), "a DNS name is at most 253 characters"),
    ("dns_record", dict(A, name="www.other.org"), "looks like a name of another zone (it ends in .org)"),
    ("dns_record", dict(A, name="www.example.net"), "looks like a name of another zone"),
    ("dns_record", dict(A, name="shop.example.co.uk"), "looks like a name of another zone (it ends in .uk)"),
    ("dns_record", dict(A, name="www.other.org."), "the name www.other.org. is not in the zone example.com"),
    ("dns_record", dict(A, name="www..example.com"), "has an empty label"),
    ("dns_record", dict(A, name="not a name"), "with characters a DNS name cannot carry"),
    ("dns_record", dict(A, name="bad!name"), "with characters a DNS name cannot carry"),
    ("dns_record", dict(A, name="-lead"), "with characters a DNS name cannot carry"),
    ("dns_record", dict(A, name="trail-"), "with characters a DNS name cannot carry"),
    ("dns_record", dict(A, name="a.*.b"), "with characters a DNS name cannot carry"),
    ("dns_record", dict(A, name="b\u00fccher" * 12), "a DNS label is at most 63 octets"),
    ("dns_record", dict(Z, name="www", type="A", content="999.1.1.1"), "is not a valid IPv4 address"),
    ("dns_record", dict(Z, name="www", type="A", content="2001:db8::1"), "is not a valid IPv4 address"),
    ("dns_record", dict(Z, name="www", type="AAAA", content="192.0.2.1"), "is not a valid IPv6 address"),
    ("dns_record", dict(Z, name="www", type="CNAME", content="not a host!"), "content must be a hostname"),
    ("dns_record", dict(Z, name="www", type="MX", content="mail.example.com"), "priority is required for MX records"),
    ("dns_record", dict(Z, name="www", type="MX", content="mail.example.com", priority=70000), "priority must be an integer from 0 to 65535"),
    ("dns_record", dict(Z, name="www", type="TXT"), "content is required for TXT records"),
    ("dns_record", dict(Z, name="www", type="TXT", content="   "), "content is required for TXT records"),
    ("dns_record", dict(A, name="www", ttl=30), "ttl must be 1 (automatic) or from 60 to 86400"),
    ("dns_record", dict(A, name="www", ttl=100000), "ttl must be an integer from 1 to 86400"),
    ("dns_record", dict(Z, name="www", type="TXT", content="x", proxied=True), "only A, AAAA and CNAME records can be proxied"),
    ("dns_record", dict(A, name="www", tags=["has space"]), "tags must be a list of name:value strings"),
    ("dns_record", dict(Z, name="_sip._tcp", type="SRV"), "SRV records need data"),
    ("dns_record", dict(Z, name="_sip._tcp", type="SRV", data={"priority": 1, "weight": 1, "port": 99999, "target": "sip.example.com"}),
     "data.port must be an integer from 0 to 65535"),
    ("dns_record", dict(Z, name="@", type="CAA", data={"flags": 0, "tag": "bogus", "value": "x"}), "CAA data.tag must be issue, issuewild or iodef"),
    ("dns_record", dict(Z, name="www", type="BOGUS", content="x"), "value of type must be one of"),
    ("dns_record", dict(A, zone="no-such-zone.example", name="www"), "no-such-zone.example"),
    # --- DNS record sets (dns_records, dns_records_info, zone import/export) ---
    ("dns_records", dict(Z, records=[dict(name="a" * 64, type="A", content="192.0.2.1")]), "records[0]"),
    ("dns_records", dict(Z, records=[dict(name="www.other.org", type="A", content="192.0.2.1")]), "looks like a name of another zone"),
    ("dns_records", dict(Z, records=[dict(name="www", type="TXT", content=True)]), "content must be a string, got True: quote it"),
    ("dns_records", dict(Z, records=[dict(name="www", type="TXT", content=["a"])]), "content must be a string"),
    ("dns_records", dict(Z, records=[dict(name="www", type="A", content="192.0.2.1", color="red")]), "unknown key 'color'"),
    ("dns_records", dict(Z, records=["www A 192.0.2.1"]), "unable to convert to dict"),
    ("dns_records", dict(Z, records=[dict(name="www", type="A", content="192.0.2.1")] * 2), "records[1] (www A 192.0.2.1) duplicates records[0]"),
    ("dns_records", dict(Z, records=[dict(name="www", type="CNAME", content="a.example.com"),
                                     dict(name="www", type="A", content="192.0.2.1")]), "a CNAME must be the only record of its name"),
    ("dns_records", dict(Z, records=[dict(name="www", type="A", content="192.0.2.1", proxied="yes")]), "proxied must be true or false"),
    ("dns_records", dict(Z, records=[dict(name="www", type="A", content="192.0.2.1", ttl="soon")]), "ttl must be an integer"),
    ("dns_records", dict(Z, records=[dict(name="www", type="A", content="192.0.2.1", comment=5)]), "comment must be a string"),
    ("dns_records", dict(Z, records=[], batch_size=0), "batch_size must be at least 1"),
    ("dns_records", dict(Z, records=[], max_change_percent=150), "max_change_percent must be from 0 to 100"),
    ("dns_records", dict(Z, names=["www.other.org."], records=[]), "names: "),
    ("dns_records", dict(Z, names=["api"], records=[dict(name="www", type="A", content="192.0.2.1")]), "is not under names"),
    ("dns_records_info", dict(Z, names=["www.other.org."]), "is not in the zone example.com"),
    ("dns_zone_import", dict(Z, src="/nonexistent/zone.txt"), "/nonexistent/zone.txt"),
    ("dns_zone_import", dict(Z, src="@zone_bad_txt"), "zone_bad.txt"),
    ("dns_zone_import", dict(Z, src="@zone_bad_a_txt"), "IPv4"),
    ("dns_zone_import", dict(Z, src="@zone_other_txt"), "other.org"),
    ("dns_zone_import", dict(Z, src="@index_js", batch_size=0), "batch_size"),
    ("dns_zone_export", dict(Z, dest="/nonexistent/dir/zone.txt"), "/nonexistent/dir"),
    # --- Workers routes and custom domains ---
    ("worker_route", dict(pattern="example.com:8080/*", script=WORKER), "a route pattern cannot name a port: remove ':8080'"),
    ("worker_route", dict(pattern="https://books.example.com:443/api/*", script=WORKER), "cannot name a port"),
    ("worker_route", dict(pattern="example.com/?foo=*", script=WORKER), "cannot contain query parameters"),
    ("worker_route", dict(pattern="example.com/*.jpg", script=WORKER), "path may only end with *"),
    ("worker_route", dict(pattern="books.*.example.com/*", script=WORKER), "only a leading * (or *.) is allowed in the host"),
    ("worker_route", dict(pattern="ftp://example.com/*", script=WORKER), "has a scheme other than http:// or https://"),
    ("worker_route", dict(pattern="books example.com/*", script=WORKER), "is not a route pattern"),
    ("worker_route", dict(pattern="/*", script=WORKER), "is not a route pattern"),
    ("worker_route", dict(pattern="books.other.org/*", script=WORKER), "other.org"),
    ("worker_route", dict(pattern="books.other.org/*", zone="example.com", script=WORKER), "is outside the zone example.com"),
    ("worker_route", dict(pattern="books.example.com/*"), "state is present but all of the following are missing: script"),
    ("worker_route", dict(pattern="books.example.com/*", script="Not_A_Worker!"), "Not_A_Worker!"),
    ("worker_route", dict(pattern="books.example.com/*", script="no-such-worker"), "no-such-worker"),
    ("worker_custom_domain", dict(hostname="not a host!", service=WORKER), "not a host!"),
    ("worker_custom_domain", dict(hostname="books.other.org", service=WORKER), "other.org"),
    ("worker_custom_domain", dict(hostname="books.example.com"), "missing: script"),
    ("worker_custom_domain", dict(hostname="books.example.com", service="no-such-worker"), "no-such-worker"),
    ("worker_custom_domain", dict(hostname="*.example.com", service=WORKER), "*.example.com"),
    # --- health checks ---
    ("healthcheck", dict(HC, address="not a host!"), "address 'not a host!' is not a valid host name"),
    ("healthcheck", dict(HC, address="a" * 64 + ".example.com"), "is not a valid host name"),
    ("healthcheck", dict(HC, address="http://books.example.com/"), "is not a valid host name"),
    ("healthcheck", dict(HC, name="books health"), "use letters, digits, '-' and '_' only"),
    ("healthcheck", dict(HC, address=None), "address is required with state=present"),
    ("healthcheck", dict(HC, interval=10, timeout=5, retries=2), "interval (10 s) must be longer than timeout x (retries + 1)"),
    ("healthcheck", dict(HC, check_regions=["MARS"]), "unknown region 'MARS'"),
    ("healthcheck", dict(HC, expected_codes=["abc"]), "expected code 'abc' is not a status"),
    ("healthcheck", dict(HC, expected_codes=["600"]), "expected code '600' is not a status"),
    ("healthcheck", dict(HC, type="ICMP"), "value of type must be one of"),
    ("healthcheck", dict(HC, method="POST"), "value of method must be one of"),
    ("healthcheck", dict(HC, port=70000), "port"),
    ("healthcheck", dict(HC, path="no-slash"), "path"),
    # --- Worker secrets ---
    ("worker_secret", dict(script_name=WORKER, name="MY SECRET", value="s3cr3t-value"), "'MY SECRET' is not a valid secret name"),
    ("worker_secret", dict(script_name=WORKER, name="key=value", value="s3cr3t-value"), "is not a valid secret name"),
    ("worker_secret", dict(script_name=WORKER, name="", value="s3cr3t-value"), "name must not be empty"),
    ("worker_secret", dict(script_name=WORKER, name="API_KEY"), "value"),
    ("worker_secret", dict(script_name="Books_API!", name="API_KEY", value="s3cr3t-value"), "Books_API!"),
    ("worker_secret", dict(script_name="no-such-worker", name="API_KEY", value="s3cr3t-value"),
     "Worker 'no-such-worker' does not exist"),
    # --- Worker scripts: code, names, bindings ---
    ("worker_script", dict(JS, name="Books_API!"), "'Books_API!' is not a valid Worker name"),
    ("worker_script", dict(JS, name="a" * 64), "is not a valid Worker name"),
    ("worker_script", dict(JS, name="svc", main_module="@bad_js"), "does not parse as JavaScript (bad.js:1: SyntaxError"),
    ("worker_script", dict(JS, name="svc", additional_modules=["@lib_bad_js"]), "does not parse as JavaScript (lib/bad.js:1: SyntaxError"),
    ("worker_script", dict(JS, name="svc", main_module="/nonexistent/index.js"), "code file(s) not found: /nonexistent/index.js"),
    ("worker_script", dict(JS, name="svc", main_module="@worker_py"), "must be an ES module (.js or .mjs)"),
    ("worker_script", dict(JS, name="svc", compatibility_date="yesterday"), "must be a date like"),
    ("worker_script", dict(JS, name="svc", services=[{"binding": "AUTH", "service": "no-such-worker"}]),
     "services: binding AUTH: no Worker named no-such-worker"),
    ("worker_script", dict(JS, name="svc", r2_buckets=[{"binding": "FILES", "bucket_name": "no-such-bucket"}]),
     "r2_buckets: binding FILES: no R2 bucket named no-such-bucket"),
    ("worker_script", dict(JS, name="svc", d1_databases=[{"binding": "DB", "database_id": NO_SUCH_UUID}]),
     "d1_databases: binding DB: no D1 database with id " + NO_SUCH_UUID),
    ("worker_script", dict(JS, name="svc", queues=[{"binding": "Q", "queue_name": "no-such-queue"}]),
     "queues: binding Q: no queue named no-such-queue"),
    ("worker_script", dict(JS, name="svc", durable_objects=[{"binding": "R", "class_name": "Room", "script_name": "no-such-worker"}]),
     "durable_objects: binding R: no Worker named no-such-worker"),
    ("worker_script", dict(JS, name="svc", kv_namespaces=[{"binding": "CACHE", "namespace_id": NO_SUCH_ID}]),
     "KV namespace id '%s' does not exist" % NO_SUCH_ID),
    ("worker_script", dict(JS, name="svc", kv_namespaces=[{"binding": "CACHE", "title": "no-such-namespace"}]),
     "no KV namespace titled 'no-such-namespace'"),
    ("worker_script", dict(JS, name="svc", secrets={"MY SECRET": "s3cr3t-value"}), "secrets: the name 'MY SECRET' is not a valid secret name"),
    ("worker_script", dict(JS, name="svc", secrets={"API_KEY": ""}), "secret(s) without a value: API_KEY"),
    ("worker_script", dict(JS, name="svc", text_vars={"A": "1"}, secrets={"A": "s3cr3t-value"}), "binding name A is used twice"),
    ("worker_script", dict(JS, name="svc", text_vars={"CFOPS_RELEASE_FINGERPRINT": "x"}), "is reserved for the release fingerprint"),
    ("worker_script", dict(JS, name="svc", tag="t" * 200), "tag is longer than"),
    ("worker_script", dict(JS, name="svc", migrations=[{"tag": ""}]), "every step needs a non-empty tag"),
    ("worker_script", dict(JS, name="svc", migrations=[{"tag": "v1"}, {"tag": "v1"}]), "v1"),
    ("worker_script", dict(JS, name="svc", main_module=None), "main_module is required"),
    # --- Worker versions and deployments ---
    ("worker_version", dict(JS, script_name="Books_API!"), "'Books_API!' is not a valid Worker name"),
    ("worker_version", dict(JS, script_name=WORKER, main_module="@bad_js"), "does not parse as JavaScript"),
    ("worker_version", dict(JS, script_name=WORKER, r2_buckets=[{"binding": "FILES", "bucket_name": "no-such-bucket"}]),
     "no R2 bucket named no-such-bucket"),
    ("worker_version", dict(JS, script_name=WORKER, services=[{"binding": "AUTH", "service": "no-such-worker"}]),
     "no Worker named no-such-worker"),
    ("worker_version", dict(JS, script_name=WORKER, secrets={"BAD NAME": "s3cr3t-value"}), "is not a valid secret name"),
    ("worker_deployment", dict(script_name=WORKER, versions=[{"version_id": NO_SUCH_UUID, "percentage": 50}]), "100"),
    ("worker_deployment", dict(script_name=WORKER, versions=[{"version_id": NO_SUCH_UUID, "percentage": 150}]), "percentage"),
    ("worker_deployment", dict(script_name=WORKER, versions=[{"version_id": NO_SUCH_UUID, "percentage": 100}]), NO_SUCH_UUID),
    ("worker_deployment", dict(script_name=WORKER, versions=[{"version_id": "a", "percentage": 40}, {"version_id": "b", "percentage": 30},
                                                             {"version_id": "c", "percentage": 30}]), "2"),
    ("worker_deployment", dict(script_name="Books_API!", rollback=True), "Books_API!"),
    ("worker_deployment", dict(script_name=WORKER, rollback_to=NO_SUCH_UUID), NO_SUCH_UUID),
    # --- Worker triggers ---
    ("worker_cron", dict(script_name=WORKER, crons=["every minute"]), "every minute"),
    ("worker_cron", dict(script_name=WORKER, crons=["61 * * * *"]), "61 * * * *"),
    ("worker_cron", dict(script_name=WORKER, crons=["* * * *"]), "* * * *"),
    ("worker_cron", dict(script_name="no-such-worker", crons=["* * * * *"]), "no-such-worker"),
    ("worker_subdomain", dict(script_name="no-such-worker", enabled=True), "no-such-worker"),
    ("worker_subdomain", dict(script_name="Books_API!", enabled=True), "Books_API!"),
    # --- queues ---
    ("queue", dict(name="Bad Queue!"), "Bad Queue!"),
    ("queue", dict(name="q" * 100), "q" * 20),
    ("queue", dict(name="jobs", delivery_delay=-1), "delivery_delay"),
    ("queue", dict(name="jobs", delivery_delay=100000), "delivery_delay"),
    ("queue", dict(name="jobs", message_retention_period=10), "message_retention_period"),
    ("queue_consumer", dict(queue="no-such-queue", script_name=WORKER), "no-such-queue"),
    ("queue_consumer", dict(queue="jobs", script_name="no-such-worker"), "no-such-worker"),
    ("queue_consumer", dict(queue="jobs", script_name=WORKER, batch_size=0), "batch_size"),
    ("queue_consumer", dict(queue="jobs", script_name=WORKER, batch_size=1000), "batch_size"),
    ("queue_consumer", dict(queue="jobs", script_name=WORKER, max_retries=-1), "max_retries"),
    ("queue_consumer", dict(queue="jobs", script_name=WORKER, dead_letter_queue="Bad DLQ!"), "Bad DLQ!"),
    ("queue_consumer", dict(queue="jobs", script_name=WORKER, dead_letter_queue="no-such-dlq"), "dead_letter_queue 'no-such-dlq' does not exist"),
    # --- KV ---
    ("kv_namespace", dict(title=""), "title"),
    ("kv_namespace", dict(title="t" * 600), "title"),
    # KV values are no_log: Ansible masks every occurrence of one in the output, so they are long and unique
    # here (a value "b" would mask each b of the message).
    ("kv_entry", dict(namespace="no-such-namespace", key="a", value="catalogue-value-b"), "no-such-namespace"),
    ("kv_entry", dict(namespace_id=NO_SUCH_ID, key="a", value="catalogue-value-b"), NO_SUCH_ID),
    ("kv_entry", dict(namespace="cache", key="k" * 513, value="catalogue-value-b"), "512"),
    ("kv_entry", dict(namespace="cache", key="", value="catalogue-value-b"), "key"),
    ("kv_entry", dict(namespace="cache", key=".", value="catalogue-value-b"), "'.'"),
    ("kv_entry", dict(namespace="cache", key="..", value="catalogue-value-b"), "'..'"),
    ("kv_entry", dict(namespace="cache", key="a", value="catalogue-value-b", expiration_ttl=30), "at least 60"),
    ("kv_entry", dict(namespace="cache", key="a", value="catalogue-value-b", expiration=5), "at least 60 seconds in the future"),
    ("kv_entry", dict(namespace="cache", key="a", value="not base64!", base64=True), "base64"),
    ("kv_entry", dict(namespace="cache", key="a"), "value"),
    ("kv_entry", dict(namespace="cache", entries=[{"key": "a", "value": "catalogue-value-1"}, {"key": "a", "value": "catalogue-value-2"}]), "'a'"),
    ("kv_entry", dict(namespace="cache", entries=[{"key": "k" * 513, "value": "catalogue-value-1"}]), "512"),
    ("kv_entry", dict(namespace="cache", src="/nonexistent/kv.json"), "/nonexistent/kv.json"),
    ("kv_entry", dict(namespace="cache", src="@kv_bad_json"), "kv_bad.json"),
    ("kv_entry", dict(namespace="cache", key="a", value="catalogue-value-b", metadata={"m": "x" * 1100}), "1024"),
    ("kv_import", dict(namespace="cache", src="@kv_bad_json"), "kv_bad.json"),
    ("kv_import", dict(namespace="cache", src="@kv_not_list_json"), "kv_not_list.json"),
    ("kv_import", dict(namespace="cache", src="@kv_no_value_json"), "value"),
    ("kv_import", dict(namespace="cache", src="@kv_long_key_json"), "512"),
    ("kv_import", dict(namespace="cache", src="@kv_dup_json"), "'a'"),
    ("kv_import", dict(namespace="no-such-namespace", src="@kv_good_json"), "no-such-namespace"),
    ("kv_export", dict(namespace="no-such-namespace", dest="@dir"), "no-such-namespace"),
    ("kv_export", dict(namespace="cache", dest="/nonexistent/dir/kv.json"), "/nonexistent/dir"),
    # --- D1 ---
    ("d1_database", dict(name="Bad Name!"), "Bad Name!"),
    ("d1_database", dict(name="books", primary_location_hint="mars"), "mars"),
    ("d1_database", dict(name="books2", jurisdiction="moon"), "moon"),
    ("d1_query", dict(database="no-such-db", sql="SELECT 1"), "no D1 database named 'no-such-db'"),
    ("d1_query", dict(database="books", sql="   "), "sql"),
    ("d1_query", dict(database="books", src="/nonexistent/dump.sql"), "/nonexistent/dump.sql"),
    ("d1_migrations", dict(database="books", migrations_dir="/nonexistent/migrations"), "/nonexistent/migrations"),
    ("d1_migrations", dict(database="no-such-db", migrations_dir="@migrations"), "no-such-db"),
    ("d1_export", dict(database="no-such-db", dest="@dir"), "no-such-db"),
    ("d1_export", dict(database="books", dest="/nonexistent/dir/dump.sql"), "/nonexistent/dir"),
    ("d1_export", dict(database="books", dest="@dir", no_data=True, no_schema=True), "no_data"),
    # --- R2 ---
    ("r2_bucket", dict(name="Bad_Bucket"), "Bad_Bucket"),
    ("r2_bucket", dict(name="ab"), "'ab'"),
    ("r2_bucket", dict(name="-assets"), "-assets"),
    ("r2_bucket", dict(name="assets2", location_hint="mars"), "mars"),
    ("r2_bucket", dict(name="assets2", storage_class="Glacier"), "Glacier"),
    ("r2_bucket", dict(name="assets", cors_rules=[{"allowed_methods": ["FETCH"], "allowed_origins": ["*"]}]), "FETCH"),
    ("r2_bucket", dict(name="assets", lifecycle_rules=[{"id": "old", "delete_after_days": 0}]), "delete_after_days"),
    ("r2_object", dict(mode="put", bucket="assets", key="k" * 1025, content="x"), "is 1025 bytes long: an R2 object key is at most 1,024 bytes"),
    ("r2_object", dict(mode="put", bucket="assets", key="\u00e9" * 513, content="x"), "is 1026 bytes long"),
    ("r2_object", dict(mode="get", bucket="assets", key="k" * 1025, dest="@dir"), "at most 1,024 bytes"),
    ("r2_object", dict(mode="put", bucket="Bad_Bucket", key="a", content="x"), "Bad_Bucket"),
    ("r2_object", dict(mode="put", bucket="assets", key="a"), "mode=put needs src or content"),
    ("r2_object", dict(mode="put", bucket="assets", key="a", src="/nonexistent/file"), "src /nonexistent/file is not a readable file"),
    ("r2_object", dict(mode="put", bucket="assets", key="a", content="x", part_size_mb=1), "part_size_mb must be from"),
    ("r2_object", dict(mode="list", bucket="assets", max_keys=5000), "max_keys must be from 1 to 1000"),
    ("r2_object", dict(mode="get", bucket="assets", key="a", dest="/nonexistent/dir/a"), "the directory of dest /nonexistent/dir/a does not exist"),
    ("r2_object", dict(mode="put", bucket="assets", key="a", content="x", access_key_id="AKIA"), "set both access_key_id and secret_access_key"),
    ("r2_object", dict(mode="put", bucket="no-such-bucket", key="a", content="x"), "no-such-bucket"),
    ("r2_sync", dict(bucket="Bad_Bucket", path="@dir", direction="upload"), "Bad_Bucket"),
    ("r2_sync", dict(bucket="assets", path="/nonexistent/dir", direction="upload"), "/nonexistent/dir"),
    ("r2_sync", dict(bucket="assets", path="@dir", direction="upload", concurrency=0), "concurrency"),
    ("r2_sync", dict(bucket="assets", path="@dir", direction="upload", prefix="k" * 1025), "longer than 1024 bytes"),
    ("r2_sync", dict(bucket="no-such-bucket", path="@dir", direction="upload"), "no-such-bucket"),
    # --- zones, settings, rulesets, raw API ---
    ("zone_settings", dict(Z, settings={"no_such_setting": "on"}), "no_such_setting"),
    ("zone_settings", dict(Z, settings={"ssl": "sometimes"}), "sometimes"),
    ("zone_settings", dict(Z, settings={"min_tls_version": "0.9"}), "0.9"),
    ("zone_settings", dict(zone="no-such-zone.example", settings={"ssl": "full"}), "no-such-zone.example"),
    ("ruleset", dict(Z, phase="no_such_phase", rules=[]), "no_such_phase"),
    ("ruleset", dict(Z, phase="http_request_firewall_custom", rules=[{"ref": "a", "expression": "true", "action": "explode"}]), "explode"),
    ("ruleset", dict(Z, phase="http_request_firewall_custom", rules=[{"ref": "a", "expression": "true", "action": "block"}] * 2),
     "'a'"),
    ("api_request", dict(path="accounts"), "path"),
    ("api_request", dict(path="https://evil.example/accounts"), "path"),
    ("api_request", dict(path="/accounts", method="POST", paginate="page"), "paginate"),
    ("api_request", dict(path="/accounts", page_size=0), "page_size"),
    # --- Worker information and release ---
    ("worker_info", dict(script_name="Books_API!"), "Books_API!"),
]
# Modules that take no connection options (local files only).
LOCAL_CASES = [
    ("wrangler_config", dict(path="/nonexistent/wrangler.toml"), "/nonexistent/wrangler.toml"),
    ("wrangler_config", dict(path="@wrangler_bad_toml"), "wrangler_bad.toml"),
    ("wrangler_config", dict(path="@wrangler_toml", environment="no-such-env"), "no-such-env"),
    ("backup_manifest", dict(path="/nonexistent/set", state="verified"), "/nonexistent/set"),
    ("backup_manifest", dict(path="@dir", items=[{"kind": "bogus"}]), "bogus"),
    ("backup_sets", dict(path="@dir", state="pruned", retention_days=-1), "retention_days"),
    ("backup_sets", dict(path="@dir", now="yesterday"), "yesterday"),
    ("worker_health_probe", dict(url="not a url"), "not a url"),
    ("worker_health_probe", dict(url="https://books.example.com/health", requests=0), "requests"),
    ("worker_health_probe", dict(url="https://books.example.com/health", max_error_rate=2), "max_error_rate"),
    ("worker_health_probe", dict(url="https://books.example.com/health", concurrency=0), "concurrency"),
]


def case_id(index, case):
    return "%03d-%s" % (index, case[0])


@pytest.mark.parametrize("module, args, message", CASES, ids=[case_id(i, c) for i, c in enumerate(CASES)])
def test_bad_input_is_refused_before_any_write(emulator, files, module, args, message):
    emulator.reset_calls()
    result = run(emulator, module, expand(args, files))
    assert result.get("failed"), result
    assert message in result["msg"], result["msg"]
    assert emulator.calls()["writes"] == 0, (emulator.calls(), result["msg"])


@pytest.mark.parametrize("module, args, message", LOCAL_CASES, ids=[case_id(i, c) for i, c in enumerate(LOCAL_CASES)])
def test_bad_local_input_is_refused(emulator, files, module, args, message):
    emulator.reset_calls()
    result = run(emulator, module, expand(args, files), api=False)
    assert result.get("failed"), result
    assert message in result["msg"], result["msg"]
    assert emulator.calls()["total"] == 0


def test_the_catalogue_holds_at_least_150_distinct_bad_inputs_over_every_module():
    cases = CASES + LOCAL_CASES
    assert len(cases) >= 150
    assert len({(module, json.dumps(args, sort_keys=True)) for module, args, _text in cases}) == len(cases)
    modules = {name[:-3] for name in os.listdir(os.path.join(os.path.dirname(__file__), "..", "..", "plugins", "modules"))
               if name.endswith(".py") and name != "__init__.py"}
    # worker_release is an action plugin (its file only documents it): its cases run as playbooks.
    assert modules - {m for m, _a, _t in cases} == {"kv_namespace_info", "zone_info", "worker_release"}


# --- what is accepted instead of refused, and the API's own refusal ---

def test_a_non_ascii_name_is_stored_idna_encoded_as_cloudflare_stores_names(emulator):
    result = run(emulator, "dns_record", dict(A, name="b\u00fccher"))
    assert not result.get("failed"), result
    assert result["record"]["name"] == "xn--bcher-kva"  # shown relative to the zone
    again = run(emulator, "dns_record", dict(A, name="xn--bcher-kva"))
    assert not again["changed"], again


def test_a_numeric_txt_content_is_its_text(emulator):
    result = run(emulator, "dns_records", dict(Z, records=[dict(name="num", type="TXT", content=12345)]))
    assert not result.get("failed") and result["changed"], result
    again = run(emulator, "dns_records", dict(Z, records=[dict(name="num", type="TXT", content="12345")]))
    assert not again.get("failed") and not again["changed"], again


def test_without_node_on_the_host_the_api_refuses_code_that_does_not_parse(emulator, files, monkeypatch):
    from ansible_collections.cfops.cloudflare.plugins.module_utils import _validate
    monkeypatch.setattr(_validate.shutil, "which", lambda name: None)
    emulator.reset_calls()
    result = run(emulator, "worker_script", dict(JS, name="unparsed", main_module=files["bad_js"]))
    assert result.get("failed"), result
    # Cloudflare's validation code for a script it cannot start (wrangler: deploy/deploy.ts, 10021).
    assert "failed with HTTP 400: [10021] Uncaught SyntaxError: missing ) after argument list" in result["msg"], result["msg"]
    assert "at bad.js:1" in result["msg"]
    assert emulator.calls()["writes"] == 1  # the refused upload itself
    listed = httpx.get(emulator.base_url + "/accounts/%s/workers/scripts" % emulator.account_id,
                       headers={"Authorization": "Bearer " + emulator.token}).json()["result"]
    assert "unparsed" not in [script["id"] for script in listed]
