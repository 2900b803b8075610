"""The AWX / Automation Platform assets (extensions/awx/, execution-environment.yml,
collections/requirements.yml) fit the collection: the credential type injects exactly the
environment variables the modules read and keeps secrets secret, the job templates name playbooks
that exist, the schedule is a valid nightly rule, and ansible-builder accepts the EE definition.
(Running a job the way AWX does is tests/e2e/test_awx_backup.py.)"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import yaml

REPO = pathlib.Path(__file__).resolve().parent.parent
AWX = REPO / "extensions" / "awx"
VENV_BIN = pathlib.Path(sys.executable).parent


def _yaml(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _module_env_fallbacks():
    """Environment variables named in env_fallback of the shared argument spec (module_utils/_module.py)."""
    source = (REPO / "plugins" / "module_utils" / "_module.py").read_text(encoding="utf-8")
    return set(re.findall(r'env_fallback, \["([A-Z0-9_]+)"\]', source))


def test_credential_type_injects_what_the_modules_read():
    credential = _yaml(AWX / "credential_type.yml")
    injected = set(credential["injectors"]["env"])
    fallbacks = _module_env_fallbacks()
    assert {"CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "CLOUDFLARE_API_BASE_URL"} <= fallbacks
    missing = (fallbacks - {"CLOUDFLARE_API_TIMEOUT"}) - injected
    assert not missing, "the credential type does not inject %s" % sorted(missing)
    fields = {field["id"]: field for field in credential["inputs"]["fields"]}
    for template in credential["injectors"]["env"].values():
        (field_id,) = re.findall(r"\{\{\s*(\w+)\s*\}\}", template)
        assert field_id in fields, "injector refers to unknown input %s" % field_id
    assert fields["api_token"].get("secret") is True
    assert fields["r2_secret_access_key"].get("secret") is True
    assert set(credential["inputs"]["required"]) == {"api_token", "account_id"}


def test_job_templates_run_playbooks_that_exist():
    templates = _yaml(AWX / "job_templates.yml")["job_templates"]
    playbooks = {template["playbook"] for template in templates}
    assert playbooks == {"playbooks/deploy.yml", "playbooks/rollback.yml", "playbooks/backup.yml", "playbooks/restore.yml"}
    for playbook in playbooks:
        assert (REPO / playbook).is_file(), "%s is referenced by a job template but does not exist" % playbook
    credential_name = _yaml(AWX / "credential_type.yml")["name"]
    for template in templates:
        assert template["credential_types"] == [credential_name]
        # A secret must come from the credential, never from extra vars.
        assert not re.search(r"token|secret|password", yaml.safe_dump(template.get("extra_vars") or {}), re.I)


def test_nightly_backup_schedule():
    (schedule,) = _yaml(AWX / "schedules.yml")["schedules"]
    templates = {t["name"] for t in _yaml(AWX / "job_templates.yml")["job_templates"]}
    assert schedule["unified_job_template"] in templates
    assert "backup" in schedule["unified_job_template"]
    assert re.fullmatch(r"DTSTART:\d{8}T\d{6}Z RRULE:FREQ=DAILY;INTERVAL=1", schedule["rrule"])


def test_ansible_builder_accepts_the_execution_environment(tmp_path):
    context = tmp_path / "context"
    result = subprocess.run(
        [str(VENV_BIN / "ansible-builder"), "create", "-f", str(REPO / "execution-environment.yml"), "-c", str(context)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    built_requirements = (context / "_build" / "requirements.txt").read_text(encoding="utf-8")
    assert "httpx" in built_requirements
    assert "ansible-core==2.19" in (context / "Dockerfile").read_text(encoding="utf-8")


def test_execution_environment_metadata_points_at_the_runtime_requirements():
    meta = _yaml(REPO / "meta" / "execution-environment.yml")
    assert meta["dependencies"]["python"] == "requirements.txt"
    runtime = (REPO / "requirements.txt").read_text(encoding="utf-8")
    assert "httpx" in runtime
