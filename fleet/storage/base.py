"""The connection and transaction core every storage module builds on."""
import contextlib
import json
import sqlite3

import sqlite_utils


_INSERTS = {}


class StorageError(Exception):
    """A storage operation failed."""


class Conflict(StorageError):
    """The record already exists."""


class NotFound(StorageError):
    """No such record."""


def connect(path):
    """Open a SQLite connection tuned for the fleet: WAL, foreign keys, a busy timeout."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def dumps(value):
    """Compact JSON for a TEXT column."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def loads(text):
    """The value of a JSON TEXT column (None stays None)."""
    return None if text is None else json.loads(text)


class BaseStore:
    """Holds one connection; every public method of the Store runs in a transaction.

    Store(path_or_conn, tracer=None): a file path, ":memory:", or an open
    sqlite3 connection; tracer(sql, params) sees every query.
    """

    def __init__(self, path_or_conn, tracer=None):
        if isinstance(path_or_conn, sqlite3.Connection):
            self.conn = path_or_conn
        else:
            self.conn = connect(str(path_or_conn))
        self.db = sqlite_utils.Database(self.conn, tracer=tracer)
        self._depth = 0

    def close(self):
        """Close the connection."""
        self.conn.close()

    @contextlib.contextmanager
    def transaction(self):
        """All writes inside commit together or not at all; nests by savepoints."""
        name = "sp%d" % self._depth
        if self._depth == 0:
            self.conn.execute("BEGIN IMMEDIATE")
        else:
            self.conn.execute("SAVEPOINT " + name)
        self._depth += 1
        try:
            yield self
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                self.conn.execute("ROLLBACK")
            else:
                self.conn.execute("ROLLBACK TO " + name)
                self.conn.execute("RELEASE " + name)
            raise
        self._depth -= 1
        self.conn.execute("COMMIT" if self._depth == 0 else "RELEASE " + name)

    def _all(self, sql, params=()):
        return [dict(r) for r in self.db.execute(sql, params).fetchall()]

    def _one(self, sql, params=()):
        row = self.db.execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def _scalar(self, sql, params=()):
        row = self.db.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def _run(self, sql, params=()):
        return self.db.execute(sql, params)

    def _insert(self, table, row):
        # A plain INSERT of one row (the hot path of ingest); returns its rowid.
        # Table and column names come from this package's code, never from input.
        keys = tuple(row)
        sql = _INSERTS.get((table, keys))
        if sql is None:
            sql = _INSERTS[(table, keys)] = "INSERT INTO %s (%s) VALUES (%s)" % (
                table, ", ".join(keys), ", ".join("?" * len(keys)))
        return self.db.execute(sql, [row[k] for k in keys]).lastrowid
