"""Ingest endpoints for the network servers, and quarantine replay.

POST /ingest/chirpstack?event=up|join|status|ack|txack|log   ChirpStack v4 HTTP integration
POST /ingest/tts                                             The Things Stack v3 webhooks
Both take one event, or (our extension, for bulk loads and re-delivery) a JSON
array of events, stored in one transaction. Authenticated by an API token with
the integration role (Authorization: Bearer ...).
"""
import io
import json
import time
from urllib.parse import parse_qsl

from flask import Blueprint, current_app, g, jsonify, request, signals

from fleet import crypto, errors, netservers, pipeline
from fleet.auth import ADMIN, INTEGRATION, WRITERS, Identity, remote_addr, require
from fleet.db import get_store, thread_store

bp = Blueprint("ingest", __name__, url_prefix="/ingest")


def _body():
    return _items(request.get_json(silent=True), current_app.config["MAX_BATCH"])


def _items(data, max_batch):
    # The events of a request body: (items, whether it was a batch).
    if data is None:
        raise errors.BadRequest("the body must be JSON (Content-Type: application/json)")
    if isinstance(data, list):
        if not data:
            raise errors.BadRequest("an empty batch")
        if len(data) > max_batch:
            raise errors.BadRequest("at most %d events per request" % max_batch)
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
    return jsonify(_answer_body(results, batch))


def _answer_body(results, batch):
    if batch:
        return {"ok": True, "results": results}
    return dict({"ok": True}, **results[0])


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


# ---- the fast path: a network server's posts, below Flask

FAST_PATH = "/ingest/chirpstack"
_EXTENSION = "cityfleet.ingest_fast_path"
_SIGNALS = (signals.request_started, signals.request_finished, signals.got_request_exception,
            signals.request_tearing_down, signals.appcontext_tearing_down, signals.appcontext_pushed,
            signals.appcontext_popped)


