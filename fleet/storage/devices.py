"""The device registry: identity, placement, tags, state."""
import sqlite3
import time

from fleet.storage.base import Conflict, dumps, loads

# device_facts' cache: {database identity: {dev_eui: facts}}, per process.
_FACTS = {}
_FACTS_MAX = 200000

STATES = ("registered", "active", "silent", "decommissioned", "low_battery", "alarm")

_PUBLIC = ("d.id, d.dev_eui, d.join_eui, d.name, d.kind, d.board, d.department, d.latitude, d.longitude,"
           " d.location, d.tags, d.status, d.claim_hash IS NOT NULL AS claim_pending, d.claimed_at,"
           " d.created_at, d.decommissioned_at, d.session, d.last_seen, d.battery, d.battery_mv,"
           " d.firmware, d.last_status, d.last_rssi, d.last_snr, d.alarm")


def _device(row):
    if row is None:
        return None
    row["tags"] = loads(row["tags"]) or []
    row["last_status"] = loads(row["last_status"])
    row["claim_pending"] = bool(row["claim_pending"])
    return row


def _like(text):
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _state_clause(state, now, silent_after, low_battery):
    # The SQL condition and parameters for one of STATES.
    cutoff = now - silent_after
    return {
        "registered": ("d.status = 'registered'", []),
        "active": ("d.status = 'active' AND d.last_seen >= ?", [cutoff]),
        "silent": ("d.status = 'active' AND d.last_seen < ?", [cutoff]),
        "decommissioned": ("d.status = 'decommissioned'", []),
        "low_battery": ("d.status != 'decommissioned' AND d.battery < ?", [low_battery]),
        "alarm": ("d.status != 'decommissioned' AND d.alarm IS NOT NULL", []),
    }[state]


