"""The Galaxy artifact holds what an installed collection needs and nothing of this repository's
development, and the tests it ships pass in an installed copy.

The tarball is built with ``ansible-galaxy collection build`` (galaxy.yml's ``build_ignore``), listed
against an allow-list, installed with ``ansible-galaxy collection install`` into an empty collections
path, and its ``tests/unit`` run with pytest from there: imports resolve to the installed copy, not to
this checkout.
"""

import fnmatch
import os
import pathlib
import subprocess
import sys
import tarfile

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
# Every file of the artifact matches one of these (fnmatch; "*" spans "/").
ALLOWED = [
    "MANIFEST.json", "FILES.json", "README.md", "COPYING", "CHANGELOG.md", "CHANGELOG.rst", "requirements.txt",
    "meta/runtime.yml", "meta/execution-environment.yml",
    "plugins/*.py", "plugins/*/README.md",
    "roles/*",
    "playbooks/*.yml",
    "docs/*.md",
    "examples/*",
    "extensions/awx/*.yml",
    "changelogs/changelog.yaml", "changelogs/config.yaml", "changelogs/fragments/*.yml", "changelogs/fragments/.keep",
    "tests/unit/*", "tests/integration/targets/*",
]
# Never in the artifact, even where an allowed pattern would admit it.
FORBIDDEN = [
    "*/conftest.py.orig", "*.pyc", "*__pycache__*", "*/.collections*", ".collections*", "ansible.cfg", "*/ansible.cfg",
    "tests/conftest.py", "tests/test_*.py", "docs/dev/*", "extensions/molecule/*", "*/integration_config.yml",
]


