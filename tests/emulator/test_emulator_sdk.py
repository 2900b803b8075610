"""The official Cloudflare Python SDK as a second client: if it can talk to the emulator, the dialect is right."""
import cloudflare
import pytest

MODULE = b'export default { fetch() { return new Response("from the SDK"); } };\n'


def test_accounts_and_token(sdk, account_id):
    assert account_id in [account.id for account in sdk.accounts.list()]
    assert sdk.accounts.get(account_id=account_id).name == "cfops local account"
    assert sdk.user.tokens.verify().status == "active"
    # The default token is a user's API token: the account path refuses it (1000 "Invalid API Token").
    with pytest.raises(cloudflare.AuthenticationError):
        sdk.accounts.tokens.verify(account_id=account_id)


def test_kv_namespaces_bulk_write_and_read(sdk, account_id):
    namespace = sdk.kv.namespaces.create(account_id=account_id, title="sdk-namespace")
    assert namespace.title == "sdk-namespace" and len(namespace.id) == 32
    assert "sdk-namespace" in [ns.title for ns in sdk.kv.namespaces.list(account_id=account_id)]

    written = sdk.kv.namespaces.bulk_update(namespace.id, account_id=account_id,
                                            body=[{"key": "key-%04d" % i, "value": "value-%d" % i} for i in range(1500)])
    assert written.successful_key_count == 1500 and written.unsuccessful_keys == []
    # The SDK's auto-pagination follows the cursor across pages.
    names = [key.name for key in sdk.kv.namespaces.keys.list(namespace.id, account_id=account_id)]
    assert names == ["key-%04d" % i for i in range(1500)]
    assert sdk.kv.namespaces.values.get("key-0007", account_id=account_id, namespace_id=namespace.id).read() == b"value-7"

    sdk.kv.namespaces.values.update("with-meta", account_id=account_id, namespace_id=namespace.id,
                                    value=b"v", metadata={"owner": "sdk"})
    got = sdk.kv.namespaces.bulk_get(namespace.id, account_id=account_id, keys=["with-meta", "key-0001"], with_metadata=True)
    assert got.values["with-meta"].metadata == {"owner": "sdk"} and got.values["key-0001"].value == "value-1"

    sdk.kv.namespaces.bulk_delete(namespace.id, account_id=account_id, body=["key-%04d" % i for i in range(1000)])
    assert len(list(sdk.kv.namespaces.keys.list(namespace.id, account_id=account_id))) == 501

    sdk.kv.namespaces.delete(namespace.id, account_id=account_id)
    with pytest.raises(cloudflare.NotFoundError):
        sdk.kv.namespaces.get(namespace.id, account_id=account_id)


def test_worker_upload_secrets_and_settings(sdk, account_id):
    namespace = sdk.kv.namespaces.create(account_id=account_id, title="sdk-worker-cache")
    script = sdk.workers.scripts.update(
        "sdk-worker", account_id=account_id,
        metadata={
            "main_module": "index.js",
            "compatibility_date": "2024-09-23",
            "bindings": [
                {"type": "kv_namespace", "name": "CACHE", "namespace_id": namespace.id},
                {"type": "plain_text", "name": "ENVIRONMENT", "text": "local"},
            ],
        },
        files=[("index.js", MODULE, "application/javascript+module")],
    )
    assert script.id == "sdk-worker" and script.has_modules and script.handlers == ["fetch"]
    assert [s.id for s in sdk.workers.scripts.list(account_id=account_id)] == ["sdk-worker"]

    secret = sdk.workers.scripts.secrets.update("sdk-worker", account_id=account_id, name="API_KEY", text="sdk-secret", type="secret_text")
    assert (secret.name, secret.type) == ("API_KEY", "secret_text")
    assert [(s.name, s.type) for s in sdk.workers.scripts.secrets.list("sdk-worker", account_id=account_id)] == [("API_KEY", "secret_text")]
    assert sdk.workers.scripts.secrets.get("API_KEY", account_id=account_id, script_name="sdk-worker").name == "API_KEY"

    settings = sdk.workers.scripts.script_and_version_settings.get("sdk-worker", account_id=account_id)
    assert settings.compatibility_date == "2024-09-23"
    assert [(b.type, b.name) for b in settings.bindings] == [
        ("kv_namespace", "CACHE"), ("plain_text", "ENVIRONMENT"), ("secret_text", "API_KEY")]
    assert not hasattr(settings.bindings[2], "text")

    edited = sdk.workers.scripts.script_and_version_settings.edit("sdk-worker", account_id=account_id, settings={"logpush": True})
    assert edited.logpush is True
    assert sdk.workers.scripts.settings.get("sdk-worker", account_id=account_id).logpush is True
    assert MODULE in sdk.workers.scripts.content.get("sdk-worker", account_id=account_id).read()

    sdk.workers.scripts.delete("sdk-worker", account_id=account_id)
    with pytest.raises(cloudflare.NotFoundError):
        sdk.workers.scripts.secrets.list("sdk-worker", account_id=account_id)
