"""The DNS modules under answers Cloudflare does not document (emulator/fidelity/dns.yml)."""
from ansible_collections.cfops.cloudflare.plugins.module_utils import _dns

ZONE = "example.com"


def _answer(name, rtype, content, **extra):
    """A record as the API may answer it: content echoed exactly as a user once sent it."""
    return dict({"id": "%s-%s" % (name, content), "name": name, "type": rtype, "content": content, "ttl": 1,
                 "proxied": False, "tags": []}, **extra)


def test_content_echoed_as_sent_plans_no_change():
    """Whether Cloudflare returns IPv6 compressed and host names lower case without the dot is undocumented:
    either way the module sees the record it wants and plans nothing (a second run writes nothing)."""
    existing = [_dns.from_api(_answer("WWW.Example.com.", "AAAA", "2001:DB8:0:0::1")),
                _dns.from_api(_answer("docs.example.com", "CNAME", "Target.Example.NET.")),
                _dns.from_api(_answer("example.com", "MX", "Mail.Example.NET.", priority=10)),
                _dns.from_api(_answer("www.example.com", "A", " 192.0.2.1"))]
    desired = _dns.check_input([{"name": "www", "type": "AAAA", "content": "2001:db8::1"},
                                {"name": "docs", "type": "CNAME", "content": "target.example.net"},
                                {"name": "@", "type": "MX", "content": "mail.example.net", "priority": 10},
                                {"name": "www", "type": "A", "content": "192.0.2.1"}], ZONE)
    changes = _dns.plan(existing, desired, ZONE)
    assert changes == {"create": [], "update": [], "delete": []}


def test_normalised_answers_still_match():
    existing = [_dns.from_api(_answer("www.example.com", "AAAA", "2001:db8::1"))]
    desired = _dns.check_input([{"name": "www", "type": "AAAA", "content": "2001:DB8::1"}], ZONE)
    assert _dns.plan(existing, desired, ZONE) == {"create": [], "update": [], "delete": []}
