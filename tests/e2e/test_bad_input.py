"""Bad input fails before any write, with a message that says what to fix."""
import os

import pytest

from tests.e2e.conftest import run_playbook

CASES = {
    "missing token": (["-e", "cloudflare_api_token="], {}, "api_token is required"),
    "wrong token": ([], {"CLOUDFLARE_API_TOKEN": "not-a-valid-token"}, "Authentication error"),
    "wrong account id": ([], {"CLOUDFLARE_ACCOUNT_ID": "ffffffffffffffffffffffffffffffff"}, "account_id"),
    "code file that does not exist": (
        ["-e", "worker_main_module=/nonexistent/books-api/index.js"], {},
        "code file(s) not found: /nonexistent/books-api/index.js",
    ),
    "binding to an unknown namespace": (
        ["-e", '{"worker_kv_namespaces": [{"binding": "CACHE", "namespace_id": "0123456789abcdef0123456789abcdef"}]}'], {},
        "binds KV namespace id(s) that do not exist in the account: 0123456789abcdef0123456789abcdef",
    ),
    # Every binding's target is read before the first write: no KV namespace is created for a deploy that
    # cannot upload (the local inventory binds a KV namespace by title, created by the release).
    "binding to an unknown R2 bucket": (
        ["-e", '{"worker_r2_buckets": [{"binding": "FILES", "bucket_name": "no-such-bucket"}]}'], {},
        "r2_buckets: binding FILES: no R2 bucket named no-such-bucket",
    ),
    "binding to an unknown D1 database": (
        ["-e", '{"worker_d1_databases": [{"binding": "DB", "database_id": "00000000-0000-4000-8000-000000000000"}]}'], {},
        "d1_databases: binding DB: no D1 database with id 00000000-0000-4000-8000-000000000000",
    ),
    "binding to an unknown queue": (
        ["-e", '{"worker_queues": [{"binding": "JOBS", "queue_name": "no-such-queue"}]}'], {},
        "queues: binding JOBS: no queue named no-such-queue",
    ),
    "service binding to a Worker that does not exist": (
        ["-e", '{"worker_services": [{"binding": "AUTH", "service": "no-such-worker"}]}'], {},
        "services: binding AUTH: no Worker named no-such-worker",
    ),
    "code that does not parse": (
        ["-e", "worker_main_module=%s" % os.path.join(os.path.dirname(__file__), "playbooks", "unparsable.js")], {},
        "does not parse as JavaScript (unparsable.js:1: SyntaxError",
    ),
    "invalid worker name": (["-e", "worker_name=Books_API!"], {}, "'Books_API!' is not a valid Worker name"),
    "invalid compatibility date": (["-e", "worker_compatibility_date=yesterday"], {}, "must be a date like"),
    # An empty BOOKS_API_KEY falls back to the local placeholder, so empty the variable itself.
    "secret without a value": (["-e", "books_api_key="], {}, "secret(s) without a value: API_KEY"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_fails_before_any_write_with_a_clear_message(fresh, case):
    args, env, message = CASES[case]
    run = run_playbook(fresh, *args, env=env)
    assert run.rc != 0, run.output
    assert message in run.output, run.output
    assert fresh.calls()["writes"] == 0, fresh.calls()


def test_bad_input_on_an_existing_deployment_leaves_it_untouched(fresh):
    assert run_playbook(fresh).rc == 0
    fresh.reset_calls()
    run = run_playbook(fresh, "-e", "worker_main_module=/nonexistent/index.js")
    assert run.rc != 0
    assert fresh.calls()["writes"] == 0


def test_prod_requires_an_explicit_confirmation(fresh):
    run = run_playbook(fresh, inventory="inventories/prod", env={"BOOKS_API_KEY": "x"})
    assert run.rc != 0
    assert "re-run with -e confirm=prod" in run.output
    assert fresh.calls()["total"] == 0
