"""Call counts by method and route template, split into reads and writes (thread safe)."""
import threading

UNROUTED = "(no route)"


class CallCounter:
    def __init__(self):
        self._lock = threading.Lock()
        self._reset()

    def _reset(self):
        self._by_route = {}
        self._faulted = 0

    def record(self, method, template, write, faulted):
        key = (method, template or UNROUTED)
        with self._lock:
            entry = self._by_route.setdefault(key, {"count": 0, "write": bool(write)})
            entry["count"] += 1
            if faulted:
                self._faulted += 1

    def reset(self):
        with self._lock:
            self._reset()

    def snapshot(self):
        with self._lock:
            calls = [
                {"method": method, "route": route, "count": entry["count"], "write": entry["write"]}
                for (method, route), entry in sorted(self._by_route.items(), key=lambda item: (item[0][1], item[0][0]))
            ]
            faulted = self._faulted
        writes = sum(call["count"] for call in calls if call["write"])
        total = sum(call["count"] for call in calls)
        return {"total": total, "reads": total - writes, "writes": writes, "faulted": faulted, "calls": calls}
