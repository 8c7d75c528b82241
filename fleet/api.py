"""The read API: JSON for everything the UI shows, paged, scoped to the caller's department."""
from flask import Blueprint, g, jsonify, request

from fleet import errors, openapi, present, queries
from fleet.auth import ADMIN, READERS, csrf_token, require
from fleet.db import get_store
from fleet.devices import visible_device
from fleet.paging import envelope, int_arg, limit_arg

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.route("/openapi.json")
def openapi_document():
    """The OpenAPI 3.1 description of this API."""
    return jsonify(openapi.document())


@bp.route("/health")
def health():
    """Liveness for a load balancer: the database answers; no authentication."""
    return jsonify({"ok": True, "schema": get_store().schema_version()[-1]})


@bp.route("/me")
@require(*READERS, "technician", "integration")
def me():
    """Who the caller is: name, role, department (and, for a browser session, its CSRF token)."""
    i = g.identity
    out = {"ok": True, "kind": i.kind, "name": i.name, "role": i.role, "department": i.department}
    if i.kind == "user":
        out["csrf_token"] = csrf_token()
    return jsonify(out)


@bp.route("/departments")
@require(*READERS)
def departments():
    """The departments the caller may see."""
    rows = get_store().departments()
    scope = g.identity.scope
    return jsonify({"ok": True, "items": [d for d in rows if scope is None or d["code"] == scope]})


@bp.route("/overview")
@require(*READERS)
def overview():
    """Devices by kind and state, silent devices, low batteries and open alarms."""
    return jsonify(dict({"ok": True}, **queries.overview(get_store(), g.identity.scope)))


@bp.route("/devices")
@require(*READERS)
def device_list():
    """Devices, filtered by kind, state, tag and text, paged by ?after=<id>."""
    filters = queries.device_filters(request.args, g.identity.scope)
    limit = limit_arg()
    items = queries.device_list(get_store(), filters, int_arg("after", 0, 0), limit)
    return jsonify(envelope(items, limit, "after"))


@bp.route("/devices/<int:device_id>")
@require(*READERS)
def device(device_id):
    """One device with its latest reading, link quality, recent frames, events and quarantine."""
    data = queries.device_page(get_store(), visible_device(device_id))
    return jsonify(dict({"ok": True}, **data))


@bp.route("/devices/<int:device_id>/uplinks")
@require(*READERS)
def uplinks(device_id):
    """The device's uplinks, newest first, paged by ?before=<id>."""
    visible_device(device_id)
    limit = limit_arg()
    rows = get_store().uplinks(device_id, int_arg("before", None, 1), limit + 1)
    return jsonify(envelope([present.uplink(u) for u in rows], limit, "before"))


@bp.route("/devices/<int:device_id>/uplinks/<int:uplink_id>/receptions")
@require(*READERS)
def receptions(device_id, uplink_id):
    """Every gateway that heard one uplink."""
    visible_device(device_id)
    rows = get_store().uplinks(device_id, uplink_id + 1, 1)
    if not rows or rows[0]["id"] != uplink_id:
        raise errors.NotFound("no uplink %d on device %d" % (uplink_id, device_id))
    items = [present.timed(r, "time") for r in get_store().receptions(uplink_id)]
    return jsonify({"ok": True, "items": items, "limit": len(items), "next": None})


@bp.route("/devices/<int:device_id>/readings")
@require(*READERS)
def readings(device_id):
    """The device's readings of the last ?days= (1..31, default 7), oldest first, in SI units."""
    items = queries.chart_series(get_store(), visible_device(device_id), int_arg("days", 7, 1, 31))
    return jsonify({"ok": True, "items": items, "limit": len(items), "next": None})


@bp.route("/devices/<int:device_id>/events")
@require(*READERS)
def events(device_id):
    """The device's latest network-server events (join, status, ack, ...)."""
    visible_device(device_id)
    limit = limit_arg()
    items = [present.timed(e, "time") for e in get_store().net_events(device_id, limit)]
    return jsonify({"ok": True, "items": items, "limit": limit, "next": None})


@bp.route("/devices/<int:device_id>/audit")
@require(*READERS)
def device_audit(device_id):
    """The audit records of one device, newest first, paged by ?before=<id>."""
    visible_device(device_id)
    limit = limit_arg()
    rows = get_store().audit_log(None, int_arg("before", None, 1), limit + 1, "device", device_id)
    return jsonify(envelope([present.timed(r, "at") for r in rows], limit, "before"))


@bp.route("/tags")
@require(*READERS)
def tags():
    """The tags in use, with device counts."""
    items = get_store().tags(g.identity.scope)
    return jsonify({"ok": True, "items": items, "limit": len(items), "next": None})


def _quarantine_status():
    status = request.args.get("status", "open")
    if status not in ("open", "replayed", "discarded", "all"):
        raise errors.BadRequest("status must be open, replayed, discarded or all")
    return None if status == "all" else status


@bp.route("/quarantine")
@require(*READERS)
def quarantine():
    """Quarantined events (?status=open|replayed|discarded|all), newest first, paged by ?before=<id>."""
    limit = limit_arg()
    rows = get_store().quarantine(g.identity.scope, _quarantine_status(), None, int_arg("before", None, 1),
                                  limit + 1)
    return jsonify(envelope([present.timed(q, "received_at", "resolved_at") for q in rows], limit, "before"))


@bp.route("/quarantine/<int:entry_id>")
@require(*READERS)
def quarantine_entry(entry_id):
    """One quarantined event with its raw body."""
    entry = get_store().quarantine_entry(entry_id, g.identity.scope)
    if entry is None:
        raise errors.NotFound("no quarantine entry %d" % entry_id)
    return jsonify({"ok": True, "entry": present.timed(entry, "received_at", "resolved_at")})


@bp.route("/audit")
@require(*READERS)
def audit():
    """The audit log (admins: all; others: their department's), newest first, paged by ?before=<id>."""
    limit = limit_arg()
    scope = g.identity.scope if g.identity.role != ADMIN else None
    rows = get_store().audit_log(scope, int_arg("before", None, 1), limit + 1)
    return jsonify(envelope([present.timed(r, "at") for r in rows], limit, "before"))
