"""Ingest endpoints for the network servers, and quarantine replay.

POST /ingest/chirpstack?event=up|join|status|ack|txack|log   ChirpStack v4 HTTP integration
POST /ingest/tts                                             The Things Stack v3 webhooks
Both take one event, or (our extension, for bulk loads and re-delivery) a JSON
array of events, stored in one transaction. Authenticated by an API token with
the integration role (Authorization: Bearer ...).
"""
from flask import Blueprint, current_app, g, jsonify, request

from fleet import errors, netservers, pipeline
from fleet.auth import ADMIN, INTEGRATION, WRITERS, remote_addr, require
from fleet.db import get_store

bp = Blueprint("ingest", __name__, url_prefix="/ingest")


def _body():
    data = request.get_json(silent=True)
    if data is None:
        raise errors.BadRequest("the body must be JSON (Content-Type: application/json)")
    if isinstance(data, list):
        if not data:
            raise errors.BadRequest("an empty batch")
        if len(data) > current_app.config["MAX_BATCH"]:
            raise errors.BadRequest("at most %d events per request" % current_app.config["MAX_BATCH"])
        return data, True
    return [data], False


def _normalise(source, kind, items):
    out = []
    for i, item in enumerate(items):
        try:
            out.append(netservers.chirpstack(kind, item) if source == "chirpstack" else netservers.tts(item))
        except netservers.EventError as e:
            where = "events[%d]." % i if len(items) > 1 else ""
            raise errors.BadRequest("%s%s" % (where, e)) from None
    return out


def _quarantine(store, event, raw, outcome, scope=None):
    # An entry for a device unknown (in scope) goes to the department of the token
    # that posted it, if any, so that its staff see it; otherwise to admins alone.
    device = outcome.device
    return store.add_quarantine({
        "received_at": event["time"], "source": event["source"], "event": event["event"],
        "reason": outcome.reason, "detail": outcome.detail, "dev_eui": event["dev_eui"],
        "department": device["department"] if device else scope,
        "raw": {"source": event["source"], "kind": raw["kind"], "body": raw["body"]},
    })


def ingest(store, source, kind, items, scope=None):
    """Normalise and store events in one transaction; rejected ones go to quarantine.

    The transaction may be shared with concurrent requests (Store.grouped): this
    request's events commit all together or not at all, and before it returns.

    Raises errors.BadRequest (nothing written) when any event is malformed.
    Returns one result dict per event.
    """
    events = _normalise(source, kind, items)
    # Decoding and row building happen here, outside the write transaction, which
    # one writer at a time holds: inside it, only the writes and their checks.
    writes = [pipeline.prepare(store, event, scope) for event in events]

    def write(store):
        results = []
        for event, item, write_event in zip(events, items, writes):
            outcome = write_event(store)
            result = outcome.as_dict()
            if outcome.status == "rejected":
                result["quarantine_id"] = _quarantine(store, event, {"kind": kind, "body": item}, outcome, scope)
            results.append(result)
        return results
    # Concurrent requests share one commit (group commit); each answers only after it.
    return store.grouped(write)


def _answer(results, batch):
    if batch:
        return jsonify({"ok": True, "results": results})
    return jsonify(dict({"ok": True}, **results[0]))


@bp.route("/chirpstack", methods=("POST",))
@require(INTEGRATION, ADMIN)
def chirpstack():
    """Take ChirpStack v4 HTTP-integration events; ?event= names their type."""
    kind = request.args.get("event")
    if kind not in netservers.CHIRPSTACK_EVENTS:
        raise errors.BadRequest("?event= must be one of %s" % ", ".join(netservers.CHIRPSTACK_EVENTS))
    items, batch = _body()
    return _answer(ingest(get_store(), "chirpstack", kind, items, g.identity.scope), batch)


@bp.route("/tts", methods=("POST",))
@bp.route("/tts/<path:message_path>", methods=("POST",))
@require(INTEGRATION, ADMIN)
def tts(message_path=None):
    """Take The Things Stack v3 webhook messages (uplink_message, join_accept, ...).

    A webhook may give each message type its own path under /ingest/tts/; the
    message's kind is read from its body either way.
    """
    items, batch = _body()
    return _answer(ingest(get_store(), "tts", None, items, g.identity.scope), batch)


def replay(store, ident, entry, addr=None):
    """Process a quarantined event again; on success close the entry (audited).

    Returns the outcome dict; a rejection leaves the entry open with its reason.
    """
    raw = entry["raw"]
    try:
        event = _normalise(raw["source"], raw["kind"], [raw["body"]])[0]
    except errors.BadRequest as e:
        return {"status": "rejected", "reason": "malformed", "detail": e.message}
    with store.transaction():
        outcome = pipeline.process(store, event, ident.scope)
        if outcome.status != "rejected":
            store.resolve_quarantine(entry["id"], "replayed", outcome.uplink_id)
            store.audit(ident.actor, "quarantine.replay", "quarantine", entry["id"], entry["department"] or
                        (outcome.device or {}).get("department"), {"outcome": outcome.status}, addr)
    return outcome.as_dict()


def discard(store, ident, entry, addr=None):
    """Close a quarantine entry without storing it (audited); its raw event stays."""
    with store.transaction():
        store.resolve_quarantine(entry["id"], "discarded")
        store.audit(ident.actor, "quarantine.discard", "quarantine", entry["id"], entry["department"], {}, addr)


def _entry(entry_id):
    entry = get_store().quarantine_entry(entry_id, g.identity.scope)
    if entry is None:
        raise errors.NotFound("no quarantine entry %d" % entry_id)
    if entry["status"] != "open":
        raise errors.Conflict("quarantine entry %d is already %s" % (entry_id, entry["status"]))
    return entry


@bp.route("/quarantine/<int:entry_id>/replay", methods=("POST",))
@require(*WRITERS)
def replay_view(entry_id):
    """Replay one quarantined event after its cause is fixed."""
    result = replay(get_store(), g.identity, _entry(entry_id), remote_addr())
    if result["status"] == "rejected":
        raise errors.Conflict("replay rejected again: %s (%s)" % (result["reason"], result["detail"]))
    return jsonify(dict({"ok": True}, **result))


@bp.route("/quarantine/<int:entry_id>/discard", methods=("POST",))
@require(*WRITERS)
def discard_view(entry_id):
    """Close one quarantined event without storing it."""
    discard(get_store(), g.identity, _entry(entry_id), remote_addr())
    return jsonify({"ok": True, "status": "discarded"})
