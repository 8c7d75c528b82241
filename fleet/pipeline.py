"""What ingest does with a normalised event: decode, dedupe, store, or say why not.

process() never writes a quarantine entry itself; it returns an Outcome whose
status is "rejected" with a reason, and the caller quarantines (ingest) or
leaves the entry open (replay).
"""
from protocols import frames
from protocols import schema as S

from fleet.alarms import alarm_of
from fleet.downlinks import held_alarm, on_config_ack, on_net_event
from fleet.storage.base import NotFound, dumps
from fleet.storage.migrations import READING_COLUMNS, SIDE_SENDERS

# Reasons an event is quarantined.
UNKNOWN_DEVICE = "unknown_device"
DECOMMISSIONED = "decommissioned"
UNDECODABLE = "undecodable"
WRONG_KIND = "wrong_kind"

_DEVICE_EVENTS_SEEN = ("join", "status")   # events that prove the device is alive
_STATUS_KINDS = ("status", "counters", "config_ack", "ota_ack")


class Outcome:
    """The result of processing one event."""

    def __init__(self, status, reason=None, detail=None, device=None, uplink_id=None):
        self.status = status          # "stored", "duplicate", "recorded" or "rejected"
        self.reason = reason
        self.detail = detail
        self.device = device
        self.uplink_id = uplink_id

    def as_dict(self):
        """The outcome as the ingest endpoint reports it."""
        out = {"status": self.status}
        if self.uplink_id is not None:
            out["uplink_id"] = self.uplink_id
        if self.reason:
            out["reason"] = self.reason
            out["detail"] = self.detail
        return out


def _jsonable(values):
    return {k: (v.hex() if isinstance(v, bytes) else v) for k, v in values.items()}


def _decode(device, payload):
    # (frame kind, values, reading, state) or an Outcome saying why not.
    try:
        kind, values = frames.decode(payload)
    except frames.FrameError as e:
        return Outcome("rejected", UNDECODABLE, str(e) or "empty payload", device)
    if frames.kind_of(kind)[S.DIRECTION] != S.UP:
        return Outcome("rejected", UNDECODABLE, "%s is a downlink kind" % kind, device)
    # A sensor sends its own kind's readings, and side kinds (night_flow, alarm) where allowed.
    senders = SIDE_SENDERS.get(kind, (kind,) if kind in READING_COLUMNS else None)
    if senders is not None and device["kind"] not in senders:
        return Outcome("rejected", WRONG_KIND, "a %s frame from a %s device" % (kind, device["kind"]), device)
    reading, state = None, {}
    if senders is not None:
        reading = (kind, values)
        state["battery"] = values.get("battery")
        alarm = alarm_of(kind, values)
        if alarm:
            state["alarm"] = alarm
    elif kind == "status":
        state.update(firmware=values["firmware"], battery_mv=values["battery_mv"], last_status=_jsonable(values))
    return kind, _jsonable(values), reading, state


def _uplink_rows(device, event):
    # The rows of an "up" event, or an Outcome saying why not: no storage needed.
    up = event["uplink"]
    decoded = _decode(device, up["payload"])
    if isinstance(decoded, Outcome):
        return decoded
    kind, values, reading, state = decoded
    best = max(up["receptions"], key=lambda r: r["rssi"], default=None)
    if best is not None:
        state.update(last_rssi=best["rssi"], last_snr=best["snr"])
    row = dict({k: up[k] for k in ("f_cnt", "f_port", "dr", "frequency", "sf", "bandwidth", "coding_rate",
                                   "airtime", "payload")},
               device_id=device["id"], time=event["time"], source=event["source"], dedup_id=event["dedup_id"],
               frame_kind=kind, fields=dumps(values))          # JSON text now, not under the write lock
    return row, up["receptions"], reading, state


def _store_uplink(store, device, rows):
    # The device's session, and whether it is still in service, are read by the
    # insert itself: Storage raises NotFound when it was decommissioned meanwhile.
    # device may be its facts alone (Store.device_facts: id, dev_eui, kind, department).
    if "alarm" in rows[3]:        # a repeat of an alarm already acknowledged to the device does not reopen it
        rows = rows[:3] + (held_alarm(store, device, rows[2], rows[3]),)
    uplink_id = store.add_uplink(*rows)
    if uplink_id is None:
        return Outcome("duplicate", device=device)
    if rows[0]["frame_kind"] == "config_ack":      # the device's answer to a config or setting downlink
        on_config_ack(store, device, rows[0]["fields"], rows[0]["time"])
    return Outcome("stored", device=device, uplink_id=uplink_id)


def _uplink(store, device, event):
    rows = _uplink_rows(device, event)
    if isinstance(rows, Outcome):
        return rows
    return _store_uplink(store, device, rows)


def _net_event(store, device, event):
    body = event["body"]
    kind = event["event"]
    state = {}
    if kind == "status" and not body.get("battery_unavailable") and not body.get("external_power"):
        state["battery"] = body.get("battery_level")
    with store.transaction():
        if kind == "join":
            store.next_session(device["id"])
        store.add_net_event(device["id"], event["time"], event["source"], kind, body, state,
                            seen=kind in _DEVICE_EVENTS_SEEN)
        on_net_event(store, device, event)      # a downlink's txack, ack or failure moves its state
    return Outcome("recorded", device=device)


def process(store, event, scope=None):
    """Store one normalised event for the device it names, within scope (a department or None).

    Run inside a write transaction, it reads everything it decides on in that transaction."""
    device = store.device_by_eui(event["dev_eui"])
    if device is None or (scope is not None and device["department"] != scope):
        return Outcome("rejected", UNKNOWN_DEVICE, "no device with DevEUI %s" % event["dev_eui"])
    if device["status"] == "decommissioned":
        return Outcome("rejected", DECOMMISSIONED, "device %d is decommissioned" % device["id"], device)
    if event["event"] == "up":
        return _uplink(store, device, event)
    return _net_event(store, device, event)


def prepare(store, event, scope=None):
    """Do what needs no write lock for one event, before its write transaction; returns
    write(store) -> Outcome, to run inside that transaction.

    An uplink of a known device in scope is decoded and its rows built here, from the
    device's unchanging facts (cached per process); inside the transaction only its
    inserts run, and they check that the device is still in service. Every other
    event, and an uplink that would be rejected, is left to process() inside the
    transaction, so the order of checks and their outcome stay exactly process()'s.
    """
    def inside(store):
        return process(store, event, scope)
    if event["event"] != "up":
        return inside
    device = store.device_facts(event["dev_eui"])
    if device is None or (scope is not None and device["department"] != scope):
        return inside
    rows = _uplink_rows(device, event)
    if isinstance(rows, Outcome):
        return inside

    def write(store):
        try:
            return _store_uplink(store, device, rows)
        except NotFound:                 # decommissioned since: process() says so
            return process(store, event, scope)
    return write
