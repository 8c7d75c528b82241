"""Network-server events (ChirpStack v4 HTTP integration, The Things Stack v3 webhooks)
turned into one normalised form. Pure functions: no storage, no Flask.

A normalised event is a dict:
    source      "chirpstack" or "tts"
    event       "up", "join", "status", "ack", "txack", "log", "location", "integration",
                or a TTS message name ("downlink_ack", ...)
    dev_eui     16 upper-case hex digits
    time        seconds since the epoch (float)
    dedup_id    the network server's id of this uplink, or None
    uplink      for "up": f_cnt, f_port, payload (bytes), dr, frequency (Hz), sf, bandwidth (Hz),
                coding_rate ("4/5"), airtime (s or None), receptions [{gateway_id, rssi, snr, channel, time}]
    body        for other events: the facts worth keeping, in snake_case (a TTS downlink_* event's
                correlation_ids, to find the fleet's downlink; downlink_failed's error)
"""
import base64
import binascii
import datetime
import re
import time

from protocols import lora

CHIRPSTACK_EVENTS = ("up", "join", "status", "ack", "txack", "log", "location", "integration")
TTS_MESSAGES = ("uplink_message", "join_accept", "downlink_ack", "downlink_nack", "downlink_sent",
                "downlink_failed", "downlink_queued", "downlink_queue_invalidated", "location_solved",
                "service_data", "uplink_normalized")
_EUI = re.compile(r"^[0-9A-Fa-f]{16}$")
_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$")
_CR = re.compile(r"^(?:CR_)?(\d)[_/](\d)(?:LI)?$")


class EventError(Exception):
    """The event is malformed; the message names the field (a JSON path) and what is wrong."""


