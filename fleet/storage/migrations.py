"""Forward-only schema migrations: a named registry, each applied in its own transaction.

A migration never changes once released; a new need is a new migration appended
to MIGRATIONS. Applied names are recorded in the schema_migrations table.
"""
import time

MIGRATIONS = []

# The columns of each sensor kind's readings table, in SI units as the frame
# schema decodes them (protocols/schema.py). tests/fleet/test_storage.py checks
# that these cover every field of every sensor kind.
READING_COLUMNS = {
    "parking_bay": {"occupied": int, "changes": int, "battery": float},
    "rodent_station": {"activity": int, "burst": int, "battery": float},
    "smart_toilet": {"occupied": int, "leak": int, "people": int, "nh3": float, "h2s": float,
                     "consumables": float, "battery": float},
    "water_main": {"pressure": float, "flow": float, "pressure_min": float, "pressure_max": float,
                   "battery": float},
    "hiker_tracker": {"latitude": float, "longitude": float, "fix": str, "sos": int, "battery": float},
}
# READING_COLUMNS is what 0003 created and stays so (0003 reads it). Columns added since,
# each by a migration of its own (a new one here needs its migration too):
ADDED_READING_COLUMNS = {
    "smart_toilet": {"cleaning": int, "consumables_low": int},          # 0007
}
# Frame kinds a sensor sends beside its own kind's readings (protocols/schema.py says
# why they are kinds of their own): the device kinds that may send each, and the
# columns of its readings table (0007).
SIDE_SENDERS = {
    "night_flow": ("water_main",),
    "alarm": tuple(READING_COLUMNS),
}
SIDE_READING_COLUMNS = {
    "night_flow": {"flow": float, "start": float, "duration": float, "samples": int, "battery": float},
    "alarm": {"alarm": str, "active": int, "repeat": int, "battery": float},
}
# Every readings table (readings_<kind>) with its columns as they are now.
TABLE_COLUMNS = dict({kind: dict(cols, **ADDED_READING_COLUMNS.get(kind, {})) for kind, cols in READING_COLUMNS.items()},
                     **SIDE_READING_COLUMNS)


def migration(name):
    """Register fn as the migration called name (applied in registration order)."""
    def register(fn):
        MIGRATIONS.append((name, fn))
        return fn
    return register


def applied(store):
    """Names of the migrations already applied to this database."""
    if not store.db["schema_migrations"].exists():
        return []
    return [r["name"] for r in store._all("SELECT name FROM schema_migrations ORDER BY rowid")]


def migrate(store):
    """Apply every migration not yet applied, in order; return the names applied now."""
    store.db["schema_migrations"].create({"name": str, "applied_at": float}, pk="name", if_not_exists=True)
    done = set(applied(store))
    now_applied = []
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        with store.transaction():
            fn(store.db)
            store.db["schema_migrations"].insert({"name": name, "applied_at": time.time()})
        now_applied.append(name)
    return now_applied


@migration("0001_accounts")
def _accounts(db):
    db["departments"].create({"code": str, "name": str}, pk="code")
    db["users"].create({
        "id": int, "username": str, "password_hash": str, "role": str,
        "department": str, "created_at": float, "disabled": int,
    }, pk="id", not_null={"username", "password_hash", "role"}, defaults={"disabled": 0},
        foreign_keys=[("department", "departments", "code")])
    db["users"].create_index(["username"], unique=True)
    db["tokens"].create({
        "id": int, "name": str, "token_hash": str, "prefix": str, "role": str,
        "department": str, "created_by": str, "created_at": float, "revoked_at": float,
    }, pk="id", not_null={"name", "token_hash", "role"},
        foreign_keys=[("department", "departments", "code")])
    db["tokens"].create_index(["token_hash"], unique=True)


@migration("0002_devices")
def _devices(db):
    db["devices"].create({
        "id": int, "dev_eui": str, "join_eui": str, "name": str, "kind": str, "board": str,
        "department": str, "latitude": float, "longitude": float, "location": str, "tags": str,
        "status": str, "secrets": bytes, "claim_hash": str, "claimed_at": float,
        "created_at": float, "decommissioned_at": float, "session": int,
        "last_seen": float, "battery": float, "battery_mv": float, "firmware": str,
        "last_status": str, "last_rssi": float, "last_snr": float, "alarm": str,
    }, pk="id", not_null={"dev_eui", "kind", "board", "department", "status", "secrets"},
        defaults={"session": 0, "tags": "[]"},
        foreign_keys=[("department", "departments", "code")])
    db["devices"].create_index(["dev_eui"], unique=True)
    db["devices"].create_index(["claim_hash"], unique=True)
    # The overview's counts and the list's filters read only this index.
    db["devices"].create_index(["department", "kind", "status", "last_seen", "battery", "alarm"],
                               index_name="idx_devices_overview")
    # Keyset pages (ORDER BY id) within a department, or a department and kind.
    db["devices"].create_index(["department", "kind"])
    db["devices"].create_index(["department", "status", "last_seen"])
    db["devices"].create_index(["department", "battery"])
    db["devices"].create_index(["department", "alarm"])
    db["devices"].create_index(["department", "name"])
    db["device_tags"].create({"device_id": int, "tag": str}, pk=("device_id", "tag"),
                             foreign_keys=[("device_id", "devices", "id")])
    db["device_tags"].create_index(["tag", "device_id"])


