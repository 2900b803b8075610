"""Where a test runs: the local emulator, or a real Cloudflare account (live mode, docs/dev/live-mode.md).

    target = CloudflareTarget.from_env()               # live: CFOPS_LIVE_API_TOKEN, _ACCOUNT_ID, _ZONE
    target = CloudflareTarget.from_emulator(emu)        # the emulator (its admin API makes it "is_emulator")
    with target:                                        # refuses a foreign account; cleans up on exit, always
        name = target.name("kv")                        # "cfops-test-1a2b3c4d-kv"
        target.api("POST", "/accounts/%s/storage/kv/namespaces" % target.account_id, json={"title": name})
        target.calls()                                  # emulator only: skipped (EmulatorOnly) in live mode

Every object a test makes is named with the run prefix (``cfops-test-<8 hex>-``); ``cleanup()`` deletes
every object of the account (and DNS record of the test zone, and rule of its phase entrypoints by ``ref``)
whose name starts with it, whatever the test registered (for a DNS record, its name without leading
``_service._proto`` labels: ``dns_owner``).
``check_account()`` refuses an account holding Workers, KV namespaces, D1 databases, R2 buckets, queues or
test-zone DNS records that are not named ``cfops-test-...`` unless ``CFOPS_LIVE_ALLOW_FOREIGN=1``.
Standard library only (plus pytest when it is there, for the skip).

Command line (scripts/test.sh live): ``python -m tests.support.target check|cleanup|inventory``, reading
the CFOPS_LIVE_* variables and CFOPS_LIVE_RUN_PREFIX.
"""
import contextlib
import json as jsonlib
import os
import re
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request

DEFAULT_API_BASE_URL = "https://api.cloudflare.com/client/v4"
FAMILY = "cfops-test-"                       # every run's prefix starts so: leftovers of other runs are not foreign
RUN_PREFIX = re.compile(r"^cfops-test-[0-9a-f]{8}-$")
REQUIRED_ENV = ("CFOPS_LIVE_API_TOKEN", "CFOPS_LIVE_ACCOUNT_ID", "CFOPS_LIVE_ZONE")
GUARDED = ("workers", "kv_namespaces", "d1_databases", "r2_buckets", "queues", "dns_records")
_OPENER = urllib.request.build_opener()                                        # the environment's proxies apply
_LOCAL_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never for 127.0.0.1

try:  # in pytest, an emulator-only step is reported as a skip with its reason
    import pytest
    _SkipBase = pytest.skip.Exception
except ImportError:  # pragma: no cover - scripts without pytest
    _SkipBase = RuntimeError


class TargetError(RuntimeError):
    pass


class EmulatorOnly(_SkipBase):
    """Raised by emulator-only steps (call counts, faults, state reset) in live mode; pytest shows it as a skip."""

    def __init__(self, what):
        message = "emulator-only: %s (live mode has no admin API)" % what
        if _SkipBase is RuntimeError:
            super().__init__(message)
        else:
            super().__init__(msg=message, pytrace=False)


def dns_owner(name):
    """The name a DNS record belongs to: its leading underscore labels dropped (``_sip._tcp.<prefix>srv.<zone>``
    belongs to ``<prefix>srv.<zone>``), since Cloudflare wants SRV names to start ``_service._proto``."""
    labels = str(name).lower().split(".")
    while len(labels) > 1 and labels[0].startswith("_"):
        labels.pop(0)
    return ".".join(labels)


def new_run_prefix():
    return "%s%s-" % (FAMILY, secrets.token_hex(4))