def _get(obj, path, types, default=None, required=False):
    # The value at a dotted path, type-checked; a missing (omitted) field takes the default.
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            raise EventError("%s: expected an object on the way" % path)
        if part not in cur or cur[part] is None:
            if required:
                raise EventError("%s: missing" % path)
            return default
        cur = cur[part]
    if isinstance(cur, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise EventError("%s: must be %s, not a boolean" % (path, _type_name(types)))
    if not isinstance(cur, types):
        raise EventError("%s: must be %s" % (path, _type_name(types)))
    return cur


def _type_name(types):
    names = {str: "a string", int: "an integer", float: "a number", bool: "a boolean",
             dict: "an object", list: "an array"}
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(names.get(t, t.__name__) for t in types)


def parse_time(text, path="time"):
    """An RFC 3339 timestamp (nanoseconds allowed) as epoch seconds."""
    if not isinstance(text, str):
        raise EventError("%s: must be an RFC 3339 string" % path)
    m = _TIME.match(text.strip())
    if not m:
        raise EventError("%s: %r is not an RFC 3339 time" % (path, text))
    frac = (m.group(2) or ".0")[1:7]
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    try:
        dt = datetime.datetime.fromisoformat("%s.%s%s" % (m.group(1), frac.ljust(6, "0"), zone))
    except ValueError:
        raise EventError("%s: %r is not a valid time" % (path, text)) from None
    return dt.timestamp()


def _time(obj, path, now):
    value = _get(obj, path, str)
    return now if value is None else parse_time(value, path)


def _eui(value, path):
    if not isinstance(value, str) or not _EUI.match(value):
        raise EventError("%s: must be 16 hex digits" % path)
    return value.upper()


def _b64(value, path):
    if value is None:
        return b""
    if not isinstance(value, str):
        raise EventError("%s: must be base64 text" % path)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise EventError("%s: is not valid base64" % path) from None


def _coding_rate(value):
    # "CR_4_5" (ChirpStack), "4/5" (The Things Stack), "4/5LI" -> "4/5".
    if not value:
        return None
    m = _CR.match(str(value))
    return "%s/%s" % m.groups() if m else str(value)


def _airtime(payload_len, sf, bandwidth):
    if not sf or not bandwidth:
        return None
    try:
        return lora.uplink_airtime_ms(payload_len, sf, bandwidth // 1000) / 1000.0
    except (ValueError, TypeError):
        return None


# ---- ChirpStack v4

def _cs_receptions(event, now):
    rx = _get(event, "rxInfo", list, [])
    out = []
    for i, r in enumerate(rx):
        if not isinstance(r, dict):
            raise EventError("rxInfo[%d]: must be an object" % i)
        p = "rxInfo[%d]." % i
        when = _get(r, "gwTime", str) or _get(r, "nsTime", str)
        out.append({
            "gateway_id": _get(r, "gatewayId", str, "", required=True),
            "rssi": _num(r, "rssi", p), "snr": _num(r, "snr", p),
            "channel": _int(r, "channel", p),
            "time": parse_time(when, p + "time") if when else now,
        })
    return out


def _num(obj, name, prefix=""):
    value = obj.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EventError("%s%s: must be a number" % (prefix, name))
    return float(value)


def _int(obj, name, prefix=""):
    value = obj.get(name, 0)
    if isinstance(value, str) and value.isdigit():    # protobuf JSON writes 64-bit integers as strings
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise EventError("%s%s: must be an integer" % (prefix, name))
    return value


def _cs_uplink(event, now):
    lora_mod = _get(event, "txInfo.modulation.lora", dict, {})
    payload = _b64(event.get("data"), "data")
    sf = _int(lora_mod, "spreadingFactor", "txInfo.modulation.lora.") or None
    bandwidth = _int(lora_mod, "bandwidth", "txInfo.modulation.lora.") or None
    return {
        "f_cnt": _int(event, "fCnt"), "f_port": _int(event, "fPort"), "payload": payload,
        "dr": _int(event, "dr"), "frequency": _int(_get(event, "txInfo", dict, {}), "frequency", "txInfo."),
        "sf": sf, "bandwidth": bandwidth, "coding_rate": _coding_rate(lora_mod.get("codeRate")),
        "airtime": _airtime(len(payload), sf, bandwidth), "receptions": _cs_receptions(event, now),
    }


def _cs_body(kind, event):
    if kind == "join":
        return {"dev_addr": _get(event, "devAddr", str, "")}
    if kind == "status":
        return {"margin": _int(event, "margin"), "external_power": _get(event, "externalPowerSource", bool, False),
                "battery_unavailable": _get(event, "batteryLevelUnavailable", bool, False),
                "battery_level": _num(event, "batteryLevel")}
    if kind == "ack":
        return {"acknowledged": _get(event, "acknowledged", bool, False), "f_cnt_down": _int(event, "fCntDown"),
                "queue_item_id": _get(event, "queueItemId", str, "")}
    if kind == "txack":
        return {"downlink_id": _int(event, "downlinkId"), "f_cnt_down": _int(event, "fCntDown"),
                "gateway_id": _get(event, "gatewayId", str, ""), "queue_item_id": _get(event, "queueItemId", str, "")}
    if kind == "log":
        out = {"level": _get(event, "level", str, "INFO"), "code": _get(event, "code", str, "UNKNOWN"),
               "description": _get(event, "description", str, "")}
        # A downlink's error (payload too large, gateway refused, expired) names its queue item.
        item = _get(event, "context", dict, {}).get("queue_item_id")
        if isinstance(item, str) and item:
            out["queue_item_id"] = item
        return out
    if kind == "location":
        loc = _get(event, "location", dict, {})
        return {"latitude": _num(loc, "latitude", "location."), "longitude": _num(loc, "longitude", "location."),
                "source": _get(loc, "source", str, "UNKNOWN")}
    return {"integration": _get(event, "integrationName", str, ""), "event_type": _get(event, "eventType", str, "")}


def chirpstack(kind, event, now=None):
    """Normalise one ChirpStack v4 HTTP-integration event of the given kind (the ?event= value)."""
    now = time.time() if now is None else now
    if kind not in CHIRPSTACK_EVENTS:
        raise EventError("event: must be one of %s" % ", ".join(CHIRPSTACK_EVENTS))
    if not isinstance(event, dict):
        raise EventError("the event must be a JSON object")
    out = {
        "source": "chirpstack", "event": kind,
        "dev_eui": _eui(_get(event, "deviceInfo.devEui", str, required=True), "deviceInfo.devEui"),
        "time": _time(event, "time", now),
        "dedup_id": _get(event, "deduplicationId", str) or None,
    }
    if kind == "up":
        out["uplink"] = _cs_uplink(event, out["time"])
    else:
        out["body"] = _cs_body(kind, event)
    return out


# ---- The Things Stack v3

def _tts_frequency(settings):
    value = settings.get("frequency")
    if value is None:
        return 0
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise EventError("uplink_message.settings.frequency: must be a decimal string of Hz")


def _duration(value, path):
    # A protobuf JSON duration such as "0.061696s".
    if value is None:
        return None
    if not isinstance(value, str) or not value.endswith("s"):
        raise EventError("%s: must be a duration like \"0.0617s\"" % path)
    try:
        return float(value[:-1])
    except ValueError:
        raise EventError("%s: must be a duration like \"0.0617s\"" % path) from None


def _tts_receptions(up, now):
    out = []
    for i, r in enumerate(_get(up, "rx_metadata", list, [])):
        if not isinstance(r, dict):
            raise EventError("uplink_message.rx_metadata[%d]: must be an object" % i)
        p = "uplink_message.rx_metadata[%d]." % i
        gateway = _get(r, "gateway_ids.gateway_id", str) or _get(r, "gateway_ids.eui", str, "")
        rssi_key = "rssi" if "rssi" in r else "channel_rssi"
        when = _get(r, "time", str) or _get(r, "received_at", str)
        out.append({"gateway_id": gateway, "rssi": _num(r, rssi_key, p), "snr": _num(r, "snr", p),
                    "channel": _int(r, "channel_index", p), "time": parse_time(when, p + "time") if when else now})
    return out


def _tts_uplink(up, now):
    settings = _get(up, "settings", dict, {})
    lora_dr = _get(settings, "data_rate.lora", dict, {})
    # coding_rate sits in settings (v3.0 to v3.18) or in data_rate.lora (later versions).
    coding = lora_dr.get("coding_rate") or settings.get("coding_rate")
    payload = _b64(up.get("frm_payload"), "uplink_message.frm_payload")
    sf = _int(lora_dr, "spreading_factor", "uplink_message.settings.data_rate.lora.") or None
    bandwidth = _int(lora_dr, "bandwidth", "uplink_message.settings.data_rate.lora.") or None
    airtime = _duration(up.get("consumed_airtime"), "uplink_message.consumed_airtime")
    return {
        "f_cnt": _int(up, "f_cnt", "uplink_message."), "f_port": _int(up, "f_port", "uplink_message."),
        "payload": payload, "dr": _int(settings, "data_rate_index", "uplink_message.settings.") or None,
        "frequency": _tts_frequency(settings), "sf": sf, "bandwidth": bandwidth,
        "coding_rate": _coding_rate(coding),
        "airtime": airtime if airtime is not None else _airtime(len(payload), sf, bandwidth),
        "receptions": _tts_receptions(up, now),
    }


def _tts_dedup(message):
    for cid in _get(message, "correlation_ids", list, []):
        if isinstance(cid, str) and cid.startswith("as:up:"):
            return "tts:" + cid
    return None


def tts(message, now=None):
    """Normalise one The Things Stack v3 webhook message (the kind is found by its key)."""
    now = time.time() if now is None else now
    if not isinstance(message, dict):
        raise EventError("the message must be a JSON object")
    kinds = [k for k in TTS_MESSAGES if k in message]
    if len(kinds) != 1:
        raise EventError("expected exactly one of %s" % ", ".join(TTS_MESSAGES))
    kind = kinds[0]
    out = {
        "source": "tts", "event": "up" if kind == "uplink_message" else ("join" if kind == "join_accept" else kind),
        "dev_eui": _eui(_get(message, "end_device_ids.dev_eui", str, required=True), "end_device_ids.dev_eui"),
        "time": _time(message, "received_at", now),
        "dedup_id": _tts_dedup(message) if kind == "uplink_message" else None,
    }
    inner = _get(message, kind, dict, {})
    if kind == "uplink_message":
        out["uplink"] = _tts_uplink(inner, out["time"])
    else:
        out["body"] = _tts_body(kind, message, inner)
    return out


def _tts_body(kind, message, inner):
    # downlink_failed wraps the downlink and adds the error; the others are the downlink itself.
    down = _get(inner, "downlink", dict, {}) if kind == "downlink_failed" else inner
    body = {"device_id": _get(message, "end_device_ids.device_id", str, ""),
            "dev_addr": _get(message, "end_device_ids.dev_addr", str, ""),
            "f_cnt": down.get("f_cnt", 0) if isinstance(down.get("f_cnt", 0), int) else 0}
    if kind.startswith("downlink_"):
        ids = down.get("correlation_ids")
        body["correlation_ids"] = [c for c in ids if isinstance(c, str)] if isinstance(ids, list) else []
    if kind == "downlink_failed":
        error = _get(inner, "error", dict, {})
        body["error"] = " ".join(str(error[k]) for k in ("name", "message_format") if error.get(k)) or "failed"
    return body
