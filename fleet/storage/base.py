"""The connection and transaction core every storage module builds on."""
import contextlib
import fcntl
import json
import os
import sqlite3
import threading

import sqlite_utils


_INSERTS = {}
_GATES = {}
_GATES_LOCK = threading.Lock()
_GROUPS = {}


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


class WriteGate:
    """One queue for the writers of one database file, across threads and processes.

    SQLite's busy handler makes a writer that finds the database locked sleep and
    poll (1 ms, 2 ms, 5 ms, ...), so writers on several connections spend most of
    their time asleep while the lock is free. Writers that first pass this gate
    (a thread lock, then an flock on "<database>.lock" shared by every process)
    are woken as soon as the previous writer commits, and BEGIN IMMEDIATE then
    finds the database free. SQLite's own locking still guards correctness; the
    gate only orders the writers. Re-entrant within a thread.
    """

    def __init__(self, path):
        self._lock = threading.RLock()
        self._held = 0
        self._fd = None
        if path:
            try:
                self._fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:
                self._fd = None         # a read-only folder: the thread lock alone
        self._pid = os.getpid()

    def acquire(self):
        """Wait for this writer's turn."""
        self._lock.acquire()
        self._held += 1
        if self._held == 1 and self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._held -= 1
                self._lock.release()
                raise

    def release(self):
        """Let the next writer in."""
        self._held -= 1
        if self._held == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._lock.release()


def write_gate(path):
    """The process's WriteGate for a database file (None for ":memory:")."""
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    key = (os.getpid(), os.path.realpath(path))
    with _GATES_LOCK:
        gate = _GATES.get(key)
        if gate is None:
            # A forked worker opens its own lock file: an flock belongs to the open
            # file, which a fork would share with the parent.
            gate = _GATES[key] = WriteGate(key[1])
        return gate


class _Job:
    __slots__ = ("fn", "wake", "done", "result", "error")

    def __init__(self, fn):
        self.fn = fn
        self.wake = threading.Event()
        self.done = False
        self.result = None
        self.error = None


class GroupCommit:
    """Commits the writes of concurrent callers together (leader and followers).

    A caller that finds no transaction under way leads: it begins a transaction,
    takes the jobs queued by then (its own first), runs each in its own savepoint, commits,
    and only then wakes their callers with their results. Callers that arrive
    meanwhile queue up and are taken by the next transaction, which the leader
    runs too until its own job is done, then hands the lead to the oldest waiting
    caller. A job that raises rolls back its savepoint alone and its caller gets
    the exception; when the commit fails, every job of the transaction fails and
    nothing of it is written. No caller returns before its writes are committed.
    """

    def __init__(self, max_jobs=64):
        self.max_jobs = max_jobs
        self._lock = threading.Lock()
        self._queue = []
        self._leading = False
        self.transactions = 0           # counters, for tests and figures
        self.jobs = 0

    def run(self, store, fn):
        """fn(store) inside a transaction shared with concurrent callers; its return value
        once committed. fn must write through the store it is given (the leader's)."""
        job = _Job(fn)
        with self._lock:
            self._queue.append(job)
            if self._leading:
                lead = False
            else:
                self._leading = lead = True
        if not lead:
            job.wake.wait()
            lead = not job.done
        if lead:
            self._lead(store, job)
        if job.error is not None:
            raise job.error
        return job.result

    def _lead(self, store, own):
        try:
            while not own.done:
                self._commit(store)
        finally:
            with self._lock:
                if self._queue:
                    self._queue[0].wake.set()     # the oldest waiting caller leads next
                else:
                    self._leading = False

    def _take(self):
        with self._lock:
            batch = self._queue[:self.max_jobs]
            del self._queue[:self.max_jobs]
            return batch

    def _commit(self, store):
        # The batch is taken once the transaction has begun: the callers that queued while
        # the leader waited for the write gate (another process committing) join it.
        batch = []
        try:
            with store.transaction():
                batch = self._take()
                if len(batch) == 1:
                    # A job alone needs no savepoint of its own: when it fails, the
                    # transaction it rolls back is its own (the handler below).
                    batch[0].result = batch[0].fn(store)
                else:
                    self._run_each(store, batch)
        except BaseException as e:          # the commit (or a job alone) failed: nothing of the batch is written
            batch = batch or self._take()   # (or the transaction did not begin: fail the queued jobs)
            for job in batch:
                job.error, job.result = e, None
        self.transactions += 1
        self.jobs += len(batch)
        for job in batch:
            job.done = True
            job.wake.set()

    @staticmethod
    def _run_each(store, batch):
        for job in batch:
            if not store.conn.in_transaction:
                raise StorageError("the transaction ended early")
            try:
                with store.transaction():
                    job.result = job.fn(store)
            except Exception as e:
                job.error = e


