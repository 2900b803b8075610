"""Run a module's main() in-process with Ansible's own test helper (patch_module_args) against the
scripted server (tests/unit/scripted_server.py), and return its result."""
import json

import pytest
from ansible.module_utils import _internal as module_internal
from ansible.module_utils.testing import patch_module_args

ACCOUNT_ID = "023e105f4ecef8ad9ca31a8372d0c353"
TOKEN = "unit-test-token"


def module_result(main, capsys, server, **args):
    """The JSON result of ``main()`` with ``args`` (plus the scripted server's connection options);
    ``result["failed"]`` is set when the module called fail_json."""
    options = dict(api_token=TOKEN, account_id=ACCOUNT_ID, api_base_url=server.base_url, api_max_retries=0)
    options.update(args)
    capsys.readouterr()
    # A module runs in a process of its own; here it shares one with controller code (the action plugin's
    # tests import it), which makes ansible-core send module warnings to the controller's Display instead of
    # the result. Run it as a module would.
    was_controller, module_internal.is_controller = module_internal.is_controller, False
    try:
        with patch_module_args(options), pytest.raises(SystemExit):
            main()
    finally:
        module_internal.is_controller = was_controller
    return json.loads(capsys.readouterr().out)


def run_module(main, capsys, server, **args):
    """``(failed, result)`` of one module run against ``server``."""
    result = module_result(main, capsys, server, **args)
    return bool(result.get("failed")), result


def writes(server):
    return [r for r in server.requests if r.method in ("POST", "PUT", "PATCH", "DELETE")]
