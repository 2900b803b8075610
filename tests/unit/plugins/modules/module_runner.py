"""Run a module's main() in-process with Ansible's own test helper (patch_module_args) and return its result."""
import json

import pytest
from ansible.module_utils.testing import patch_module_args

ACCOUNT_ID = "023e105f4ecef8ad9ca31a8372d0c353"
TOKEN = "unit-test-token"


def run_module(main, capsys, server, **args):
    """``(failed, result)`` of one module run against ``server`` (a ScriptedServer)."""
    args = dict({"api_token": TOKEN, "account_id": ACCOUNT_ID, "api_base_url": server.base_url,
                 "api_max_retries": 0}, **args)
    capsys.readouterr()
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        main()
    result = json.loads(capsys.readouterr().out)
    return exited.value.code != 0, result
