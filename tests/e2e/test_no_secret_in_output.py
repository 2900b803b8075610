"""At -vvvv, with --diff, on create, no-op and rotation runs, no secret value reaches the output."""
import uuid

import pytest

from tests.e2e.conftest import run_playbook
from tests.support.emulator import EmulatorProcess


@pytest.fixture
def private_emulator(tmp_path):
    # Its own token, so the test can also prove the API token never shows.
    # With the edge: the deploys gate the Worker on its real responses.
    with EmulatorProcess(data_dir=str(tmp_path / "emu"), token="tok-" + uuid.uuid4().hex, edge=True) as emu:
        yield emu


def test_secret_and_token_never_appear_at_vvvv(private_emulator):
    secret = "s3cret-" + uuid.uuid4().hex
    env = {"BOOKS_API_KEY": secret}
    runs = [
        run_playbook(private_emulator, "-vvvv", "--diff", env=env),  # create
        run_playbook(private_emulator, "-vvvv", "--diff", env=env),  # no-op
        run_playbook(private_emulator, "-vvvv", "--diff", "-e", "worker_update_secrets=always", env=env),  # rotation
        run_playbook(private_emulator, "-vvvv", "--diff", "--check", "-e", "worker_update_secrets=always", env=env),
    ]
    for run in runs:
        assert run.rc == 0, run.output[-3000:]
        assert secret not in run.output
        assert private_emulator.token not in run.output
    # The rotation really wrote the secret (so the value went through the modules).
    assert runs[2].changed >= 1
