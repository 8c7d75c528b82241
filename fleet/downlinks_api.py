"""The downlink API: a device's downlink queue, read by any department reader, written by
operators and admins (fleet/downlinks.py does the work)."""
from flask import Blueprint, current_app, g, jsonify, request

from fleet import downlinks, errors
from fleet.auth import READERS, WRITERS, remote_addr, require
from fleet.db import get_store
from fleet.devices import visible_device
from fleet.paging import envelope, int_arg, limit_arg

bp = Blueprint("downlinks", __name__, url_prefix="/api/devices")


def visible_downlink(device, downlink_id):
    """The device's downlink, else NotFound."""
    row = get_store().downlink(downlink_id, device["id"])
    if row is None:
        raise errors.NotFound("no downlink %d on device %d" % (downlink_id, device["id"]))
    return row


@bp.route("/<int:device_id>/downlinks")
@require(*READERS)
def downlink_list(device_id):
    """The device's downlinks with their states, newest first, paged by ?before=<id>."""
    visible_device(device_id)
    limit = limit_arg()
    rows = get_store().downlinks(device_id, int_arg("before", None, 1), limit + 1)
    return jsonify(envelope([downlinks.present(r) for r in rows], limit, "before"))


@bp.route("/<int:device_id>/downlinks", methods=("POST",))
@require(*WRITERS)
def create(device_id):
    """Queue a downlink and hand it to the network server (201 with its state: sent, queued or failed)."""
    device = visible_device(device_id)
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        raise errors.BadRequest('the body must be a JSON object {"kind", "fields", "confirmed"}')
    row = downlinks.send(get_store(), g.identity, device, data["kind"], data.get("fields", {}), remote_addr(),
                         current_app.config, data.get("confirmed"))
    return jsonify({"ok": True, "downlink": downlinks.present(row)}), 201


@bp.route("/<int:device_id>/downlinks/<int:downlink_id>")
@require(*READERS)
def downlink(device_id, downlink_id):
    """One downlink of the device with its state and, when it failed, the reason."""
    row = visible_downlink(visible_device(device_id), downlink_id)
    return jsonify({"ok": True, "downlink": downlinks.present(row)})


@bp.route("/<int:device_id>/downlinks/<int:downlink_id>/retry", methods=("POST",))
@require(*WRITERS)
def retry(device_id, downlink_id):
    """Hand a queued or failed downlink to the network server again."""
    device = visible_device(device_id)
    row = downlinks.retry(get_store(), g.identity, device, visible_downlink(device, downlink_id), remote_addr(),
                          current_app.config)
    return jsonify({"ok": True, "downlink": downlinks.present(row)})
