"""Every module's documented ``attributes`` are what it does (docs/dev/naming.md).

For each module, one representative task runs against the emulator in check mode with ``--diff``, then for
real, then in check mode again:
- ``check_mode: full``: the check run makes no write call at the emulator (its call counter) and predicts
  ``changed`` as the real run then reports it; after the real run, check mode predicts no change.
- ``diff_mode: full``: a changing run returns a diff whose before and after differ; ``none``/``N/A``: never a
  diff; ``partial``: a diff for the case the row exercises (one the module's ``details`` names).
The attributes come from ``ansible-doc`` (the module's own ones merged with the doc fragment), as users
read them. Also: after ``state: absent`` every module's main return key is ``null`` (deleted now, already
gone, or to be deleted in check mode).

The modules run in-process (their ``main()``, the way tests/unit/plugins/modules/module_runner.py does)
against one emulator over real HTTP; worker_release's engine runs in-process too, and one ansible-playbook run
shows that its deprecated option name warns. The file takes well under a minute.
"""
import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import typing

import pytest
from ansible.module_utils import _internal as module_internal
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cfops.cloudflare.plugins.module_utils import _release
from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareClient
from tests.support.emulator import EmulatorProcess
from tests.e2e.conftest import PAID_ZONE  # health checks need a Pro plan or higher

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES = sorted(f[:-3] for f in os.listdir(os.path.join(REPO, "plugins", "modules")) if f.endswith(".py"))
NO_API = {"backup_manifest", "backup_sets", "wrangler_config", "worker_health_probe"}
WORKER_JS = "export default { async fetch() { return new Response('attributes ' + 'v1'); } };\n"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    with EmulatorProcess(data_dir=str(tmp_path_factory.mktemp("emulator")), zones=["example.com", PAID_ZONE + ":pro"]) as emu:
        yield emu


@pytest.fixture(scope="module")
def attributes():
    """``{module: {attribute: support}}`` as ansible-doc shows them."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    out = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-doc"), "-t", "module", "-j",
                          *("cfops.cloudflare." + m for m in MODULES)], cwd=REPO, env=env, capture_output=True,
                         text=True, check=True, timeout=120).stdout
    return {name.rsplit(".", 1)[1]: {key: value["support"] for key, value in doc["doc"].get("attributes", {}).items()}
            for name, doc in json.loads(out).items()}


class Ctx:
    """What the rows need: the emulator, a scratch directory, the results of earlier tasks."""

    def __init__(self, emulator, tmp, capsys):
        self.emulator, self.tmp, self.capsys, self.results = emulator, tmp, capsys, {}

    def file(self, name, text):
        path = os.path.join(self.tmp, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(text)
        return path

    def path(self, name):
        return os.path.join(self.tmp, name)

    @property
    def s3(self):
        return {"s3_endpoint_url": self.emulator.s3_url}


def run(ctx, module, args, check=False, diff=False):
    """The module's result (``failed`` set when it called fail_json)."""
    options = dict(args(ctx) if callable(args) else args)
    if module not in NO_API:
        options.update(api_token=ctx.emulator.token, account_id=ctx.emulator.account_id,
                       api_base_url=ctx.emulator.base_url, api_max_retries=0)
    options.update(_ansible_check_mode=check, _ansible_diff=diff)
    main = __import__("ansible_collections.cfops.cloudflare.plugins.modules." + module, fromlist=["main"]).main
    ctx.capsys.readouterr()
    # As in a module's own process: warnings go to the result, not to the controller's Display.
    was_controller, module_internal.is_controller = module_internal.is_controller, False
    try:
        with patch_module_args(options), pytest.raises(SystemExit):
            main()
    finally:
        module_internal.is_controller = was_controller
    return json.loads(ctx.capsys.readouterr().out)


def ok(ctx, module, args, **kw):
    result = run(ctx, module, args, **kw)
    assert not result.get("failed"), (module, result.get("msg"), result)
    return result


@dataclasses.dataclass
class Row:
    module: str
    args: typing.Any                                  # dict, or ctx -> dict
    setup: tuple = ()                                 # (module, args) run for real first
    changes: bool = True                              # the task changes something on a first run
    idempotent: bool = True                           # a second run changes nothing
    sql_reads: bool = False                           # reads through D1's query route (a POST) in check mode


def script_args(ctx):
    return {"name": "attrs-worker", "main_module": ctx.file("worker/index.js", WORKER_JS),
            "compatibility_date": "2025-01-15"}


