"""The collection's metadata cannot drift from its content.

- ``meta/runtime.yml``'s action group ``cloudflare`` lists exactly the modules in ``plugins/modules``
  that call the Cloudflare API (all but ``LOCAL_MODULES``)
  (a hand-kept list gets typos and forgets new modules; ``module_defaults`` would then silently not
  apply), and every module documents that membership.
- Every module documents the shared connection options (doc fragment ``cfops.cloudflare.api``).
- ``galaxy.yml``'s ``build_ignore`` keeps every development-only part out of the Galaxy artifact,
  and every top-level directory is either shipped on purpose or ignored; a real
  ``ansible-galaxy collection build`` confirms it.
"""

from __future__ import annotations

import ast
import pathlib
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parent.parent
MODULES = REPO / "plugins" / "modules"
DOC_FRAGMENTS = REPO / "plugins" / "doc_fragments"
NAMESPACE, NAME = "cfops", "cloudflare"
ACTION_GROUP = "cloudflare"
API_FRAGMENT = "cfops.cloudflare.api"
# Modules that never call the Cloudflare API (they read local files or probe a URL): they take no
# credentials, so they are outside the action group. Everything else must be in it.
LOCAL_MODULES = {"backup_manifest", "backup_sets", "worker_health_probe", "wrangler_config"}

# Top-level directories and files that exist only for development and testing.
DEV_ONLY = {
    ".venv", ".collections", ".emulator-data", ".tmp", ".ansible", ".ci", ".pytest_cache",
    "node_modules", ".backups", ".cfops", "emulator", "benchmarks", "scripts", "inventories",
    "constraints.txt", "requirements-dev.txt", "pytest.ini",
}
# Development-only parts below a shipped top-level directory.
DEV_ONLY_NESTED = {
    "tests/output", "tests/e2e", "tests/emulator", "tests/support", "extensions/molecule", "docs/dev",
}
# Top-level entries that ship in the Galaxy artifact on purpose.
SHIPPED = {
    "README.md", "galaxy.yml", "requirements.txt", "meta", "plugins", "roles", "playbooks",
    "docs", "examples", "changelogs", "tests", "extensions", "LICENSE", "COPYING", "CHANGELOG.md",
    "CHANGELOG.rst", "ansible.cfg", ".ansible-lint", ".yamllint",
    "execution-environment.yml", "collections",
}


