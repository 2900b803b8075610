"""Every module option that can carry a secret has ``no_log``: the argument spec of each module, walked.

Each module's ``main()`` builds its ``AnsibleModule``; here that class is replaced by one that records the
argument spec, so the walk sees exactly what Ansible gets, suboptions included. An option whose name looks
like it carries a secret must be ``no_log=True``, unless the allowlist below says why it does not.
"""
import importlib
import pkgutil
import re

import pytest

from ansible_collections.cfops.cloudflare.plugins import modules as modules_package

# Words of an option name (split at "_" and ".") that suggest it carries a secret.
SECRET_WORDS = {"token", "tokens", "secret", "secrets", "password", "passwd", "passphrase", "credential", "credentials",
                "private", "cookie", "cookies", "auth", "authorization", "key", "keys", "header", "headers", "content",
                "value", "values", "param", "params", "body", "digest", "sql"}

# (module, option path): why a secret-looking name carries no secret. Every entry must still exist.
NOT_SECRET = {
    ("kv_entry", "key"): "a KV key is the name of an entry (listed by the API to anyone who can read the namespace)",
    ("kv_entry", "entries.key"): "a KV key is the name of an entry",
    ("kv_entry", "keys"): "the names of the entries to delete",
    ("kv_entry", "secret"): "a switch (whether the diff shows values), not a value",
    ("kv_entry", "digest"): "a switch (keep a content digest in each key's metadata), not a value",
    ("r2_object", "key"): "an object key is the object's name",
    ("r2_object", "max_keys"): "a count",
    ("r2_object", "content_type"): "a media type",
    ("r2_bucket", "cors_rules.allowed_headers"): "header names of a CORS policy, sent to every browser",
    ("r2_bucket", "cors_rules.expose_headers"): "header names of a CORS policy, sent to every browser",
    ("ruleset", "rules.headers"): "response headers a rule sets on public responses, seen by every visitor",
    ("worker_health_probe", "host_header"): "a host name",
    ("worker_health_probe", "version_header"): "a header name",
    ("worker_release", "host_header"): "a host name",
    ("worker_script", "update_secrets"): "a policy choice (when to write secrets), not a secret",
    ("worker_script", "keep_secrets"): "a switch, not a secret",
    ("worker_secret", "update_secret"): "a policy choice (when to write the secret), not a secret",
    ("dns_record", "content"): "public DNS data, answered to anyone who asks",
    ("healthcheck", "expected_body"): "a substring of the checked endpoint's public response",
    ("d1_query", "sql"): "statements are code; values go in params, which is no_log",
    ("api_request", "body"): "a generic pass-through: no_log would mask every body value in the API's answer too; "
                             "its documentation tells to mark the task no_log when the body holds a secret",
    ("api_request", "page_size_param"): "the name of a query parameter",
}


class _Captured(Exception):
    pass


def argument_spec(module):
    """The argument spec ``module.main()`` hands to AnsibleModule."""
    captured = {}

    def capture(*args, **kwargs):
        captured.update(kwargs)
        raise _Captured()

    original = module.AnsibleModule
    module.AnsibleModule = capture
    try:
        with pytest.raises(_Captured):
            module.main()
    finally:
        module.AnsibleModule = original
    return captured["argument_spec"]


def walk(spec, prefix=""):
    for name, option in spec.items():
        yield prefix + name, option
        if option.get("options"):
            yield from walk(option["options"], prefix + name + ".")


def all_options():
    found = {}
    for info in pkgutil.iter_modules(modules_package.__path__):
        module = importlib.import_module("%s.%s" % (modules_package.__name__, info.name))
        for path, option in walk(argument_spec(module)):
            found[(info.name, path)] = option
    return found


OPTIONS = all_options()


def looks_secret(path):
    return bool(SECRET_WORDS & set(re.split(r"[_.]", path.rsplit(".", 1)[-1].lower())))


def test_the_walk_sees_every_module_and_their_suboptions():
    modules = {module for module, _path in OPTIONS}
    assert len(modules) == len(list(pkgutil.iter_modules(modules_package.__path__))) >= 30
    assert ("kv_entry", "entries.value") in OPTIONS and ("worker_script", "migrations.renamed_classes.from") in OPTIONS


def test_every_secret_looking_option_has_no_log():
    missing = sorted("%s: %s" % key for key, option in OPTIONS.items()
                     if looks_secret(key[1]) and not option.get("no_log") and key not in NOT_SECRET)
    assert missing == [], "options that look like secrets but have no no_log=True (or an entry in NOT_SECRET):\n" + \
        "\n".join(missing)


@pytest.mark.parametrize("module, path", [
    ("kv_entry", "value"), ("kv_entry", "entries.value"), ("r2_object", "content"), ("d1_query", "params"),
    ("healthcheck", "header"), ("worker_secret", "value"), ("r2_object", "secret_access_key"),
    ("r2_sync", "secret_access_key"), ("worker_script", "secrets"), ("worker_version", "secrets"),
    ("worker_release", "secrets"), ("worker_script", "secret_digest_key"),
])
def test_the_options_the_issue_names_are_no_log(module, path):
    assert OPTIONS[(module, path)].get("no_log") is True


def test_every_module_masks_api_token():
    assert sorted(m for (m, path), option in OPTIONS.items() if path == "api_token" and not option.get("no_log")) == []


def test_the_allowlist_names_existing_options_that_really_look_secret():
    stale = sorted("%s: %s" % key for key in NOT_SECRET if key not in OPTIONS or not looks_secret(key[1]))
    assert stale == []
    masked = sorted("%s: %s" % key for key in NOT_SECRET if OPTIONS.get(key, {}).get("no_log"))
    assert masked == [], "allowlisted options that are no_log after all: drop them from NOT_SECRET"
