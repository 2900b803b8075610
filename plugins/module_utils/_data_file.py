# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""Data files given as ``src`` (JSON, JSON lines, YAML), read by the module itself: whole, or item by item.

``iter_document`` streams the items of a top-level list (or the members of a top-level mapping) reading the file
in chunks, so a file of a million entries is never held whole; ``load_document`` parses it whole. Both give the
same messages for a file that does not parse.
"""

from __future__ import annotations

import json
import os

from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError

READ_CHUNK = 1024 * 1024
# Largest single item read ahead in the streaming JSON reader: a 25 MiB KV value base64-encoded and escaped
# fits; a file that does not parse stops here instead of being read whole into memory.
MAX_ITEM_CHARS = 128 * 1024 * 1024

_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\r\n"


def check_file(path):
    if not os.path.isfile(path):
        raise InvalidInputError("src %s is not a file" % path)


def _parse_error(path, exc):
    return InvalidInputError("src %s could not be parsed: %s" % (path, exc))


def load_document(path, load_yaml):
    """The whole document of a ``.json`` file (or YAML, which JSON also is, through ``load_yaml(text)``)."""
    check_file(path)
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    try:
        return json.loads(text) if path.endswith(".json") else load_yaml(text)
    except Exception as exc:
        raise _parse_error(path, exc) from None


def iter_json_lines(path):
    """``(line_number, object)`` for each non-empty line of a JSON lines file, one line in memory at a time."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    yield number, json.loads(line)
                except ValueError as exc:
                    raise InvalidInputError("src %s line %d: not a JSON object: %s" % (path, number, exc)) from None


def iter_document(path, load_yaml):
    """``(kind, name, value)`` for the top level of a ``.json``/``.yaml``/``.yml`` file, streaming.

    ``("item", index, value)`` for each element of a top-level list, ``("member", key, value)`` for each member
    of a top-level mapping (a key listed twice comes twice), or one ``("document", None, value)`` for anything
    else (``None`` for an empty YAML file).
    """
    check_file(path)
    if path.endswith(".json"):
        return _iter_json(path)
    return _iter_yaml(path, load_yaml)


class _JsonReader:
    """A JSON text read in chunks: each value decoded from a window of the file, never the whole file."""

    def __init__(self, handle, path):
        self.handle = handle
        self.path = path
        self.buffer = ""
        self.pos = 0
        self.consumed = 0  # characters dropped from the front of the buffer
        self.eof = False

    def _fill(self):
        data = self.handle.read(READ_CHUNK)
        if not data:
            self.eof = True
            return
        self.consumed += self.pos
        self.buffer = self.buffer[self.pos:] + data
        self.pos = 0

    def peek(self):
        """The next character that is not whitespace ("" at the end)."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.buffer) or self.eof:
                return self.buffer[self.pos:self.pos + 1]
            self._fill()

    def error(self, message):
        return InvalidInputError("src %s could not be parsed: %s at character %d" % (self.path, message, self.consumed + self.pos))

    def expect(self, allowed):
        char = self.peek()
        if not char or char not in allowed:
            raise self.error("expected %s, found %s" % (" or ".join(repr(c) for c in allowed), repr(char) if char else "the end"))
        self.pos += 1
        return char

    def value(self):
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buffer, self.pos)
            except ValueError as exc:
                if self.eof or len(self.buffer) - self.pos > MAX_ITEM_CHARS:
                    raise InvalidInputError("src %s could not be parsed: %s (at character %d)"
                                            % (self.path, getattr(exc, "msg", exc), self.consumed + getattr(exc, "pos", 0))) from None
                self._fill()
                continue
            if end >= len(self.buffer) and not self.eof:
                self._fill()  # a number may continue in the next chunk
                continue
            self.pos = end
            return value


def _iter_json(path):
    with open(path, encoding="utf-8") as handle:
        reader = _JsonReader(handle, path)
        opening = reader.peek()
        if opening not in ("[", "{"):
            value = reader.value()
            if reader.peek():
                raise reader.error("extra data after the document")
            yield "document", None, value
            return
        reader.pos += 1
        closing = "]" if opening == "[" else "}"
        index = 0
        while True:
            if reader.peek() == closing:
                reader.pos += 1
                break
            if index:
                reader.expect(",")
            if opening == "[":
                yield "item", index, reader.value()
            else:
                if reader.peek() != '"':
                    raise reader.error("expected a member name")
                name = reader.value()
                reader.expect(":")
                yield "member", name, reader.value()
            index += 1
        if reader.peek():
            raise reader.error("extra data after the document")


def _iter_yaml(path, load_yaml):
    try:
        import yaml
    except ImportError:  # pragma: no cover - ansible-core needs PyYAML; whole-document fallback only
        yaml = None
    if yaml is None:
        yield from _iter_parsed(load_document(path, load_yaml))
        return
    # The pure-Python loader composes one node at a time (the C loader composes only whole documents); each item
    # is constructed then dropped, so only the current item and the file's anchors stay in memory.
    with open(path, encoding="utf-8") as handle:
        loader = yaml.SafeLoader(handle)
        try:
            loader.get_event()  # stream start
            if loader.check_event(yaml.StreamEndEvent):
                yield "document", None, None
                return
            loader.get_event()  # document start
            if loader.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent):
                is_list = loader.check_event(yaml.SequenceStartEvent)
                loader.get_event()
                end = yaml.SequenceEndEvent if is_list else yaml.MappingEndEvent
                index = 0
                while not loader.check_event(end):
                    if is_list:
                        yield "item", index, loader.construct_document(loader.compose_node(None, None))
                    else:
                        name = loader.construct_document(loader.compose_node(None, None))
                        yield "member", name, loader.construct_document(loader.compose_node(None, None))
                    index += 1
                loader.get_event()
            else:
                yield "document", None, loader.construct_document(loader.compose_node(None, None))
            loader.get_event()  # document end
            if not loader.check_event(yaml.StreamEndEvent):
                raise InvalidInputError("src %s could not be parsed: it holds more than one YAML document" % path)
        except yaml.YAMLError as exc:
            raise _parse_error(path, exc) from None
        finally:
            loader.dispose()


def _iter_parsed(document):
    if isinstance(document, list):
        for index, item in enumerate(document):
            yield "item", index, item
    elif isinstance(document, dict):
        for name, value in document.items():
            yield "member", name, value
    else:
        yield "document", None, document
