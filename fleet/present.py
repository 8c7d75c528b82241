"""Rows from the Store shaped for JSON and templates: times in RFC 3339 UTC, states named."""
import datetime
import time

from flask import current_app


def iso(ts):
    """Epoch seconds as RFC 3339 UTC (None stays None)."""
    if ts is None:
        return None
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).isoformat(timespec="seconds").replace(
        "+00:00", "Z")


def state_of(device, now=None):
    """A device's state: registered, active, silent or decommissioned."""
    if device["status"] != "active":
        return device["status"]
    cutoff = (now or time.time()) - current_app.config["SILENT_AFTER"]
    return "active" if (device["last_seen"] or 0) >= cutoff else "silent"


def device(d):
    """A device as the API shows it (never its secrets)."""
    out = {k: d[k] for k in ("id", "dev_eui", "join_eui", "name", "kind", "board", "department", "location",
                             "latitude", "longitude", "tags", "battery", "battery_mv", "firmware", "alarm",
                             "claim_pending", "last_rssi", "last_snr")}
    out.update(state=state_of(d), status=d["status"], last_seen=iso(d["last_seen"]), created_at=iso(d["created_at"]),
               decommissioned_at=iso(d["decommissioned_at"]), last_status=d["last_status"])
    return out


def uplink(u):
    """An uplink as the API shows it."""
    return dict(u, time=iso(u["time"]))


def timed(row, *keys):
    """A copy of row with the named epoch fields as RFC 3339."""
    return dict(row, **{k: iso(row.get(k)) for k in keys})
