"""Helpers shared by the emulator tests."""
import json

import httpx

from tests.emulator.schema import ValidatingTransport

TIMEOUT = httpx.Timeout(10.0)


def make_client(emulator, validator, token=None, check_requests=True):
    token = emulator.token if token is None else token
    headers = {"Authorization": "Bearer " + token} if token else {}
    return httpx.Client(base_url=emulator.base_url, headers=headers, timeout=TIMEOUT, trust_env=False,
                        transport=ValidatingTransport(validator, check_requests=check_requests))


def error_codes(response):
    return [error["code"] for error in response.json()["errors"]]


def create_namespace(api, account_id, title):
    response = api.post("/accounts/%s/storage/kv/namespaces" % account_id, json={"title": title})
    assert response.status_code == 200, response.text
    return response.json()["result"]["id"]


MODULE = b'export default { fetch() { return new Response("hello from the emulator"); } };\n'


def upload_parts(metadata, modules=None):
    """httpx ``files=`` for a Worker upload: the metadata part plus one part per module."""
    if modules is None:
        modules = [("index.js", MODULE, "application/javascript+module")]
    files = [("metadata", (None, json.dumps(metadata), "application/json"))]
    files += [(name, (name, content, content_type)) for name, content, content_type in modules]
    return files


def upload_script(api, account_id, name, metadata=None, modules=None):
    metadata = {"main_module": "index.js", "compatibility_date": "2024-09-23"} if metadata is None else metadata
    return api.put("/accounts/%s/workers/scripts/%s" % (account_id, name), files=upload_parts(metadata, modules))
