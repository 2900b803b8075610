"""dns_records from a file (src): the records never pass through variables, the result carries counts and a
capped sample of the changes (complete with --diff), and a no-op re-run writes nothing."""
import json

import pytest
import yaml

from tests.e2e.conftest import run_playbook
from tests.support.emulator import EmulatorProcess

PLAY = """---
- name: dns_records from a file
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Sync the zone
      cfops.cloudflare.dns_records:
        zone: example.com
        src: "{{ src }}"
        exclusive: true
        force: true
        %(extra)s
      register: synced
    - name: Keep the result
      ansible.builtin.copy:
        content: "{{ synced | to_json }}"
        dest: "{{ result_file }}"
        mode: "0600"
      diff: false
      changed_when: false
      check_mode: false
"""


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    with EmulatorProcess(data_dir=str(tmp_path_factory.mktemp("emulator"))) as emu:
        yield emu


def records(count, generation=1):
    return [{"name": "host%04d" % index, "type": "A", "ttl": 300,
             "content": "10.%d.%d.%d" % (generation, index // 250, index % 250 + 1)} for index in range(count)]


def sync(emulator, tmp_path, src, *args, extra=""):
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY % {"extra": extra})
    result_file = tmp_path / "result.json"
    if result_file.exists():
        result_file.unlink()
    run = run_playbook(emulator, "-e", "src=%s result_file=%s" % (src, result_file), *args,
                       playbook=str(playbook), inventory="localhost,")
    return run, (json.loads(result_file.read_text()) if result_file.exists() else None)


def test_a_zone_from_a_file_reports_counts_and_a_capped_sample(emulator, tmp_path):
    emulator.reset_state()
    src = tmp_path / "records.json"
    src.write_text(json.dumps(records(1500)))
    emulator.reset_calls()
    run, result = sync(emulator, tmp_path, src)
    assert run.rc == 0, run.output
    assert result["counts"] == {"added": 1500, "changed": 0, "removed": 0}
    assert len(result["changes"]["added"]) == 100 and result["changes_truncated"] is True
    assert result["changes"]["added"][0] == {"name": "host0000", "type": "A", "content": "10.1.0.1", "ttl": 300,
                                             "proxied": False}
    assert len(json.dumps(result)) < 40_000  # 1,500 records would be ~150 kB
    assert "diff" not in result
    assert emulator.calls()["writes"] == 8  # 1,500 posts in batches of 200

    emulator.reset_calls()
    noop, result = sync(emulator, tmp_path, src)
    assert noop.rc == 0 and noop.changed == 0, noop.output
    assert emulator.calls()["writes"] == 0 and result["changes_truncated"] is False


def test_diff_shows_every_change_and_a_yaml_mapping_is_read(emulator, tmp_path):
    emulator.reset_state()
    src = tmp_path / "records.yml"
    src.write_text(yaml.safe_dump({"records": records(300)}))
    assert sync(emulator, tmp_path, src)[0].rc == 0
    src.write_text(yaml.safe_dump({"records": records(150) + records(300, generation=2)[150:]}))
    run, result = sync(emulator, tmp_path, src, "--diff", "--check")
    assert run.rc == 0, run.output
    assert result["counts"] == {"added": 0, "changed": 150, "removed": 0}
    assert len(result["changes"]["changed"]) == 150 and result["changes_truncated"] is False
    assert len(result["diff"]["after"]["records"]) == 150

    run, result = sync(emulator, tmp_path, src, extra="changes_limit: 0")
    assert run.rc == 0 and result["changes"] == {"added": [], "changed": [], "removed": []}
    assert result["counts"]["changed"] == 150 and result["changes_truncated"] is True


def test_src_and_records_together_or_a_bad_file_are_refused_before_any_write(emulator, tmp_path):
    emulator.reset_state()
    src = tmp_path / "records.json"
    src.write_text(json.dumps(records(3)))
    emulator.reset_calls()
    run, _result = sync(emulator, tmp_path, src, extra="records: [{name: x, type: A, content: 192.0.2.1}]")
    assert run.rc != 0 and "records and src are mutually exclusive" in run.output
    src.write_text(json.dumps({"not": "records"}))
    run, _result = sync(emulator, tmp_path, src)
    assert run.rc != 0 and "must hold a list of records" in run.output
    src.write_text(json.dumps([{"name": "x", "type": "A", "content": "192.0.2.300"}]))
    run, _result = sync(emulator, tmp_path, src)
    assert run.rc != 0 and "src[0] (x A 192.0.2.300)" in run.output
    assert emulator.calls()["writes"] == 0