WORKER = ("worker_script", script_args)
QUEUE = ("queue", {"name": "attrs-tasks"})
DB = ("d1_database", {"name": "attrs-db"})
DB_TABLE = ("d1_query", {"database": "attrs-db", "sql": "CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT)"})
NAMESPACE = ("kv_namespace", {"title": "attrs-kv"})
ENTRY = ("kv_entry", {"namespace": "attrs-kv", "key": "book:1", "value": "Dune"})
BUCKET = ("r2_bucket", {"name": "attrs-bucket"})


def version_args(ctx):
    args = dict(script_args(ctx), script="attrs-worker", text_vars={"RELEASE": "2"})
    del args["name"]
    return args


def split_args(ctx):
    deployed = ctx.results["worker_info"]["deployments"][0]["versions"][0]["version_id"]
    return {"script": "attrs-worker", "versions": [{"version_id": ctx.results["worker_version"]["version"]["id"],
                                                   "percentage": 10}, {"version_id": deployed, "percentage": 90}]}


ROWS = [
    Row("api_request", {"path": "/accounts/{account_id}/queues", "method": "POST", "body": {"queue_name": "attrs-api"}},
        idempotent=False),
    Row("backup_manifest", lambda ctx: {"path": ctx.file("backup/set/kv/books.jsonl", "{}\n") and ctx.path("backup/set"),
                                        "items": [{"kind": "kv", "name": "books", "files": ["kv/books.jsonl"]}]},
        idempotent=False),  # each write dates the manifest anew
    Row("backup_sets", lambda ctx: {"path": ctx.path("sets"), "state": "created"}, idempotent=False),
    Row("d1_database", {"name": "attrs-db"}),
    Row("d1_export", lambda ctx: {"database": "attrs-db", "dest": ctx.path("db.sql")}, setup=(DB, DB_TABLE),
        idempotent=False),
    # D1 reads are SQL too: the applied-migrations SELECT goes to the query route, a POST the counter calls a
    # write. That check mode applied nothing shows in the real run, which still has the migration to apply.
    Row("d1_migrations", lambda ctx: {"database": "attrs-db", "migrations_dir": ctx.file(
        "migrations/0001_books.sql", "CREATE TABLE shelves (id INTEGER PRIMARY KEY);\n") and ctx.path("migrations")},
        setup=(DB,), sql_reads=True),
    Row("d1_query", {"database": "attrs-db", "sql": "INSERT INTO books (title) VALUES ('Dune')"}, setup=(DB, DB_TABLE),
        idempotent=False),
    Row("dns_record", {"zone": "example.com", "name": "attrs", "type": "A", "content": "192.0.2.10"}),
    Row("dns_records", {"zone": "example.com", "records": [{"name": "attrs2", "type": "A", "content": "192.0.2.11"}]}),
    Row("dns_records_info", {"zone": "example.com"}, changes=False),
    Row("dns_zone_export", lambda ctx: {"zone": "example.com", "dest": ctx.path("example.com.zone")}),
    Row("dns_zone_import", lambda ctx: {"zone": "example.com", "src": ctx.file(
        "import.zone", "$ORIGIN example.com.\nattrs3 300 IN A 192.0.2.12\n")}),
    Row("healthcheck", {"zone": PAID_ZONE, "name": "attrs-health", "address": "books.example.com"}),
    Row("kv_entry", {"namespace": "attrs-kv", "key": "book:2", "value": "Emma"}, setup=(NAMESPACE,)),
    Row("kv_export", lambda ctx: {"namespace": "attrs-kv", "dest": ctx.path("kv.json")}, setup=(NAMESPACE, ENTRY),
        idempotent=False),
    Row("kv_import", lambda ctx: {"namespace": "attrs-kv", "src": ctx.path("kv.json")},
        setup=(NAMESPACE, ENTRY, ("kv_export", lambda ctx: {"namespace": "attrs-kv", "dest": ctx.path("kv.json")}),
               ("kv_entry", {"namespace": "attrs-kv", "key": "book:1", "state": "absent"}))),
    Row("kv_namespace", {"title": "attrs-kv"}),
    Row("kv_namespace_info", {}, changes=False),
    Row("queue", {"name": "attrs-tasks", "delivery_delay": 5}),
    Row("queue_consumer", {"queue": "attrs-tasks", "script": "attrs-worker"}, setup=(QUEUE, WORKER)),
    Row("r2_bucket", {"name": "attrs-bucket"}),
    Row("r2_object", lambda ctx: dict(ctx.s3, bucket="attrs-bucket", mode="put", key="book.txt", content="Dune"),
        setup=(BUCKET,)),
    Row("r2_sync", lambda ctx: dict(ctx.s3, bucket="attrs-bucket", direction="upload",
                                    path=ctx.file("sync/a.txt", "a") and ctx.path("sync")), setup=(BUCKET,)),
    Row("ruleset", {"zone": "example.com", "phase": "http_request_firewall_custom", "rules": [
        {"ref": "block-admin", "expression": 'starts_with(http.request.uri.path, "/admin")', "action": "block"}]}),
    Row("worker_cron", {"script": "attrs-worker", "crons": ["*/5 * * * *"]}, setup=(WORKER,)),
    Row("worker_custom_domain", {"hostname": "attrs.example.com", "script": "attrs-worker"}, setup=(WORKER,)),
    Row("worker_deployment", split_args, setup=(WORKER, ("worker_version", version_args),
                                                ("worker_info", {"name": "attrs-worker"}))),
    Row("worker_health_probe", lambda ctx: {"url": ctx.emulator.root_url + "/__emulator/health", "requests": 2,
                                            "expect_status": [200, 404]}, changes=False),
    Row("worker_info", {"name": "attrs-worker"}, setup=(WORKER,), changes=False),
    Row("worker_route", {"zone": "example.com", "pattern": "attrs.example.com/*", "script": "attrs-worker"},
        setup=(WORKER,)),
    Row("worker_script", script_args),
    Row("worker_secret", {"script": "attrs-worker", "name": "API_KEY", "value": "s3cr3t-attrs"}, setup=(WORKER,)),
    Row("worker_subdomain", {"script": "attrs-worker", "enabled": True}, setup=(WORKER,)),
    Row("worker_version", version_args, setup=(WORKER,)),
    Row("wrangler_config", lambda ctx: {"path": ctx.file("wrangler.toml", 'name = "attrs"\nmain = "index.js"\n')},
        changes=False),
    Row("zone_info", {}, changes=False),
    Row("zone_settings", {"zone": "example.com", "settings": {"always_use_https": "on"}}),
]


