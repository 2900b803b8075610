"""_zone_settings: names and values checked before any write, YAML coercions, only changed settings sent."""
import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._zone_settings import changed_settings, desired_settings


def test_yaml_values_are_coerced_to_what_the_api_takes():
    assert desired_settings({"always_use_https": True, "min_tls_version": 1.2, "browser_cache_ttl": "3600"}) == {
        "always_use_https": "on", "browser_cache_ttl": 3600, "min_tls_version": "1.2"}


@pytest.mark.parametrize("settings, message", [
    ({"min_tls": "1.2"}, "unknown setting 'min_tls'; known settings: 0rtt, "),
    ({"ssl": "strictest"}, "setting ssl: 'strictest' is not one of off, flexible, full, strict"),
    ({"security_header": {"strict_transport_security": {"max_age": "a year"}}},
     "setting security_header: strict_transport_security.max_age must be seconds from 0 to 31536000"),
])
def test_bad_names_and_values(settings, message):
    with pytest.raises(InvalidInputError) as caught:
        desired_settings(settings)
    assert message in str(caught.value)


def test_only_changed_settings_are_sent_and_hsts_keys_merge():
    hsts = {"strict_transport_security": {"enabled": False, "max_age": 0, "include_subdomains": False,
                                          "preload": False, "nosniff": False}}
    current = {"ssl": {"value": "strict"}, "min_tls_version": {"value": "1.0"}, "security_header": {"value": hsts}}
    desired = desired_settings({"ssl": "strict", "min_tls_version": "1.2",
                                "security_header": {"strict_transport_security": {"enabled": True}}})
    changes, before, after = changed_settings(current, desired)
    assert [item["id"] for item in changes] == ["min_tls_version", "security_header"]
    assert before["min_tls_version"] == "1.0" and after["min_tls_version"] == "1.2"
    assert after["security_header"]["strict_transport_security"] == dict(hsts["strict_transport_security"],
                                                                         enabled=True)
    assert changed_settings(current, desired_settings({"ssl": "strict"}))[0] == []
