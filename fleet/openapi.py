"""The OpenAPI 3.1 document, built from the app's routes and their docstrings, so it never
misses an endpoint; query parameters and bodies are described here."""
import re

from flask import current_app
from werkzeug.routing import IntegerConverter

_PAGE = [("limit", "integer", "page size (1..MAX_PAGE_SIZE)")]
_AFTER = _PAGE + [("after", "integer", "cursor: the id after which the page starts (from next.after)")]
_BEFORE = _PAGE + [("before", "integer", "cursor: the id before which the page starts (from next.before)")]
PARAMETERS = {
    "api.device_list": _AFTER + [("kind", "string", "sensor kind"), ("state", "string",
                                 "registered, active, silent, decommissioned, low_battery or alarm"),
                                 ("tag", "string", "a tag"), ("q", "string", "text in name, DevEUI or location"),
                                 ("department", "string", "admins only: one department")],
    "api.uplinks": _BEFORE,
    "api.quarantine": _BEFORE + [("status", "string", "open (default), replayed, discarded or all")],
    "api.audit": _BEFORE,
    "api.device_audit": _BEFORE,
    "downlinks.downlink_list": _BEFORE,
    "api.events": _PAGE,
    "api.readings": [("days", "integer", "1..31, default 7")],
    "ingest.chirpstack": [("event", "string", "up, join, status, ack, txack, log, location or integration")],
    "provisioning.import_csv": [("claim", "string", "1: give claim codes instead of bundles")],
    "accounts.users": _AFTER + [("department", "string", "one department's users")],
    "accounts.tokens": _BEFORE + [("department", "string", "admins only: one department's tokens"),
                                  ("live", "integer", "1: leave out revoked tokens")],
}
BODIES = {
    "ingest.chirpstack": "A ChirpStack v4 integration event (JSON, protobuf field names in camelCase), or an array.",
    "ingest.tts": "A The Things Stack v3 webhook message (uplink_message, join_accept, ...), or an array.",
    "provisioning.register": "A device {kind, board, department, name, location, latitude, longitude, tags}"
                             " or {devices: [...], claim: bool}.",
    "provisioning.import_csv": "text/csv with the columns kind, board, department, name, latitude, longitude,"
                               " location, tags (';'-separated).",
    "provisioning.claim": "{claim_code}",
    "devices.update": "Any of {name, location, latitude, longitude, tags}.",
    "downlinks.create": "{kind, fields, confirmed}: kind status_request {}, reboot {delay (s, optional)}, config"
                        " {interval, threshold_high, threshold_low: at least one; seq is assigned}, setting {setting (a name"
                        " of protocols/settings.py), value (whole number)}, alarm_ack"
                        " {alarm: sos, leak, burst or rodent_burst}, time_sync {time (optional, default now)};"
                        " confirmed defaults to true except for status_request and time_sync.",
    "accounts.add_user": "{username, role, department, password}; without a password one is generated and"
                         " returned once as `password`.",
    "accounts.update_user": "Any of {role, department, disabled (boolean)}.",
    "accounts.reset_password": "{password} or {} to have one generated and returned once as `password`.",
    "accounts.change_password": "{current_password, new_password}",
    "accounts.create_token": "{name, role, department}; an operator's tokens are integration or technician"
                             " tokens of their department. The answer's `secret` is shown this once.",
}
_ERROR = {"type": "object", "required": ["ok", "error", "status"], "properties": {
    "ok": {"const": False}, "error": {"type": "string"}, "status": {"type": "integer"},
    "errors": {"type": "array", "items": {"type": "object"}}}}


def _operation(endpoint, view, method, path_params):
    # path_params: [(name, JSON type)]
    doc = (view.__doc__ or endpoint).strip().splitlines()[0]
    op = {"operationId": endpoint.replace(".", "_"), "summary": doc, "tags": [endpoint.split(".")[0]],
          "parameters": [{"name": p, "in": "path", "required": True, "schema": {"type": t}}
                         for p, t in path_params],
          "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                        "default": {"description": "Error", "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Error"}}}}}}
    op["parameters"] += [{"name": n, "in": "query", "schema": {"type": t}, "description": d}
                         for n, t, d in PARAMETERS.get(endpoint, [])]
    if method in ("post", "patch") and endpoint in BODIES:
        mime = "text/csv" if endpoint == "provisioning.import_csv" else "application/json"
        op["requestBody"] = {"description": BODIES[endpoint], "content": {mime: {"schema": {}}}}
    roles = getattr(view, "roles", None)
    if roles:
        op["description"] = "Roles: %s." % ", ".join(roles)
    else:
        op["security"] = []
    return op


def document():
    """The OpenAPI document of every /api and /ingest route."""
    paths = {}
    for rule in current_app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/", "/ingest/")):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        view = current_app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            params = [(a, "integer" if isinstance(rule._converters.get(a), IntegerConverter) else "string")
                      for a in sorted(rule.arguments)]
            paths.setdefault(path, {})[method.lower()] = _operation(rule.endpoint, view, method.lower(), params)
    return {
        "openapi": "3.1.0",
        "info": {"title": "cityfleet fleet service", "version": "1"},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {"Error": _ERROR},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "session": {"type": "apiKey", "in": "cookie", "name": "session"}}},
        "security": [{"bearer": []}, {"session": []}],
    }
