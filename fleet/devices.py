"""Changes to registered devices: edit, decommission, clear an alarm (and send its alarm_ack)."""
from flask import Blueprint, current_app, g, jsonify, request

from fleet import downlinks, errors, present, registry
from fleet.auth import WRITERS, remote_addr, require
from fleet.db import get_store

bp = Blueprint("devices", __name__, url_prefix="/api/devices")


def visible_device(device_id):
    """The device if the caller's department may see it, else NotFound (never Forbidden)."""
    device = get_store().device(device_id, g.identity.scope)
    if device is None:
        raise errors.NotFound("no device %d" % device_id)
    return device


@bp.route("/<int:device_id>", methods=("PATCH",))
@require(*WRITERS)
def update(device_id):
    """Change name, location, coordinates or tags."""
    device = visible_device(device_id)
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not data:
        raise errors.BadRequest("the body must be a non-empty JSON object")
    try:
        changed = registry.update(get_store(), g.identity, device, data, remote_addr())
    except registry.InvalidDevice as e:
        raise errors.Invalid("invalid fields: nothing was changed", errors=e.errors) from None
    return jsonify({"ok": True, "device": present.device(changed)})


@bp.route("/<int:device_id>/decommission", methods=("POST",))
@require(*WRITERS)
def decommission(device_id):
    """Decommission: its uplinks go to quarantine from now on; its history stays."""
    device = visible_device(device_id)
    if device["status"] == "decommissioned":
        raise errors.Conflict("device %d is already decommissioned" % device_id)
    registry.decommission(get_store(), g.identity, device, remote_addr())
    return jsonify({"ok": True, "device": present.device(get_store().device(device_id))})


@bp.route("/<int:device_id>/clear-alarm", methods=("POST",))
@require(*WRITERS)
def clear_alarm(device_id):
    """Acknowledge the device's open alarm; one the device repeats (SOS, leak, burst, rodent
    burst) also queues its alarm_ack downlink, returned as `downlink` (null when none is due)."""
    device = visible_device(device_id)
    if not device["alarm"]:
        raise errors.Conflict("device %d has no open alarm" % device_id)
    store = get_store()
    row = downlinks.acknowledge_alarm(store, g.identity, device, remote_addr(), current_app.config)
    return jsonify({"ok": True, "device": present.device(store.device(device_id)),
                    "downlink": downlinks.present(row) if row else None})
