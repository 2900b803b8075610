"""Every role has a README (galaxy-importer refuses a collection whose role has none) that documents
the variables its argument spec accepts, with their defaults, and an example that uses the role."""
import pathlib
import re
import subprocess
import sys

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parent.parent
ROLES = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "meta" / "argument_specs.yml").is_file())


def test_the_variables_tables_match_the_argument_specs():
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "role_readme.py"), "--check"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("role", ROLES)
def test_the_readme_names_every_variable_and_has_an_example_using_the_role(role):
    text = (REPO / "roles" / role / "README.md").read_text(encoding="utf-8")
    spec = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]
    missing = [name for name in spec.get("options") or {} if "| `%s` |" % name not in text]
    assert not missing, "roles/%s/README.md does not document %s" % (role, missing)
    examples = re.findall(r"## Example\n+```yaml\n(.*?)```", text, re.S)
    assert examples, "roles/%s/README.md has no '## Example' YAML block" % role
    plays = yaml.safe_load(examples[0])
    used = [r.get("role") for play in plays for r in play.get("roles") or []]
    assert "cfops.cloudflare.%s" % role in used, "the example of roles/%s does not use the role by its FQCN" % role
