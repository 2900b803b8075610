"""A 1,000-record dns_records sync with a third of the calls failing converges in one run, with no duplicate.

The faults: every 3rd batch call is applied and then answered 500 (the answer lost), every 5th is dropped
before it is applied, every 3rd record listing answers 502. A batch is one transaction on Cloudflare, so the
module re-reads the zone after an ambiguous failure and sends only what is still missing.
"""

import httpx
import pytest
import yaml

from emulator.api.zones import zone_id_for
from tests.e2e.conftest import run_playbook
from tests.support.emulator import EmulatorProcess

PLAY = """---
- name: 1,000 records under faults
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Sync the zone
      cfops.cloudflare.dns_records:
        zone: example.com
        records: "{{ dns_records }}"
        exclusive: true
        force: true
"""
BATCH = "/zones/{zone_id}/dns_records/batch"
LIST = "/zones/{zone_id}/dns_records"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    with EmulatorProcess(data_dir=str(tmp_path_factory.mktemp("emulator"))) as emu:
        yield emu


def records(count, generation):
    return [{"name": "host%04d" % index, "type": "A", "ttl": 300,
             "content": "10.%d.%d.%d" % (generation, index // 250, index % 250 + 1)} for index in range(count)]


def live(emulator):
    with httpx.Client(base_url=emulator.base_url, headers={"Authorization": "Bearer " + emulator.token},
                      timeout=30, trust_env=False) as client:
        path = "/zones/%s/dns_records" % zone_id_for(emulator.account_id, "example.com")
        result = client.get(path, params={"per_page": 5000000}).json()["result"]
    return sorted((r["name"], r["type"], r["content"]) for r in result)


def expected(wanted):
    return sorted((r["name"] + ".example.com", r["type"], r["content"]) for r in wanted)


def run(emulator, tmp_path, wanted):
    path = tmp_path / "vars.yml"
    path.write_text(yaml.safe_dump({"dns_records": wanted}))
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY)
    return run_playbook(emulator, "-e", "@%s" % path, playbook=str(playbook), inventory="localhost,")


def faults_on(emulator):
    emulator.clear_faults()
    emulator.inject_fault(method="POST", path=BATCH, action="status", status=500, apply=True, every=3, count=1000)
    emulator.inject_fault(method="POST", path=BATCH, action="drop", every=5, count=1000)
    emulator.inject_fault(method="GET", path=LIST, action="status", status=502, every=3, count=1000)


def test_a_thousand_records_converge_in_one_run_at_a_third_of_calls_failing(emulator, tmp_path):
    emulator.reset_state()
    faults_on(emulator)
    emulator.reset_calls()
    first = records(1000, 1)
    created = run(emulator, tmp_path, first)
    assert created.rc == 0, created.output
    calls = emulator.calls()
    assert calls["faulted"] >= 3, calls
    emulator.clear_faults()
    assert live(emulator) == expected(first)  # every record once: a lost answer never made a duplicate

    changed = records(1000, 1)[:600] + records(1000, 2)[600:]  # 400 changed in place
    faults_on(emulator)
    again = run(emulator, tmp_path, changed)
    assert again.rc == 0, again.output
    emulator.clear_faults()
    assert live(emulator) == expected(changed)

    emulator.reset_calls()
    noop = run(emulator, tmp_path, changed)
    assert noop.rc == 0 and noop.changed == 0, noop.output
    assert emulator.calls()["writes"] == 0
