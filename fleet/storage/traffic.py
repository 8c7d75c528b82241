"""Traffic from the network servers: uplinks, receptions, readings, events, quarantine."""
import sqlite3
import time

from fleet.storage.base import NotFound, dumps, loads
from fleet.storage.migrations import TABLE_COLUMNS

_UPLINK_COLUMNS = ("device_id", "time", "source", "dedup_id", "session", "f_cnt", "f_port", "dr",
                   "frequency", "sf", "bandwidth", "coding_rate", "airtime", "frame_kind", "payload", "fields")
# Every column but the session, which the insert reads from the device's row.
_UPLINK_INSERTED = tuple(c for c in _UPLINK_COLUMNS if c != "session")
_FIELDS = _UPLINK_INSERTED.index("fields")
_INSERT_UPLINK = ("INSERT INTO uplinks (%s, session) SELECT %s, session FROM devices"
                  " WHERE id = ? AND status != 'decommissioned'"
                  % (", ".join(_UPLINK_INSERTED), ", ".join("?" * len(_UPLINK_INSERTED))))
_TOUCH = {}             # _touch_device's UPDATE statements by the state columns they set
_STATE_COLUMNS = ("battery", "battery_mv", "firmware", "last_status", "last_rssi", "last_snr", "alarm")


def _uplink(row):
    row["fields"] = loads(row.get("fields"))
    if isinstance(row.get("payload"), bytes):
        row["payload"] = row["payload"].hex()
    return row


def _reading_row(kind, uplink_id, device_id, at, values):
    row = {"uplink_id": uplink_id, "device_id": device_id, "time": at}
    for name in TABLE_COLUMNS[kind]:
        v = values.get(name)
        row[name] = int(v) if isinstance(v, bool) else v
    return row


