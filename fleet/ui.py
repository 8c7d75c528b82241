"""The department web UI: server-rendered pages over the same queries as the API."""
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for

from fleet import charts, downlinks, errors, ingest, queries, registry
from fleet.auth import ADMIN, READERS, WRITERS, remote_addr, require
from fleet.db import get_store
from fleet.devices import visible_device
from fleet.paging import int_arg
from fleet.present import iso
from fleet.storage import STATES
from fleet.storage.migrations import READING_COLUMNS

bp = Blueprint("ui", __name__)
_PAGE = 50
_DOWNLINKS = 10       # the newest downlinks a device page lists (the API pages through all)
# The device page's downlink forms: the number fields each kind's form has.
_FORM_FIELDS = {"status_request": (), "reboot": ("delay",),
                "config": ("interval", "threshold_high", "threshold_low")}


@bp.app_template_filter("when")
def when(value):
    """An RFC 3339 time (or epoch seconds) shortened for a table cell."""
    if value is None:
        return "never"
    text = iso(value) if isinstance(value, (int, float)) else value
    return text[:16].replace("T", " ")


@bp.app_template_filter("duration")
def duration(seconds):
    """Seconds as days and hours, e.g. "7 d 2 h"."""
    if seconds is None:
        return "?"
    days, rest = divmod(int(seconds), 86400)
    return ("%d d %d h" % (days, rest // 3600)) if days else "%d h %d min" % (rest // 3600, rest % 3600 // 60)


@bp.route("/")
@require(*READERS)
def overview():
    """The department overview."""
    return render_template("ui/overview.html", data=queries.overview(get_store(), g.identity.scope))


@bp.route("/devices")
@require(*READERS)
def device_list():
    """The device list with search and filters."""
    filters = queries.device_filters(request.args, g.identity.scope)
    items = queries.device_list(get_store(), filters, int_arg("after", 0, 0), _PAGE)
    more = len(items) > _PAGE
    items = items[:_PAGE]
    args = {k: v for k, v in request.args.items() if k != "after" and v}
    next_url = url_for("ui.device_list", after=items[-1]["id"], **args) if more else None
    return render_template("ui/devices.html", items=items, next_url=next_url, args=request.args,
                           kinds=list(READING_COLUMNS), states=STATES, tags=get_store().tags(g.identity.scope))


@bp.route("/devices/<int:device_id>")
@require(*READERS)
def device(device_id):
    """One device: latest reading, 7-day chart, link quality, firmware, frames, quarantine."""
    store = get_store()
    dev = visible_device(device_id)
    data = queries.device_page(store, dev)
    series = queries.chart_series(store, dev, 7)
    return render_template("ui/device.html", data=data, d=data["device"],
                           charts=charts.device_charts(dev["kind"], series), readings=len(series),
                           downlinks=store.downlinks(device_id, None, _DOWNLINKS),
                           setting_names=downlinks.setting_names())


@bp.route("/devices/<int:device_id>/decommission", methods=("POST",))
@require(*WRITERS)
def decommission(device_id):
    """Decommission from the device page."""
    dev = visible_device(device_id)
    if dev["status"] == "decommissioned":
        raise errors.Conflict("device %d is already decommissioned" % device_id)
    registry.decommission(get_store(), g.identity, dev, remote_addr())
    flash("Device %s decommissioned." % dev["dev_eui"])
    return redirect(url_for("ui.device", device_id=device_id))


@bp.route("/devices/<int:device_id>/clear-alarm", methods=("POST",))
@require(*WRITERS)
def clear_alarm(device_id):
    """Acknowledge an alarm from the device page."""
    dev = visible_device(device_id)
    if dev["alarm"]:
        row = downlinks.acknowledge_alarm(get_store(), g.identity, dev, remote_addr(), current_app.config)
        flash("Alarm cleared." + (" " + _downlink_news(row) if row else ""))
    return redirect(url_for("ui.device", device_id=device_id))


def _downlink_news(row):
    # What became of a downlink just queued, for the flash message.
    text = "%s downlink %s" % (row["kind"], row["state"])
    return text + (": " + row["reason"] if row["reason"] else "") + "."


def _form_int(name):
    text = (request.form.get(name) or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise errors.Invalid("%s must be a whole number" % name) from None


@bp.route("/devices/<int:device_id>/downlinks", methods=("POST",))
@require(*WRITERS)
def send_downlink(device_id):
    """Send a device a status request, a reboot or new settings from its page."""
    dev = visible_device(device_id)
    kind = request.form.get("kind", "")
    try:
        fields = {name: _form_int(name) for name in _FORM_FIELDS.get(kind, ())}
        if kind == "setting":
            fields = {"setting": request.form.get("setting", "").strip(), "value": _form_int("value")}
        row = downlinks.send(get_store(), g.identity, dev, kind, fields, remote_addr(), current_app.config)
    except errors.ApiError as e:
        if e.status not in (409, 422):
            raise
        flash("Not sent: %s" % e.message)
    else:
        flash(_downlink_news(row))
    return redirect(url_for("ui.device", device_id=device_id) + "#downlinks")


@bp.route("/devices/<int:device_id>/downlinks/<int:downlink_id>/retry", methods=("POST",))
@require(*WRITERS)
def retry_downlink(device_id, downlink_id):
    """Send a queued or failed downlink again from the device page."""
    dev = visible_device(device_id)
    row = get_store().downlink(downlink_id, device_id)
    if row is None:
        raise errors.NotFound("no downlink %d on device %d" % (downlink_id, device_id))
    try:
        row = downlinks.retry(get_store(), g.identity, dev, row, remote_addr(), current_app.config)
    except errors.Conflict as e:
        flash("Not sent: %s" % e.message)
    else:
        flash(_downlink_news(row))
    return redirect(url_for("ui.device", device_id=device_id) + "#downlinks")


@bp.route("/quarantine")
@require(*READERS)
def quarantine():
    """Quarantined events of the department."""
    before = int_arg("before", None, 1)
    rows = get_store().quarantine(g.identity.scope, "open", None, before, _PAGE + 1)
    next_url = url_for("ui.quarantine", before=rows[_PAGE - 1]["id"]) if len(rows) > _PAGE else None
    return render_template("ui/quarantine.html", items=rows[:_PAGE], next_url=next_url)


@bp.route("/quarantine/<int:entry_id>/<action>", methods=("POST",))
@require(*WRITERS)
def quarantine_action(entry_id, action):
    """Replay or discard a quarantined event."""
    if action not in ("replay", "discard"):
        raise errors.NotFound("no such action")
    entry = get_store().quarantine_entry(entry_id, g.identity.scope)
    if entry is None or entry["status"] != "open":
        raise errors.NotFound("no open quarantine entry %d" % entry_id)
    if action == "discard":
        ingest.discard(get_store(), g.identity, entry, remote_addr())
        flash("Entry %d discarded." % entry_id)
    else:
        result = ingest.replay(get_store(), g.identity, entry, remote_addr())
        flash("Replay of entry %d: %s%s" % (entry_id, result["status"],
                                            " (%s)" % result.get("detail") if result.get("reason") else ""))
    return redirect(url_for("ui.quarantine"))


@bp.route("/audit")
@require(*READERS)
def audit():
    """The audit log: everything for admins, the department's own for others."""
    before = int_arg("before", None, 1)
    scope = None if g.identity.role == ADMIN else g.identity.scope
    rows = get_store().audit_log(scope, before, _PAGE + 1)
    next_url = url_for("ui.audit", before=rows[_PAGE - 1]["id"]) if len(rows) > _PAGE else None
    return render_template("ui/audit.html", items=rows[:_PAGE], next_url=next_url)
