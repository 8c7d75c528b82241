"""Downlinks: frames the fleet sends a device, queued here and handed to the network server.

    row = queue(store, identity, device, "reboot", {"delay": 10}, addr)   # audited, state queued
    row = deliver(store, device, row, app.config)                         # sent, or failed with the reason

A downlink's state: queued (in the fleet only) -> sent (the network server took it and gave
its id) -> transmitted (a gateway sent it: ChirpStack txack, TTS downlink_sent) ->
acknowledged (the device's ACK of a confirmed downlink: ChirpStack ack with acknowledged,
TTS downlink_ack); or failed, with the reason (the server refused it or could not be
reached, the device did not acknowledge it, TTS downlink_failed). Ingest moves the states
through on_net_event(), and records a config or setting downlink's answer (the device's
config_ack result, by seq) through on_config_ack(). Delivery never raises for the network server's faults and waits at
most NETWORK_SERVER_TIMEOUT, so a web request is not held long; a failed downlink stays in
the queue and can be retried. NETWORK_SERVER_API_KEY never reaches a log, an answer, the
audit log or a stored reason.
"""
import base64
import json
import logging
import re
import time
import urllib.error
import urllib.parse
import urllib.request

from protocols import frames
from protocols import schema as S

from fleet import errors
from fleet.alarms import ALARM_TEXT
from fleet.present import iso

log = logging.getLogger(__name__)

# What operators may send, each with whether it goes confirmed unless asked otherwise: a
# device answers a status request with its status frame, so that one needs no ACK.
OPERATOR_KINDS = {"status_request": False, "reboot": True, "config": True, "setting": True, "alarm_ack": True,
                  "time_sync": False}
_CONFIG_SETTINGS = ("interval", "threshold_high", "threshold_low")
# A device's open alarm text (fleet/alarms.py) -> the ALARMS name its alarm_ack carries.
_ACK_NAME = {text: name for name, text in ALARM_TEXT.items()}
# Our id in a TTS downlink's correlation_ids: TTS answers a push with no id of its own,
# and keeps the correlation ids in the downlink_* events it sends back.
_TTS_CORRELATION = "cityfleet:downlink:%d"
_TTS_CORRELATION_RE = re.compile(r"^cityfleet:downlink:(\d+)$")
_TIMES = ("queued_at", "sent_at", "transmitted_at", "done_at", "answered_at")


class DeliveryError(Exception):
    """The network server refused a downlink or could not be reached; the message says which."""


def ack_name(alarm):
    """The ALARMS name to acknowledge for a device's open alarm, or None when the device
    does not repeat that alarm until acknowledged (low pressure, cleaning needed)."""
    name = _ACK_NAME.get(alarm, alarm)
    return name if name in S.ALARMS else None


def present(row):
    """A downlink as the API shows it: times in RFC 3339, the frame in hex."""
    out = dict(row, payload=bytes(row["payload"]).hex())
    out.update({k: iso(row.get(k)) for k in _TIMES})
    return out


def _invalid(message, field=None):
    return errors.Invalid(message, errors=[{"field": field or "fields", "message": message}])


def _fields(store, device, kind, fields):
    # The frame's fields, completed (config's seq, time_sync's time), and its bytes.
    if kind not in OPERATOR_KINDS:
        raise _invalid("kind must be one of %s" % ", ".join(OPERATOR_KINDS), "kind")
    if not isinstance(fields, dict):
        raise _invalid("fields must be an object")
    fields = dict(fields)
    if kind == "setting":
        return _setting(store, device, fields)
    known = [f[S.NAME] for f in frames.kind_of(kind)[S.FIELDS]]
    unknown = sorted(set(fields) - set(known) - {"seq"})
    if unknown:
        raise _invalid("%s takes no %s (it takes %s)" % (kind, ", ".join(unknown), ", ".join(known) or "no fields"),
                       unknown[0])
    if kind == "config":
        if not any(fields.get(k) is not None for k in _CONFIG_SETTINGS):
            raise _invalid("config needs at least one of %s" % ", ".join(_CONFIG_SETTINGS))
        fields["seq"] = _next_seq(store, device)
    elif "seq" in fields:
        raise _invalid("%s takes no seq" % kind, "seq")
    if kind == "time_sync" and fields.get("time") is None:
        fields["time"] = int(time.time())
    fields = {k: v for k, v in fields.items() if v is not None}
    try:
        return fields, frames.encode(kind, fields)
    except frames.FieldError as e:
        raise _invalid(str(e), e.field) from None
    except (frames.FrameError, TypeError, ValueError) as e:
        raise _invalid(str(e)) from None


