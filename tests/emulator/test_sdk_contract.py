"""The SDK contract harness (sdk_contract.py): it maps every route to the SDK's model, and it catches a mismatch.

Every response the emulator tests produce through ``ValidatingTransport`` is checked against the SDK's
model of its route; these tests prove the mapping and the check themselves.
"""
import httpx
import pytest

from emulator import api
from emulator.api.zones import zone_id_for
from emulator.routing import Router
from tests.emulator import sdk_contract
from tests.emulator.schema import SchemaViolation

ROUTES = Router(api.routes()).routes


def test_every_route_with_an_sdk_model_builds_a_validator():
    """A model the mapping names must exist in the pinned SDK and be one pydantic can validate with."""
    built = 0
    for route in ROUTES:
        operation = sdk_contract.model_operation(route.method, route.template)
        if operation is None:
            continue
        sdk_contract._adapter(sdk_contract._resolve(operation.module, operation.type_source))
        built += 1
    assert built >= 100, "only %d routes mapped to an SDK model" % built


def test_the_routes_without_an_sdk_model_are_the_documented_ones():
    unmodelled = set(sdk_contract.routes_without_model(ROUTES))
    documented = set(sdk_contract.NO_SDK_MODEL)
    assert unmodelled - documented == set(), (
        "routes without an SDK response model: add each to NO_SDK_MODEL in tests/emulator/sdk_contract.py with "
        "the reason (or map it): %s" % sorted(unmodelled - documented))
    assert documented - unmodelled == set(), "NO_SDK_MODEL lists routes that now have a model or are gone: %s" % sorted(
        documented - unmodelled)


def test_known_mismatches_name_routes_that_have_a_model():
    for method, template in sdk_contract.KNOWN_MISMATCHES:
        assert sdk_contract.model_operation(method, template) is not None, (method, template)


def test_the_mapping_follows_the_sdk_methods():
    describe = {(r.method, r.template): sdk_contract.model_operation(r.method, r.template) for r in ROUTES}
    record = describe[("GET", "/zones/{zone_id}/dns_records/{dns_record_id}")]
    assert (record.type_source, record.function) == ("RecordResponse", "RecordsResource.get")
    listing = describe[("GET", "/zones/{zone_id}/dns_records")]
    assert (listing.kind, listing.page_source) == ("page", "SyncV4PagePaginationArray")
    entrypoint = describe[("PUT", "/accounts/{account_id}/rulesets/phases/{ruleset_phase}/entrypoint")]
    assert entrypoint.type_source == "PhaseUpdateResponse"  # the SDK's /{account_or_zone}/... template


RECORD = {"id": "3" * 32, "name": "www.example.com", "type": "A", "content": "192.0.2.1", "ttl": 1, "proxied": False,
          "proxiable": True, "settings": {}, "meta": {}, "tags": [], "created_on": "2024-01-01T00:00:00Z",
          "modified_on": "2024-01-01T00:00:00Z", "comment": None}


def _problems(method, path, document):
    contract = sdk_contract.SdkContract()
    return contract.problems(method, path, 200, "application/json", httpx.Response(200, json=document).content)


def test_a_field_of_the_wrong_type_is_named_with_the_model():
    problems = _problems("GET", "/zones/%s/dns_records/%s" % ("1" * 32, "3" * 32),
                         {"success": True, "errors": [], "messages": [], "result": dict(RECORD, ttl="auto")})
    assert problems[0].startswith("result.ttl: ") and "(got \"auto\")" in problems[0]
    assert "RecordResponse (RecordsResource.get, cloudflare/resources/dns/records.py)" in problems[-1]


def test_a_union_member_is_chosen_by_its_type_and_extra_fields_are_allowed():
    good = dict(RECORD, type="MX", content="mail.example.com", priority=10, something_new=True)
    assert _problems("GET", "/zones/%s/dns_records/%s" % ("1" * 32, "3" * 32),
                     {"success": True, "errors": [], "messages": [], "result": good}) == []


def test_pages_check_every_item_and_the_result_info():
    page = {"success": True, "errors": [], "messages": [], "result": [RECORD, dict(RECORD, proxied="no")],
            "result_info": {"page": 1, "per_page": "100", "count": 2, "total_count": 2}}
    problems = _problems("GET", "/zones/%s/dns_records" % ("1" * 32), page)
    fields = [problem.split(":")[0] for problem in problems[:-1]]
    assert fields == ["result_info.per_page", "result[1].proxied"]


def test_an_sdk_page_that_holds_items_in_result_items_is_read_so():
    versions = {"success": True, "errors": [], "messages": [], "result": {"items": [{"id": 7}]},
                "result_info": {"page": 1, "per_page": 10, "total_count": 1}}
    problems = _problems("GET", "/accounts/%s/workers/scripts/s/versions" % ("2" * 32), versions)
    assert problems[0].startswith("result.items[0].id: ")


def test_the_validating_transport_checks_responses_against_the_sdk(api, validator, account_id):
    """The hook: a response the emulator tests receive is checked against the SDK's model too."""
    zone_id = zone_id_for(account_id, "example.com")  # the seeded zone
    checked = validator.sdk.checked
    assert api.get("/zones/%s/dns_records" % zone_id).status_code == 200
    assert validator.sdk.checked == checked + 1
    request = httpx.Request("GET", api.base_url.join("zones/%s/dns_records/%s" % (zone_id, "3" * 32)))
    response = httpx.Response(200, json={"success": True, "errors": [], "messages": [], "result": dict(RECORD, ttl="1")},
                              request=request)
    with pytest.raises(SchemaViolation, match=r"does not fit the SDK's model: result\.ttl"):
        validator.check_response(request, response)
    validator.errors.clear()  # the deliberate violation must not fail this test's teardown check
