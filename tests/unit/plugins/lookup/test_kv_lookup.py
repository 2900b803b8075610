"""The cfops.cloudflare.kv lookup against a real local HTTP server with scripted KV answers."""
import base64
import json

import pytest

from ansible_collections.cfops.cloudflare.tests.unit.plugin_loader import collection_loader, errors  # noqa: F401 pylint: disable=unused-import
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply, envelope, failure

ACCOUNT = "023e105f4ecef8ad9ca31a8372d0c353"
TOKEN = "unit-test-token-kv-lookup"
NAMESPACE = "0f2ac74b498b48028cb68387c421e279"


@pytest.fixture
def kv(collection_loader):  # noqa: F811 pylint: disable=redefined-outer-name,unused-argument
    from ansible.plugins.loader import lookup_loader
    return lookup_loader.get("cfops.cloudflare.kv")


def run(kv, server, keys, variables=None, **options):
    variables = dict(variables or {}, cloudflare_api_token=TOKEN, cloudflare_account_id=ACCOUNT,
                     cloudflare_api_base_url=server.base_url)
    options.setdefault("api_max_retries", 0)
    return kv.run(keys, variables=variables, **options)


def bulk_answer(values):
    return Reply(200, envelope({"values": {key: (None if value is None else {"value": value, "metadata": None, "expiration": None})
                                           for key, value in values.items()}}))


def test_reads_keys_in_their_order_with_one_bulk_read(kv, server):
    server.script(bulk_answer({"a": "1", "b": "two", "c": None}))
    values = run(kv, server, ["b", "a"], namespace_id=NAMESPACE)
    assert values == ["two", "1"]
    (request,) = server.requests
    assert request.method == "POST" and request.path.endswith("/accounts/%s/storage/kv/namespaces/%s/bulk/get" % (ACCOUNT, NAMESPACE))
    assert sorted(request.json()["keys"]) == ["a", "b"]
    assert request.headers["Authorization"] == "Bearer " + TOKEN


def test_the_namespace_is_found_by_title(kv, server):
    server.script(Reply(200, envelope([{"id": "other", "title": "x"}, {"id": NAMESPACE, "title": "books-cache"}],
                                      {"page": 1, "per_page": 100, "total_pages": 1})),
                  bulk_answer({"k": "v"}))
    assert run(kv, server, ["k"], namespace="books-cache") == ["v"]
    assert "/namespaces/%s/bulk/get" % NAMESPACE in server.requests[1].path


def test_an_unknown_title_fails_naming_it(kv, server, errors):
    server.script(Reply(200, envelope([], {"page": 1, "per_page": 100, "total_pages": 1})))
    with pytest.raises(errors.AnsibleLookupError, match="no KV namespace titled 'nope'"):
        run(kv, server, ["k"], namespace="nope")


def test_a_missing_key_fails_unless_a_default_is_given(kv, server, errors):
    server.script(bulk_answer({"k": None}))
    with pytest.raises(errors.AnsibleLookupError, match="key 'k' does not exist in namespace books-cache"):
        run(kv, server, ["k"], namespace_id="books-cache")
    server.script(bulk_answer({}), bulk_answer({}))
    assert run(kv, server, ["k"], namespace_id=NAMESPACE, default="fallback") == ["fallback"]
    assert run(kv, server, ["k"], namespace_id=NAMESPACE, default=None) == [None]


def test_json_and_base64_formats(kv, server):
    server.script(bulk_answer({"j": json.dumps({"on": True})}), bulk_answer({"t": "héllo"}))
    assert run(kv, server, ["j"], namespace_id=NAMESPACE, value_format="json") == [{"on": True}]
    assert run(kv, server, ["t"], namespace_id=NAMESPACE, value_format="base64") == [base64.b64encode("héllo".encode()).decode()]


def test_a_binary_value_is_read_again_as_bytes(kv, server, errors):
    server.script(bulk_answer({"bin": "\ufffd\ufffd"}), Reply(200, raw=b"\xff\xfe", headers={"Content-Type": "application/octet-stream"}))
    assert run(kv, server, ["bin"], namespace_id=NAMESPACE, value_format="base64") == [base64.b64encode(b"\xff\xfe").decode()]
    server.script(bulk_answer({"bin": "\ufffd"}), Reply(200, raw=b"\xff", headers={"Content-Type": "application/octet-stream"}))
    with pytest.raises(errors.AnsibleLookupError, match="not UTF-8 text; read it with value_format=base64"):
        run(kv, server, ["bin"], namespace_id=NAMESPACE)


def test_values_are_unsafe_so_they_are_never_templated(kv, server):
    server.script(bulk_answer({"t": "{{ lookup('env', 'HOME') }}"}))
    (value,) = run(kv, server, ["t"], namespace_id=NAMESPACE)
    assert value == "{{ lookup('env', 'HOME') }}"
    from ansible.utils.unsafe_proxy import AnsibleUnsafe
    try:
        from ansible.template import is_trusted_as_template  # ansible-core 2.19+
    except ImportError:
        assert isinstance(value, AnsibleUnsafe)
    else:
        assert not is_trusted_as_template(value)


def test_errors_name_the_setting_and_never_show_the_token(kv, server, errors):
    with pytest.raises(errors.AnsibleLookupError, match="exactly one of namespace_id and namespace"):
        run(kv, server, ["k"])
    with pytest.raises(errors.AnsibleError, match="api_token is required: set the api_token option, the cloudflare_api_token variable"):
        kv.run(["k"], variables={"cloudflare_account_id": ACCOUNT}, namespace_id=NAMESPACE, api_token="")
    server.script(failure(403, (10000, "Authentication error: token %s is not valid" % TOKEN)))
    with pytest.raises(errors.AnsibleLookupError) as caught:
        run(kv, server, ["k"], namespace_id=NAMESPACE)
    assert "HTTP 403: [10000]" in str(caught.value) and TOKEN not in str(caught.value)
    assert server.requests[-1].method == "POST"


def test_a_rate_limit_is_retried_like_the_modules_do(kv, server):
    server.script(Reply(429, {"success": False, "errors": [{"code": 971, "message": "wait"}]}, headers={"Retry-After": "1"}),
                  bulk_answer({"k": "v"}))
    assert run(kv, server, ["k"], namespace_id=NAMESPACE, api_max_retries=2) == ["v"]
    assert len(server.requests) == 2
