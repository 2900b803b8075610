"""In-process notifications between product areas and the edge runtime.

API handlers call ``publish(topic)`` after a write that changes what the edge serves; the runtime
(emulator/runtime) subscribes and reloads within a second. Topics:

- ``"deployments"``: a Worker deployment, version, secret or script changed (or was deleted);
- ``"triggers"``: a route, custom domain, workers.dev subdomain or cron trigger changed.

Subscribers run on the caller's thread after the write committed; they must be quick and must not
raise (a failing subscriber is logged, never turned into an API error).
"""
import sys
import threading
import traceback

_lock = threading.Lock()
_subscribers = []


def subscribe(callback):
    """``callback(topic)`` is called for every published topic."""
    with _lock:
        _subscribers.append(callback)


def unsubscribe(callback):
    with _lock:
        if callback in _subscribers:
            _subscribers.remove(callback)


def publish(topic):
    with _lock:
        subscribers = list(_subscribers)
    for callback in subscribers:
        try:
            callback(topic)
        except Exception:  # noqa: BLE001 - a runtime problem must not fail the API call
            traceback.print_exc(file=sys.stderr)