@migration("0003_traffic")
def _traffic(db):
    db["uplinks"].create({
        "id": int, "device_id": int, "time": float, "source": str, "dedup_id": str,
        "session": int, "f_cnt": int, "f_port": int, "dr": int, "frequency": int, "sf": int,
        "bandwidth": int, "coding_rate": str, "airtime": float, "frame_kind": str,
        "payload": bytes, "fields": str,
    }, pk="id", not_null={"device_id", "time", "source"},
        foreign_keys=[("device_id", "devices", "id")])
    db["uplinks"].create_index(["dedup_id"], unique=True)
    db["uplinks"].create_index(["device_id", "session", "f_cnt"], unique=True)
    db["uplinks"].create_index(["device_id", "time"])
    db["receptions"].create({
        "id": int, "uplink_id": int, "gateway_id": str, "rssi": float, "snr": float,
        "channel": int, "time": float,
    }, pk="id", foreign_keys=[("uplink_id", "uplinks", "id")])
    db["receptions"].create_index(["uplink_id"])
    for kind, columns in READING_COLUMNS.items():
        table = db["readings_" + kind]
        table.create(dict({"uplink_id": int, "device_id": int, "time": float}, **columns),
                     pk="uplink_id", foreign_keys=[("uplink_id", "uplinks", "id")])
        table.create_index(["device_id", "time"])
    db["net_events"].create({
        "id": int, "device_id": int, "time": float, "source": str, "event": str, "body": str,
    }, pk="id", foreign_keys=[("device_id", "devices", "id")])
    db["net_events"].create_index(["device_id", "time"])
    db["quarantine"].create({
        "id": int, "received_at": float, "source": str, "event": str, "reason": str,
        "detail": str, "dev_eui": str, "department": str, "raw": str, "status": str,
        "resolved_at": float, "uplink_id": int,
    }, pk="id", not_null={"received_at", "source", "reason", "raw", "status"})
    db["quarantine"].create_index(["status", "id"])
    db["quarantine"].create_index(["department", "status", "id"])
    db["quarantine"].create_index(["dev_eui", "id"])


@migration("0004_audit")
def _audit(db):
    db["audit"].create({
        "id": int, "at": float, "actor": str, "action": str, "target_type": str,
        "target_id": str, "department": str, "detail": str, "remote_addr": str,
    }, pk="id", not_null={"at", "actor", "action"})
    db["audit"].create_index(["department", "id"])


@migration("0005_department_pages_and_tag_counts")
def _department_pages(db):
    # Keyset pages of a whole department walk (department, rowid); names are searched
    # with LIKE '%...%', which no index serves.
    db["devices"].create_index(["department"], if_not_exists=True)
    db.execute("DROP INDEX IF EXISTS idx_devices_department_name")
    # Tag counts per department from one index: the department is copied to the tag
    # (a device never changes department).
    db["device_tags"].add_column("department", str)
    db.execute("UPDATE device_tags SET department ="
               " (SELECT department FROM devices WHERE devices.id = device_tags.device_id)")
    db["device_tags"].create_index(["department", "tag"])


@migration("0006_account_management")
def _account_management(db):
    # The admin pages list users by department and role, count the enabled admins (the
    # last-admin guard) and list a department's tokens; tokens record when they were last used.
    db["users"].create_index(["department", "id"], if_not_exists=True)
    db["users"].create_index(["role", "disabled"], if_not_exists=True)
    db["tokens"].create_index(["department", "id"], if_not_exists=True)
    db["tokens"].add_column("last_used_at", float)


@migration("0007_toilet_flags_night_flow_and_alarm_readings")
def _issue_6_readings(db):
    # The toilet's cleaning and consumables flags, and tables for the night_flow and
    # alarm frames, so the device page and the API can show and chart them. The columns
    # are written out here, not read from the constants above, which move on.
    db["readings_smart_toilet"].add_column("cleaning", int)
    db["readings_smart_toilet"].add_column("consumables_low", int)
    for kind, columns in (
            ("night_flow", {"flow": float, "start": float, "duration": float, "samples": int, "battery": float}),
            ("alarm", {"alarm": str, "active": int, "repeat": int, "battery": float})):
        table = db["readings_" + kind]
        table.create(dict({"uplink_id": int, "device_id": int, "time": float}, **columns),
                     pk="uplink_id", foreign_keys=[("uplink_id", "uplinks", "id")])
        table.create_index(["device_id", "time"])


@migration("0008_downlink_queue")
def _downlink_queue(db):
    # The fleet's downlinks and what became of each (fleet/downlinks.py). A device page lists
    # its newest; network-server events find one by the server's id or the downlink counter.
    db["downlinks"].create({
        "id": int, "device_id": int, "department": str, "kind": str, "fields": str, "payload": bytes,
        "f_port": int, "confirmed": int, "state": str, "network_server": str, "ns_id": str,
        "f_cnt_down": int, "reason": str, "attempts": int, "queued_by": str, "queued_at": float,
        "sent_at": float, "transmitted_at": float, "done_at": float,
    }, pk="id", not_null={"device_id", "kind", "payload", "f_port", "state", "queued_at"},
        foreign_keys=[("device_id", "devices", "id")])
    db["downlinks"].create_index(["device_id", "id"])
    db["downlinks"].create_index(["device_id", "ns_id"])
    db["downlinks"].create_index(["device_id", "f_cnt_down"])
    db["downlinks"].create_index(["device_id", "state", "id"])
    db["downlinks"].create_index(["device_id", "kind", "id"])


@migration("0009_downlink_answers")
def _downlink_answers(db):
    # A config or setting downlink's answer from the device (its config_ack's result, by seq).
    db["downlinks"].add_column("answer", str)
    db["downlinks"].add_column("answered_at", float)
