"""User traffic against the emulator's edge for the release tests and benchmarks: GETs at a fixed rate on
loopback, bounded (a request cap and a time limit), each recorded with its time, status and version.

    with Traffic(emulator.edge_url, "books-api-local.cfops-local.workers.dev", rate=40) as traffic:
        run_playbook(...)
    traffic.failed()      # the 5xx responses and failed requests
"""
import threading
import time

import httpx


class Traffic(threading.Thread):
    """GET ``edge_url + path`` with ``Host: host`` at ``rate`` requests per second until stopped, at most
    ``limit`` seconds and ``max_requests`` requests. ``samples``: ``(start time, status or None, version)``."""

    def __init__(self, edge_url, host, rate=40.0, path="/books/1", limit=600.0, max_requests=100000, workers=4):
        super().__init__(daemon=True)
        self.url, self.host, self.rate, self.limit, self.max_requests = edge_url + path, host, float(rate), limit, max_requests
        self.workers = workers
        self.samples = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def stop(self):
        self._stopping.set()
        self.join(timeout=30)

    def run(self):
        started = time.monotonic()
        interval = 1.0 / self.rate
        # A few connections so one slow answer does not hold the schedule; each sends on its own slots.
        threads = [threading.Thread(target=self._send, args=(started, interval, offset), daemon=True)
                   for offset in range(self.workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _send(self, started, interval, offset):
        with httpx.Client(timeout=10, trust_env=False, headers={"Host": self.host}) as client:
            number = offset
            while not self._stopping.is_set() and number < self.max_requests:
                due = started + number * interval
                if due - started > self.limit:
                    return
                delay = due - time.monotonic()
                if delay > 0 and self._stopping.wait(delay):
                    return
                when = time.time()
                try:
                    response = client.get(self.url)
                    status = response.status_code
                    version = self.version_of(response)
                except httpx.HTTPError:
                    status, version = None, None
                with self._lock:
                    self.samples.append((when, status, version))
                number += self.workers

    @staticmethod
    def version_of(response):
        """The version the Worker reports in its JSON body (examples/books-api's /health), else None."""
        try:
            body = response.json()
        except ValueError:
            return None
        return body.get("version") if isinstance(body, dict) else None

    def failed(self, since=None):
        """The failed requests (5xx or no answer), oldest first, ``since`` a time if given."""
        with self._lock:
            samples = sorted(self.samples)
        return [s for s in samples if (s[1] is None or s[1] >= 500) and (since is None or s[0] >= since)]
