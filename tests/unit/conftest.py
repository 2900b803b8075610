"""Fixtures of the unit tests: a scripted local HTTP server and a free port."""
import socket

import pytest

from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import ScriptedServer


@pytest.fixture
def server():
    srv = ScriptedServer()
    yield srv
    srv.close()


@pytest.fixture
def free_port():
    """A port nothing listens on (yet)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port
