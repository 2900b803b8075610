"""SQLite state in DIR/state.sqlite3: WAL, one connection per thread, schema from each product area.

Accounts and tokens live here because authentication needs them for every route; each product area
(``emulator/api/*.py``) brings its own tables.
"""
import contextlib
import datetime
import os
import secrets
import sqlite3
import threading

CORE_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_on TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY,
    id TEXT NOT NULL,
    account_id TEXT REFERENCES accounts(id),  -- NULL: every account
    created_on TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT 'user'        -- 'user' (a user's API token) or 'account' (an account API token)
);
"""
TOKEN_OWNERS = ("user", "account")


def now_iso():
    """Cloudflare's timestamp format, e.g. 2024-08-06T22:28:30.123456Z."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_id():
    """A 32-hex identifier, the shape Cloudflare uses for accounts, namespaces and tokens."""
    return secrets.token_hex(16)


class Store:
    def __init__(self, data_dir, schemas=(), resource_tables=()):
        os.makedirs(data_dir, exist_ok=True)
        self.path = os.path.join(data_dir, "state.sqlite3")
        self._resource_tables = list(resource_tables)
        self._local = threading.local()
        connection = self.connection()
        connection.execute("PRAGMA journal_mode=WAL")
        connection.executescript(CORE_SCHEMA + "".join(schemas))
        self._add_missing_columns(connection)

    @staticmethod
    def _add_missing_columns(connection):
        """Columns added after a data directory was made (``CREATE TABLE IF NOT EXISTS`` keeps old tables)."""
        columns = {row["name"] for row in connection.execute("PRAGMA table_info(tokens)")}
        if "owner" not in columns:
            connection.execute("ALTER TABLE tokens ADD COLUMN owner TEXT NOT NULL DEFAULT 'user'")

    def connection(self):
        connection = getattr(self._local, "connection", None)
        if connection is None:
            # Autocommit mode: transactions are explicit (BEGIN IMMEDIATE for writes), so two threads
            # never deadlock upgrading a read lock to a write lock.
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA foreign_keys=ON")
            self._local.connection = connection
        return connection

    @contextlib.contextmanager
    def _transaction(self, begin):
        connection = self.connection()
        connection.execute(begin)
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def read(self):
        """A consistent snapshot for reads."""
        return self._transaction("BEGIN")

    def write(self):
        """A write transaction; committed when the block ends, rolled back on an exception."""
        return self._transaction("BEGIN IMMEDIATE")

    def close(self):
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    # Accounts and tokens -------------------------------------------------------------------------

    def ensure_account(self, account_id, name):
        with self.write() as db:
            db.execute("INSERT INTO accounts (id, name, created_on) VALUES (?, ?, ?) "
                       "ON CONFLICT(id) DO UPDATE SET name = excluded.name", (account_id, name, now_iso()))
            return dict(db.execute("SELECT * FROM accounts WHERE id = ?", (account_id,)).fetchone())

    def ensure_token(self, token, account_id=None, owner="user"):
        """Create or update a token: ``owner`` 'user' (limited to ``account_id``, or every account when None)
        or 'account' (an account API token, owned by ``account_id``)."""
        if owner not in TOKEN_OWNERS or (owner == "account" and account_id is None):
            raise ValueError("owner must be 'user' or 'account' (an account token needs its account_id)")
        with self.write() as db:
            row = db.execute("SELECT id FROM tokens WHERE token = ?", (token,)).fetchone()
            token_id = row["id"] if row else new_id()
            db.execute("INSERT INTO tokens (token, id, account_id, created_on, owner) VALUES (?, ?, ?, ?, ?) "
                       "ON CONFLICT(token) DO UPDATE SET account_id = excluded.account_id, owner = excluded.owner",
                       (token, token_id, account_id, now_iso(), owner))
            return dict(db.execute("SELECT id, account_id, owner, created_on FROM tokens WHERE token = ?", (token,)).fetchone())

    def find_token(self, token):
        row = self.connection().execute("SELECT * FROM tokens WHERE token = ?", (token,)).fetchone()
        return dict(row) if row else None

    def account_exists(self, account_id):
        return self.connection().execute("SELECT 1 FROM accounts WHERE id = ?", (account_id,)).fetchone() is not None

    def reset_resources(self):
        """Delete every resource (scripts, KV, ...) but keep accounts and tokens."""
        with self.write() as db:
            for table in self._resource_tables:
                db.execute("DELETE FROM %s" % table)