class TrafficMixin:
    """Storage of what the network servers send, and its reads for the UI and API."""

    def add_uplink(self, uplink, receptions, reading=None, state=None):
        """Store one uplink with its receptions, its reading (kind, values) and the device
        state it implies, atomically. Returns the new id, or None for a duplicate (same
        dedup_id, or same device, session and frame counter), which writes nothing.

        The uplink's fields are a dict, or its JSON text already made (dumps). It takes the
        device's current session, read by its insert, which also checks that the device is
        in service: NotFound (nothing written) when the device is decommissioned or gone.
        Inside a transaction it takes no savepoint of its own:
        only its first insert can fail for a duplicate, and a later failure is the
        enclosing transaction's to roll back."""
        if not self._depth:
            with self.transaction():
                return self.add_uplink(uplink, receptions, reading, state)
        row = [uplink.get(c) for c in _UPLINK_INSERTED]
        if row[_FIELDS] is not None and not isinstance(row[_FIELDS], str):
            row[_FIELDS] = dumps(row[_FIELDS])
        row.append(uplink["device_id"])
        try:
            cur = self._run(_INSERT_UPLINK, row)
        except sqlite3.IntegrityError as e:
            if "UNIQUE" in str(e) and "uplinks" in str(e):
                return None
            raise
        if cur.rowcount != 1:
            raise NotFound("device %d is not in service" % uplink["device_id"])
        uplink_id = cur.lastrowid
        self._add_receptions(uplink_id, receptions)
        if reading is not None:
            kind, values = reading
            self._insert("readings_" + kind, _reading_row(kind, uplink_id, uplink["device_id"], uplink["time"], values))
        self._touch_device(uplink["device_id"], uplink["time"], state or {})
        return uplink_id

    def _add_receptions(self, uplink_id, receptions):
        if receptions:
            self._insert_many("receptions", [dict(r, uplink_id=uplink_id) for r in receptions])

    def _touch_device(self, device_id, at, state):
        # SET expressions read the row as it was, so last_seen below is the previous one.
        if "battery" in state:
            # SQLite rewrites the entries of every index on a column an UPDATE sets, even to
            # the same value (two index pages more to write), and a battery level seldom
            # changes: it is set on its own, before last_seen moves, only when it changes.
            self._run("UPDATE devices SET battery = ? WHERE id = ? AND battery IS NOT ?"
                      " AND ? >= COALESCE(last_seen, 0)", (state["battery"], device_id, state["battery"], at))
        names = tuple(n for n in _STATE_COLUMNS if n in state and n != "battery")
        sql = _TOUCH.get(names)
        if sql is None:
            sets = ["last_seen = MAX(COALESCE(last_seen, 0), ?)",
                    "status = CASE status WHEN 'registered' THEN 'active' ELSE status END"]
            for name in names:
                if name == "alarm":
                    sets.append("alarm = ?")             # an alarm latches, however late it arrives
                else:                                   # a late (older) event does not overwrite newer state
                    sets.append("%s = CASE WHEN ? >= COALESCE(last_seen, 0) THEN ? ELSE %s END" % (name, name))
            sql = _TOUCH[names] = "UPDATE devices SET %s WHERE id = ?" % ", ".join(sets)
        params = [at]
        for name in names:
            value = dumps(state[name]) if name == "last_status" else state[name]
            if name != "alarm":
                params.append(at)
            params.append(value)
        params.append(device_id)
        self._run(sql, params)

    def add_net_event(self, device_id, at, source, event, body, state=None, seen=False):
        """Record a network-server event (join, status, ack, txack, log) of a device; with
        seen, the event proves the device alive and updates its state too."""
        with self.transaction():
            self._run("INSERT INTO net_events (device_id, time, source, event, body) VALUES (?, ?, ?, ?, ?)",
                      (device_id, at, source, event, dumps(body)))
            if seen:
                self._touch_device(device_id, at, state or {})

    def net_events(self, device_id, limit=20):
        """The device's latest network-server events, newest first."""
        rows = self._all("SELECT id, time, source, event, body FROM net_events WHERE device_id = ?"
                         " ORDER BY time DESC LIMIT ?", (device_id, limit))
        for r in rows:
            r["body"] = loads(r["body"])
        return rows

    def uplinks(self, device_id, before=None, limit=50):
        """A page of the device's uplinks, newest id first, each with its best reception."""
        sql = ("SELECT u.id, u.time, u.source, u.dedup_id, u.session, u.f_cnt, u.f_port, u.dr, u.frequency, u.sf,"
               " u.bandwidth, u.coding_rate, u.airtime, u.frame_kind, u.payload, u.fields,"
               " (SELECT COUNT(*) FROM receptions r WHERE r.uplink_id = u.id) AS gateways,"
               " (SELECT MAX(r.rssi) FROM receptions r WHERE r.uplink_id = u.id) AS rssi,"
               " (SELECT MAX(r.snr) FROM receptions r WHERE r.uplink_id = u.id) AS snr"
               " FROM uplinks u WHERE u.device_id = ?")
        params = [device_id]
        if before is not None:
            sql += " AND u.id < ?"
            params.append(before)
        sql += " ORDER BY u.id DESC LIMIT ?"
        params.append(limit)
        return [_uplink(r) for r in self._all(sql, params)]

    def receptions(self, uplink_id):
        """Every gateway reception of one uplink."""
        return self._all("SELECT gateway_id, rssi, snr, channel, time FROM receptions WHERE uplink_id = ?"
                         " ORDER BY rssi DESC", (uplink_id,))

    def readings(self, kind, device_id, since, limit=5000):
        """The device's readings since a time, oldest first (for charts)."""
        columns = ", ".join(TABLE_COLUMNS[kind])
        return self._all("SELECT time, %s FROM readings_%s WHERE device_id = ? AND time >= ?"
                         " ORDER BY time LIMIT ?" % (columns, kind), (device_id, since, limit))

    def latest_reading(self, kind, device_id):
        """The device's newest reading, or None."""
        columns = ", ".join(TABLE_COLUMNS[kind])
        return self._one("SELECT time, %s FROM readings_%s WHERE device_id = ? ORDER BY time DESC LIMIT 1"
                         % (columns, kind), (device_id,))

    def link_summary(self, device_id, since):
        """Link quality of the device's uplinks since a time: counts, RSSI/SNR, gateways, SF."""
        summary = self._one(
            "SELECT COUNT(DISTINCT u.id) AS uplinks, COUNT(r.id) AS receptions,"
            " AVG(r.rssi) AS rssi_avg, MIN(r.rssi) AS rssi_min, MAX(r.rssi) AS rssi_max,"
            " AVG(r.snr) AS snr_avg, MIN(r.snr) AS snr_min, MAX(r.snr) AS snr_max,"
            " COUNT(DISTINCT r.gateway_id) AS gateways"
            " FROM uplinks u LEFT JOIN receptions r ON r.uplink_id = u.id"
            " WHERE u.device_id = ? AND u.time >= ?", (device_id, since))
        summary["spreading_factors"] = {
            str(r["sf"]): r["n"] for r in self._all(
                "SELECT sf, COUNT(*) AS n FROM uplinks WHERE device_id = ? AND time >= ? AND sf IS NOT NULL"
                " GROUP BY sf ORDER BY sf", (device_id, since))}
        return summary

    def add_quarantine(self, entry):
        """Keep an event that could not be stored, with its reason and raw body; returns its id."""
        row = dict(entry, raw=dumps(entry["raw"]), status="open")
        row.setdefault("received_at", time.time())
        with self.transaction():
            return self.db["quarantine"].insert(row).last_pk

    def quarantine(self, department=None, status="open", device_eui=None, before=None, limit=50):
        """A page of quarantined events, newest first; department None means every one."""
        where, params = ["1 = 1"], []
        for column, value in (("department", department), ("status", status), ("dev_eui", device_eui)):
            if value is not None:
                where.append("%s = ?" % column)
                params.append(value)
        rows = self._newest_first("quarantine", where, params, before, limit)
        return [dict(r, raw=loads(r["raw"])) for r in rows]

    def quarantine_entry(self, entry_id, department=None):
        """One quarantined event, or None (also when outside the department)."""
        sql, params = "SELECT * FROM quarantine WHERE id = ?", [entry_id]
        if department is not None:
            sql += " AND department = ?"
            params.append(department)
        row = self._one(sql, params)
        return None if row is None else dict(row, raw=loads(row["raw"]))

    def resolve_quarantine(self, entry_id, status, uplink_id=None):
        """Close a quarantine entry as replayed or discarded."""
        with self.transaction():
            self._run("UPDATE quarantine SET status = ?, resolved_at = ?, uplink_id = ? WHERE id = ?",
                      (status, time.time(), uplink_id, entry_id))

    def bulk_uplinks(self, uplinks, readings_by_kind, receptions):
        """Bulk load for benchmarks and fixtures: rows given with explicit ids, one transaction."""
        with self.transaction():
            self.db["uplinks"].insert_all(uplinks, batch_size=2000)
            self.db["receptions"].insert_all(receptions, batch_size=2000)
            for kind, rows in readings_by_kind.items():
                self.db["readings_" + kind].insert_all(rows, batch_size=2000)

    def max_uplink_id(self):
        """The highest uplink id so far (0 when none)."""
        return self._scalar("SELECT COALESCE(MAX(id), 0) FROM uplinks")