class CloudflareTarget:
    def __init__(self, base_url, token, account_id, zone, run_prefix=None, emulator=None, allow_foreign=False,
                 timeout=30):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.account_id = account_id
        self.zone = zone.strip().lower().rstrip(".")
        self.run_prefix = run_prefix or new_run_prefix()
        if not RUN_PREFIX.match(self.run_prefix):
            raise TargetError("run prefix %r is not cfops-test-<8 hex>-" % self.run_prefix)
        self.emulator = emulator  # an EmulatorProcess with its admin API, or None
        self.allow_foreign = allow_foreign
        self.timeout = timeout
        self._zone_id = None

    # Construction ----------------------------------------------------------------------------------------

    @classmethod
    def from_env(cls, environ=None):
        """Live mode from CFOPS_LIVE_API_TOKEN, CFOPS_LIVE_ACCOUNT_ID, CFOPS_LIVE_ZONE (and _API_BASE_URL, _RUN_PREFIX)."""
        environ = os.environ if environ is None else environ
        missing = [name for name in REQUIRED_ENV if not environ.get(name)]
        if missing:
            raise TargetError("live mode needs %s (see docs/dev/live-mode.md)" % ", ".join(missing))
        return cls(environ.get("CFOPS_LIVE_API_BASE_URL") or DEFAULT_API_BASE_URL, environ["CFOPS_LIVE_API_TOKEN"],
                   environ["CFOPS_LIVE_ACCOUNT_ID"], environ["CFOPS_LIVE_ZONE"],
                   run_prefix=environ.get("CFOPS_LIVE_RUN_PREFIX") or None,
                   allow_foreign=environ.get("CFOPS_LIVE_ALLOW_FOREIGN") == "1")

    @classmethod
    def from_emulator(cls, emulator, zone="example.com", run_prefix=None):
        return cls(emulator.base_url, emulator.token, emulator.account_id, zone, run_prefix=run_prefix,
                   emulator=emulator if emulator.admin_enabled else None, allow_foreign=False)

    @property
    def is_emulator(self):
        """True only with the emulator's admin API at hand; an emulator started --no-admin is a live target."""
        return self.emulator is not None

    def __repr__(self):
        return "CloudflareTarget(%s, account %s, zone %s, prefix %s%s)" % (
            self.base_url, self.account_id, self.zone, self.run_prefix, ", emulator" if self.is_emulator else "")

    # Names -----------------------------------------------------------------------------------------------

    def name(self, suffix):
        """``<run prefix><suffix>``: the name of an object this run makes (and cleans up)."""
        return self.run_prefix + suffix

    def hostname(self, label):
        """A DNS name in the test zone that this run owns: ``<run prefix><label>.<zone>``."""
        return "%s%s.%s" % (self.run_prefix, label, self.zone)

    def owns(self, name):
        return isinstance(name, str) and name.lower().startswith(self.run_prefix)

    # The API -----------------------------------------------------------------------------------------------

    def api(self, method, path, params=None, json=None):
        """One call; the decoded envelope. A failure raises TargetError with Cloudflare's errors."""
        url = self.base_url + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = jsonlib.dumps(json).encode("utf-8") if json is not None else None
        headers = {"Authorization": "Bearer " + self.token, "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        opener = _LOCAL_OPENER if urllib.parse.urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1") else _OPENER
        try:
            with opener.open(request, timeout=self.timeout) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            raw, status = exc.read(), exc.code
        except urllib.error.URLError as exc:
            raise TargetError("%s %s: %s" % (method, path, exc.reason))
        try:
            document = jsonlib.loads(raw) if raw else {"success": 200 <= status < 300, "result": None}
        except ValueError:
            raise TargetError("%s %s answered HTTP %d, not JSON: %r" % (method, path, status, raw[:200]))
        if not 200 <= status < 300 or document.get("success") is False:
            errors = "; ".join("[%s] %s" % (e.get("code"), e.get("message")) for e in document.get("errors") or [])
            raise TargetError("%s %s failed with HTTP %d: %s" % (method, path, status, errors or raw[:200]))
        return document

    def _pages(self, path, per_page, params=None):
        page = 1
        while True:
            document = self.api("GET", path, params=dict(params or {}, page=page, per_page=per_page))
            items = document.get("result") or []
            yield from items
            info = document.get("result_info") or {}
            if not items or page >= (info.get("total_pages") or 1):
                return
            page += 1

    @property
    def zone_id(self):
        if self._zone_id is None:
            zones = self.api("GET", "/zones", params={"name": self.zone, "account.id": self.account_id})["result"] or []
            match = [z for z in zones if z.get("name") == self.zone]
            if not match:
                raise TargetError("the test zone %s is not in account %s (CFOPS_LIVE_ZONE)" % (self.zone, self.account_id))
            self._zone_id = match[0]["id"]
        return self._zone_id

    # Emulator-only steps ------------------------------------------------------------------------------------

    def require_emulator(self, what):
        """Raise EmulatorOnly (a pytest skip) unless the emulator's admin API is at hand."""
        if not self.is_emulator:
            raise EmulatorOnly(what)
        return self.emulator

    def calls(self):
        return self.require_emulator("call counts (GET /__emulator/calls)").calls()

    def reset_calls(self):
        return self.require_emulator("resetting call counts").reset_calls()

    def inject_fault(self, **fault):
        return self.require_emulator("fault injection").inject_fault(**fault)

    def clear_faults(self):
        return self.require_emulator("fault injection").clear_faults()

    # Inventory, guard, cleanup ---------------------------------------------------------------------------------

    def _account(self, rest):
        return "/accounts/%s%s" % (urllib.parse.quote(self.account_id, safe=""), rest)

    def inventory(self):
        """``{kind: [(name, id)]}`` of the guarded kinds: every Worker, KV namespace, D1 database, R2 bucket,
        queue of the account and every DNS record of the test zone."""
        found = {kind: [] for kind in GUARDED}
        found["workers"] = [(s["id"], s["id"]) for s in self.api("GET", self._account("/workers/scripts"))["result"] or []]
        found["kv_namespaces"] = [(n["title"], n["id"]) for n in self._pages(self._account("/storage/kv/namespaces"), 100)]
        found["d1_databases"] = [(d["name"], d["uuid"]) for d in self._pages(self._account("/d1/database"), 100)]
        found["r2_buckets"] = [(b["name"], b["name"]) for b in self._r2_buckets()]
        found["queues"] = [(q["queue_name"], q["queue_id"]) for q in self.api("GET", self._account("/queues"))["result"] or []]
        found["dns_records"] = [(r["name"], r["id"]) for r in self._pages("/zones/%s/dns_records" % self.zone_id, 5000)]
        return found

    def r2_buckets(self):
        """Every R2 bucket of the account (``{"name": ...}`` dicts)."""
        return list(self._r2_buckets())

    def _r2_buckets(self):
        cursor = None
        while True:
            params = {"per_page": 1000}
            if cursor:
                params["cursor"] = cursor
            document = self.api("GET", self._account("/r2/buckets"), params=params)
            yield from (document.get("result") or {}).get("buckets") or []
            cursor = (document.get("result_info") or {}).get("cursor")
            if not cursor:
                return

    def foreign(self, inventory=None):
        """``{kind: [names]}`` of objects not named ``cfops-test-...`` (none of any run of this suite)."""
        inventory = self.inventory() if inventory is None else inventory
        found = {}
        for kind, items in inventory.items():
            names = sorted(name for name, _id in items
                           if not (dns_owner(name) if kind == "dns_records" else str(name).lower()).startswith(FAMILY))
            if names:
                found[kind] = names
        return found

    def check_account(self):
        """Refuse (TargetError) an account holding objects outside the prefix, unless allow_foreign."""
        foreign = self.foreign()
        if foreign and not self.allow_foreign:
            listed = "; ".join("%s: %s%s" % (kind, ", ".join(names[:5]), " (+%d more)" % (len(names) - 5) if len(names) > 5 else "")
                               for kind, names in sorted(foreign.items()))
            raise TargetError(
                "refusing to run: account %s (zone %s) holds objects this suite did not make (%s). Live mode wants a "
                "sandbox account and zone; set CFOPS_LIVE_ALLOW_FOREIGN=1 to run beside them (only objects named %s... "
                "are ever changed or deleted)." % (self.account_id, self.zone, listed, FAMILY))
        return foreign

    def cleanup(self):
        """Delete every object named with the run prefix; ``{kind: [names deleted]}``. Tries everything, then
        raises TargetError naming what could not be deleted."""
        deleted, failures = {}, []

        def attempt(kind, name, method, path, params=None):
            try:
                self.api(method, path, params=params)
                deleted.setdefault(kind, []).append(name)
            except TargetError as exc:
                failures.append("%s %s: %s" % (kind, name, exc))

        steps = [self._cleanup_dns, self._cleanup_healthchecks, self._cleanup_rules, self._cleanup_routes,
                 self._cleanup_custom_domains, self._cleanup_queues, self._cleanup_workers, self._cleanup_kv,
                 self._cleanup_d1, self._cleanup_r2]
        for step in steps:
            try:
                step(attempt)
            except TargetError as exc:  # listing failed: go on with the other kinds
                failures.append("%s: %s" % (step.__name__[len("_cleanup_"):], exc))
        if failures:
            raise TargetError("cleanup of %s left objects behind:\n  %s" % (self.run_prefix, "\n  ".join(failures)))
        return deleted

    def _cleanup_dns(self, attempt):
        for record in list(self._pages("/zones/%s/dns_records" % self.zone_id, 5000)):
            if self.owns(dns_owner(record["name"])):
                attempt("dns_records", record["name"], "DELETE", "/zones/%s/dns_records/%s" % (self.zone_id, record["id"]))

    def _cleanup_healthchecks(self, attempt):
        for check in list(self._pages("/zones/%s/healthchecks" % self.zone_id, 100)):
            if self.owns(check.get("name")):
                attempt("healthchecks", check["name"], "DELETE", "/zones/%s/healthchecks/%s" % (self.zone_id, check["id"]))

    def _cleanup_rules(self, attempt):
        # Rules of the test zone's phase entrypoints whose ref is prefixed; each goes alone, so other rules stay.
        for ruleset in self.api("GET", "/zones/%s/rulesets" % self.zone_id)["result"] or []:
            if ruleset.get("kind") != "zone":
                continue
            path = "/zones/%s/rulesets/%s" % (self.zone_id, ruleset["id"])
            for rule in self.api("GET", path)["result"].get("rules") or []:
                if self.owns(rule.get("ref")):
                    attempt("ruleset_rules", rule["ref"], "DELETE", path + "/rules/%s" % rule["id"])

    def _cleanup_routes(self, attempt):
        for route in self.api("GET", "/zones/%s/workers/routes" % self.zone_id)["result"] or []:
            if self.owns(route.get("script")) or self.run_prefix in (route.get("pattern") or ""):
                attempt("worker_routes", route["pattern"], "DELETE", "/zones/%s/workers/routes/%s" % (self.zone_id, route["id"]))

    def _cleanup_custom_domains(self, attempt):
        for domain in self.api("GET", self._account("/workers/domains"))["result"] or []:
            if self.owns(domain.get("service")) or self.owns(domain.get("hostname")):
                attempt("worker_custom_domains", domain["hostname"], "DELETE", self._account("/workers/domains/%s" % domain["id"]))

    def _cleanup_queues(self, attempt):
        for queue in self.api("GET", self._account("/queues"))["result"] or []:
            if not self.owns(queue.get("queue_name")):
                continue
            base = self._account("/queues/%s" % queue["queue_id"])
            for consumer in self.api("GET", base + "/consumers")["result"] or []:
                attempt("queue_consumers", consumer.get("consumer_id"), "DELETE", base + "/consumers/%s" % consumer["consumer_id"])
            attempt("queues", queue["queue_name"], "DELETE", base)

    def _cleanup_workers(self, attempt):
        for script in self.api("GET", self._account("/workers/scripts"))["result"] or []:
            if self.owns(script["id"]):
                attempt("workers", script["id"], "DELETE", self._account("/workers/scripts/%s" % script["id"]),
                        params={"force": "true"})

    def _cleanup_kv(self, attempt):
        for namespace in list(self._pages(self._account("/storage/kv/namespaces"), 100)):
            if self.owns(namespace["title"]):
                attempt("kv_namespaces", namespace["title"], "DELETE", self._account("/storage/kv/namespaces/%s" % namespace["id"]))

    def _cleanup_d1(self, attempt):
        for database in list(self._pages(self._account("/d1/database"), 100)):
            if self.owns(database["name"]):
                attempt("d1_databases", database["name"], "DELETE", self._account("/d1/database/%s" % database["uuid"]))

    def _cleanup_r2(self, attempt):
        for bucket in list(self._r2_buckets()):
            if self.owns(bucket["name"]):
                # A bucket with objects is refused; the R2 tests empty theirs (objects need the S3 API).
                attempt("r2_buckets", bucket["name"], "DELETE", self._account("/r2/buckets/%s" % bucket["name"]))

    # Context manager ----------------------------------------------------------------------------------------

    def __enter__(self):
        self.check_account()
        return self

    def __exit__(self, *exc_info):
        self.cleanup()


