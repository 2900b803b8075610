"""One name for the Worker a module acts on (docs/dev/naming.md): ``script``, or ``name`` where the
module's object is the Worker itself; the old names still work, with a deprecation warning."""
import importlib
import json
import os
import re

import pytest
import yaml
from ansible.module_utils import _internal as module_internal
from ansible.module_utils.common import warnings as module_warnings
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cfops.cloudflare.plugins.module_utils import _release
from ansible_collections.cfops.cloudflare.tests.unit.plugins.modules.module_runner import module_result
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import failure

MODULES_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "modules")
# The module's object is the Worker: its own name is ``name`` (``script`` an alias, for one name everywhere).
WORKER_IS_THE_OBJECT = {"worker_script", "worker_info"}
# Modules that act on a Worker but take it from elsewhere (a file, a URL).
NO_WORKER_OPTION = {"wrangler_config"}
OLD_NAMES = {"script_name", "service", "worker", "worker_name"}

# module, old name, new name, the other options the argument spec needs.
RENAMED = [
    ("worker_cron", "script_name", "script", {}),
    ("worker_deployment", "script_name", "script", {"rollback": True}),
    ("worker_health_probe", "script_name", "script", {"url": "http://127.0.0.1:9/"}),
    ("worker_secret", "script_name", "script", {"name": "API_KEY", "state": "absent"}),
    ("worker_subdomain", "script_name", "script", {}),
    ("worker_version", "script_name", "script", {"main_module": "/nonexistent/index.js", "compatibility_date": "2025-01-15"}),
    ("worker_version", "name", "script", {"main_module": "/nonexistent/index.js", "compatibility_date": "2025-01-15"}),
    ("queue_consumer", "script_name", "script", {"queue": "tasks"}),
    ("worker_custom_domain", "service", "script", {"hostname": "books.example.com"}),
    ("worker_info", "script_name", "name", {}),
]


def documentation(module):
    source = open(os.path.join(MODULES_DIR, module + ".py")).read()
    return yaml.safe_load(re.search(r'DOCUMENTATION = r"""(.*?)"""', source, re.S).group(1))


def deprecation(entry):
    """``(message, version, collection)`` of a result's deprecation (ansible-core 2.19 nests them)."""
    message = entry.get("msg") or (entry.get("event") or {}).get("msg")
    collection = entry.get("collection_name") or (entry.get("deprecator") or {}).get("resolved_name")
    return message, entry.get("version"), collection


def run(main, capsys, server, api, **args):
    """The module's result; deprecations of earlier runs in this process are forgotten first."""
    module_warnings._global_deprecations.clear()
    if api:
        return module_result(main, capsys, server, **args)
    capsys.readouterr()
    was_controller, module_internal.is_controller = module_internal.is_controller, False
    try:
        with patch_module_args(args), pytest.raises(SystemExit):
            main()
    finally:
        module_internal.is_controller = was_controller
    return json.loads(capsys.readouterr().out)


def worker_modules():
    names = sorted(f[:-3] for f in os.listdir(MODULES_DIR) if f.endswith(".py") and not f.startswith("_"))
    return [n for n in names if (n.startswith("worker_") or n == "queue_consumer") and n not in NO_WORKER_OPTION]


@pytest.mark.parametrize("module", worker_modules())
def test_the_worker_option_follows_the_rule(module):
    options = documentation(module)["options"]
    assert not OLD_NAMES & set(options), "%s: the Worker option is %s" % (module, sorted(OLD_NAMES & set(options)))
    if module in WORKER_IS_THE_OBJECT:
        assert "script" in options["name"].get("aliases", []), module
    else:
        assert "script" in options, module
    for option in options.values():
        for alias in set(option.get("aliases", [])) & OLD_NAMES:
            assert "deprecated" in str(option["description"]), (module, alias)


@pytest.mark.parametrize("module, old, new, other", RENAMED, ids=["%s-%s" % (m, o) for m, o, _n, _x in RENAMED])
def test_the_old_name_still_works_with_a_deprecation(module, old, new, other, server, capsys):
    main = importlib.import_module("ansible_collections.cfops.cloudflare.plugins.modules." + module).main
    server.handler = lambda request: failure(404, (10007, "workers.api.error.script_not_found"))
    api = module != "worker_health_probe"
    old_run = run(main, capsys, server, api, **dict(other, **{old: "books-api"}))
    assert "Unsupported parameters" not in old_run.get("msg", ""), old_run
    assert ("Alias '%s' is deprecated. See the module docs for more information" % old, "2.0.0", "cfops.cloudflare") in [
        deprecation(d) for d in old_run.get("deprecations", [])], old_run
    new_run = run(main, capsys, server, api, **dict(other, **{new: "books-api"}))
    assert not new_run.get("deprecations"), new_run
    # Same input, same outcome: the alias is the option.
    assert (old_run.get("failed"), old_run.get("msg")) == (new_run.get("failed"), new_run.get("msg"))


def test_worker_release_takes_script_and_the_deprecated_script_name():
    """The action plugin validates with this spec and shows the deprecations it collects."""
    spec = _release.argument_spec()
    old = ArgumentSpecValidator(spec).validate({"script_name": "books-api", "main_module": "index.js", "compatibility_date": "2025-01-15"})
    assert not old.error_messages and old.validated_parameters["script"] == "books-api"
    assert [(d["msg"], d["version"], d["collection_name"]) for d in old._deprecations] == [
        ("Alias 'script_name' is deprecated. See the module docs for more information", "2.0.0", "cfops.cloudflare")]
    new = ArgumentSpecValidator(spec).validate({"script": "books-api", "main_module": "index.js", "compatibility_date": "2025-01-15"})
    assert not new.error_messages and not new._deprecations
