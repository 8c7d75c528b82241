"""Group commit and the write gate: concurrent writers share commits, each caller
answers only after its own writes are committed, and one caller's failure undoes
only its own writes."""
import sqlite3
import threading
import time

import pytest

from fleet.storage import Store
from fleet.storage.base import GroupCommit


@pytest.fixture
def path(tmp_path):
    p = str(tmp_path / "g.db")
    s = Store(p)
    s.conn.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, who TEXT)")
    s.conn.execute("CREATE TABLE child (n INTEGER REFERENCES t (n))")
    s.close()
    return p


def _count(path, sql="SELECT COUNT(*) FROM t"):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def _wait_for(condition):
    deadline = time.time() + 30
    while not condition():
        assert time.time() < deadline, "gave up waiting"
        time.sleep(0.005)


def _insert(n):
    def fn(store):
        store._run("INSERT INTO t (n, who) VALUES (?, ?)", (n, threading.current_thread().name))
        return n
    return fn


def _run_concurrently(path, group, leader_fn, follower_fns):
    """The leader's job runs first and holds its transaction open until every follower is
    queued; returns {index: result or exception} (index 0: the leader)."""
    results = {}
    started, release = threading.Event(), threading.Event()

    def leader_job(store):
        out = leader_fn(store)
        started.set()
        release.wait(30)
        return out

    def call(i, fn):
        store = Store(path)
        store._group = group
        try:
            results[i] = store.grouped(fn)
        except Exception as e:      # noqa: BLE001 (the test looks at it)
            results[i] = e
        finally:
            store.close()
    threads = [threading.Thread(target=call, args=(0, leader_job))]
    threads[0].start()
    assert started.wait(30)                     # the leader's transaction is under way
    for i, fn in enumerate(follower_fns, 1):
        threads.append(threading.Thread(target=call, args=(i, fn)))
        threads[-1].start()
    _wait_for(lambda: len(group._queue) == len(follower_fns))
    release.set()
    for t in threads:
        t.join(30)
    return results


def test_queued_callers_share_one_commit(path):
    group = GroupCommit()
    results = _run_concurrently(path, group, _insert(0), [_insert(n) for n in range(1, 6)])
    assert results == {n: n for n in range(6)}
    assert (group.transactions, group.jobs) == (2, 6)           # the leader's own, then the five together
    assert _count(path) == 6


def test_a_failing_caller_undoes_only_its_own_writes(path):
    def fails(store):
        store._run("INSERT INTO t (n, who) VALUES (100, 'x')")
        raise ValueError("bad event")
    group = GroupCommit()
    results = _run_concurrently(path, group, _insert(0), [_insert(1), fails, _insert(2)])
    assert isinstance(results[2], ValueError)
    assert (results[0], results[1], results[3]) == (0, 1, 2)
    assert _count(path) == 3 and _count(path, "SELECT COUNT(*) FROM t WHERE n = 100") == 0


def test_a_failed_commit_fails_every_caller_and_writes_nothing(path):
    def dangling(store):
        # A deferred foreign key: the statement passes, the COMMIT fails.
        store._run("PRAGMA defer_foreign_keys = ON")
        store._run("INSERT INTO child (n) VALUES (999)")
    group = GroupCommit()
    results = _run_concurrently(path, group, _insert(0), [_insert(1), dangling, _insert(2)])
    assert results[0] == 0
    assert all(isinstance(results[i], sqlite3.IntegrityError) for i in (1, 2, 3))
    assert _count(path) == 1 and _count(path, "SELECT COUNT(*) FROM child") == 0
    s = Store(path)                                     # the write gate was left: others can write
    with s.transaction():
        s._run("INSERT INTO t (n) VALUES (50)")
    s.close()


def test_a_caller_returns_after_its_commit(path):
    seen = []

    def check(store):
        store._run("INSERT INTO t (n) VALUES (7)")
    s = Store(path)
    s.grouped(check)
    seen.append(_count(path))                           # another connection sees it at once
    s.close()
    assert seen == [1]


def test_grouped_inside_a_transaction_runs_nested(path):
    s = Store(path)
    with pytest.raises(RuntimeError):
        with s.transaction():
            s.grouped(_insert(1))
            raise RuntimeError("undo all")
    assert _count(path) == 0
    s.close()


def test_callers_that_queue_while_the_leader_waits_for_the_gate_join_its_transaction(path):
    # Another connection holds the write gate; the leader waits for it, and the callers
    # that queue meanwhile are committed in the leader's transaction.
    group = GroupCommit()
    blocker = Store(path)
    results = {}

    def call(i):
        s = Store(path)
        s._group = group
        try:
            results[i] = s.grouped(_insert(i))
        finally:
            s.close()
    with blocker.transaction():
        threads = [threading.Thread(target=call, args=(0,))]
        threads[0].start()
        _wait_for(lambda: group._leading)
        for i in range(1, 4):
            threads.append(threading.Thread(target=call, args=(i,)))
            threads[-1].start()
        _wait_for(lambda: len(group._queue) == 4)
    for t in threads:
        t.join(30)
    blocker.close()
    assert results == {0: 0, 1: 1, 2: 2, 3: 3}
    assert (group.transactions, group.jobs) == (1, 4)


def test_a_transaction_that_cannot_begin_fails_its_callers(path):
    group = GroupCommit()
    s = Store(path)
    s._group = group
    s.conn.execute("PRAGMA busy_timeout = 0")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")                 # outside the gate: BEGIN IMMEDIATE meets a lock
    try:
        with pytest.raises(sqlite3.OperationalError):
            s.grouped(_insert(1))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert s.grouped(_insert(2)) == 2                # the group is not stuck
    s.close()


def test_writers_on_many_connections_queue_at_the_gate(path):
    # Threads with a connection each write at once: none meets "database is locked",
    # every row is there.
    errors = []

    def writer(k):
        s = Store(path)
        try:
            for i in range(50):
                with s.transaction():
                    s._run("INSERT INTO t (n, who) VALUES (?, ?)", (k * 1000 + i, str(k)))
        except Exception as e:      # noqa: BLE001
            errors.append(e)
        finally:
            s.close()
    threads = [threading.Thread(target=writer, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert _count(path) == 300


def test_a_lone_failing_caller_writes_nothing(path):
    # A transaction of one job runs it without a savepoint: its failure rolls back the whole.
    def fails(store):
        store._run("INSERT INTO t (n, who) VALUES (100, 'x')")
        raise ValueError("bad event")
    s = Store(path)
    s._group = group = GroupCommit()
    with pytest.raises(ValueError):
        s.grouped(fails)
    assert _count(path) == 0 and not s.conn.in_transaction
    assert s.grouped(_insert(1)) == 1 and _count(path) == 1          # the gate was left
    assert (group.transactions, group.jobs) == (2, 2)
    s.close()