def _run(command, **kwargs):
    proc = subprocess.run(command, capture_output=True, text=True, timeout=kwargs.pop("timeout", 300), check=False, **kwargs)
    assert proc.returncode == 0, "%s failed (%d):\n%s\n%s" % (
        " ".join(map(str, command)), proc.returncode, proc.stdout[-4000:], proc.stderr[-4000:])
    return proc


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """``(tarball, names, installed_collection_dir, env)``: built and installed outside this checkout."""
    work = tmp_path_factory.mktemp("artifact")
    (work / "ansible.cfg").write_text("")
    # Only the artifact: no ./ansible.cfg of the checkout, no other collections path.
    env = dict(os.environ, ANSIBLE_CONFIG=str(work / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(work / "collections"),
               ANSIBLE_LOCAL_TEMP=str(work / "tmp"), PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    _run([BIN / "ansible-galaxy", "collection", "build", "--output-path", work, REPO], cwd=work, env=env)
    (tarball,) = work.glob("cfops-cloudflare-*.tar.gz")
    with tarfile.open(tarball) as tar:
        names = sorted(member.name for member in tar.getmembers() if not member.isdir())
    _run([BIN / "ansible-galaxy", "collection", "install", "--force", "-p", work / "collections", tarball], cwd=work, env=env)
    installed = work / "collections" / "ansible_collections" / "cfops" / "cloudflare"
    return tarball, names, installed, env


def test_every_file_is_allowed(built):
    _tarball, names, _installed, _env = built
    unexpected = [n for n in names if not any(fnmatch.fnmatch(n, p) for p in ALLOWED)]
    forbidden = [n for n in names if any(fnmatch.fnmatch(n, p) for p in FORBIDDEN)]
    assert not unexpected, "files in the artifact outside the allow-list: %s" % unexpected
    assert not forbidden, "development-only files in the artifact: %s" % forbidden


def test_what_an_installed_collection_needs_is_there(built):
    _tarball, names, _installed, _env = built
    needed = {"MANIFEST.json", "COPYING", "README.md", "CHANGELOG.md", "changelogs/changelog.yaml", "meta/runtime.yml",
              "requirements.txt", "meta/execution-environment.yml"}
    for path in (REPO / "plugins").rglob("*.py"):
        if "__pycache__" not in path.parts:
            needed.add(str(path.relative_to(REPO)))
    for role in (REPO / "roles").iterdir():
        needed.add("roles/%s/README.md" % role.name)
        needed.add("roles/%s/meta/argument_specs.yml" % role.name)
    for playbook in (REPO / "playbooks").glob("*.yml"):
        needed.add(str(playbook.relative_to(REPO)))
    missing = sorted(needed - set(names))
    assert not missing, "missing from the artifact: %s" % missing


def test_the_licence_is_the_full_gpl3_text(built):
    _tarball, _names, installed, _env = built
    text = (installed / "COPYING").read_text(encoding="utf-8")
    assert text.lstrip().startswith("GNU GENERAL PUBLIC LICENSE") and "Version 3, 29 June 2007" in text
    assert "END OF TERMS AND CONDITIONS" in text and len(text.splitlines()) > 600
    assert yaml.safe_load((REPO / "galaxy.yml").read_text())["license"] == ["GPL-3.0-or-later"]


def test_the_changelog_has_the_released_versions(built):
    _tarball, _names, installed, _env = built
    releases = yaml.safe_load((installed / "changelogs" / "changelog.yaml").read_text())["releases"]
    assert {"1.0.0", "1.1.0"} <= set(releases)
    markdown = (installed / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "v1\\.1\\.0" in markdown and "v1\\.0\\.0" in markdown


def test_the_shipped_unit_tests_pass_from_the_installed_copy(built):
    _tarball, names, installed, env = built
    assert any(n.startswith("tests/unit/") and n.endswith(".py") and "/test_" in n for n in names)
    env = dict(env, PYTHONPATH=str(installed.parents[2]))
    # The modules the tests import are the installed ones.
    where = _run([sys.executable, "-c", "import ansible_collections.cfops.cloudflare.plugins.module_utils._client as m; "
                  "print(m.__file__)"], cwd=installed, env=env).stdout.strip()
    assert where.startswith(str(installed)), where
    proc = _run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--rootdir", installed, "tests/unit"],
                cwd=installed, env=env, timeout=600)
    assert " passed" in proc.stdout and " failed" not in proc.stdout, proc.stdout[-2000:]
    # Running the tests leaves no link or state inside the installed collection.
    assert not (installed / ".collections").exists()


def test_the_git_url_in_a_requirements_file_installs_the_same_collection(built, tmp_path):
    """The README's collections/requirements.yml form (type: git), here with this checkout's committed HEAD
    as the URL: ansible-galaxy builds it with the same build_ignore as the tarball."""
    _tarball, names, _installed, env = built
    head = _run(["git", "rev-parse", "HEAD"], cwd=REPO).stdout.strip()
    requirements = tmp_path / "requirements.yml"
    requirements.write_text(yaml.safe_dump({"collections": [{"name": "git+file://%s" % REPO, "type": "git", "version": head}]}))
    target = tmp_path / "collections"
    _run([BIN / "ansible-galaxy", "collection", "install", "-r", requirements, "-p", target], cwd=tmp_path,
         env=dict(env, ANSIBLE_COLLECTIONS_PATH=str(target)))
    installed = target / "ansible_collections" / "cfops" / "cloudflare"
    from_git = sorted(str(p.relative_to(installed)) for p in installed.rglob("*") if p.is_file())
    committed = set(_run(["git", "ls-tree", "-r", "--name-only", head], cwd=REPO).stdout.split())
    # The tarball of the work tree, limited to what HEAD has, is what the git install holds.
    expected = sorted(n for n in names if n in committed or n in ("MANIFEST.json", "FILES.json"))
    assert from_git == expected


def test_the_installed_collection_runs_its_playbooks_by_name_from_another_directory(built, tmp_path):
    _tarball, _names, installed, env = built
    for playbook in sorted(p.stem for p in (REPO / "playbooks").glob("*.yml")):
        _run([BIN / "ansible-playbook", "cfops.cloudflare.%s" % playbook, "-i", REPO / "inventories" / "local", "--syntax-check"],
             cwd=tmp_path, env=env, timeout=120)
    assert (installed / "playbooks" / "deploy.yml").is_file()
