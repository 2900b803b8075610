"""Trigger helpers: Cloudflare's cron syntax, route patterns in zones, the zone a hostname belongs to."""
import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._worker_triggers import (
    cron_problem,
    host_in_zone,
    pattern_host,
    routes_path,
    schedules_path,
    validate_crons,
    validate_pattern,
    zone_for_host,
)

ZONES = [{"id": "z1", "name": "example.com"}, {"id": "z2", "name": "shop.example.com"}, {"id": "z3", "name": "other.net"}]


@pytest.mark.parametrize("cron", ["* * * * *", "*/5 * * * *", "0 2 * * SUN", "0 2 * * 7", "0 0 1 JAN-JUN MON-FRI",
                                  "0 0 L * *", "0 0 LW * *", "0 0 15W * *", "0 0 * * 6#3", "0 0 * * 5L",
                                  "0,15,30,45 9-17 * * 2-6", "0 0 1-15/2 * *"])
def test_crons_cloudflare_accepts(cron):
    assert cron_problem(cron) is None


@pytest.mark.parametrize("cron, fragment", [
    ("* * * *", "it has 4 fields"),
    ("* * * * * *", "it has 6 fields"),
    ("60 * * * *", "the minute field '60'"),
    ("0 24 * * *", "the hour field '24'"),
    ("0 0 0 * *", "the day of month field '0'"),
    ("0 0 * 13 *", "the month field '13'"),
    ("0 2 * * 0", "the day of week field '0' is not valid: allowed 1-7 or SUN-SAT (Sunday is 1 or SUN, not 0)"),
    ("0 0 * * FUNDAY", "the day of week field 'FUNDAY'"),
    ("*/0 * * * *", "the minute field '*/0'"),
    ("30-10 * * * *", "the minute field '30-10'"),
    ("0 0 * * 1#6", "the day of week field '1#6'"),
    ("", "non-empty"),
])
def test_crons_cloudflare_rejects_say_which_field(cron, fragment):
    assert fragment in cron_problem(cron)


def test_validate_crons_names_the_bad_expression_and_deduplicates():
    assert validate_crons(["0 * * * *", "0  *  * * *", "0 2 * * SUN"]) == ["0 * * * *", "0 2 * * SUN"]
    with pytest.raises(InvalidInputError, match=r"crons: '0 2 \* \* 0' is not a valid cron expression: the day of week"):
        validate_crons(["0 * * * *", "0 2 * * 0"])


def test_pattern_hosts_and_zones():
    assert pattern_host("books.example.com/api/*") == "books.example.com"
    assert pattern_host("https://*.Example.com:443/x") == "*.example.com"
    assert host_in_zone("*.example.com", "example.com")
    assert host_in_zone("*example.com", "example.com")
    assert host_in_zone("example.com", "example.com")
    assert not host_in_zone("badexample.com", "example.com")
    assert not host_in_zone("example.com.evil.net", "example.com")


def test_validate_pattern_rejects_a_pattern_outside_the_zone():
    validate_pattern("api.example.com/*", "example.com")
    with pytest.raises(InvalidInputError, match=r"pattern 'api.example.org/\*' is outside the zone example.com"):
        validate_pattern("api.example.org/*", "example.com")
    with pytest.raises(InvalidInputError, match="is not a route pattern"):
        validate_pattern("  ", "example.com")


def test_zone_for_host_prefers_the_longest_zone():
    assert zone_for_host(ZONES, "cart.shop.example.com") == {"id": "z2", "name": "shop.example.com"}
    assert zone_for_host(ZONES, "books.example.com") == {"id": "z1", "name": "example.com"}
    assert zone_for_host(ZONES, "*.other.net") == {"id": "z3", "name": "other.net"}
    assert zone_for_host(ZONES, "example.org") is None


def test_paths_encode_each_segment():
    assert routes_path("z1") == "/zones/z1/workers/routes"
    assert routes_path("z1", "r1") == "/zones/z1/workers/routes/r1"
    assert schedules_path("a1", "books-api") == "/accounts/a1/workers/scripts/books-api/schedules"
