"""Accounts pinned per environment: a protected environment (staging, prod) writes only to the account and API
its inventory names, whatever the shell holds, and its pre-flight refuses a token that cannot see that account
before any write. Two accounts in one emulator stand for staging's and prod's."""
import os
import re
import shutil

import httpx
import pytest

from tests.e2e.conftest import REPO, run_playbook
from tests.support.emulator import EmulatorProcess

STAGING_ID = "57a9e1c0d2b34f6a8c9d0e1f2a3b4c5d"
PROD_ID = "9d8c7b6a5f4e3d2c1b0a99887766554f"
STAGING_TOKEN = "staging-token-for-the-pinning-test"
STAGING_ACCOUNT_TOKEN = "staging-account-token-for-the-pinning-test"
PROD_TOKEN = "prod-token-for-the-pinning-test"
# The release gates probe workers.dev, which the emulator is not: these runs judge the account, not the gates.
NO_GATES = ("-e", "confirm=prod", "-e", "worker_gate=none", "-e", "worker_smoke_test=false")


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    with EmulatorProcess(data_dir=str(tmp_path_factory.mktemp("emulator"))) as emu:
        emu.add_account(STAGING_ID, "staging")
        emu.add_account(PROD_ID, "prod")
        emu.add_token(STAGING_TOKEN, STAGING_ID)          # a user's token limited to staging's account
        emu.admin("POST", "/tokens", json={"token": STAGING_ACCOUNT_TOKEN, "account_id": STAGING_ID, "owner": "account"})
        emu.add_token(PROD_TOKEN, PROD_ID)
        yield emu


@pytest.fixture
def fresh(emulator):
    emulator.reset_state()
    emulator.reset_calls()
    return emulator


@pytest.fixture(scope="module")
def inventories(emulator, tmp_path_factory):
    """The repository's inventories with prod's pinned account and API pointed at the emulator's prod account
    (the only edit: what a team writes into inventories/prod/group_vars/all/main.yml)."""
    root = tmp_path_factory.mktemp("project") / "inventories"
    shutil.copytree(os.path.join(REPO, "inventories"), root, symlinks=True)
    main = root / "prod" / "group_vars" / "all" / "main.yml"
    text = main.read_text()
    text = re.sub(r"(?m)^cfops_account_id: .*$", "cfops_account_id: %s" % PROD_ID, text)
    text = re.sub(r"(?m)^cfops_api_base_url: .*$", "cfops_api_base_url: %s" % emulator.base_url, text)
    main.write_text(text)
    return root


def shell(token, account="", url=""):
    # The project's code stays in the repository while its inventories are elsewhere: the layout variable.
    return {"CLOUDFLARE_API_TOKEN": token, "CLOUDFLARE_ACCOUNT_ID": account, "CLOUDFLARE_API_BASE_URL": url,
            "BOOKS_API_KEY": "prod-books-key", "CFOPS_PROJECT_ROOT": REPO}


def scripts(emulator, account_id, token):
    answer = httpx.get("%s/accounts/%s/workers/scripts" % (emulator.base_url, account_id),
                       headers={"Authorization": "Bearer " + token}, timeout=10).json()
    return sorted(script["id"] for script in answer["result"])


def flat(text):
    return " ".join(text.split())


@pytest.mark.parametrize("playbook", ["playbooks/deploy.yml", "playbooks/backup.yml", "playbooks/security.yml",
                                      "playbooks/rollback.yml"])
def test_a_shell_holding_stagings_credentials_cannot_point_prod_at_staging(fresh, inventories, playbook):
    run = run_playbook(fresh, *NO_GATES, playbook=playbook, inventory=str(inventories / "prod"),
                       env=shell(STAGING_TOKEN, STAGING_ID, fresh.base_url))
    assert run.rc != 0, run.output
    assert ("prod is protected: it writes only to the account and API of its inventory (cfops_account_id %s"
            % PROD_ID) in flat(run.output), run.output
    assert "CLOUDFLARE_ACCOUNT_ID in the environment is %s" % STAGING_ID in flat(run.output)
    assert fresh.calls()["total"] == 0, fresh.calls()  # refused before the first call
    assert scripts(fresh, STAGING_ID, STAGING_TOKEN) == []