def live_requested(environ=None):
    """True when the CFOPS_LIVE_* variables name an account (scripts/test.sh live exports them)."""
    environ = os.environ if environ is None else environ
    return bool(environ.get("CFOPS_LIVE_API_TOKEN"))


@contextlib.contextmanager
def live_or_emulator(emulator_factory):
    """The target of a live-capable end-to-end test: the account of CFOPS_LIVE_* in live mode (checked for foreign
    objects first), else ``CloudflareTarget.from_emulator(emulator_factory())`` (a shared emulator may hold other
    tests' objects, so it is not checked). Either way the objects named with the run prefix are deleted at the end.
    ``emulator_factory`` is called only off live mode, so live mode starts no emulator."""
    if live_requested():
        target = CloudflareTarget.from_env()
        target.check_account()
    else:
        target = CloudflareTarget.from_emulator(emulator_factory())
    try:
        yield target
    finally:
        target.cleanup()


def main(argv=None):
    """``check``: refuse a foreign account; ``cleanup``: delete this run's objects; ``inventory``: list."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] not in ("check", "cleanup", "inventory"):
        print("usage: python -m tests.support.target check|cleanup|inventory", file=sys.stderr)
        return 2
    try:
        target = CloudflareTarget.from_env()
        if argv[0] == "check":
            foreign = target.check_account()
            print("live: %r%s" % (target, "; running beside foreign objects: %s" % foreign if foreign else ""))
        elif argv[0] == "cleanup":
            deleted = target.cleanup()
            print("live: cleanup of %s deleted %s" % (target.run_prefix, deleted or "nothing"))
        else:
            print(jsonlib.dumps({kind: [name for name, _id in items] for kind, items in target.inventory().items()}, indent=1))
    except TargetError as exc:
        print("live: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
