"""The request's Store: one connection per worker thread, kept open between requests.

Opening and closing a SQLite connection per request is costly in WAL mode (the
last connection to close checkpoints the whole log), so each thread of the
server keeps its own connection; the teardown only makes sure no transaction
is left open.
"""
import os
import threading

from flask import current_app, g

from fleet.storage import Store

_EXTENSION = "cityfleet.stores"


def get_store():
    """The request's Store (this thread's connection to the app's database)."""
    if "store" not in g:
        g.store = thread_store(current_app)
    return g.store


def thread_store(app):
    """This thread's Store for app's database, without a Flask context (the ingest fast path);
    the caller leaves no transaction open."""
    local = app.extensions[_EXTENSION]
    store = getattr(local, "store", None)
    if store is None or local.pid != os.getpid():
        # New, or inherited through a fork: a SQLite connection never crosses a fork.
        store = local.store = Store(app.config["DATABASE"])
        local.pid = os.getpid()
    return store


def release_store(exc=None):
    """End of request: roll back anything a failed request left open."""
    store = g.pop("store", None)
    if store is not None and (store._depth or store.conn.in_transaction):
        store.abort()


def close_thread_store(app):
    """Close this thread's connection to the app's database (before a server forks)."""
    local = app.extensions[_EXTENSION]
    store = getattr(local, "store", None)
    if store is not None and getattr(local, "pid", None) == os.getpid():
        store.close()
    local.store = None


def init_app(app):
    """Migrate the database to the current schema and register the teardown."""
    store = Store(app.config["DATABASE"])
    try:
        store.migrate()
    finally:
        store.close()
    app.extensions[_EXTENSION] = threading.local()
    app.teardown_appcontext(release_store)
