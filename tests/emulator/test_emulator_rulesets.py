"""Rulesets: phase entrypoints, rule ids kept by ref, versions, rule CRUD and Cloudflare's validation."""
import pytest

from emulator.api.ruleset_expressions import ExpressionError, parse
from emulator.api.zones import zone_id_for
from tests.emulator.helpers import error_codes

ZONE = "example.com"
CUSTOM = "http_request_firewall_custom"
MANAGED_RULESET = "efb7b8c949ac4650a09736fc376e9aee"


@pytest.fixture
def zone_id(account_id):
    return zone_id_for(account_id, ZONE)  # seeded at every start


def entrypoint(zone_id, phase=CUSTOM):
    return "/zones/%s/rulesets/phases/%s/entrypoint" % (zone_id, phase)


def block(ref, expression='http.request.uri.path eq "/admin"', **extra):
    return dict({"ref": ref, "action": "block", "expression": expression, "description": ref}, **extra)


def test_first_put_creates_the_entrypoint_and_get_reads_it(api, zone_id):
    assert api.get(entrypoint(zone_id)).status_code == 404
    created = api.put(entrypoint(zone_id), json={"rules": [block("admin")]}).json()["result"]
    assert (created["kind"], created["phase"], created["version"]) == ("zone", CUSTOM, "1")
    [rule] = created["rules"]
    assert (rule["ref"], rule["action"], rule["enabled"], rule["version"]) == ("admin", "block", True, "1")
    assert api.get(entrypoint(zone_id)).json()["result"] == created
    listed = api.get("/zones/%s/rulesets" % zone_id).json()["result"]
    assert [r["id"] for r in listed if r["kind"] == "zone"] == [created["id"]]
    assert MANAGED_RULESET in [r["id"] for r in listed if r["kind"] == "managed"]


def test_put_keeps_rule_ids_by_ref_and_versions_of_unchanged_rules(api, zone_id):
    first = api.put(entrypoint(zone_id), json={"rules": [block("a"), block("b")]}).json()["result"]
    ids = {rule["ref"]: rule["id"] for rule in first["rules"]}
    changed_b = block("b", 'http.request.uri.path eq "/b"', description="renamed")
    second = api.put(entrypoint(zone_id), json={"rules": [changed_b, block("a"), block("c")]}).json()["result"]
    assert second["version"] == "2"
    by_ref = {rule["ref"]: rule for rule in second["rules"]}
    assert [rule["ref"] for rule in second["rules"]] == ["b", "a", "c"]
    assert by_ref["a"]["id"] == ids["a"] and by_ref["b"]["id"] == ids["b"]
    assert by_ref["c"]["id"] not in ids.values()
    assert (by_ref["a"]["version"], by_ref["b"]["version"], by_ref["c"]["version"]) == ("1", "2", "2")
    third = api.put(entrypoint(zone_id), json={"rules": [block("a")]}).json()["result"]
    assert [rule["id"] for rule in third["rules"]] == [ids["a"]]


def test_rule_crud_on_a_ruleset(api, unchecked, zone_id):
    ruleset = api.put(entrypoint(zone_id), json={"rules": [block("a")]}).json()["result"]
    base = "/zones/%s/rulesets/%s/rules" % (zone_id, ruleset["id"])
    # the schema's position oneOf matches {"before": ""} three times over, so this request is sent unchecked
    added = unchecked.post(base, json=dict(block("first"), position={"before": ""})).json()["result"]
    assert [rule["ref"] for rule in added["rules"]] == ["first", "a"]
    first_id = added["rules"][0]["id"]
    patched = api.patch(base + "/" + first_id, json={"action": "managed_challenge",
                                                     "expression": "cf.threat_score gt 10"}).json()["result"]
    assert patched["rules"][0]["action"] == "managed_challenge" and patched["rules"][0]["ref"] == "first"
    removed = api.delete(base + "/" + first_id).json()["result"]
    assert [rule["ref"] for rule in removed["rules"]] == ["a"]
    assert api.get("/zones/%s/rulesets/%s" % (zone_id, ruleset["id"])).json()["result"]["version"] == "4"


