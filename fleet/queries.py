"""What the UI and the API show, gathered once for both (the API is the UI's data as JSON)."""
import time

from flask import current_app

from fleet import errors, present
from fleet.storage import STATES
from fleet.storage.migrations import READING_COLUMNS, SIDE_SENDERS

DAY = 86400


def _thresholds():
    c = current_app.config
    return {"silent_after": c["SILENT_AFTER"], "low_battery": c["LOW_BATTERY"]}


def overview(store, scope):
    """Devices by kind and state, silent and low-battery devices and open alarms, for a department."""
    rows = store.overview(scope, **_thresholds())
    totals = {k: sum(r[k] for r in rows) for k in ("registered", "active", "silent", "decommissioned",
                                                    "low_battery", "alarm", "total")}
    lists = {s: [present.device(d) for d in store.list_devices(scope, state=s, limit=10, **_thresholds())]
             for s in ("alarm", "silent", "low_battery")}
    name = (store.department(scope) or {}).get("name") if scope else None
    return {"department": scope, "department_name": name, "by_kind": rows, "totals": totals, "alarms": lists["alarm"],
            "silent": lists["silent"], "low_battery": lists["low_battery"],
            "quarantine_open": len(store.quarantine(scope, "open", limit=100))}


def device_filters(args, scope):
    """The device-list filters from query arguments, checked (BadRequest names a bad one)."""
    f = {k: (args.get(k) or None) for k in ("kind", "state", "tag", "q")}
    if f["kind"] and f["kind"] not in READING_COLUMNS:
        raise errors.BadRequest("kind must be one of %s" % ", ".join(READING_COLUMNS))
    if f["state"] and f["state"] not in STATES:
        raise errors.BadRequest("state must be one of %s" % ", ".join(STATES))
    if f["q"] and len(f["q"]) > 100:
        raise errors.BadRequest("q is at most 100 characters")
    department = args.get("department") or None
    if department and scope is not None and department != scope:
        department = "\x00none"     # another department: an empty list, not an error
    f["department"] = scope if scope is not None else department
    return f


def device_list(store, filters, after, limit):
    """One page of devices (limit + 1 fetched, so the caller knows of a next page)."""
    rows = store.list_devices(filters["department"], filters["kind"], filters["state"], filters["tag"],
                              filters["q"], after, limit + 1, **_thresholds())
    return [present.device(d) for d in rows]


def chart_series(store, device, days=7):
    """The device's readings of the last days, oldest first, with the fields charted for its kind."""
    since = time.time() - days * DAY
    rows = store.readings(device["kind"], device["id"], since)
    return [present.timed(r, "time") for r in rows]


def device_page(store, device, days=7):
    """Everything the device page shows."""
    since = time.time() - days * DAY
    latest = store.latest_reading(device["kind"], device["id"])
    return {
        "device": present.device(device),
        "latest": present.timed(latest, "time") if latest else None,
        "link": store.link_summary(device["id"], since),
        "uplinks": [present.uplink(u) for u in store.uplinks(device["id"], limit=20)],
        # what the profile sends beside its readings: nights (the leak indicator) and alarm frames
        "night_flow": [present.timed(r, "time") for r in store.readings("night_flow", device["id"], since)]
        if device["kind"] in SIDE_SENDERS["night_flow"] else [],
        "alarm_frames": [present.timed(r, "time") for r in store.readings("alarm", device["id"], since)][-20:],
        "events": [present.timed(e, "time") for e in store.net_events(device["id"], limit=10)],
        "quarantine": [present.timed(q, "received_at", "resolved_at")
                       for q in store.quarantine(None, None, device_eui=device["dev_eui"], limit=10)],
    }
