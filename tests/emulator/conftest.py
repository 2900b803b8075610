"""One emulator for the whole session; every call the tests make is validated against the OpenAPI schema."""
import cloudflare
import httpx
import pytest

from tests.emulator.helpers import TIMEOUT, make_client
from tests.emulator.schema import SchemaValidator, ValidatingTransport
from tests.support.emulator import EmulatorProcess


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    with EmulatorProcess(data_dir=str(tmp_path_factory.mktemp("emulator"))) as emu:
        yield emu


@pytest.fixture(scope="session")
def validator(emulator):
    return SchemaValidator(emulator.base_url)


@pytest.fixture(autouse=True)
def no_schema_violations(request):
    """Fail a test that left a schema violation behind, even one the SDK swallowed and retried."""
    if "validator" not in request.fixturenames:
        yield
        return
    validator = request.getfixturevalue("validator")
    validator.errors.clear()
    yield
    errors, validator.errors[:] = list(validator.errors), []
    assert errors == [], "schema violations:\n" + "\n".join(errors)


@pytest.fixture
def fresh(emulator):
    """The shared emulator with no resources, no faults and zeroed counts."""
    emulator.clear_faults()
    emulator.reset_state()
    emulator.reset_calls()
    yield emulator
    emulator.clear_faults()


@pytest.fixture
def api(fresh, validator):
    """An httpx client for the emulator's /client/v4 whose every call is schema-validated."""
    with make_client(fresh, validator) as client:
        yield client


@pytest.fixture
def unchecked(fresh, validator):
    """For deliberately invalid requests: only the response is validated."""
    with make_client(fresh, validator, check_requests=False) as client:
        yield client


@pytest.fixture
def account_id(emulator):
    return emulator.account_id


@pytest.fixture
def sdk(fresh, validator):
    """The official Cloudflare SDK pointed at the emulator (no retries: a failure must show)."""
    http = httpx.Client(timeout=TIMEOUT, trust_env=False, transport=ValidatingTransport(validator))
    client = cloudflare.Cloudflare(api_token=fresh.token, base_url=fresh.base_url, http_client=http, max_retries=0)
    yield client
    client.close()
