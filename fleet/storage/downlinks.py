"""The downlink queue: what the fleet asked the network server to send a device, and what became of it."""
import time

from fleet.storage.base import dumps, loads

# queued -> sent (the network server took it, with its id) -> transmitted (a gateway sent it)
# -> acknowledged (the device's ACK to a confirmed downlink); or failed, with the reason.
DOWNLINK_STATES = ("queued", "sent", "transmitted", "acknowledged", "failed")
_COLUMNS = ("id, device_id, department, kind, fields, payload, f_port, confirmed, state, network_server,"
            " ns_id, f_cnt_down, reason, attempts, queued_by, queued_at, sent_at, transmitted_at, done_at,"
            " answer, answered_at")


def _downlink(row):
    if row is None:
        return None
    row["fields"] = loads(row["fields"]) or {}
    row["confirmed"] = bool(row["confirmed"])
    return row


class DownlinksMixin:
    """Storage of downlinks; the caller encodes the frame and talks to the network server."""

    def add_downlink(self, device_id, department, kind, fields, payload, f_port, confirmed, queued_by):
        """Queue one downlink (state queued) and return its id."""
        with self.transaction():
            return self._insert("downlinks", {
                "device_id": device_id, "department": department, "kind": kind, "fields": dumps(fields),
                "payload": bytes(payload), "f_port": f_port, "confirmed": int(bool(confirmed)),
                "state": "queued", "attempts": 0, "queued_by": queued_by, "queued_at": time.time()})

    def downlink(self, downlink_id, device_id=None):
        """One downlink, or None (also when it belongs to another device than device_id)."""
        row = self._one("SELECT %s FROM downlinks WHERE id = ?" % _COLUMNS, (downlink_id,))
        if row is not None and device_id is not None and row["device_id"] != device_id:
            return None
        return _downlink(row)

    def downlinks(self, device_id, before=None, limit=50):
        """A page of one device's downlinks, newest first."""
        where, params = ["device_id = ?"], [device_id]
        if before is not None:
            where.append("id < ?")
            params.append(before)
        params.append(limit)
        return [_downlink(r) for r in self._all(
            "SELECT %s FROM downlinks WHERE %s ORDER BY id DESC LIMIT ?" % (_COLUMNS, " AND ".join(where)), params)]

    def update_downlink(self, downlink_id, **changes):
        """Set columns of one downlink (state, ns_id, reason, f_cnt_down, times, attempts)."""
        if not changes:
            return
        keys = sorted(changes)
        with self.transaction():
            self._run("UPDATE downlinks SET %s WHERE id = ?" % ", ".join("%s = ?" % k for k in keys),
                      [changes[k] for k in keys] + [downlink_id])

    def downlink_by_ns_id(self, device_id, ns_id):
        """The device's downlink the network server knows by ns_id, or None."""
        return _downlink(self._one("SELECT %s FROM downlinks WHERE device_id = ? AND ns_id = ?"
                                   " ORDER BY id DESC LIMIT 1" % _COLUMNS, (device_id, ns_id)))

    def downlink_by_f_cnt(self, device_id, f_cnt_down):
        """The device's newest downlink transmitted with this downlink frame counter, or None."""
        return _downlink(self._one("SELECT %s FROM downlinks WHERE device_id = ? AND f_cnt_down = ?"
                                   " ORDER BY id DESC LIMIT 1" % _COLUMNS, (device_id, f_cnt_down)))

    def oldest_sent_downlink(self, device_id):
        """The device's oldest downlink the network server took and has not reported on yet, or None."""
        return _downlink(self._one("SELECT %s FROM downlinks WHERE device_id = ? AND state = 'sent'"
                                   " ORDER BY id LIMIT 1" % _COLUMNS, (device_id,)))

    def last_config_seq(self, device_id):
        """The seq of the device's newest config or setting downlink (they share one), or None."""
        rows = [self._one("SELECT id, fields FROM downlinks WHERE device_id = ? AND kind = ?"
                          " ORDER BY id DESC LIMIT 1", (device_id, kind)) for kind in ("config", "setting")]
        rows = [r for r in rows if r is not None]
        return (loads(max(rows, key=lambda r: r["id"])["fields"]) or {}).get("seq") if rows else None

    def alarm_ack_pending(self, device_id, alarm):
        """Whether the device's newest alarm_ack for this alarm is on its way: queued, sent, or
        transmitted confirmed and not yet acknowledged (neither failed nor acknowledged)."""
        for row in self._all("SELECT state, confirmed, fields FROM downlinks WHERE device_id = ? AND kind = 'alarm_ack'"
                             " ORDER BY id DESC LIMIT 20", (device_id,)):
            if (loads(row["fields"]) or {}).get("alarm") == alarm:
                return row["state"] in ("queued", "sent") or (row["state"] == "transmitted" and bool(row["confirmed"]))
        return False

    def answer_config(self, device_id, seq, answer, at):
        """Record a device's config_ack (its result) on its newest config or setting downlink with
        that seq; returns the downlink's id, or None when there is none."""
        best = None
        for kind in ("config", "setting"):
            for row in self._all("SELECT id, fields FROM downlinks WHERE device_id = ? AND kind = ?"
                                 " ORDER BY id DESC LIMIT 20", (device_id, kind)):
                if (loads(row["fields"]) or {}).get("seq") == seq:
                    best = max(best or 0, row["id"])
                    break
        if best is not None:
            self.update_downlink(best, answer=answer, answered_at=at)
        return best
