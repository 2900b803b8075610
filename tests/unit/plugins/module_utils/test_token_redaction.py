"""The API token never shows, in any form a message can carry it, and a token read from a file works.

The issue's reproduction: a token with a trailing newline (as a file or ``ansible-vault encrypt_string``
gives it) made httpx fail with ``Illegal header value b'Bearer <token>\\n'``, which the redaction, comparing
the raw string, let through in clear at default verbosity.
"""
from urllib.parse import quote, quote_plus

import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError, CloudflareClient
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError, clean_token, redact
from ansible_collections.cfops.cloudflare.plugins.modules import kv_namespace
from ansible_collections.cfops.cloudflare.tests.unit.plugins.modules.module_runner import module_result
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply, envelope, failure

# Characters whose repr and URL-encoded forms differ from the raw string.
TOKEN = "tok/SECRET+9=Zq'x"


def forms(token):
    return {"raw": token, "repr": repr(token)[1:-1], "bytes repr": repr(token.encode())[2:-1],
            "url-encoded": quote(token, safe=""), "url-encoded (plus)": quote_plus(token, safe=""),
            "bearer": "Bearer " + token}


@pytest.mark.parametrize("form", sorted(forms(TOKEN)))
def test_redact_hides_every_form(form):
    shown = "the server said: %s (end)" % forms(TOKEN)[form]
    redacted = redact(shown, [TOKEN])
    assert "SECRET" not in redacted and "<redacted>" in redacted
    assert redacted.startswith("the server said: ") and redacted.endswith(" (end)")


def test_redact_hides_the_repr_of_a_token_with_a_trailing_newline():
    for token in (TOKEN, "plain-SECRET-token"):
        given = token + "\n"
        shown = redact("Illegal header value %r" % ("Bearer " + given).encode(), [given])
        assert "SECRET" not in shown and "Bearer <redacted>" in shown


@pytest.mark.parametrize("given", [TOKEN + "\n", "  " + TOKEN + "\r\n", "\t" + TOKEN])
def test_surrounding_whitespace_is_stripped_and_the_stripped_token_is_sent(server, given):
    server.script(Reply(200, envelope({"id": "x"})))
    with CloudflareClient(given, base_url=server.base_url, max_retries=0) as client:
        assert client.get("/user/tokens/verify") == {"id": "x"}
    assert server.requests[0].headers["Authorization"] == "Bearer " + TOKEN


@pytest.mark.parametrize("given, what", [
    ("tok\nSECRET", "a control character (U+000A at position 4)"),
    ("tok\x00SECRET", "a control character (U+0000 at position 4)"),
    ("tok SECRET", "a space (U+0020 at position 4)"),
    ("tokSECRET\u00e9", "a non-ASCII character (U+00E9 at position 10)"),
])
def test_a_token_with_an_inner_control_character_is_refused_without_showing_it(given, what):
    with pytest.raises(InvalidInputError) as info:
        clean_token(given)
    assert what in str(info.value)
    assert "SECRET" not in str(info.value) and "the token is not shown" in str(info.value)


def test_an_error_echoing_the_token_url_encoded_is_redacted(server):
    server.script(failure(400, (9109, "Invalid access token %s" % quote(TOKEN, safe=""))),
                  Reply(418, raw=("token=" + quote_plus(TOKEN, safe="")).encode()))
    with CloudflareClient(TOKEN, base_url=server.base_url, max_retries=0) as client:
        for _attempt in range(2):
            with pytest.raises(CloudflareAPIError) as info:
                client.get("/x")
            assert "SECRET" not in str(info.value) and "SECRET" not in repr(info.value.errors)
            assert "<redacted>" in str(info.value)


def test_a_module_with_a_newline_terminated_token_works_and_shows_nothing(server, capsys):
    server.script(Reply(200, envelope([]), headers={}), Reply(200, envelope({"id": "n" * 32, "title": "cache"})))
    result = module_result(kv_namespace.main, capsys, server, api_token=TOKEN + "\n", title="cache")
    assert result.get("failed") is not True, result
    assert {r.headers["Authorization"] for r in server.requests} == {"Bearer " + TOKEN}


def test_a_module_failure_never_shows_the_token_in_any_form(server, capsys):
    server.script(failure(403, (10000, "Authentication error for %r / %s" % (("Bearer " + TOKEN).encode(),
                                                                             quote(TOKEN, safe="")))))
    result = module_result(kv_namespace.main, capsys, server, api_token=TOKEN + "\n", title="cache")
    assert result["failed"] is True
    assert "Authentication error" in result["msg"]
    assert "SECRET" not in repr(result)


def test_a_module_refuses_an_inner_control_character_before_any_call(server, capsys):
    result = module_result(kv_namespace.main, capsys, server, api_token="tok\x1bSECRET", title="cache")
    assert result["failed"] is True
    assert result["msg"].startswith("api_token contains a control character (U+001B at position 4)")
    assert "SECRET" not in repr(result)
    assert server.requests == []
