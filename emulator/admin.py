"""The admin API under /__emulator/ (JSON in, JSON out, not counted).

Every call but ``GET /__emulator/health`` needs the emulator's admin token, ``Authorization: Bearer <token>``
(or HTTP Basic with the token as the password): the admin API mints unrestricted tokens, serves every R2
secret key and wipes state, so a process that can reach the port (a Worker under test, another user of a
shared machine, the network with ``--host 0.0.0.0``) must not be able to call it. The token is generated
once per data directory and kept in ``<data-dir>/admin-token`` (mode 0600): the tools that start the
emulator (tests/support/emulator.py, scripts/emulator.sh) read it there.
"""
import base64
import binascii
import hmac
import json
import os
import secrets

from emulator import hooks
from emulator.envelope import json_response
from emulator.faults import FaultSpecError
from emulator.s3_auth import credentials as r2_credentials
from emulator.store import TOKEN_OWNERS, new_id

PREFIX = "/__emulator"
TOKEN_FILE = "admin-token"
OPEN_PATHS = frozenset(("/health",))  # a readiness probe that tells nothing


def ensure_admin_token(data_dir):
    """The data directory's admin token: read from ``admin-token``, or generated and written there (0600)."""
    path = os.path.join(data_dir, TOKEN_FILE)
    try:
        with open(path, encoding="ascii") as handle:
            token = handle.read().strip()
    except (FileNotFoundError, UnicodeDecodeError):
        token = ""
    if len(token) < 32:
        token = secrets.token_urlsafe(32)
        scratch = "%s.%d.tmp" % (path, os.getpid())
        descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(token + "\n")
        os.replace(scratch, path)
    os.chmod(path, 0o600)  # also a file left readable by an older emulator or a copy
    return token


def presented_token(headers):
    """The credential of an ``Authorization: Bearer <t>`` or ``Basic base64(<any>:<t>)`` header, or ""."""
    scheme, _space, value = (headers.get("Authorization") or "").strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.partition(":")[2]
    return ""


def authorized(expected, headers):
    given = presented_token(headers)
    return bool(expected) and bool(given) and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def unauthorized(path):
    return json_response(401, {"error": "%s%s needs the emulator's admin token: send Authorization: Bearer <token>, the "
                                        "token being in <data-dir>/%s (tests/support/emulator.py and "
                                        "scripts/emulator.sh read it there)" % (PREFIX, path, TOKEN_FILE)},
                         headers={"WWW-Authenticate": 'Bearer realm="cfops emulator admin", Basic realm="cfops emulator admin"'})


class AdminError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _body(raw):
    if not raw.strip():
        return {}
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise AdminError(400, "the body is not JSON: %s" % exc)
    if not isinstance(document, dict):
        raise AdminError(400, "the body must be a JSON object")
    return document


def health(state, body):
    return {"ok": True}


def calls(state, body):
    return state.calls.snapshot()


def reset_calls(state, body):
    state.calls.reset()
    return {"ok": True}


def add_fault(state, body):
    try:
        fault = state.faults.add(body)
    except FaultSpecError as exc:
        raise AdminError(400, str(exc))
    return {"id": fault.id}


def list_faults(state, body):
    return {"faults": state.faults.active()}


def clear_faults(state, body):
    state.faults.clear()
    return {"ok": True}


def add_account(state, body):
    account_id = body.get("id") or new_id()
    if not isinstance(account_id, str) or len(account_id) > 32:
        raise AdminError(400, "id must be a string of at most 32 characters")
    name = body.get("name") or "account %s" % account_id
    account = state.store.ensure_account(account_id, name)
    return {"id": account["id"], "name": account["name"]}


def add_token(state, body):
    """``{token, account_id, owner}``: owner ``user`` (default; limited to account_id, or every account when
    it is null) or ``account`` (an account API token of account_id)."""
    token = body.get("token")
    if not isinstance(token, str) or not token.strip() or " " in token:
        raise AdminError(400, "token must be a non-empty string without spaces")
    account_id = body.get("account_id")
    if account_id is not None and not state.store.account_exists(account_id):
        raise AdminError(400, "account %r does not exist; create it with POST /__emulator/accounts" % account_id)
    owner = body.get("owner") or "user"
    if owner not in TOKEN_OWNERS:
        raise AdminError(400, "owner must be one of %s, got %r" % (", ".join(TOKEN_OWNERS), owner))
    if owner == "account" and account_id is None:
        raise AdminError(400, "an account-owned token needs account_id (the account that owns it)")
    row = state.store.ensure_token(token, account_id, owner)
    return {"id": row["id"], "account_id": row["account_id"], "owner": row["owner"]}


def r2_keys(state, body):
    """The S3 key pair of every token (R2's derivation: token id, sha256 of the token)."""
    return {"credentials": r2_credentials(state.store)}


def reset_state(state, body):
    state.store.reset_resources()
    hooks.publish("deployments")  # the edge runtime stops serving the deleted scripts
    return {"ok": True}


ROUTES = {
    ("GET", "/health"): health,
    ("GET", "/calls"): calls,
    ("POST", "/calls/reset"): reset_calls,
    ("POST", "/faults"): add_fault,
    ("GET", "/faults"): list_faults,
    ("DELETE", "/faults"): clear_faults,
    ("POST", "/accounts"): add_account,
    ("POST", "/tokens"): add_token,
    ("POST", "/state/reset"): reset_state,
    ("GET", "/r2/credentials"): r2_keys,
}


def handle(state, method, path, raw_body, headers=None):
    """The admin response for ``path`` (below /__emulator); ``headers`` must carry the admin token."""
    if (path.rstrip("/") or "/") not in OPEN_PATHS and not authorized(getattr(state, "admin_token", None), headers or {}):
        return unauthorized(path)
    handler = ROUTES.get((method, path.rstrip("/") or "/"))
    if handler is None:
        known = sorted({known_path for _method, known_path in ROUTES})
        status = 405 if path in known else 404
        return json_response(status, {"error": "no admin call %s %s%s" % (method, PREFIX, path), "calls": known})
    try:
        return json_response(200, handler(state, _body(raw_body)))
    except AdminError as exc:
        return json_response(exc.status, {"error": str(exc)})
