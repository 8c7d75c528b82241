"""The storage layer: every SQL statement of the fleet service lives in this package.

    store = Store("fleet.db")      # or Store(sqlite3_connection, tracer=print)
    store.migrate()

The rest of the service talks to the Store's methods only, so another backend
(PostgreSQL for fleets that outgrow one machine) can replace it whole.
"""
from fleet.storage import migrations
from fleet.storage.accounts import AccountsMixin
from fleet.storage.audit import AuditMixin
from fleet.storage.base import BaseStore, Conflict, NotFound, StorageError, connect
from fleet.storage.devices import STATES, DevicesMixin
from fleet.storage.downlinks import DOWNLINK_STATES, DownlinksMixin
from fleet.storage.traffic import TrafficMixin

__all__ = ["Store", "StorageError", "Conflict", "NotFound", "STATES", "DOWNLINK_STATES", "connect"]


class Store(AccountsMixin, DevicesMixin, TrafficMixin, DownlinksMixin, AuditMixin, BaseStore):
    """The fleet's database: one connection, one narrow interface."""

    def migrate(self):
        """Bring the schema up to date; returns the names of the migrations applied now."""
        return migrations.migrate(self)

    def schema_version(self):
        """The names of the applied migrations, oldest first."""
        return migrations.applied(self)

    def explain(self, method, *args, **kwargs):
        """The query plans of the statements one Store method runs (for index tests)."""
        plans = []
        seen = []
        original = self.db._tracer
        self.db._tracer = lambda sql, params: seen.append((sql, params))
        try:
            getattr(self, method)(*args, **kwargs)
        finally:
            self.db._tracer = original
        for sql, params in seen:
            if sql.lstrip().upper().startswith("SELECT"):
                rows = self.conn.execute("EXPLAIN QUERY PLAN " + sql, params or ()).fetchall()
                plans.append((sql, [r["detail"] for r in rows]))
        return plans
