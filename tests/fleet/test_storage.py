"""The storage layer: migrations, WAL, transactions, indexes behind every query."""
import sqlite3

import pytest

from fleet.storage import Store, migrations
from fleet.storage.base import NotFound
from protocols import frames
from protocols import schema as S


def test_migrations_apply_once_in_order(tmp_path):
    path = str(tmp_path / "m.db")
    s = Store(path)
    names = [n for n, _ in migrations.MIGRATIONS]
    assert s.migrate() == names
    assert s.schema_version() == names
    assert s.migrate() == []
    s.close()
    assert Store(path).migrate() == []


def test_a_failing_migration_rolls_back_alone(tmp_path, monkeypatch):
    s = Store(str(tmp_path / "m.db"))

    def bad(db):
        db["half"].create({"id": int}, pk="id")
        raise RuntimeError("broken migration")
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS + [("9999_bad", bad)])
    with pytest.raises(RuntimeError):
        s.migrate()
    assert "9999_bad" not in s.schema_version() and not s.db["half"].exists()
    assert "0004_audit" in s.schema_version()


def test_an_older_database_is_brought_forward(tmp_path, monkeypatch):
    # A database made when 0004 was the newest migration, with a tagged device in it.
    path = str(tmp_path / "old.db")
    s = Store(path)
    monkeypatch.setattr(migrations, "MIGRATIONS", [m for m in migrations.MIGRATIONS if m[0] <= "0004"])
    s.migrate()
    s.add_department("TD", "Transport")
    s.conn.execute("INSERT INTO devices (id, dev_eui, kind, board, department, status, secrets)"
                   " VALUES (1, '0011223344556677', 'parking_bay', 'b', 'TD', 'registered', x'00')")
    s.conn.execute("INSERT INTO device_tags (device_id, tag) VALUES (1, 'pilot')")
    monkeypatch.undo()
    assert s.migrate() == [n for n, _ in migrations.MIGRATIONS if n > "0004"]
    assert s.tags("TD") == [{"tag": "pilot", "devices": 1}]


def test_wal_and_foreign_keys(store):
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_transactions_nest_and_roll_back_whole(store):
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.add_department("X1", "one")
            with store.transaction():
                store.add_department("X2", "two")
            raise RuntimeError
    assert store.department("X1") is None and store.department("X2") is None


def test_reading_tables_cover_every_field_of_every_sensor_kind(store):
    # sensor kinds and the kinds they send beside them (night_flow, alarm), as migrated
    assert set(migrations.TABLE_COLUMNS) == set(migrations.READING_COLUMNS) | set(migrations.SIDE_SENDERS)
    for kind in migrations.TABLE_COLUMNS:
        fields = []
        for f in frames.kind_of(kind)[S.FIELDS]:
            fields.extend(f[S.EXTRA] if f[S.TYPE] == S.T_BITS else (f[S.NAME],))
        assert sorted(fields) == sorted(migrations.TABLE_COLUMNS[kind]), kind
        table = set(store.db["readings_" + kind].columns_dict)
        assert table == set(fields) | {"uplink_id", "device_id", "time"}, kind


def _plans(store, method, *args, **kwargs):
    return [step for _, steps in store.explain(method, *args, **kwargs) for step in steps]


@pytest.mark.parametrize("method,args,kwargs", [
    ("list_devices", (), {"department": "TD"}),
    ("list_devices", (), {"department": "TD", "kind": "parking_bay"}),
    ("list_devices", (), {"department": "TD", "state": "silent"}),
    ("list_devices", (), {"department": "TD", "tag": "pilot"}),
    ("list_devices", (), {"state": "alarm"}),
    ("overview", (), {"department": "TD"}),
    ("device_by_eui", ("0011223344556677",), {}),
    ("device_by_claim", ("abc",), {}),
    ("uplinks", (1,), {}),
    ("readings", ("parking_bay", 1, 0), {}),
    ("latest_reading", ("water_main", 1), {}),
    ("link_summary", (1, 0), {}),
    ("net_events", (1,), {}),
    ("quarantine", (), {"department": "TD"}),
    ("quarantine", (), {"device_eui": "0011223344556677", "status": None}),
    ("audit_log", (), {"department": "TD"}),
    ("token_by_hash", ("x",), {}),
    ("user_by_name", ("x",), {}),
])
def test_queries_use_indexes(store, method, args, kwargs):
    steps = _plans(store, method, *args, **kwargs)
    assert steps
    scans = [s for s in steps if s.startswith("SCAN") and "USING" not in s and "CONSTANT" not in s]
    # A scan of a whole table is allowed only where the index search is impossible (none here).
    assert not scans, (method, steps)


def test_duplicate_uplink_writes_nothing(store):
    [dev] = store.add_devices([{"dev_eui": "0011223344556677", "kind": "parking_bay", "board": "b",
                                "department": "TD", "secrets": b"x"}])
    up = {"device_id": dev, "time": 1.0, "source": "chirpstack", "dedup_id": "d", "session": 0, "f_cnt": 1}
    reading = ("parking_bay", {"occupied": True, "changes": 1, "battery": 50})
    assert store.add_uplink(up, [{"gateway_id": "g", "rssi": -1, "snr": 1, "channel": 0, "time": 1.0}], reading)
    assert store.add_uplink(dict(up, f_cnt=2), [{"gateway_id": "g", "rssi": -1, "snr": 1, "channel": 0,
                                                 "time": 1.0}], reading) is None
    assert store._scalar("SELECT COUNT(*) FROM receptions") == 1
    assert store._scalar("SELECT COUNT(*) FROM readings_parking_bay") == 1
    with pytest.raises(NotFound):                   # no such device in service: nothing written
        store.add_uplink(dict(up, device_id=999, dedup_id="e"), [], None)
    with pytest.raises(sqlite3.IntegrityError):     # other failures are not hidden
        store.add_uplink(dict(up, dedup_id="e", f_cnt=3, source=None), [], None)


def test_tracer_sees_every_query(tmp_path):
    seen = []
    s = Store(str(tmp_path / "t.db"), tracer=lambda sql, params: seen.append(sql))
    s.migrate()
    s.departments()
    assert any("FROM departments" in q for q in seen)
