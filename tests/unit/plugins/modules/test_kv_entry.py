"""kv_entry against a scripted server: a missing key and a missing namespace, under each code the sources show.

The emulator answers a missing key with 10009 and a missing namespace with 10013; wrangler's own tests mock
an unknown namespace with 10009 too (kv/namespace.test.ts). Either way the module must say which is missing.
"""
import pytest

from ansible_collections.cfops.cloudflare.plugins.modules import kv_entry
from ansible_collections.cfops.cloudflare.tests.unit.plugins.modules.module_runner import module_result, writes
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply, envelope, failure

NAMESPACE = "4" * 32


def test_a_missing_key_is_written(server, capsys):
    server.script(failure(404, (10009, "get: 'key not found'")), Reply(200, envelope({"successful_key_count": 1})))
    result = module_result(kv_entry.main, capsys, server, namespace_id=NAMESPACE, key="greeting", value="hello")
    assert result["changed"] is True and result["keys_added"] == ["greeting"]
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in writes(server)] == [("PUT", "bulk")]


@pytest.mark.parametrize("read_answer", [
    failure(404, (10013, "namespace not found")),
    failure(404, (10009, "Unknown namespace.")),
], ids=["namespace-code-10013", "namespace-answered-as-10009"])
def test_a_missing_namespace_is_named_whichever_code_the_read_gives(server, capsys, read_answer):
    server.script(read_answer, failure(404, (10013, "namespace not found")))
    result = module_result(kv_entry.main, capsys, server, namespace_id=NAMESPACE, key="greeting", value="hello")
    assert result["failed"] is True
    assert "KV namespace %s does not exist" % NAMESPACE in result["msg"]
