"""What the edge tests share: an emulator with its edge, API and edge clients, and the upload steps.

The fixtures are plain generators each test module wraps in its own fixtures (one emulator per module).
"""
import httpx

from tests.emulator.helpers import upload_parts
from tests.support.emulator import EmulatorProcess

COMPAT = "2024-09-23"


def edge_process(tmp_path_factory):
    """An emulator with its edge, for a module's tests."""
    with EmulatorProcess(data_dir=str(tmp_path_factory.mktemp("edge")), edge=True) as emu:
        yield emu


def api_client(edge):
    """An API client on a reset emulator; afterwards the edge must have served every change."""
    edge.reset_state()
    with httpx.Client(base_url=edge.base_url, headers={"Authorization": "Bearer " + edge.token},
                      timeout=15, trust_env=False) as client:
        yield client
    assert edge.edge_sync()


def edge_client(edge):
    """Requests to the edge (keep-alive, like a smoke test)."""
    with httpx.Client(base_url=edge.edge_url, timeout=15, trust_env=False) as http:
        yield http


def workers_dev(name):
    return "%s.cfops-local.workers.dev" % name


def script_path(edge, name, *rest):
    return "/".join(("/accounts/%s/workers/scripts/%s" % (edge.account_id, name),) + rest)


def deploy(api, edge, name, source, bindings=(), migrations=None, extra_modules=()):
    """Upload ``source`` as the script ``name`` (a new version deployed at 100%); returns its version id."""
    metadata = {"main_module": "index.js", "compatibility_date": COMPAT, "bindings": list(bindings)}
    if migrations:
        metadata["migrations"] = migrations
    modules = [("index.js", source.encode(), "application/javascript+module")] + list(extra_modules)
    response = api.put(script_path(edge, name), files=upload_parts(metadata, modules))
    assert response.status_code == 200, response.text
    # An API upload is not on workers.dev until turned on (as wrangler does after its upload).
    enabled = api.post(script_path(edge, name, "subdomain"), json={"enabled": True})
    assert enabled.status_code == 200, enabled.text
    return active_versions(api, edge, name)[0]["version_id"]


def upload_version(api, edge, name, source, bindings=(), annotations=None):
    metadata = {"main_module": "index.js", "compatibility_date": COMPAT, "bindings": list(bindings)}
    if annotations:
        metadata["annotations"] = annotations
    response = api.post(script_path(edge, name, "versions"),
                        files=upload_parts(metadata, [("index.js", source.encode(), "application/javascript+module")]))
    assert response.status_code == 200, response.text
    return response.json()["result"]["id"]


def create_deployment(api, edge, name, split):
    response = api.post(script_path(edge, name, "deployments"),
                        json={"strategy": "percentage", "versions": [{"version_id": v, "percentage": p} for v, p in split]})
    assert response.status_code == 200, response.text


def active_versions(api, edge, name):
    deployments = api.get(script_path(edge, name, "deployments")).json()["result"]["deployments"]
    return deployments[0]["versions"]


def hit(client, host, path="/", headers=None, **kwargs):
    return client.get(path, headers=dict(headers or {}, Host=host), **kwargs)


def echo_worker(label):
    return 'export default { fetch() { return new Response("%s"); } };' % label


# The version marker a Worker reports itself (as on Cloudflare): its version_metadata binding.
METADATA = [{"type": "version_metadata", "name": "CF_VERSION_METADATA"}]


def marker_worker(label):
    return ('export default { fetch(request, env) { const m = env.CF_VERSION_METADATA; '
            'return new Response("%s " + m.id + " " + m.tag); } };' % label)


def served(response):
    """(label, version id) of a marker_worker response."""
    label, version_id, _tag = (response.text.split(" ") + ["", ""])[:3]
    return label, version_id
