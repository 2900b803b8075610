"""_rulesets: expression checks, rule validation and sugar, and the ref-matched plan of a new rule list."""
import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._rulesets import (
    desired_rules,
    expression_problem,
    plan_rules,
)


@pytest.mark.parametrize("expression", [
    'http.request.uri.path eq "/login" and http.request.method eq "POST"',
    '(ip.geoip.country in {"CN" "RU"} or cf.threat_score ge 30) and not cf.client.bot',
    'ip.src in {192.0.2.0/24 2001:db8::/32} or lower(http.user_agent) contains "sqlmap"',
    'any(http.request.headers["x-forwarded-host"][*] ne "example.com")',
    'http.host strict wildcard "*.example.com" && ends_with(http.request.uri.path, ".php")',
    "true",
])
def test_valid_expressions(expression):
    assert expression_problem(expression) is None


@pytest.mark.parametrize("expression, problem", [
    ('http.uri.path eq "/x"', "unknown field 'http.uri.path' at column 1"),
    ('http.request.uri.path eq "/x" and', "'and' at column 31 needs a value after it"),
    ('(http.host eq "a"', "unclosed '(' at column 1"),
    ('http.host eq "a")', "unbalanced ')' at column 17"),
    ('http.host "a"', "an operator is missing before '\"a\"' at column 11"),
    ('http.host eq "a', "an unterminated string at column 14"),
    ('shout(http.host) eq "A"', "unknown function 'shout' at column 1"),
    ("", "an expression is required"),
])
def test_invalid_expressions(expression, problem):
    assert expression_problem(expression) == problem


def test_sugar_for_headers_managed_rulesets_and_rate_limits():
    [headers] = desired_rules([{"ref": "h", "headers": {"X-Frame-Options": "DENY", "Server": None}}],
                              "http_response_headers_transform", "free")
    assert headers == {"ref": "h", "action": "rewrite", "expression": "true", "description": "", "enabled": True,
                       "action_parameters": {"headers": {"Server": {"operation": "remove"},
                                                         "X-Frame-Options": {"operation": "set", "value": "DENY"}}}}
    [managed] = desired_rules([{"ref": "m", "managed_ruleset": "owasp", "overrides": {"action": "log"}}],
                              "http_request_firewall_managed", "free")
    assert managed["action"] == "execute"
    assert managed["action_parameters"] == {"id": "4814384a9e5d4991b9815dcfc25d2f1f", "overrides": {"action": "log"}}
    [limit] = desired_rules([{"ref": "r", "expression": "true", "ratelimit": {"period": 10, "requests_per_period": 5}}],
                            "http_ratelimit", "free")
    assert limit["action"] == "block"
    assert limit["ratelimit"] == {"characteristics": ["ip.src", "cf.colo.id"], "period": 10,
                                  "requests_per_period": 5, "mitigation_timeout": 10}


@pytest.mark.parametrize("rules, phase, message", [
    ([{"ref": "r", "expression": "true", "ratelimit": {"period": 5, "requests_per_period": 5}}], "http_ratelimit",
     "rule 'r': ratelimit.period 5 is below the free plan's minimum period of 10 seconds (allowed: 10)"),
    ([{"ref": "r", "expression": "true", "ratelimit": {"period": 60, "requests_per_period": 5}}], "http_ratelimit",
     "rule 'r': ratelimit.period 60 is not available on the free plan (allowed: 10)"),
    ([{"ref": "w", "action": "rewrite", "expression": "true"}], "http_request_firewall_custom",
     "rule 'w': action 'rewrite' is not allowed in phase http_request_firewall_custom"),
    ([{"ref": "x", "action": "block", "expression": "http.hots eq \"a\""}], "http_request_firewall_custom",
     "rule 'x': invalid expression 'http.hots eq \"a\"': unknown field 'http.hots' at column 1"),
    ([{"ref": "d", "action": "block", "expression": "true"}, {"ref": "d", "action": "log", "expression": "true"}],
     "http_request_firewall_custom", "rule 'd' is listed twice"),
    ([{"action": "block", "expression": "true"}], "http_request_firewall_custom", "every rule needs a 'ref'"),
])
def test_bad_rules_are_named(rules, phase, message):
    with pytest.raises(InvalidInputError) as caught:
        desired_rules(rules, phase, "free")
    assert message in str(caught.value)


def rule(ref, expression="true", **extra):
    return dict({"ref": ref, "action": "block", "expression": expression, "description": "", "enabled": True}, **extra)


def stored(ref, expression="true"):
    return dict(rule(ref, expression), id=ref * 4, version="1", last_updated="2026-01-01T00:00:00Z")


def test_plan_matches_by_ref_keeps_ids_and_reports_changes():
    current = [stored("a"), stored("b"), stored("x")]
    final, changes = plan_rules(current, [rule("b"), rule("a", "ssl"), rule("n")], exclusive=True)
    assert [(r["ref"], r.get("id")) for r in final] == [("b", "bbbb"), ("a", "aaaa"), ("n", None)]
    assert changes == {"added": ["n"], "updated": ["a"], "removed": ["x"], "reordered": True}


def test_plan_without_exclusive_keeps_unlisted_rules_in_place():
    current = [stored("a"), stored("x"), stored("b")]
    final, changes = plan_rules(current, [rule("b"), rule("a"), rule("n")], exclusive=False)
    assert [r["ref"] for r in final] == ["b", "x", "a", "n"]
    assert changes == {"added": ["n"], "updated": [], "removed": [], "reordered": True}


def test_plan_of_the_same_rules_changes_nothing():
    current = [stored("a"), stored("b")]
    final, changes = plan_rules(current, [rule("a"), rule("b")], exclusive=True)
    assert changes == {"added": [], "updated": [], "removed": [], "reordered": False}
    assert [r["id"] for r in final] == ["aaaa", "bbbb"]
