"""Provisioning API: register boards, bulk import, claim codes. Bundles carry secrets: shown once."""
from flask import Blueprint, current_app, g, jsonify, request

from fleet import errors, registry
from fleet.auth import PROVISIONERS, remote_addr, require
from fleet.crypto import SecretBox
from fleet.db import get_store
from fleet.storage import Conflict

bp = Blueprint("provisioning", __name__, url_prefix="/api/provisioning")


def box():
    """The SecretBox for the configured DATA_KEY."""
    return SecretBox(current_app.config["DATA_KEY"])


def boards():
    """The board types the registry accepts."""
    return registry.board_names(current_app.config["BOARDS_DIR"])


def _secret(payload, status=201):
    response = jsonify(payload)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _register(items, claim, lines=None, csv_text=None):
    try:
        if csv_text is not None:
            bundles = registry.import_csv(get_store(), box(), g.identity, csv_text, boards(),
                                          current_app.config["JOIN_EUI"], claim, remote_addr())
        else:
            bundles = registry.register(get_store(), box(), g.identity, items, boards(),
                                        current_app.config["JOIN_EUI"], claim, remote_addr())
    except registry.InvalidDevice as e:
        raise errors.Invalid("invalid devices: nothing was registered", errors=e.errors) from None
    except Conflict as e:
        raise errors.Conflict(str(e)) from None
    return _secret({"ok": True, "bundles": bundles})


@bp.route("/boards")
@require(*PROVISIONERS)
def board_list():
    """The board types and sensor kinds a device may have."""
    return jsonify({"ok": True, "boards": list(boards()), "kinds": list(registry.SENSOR_KINDS)})


@bp.route("/devices", methods=("POST",))
@require(*PROVISIONERS)
def register():
    """Register one device (an object) or several ({"devices": [...], "claim": bool})."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise errors.BadRequest("the body must be a JSON object")
    if "devices" in data:
        items = data["devices"]
        if not isinstance(items, list) or not items:
            raise errors.BadRequest("devices must be a non-empty array")
        if len(items) > 1000:
            raise errors.BadRequest("at most 1000 devices per request; use the CSV import")
        claim = data.get("claim", False)
        if not isinstance(claim, bool):
            raise errors.BadRequest("claim must be true or false")
        return _register(items, claim)
    return _register([data], False)


@bp.route("/import", methods=("POST",))
@require(*PROVISIONERS)
def import_csv():
    """Register every row of a CSV (body text/csv, or form file "file"): all rows or none."""
    upload = request.files.get("file")
    raw = upload.read() if upload is not None else request.get_data()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise errors.BadRequest("the CSV must be UTF-8") from None
    if not text.strip():
        raise errors.BadRequest("the CSV is empty")
    claim = request.args.get("claim", "0") in ("1", "true", "yes")
    return _register(None, claim, csv_text=text)


@bp.route("/claim", methods=("POST",))
@require(*PROVISIONERS)
def claim():
    """Exchange a claim code for the device's provisioning bundle (works once)."""
    data = request.get_json(silent=True)
    code = data.get("claim_code") if isinstance(data, dict) else None
    if not isinstance(code, str) or not code.strip():
        raise errors.BadRequest("claim_code is required")
    result = registry.claim(get_store(), box(), g.identity, code, remote_addr())
    if result is None:
        raise errors.NotFound("no unclaimed device has that claim code")
    return _secret({"ok": True, "bundle": result}, 200)