def _yaml(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _module_names():
    return sorted(p.stem for p in MODULES.glob("*.py") if p.name != "__init__.py")


def _api_module_names():
    return [name for name in _module_names() if name not in LOCAL_MODULES]


def _string_constants(path):
    """The module-level (and class-level) string assignments of a Python file, without importing it."""
    constants = {}
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = node.value.value
    return constants


def _documentation(module):
    text = _string_constants(MODULES / (module + ".py")).get("DOCUMENTATION")
    assert text, "plugins/modules/%s.py has no DOCUMENTATION string" % module
    return yaml.safe_load(text) or {}


def _fragments(doc):
    fragments = doc.get("extends_documentation_fragment") or []
    return [fragments] if isinstance(fragments, str) else list(fragments)


def _fragment_documentation(fqcn):
    """DOCUMENTATION of one of our own fragments (``cfops.cloudflare.NAME[.VAR]``), else None."""
    parts = fqcn.split(".")
    if parts[:2] != [NAMESPACE, NAME] or len(parts) not in (3, 4):
        return None
    path = DOC_FRAGMENTS / (parts[2] + ".py")
    if not path.exists():
        return None
    var = parts[3].upper() if len(parts) == 4 else "DOCUMENTATION"
    text = _string_constants(path).get(var)
    return yaml.safe_load(text) if text else None


def test_there_are_modules():
    assert _module_names(), "no modules found in plugins/modules"


def test_action_group_lists_exactly_the_modules():
    runtime = _yaml(REPO / "meta" / "runtime.yml")
    group = (runtime.get("action_groups") or {}).get(ACTION_GROUP)
    assert isinstance(group, list), "meta/runtime.yml has no action_groups.%s list" % ACTION_GROUP
    # Short names only: a FQCN of another collection, or a duplicate, is a mistake here.
    assert len(group) == len(set(group)), "duplicates in action group %s: %s" % (ACTION_GROUP, group)
    modules = set(_api_module_names())
    missing = sorted(modules - set(group))
    unknown = sorted(set(group) - modules)
    assert not missing and not unknown, (
        "meta/runtime.yml action_groups.%s differs from plugins/modules: "
        "modules not in the group: %s; group entries without a module: %s" % (ACTION_GROUP, missing, unknown)
    )


def test_requires_ansible():
    runtime = _yaml(REPO / "meta" / "runtime.yml")
    # Every admitted line is tested by scripts/test.sh matrix (constraints/ansible-core-*.txt and the .venv line).
    assert runtime.get("requires_ansible") == ">=2.19.0"


@pytest.mark.parametrize("module", _api_module_names())
def test_module_documents_the_shared_connection_options(module):
    fragments = _fragments(_documentation(module))
    assert API_FRAGMENT in fragments, (
        "plugins/modules/%s.py: DOCUMENTATION must extend %s (extends_documentation_fragment), got %s"
        % (module, API_FRAGMENT, fragments)
    )


@pytest.mark.parametrize("module", sorted(LOCAL_MODULES & set(_module_names())))
def test_local_module_takes_no_credentials(module):
    doc = _documentation(module)
    assert API_FRAGMENT not in _fragments(doc) and "api_token" not in (doc.get("options") or {}), (
        "plugins/modules/%s.py is listed as local (no Cloudflare API) but takes API credentials; "
        "remove it from LOCAL_MODULES and add it to the action group" % module
    )


@pytest.mark.parametrize("module", _api_module_names())
def test_module_documents_its_action_group_membership(module):
    doc = _documentation(module)
    sources = [doc] + [d for d in map(_fragment_documentation, _fragments(doc)) if d]
    memberships = [
        ((source.get("attributes") or {}).get("action_group") or {}).get("membership") or []
        for source in sources
    ]
    expected = "%s.%s.%s" % (NAMESPACE, NAME, ACTION_GROUP)
    assert any(expected in m for m in memberships), (
        "plugins/modules/%s.py: attributes.action_group.membership must contain %s "
        "(in DOCUMENTATION or a cfops.cloudflare doc fragment)" % (module, expected)
    )


def test_galaxy_yml_identity():
    galaxy = _yaml(REPO / "galaxy.yml")
    assert (galaxy["namespace"], galaxy["name"]) == (NAMESPACE, NAME)
    assert galaxy["readme"] == "README.md" and (REPO / "README.md").is_file()
    assert galaxy.get("dependencies") == {}, "the collection must not depend on other collections"


def test_build_ignore_covers_every_development_only_part():
    ignore = set(_yaml(REPO / "galaxy.yml").get("build_ignore") or [])
    missing = sorted((DEV_ONLY | DEV_ONLY_NESTED) - ignore)
    assert not missing, "galaxy.yml build_ignore misses development-only paths: %s" % missing


def test_every_top_level_directory_is_shipped_on_purpose_or_ignored():
    ignore = set(_yaml(REPO / "galaxy.yml").get("build_ignore") or [])
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=REPO, check=True, capture_output=True, text=True,
    ).stdout.splitlines()
    top_dirs = {path.split("/", 1)[0] for path in listed if "/" in path}
    unclassified = sorted(
        d for d in top_dirs
        if d not in SHIPPED and d not in ignore and not d.startswith(".git")
    )
    assert not unclassified, (
        "top-level directories neither in galaxy.yml build_ignore nor known to ship: %s "
        "(add development-only ones to build_ignore and to DEV_ONLY here)" % unclassified
    )


def test_execution_environment_dependencies():
    ee = _yaml(REPO / "meta" / "execution-environment.yml")
    python = ee["dependencies"]["python"]
    assert (REPO / python).is_file(), "meta/execution-environment.yml points at a missing %s" % python


@pytest.mark.skipif(shutil.which("ansible-galaxy") is None and not (pathlib.Path(sys.executable).parent / "ansible-galaxy").exists(),
                    reason="ansible-galaxy not installed")
def test_built_artifact_holds_no_development_only_file(tmp_path):
    galaxy_bin = pathlib.Path(sys.executable).parent / "ansible-galaxy"
    command = [str(galaxy_bin) if galaxy_bin.exists() else "ansible-galaxy",
               "collection", "build", "--output-path", str(tmp_path), str(REPO)]
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)
    (artifact,) = tmp_path.glob("%s-%s-*.tar.gz" % (NAMESPACE, NAME))
    with tarfile.open(artifact) as tar:
        names = tar.getnames()
    leaked = sorted(
        name for name in names
        if any(name == p or name.startswith(p + "/") for p in DEV_ONLY | DEV_ONLY_NESTED)
        or "__pycache__" in name.split("/")
    )
    assert not leaked, "development-only files in the Galaxy artifact: %s" % leaked
    for needed in ("MANIFEST.json", "meta/runtime.yml", "requirements.txt", "README.md"):
        assert needed in names, "%s is missing from the Galaxy artifact" % needed
    for module in _module_names():
        assert "plugins/modules/%s.py" % module in names
