# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""Input checks shared by the modules: each raises InvalidInputError naming the option and the fix,
so bad input is refused before any write. The limits are Cloudflare's (or the RFC's), cited per check."""

from __future__ import annotations

import ipaddress
import re
import shutil
from encodings import idna as _idna

from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError

# RFC 1035 section 2.3.4: a label is at most 63 octets, a name at most 255 octets on the wire, which is
# 253 characters written out without the trailing dot.
DNS_LABEL_MAX = 63
DNS_NAME_MAX = 253
# https://developers.cloudflare.com/r2/platform/limits/ : "Object key length: 1,024 bytes".
R2_KEY_MAX_BYTES = 1024
# Letters, digits, hyphen (RFC 1123) and underscore (service labels such as _dmarc, RFC 8552).
_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$")
# wrangler's secrets-store check: "Secret name may only contain alphanumeric characters, underscores,
# or dashes" (packages/wrangler/src/secrets-store/commands.ts); Worker secrets are env bindings of that form.
_SECRET_NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# The last labels that make a relative name look like a name of another zone (``www.other.org``): the
# most used generic TLDs and any two-letter country code. A name under the zone that really ends so is
# written in full, ending with the zone name.
_FOREIGN_TLDS = frozenset(("com", "net", "org", "io", "dev", "app", "info", "biz", "edu", "gov", "mil", "int",
                           "xyz", "online", "site", "cloud", "tech", "shop"))


def _fail(option, value, problem, fix):
    raise InvalidInputError("%s %r %s: %s" % (option, value, problem, fix))


def _ascii_label(label, option, value):
    """One label in the form Cloudflare stores it: lower case, non-ASCII IDNA-encoded (punycode)."""
    if label.isascii():
        return label.lower()
    try:
        return _idna.ToASCII(label).decode("ascii").lower()
    except UnicodeError:
        pass
    try:
        # ToASCII also refuses a label that is too long once encoded: encode it anyway so the length check names it.
        return ("xn--" + _idna.nameprep(label).encode("punycode").decode("ascii")).lower()
    except UnicodeError:
        _fail(option, value, "has a label (%r) that is not a valid internationalised name" % label,
              "write the name in punycode (xn--...) or fix the characters")


def dns_name(value, zone_name, option="name"):
    """The record name as Cloudflare stores it: a full name in punycode, lower case, no trailing dot.

    Cloudflare's record ``name`` is the "complete DNS record name, including the zone name, in Punycode"
    (SDK types/dns/record_create_params.py). ``@`` or empty is the apex; a name ending with a dot is
    absolute and must be in the zone; another name is relative to the zone, unless it looks like a
    name of another zone, which is refused rather than re-rooted.
    """
    text = ("" if value is None else str(value)).strip()
    if text in ("", "@"):
        return zone_name
    absolute = text.endswith(".")
    labels = text[:-1].split(".") if absolute else text.split(".")
    encoded = [_ascii_label(label, option, value) for label in labels]
    name = ".".join(encoded)
    for index, label in enumerate(encoded):
        if not label:
            _fail(option, value, "has an empty label", "remove the doubled or leading dot")
        if len(label) > DNS_LABEL_MAX:
            _fail(option, value, "has a label of %d octets (%s...)" % (len(label), label[:20]),
                  "a DNS label is at most 63 octets (RFC 1035)")
        if label == "*" and index == 0:
            continue
        if not _LABEL.match(label):
            _fail(option, value, "has a label (%r) with characters a DNS name cannot carry" % label,
                  "use letters, digits, hyphens (not at either end) and underscores; '*' only as the first label")
    in_zone = name == zone_name or name.endswith("." + zone_name)
    if absolute and not in_zone:
        raise InvalidInputError("%s %r: the name %s. is not in the zone %s: write a name of %s, or manage the "
                                "record in its own zone" % (option, value, name, zone_name, zone_name))
    if not in_zone:
        last = encoded[-1]
        if len(encoded) > 1 and (last == zone_name.rsplit(".", 1)[-1] or last in _FOREIGN_TLDS
                                 or (len(last) == 2 and last.isalpha())):
            _fail(option, value, "looks like a name of another zone (it ends in .%s), not of %s" % (last, zone_name),
                  "write it relative to the zone (www) or in full ending with the zone (%s.%s)" % (name, zone_name))
        name = "%s.%s" % (name, zone_name)
    if len(name) > DNS_NAME_MAX:
        _fail(option, value, "is %d characters long as a full name" % len(name),
              "a DNS name is at most 253 characters (RFC 1035)")
    return name


def hostname(value, option, allow_ip=True):
    """A host name (or, with ``allow_ip``, an IP address) in the ASCII form, or InvalidInputError."""
    text = value.strip() if isinstance(value, str) else ""
    if allow_ip and text:
        try:
            return str(ipaddress.ip_address(text.strip("[]")))
        except ValueError:
            pass
    if not text:
        _fail(option, value, "is empty", "give a host name%s" % (" or an IP address" if allow_ip else ""))
    labels = text.rstrip(".").split(".")
    encoded = [_ascii_label(label, option, value) for label in labels]
    bad = [label for label in encoded if not label or len(label) > DNS_LABEL_MAX or not _LABEL.match(label)]
    if bad or len(".".join(encoded)) > DNS_NAME_MAX:
        _fail(option, value, "is not a valid host name",
              "use a name such as api.example.com%s (letters, digits and hyphens, labels of at most 63 octets)"
              % (" or an IP address" if allow_ip else ""))
    return ".".join(encoded)


def route_pattern(pattern, option="pattern"):
    """A Workers route pattern: ``[http(s)://][*]host[/path[*]]``, no port, no query, no infix wildcard.

    https://developers.cloudflare.com/workers/configuration/routing/routes/ (validity rules: route patterns
    may not contain query parameters or infix wildcards; the parts are an optional scheme, a host that
    may begin with ``*`` and a path that may end with ``*``: a port is none of them).
    """
    text = pattern if isinstance(pattern, str) else ""
    rest = text.split("://", 1)[1] if "://" in text else text
    if "://" in text and text.split("://", 1)[0] not in ("http", "https"):
        _fail(option, pattern, "has a scheme other than http:// or https://", "drop the scheme or use https://")
    host, _slash, path = rest.partition("/")
    if ":" in host:
        _fail(option, pattern, "has a port (%s)" % host.split(":", 1)[1],
              "a route pattern cannot name a port: remove ':%s' (a route matches any port)" % host.split(":", 1)[1])
    if "?" in rest:
        _fail(option, pattern, "has a query string", "a route pattern cannot contain query parameters: end the path with * instead")
    if "*" in path.rstrip("*"):
        _fail(option, pattern, "has a wildcard inside the path", "a route pattern's path may only end with *")
    if "*" in host.lstrip("*"):
        _fail(option, pattern, "has a wildcard inside the host", "only a leading * (or *.) is allowed in the host")


def r2_key(key, option="key"):
    """An R2 object key of at most 1,024 bytes (UTF-8)."""
    size = len(key.encode("utf-8", "surrogatepass"))
    if size > R2_KEY_MAX_BYTES:
        raise InvalidInputError("%s %r... is %d bytes long: an R2 object key is at most 1,024 bytes (UTF-8); "
                                "use a shorter key" % (option, key[:40], size))


def secret_name(name, option="name"):
    """A Worker secret's name: letters, digits, ``_`` and ``-``."""
    if not isinstance(name, str) or not _SECRET_NAME.match(name):
        _fail(option, name, "is not a valid secret name",
              "use letters, digits, underscores and dashes only (no spaces), for example API_KEY")