def test_every_module_has_a_row():
    assert sorted(r.module for r in ROWS) == [m for m in MODULES if m != "worker_release"]


@pytest.fixture
def ctx(emulator, tmp_path, capsys):
    emulator.reset_state()
    return Ctx(emulator, str(tmp_path), capsys)


D1_QUERY = ("POST", "/accounts/{account_id}/d1/database/{database_id}/query")


def writes(emulator, sql_reads=False):
    return sum(c["count"] for c in emulator.calls()["calls"]
               if c["write"] and not (sql_reads and (c["method"], c["route"]) == D1_QUERY))


def has_diff(result):
    """A diff Ansible shows: before/after that differ, or a ``prepared`` text."""
    diff = result.get("diff") or {}
    return bool(diff.get("prepared")) or ("before" in diff and diff.get("before") != diff.get("after"))


@pytest.mark.parametrize("row", ROWS, ids=[r.module for r in ROWS])
def test_check_and_diff_mode_do_what_the_attributes_say(row, ctx, attributes):
    claimed = attributes[row.module]
    for module, args in row.setup:
        ctx.results[module] = ok(ctx, module, args)
    ctx.emulator.reset_calls()
    planned = ok(ctx, row.module, row.args, check=True, diff=True)
    assert claimed["check_mode"] == "full"
    assert writes(ctx.emulator, row.sql_reads) == 0, (row.module, ctx.emulator.calls())
    real = ok(ctx, row.module, row.args, diff=True)
    assert planned["changed"] is real["changed"] is row.changes, (row.module, planned, real)
    if claimed["diff_mode"] in ("full", "partial") and row.changes:
        assert has_diff(planned) and has_diff(real), (row.module, planned.get("diff"), real.get("diff"))
    else:
        assert "diff" not in planned and "diff" not in real, (row.module, planned.get("diff"))
    if row.idempotent:
        ctx.emulator.reset_calls()
        again = ok(ctx, row.module, row.args, check=True, diff=True)
        assert again["changed"] is False and writes(ctx.emulator, row.sql_reads) == 0, (row.module, again)


# --- worker_release (an action: its engine runs in-process, the action only wraps it) ------------------------

def test_worker_release_check_mode_plans_without_writes_and_diffs(ctx, attributes):
    assert attributes["worker_release"] == {"check_mode": "full", "diff_mode": "full", "action_group": "full"}
    ok(ctx, *WORKER)
    from ansible_collections.cfops.cloudflare.plugins.action.worker_release import Release
    params = {key: option.get("default") for key, option in _release.argument_spec().items()}
    params.update(api_token=ctx.emulator.token, account_id=ctx.emulator.account_id, api_base_url=ctx.emulator.base_url,
                  script="attrs-worker", main_module=ctx.file("worker/index.js", WORKER_JS.replace("v1", "v2")),
                  compatibility_date="2025-01-15", gate="none", smoke_test=False)
    ctx.emulator.reset_calls()
    client = CloudflareClient(ctx.emulator.token, base_url=ctx.emulator.base_url, max_retries=0)
    client.writes_allowed = False
    try:
        planned = Release(client, params, lambda line: None, check_mode=True, diff=True).run()
        plain = Release(client, params, lambda line: None, check_mode=True, diff=False).run()
    finally:
        client.close()
    assert writes(ctx.emulator) == 0
    assert planned["changed"] is True and planned["plan"], planned
    assert planned["diff"]["prepared"] and "v2" in json.dumps(planned["diff"]), planned["diff"]
    assert "diff" not in plain


