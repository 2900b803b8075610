"""Live-capable tests: against a real Cloudflare account when CFOPS_LIVE_* are set (scripts/test.sh live),
else against a local emulator with its admin API. docs/dev/live-mode.md says how to write them."""
import os

import pytest

from tests.support.emulator import EmulatorProcess
from tests.support.target import CloudflareTarget


@pytest.fixture(scope="session")
def cf_target(tmp_path_factory):
    """The session's target: checked before the first test, cleaned up after the last, even on failure."""
    if os.environ.get("CFOPS_LIVE_API_TOKEN"):
        with CloudflareTarget.from_env() as target:
            yield target
        return
    with EmulatorProcess(data_dir=str(tmp_path_factory.mktemp("live-capable"))) as emu:
        with CloudflareTarget.from_emulator(emu) as target:
            yield target
