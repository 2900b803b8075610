"""Bad input fails before any write, with a message that says what to fix."""
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