def _next_seq(store, device):
    # config and setting downlinks share one seq, which the device's config_ack echoes.
    last = store.last_config_seq(device["id"])
    return 0 if last is None else (last + 1) % 256


def _setting(store, device, fields):
    # One setting by name ({"setting": "move_m", "value": 100}), as protocols/settings.py
    # checks and encodes it; imported here, so a fleet without it still serves the rest.
    from protocols import settings as table
    if set(fields) - {"setting", "value"}:
        raise _invalid("setting takes {setting, value}", sorted(set(fields) - {"setting", "value"})[0])
    name, value = fields.get("setting"), fields.get("value")
    if not isinstance(name, str) or not name:
        raise _invalid("setting: the setting's name is missing", "setting")
    seq = _next_seq(store, device)
    try:
        [payload] = table.setting_downlinks([(name, value)], seq)
    except table.SettingError as e:
        raise _invalid(str(e), "value" if "outside" in str(e) or "whole number" in str(e) else "setting") from None
    return {"seq": seq, "setting": name, "value": value}, payload


def setting_names():
    """The setting names a setting downlink can carry (protocols/settings.py), for the device page."""
    try:
        from protocols import settings as table
    except ImportError:
        return ()
    names = []
    while table.name_of(len(names)) is not None:      # the table's order is its indexes'
        names.append(table.name_of(len(names)))
    return tuple(names)


def queue(store, identity, device, kind, fields, remote_addr, settings, confirmed=None):
    """Queue one downlink for the device (state queued) and audit it; returns its row.

    Raises errors.Invalid for a kind or fields the frame schema refuses, errors.Conflict for
    a decommissioned device. Delivery is deliver()'s job."""
    if device["status"] == "decommissioned":
        raise errors.Conflict("device %d is decommissioned" % device["id"])
    confirmed = OPERATOR_KINDS.get(kind, True) if confirmed is None else confirmed
    if not isinstance(confirmed, bool):
        raise _invalid("confirmed must be true or false", "confirmed")
    port = int(settings.get("DOWNLINK_PORT") or 2)
    with store.transaction():
        fields, payload = _fields(store, device, kind, fields)
        downlink_id = store.add_downlink(device["id"], device["department"], kind, fields, payload, port,
                                         confirmed, identity.actor)
        store.audit(identity.actor, "downlink.queue", "device", device["id"], device["department"],
                    {"downlink_id": downlink_id, "kind": kind, "fields": fields, "f_port": port,
                     "confirmed": confirmed, "payload": payload.hex()}, remote_addr)
    return store.downlink(downlink_id)


def send(store, identity, device, kind, fields, remote_addr, settings, confirmed=None):
    """queue() then deliver(): the downlink's row once the network server answered (or not)."""
    return deliver(store, device, queue(store, identity, device, kind, fields, remote_addr, settings, confirmed),
                   settings)


def retry(store, identity, device, downlink, remote_addr, settings):
    """Hand a queued or failed downlink to the network server again (audited)."""
    if downlink["state"] not in ("queued", "failed"):
        raise errors.Conflict("downlink %d is %s: only a queued or failed one is sent again"
                              % (downlink["id"], downlink["state"]))
    store.audit(identity.actor, "downlink.retry", "device", device["id"], device["department"],
                {"downlink_id": downlink["id"], "kind": downlink["kind"], "state": downlink["state"],
                 "reason": downlink["reason"]}, remote_addr)
    return deliver(store, device, downlink, settings)


def acknowledge_alarm(store, identity, device, remote_addr, settings):
    """Clear the device's open alarm (audited) and, when the device repeats that alarm until
    acknowledged (SOS, leak, burst, rodent burst), queue and deliver its alarm_ack.

    Returns the alarm_ack's row, or None when none was due."""
    name = ack_name(device["alarm"]) if device["status"] != "decommissioned" else None
    with store.transaction():
        store.clear_alarm(device["id"])
        store.audit(identity.actor, "device.clear_alarm", "device", device["id"], device["department"],
                    {"alarm": device["alarm"]}, remote_addr)
        row = queue(store, identity, device, "alarm_ack", {"alarm": name}, remote_addr, settings) if name else None
    return deliver(store, device, row, settings) if row else None


def held_alarm(store, device, reading, state):
    """An uplink's device state, without its alarm when that alarm is one the fleet has
    acknowledged and the device has not yet got the alarm_ack (the frame is a repeat the
    device sent meanwhile): clearing an alarm is not undone by its own repeats.

    A new alarm frame (repeat 0) always raises its alarm; so does a repeat once the
    alarm_ack failed (the device will keep repeating until an operator clears it again)."""
    name = ack_name(state.get("alarm"))
    if name is None:
        return state
    if reading is not None and reading[0] == "alarm" and not reading[1].get("repeat"):
        return state
    if not store.alarm_ack_pending(device["id"], name):
        return state
    return {k: v for k, v in state.items() if k != "alarm"}


