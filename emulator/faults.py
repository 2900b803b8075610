"""Fault injection: which calls fail, and how (thread safe).

A fault matches a method ("*" for any) and either a route template (the pattern contains "{") or
an fnmatch glob on the concrete path after /client/v4.  Of the matching calls every ``every``-th
one is faulted until ``count`` calls were (the fixed-period mode), or, with ``rate`` (0 < rate <= 1),
each matching call is faulted with that probability, drawn from a generator seeded with ``seed``
(the random mode: no count limit unless ``count`` is given).  The same seed over the same sequence of
calls faults the same calls; another seed faults others.  Register one fault per kind (a 5xx, a hang,
a drop, each with its rate and seed) to mix kinds.

Calls to R2's S3 endpoint (template ``s3:<Operation>``, path ``/r2-s3/<account>/...``) match only the
patterns that name S3: ``s3:<Operation glob>`` or a glob starting with ``/r2-s3/``.  So ``*`` or an API
glob never faults an S3 transfer by surprise.
"""
import dataclasses
import fnmatch
import itertools
import random
import threading

ACTIONS = ("status", "hang", "drop")
UNLIMITED = 10 ** 12            # a random fault's default count: it lasts until cleared
S3_TEMPLATE_PREFIX = "s3:"       # the "route" of an S3 call in /__emulator/calls (emulator/s3.py)
S3_PATH_PREFIX = "/r2-s3/"


class FaultSpecError(ValueError):
    """The admin API was given a fault it cannot apply."""


@dataclasses.dataclass
class Fault:
    id: int
    method: str
    path: str
    action: str
    status: int
    retry_after: int
    seconds: float
    count: int
    every: int
    apply: bool
    rate: float = None
    seed: int = 0
    seen: int = 0
    faulted: int = 0
    rng: random.Random = dataclasses.field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if self.rate is not None and self.rng is None:
            self.rng = random.Random(self.seed)

    def fires(self):
        """Whether the matching call just counted is faulted (called once per matching call)."""
        if self.rate is not None:
            return self.rng.random() < self.rate
        return self.seen % self.every == 0

    def matches(self, method, template, path):
        if self.method != "*" and self.method != method:
            return False
        if self.path.startswith(S3_TEMPLATE_PREFIX):
            return (template or "").startswith(S3_TEMPLATE_PREFIX) and fnmatch.fnmatchcase(template, self.path)
        if (template or "").startswith(S3_TEMPLATE_PREFIX) != self.path.startswith(S3_PATH_PREFIX):
            return False  # an S3 call meets only S3 patterns, an API call only API patterns
        if "{" in self.path:
            return template == self.path
        return fnmatch.fnmatchcase(path, self.path)

    @property
    def remaining(self):
        return self.count - self.faulted

    def describe(self):
        return {
            "id": self.id, "method": self.method, "path": self.path, "action": self.action,
            "status": self.status, "retry_after": self.retry_after, "seconds": self.seconds,
            "count": self.count, "every": self.every, "apply": self.apply, "rate": self.rate, "seed": self.seed,
            "seen": self.seen, "faulted": self.faulted, "remaining": self.remaining,
        }


def _number(spec, name, default, kind, minimum):
    value = spec.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FaultSpecError("%s must be a number" % name)
    value = kind(value)
    if value < minimum:
        raise FaultSpecError("%s must be at least %s" % (name, minimum))
    return value


def parse_spec(spec, fault_id):
    if not isinstance(spec, dict):
        raise FaultSpecError("the fault must be a JSON object")
    unknown = set(spec) - {"method", "path", "action", "status", "retry_after", "seconds", "count", "every", "apply",
                           "rate", "seed"}
    if unknown:
        raise FaultSpecError("unknown fault field(s): %s" % ", ".join(sorted(unknown)))
    action = spec.get("action", "status")
    if action not in ACTIONS:
        raise FaultSpecError("action must be one of %s" % ", ".join(ACTIONS))
    method = str(spec.get("method", "*")).upper()
    path = spec.get("path", "*")
    if not isinstance(path, str) or not path:
        raise FaultSpecError("path must be a route template or a glob")
    status = _number(spec, "status", 429 if action == "status" else 500, int, 400)
    if status > 599:
        raise FaultSpecError("status must be an HTTP error status (400-599)")
    rate = None
    if "rate" in spec:
        rate = _number(spec, "rate", None, float, 0)
        if not 0 < rate <= 1:
            raise FaultSpecError("rate must be a probability above 0 and at most 1")
        if "every" in spec:
            raise FaultSpecError("give rate (random faults) or every (one call in every N), not both")
    seed = spec.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise FaultSpecError("seed must be an integer")
    return Fault(
        id=fault_id, method=method, path=path, action=action, status=status,
        retry_after=_number(spec, "retry_after", 1, int, 0),
        seconds=_number(spec, "seconds", 5, float, 0),
        count=_number(spec, "count", 1 if rate is None else UNLIMITED, int, 1),
        every=_number(spec, "every", 1, int, 1),
        apply=bool(spec.get("apply", False)),
        rate=rate, seed=seed,
    )


class FaultRegistry:
    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []
        self._ids = itertools.count(1)

    def add(self, spec):
        with self._lock:
            fault = parse_spec(spec, next(self._ids))
            self._faults.append(fault)
            return fault

    def clear(self):
        with self._lock:
            self._faults = []

    def active(self):
        with self._lock:
            return [fault.describe() for fault in self._faults]

    def decide(self, method, template, path):
        """The fault to apply to this call, or None.  Every matching fault counts the call."""
        chosen = None
        with self._lock:
            for fault in self._faults:
                if not fault.matches(method, template, path):
                    continue
                fault.seen += 1
                # Every matching fault draws (or counts), so one fault's sequence does not depend on another's.
                if fault.fires() and chosen is None:
                    fault.faulted += 1
                    chosen = dataclasses.replace(fault)
            self._faults = [fault for fault in self._faults if fault.remaining > 0]
        return chosen
