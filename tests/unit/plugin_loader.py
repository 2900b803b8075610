"""Ansible's collection loader for the plugin tests (lookup, inventory), as ansible-test's unit runner has it.

lookup_loader/inventory_loader load a plugin only through the collection loader (it reads
meta/runtime.yml). The tests have imported ``ansible_collections`` as a plain package by then, so the
fixture sets those modules aside, installs the loader for cfops.cloudflare where it was imported from (this
checkout's .collections link, or an installed copy), and puts everything back afterwards, so the
in-process module tests that run later see the process as before.
"""
import os
import sys

import pytest


def collections_root():
    from ansible_collections.cfops.cloudflare import plugins
    # .../ansible_collections/cfops/cloudflare/plugins -> the directory holding ansible_collections
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(list(plugins.__path__)[0]))))


@pytest.fixture(scope="module")
def collection_loader():
    from ansible.module_utils import _internal as module_utils_internal
    # Importing controller code marks the process as the controller (ansible-core 2.19+), which sends the
    # in-process module tests' warnings to the display instead of their result: read before any such
    # import, restored afterwards.
    was_controller = getattr(module_utils_internal, "is_controller", None)
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
    root = collections_root()
    aside = {name: module for name, module in sys.modules.items() if name == "ansible_collections" or name.startswith("ansible_collections.")}
    for name in aside:
        del sys.modules[name]
    # pylint: disable=protected-access
    _AnsibleCollectionFinder(paths=[root], scan_sys_paths=False)._install()
    try:
        yield root
    finally:
        _AnsibleCollectionFinder._remove()
        for name in [n for n in sys.modules if n == "ansible_collections" or n.startswith("ansible_collections.")]:
            del sys.modules[name]
        sys.modules.update(aside)
        if was_controller is not None:
            module_utils_internal.is_controller = was_controller


@pytest.fixture
def errors(collection_loader):  # pylint: disable=redefined-outer-name,unused-argument
    """``ansible.errors``, imported only once the loader fixture runs (importing it earlier, at collection
    time, would mark the whole test session as the controller)."""
    import ansible.errors
    return ansible.errors
