"""Normalising ChirpStack v4 and The Things Stack v3 events (no app, no storage)."""
import datetime

import pytest

from fleet import netservers
from tests.fleet.conftest import bay_frame, clone, fixture

EUI = "A1B2C3D4E5F60718"


def _utc(*args):
    return datetime.datetime(*args, tzinfo=datetime.timezone.utc).timestamp()


def test_chirpstack_up_fields():
    e = netservers.chirpstack("up", fixture("chirpstack_up", EUI, bay_frame()))
    assert e["source"] == "chirpstack" and e["event"] == "up" and e["dev_eui"] == EUI
    assert e["dedup_id"] == "3ac7e3c4-4401-4b8d-9386-a5c902f9202d"
    up = e["uplink"]
    assert (up["f_cnt"], up["f_port"], up["dr"], up["frequency"]) == (7, 2, 3, 923200000)
    assert (up["sf"], up["bandwidth"], up["coding_rate"]) == (9, 125000, "4/5")
    assert up["payload"] == bay_frame()
    assert up["airtime"] > 0.1          # SF9 at 125 kHz: about 0.16 s for a 4-byte payload
    assert e["time"] == pytest.approx(_utc(2026, 11, 20, 9, 34, 15, 775023), abs=1e-6)


def test_chirpstack_left_out_fields_default():
    # The second reception of the fixture has no channel; an event may lack fCnt, fPort, dr, adr.
    event = fixture("chirpstack_up", EUI, bay_frame())
    for key in ("fCnt", "fPort", "dr", "adr", "confirmed"):
        event.pop(key, None)
    up = netservers.chirpstack("up", event)["uplink"]
    assert (up["f_cnt"], up["f_port"], up["dr"]) == (0, 0, 0)
    assert up["receptions"][1] == {"gateway_id": "0016c001f153a14d", "rssi": -112.0, "snr": -3.25, "channel": 0,
                                   "time": pytest.approx(_utc(2026, 11, 20, 9, 34, 15, 765197), abs=1e-6)}


def test_chirpstack_status_defaults_and_values():
    body = netservers.chirpstack("status", fixture("chirpstack_status", EUI))["body"]
    assert body == {"margin": 6, "external_power": False, "battery_unavailable": False, "battery_level": 55.12}


@pytest.mark.parametrize("kind,name,expect", [
    ("join", "chirpstack_join", {"dev_addr": "00189440"}),
    ("ack", "chirpstack_ack", {"acknowledged": True, "f_cnt_down": 3,
                               "queue_item_id": "a2b1d7e0-4d3f-4f5e-9a2b-1f0c4f7e8d11"}),
    ("txack", "chirpstack_txack", {"downlink_id": 3021829613, "f_cnt_down": 3, "gateway_id": "0016c001f153a14c",
                                   "queue_item_id": "a2b1d7e0-4d3f-4f5e-9a2b-1f0c4f7e8d11"}),
    ("log", "chirpstack_log", {"level": "ERROR", "code": "UPLINK_CODEC", "description": "codec error"}),
])
def test_chirpstack_other_events(kind, name, expect):
    assert netservers.chirpstack(kind, fixture(name, EUI))["body"] == expect


def test_chirpstack_log_defaults_when_info_unknown():
    event = fixture("chirpstack_log", EUI)
    del event["level"], event["code"]          # INFO and UNKNOWN are the enum zero values: left out
    body = netservers.chirpstack("log", event)["body"]
    assert (body["level"], body["code"]) == ("INFO", "UNKNOWN")


def test_tts_uplink_strings_and_new_coding_rate():
    e = netservers.tts(fixture("tts_uplink_message", EUI, bay_frame()))
    up = e["uplink"]
    assert e["event"] == "up" and e["dedup_id"] == "tts:as:up:01E0WE5GZ1QP3TE5MNZSHNJH8Q"
    assert up["frequency"] == 923400000 and up["airtime"] == pytest.approx(0.046336)
    assert (up["sf"], up["bandwidth"], up["coding_rate"], up["f_cnt"]) == (7, 125000, "4/5", 42)
    assert up["receptions"][0]["gateway_id"] == "gtw1" and up["receptions"][0]["channel"] == 2


def test_tts_uplink_old_coding_rate_place_and_no_airtime():
    up = netservers.tts(fixture("tts_uplink_message_v3_10", EUI, bay_frame()))["uplink"]
    assert up["coding_rate"] == "4/5" and up["sf"] == 10 and up["frequency"] == 922200000
    assert up["airtime"] > 0.2                  # computed from SF10 when the server gives none
    assert up["receptions"][0]["rssi"] == -101.0


def test_tts_other_messages():
    assert netservers.tts(fixture("tts_join_accept", EUI))["event"] == "join"
    e = netservers.tts(fixture("tts_downlink_ack", EUI))
    assert e["event"] == "downlink_ack" and e["body"]["f_cnt"] == 1


@pytest.mark.parametrize("mutate,message", [
    (lambda e: e["deviceInfo"].pop("devEui"), "deviceInfo.devEui: missing"),
    (lambda e: e["deviceInfo"].update(devEui="xyz"), "deviceInfo.devEui: must be 16 hex digits"),
    (lambda e: e.update(fCnt="seven"), "fCnt: must be an integer"),
    (lambda e: e.update(data="***"), "data: is not valid base64"),
    (lambda e: e.update(time="yesterday"), "time: 'yesterday' is not an RFC 3339 time"),
    (lambda e: e["rxInfo"][0].update(rssi="loud"), "rxInfo[0].rssi: must be a number"),
    (lambda e: e.update(rxInfo="none"), "rxInfo: must be an array"),
])
def test_chirpstack_malformed(mutate, message):
    event = fixture("chirpstack_up", EUI, bay_frame())
    mutate(event)
    with pytest.raises(netservers.EventError) as e:
        netservers.chirpstack("up", event)
    assert str(e.value) == message


@pytest.mark.parametrize("mutate,message", [
    (lambda m: m["uplink_message"]["settings"].update(frequency=923.4), "frequency: must be a decimal string"),
    (lambda m: m["uplink_message"].update(consumed_airtime=0.04), "consumed_airtime: must be a duration"),
    (lambda m: m.update(join_accept={}), "expected exactly one of"),
    (lambda m: m.pop("end_device_ids"), "end_device_ids.dev_eui: missing"),
])
def test_tts_malformed(mutate, message):
    m = fixture("tts_uplink_message", EUI, bay_frame())
    mutate(m)
    with pytest.raises(netservers.EventError, match=message.replace("(", r"\(")):
        netservers.tts(m)


def test_unknown_chirpstack_event_kind():
    with pytest.raises(netservers.EventError):
        netservers.chirpstack("uplink", clone(fixture("chirpstack_up", EUI)))