def text_value(value, option):
    """A string option that YAML may have read as a number (``content: 12345``): the number's text."""
    if isinstance(value, bool):
        raise InvalidInputError("%s must be a string, got the boolean %s: quote it" % (option, value))
    if isinstance(value, (int, float)):
        return str(value)
    return value


# How to run node: a module sets AnsibleModule.run_command (modules must not start processes themselves), the
# controller-side release action a subprocess runner. Without one there is no pre-check.
_COMMAND_RUNNER = None


def set_command_runner(run):
    """``run(argv, stdin_bytes) -> (rc, stdout, stderr)`` used by js_syntax_error."""
    global _COMMAND_RUNNER  # pylint: disable=global-statement
    _COMMAND_RUNNER = run


def js_syntax_error(content, name, node=None, run=None):
    """The syntax error of an ES module (``node --check`` on its text), or None when it parses, no
    ``node`` is on the PATH of the host that runs the module or no command runner is set (the check is a
    courtesy: Cloudflare refuses such an upload itself, with code 10021, and the module reports that)."""
    run = run or _COMMAND_RUNNER
    node = node or shutil.which("node")
    if not node or run is None:
        return None
    try:
        returncode, _stdout, stderr = run([node, "--input-type=module", "--check"], content)
    except (OSError, ValueError):
        return None
    if returncode == 0:
        return None
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else str(stderr)
    lines = [line for line in text.splitlines() if line.strip()]
    error = next((line for line in lines if "Error" in line and not line.lstrip().startswith("at ")), None)
    if error is None or not error.startswith(("SyntaxError", "Error")):
        return None  # node failed for another reason (flags, environment): no verdict
    # node prints "[stdin]:LINE" first, then the line and a caret.
    where = lines[0].replace("[stdin]", name) if lines and lines[0].startswith("[stdin]") else name
    return "%s: %s" % (where, error)