@pytest.mark.parametrize("token", [STAGING_TOKEN, STAGING_ACCOUNT_TOKEN])
def test_a_prod_deploy_with_stagings_token_is_refused_before_any_write(fresh, inventories, token):
    run = run_playbook(fresh, *NO_GATES, inventory=str(inventories / "prod"), env=shell(token))
    assert run.rc != 0, run.output
    assert ("The API token of inventory prod (cloudflare_api_token) cannot see account %s (cfops_account_id in"
            % PROD_ID) in flat(run.output), run.output
    assert "another environment's token in this shell? Nothing was written." in flat(run.output)
    calls = fresh.calls()
    assert calls["writes"] == 0 and 1 <= calls["reads"] <= 3, calls
    assert scripts(fresh, STAGING_ID, STAGING_TOKEN) == [] and scripts(fresh, PROD_ID, PROD_TOKEN) == []


def test_prods_own_token_deploys_into_prods_account_whatever_the_shell_says_of_the_url(fresh, inventories):
    # CLOUDFLARE_API_BASE_URL equal to the pinned one is no conflict; the account comes from the inventory.
    run = run_playbook(fresh, *NO_GATES, inventory=str(inventories / "prod"), env=shell(PROD_TOKEN, url=fresh.base_url))
    assert run.rc == 0, run.output
    assert scripts(fresh, PROD_ID, PROD_TOKEN) == ["books-api-prod"]
    assert scripts(fresh, STAGING_ID, STAGING_TOKEN) == []
    fresh.reset_calls()
    again = run_playbook(fresh, *NO_GATES, inventory=str(inventories / "prod"), env=shell(PROD_TOKEN))
    assert again.rc == 0 and again.changed == 0, again.output
    assert fresh.calls()["writes"] == 0, fresh.calls()


def test_an_unprotected_environment_still_follows_the_shell(fresh):
    # local is not protected: CLOUDFLARE_ACCOUNT_ID chooses the account (a developer's own), no token check.
    run = run_playbook(fresh, "-e", "worker_gate=none", "-e", "worker_smoke_test=false",
                       env={"CLOUDFLARE_API_TOKEN": PROD_TOKEN, "CLOUDFLARE_ACCOUNT_ID": PROD_ID})
    assert run.rc == 0, run.output
    assert scripts(fresh, PROD_ID, PROD_TOKEN) == ["books-api-local"]


def test_the_repositorys_prod_inventory_flags_its_placeholder_account_id(fresh):
    run = run_playbook(fresh, *NO_GATES, inventory="inventories/prod", env=shell(PROD_TOKEN))
    assert run.rc != 0, run.output
    assert "cfops_account_id of inventory prod is a placeholder (YOUR_PROD_ACCOUNT_ID): set cfops_account_id in" \
        in flat(run.output), run.output
    assert "inventories/prod/group_vars/all/main.yml" in run.output
    assert fresh.calls()["total"] == 0


def test_a_missing_token_names_the_inventory_variable_and_file(fresh, inventories):
    run = run_playbook(fresh, *NO_GATES, inventory=str(inventories / "prod"), env=shell(""))
    assert run.rc != 0, run.output
    assert ("cloudflare_api_token is required and not set for inventory prod: set vault_cloudflare_api_token in %s/"
            "vault.yml (ansible-vault" % (inventories / "prod" / "group_vars" / "all")) in flat(run.output), run.output
    assert "api_token is required: set it or CLOUDFLARE_API_TOKEN" not in run.output  # not the module's wording
    assert fresh.calls()["total"] == 0