class FastPath:
    """ChirpStack events posted with a token, answered below Flask (a WSGI layer in front of it).

    A network server posts each uplink of the city as a request of its own, and
    Flask's machinery around a view (request and app contexts, routing, the
    response object, the hooks' dispatch) costs about as much CPU as storing the
    event. This layer answers exactly those requests, POST /ingest/chirpstack?event=
    with a bearer token, a JSON body and no cookie, doing what Flask, the hooks and
    the view do for them: the token check (auth.load_identity) and the view's role
    check, the token's use noted (accounts_api.note_token_use), the view's ingest(),
    the answer jsonify gives, with the headers the after-request hooks add, and no
    transaction left open (db.release_store). Every other request, and any it finds
    wrong (a bad token, a malformed body: no answer of its own), goes to Flask with
    its body, and Flask answers it as always. It stands aside for good when the app
    has a hook, route or signal receiver it was not written for (a new hook must be
    taught here first), as found at the first request, when the app is complete.
    """

    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self.enabled = None         # decided at the first request
        self.headers = []           # what the after-request hooks add to a JSON answer
        self.note_use = None        # accounts.note_token_use, when its hook is installed
        self.served = 0             # requests answered here (tests, figures)

    def __call__(self, environ, start_response):
        """The WSGI entry: answer here, or hand the request to Flask."""
        answer = None
        if environ.get("PATH_INFO") == FAST_PATH and environ.get("REQUEST_METHOD") == "POST":
            answer = self._answer(environ)
        if answer is None:
            return self.wsgi_app(environ, start_response)
        self.served += 1
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))]
                       + self.headers)
        return [answer]

    def _answer(self, environ):
        if self.enabled is None:
            try:
                self.enabled = self._learn()
            except Exception:       # noqa: BLE001 (then Flask answers every request, as without it)
                self.app.logger.warning("ingest fast path left aside", exc_info=True)
                self.enabled = False
        token, kind = _bearer(environ), _event_kind(environ.get("QUERY_STRING", ""))
        if (not self.enabled or token is None or kind is None or "HTTP_COOKIE" in environ
                or environ.get("SCRIPT_NAME") or not _is_json(environ.get("CONTENT_TYPE", ""))
                or any(signal.receivers for signal in _SIGNALS)):
            return None
        body = _read_body(environ, self.app.config.get("MAX_CONTENT_LENGTH"))
        if body is None:
            return None
        store = thread_store(self.app)
        try:
            return self._ingest(store, token, kind, body)
        except errors.ApiError:
            return None             # Flask answers it, in its own words
        except Exception:           # noqa: BLE001 (Flask answers it too, and logs what fails there)
            self.app.logger.warning("ingest fast path failed; Flask answers the request", exc_info=True)
            return None
        finally:
            if store._depth or store.conn.in_transaction:
                store.abort()

    def _ingest(self, store, token, kind, body):
        row = store.token_by_hash(crypto.token_hash(token))
        if row is None or row["role"] not in chirpstack.roles:
            return None             # Flask says why (401, 403)
        ident = Identity("token", row["id"], row["name"], row["role"], row["department"])
        try:
            data = json.loads(body)
        except ValueError:
            return None
        items, batch = _items(data, self.app.config["MAX_BATCH"])
        if self.note_use is not None:
            self.note_use(store, self.app.config["DATABASE"], ident.id, time.time())
        results = ingest(store, "chirpstack", kind, items, ident.scope)
        return (self.app.json.dumps(_answer_body(results, batch), separators=(",", ":")) + "\n").encode()

    def _learn(self):
        # Whether Flask would do for these requests exactly what _answer does, and the
        # headers its after-request hooks add. Hooks are final once requests come.
        app = self.app
        if not app.config.get("INGEST_FAST_PATH", True):
            return False
        from fleet import accounts, accounts_api, auth, db
        before = [f for key in (None, bp.name) for f in app.before_request_funcs.get(key, ())]
        known = [auth.load_identity, getattr(accounts_api, "note_token_use", None)]
        if before[:1] != known[:1] or any(f not in known for f in before):
            return False
        after = [f for key in (None, bp.name) for f in app.after_request_funcs.get(key, ())]
        if any((f.__module__, f.__name__) != ("fleet", "security_headers") for f in after):
            return False
        if (any(app.url_value_preprocessors.get(key) for key in (None, bp.name))
                or any(app.teardown_request_funcs.get(key) for key in (None, bp.name))
                or list(app.teardown_appcontext_funcs) != [db.release_store]
                or not isinstance(app.session_interface, auth.SessionInterface)
                or app.url_map.bind("localhost").match(FAST_PATH, method="POST") != ("ingest.chirpstack", {})
                or app.view_functions.get("ingest.chirpstack") is not chirpstack):
            return False
        if len(before) == 2:
            self.note_use = accounts.note_token_use
        with app.test_request_context(FAST_PATH, method="POST"):
            response = app.process_response(app.response_class("{}", mimetype="application/json"))
        self.headers = [(k, v) for k, v in response.headers.items() if k not in ("Content-Type", "Content-Length")]
        return True


def fast_path(app):
    """The app's ingest FastPath (for tests and figures)."""
    return app.extensions.get(_EXTENSION)


@bp.record_once
def _install_fast_path(state):
    state.app.wsgi_app = state.app.extensions[_EXTENSION] = FastPath(state.app, state.app.wsgi_app)


def _bearer(environ):
    scheme, _, value = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None


def _event_kind(query):
    # ?event= as request.args.get("event") reads it, when it is one Flask's view takes.
    kind = next((v for k, v in parse_qsl(query, keep_blank_values=True) if k == "event"), None)
    return kind if kind in netservers.CHIRPSTACK_EVENTS else None


def _is_json(content_type):
    mimetype = content_type.partition(";")[0].strip().lower()
    return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))


def _read_body(environ, limit):
    # The body, kept for Flask should it answer after all; None without a length or over the limit.
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    if length < 0 or (limit is not None and length > limit):
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return body