# ---- delivery

def deliver(store, device, downlink, settings):
    """Hand one downlink to the network server of the settings; returns its row afterwards.

    Sent: state sent with the server's id. Refused or unreachable: state failed with the
    reason. NETWORK_SERVER none: it stays queued, saying so."""
    server = (settings.get("NETWORK_SERVER") or "none").lower()
    if server == "none":
        store.update_downlink(downlink["id"], state="queued",
                              reason="no network server configured (NETWORK_SERVER is none)")
        return store.downlink(downlink["id"])
    now = time.time()
    attempts = (downlink["attempts"] or 0) + 1
    try:
        sender = _SENDERS.get(server)
        if sender is None:
            raise DeliveryError("unknown NETWORK_SERVER %r (chirpstack, tts or none)" % server)
        ns_id = sender(device, downlink, settings)
    except DeliveryError as e:
        reason = _scrub(str(e), settings)
        log.warning("downlink %d (%s) to device %d not sent: %s", downlink["id"], downlink["kind"], device["id"],
                    reason)
        store.update_downlink(downlink["id"], state="failed", reason=reason, attempts=attempts,
                              network_server=server, done_at=now)
    else:
        store.update_downlink(downlink["id"], state="sent", ns_id=ns_id, reason=None, attempts=attempts,
                              network_server=server, sent_at=now, done_at=None)
    return store.downlink(downlink["id"])


def _scrub(text, settings):
    key = settings.get("NETWORK_SERVER_API_KEY")
    return text.replace(key, "[api key]") if key else text


def _base_url(settings):
    url = settings.get("NETWORK_SERVER_URL")
    if not url:
        raise DeliveryError("NETWORK_SERVER_URL is not set")
    return url.rstrip("/")


def _post(url, body, headers, settings, server):
    # One JSON POST; the answer's bytes, or DeliveryError saying what went wrong.
    request = urllib.request.Request(url, json.dumps(body).encode("utf-8"), dict(
        headers, **{"Content-Type": "application/json", "Accept": "application/json"}), method="POST")
    timeout = float(settings.get("NETWORK_SERVER_TIMEOUT") or 3.0)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.read(65536)
    except urllib.error.HTTPError as e:
        raise DeliveryError("%s refused it: HTTP %d%s" % (server, e.code, _error_text(e))) from None
    except urllib.error.URLError as e:
        raise DeliveryError("%s unreachable: %s" % (server, e.reason)) from None
    except (OSError, ValueError) as e:       # a timeout while reading, a malformed URL
        raise DeliveryError("%s unreachable: %s" % (server, e or type(e).__name__)) from None


def _error_text(http_error):
    # The server's own message ({"error"} from ChirpStack, {"message"} from TTS), short.
    try:
        body = json.loads(http_error.read(4096) or b"null")
    except (ValueError, OSError):
        return ""
    message = body.get("error") or body.get("message") if isinstance(body, dict) else None
    return ": %s" % str(message)[:200] if message else ""


def _payload(downlink):
    return base64.b64encode(bytes(downlink["payload"])).decode("ascii")


def _chirpstack(device, downlink, settings):
    # ChirpStack v4 REST API (the gRPC gateway): the API token goes in Grpc-Metadata-Authorization.
    url = "%s/api/devices/%s/queue" % (_base_url(settings), device["dev_eui"].lower())
    key = settings.get("NETWORK_SERVER_API_KEY")
    headers = {"Grpc-Metadata-Authorization": "Bearer " + key} if key else {}
    body = {"queueItem": {"fPort": downlink["f_port"], "data": _payload(downlink),
                          "confirmed": bool(downlink["confirmed"])}}
    answer = _post(url, body, headers, settings, "chirpstack")
    try:
        item_id = json.loads(answer).get("id")
    except (ValueError, AttributeError):
        item_id = None
    if not isinstance(item_id, str) or not item_id:
        raise DeliveryError("chirpstack answered without a queue item id")
    return item_id


def _tts_device_id(device, settings):
    pattern = settings.get("TTS_DEVICE_ID") or "eui-{dev_eui}"
    return pattern.format(dev_eui=device["dev_eui"].lower(), id=device["id"])


