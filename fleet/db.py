"""The per-request Store: opened lazily, closed by the app teardown."""
from flask import current_app, g

from fleet.storage import Store


def get_store():
    """The request's Store, opened on first use."""
    if "store" not in g:
        g.store = Store(current_app.config["DATABASE"])
    return g.store


def close_store(exc=None):
    """Close the request's Store, if one was opened."""
    store = g.pop("store", None)
    if store is not None:
        store.close()


def init_app(app):
    """Migrate the database to the current schema and register the teardown."""
    store = Store(app.config["DATABASE"])
    try:
        store.migrate()
    finally:
        store.close()
    app.teardown_appcontext(close_store)