@pytest.mark.parametrize("expression, reason", [
    ('http.uri.path eq "/x"', "unknown identifier"),
    ('http.request.uri.path eq "/x" and', "expected a field, a function or a value"),
    ('(http.host eq "a"', "expected ')'"),
    ('http.host = "a"', "unrecognised input"),
    ('cf.threat_score gt "high"', "expected a int literal, got a string"),
])
def test_invalid_expression_is_400_naming_the_rule(unchecked, zone_id, expression, reason):
    response = unchecked.put(entrypoint(zone_id), json={"rules": [block("ok"), block("bad-rule", expression)]})
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["code"] == 20021
    assert error["source"] == {"pointer": "/rules/1/expression"}
    assert "rule 2 (ref 'bad-rule')" in error["message"] and "Filter parsing error" in error["message"]
    assert reason in error["message"]
    assert unchecked.get(entrypoint(zone_id)).status_code == 404  # nothing stored


def test_action_not_allowed_in_phase(unchecked, zone_id):
    rule = {"ref": "x", "action": "rewrite", "expression": "true",
            "action_parameters": {"headers": {"X-A": {"operation": "set", "value": "1"}}}}
    response = unchecked.put(entrypoint(zone_id), json={"rules": [rule]})
    assert response.status_code == 400
    assert "action 'rewrite' is not allowed in phase http_request_firewall_custom" in response.json()["errors"][0]["message"]


def ratelimit_rule(**ratelimit):
    limits = dict({"characteristics": ["cf.colo.id", "ip.src"], "period": 10, "requests_per_period": 50,
                   "mitigation_timeout": 10}, **ratelimit)
    return {"ref": "api-limit", "action": "block", "expression": 'starts_with(http.request.uri.path, "/api/")',
            "ratelimit": limits}


def test_ratelimit_rule_is_stored(api, zone_id):
    result = api.put(entrypoint(zone_id, "http_ratelimit"), json={"rules": [ratelimit_rule()]}).json()["result"]
    assert result["rules"][0]["ratelimit"]["period"] == 10


@pytest.mark.parametrize("change, message", [
    ({"period": 5}, "'ratelimit.period' 5 is below the Free plan's minimum period of 10 seconds (allowed: 10)"),
    ({"period": 60}, "'ratelimit.period' 60 is not available on the Free plan (allowed: 10)"),
    ({"characteristics": ["ip.src"]}, "'ratelimit.characteristics' must include 'cf.colo.id'"),
    ({"mitigation_timeout": 600}, "'ratelimit.mitigation_timeout' 600 is not available on the Free plan"),
    ({"requests_per_period": 0}, "'ratelimit.requests_per_period' must be a positive integer"),
])
def test_ratelimit_is_checked_against_the_plan(unchecked, zone_id, change, message):
    response = unchecked.put(entrypoint(zone_id, "http_ratelimit"), json={"rules": [ratelimit_rule(**change)]})
    assert response.status_code == 400
    assert message in response.json()["errors"][0]["message"]
    assert "rule 1 (ref 'api-limit')" in response.json()["errors"][0]["message"]


def test_ratelimit_is_required_in_its_phase_and_refused_elsewhere(unchecked, zone_id):
    missing = unchecked.put(entrypoint(zone_id, "http_ratelimit"), json={"rules": [block("a")]})
    assert missing.status_code == 400 and "needs a 'ratelimit' object" in missing.text
    elsewhere = unchecked.put(entrypoint(zone_id), json={"rules": [ratelimit_rule()]})
    assert elsewhere.status_code == 400 and "only allowed in the http_ratelimit phase" in elsewhere.text


