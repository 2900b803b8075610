"""The roles' argument specs fail on missing required input: no required option has a default in
defaults/main.yml (which would satisfy the spec with an empty value), so a run without it fails with
Ansible's message naming the variable, before any call."""
import os
import pathlib
import subprocess
import sys

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parent.parent.parent
BIN = os.path.dirname(sys.executable)
ROLES = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "meta" / "argument_specs.yml").is_file())


def required_options(role):
    spec = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    return {(entry, name) for entry, body in spec.items() for name, option in (body.get("options") or {}).items()
            if option.get("required")}


@pytest.mark.parametrize("role", ROLES)
def test_no_required_option_has_a_default(role):
    defaults_file = REPO / "roles" / role / "defaults" / "main.yml"
    defaults = yaml.safe_load(defaults_file.read_text()) or {} if defaults_file.is_file() else {}
    spec = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    with_default = sorted(name for _entry, name in required_options(role)
                          if name in defaults or "default" in spec[_entry]["options"][name])
    assert not with_default, "roles/%s: required option(s) with a default: %s" % (role, with_default)


@pytest.mark.parametrize("role, missing", [
    ("worker", ["worker_compatibility_date", "worker_main_module", "worker_name"]),
    ("dns", ["dns_zone"]),
    ("edge_security", ["edge_security_zone"]),
])
def test_a_run_without_the_required_input_fails_naming_it(tmp_path, role, missing):
    assert {name for _entry, name in required_options(role)} >= set(missing)
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False, "connection": "local",
        # Nowhere to connect to: a run that got past the argument spec would fail on the connection instead.
        "module_defaults": {"group/cfops.cloudflare.cloudflare": {
            "api_token": "unused", "account_id": "0" * 31 + "1", "api_base_url": "http://127.0.0.1:9/client/v4"}},
        "roles": [{"role": "cfops.cloudflare.%s" % role}],
    }]))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), str(playbook), "-i", "localhost,"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    output = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0, output
    assert "missing required arguments: %s" % ", ".join(missing) in output, output
    assert "Validating arguments against arg spec" in output