class DevicesMixin:
    """Storage of devices. Secrets are stored as given (already encrypted by the caller)."""

    def add_devices(self, rows):
        """Insert devices (dicts with dev_eui, kind, board, department, secrets, ...) in one
        transaction and return their ids; Conflict names a DevEUI or claim code already used."""
        ids = []
        now = time.time()
        with self.transaction():
            for row in rows:
                row = dict(row, created_at=now, status="registered", tags=dumps(row.get("tags") or []))
                try:
                    ids.append(self.db["devices"].insert(row).last_pk)
                except sqlite3.IntegrityError:
                    raise Conflict("device %s exists" % row["dev_eui"]) from None
                self._set_tags(ids[-1], loads(row["tags"]))
        return ids

    def bulk_devices(self, rows, tags):
        """Bulk load for benchmarks and fixtures: device rows with explicit ids and state
        columns, and (device_id, tag) pairs, in one transaction."""
        with self.transaction():
            self.db["devices"].insert_all(rows, batch_size=2000)
            departments = {r["id"]: r["department"] for r in rows}
            self.db["device_tags"].insert_all([{"device_id": d, "tag": t, "department": departments[d]}
                                               for d, t in tags], batch_size=2000)

    def analyze(self):
        """Refresh the query planner's statistics (after bulk loads)."""
        self._run("ANALYZE")

    def _set_tags(self, device_id, tags):
        self._run("DELETE FROM device_tags WHERE device_id = ?", (device_id,))
        for tag in sorted(set(tags)):
            self._run("INSERT INTO device_tags (device_id, tag, department)"
                      " SELECT id, ?, department FROM devices WHERE id = ?", (tag, device_id))

    def device(self, device_id, department=None):
        """A device by id, or None; with department, None unless it belongs there."""
        sql = "SELECT %s FROM devices d WHERE d.id = ?" % _PUBLIC
        params = [device_id]
        if department is not None:
            sql += " AND d.department = ?"
            params.append(department)
        return _device(self._one(sql, params))

    def device_by_eui(self, dev_eui):
        """A device by DevEUI (16 upper-case hex digits), or None."""
        return _device(self._one("SELECT %s FROM devices d WHERE d.dev_eui = ?" % _PUBLIC, (dev_eui,)))

    def device_facts(self, dev_eui):
        """What never changes of a device, by DevEUI: {id, dev_eui, kind, department}, or None.

        Cached per process and database once found (a miss is not cached, so a device
        registered later is found at once). A device's kind and department never
        change and a DevEUI is never reused; whether it is still in service is not
        here: the writes that need it check it in their transaction."""
        cache = _FACTS.get(self.identity) if self.identity is not None else None
        facts = cache.get(dev_eui) if cache is not None else None
        if facts is None:
            facts = self._one("SELECT id, dev_eui, kind, department FROM devices WHERE dev_eui = ?", (dev_eui,))
            if facts is not None and self.identity is not None:
                if cache is None or len(cache) >= _FACTS_MAX:
                    cache = _FACTS[self.identity] = {}      # a bound on memory: start again
                cache[dev_eui] = facts
        return facts

    def device_secrets(self, device_id):
        """The encrypted secrets blob of a device."""
        return self._scalar("SELECT secrets FROM devices WHERE id = ?", (device_id,))

    def device_by_claim(self, claim_hash):
        """The unclaimed device whose claim code has this hash, or None."""
        return _device(self._one("SELECT %s FROM devices d WHERE d.claim_hash = ?" % _PUBLIC, (claim_hash,)))

    def mark_claimed(self, device_id):
        """Consume a device's claim code."""
        with self.transaction():
            self._run("UPDATE devices SET claim_hash = NULL, claimed_at = ? WHERE id = ?", (time.time(), device_id))

    def update_device(self, device_id, changes):
        """Change name, location or tags of a device."""
        changes = dict(changes)
        with self.transaction():
            if "tags" in changes:
                self._set_tags(device_id, changes["tags"])
                changes["tags"] = dumps(changes["tags"])
            if changes:
                self.db["devices"].update(device_id, changes)

    def decommission(self, device_id):
        """Mark a device decommissioned: ingest stops, history stays."""
        with self.transaction():
            self._run("UPDATE devices SET status = 'decommissioned', decommissioned_at = ?, claim_hash = NULL"
                      " WHERE id = ?", (time.time(), device_id))

    def clear_alarm(self, device_id):
        """Acknowledge a device's open alarm."""
        with self.transaction():
            self._run("UPDATE devices SET alarm = NULL WHERE id = ?", (device_id,))

    def list_devices(self, department=None, kind=None, state=None, tag=None, q=None, after=0,
                     limit=50, now=None, silent_after=86400, low_battery=20):
        """One page of devices by ascending id after the id `after` (keyset paging)."""
        where, params = ["d.id > ?"], [after]
        joins = ""
        if department is not None:
            where.append("d.department = ?")
            params.append(department)
        if kind:
            where.append("d.kind = ?")
            params.append(kind)
        if state:
            clause, extra = _state_clause(state, now or time.time(), silent_after, low_battery)
            where.append(clause)
            params.extend(extra)
        if tag:
            joins = " JOIN device_tags t ON t.device_id = d.id AND t.tag = ?"
            params.insert(0, tag)
        if q:
            where.append("(d.name LIKE ? ESCAPE '\\' OR d.dev_eui LIKE ? ESCAPE '\\' OR d.location LIKE ? ESCAPE '\\')")
            params.extend([_like(q), _like(q.upper()), _like(q)])
        sql = "SELECT %s FROM devices d%s WHERE %s ORDER BY d.id LIMIT ?" % (_PUBLIC, joins, " AND ".join(where))
        params.append(limit)
        return [_device(r) for r in self._all(sql, params)]

    def overview(self, department=None, now=None, silent_after=86400, low_battery=20):
        """Counts of devices by kind and state, plus low-battery and alarm counts."""
        cutoff = (now or time.time()) - silent_after
        where, params = "", [cutoff, low_battery]
        if department is not None:
            where, params = "WHERE department = ?", params + [department]
        rows = self._all(
            "SELECT kind,"
            " SUM(status = 'registered') AS registered,"
            " SUM(status = 'active' AND last_seen >= ?1) AS active,"
            " SUM(status = 'active' AND last_seen < ?1) AS silent,"
            " SUM(status = 'decommissioned') AS decommissioned,"
            " SUM(status != 'decommissioned' AND battery < ?2) AS low_battery,"
            " SUM(status != 'decommissioned' AND alarm IS NOT NULL) AS alarm,"
            " COUNT(*) AS total"
            " FROM devices %s GROUP BY kind ORDER BY kind" % where.replace("?", "?3"), params)
        return [{k: (v if k == "kind" else int(v or 0)) for k, v in r.items()} for r in rows]

    def tags(self, department=None):
        """The tags in use (in a department), with how many devices carry each."""
        if department is None:
            return self._all("SELECT tag, COUNT(*) AS devices FROM device_tags GROUP BY tag ORDER BY tag")
        return self._all("SELECT tag, COUNT(*) AS devices FROM device_tags WHERE department = ?"
                         " GROUP BY tag ORDER BY tag", (department,))

    def next_session(self, device_id):
        """Start a new LoRaWAN session (after a join): frame counters start again."""
        with self.transaction():
            self._run("UPDATE devices SET session = session + 1 WHERE id = ?", (device_id,))