def test_managed_ruleset_with_overrides_and_response_headers(api, unchecked, zone_id):
    managed = {"ref": "managed", "action": "execute", "expression": "true",
               "action_parameters": {"id": MANAGED_RULESET, "overrides": {
                   "rules": [{"id": "5de7edfa648c4d6891dc3e7f84534ffa", "action": "log", "enabled": True}]}}}
    assert api.put(entrypoint(zone_id, "http_request_firewall_managed"), json={"rules": [managed]}).status_code == 200
    unknown = dict(managed, action_parameters={"id": "0" * 32})
    response = unchecked.put(entrypoint(zone_id, "http_request_firewall_managed"), json={"rules": [unknown]})
    assert response.status_code == 400 and "is not a managed ruleset" in response.text
    headers = {"ref": "security-headers", "action": "rewrite", "expression": "true", "action_parameters": {"headers": {
        "X-Frame-Options": {"operation": "set", "value": "DENY"}, "Server": {"operation": "remove"}}}}
    assert api.put(entrypoint(zone_id, "http_response_headers_transform"), json={"rules": [headers]}).status_code == 200
    bad = dict(headers, action_parameters={"headers": {"X-Frame-Options": {"operation": "set"}}})
    response = unchecked.put(entrypoint(zone_id, "http_response_headers_transform"), json={"rules": [bad]})
    assert response.status_code == 400 and "give exactly one of 'value' or 'expression'" in response.text


def test_duplicate_refs_and_unknown_phase(unchecked, zone_id):
    response = unchecked.put(entrypoint(zone_id), json={"rules": [block("same"), block("same")]})
    assert response.status_code == 400 and "duplicate ref 'same'" in response.text
    response = unchecked.put(entrypoint(zone_id, "http_nonsense"), json={"rules": []})
    assert response.status_code in (400, 404)


def test_account_level_entrypoint(api, account_id):
    path = "/accounts/%s/rulesets/phases/%s/entrypoint" % (account_id, CUSTOM)
    result = api.put(path, json={"rules": [block("acct")]}).json()["result"]
    assert result["kind"] == "root"
    assert api.get(path).json()["result"]["rules"][0]["ref"] == "acct"


def test_unknown_zone_is_404(unchecked):
    response = unchecked.get(entrypoint("0" * 32))
    assert response.status_code == 404 and error_codes(response) == [1001]


@pytest.mark.parametrize("expression", [
    'http.request.uri.path eq "/login" and http.request.method eq "POST"',
    '(ip.geoip.country in {"CN" "RU"} or cf.threat_score ge 30) and not cf.client.bot',
    'ip.src in {192.0.2.0/24 2001:db8::/32} or lower(http.user_agent) contains "sqlmap"',
    'any(http.request.headers["x-forwarded-host"][*] ne "example.com")',
    'http.host wildcard "*.example.com" && ends_with(http.request.uri.path, ".php")',
    'http.request.uri.path matches "^/wp-(admin|login)"',
])
def test_parser_accepts_real_expressions(expression):
    parse(expression)


def test_parser_points_at_the_unknown_field():
    with pytest.raises(ExpressionError) as caught:
        parse('starts_with(http.uri.path, "/x")')
    assert str(caught.value) == ('Filter parsing error (1:13):\nstarts_with(http.uri.path, "/x")\n'
                                 '            ^^^^^^^^^^^^^ unknown identifier')


def test_deleting_a_ruleset_answers_204_without_a_body(api, zone_id):
    """Cloudflare's schema and the SDK (which casts the answer to None) give DELETE .../rulesets/{id} no body."""
    created = api.put("/zones/%s/rulesets/phases/http_request_firewall_custom/entrypoint" % zone_id,
                      json={"rules": [{"ref": "r1", "expression": "ip.src eq 192.0.2.1", "action": "block"}]})
    assert created.status_code == 200, created.text
    deleted = api.delete("/zones/%s/rulesets/%s" % (zone_id, created.json()["result"]["id"]))
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert api.get("/zones/%s/rulesets/phases/http_request_firewall_custom/entrypoint" % zone_id).status_code == 404
