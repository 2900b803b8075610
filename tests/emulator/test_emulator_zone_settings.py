"""Zone settings: defaults, single and bulk edits, allowed values, unknown and read-only settings."""
import pytest

from emulator.api.zones import zone_id_for
from tests.emulator.helpers import error_codes


@pytest.fixture
def settings_path(account_id):
    return "/zones/%s/settings" % zone_id_for(account_id, "example.com")


def test_all_settings_with_defaults(api, settings_path):
    settings = {item["id"]: item for item in api.get(settings_path).json()["result"]}
    for name in ("ssl", "min_tls_version", "always_use_https", "tls_1_3", "security_header", "security_level",
                 "browser_check", "0rtt", "http3", "automatic_https_rewrites", "opportunistic_encryption", "brotli",
                 "ipv6", "websockets"):
        assert name in settings
    assert settings["ssl"] == {"id": "ssl", "value": "off", "editable": True, "modified_on": None}
    assert settings["min_tls_version"]["value"] == "1.0"
    assert settings["security_header"]["value"]["strict_transport_security"]["enabled"] is False


def test_single_edit_and_read_back(api, settings_path):
    edited = api.patch(settings_path + "/ssl", json={"id": "ssl", "value": "strict"}).json()["result"]
    assert edited["value"] == "strict" and edited["modified_on"]
    assert api.get(settings_path + "/ssl").json()["result"] == edited


def test_bulk_edit_applies_all_or_nothing(api, unchecked, settings_path):
    items = [{"id": "min_tls_version", "value": "1.2"}, {"id": "always_use_https", "value": "on"},
             {"id": "security_header", "value": {"strict_transport_security": {"enabled": True, "max_age": 31536000}}}]
    result = api.patch(settings_path, json=items).json()["result"]
    assert [item["id"] for item in result] == ["min_tls_version", "always_use_https", "security_header"]
    hsts = result[2]["value"]["strict_transport_security"]
    assert hsts["enabled"] is True and hsts["max_age"] == 31536000 and hsts["preload"] is False
    # the live API's {"items": [...]} body; one bad value: nothing applied
    response = unchecked.patch(settings_path, json={"items": [{"id": "tls_1_3", "value": "off"},
                                                              {"id": "ssl", "value": "very"}]})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"code": 1007, "message": "Invalid value for zone setting ssl: 'very' is not "
                                                                   "one of off, flexible, full, strict"}]
    assert api.get(settings_path + "/tls_1_3").json()["result"]["value"] == "on"


def test_unknown_setting_is_1006(unchecked, settings_path):
    response = unchecked.patch(settings_path, json={"items": [{"id": "min_tls", "value": "1.2"}]})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"code": 1006, "message": "Unrecognized zone setting name: min_tls"}]
    assert error_codes(unchecked.get(settings_path + "/nope")) == [1006]


def test_read_only_setting_is_1057(unchecked, settings_path):
    response = unchecked.patch(settings_path + "/polish", json={"id": "polish", "value": "lossy"})
    assert response.status_code == 400 and error_codes(response) == [1057]


def test_bulk_without_items_is_1004(unchecked, settings_path):
    response = unchecked.patch(settings_path, json={})
    assert response.status_code == 400 and response.json()["errors"][0]["message"] == "Missing 'items'"
