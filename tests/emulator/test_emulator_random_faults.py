"""Seeded random fault injection: per kind and rate, the same seed faults the same calls, another seed others;
over the API and the S3 endpoint; the fixed-period mode is unchanged."""
import httpx
import pytest

from emulator.faults import FaultRegistry, FaultSpecError
from tests.support.emulator import EmulatorProcess

API_PATH = "/accounts/a/storage/kv/namespaces"
TEMPLATE = "/accounts/{account_id}/storage/kv/namespaces"


def faulted_calls(spec, calls=200, template=TEMPLATE, path=API_PATH):
    registry = FaultRegistry()
    registry.add(spec)
    return [n for n in range(calls) if registry.decide("GET", template, path) is not None]


def test_the_same_seed_faults_the_same_calls_and_another_seed_others():
    first = faulted_calls({"rate": 0.3, "seed": 7, "status": 503})
    assert first == faulted_calls({"rate": 0.3, "seed": 7, "status": 503})
    assert first != faulted_calls({"rate": 0.3, "seed": 8, "status": 503})
    # About 30% of the calls, not a fixed period.
    assert 40 <= len(first) <= 80
    gaps = {b - a for a, b in zip(first, first[1:])}
    assert len(gaps) > 3


def test_kinds_mix_each_with_its_own_rate_and_seed():
    registry = FaultRegistry()
    registry.add({"rate": 0.1, "seed": 1, "status": 502})
    registry.add({"rate": 0.1, "seed": 2, "action": "hang", "seconds": 0.1})
    registry.add({"rate": 0.1, "seed": 3, "action": "drop", "apply": True})
    chosen = [registry.decide("POST", TEMPLATE, API_PATH) for _call in range(600)]
    kinds = [fault.action for fault in chosen if fault is not None]
    assert {"status", "hang", "drop"} == set(kinds)
    assert 100 <= len(kinds) <= 220  # about 1 - 0.9^3 = 27%
    assert all(fault.apply for fault in chosen if fault is not None and fault.action == "drop")


def test_a_random_fault_lasts_until_cleared_unless_counted():
    assert len(faulted_calls({"rate": 1.0, "seed": 0}, calls=50)) == 50
    assert len(faulted_calls({"rate": 1.0, "seed": 0, "count": 5}, calls=50)) == 5


def test_the_fixed_period_mode_is_unchanged():
    assert faulted_calls({"every": 3, "count": 4, "status": 500}, calls=30) == [2, 5, 8, 11]


@pytest.mark.parametrize("spec, message", [
    ({"rate": 0}, "rate must be a probability"),
    ({"rate": 1.5}, "rate must be a probability"),
    ({"rate": "often"}, "rate must be a number"),
    ({"rate": 0.3, "every": 2}, "not both"),
    ({"rate": 0.3, "seed": "x"}, "seed must be an integer"),
])
def test_bad_random_specs_are_refused(spec, message):
    with pytest.raises(FaultSpecError, match=message):
        FaultRegistry().add(spec)


def test_random_faults_reach_the_api_and_the_s3_endpoint_through_the_admin_api():
    with EmulatorProcess() as emu:
        headers = {"Authorization": "Bearer " + emu.token}
        emu.inject_fault(method="GET", path="/accounts/*/storage/kv/namespaces", status=503, rate=0.5, seed=11)
        api = [httpx.get(emu.base_url + "/accounts/%s/storage/kv/namespaces" % emu.account_id, headers=headers).status_code
               for _call in range(40)]
        emu.clear_faults()
        emu.inject_fault(method="GET", path="/accounts/*/storage/kv/namespaces", status=503, rate=0.5, seed=11)
        again = [httpx.get(emu.base_url + "/accounts/%s/storage/kv/namespaces" % emu.account_id, headers=headers).status_code
                 for _call in range(40)]
        assert api == again and 503 in api and 200 in api
        [listed] = emu.faults()
        assert listed["rate"] == 0.5 and listed["seed"] == 11 and listed["seen"] == 40
        emu.clear_faults()
        emu.inject_fault(path="s3:*", status=503, rate=1.0, seed=1)
        s3 = httpx.get(emu.s3_url + "/assets", params={"list-type": "2"})
        assert s3.status_code == 503
