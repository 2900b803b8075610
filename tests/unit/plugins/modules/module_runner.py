"""Run a module's main() in-process with real arguments against the scripted server; return its result."""
import json

import pytest
from ansible.module_utils.testing import patch_module_args


def run_module(main, capsys, server, **args):
    """``main()`` of a module with ``args`` (plus the scripted server's connection options).

    Returns the module's JSON result; ``result["failed"]`` is set when it called fail_json.
    """
    options = dict(api_token="unit-test-token", account_id="a" * 32, api_base_url=server.base_url,
                   api_max_retries=0)
    options.update(args)
    capsys.readouterr()
    with patch_module_args(options):
        with pytest.raises(SystemExit):
            main()
    return json.loads(capsys.readouterr().out)


def writes(server):
    return [r for r in server.requests if r.method in ("POST", "PUT", "PATCH", "DELETE")]
