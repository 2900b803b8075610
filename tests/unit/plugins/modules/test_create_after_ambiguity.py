"""A create whose first attempt timed out but was applied later: the retry answers "already exists",
which means found (re-read, converge), never a failure and never a duplicate.

The scripted server (a real HTTP server) plays Cloudflare: the first POST is held past the client's timeout
and applied only when the second POST arrives, so the lookup between them finds nothing and the resend
meets the object the first attempt made. Each resource answers the resend with its own "already exists"
code: D1 7502 (wrangler d1/create.ts), KV 10014 (wrangler kv/index.ts), queues 11009 and R2 10004 (the
emulator's codes, assumptions in emulator/fidelity/{queues,r2}.yml), and, since the codes are not all
documented, a 409 with a code nobody knows."""
import pytest

from ansible_collections.cfops.cloudflare.plugins.modules import d1_database, kv_namespace, queue, r2_bucket
from ansible_collections.cfops.cloudflare.tests.unit.plugins.modules.module_runner import ACCOUNT_ID, run_module, writes
from ansible_collections.cfops.cloudflare.tests.unit.scripted_server import Reply, envelope, failure

BASE = "/client/v4/accounts/%s" % ACCOUNT_ID
KINDS = {
    "d1": (d1_database.main, dict(name="books"), BASE + "/d1/database",
           {"uuid": "5e1f2a3b-4c5d-6e7f-8091-a2b3c4d5e6f7", "name": "books", "version": "production"},
           (400, 7502, "A database with that name already exists")),
    "kv": (kv_namespace.main, dict(title="cache"), BASE + "/storage/kv/namespaces",
           {"id": "0f2ac74b498b48028cb68387c421e279", "title": "cache"},
           (400, 10014, "a namespace with this account ID and title already exists")),
    "queue": (queue.main, dict(name="jobs"), BASE + "/queues",
              {"queue_id": "9a7806061c88ada191ed06f989cc3dac", "queue_name": "jobs", "consumers": [], "producers": [],
               "settings": {"delivery_delay": 0}},
              (409, 11009, "A queue with name jobs already exists")),
    "r2": (r2_bucket.main, dict(name="assets"), BASE + "/r2/buckets",
           {"name": "assets", "creation_date": "2025-01-15T10:00:00Z", "location": "WNAM", "storage_class": "Standard"},
           (409, 10004, "The bucket you tried to create already exists, and you own it.")),
}


class LateCreate:
    """Holds the first POST past the timeout; the object appears when the second POST arrives."""

    def __init__(self, path, obj, duplicate):
        self.path, self.obj, self.duplicate = path, obj, duplicate
        self.posts = 0
        self.exists = False

    def listing(self):
        return [self.obj] if self.exists else []

    def __call__(self, request):
        if request.method == "POST" and request.path == self.path:
            self.posts += 1
            if self.posts == 1:
                return Reply(200, envelope(self.obj), action="hang", seconds=1.5)  # answered too late
            self.exists = True  # the first attempt is applied now, behind the client's back
            status, code, message = self.duplicate
            return failure(status, (code, message))
        if request.method == "GET" and request.path == self.path:
            return Reply(200, envelope(self.listing(), {"page": 1, "per_page": 100, "count": len(self.listing()),
                                                        "total_count": len(self.listing()), "total_pages": 1}))
        if request.method == "GET" and request.path == self.path + "/" + self.obj.get("name", ""):
            return Reply(200, envelope(self.obj)) if self.exists else failure(404, (10006, "The specified bucket does not exist."))
        return failure(404, (7003, "No route for that URI"))


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("unknown_code", [False, True], ids=["cloudflares-code", "any-4xx"])
def test_already_exists_after_an_ambiguous_create_is_found(server, capsys, kind, unknown_code):
    main, args, path, obj, duplicate = KINDS[kind]
    if unknown_code:
        duplicate = (409, 99999, "conflict")
    api = LateCreate(path, obj, duplicate)
    server.handler = api
    failed, result = run_module(main, capsys, server, api_max_retries=3, api_timeout=0.4, **args)
    assert not failed, result["msg"]
    assert result["changed"] is True
    assert api.posts == 2 and len(writes(server)) == 2     # the resend, then found: no third create
    failed, again = run_module(main, capsys, server, **args)
    assert not failed and again["changed"] is False and len(writes(server)) == 2


def test_a_refusal_after_an_ambiguous_create_stays_a_failure_when_nothing_was_made(server, capsys):
    main, args, path, obj, _duplicate = KINDS["d1"]
    api = LateCreate(path, obj, (400, 7500, "Invalid database name"))
    listing = api.__call__

    def handler(request):
        response = listing(request)
        api.exists = False  # the first attempt never lands: the lookup keeps finding nothing
        return response

    server.handler = handler
    failed, result = run_module(main, capsys, server, api_max_retries=3, api_timeout=0.4, **args)
    assert failed and "[7500] Invalid database name" in result["msg"], result
    assert api.posts == 2