def group_commit(path):
    """The process's GroupCommit for a database file."""
    key = (os.getpid(), os.path.realpath(path))
    with _GATES_LOCK:
        group = _GROUPS.get(key)
        if group is None:
            group = _GROUPS[key] = GroupCommit()
        return group


def _identity(path):
    # A database file as caches know it: its path and inode, so that a file made anew
    # at the same path (tests, a restore) never meets the old file's cached facts.
    if path == ":memory:" or path.startswith("file:"):
        return None
    try:
        st = os.stat(path)
        return os.path.realpath(path), st.st_dev, st.st_ino
    except OSError:
        return None


class BaseStore:
    """Holds one connection; every public method of the Store runs in a transaction.

    Store(path_or_conn, tracer=None): a file path, ":memory:", or an open
    sqlite3 connection; tracer(sql, params) sees every query.
    """

    def __init__(self, path_or_conn, tracer=None):
        self.identity = None        # the database file, for per-process caches (None: no cache)
        if isinstance(path_or_conn, sqlite3.Connection):
            self.conn = path_or_conn
            self._gate = None
            self._group = None
        else:
            self.conn = connect(str(path_or_conn))
            self._gate = write_gate(str(path_or_conn))
            self.identity = _identity(str(path_or_conn))
        self._group = None if self._gate is None else group_commit(str(path_or_conn))
        self.db = sqlite_utils.Database(self.conn, tracer=tracer)
        self._depth = 0

    def close(self):
        """Close the connection."""
        self.conn.close()

    def _begin(self):
        if self._gate is not None:
            self._gate.acquire()
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            if self._gate is not None:
                self._gate.release()
            raise

    def _end(self, sql):
        try:
            self.conn.execute(sql)
        finally:
            if self._gate is not None and not self.conn.in_transaction:
                self._gate.release()

    @contextlib.contextmanager
    def transaction(self):
        """All writes inside commit together or not at all; nests by savepoints.

        The outermost level passes the database's WriteGate before BEGIN IMMEDIATE
        and leaves it after COMMIT or ROLLBACK."""
        name = "sp%d" % self._depth
        if self._depth == 0:
            self._begin()
        else:
            self.conn.execute("SAVEPOINT " + name)
        self._depth += 1
        try:
            yield self
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                self._end("ROLLBACK")
            else:
                self.conn.execute("ROLLBACK TO " + name)
                self.conn.execute("RELEASE " + name)
            raise
        self._depth -= 1
        if self._depth == 0:
            try:
                self._end("COMMIT")
            except BaseException:
                if self.conn.in_transaction:    # a failed COMMIT (a deferred constraint) leaves it open
                    self._end("ROLLBACK")
                raise
        else:
            self.conn.execute("RELEASE " + name)

    def grouped(self, fn):
        """fn(store) in a transaction that may be shared with other threads of this process
        writing to the same database (group commit); returns fn's result once committed.

        fn may run on another thread, with that thread's Store: it must write through
        the store it is given and raise to undo its own writes (its savepoint is rolled
        back; the other callers' writes are not). Inside an open transaction, or for a
        Store on a given connection, it simply runs nested.
        """
        if self._group is None or self._depth:
            with self.transaction():
                return fn(self)
        return self._group.run(self, fn)

    def abort(self):
        """Roll back a transaction a failed request left open (and leave the write gate)."""
        if self._depth or self.conn.in_transaction:
            self._depth = 0
            self._end("ROLLBACK")

    def _all(self, sql, params=()):
        return [dict(r) for r in self.db.execute(sql, params).fetchall()]

    def _newest_first(self, table, where, params, before, limit):
        # One keyset page of a log table (audit, quarantine): rows matching
        # `where`, newest first, with ids below `before` when given.
        where, params = list(where), list(params)
        if before is not None:
            where.append("id < ?")
            params.append(before)
        params.append(limit)
        return self._all("SELECT * FROM %s WHERE %s ORDER BY id DESC LIMIT ?"
                         % (table, " AND ".join(where or ["1"])), params)

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

    def _insert_many(self, table, rows):
        # Plain INSERTs of rows that share their columns (the first row's), one statement.
        keys = tuple(rows[0])
        sql = _INSERTS.get((table, keys))
        if sql is None:
            sql = _INSERTS[(table, keys)] = "INSERT INTO %s (%s) VALUES (%s)" % (
                table, ", ".join(keys), ", ".join("?" * len(keys)))
        if self.db._tracer:
            self.db._tracer(sql, None)
        self.conn.executemany(sql, [[row[k] for k in keys] for row in rows])