# --- the result after state: absent ---------------------------------------------------------------------------

ABSENT = [
    # module, main key, args (state: absent added), setup that creates the object
    ("d1_database", "database", {"name": "attrs-db"}, (DB,)),
    ("dns_record", "record", {"zone": "example.com", "name": "attrs", "type": "A"},
     (("dns_record", {"zone": "example.com", "name": "attrs", "type": "A", "content": "192.0.2.10"}),)),
    ("healthcheck", "healthcheck", {"zone": PAID_ZONE, "name": "attrs-health"},
     (("healthcheck", {"zone": PAID_ZONE, "name": "attrs-health", "address": "books.example.com"}),)),
    ("kv_namespace", "namespace", {"title": "attrs-kv"}, (NAMESPACE,)),
    ("queue", "queue", {"name": "attrs-tasks"}, (QUEUE,)),
    ("queue_consumer", "consumer", {"queue": "attrs-tasks", "script": "attrs-worker"},
     (QUEUE, WORKER, ("queue_consumer", {"queue": "attrs-tasks", "script": "attrs-worker"}))),
    ("r2_bucket", "bucket", {"name": "attrs-bucket"}, (BUCKET,)),
    ("worker_custom_domain", "domain", {"hostname": "attrs.example.com"},
     (WORKER, ("worker_custom_domain", {"hostname": "attrs.example.com", "script": "attrs-worker"}))),
    ("worker_route", "route", {"zone": "example.com", "pattern": "attrs.example.com/*"},
     (WORKER, ("worker_route", {"zone": "example.com", "pattern": "attrs.example.com/*", "script": "attrs-worker"}))),
    ("worker_script", "script", {"name": "attrs-worker"}, (WORKER,)),
    ("worker_secret", "secret", {"script": "attrs-worker", "name": "API_KEY"},
     (WORKER, ("worker_secret", {"script": "attrs-worker", "name": "API_KEY", "value": "s3cr3t-attrs"}))),
]


@pytest.mark.parametrize("module, key, args, setup", ABSENT, ids=[a[0] for a in ABSENT])
def test_after_state_absent_the_main_key_is_null(module, key, args, setup, ctx):
    for setup_module, setup_args in setup:
        ok(ctx, setup_module, setup_args)
    args = dict(args, state="absent")
    results = [ok(ctx, module, args, check=True, diff=True), ok(ctx, module, args, diff=True), ok(ctx, module, args)]
    assert [r["changed"] for r in results] == [True, True, False], (module, results)
    assert [key in r and r[key] is None for r in results] == [True] * 3, (module, [r.get(key, "<missing>") for r in results])
    assert results[1]["diff"]["before"], (module, results[1]["diff"])
    if module == "d1_database":
        assert [r["uuid"] for r in results] == [None] * 3


def test_the_module_docs_say_so():
    """Each module of ABSENT documents its main key as returned always and C(null) after state=absent."""
    for module, key, _args, _setup in ABSENT:
        source = open(os.path.join(REPO, "plugins", "modules", module + ".py")).read()
        returned = source[source.index('RETURN = r"""'):]
        block = returned[returned.index("\n%s:\n" % key):]
        block = block[:block.index("\n  returned:") + 30]
        assert "returned: always" in block and "C(null) after O(state=absent)" in textwrap.dedent(block), (module, block)


def test_worker_release_old_option_name_works_with_a_deprecation_warning(ctx):
    """The action validates its own arguments: the deprecation of ``script_name`` must still reach the user."""
    from tests.e2e.conftest import run_playbook
    play = ctx.file("release.yml", textwrap.dedent("""\
        - name: Release with the old option name
          hosts: localhost
          connection: local
          gather_facts: false
          tasks:
            - name: Plan a release
              cfops.cloudflare.worker_release:
                script_name: attrs-worker
                main_module: %s
                compatibility_date: "2025-01-15"
                gate: none
                smoke_test: false
        """ % ctx.file("worker/index.js", WORKER_JS)))
    ctx.emulator.reset_calls()
    run = run_playbook(ctx.emulator, "--check", playbook=play, inventory="localhost,", timeout=300)
    assert run.rc == 0, run.output
    assert "Alias 'script_name' is deprecated" in run.output and "2.0.0" in run.output, run.output
    assert writes(ctx.emulator) == 0
