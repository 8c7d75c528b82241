"""Ingest of what the profiles detect beyond their readings: the toilet's cleaning and
consumables flags, the water main's night_flow and the alarm frame, and the alarms they raise."""
import pytest

from fleet.alarms import alarm_of
from protocols import frames
from tests.fleet.conftest import register, up_event


def _post(client, dev_eui, kind, values, f_cnt, dedup=None):
    event = up_event(dev_eui, frames.encode(kind, values), f_cnt, dedup or "%s-%d" % (kind, f_cnt))
    return client.post("/ingest/chirpstack?event=up", json=event).json


def _water(app):
    b = register(app, kind="water_main", department="WSD")
    return b["device"]["id"], b["lorawan"]["dev_eui"]


NIGHT = {"flow": 3.41, "start": 120, "duration": 120, "samples": 24, "battery": 80}
BURST = {"alarm": "burst", "active": True, "repeat": 0, "battery": 80}
TOILET = {"occupied": False, "leak": False, "people": 12, "nh3": 14, "h2s": 0.3, "consumables": 60, "battery": 90}


def test_night_flow_from_a_water_main_is_stored_as_its_own_reading(app, integration, store):
    device_id, eui = _water(app)
    assert _post(integration, eui, "night_flow", NIGHT, 1)["status"] == "stored"
    r = store.latest_reading("night_flow", device_id)
    assert r["flow"] == pytest.approx(3.41) and (r["start"], r["duration"], r["samples"], r["battery"]) == (
        120, 120, 24, 80)
    [u] = store.uplinks(device_id)
    assert u["frame_kind"] == "night_flow" and u["fields"] == NIGHT
    d = store.device(device_id)
    assert d["battery"] == 80 and d["alarm"] is None      # a figure, not an alarm
    assert store.latest_reading("water_main", device_id) is None


def test_night_flow_from_another_kind_of_device_is_quarantined(app, integration, device, store):
    r = _post(integration, device["dev_eui"], "night_flow", NIGHT, 1)
    assert r["status"] == "rejected" and r["reason"] == "wrong_kind"
    assert store.uplinks(device["id"]) == []


def test_burst_alarm_latches_through_its_end_until_an_operator_clears_it(app, integration, store):
    device_id, eui = _water(app)
    assert _post(integration, eui, "alarm", BURST, 1)["status"] == "stored"
    assert store.device(device_id)["alarm"] == "burst main"
    # a repeat, then the device saying the pressure recovered: still open for the operator
    _post(integration, eui, "alarm", dict(BURST, repeat=1), 2)
    _post(integration, eui, "alarm", dict(BURST, active=False, repeat=2), 3)
    _post(integration, eui, "water_main", {"pressure": 440.0, "flow": 8.0, "pressure_min": 430.0,
                                           "pressure_max": 450.0, "battery": 80}, 4)
    assert store.device(device_id)["alarm"] == "burst main"
    rows = store.readings("alarm", device_id, 0)
    assert [(r["alarm"], r["active"], r["repeat"]) for r in rows] == [("burst", 1, 0), ("burst", 1, 1),
                                                                         ("burst", 0, 2)]
    store.clear_alarm(device_id)
    assert store.device(device_id)["alarm"] is None
    _post(integration, eui, "alarm", dict(BURST, active=False, repeat=3), 5)
    assert store.device(device_id)["alarm"] is None       # an end raises nothing
    _post(integration, eui, "alarm", BURST, 6)            # a new burst
    assert store.device(device_id)["alarm"] == "burst main"


def test_night_flow_leak_alarm_from_a_water_main(app, integration, store):
    device_id, eui = _water(app)
    _post(integration, eui, "night_flow", NIGHT, 1)
    _post(integration, eui, "alarm", {"alarm": "leak", "active": True, "repeat": 0, "battery": 80}, 2)
    assert store.device(device_id)["alarm"] == "water leak"


def test_any_sensor_may_send_an_alarm_frame(app, integration, store):
    b = register(app, kind="hiker_tracker", department="AFCD")
    r = _post(integration, b["lorawan"]["dev_eui"], "alarm", {"alarm": "sos", "active": True, "repeat": 0,
                                                              "battery": 45}, 1)
    assert r["status"] == "stored" and store.device(b["device"]["id"])["alarm"] == "SOS"


@pytest.mark.parametrize("flags,alarm", [
    ({"cleaning": True}, "cleaning needed"),
    ({"consumables_low": True}, "consumables low"),
    ({"cleaning": True, "consumables_low": True, "leak": True}, "water leak"),   # the most urgent one
    ({}, None),
])
def test_toilet_flags_are_stored_and_raise_their_alarm(app, integration, store, flags, alarm):
    b = register(app, kind="smart_toilet", department="FEHD")
    device_id = b["device"]["id"]
    assert _post(integration, b["lorawan"]["dev_eui"], "smart_toilet", dict(TOILET, **flags), 1)["status"] == "stored"
    r = store.latest_reading("smart_toilet", device_id)
    assert (r["leak"], r["cleaning"], r["consumables_low"]) == (
        int(flags.get("leak", False)), int(flags.get("cleaning", False)), int(flags.get("consumables_low", False)))
    assert store.device(device_id)["alarm"] == alarm


@pytest.mark.parametrize("kind,values,alarm", [
    ("alarm", {"alarm": "burst", "active": True}, "burst main"),
    ("alarm", {"alarm": "leak", "active": True}, "water leak"),
    ("alarm", {"alarm": "sos", "active": True}, "SOS"),
    ("alarm", {"alarm": "rodent_burst", "active": True}, "rodent activity burst"),
    ("alarm", {"alarm": "burst", "active": False}, None),
    ("smart_toilet", {"leak": False, "cleaning": True, "consumables_low": False}, "cleaning needed"),
    ("smart_toilet", {"leak": False, "cleaning": False, "consumables_low": True}, "consumables low"),
    ("hiker_tracker", {"sos": True}, "SOS"),
    ("rodent_station", {"burst": True}, "rodent activity burst"),
    ("water_main", {"pressure": 80.0}, "low pressure"),
    ("night_flow", {"flow": 9.0}, None),
])
def test_alarm_of_every_detection(kind, values, alarm):
    assert alarm_of(kind, values) == alarm


def test_device_page_and_api_show_nights_and_alarm_frames(app, integration, user_client, store):
    device_id, eui = _water(app)
    _post(integration, eui, "night_flow", NIGHT, 1)
    _post(integration, eui, "alarm", BURST, 2)
    admin = user_client("admin")
    data = admin.get("/api/devices/%d" % device_id).json
    assert [(n["flow"], n["start"], n["duration"], n["samples"]) for n in data["night_flow"]] == [(3.41, 120, 120, 24)]
    assert [(a["alarm"], a["active"], a["repeat"]) for a in data["alarm_frames"]] == [("burst", 1, 0)]
    page = admin.get("/devices/%d" % device_id).get_data(as_text=True)
    assert 'id="night-flow"' in page and "<td>3.41</td>" in page and "02:00 for 120 min" in page
    assert 'id="alarm-frames"' in page and "<td>burst</td><td>raised</td>" in page
    # a device kind that sends no night flow has no such table
    toilet = register(app, kind="smart_toilet", department="FEHD")
    assert admin.get("/api/devices/%d" % toilet["device"]["id"]).json["night_flow"] == []
