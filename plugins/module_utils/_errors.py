# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""The error raised for bad module input, found before any write."""

from __future__ import annotations


class InvalidInputError(Exception):
    """Module input that cannot be applied; the message names the offending option or item."""


REDACTED = "<redacted>"


def secret_forms(secret):
    """Every way ``secret`` can appear in a message: as is, stripped, inside ``repr()`` of a str or of
    bytes (``b'Bearer tok\\n'`` from an HTTP library), and URL-encoded (``quote``/``quote_plus``)."""
    from urllib.parse import quote, quote_plus  # noqa: PLC0415 - keep the module import light

    if not secret:
        return []
    forms = set()
    for value in (secret, secret.strip()):
        if len(value) < 4:  # too short to be a credential; replacing it would mangle every message
            continue
        forms.update((value, repr(value)[1:-1], quote(value, safe=""), quote_plus(value, safe="")))
        try:
            forms.add(repr(value.encode("utf-8"))[2:-1])
        except UnicodeEncodeError:
            pass
    # Longest first, so a form that contains another is replaced whole.
    return sorted((form for form in forms if len(form) >= 4), key=len, reverse=True)


def redact(text, secrets):
    """``text`` with every form (see ``secret_forms``) of each of ``secrets`` replaced by ``<redacted>``."""
    if not isinstance(text, str):
        return text
    for secret in secrets:
        for form in secret_forms(secret):
            text = text.replace(form, REDACTED)
    return text


def clean_token(token, option="api_token"):
    """The token without the whitespace a file or ``ansible-vault encrypt_string`` leaves around it.

    A control character inside is refused (it would make an invalid HTTP header, whose error shows it);
    the message never contains the token.
    """
    if token is None:
        return None
    cleaned = token.strip()
    for position, char in enumerate(cleaned):
        if not 0x21 <= ord(char) <= 0x7e:
            what = "a control character" if ord(char) < 0x20 or ord(char) == 0x7f else (
                "a space" if char.isspace() else "a non-ASCII character")
            raise InvalidInputError("%s contains %s (U+%04X at position %d), which an HTTP header cannot carry; "
                                    "the token is not shown. Check the file or variable it comes from"
                                    % (option, what, ord(char), position + 1))
    return cleaned
