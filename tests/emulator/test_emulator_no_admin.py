"""`python -m emulator --no-admin`: the Cloudflare API as usual, the admin API gone (404 like an unknown route).

Live mode is rehearsed against such an emulator (docs/dev/live-mode.md): nothing emulator-only may be reachable.
"""
import httpx
import pytest

from tests.emulator.helpers import TIMEOUT
from tests.support.emulator import EmulatorError, EmulatorProcess


@pytest.fixture(scope="module")
def no_admin(tmp_path_factory):
    with EmulatorProcess(data_dir=str(tmp_path_factory.mktemp("no-admin")), admin=False) as emu:
        yield emu


@pytest.mark.parametrize("method, path", [("GET", "/__emulator/health"), ("GET", "/__emulator/calls"),
                                          ("POST", "/__emulator/faults"), ("POST", "/__emulator/state/reset"),
                                          ("GET", "/__emulator")])
def test_the_admin_api_answers_like_an_unknown_route(no_admin, method, path):
    response = httpx.request(method, no_admin.root_url + path, json={}, timeout=TIMEOUT, trust_env=False)
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == 7003 and response.json()["success"] is False


def test_the_cloudflare_api_still_answers(no_admin):
    response = httpx.get(no_admin.base_url + "/zones", headers={"Authorization": "Bearer " + no_admin.token},
                         timeout=TIMEOUT, trust_env=False)
    assert response.status_code == 200 and response.json()["result"][0]["name"] == "example.com"


def test_the_test_helper_says_the_admin_api_is_off(no_admin):
    with pytest.raises(EmulatorError, match="HTTP 404"):
        no_admin.calls()