def _tts(device, downlink, settings):
    # The Things Stack v3 webhook downlink API; its answer is empty, so our own
    # correlation id is the downlink's id there.
    app, webhook = settings.get("TTS_APPLICATION_ID"), settings.get("TTS_WEBHOOK_ID")
    if not app or not webhook:
        raise DeliveryError("TTS_APPLICATION_ID and TTS_WEBHOOK_ID must be set")
    quote = lambda part: urllib.parse.quote(str(part), safe="")   # noqa: E731
    url = "%s/api/v3/as/applications/%s/webhooks/%s/devices/%s/down/push" % (
        _base_url(settings), quote(app), quote(webhook), quote(_tts_device_id(device, settings)))
    key = settings.get("NETWORK_SERVER_API_KEY")
    headers = {"Authorization": "Bearer " + key} if key else {}
    correlation = _TTS_CORRELATION % downlink["id"]
    body = {"downlinks": [{"f_port": downlink["f_port"], "frm_payload": _payload(downlink),
                           "confirmed": bool(downlink["confirmed"]), "priority": "NORMAL",
                           "correlation_ids": [correlation]}]}
    _post(url, body, headers, settings, "tts")
    return correlation


_SENDERS = {"chirpstack": _chirpstack, "tts": _tts}


# ---- what the network server reports back (called by ingest)

def _move(store, downlink, state, at, reason=None, f_cnt_down=None):
    # Forward moves only: an acknowledged downlink stays so; transmitted never undoes a later state.
    if downlink is None or downlink["state"] == "acknowledged":
        return None
    if state == "transmitted" and downlink["state"] not in ("queued", "sent"):
        state = downlink["state"]
    changes = {"state": state}
    if f_cnt_down is not None:
        changes["f_cnt_down"] = f_cnt_down
    if state == "transmitted":
        changes["transmitted_at"] = at
    if state in ("acknowledged", "failed"):
        changes.update(done_at=at, reason=reason)
    store.update_downlink(downlink["id"], **changes)
    return downlink["id"]


def _chirpstack_event(store, device, kind, body, at):
    found = store.downlink_by_ns_id(device["id"], body["queue_item_id"]) if body.get("queue_item_id") else None
    if kind == "txack":
        return _move(store, found, "transmitted", at, f_cnt_down=body.get("f_cnt_down"))
    if kind == "ack":
        found = found or store.downlink_by_f_cnt(device["id"], body.get("f_cnt_down"))
        if body.get("acknowledged"):
            return _move(store, found, "acknowledged", at, f_cnt_down=body.get("f_cnt_down"))
        return _move(store, found, "failed", at, "the device did not acknowledge it (nack)")
    if kind == "log" and body.get("level") == "ERROR":
        return _move(store, found, "failed", at, "%s: %s" % (body.get("code"), body.get("description")))
    return None


def _tts_downlink(store, device, body):
    for cid in body.get("correlation_ids") or ():
        m = _TTS_CORRELATION_RE.match(cid)
        if m:
            return store.downlink(int(m.group(1)), device["id"])
    return store.downlink_by_f_cnt(device["id"], body["f_cnt"]) if body.get("f_cnt") else None


def _tts_event(store, device, kind, body, at):
    found = _tts_downlink(store, device, body)
    f_cnt = body.get("f_cnt") or None
    if kind == "downlink_sent":
        return _move(store, found, "transmitted", at, f_cnt_down=f_cnt)
    if kind == "downlink_ack":
        return _move(store, found, "acknowledged", at, f_cnt_down=f_cnt)
    if kind == "downlink_nack":
        return _move(store, found, "failed", at, "the device did not acknowledge it (nack)")
    if kind == "downlink_failed":
        return _move(store, found, "failed", at, "the network server failed it: %s" % body.get("error"))
    return None


def on_config_ack(store, device, fields, at):
    """Record the device's config_ack (ok, rejected, invalid, busy) on the config or setting
    downlink it answers, by seq; called by ingest for a stored config_ack uplink, with its
    fields as a dict or as the JSON text ingest stores."""
    if isinstance(fields, (str, bytes)):
        fields = json.loads(fields)
    return store.answer_config(device["id"], fields.get("seq"), fields.get("result"), at)


def on_net_event(store, device, event):
    """Move the downlink a network-server event reports on to its next state (ChirpStack
    txack, ack, an ERROR log naming a queue item; TTS downlink_sent, _ack, _nack, _failed).

    Called by ingest inside its write transaction; returns the downlink's id, or None when
    the event is about no downlink of this device the fleet sent."""
    body = event.get("body") or {}
    if event["source"] == "chirpstack":
        return _chirpstack_event(store, device, event["event"], body, event["time"])
    if event["source"] == "tts":
        return _tts_event(store, device, event["event"], body, event["time"])
    return None
