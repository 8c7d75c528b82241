"""Ingest through /ingest/chirpstack and /ingest/tts: storage, dedupe, quarantine, replay."""
import pytest

from protocols import frames
from tests.fleet.conftest import bay_frame, fixture, register, up_event


def _post(client, event, kind="up"):
    return client.post("/ingest/chirpstack?event=" + kind, json=event)


def test_up_event_stores_uplink_receptions_reading_and_state(integration, device, store):
    r = _post(integration, up_event(device["dev_eui"], bay_frame(occupied=True, changes=3, battery=85)))
    assert r.status_code == 200 and r.json["status"] == "stored"
    [u] = store.uplinks(device["id"])
    assert (u["f_cnt"], u["sf"], u["frequency"], u["frame_kind"], u["gateways"]) == (7, 9, 923200000, "parking_bay", 2)
    assert u["rssi"] == -97 and u["fields"] == {"occupied": True, "changes": 3, "battery": 85}
    assert [x["gateway_id"] for x in store.receptions(u["id"])] == ["0016c001f153a14c", "0016c001f153a14d"]
    latest = store.latest_reading("parking_bay", device["id"])
    assert (latest["occupied"], latest["changes"], latest["battery"]) == (1, 3, 85)
    d = store.device(device["id"])
    assert d["status"] == "active" and d["battery"] == 85 and d["last_rssi"] == -97 and d["last_snr"] == 7.5


def test_readings_in_si_units_for_water_main(app, integration, store):
    b = register(app, kind="water_main", department="WSD")
    payload = frames.encode("water_main", {"pressure": 312.4, "flow": -1.25, "pressure_min": 290,
                                           "pressure_max": 330, "battery": 60})
    assert _post(integration, up_event(b["lorawan"]["dev_eui"], payload)).json["status"] == "stored"
    r = store.latest_reading("water_main", b["device"]["id"])
    assert r["pressure"] == pytest.approx(312.4) and r["flow"] == pytest.approx(-1.25)
    assert r["pressure_min"] == pytest.approx(282.4) and r["pressure_max"] == pytest.approx(332.4)


def test_same_dedup_id_is_stored_once(integration, device, store):
    event = up_event(device["dev_eui"])
    assert _post(integration, event).json["status"] == "stored"
    assert _post(integration, event).json["status"] == "duplicate"
    assert len(store.uplinks(device["id"])) == 1
    assert len(store.receptions(store.uplinks(device["id"])[0]["id"])) == 2


def test_same_device_and_fcnt_from_another_server_is_stored_once(integration, device, store):
    assert _post(integration, up_event(device["dev_eui"], f_cnt=42, dedup="a")).json["status"] == "stored"
    tts = fixture("tts_uplink_message", device["dev_eui"], bay_frame())
    r = integration.post("/ingest/tts", json=tts)
    assert r.json["status"] == "duplicate"
    assert len(store.uplinks(device["id"])) == 1


def test_join_starts_a_new_session_so_counters_may_repeat(integration, device, store):
    assert _post(integration, up_event(device["dev_eui"], f_cnt=1, dedup="a")).json["status"] == "stored"
    assert _post(integration, fixture("chirpstack_join", device["dev_eui"]), "join").json["status"] == "recorded"
    assert _post(integration, up_event(device["dev_eui"], f_cnt=1, dedup="b")).json["status"] == "stored"
    assert [u["session"] for u in store.uplinks(device["id"])] == [1, 0]


def test_unknown_device_goes_to_quarantine_with_raw_event(integration, store):
    event = up_event("70B3D57ED0000001")
    r = _post(integration, event)
    assert r.status_code == 200 and r.json["status"] == "rejected" and r.json["reason"] == "unknown_device"
    [q] = store.quarantine()
    assert q["id"] == r.json["quarantine_id"] and q["dev_eui"] == "70B3D57ED0000001" and q["department"] is None
    assert q["raw"] == {"source": "chirpstack", "kind": "up", "body": event}


def test_undecodable_bytes_go_to_quarantine(integration, device, store):
    r = _post(integration, up_event(device["dev_eui"], b"\xff\x00junk"))
    assert r.json["reason"] == "undecodable" and "not CBOR" in r.json["detail"]
    assert store.uplinks(device["id"]) == []
    assert store.quarantine("TD")[0]["reason"] == "undecodable"


def test_frame_of_another_kind_goes_to_quarantine(integration, device):
    payload = frames.encode("rodent_station", {"activity": 3, "burst": False, "battery": 50})
    r = _post(integration, up_event(device["dev_eui"], payload))
    assert r.json["reason"] == "wrong_kind"


def test_decommissioned_device_is_quarantined_and_history_kept(integration, user_client, device, store):
    _post(integration, up_event(device["dev_eui"], f_cnt=1, dedup="a"))
    op = user_client("td")
    assert op.post("/api/devices/%d/decommission" % device["id"]).status_code == 200
    r = _post(integration, up_event(device["dev_eui"], f_cnt=2, dedup="b"))
    assert r.json["reason"] == "decommissioned"
    assert len(store.uplinks(device["id"])) == 1


def test_replay_after_the_device_is_registered(app, integration, token_client, store):
    admin = token_client("admin")
    event = up_event("70B3D57ED0000002")
    qid = _post(integration, event).json["quarantine_id"]
    again = admin.post("/ingest/quarantine/%d/replay" % qid)
    assert again.status_code == 409 and again.json["ok"] is False and "unknown_device" in again.json["error"]
    assert store.quarantine_entry(qid)["status"] == "open"
    # The cause is fixed: the board is registered with that DevEUI.
    register(app, dev_eui="70b3d57ed0000002")        # the board's factory DevEUI
    r = admin.post("/ingest/quarantine/%d/replay" % qid)
    assert r.status_code == 200 and r.json["status"] == "stored"
    entry = store.quarantine_entry(qid)
    assert entry["status"] == "replayed" and entry["uplink_id"] == r.json["uplink_id"]
    assert admin.post("/ingest/quarantine/%d/replay" % qid).status_code == 409
    assert store.audit_log()[0]["action"] == "quarantine.replay"


def test_discard_closes_an_entry(integration, token_client, store):
    qid = _post(integration, up_event("70B3D57ED0000003")).json["quarantine_id"]
    assert token_client("admin").post("/ingest/quarantine/%d/discard" % qid).json["status"] == "discarded"
    assert store.quarantine_entry(qid)["status"] == "discarded"


def test_status_frame_sets_firmware_and_status(integration, device, store):
    payload = frames.encode("status", {"firmware": "1.4.2", "battery_mv": 3620, "reset_cause": "watchdog",
                                       "uptime": 7200})
    assert _post(integration, up_event(device["dev_eui"], payload)).json["status"] == "stored"
    d = store.device(device["id"])
    assert d["firmware"] == "1.4.2" and d["battery_mv"] == 3620
    assert d["last_status"]["reset_cause"] == "watchdog"


def test_chirpstack_status_event_sets_battery(integration, device, store):
    assert _post(integration, fixture("chirpstack_status", device["dev_eui"]), "status").json["status"] == "recorded"
    assert store.device(device["id"])["battery"] == pytest.approx(55.12)
    assert store.net_events(device["id"])[0]["event"] == "status"


@pytest.mark.parametrize("kind", ["ack", "txack", "log"])
def test_other_chirpstack_events_are_recorded(integration, device, store, kind):
    assert _post(integration, fixture("chirpstack_" + kind, device["dev_eui"]), kind).json["status"] == "recorded"
    assert store.net_events(device["id"])[0]["event"] == kind
    assert store.device(device["id"])["last_seen"] is None      # not proof of life


def test_tts_uplink_and_join(integration, device, store):
    r = integration.post("/ingest/tts", json=fixture("tts_uplink_message", device["dev_eui"], bay_frame()))
    assert r.json["status"] == "stored"
    u = store.uplinks(device["id"])[0]
    assert u["source"] == "tts" and u["airtime"] == pytest.approx(0.046336) and u["frequency"] == 923400000
    assert integration.post("/ingest/tts", json=fixture("tts_join_accept", device["dev_eui"])).json["status"] == "recorded"


def test_alarm_latches_until_cleared(app, integration, user_client, store):
    b = register(app, kind="hiker_tracker", department="AFCD")
    sos = frames.encode("hiker_tracker", {"latitude": 22.4, "longitude": 114.12, "fix": "gps", "sos": True,
                                           "battery": 70})
    calm = frames.encode("hiker_tracker", {"latitude": 22.4, "longitude": 114.12, "fix": "gps", "sos": False,
                                            "battery": 70})
    _post(integration, up_event(b["lorawan"]["dev_eui"], sos, 1, "a"))
    _post(integration, up_event(b["lorawan"]["dev_eui"], calm, 2, "b"))
    assert store.device(b["device"]["id"])["alarm"] == "SOS"


def test_batch_is_one_transaction_and_malformed_batch_writes_nothing(integration, device, store):
    good = [up_event(device["dev_eui"], f_cnt=n, dedup="d%d" % n) for n in range(3)]
    bad = good + [{"deviceInfo": {}}]
    r = _post(integration, bad)
    assert r.status_code == 400 and r.json["error"].startswith("events[3].deviceInfo.devEui")
    assert store.uplinks(device["id"]) == [] and store.quarantine() == []
    r = _post(integration, good)
    assert [x["status"] for x in r.json["results"]] == ["stored"] * 3


def test_malformed_single_event_writes_nothing(integration, device, store):
    event = up_event(device["dev_eui"])
    event["rxInfo"][1]["snr"] = "good"
    r = _post(integration, event)
    assert r.status_code == 400 and r.json == {"ok": False, "status": 400, "error": "rxInfo[1].snr: must be a number"}
    assert store.uplinks(device["id"]) == [] and store.quarantine() == []


def test_ingest_needs_an_integration_token(app, device, token_client, user_client):
    event = up_event(device["dev_eui"])
    assert app.test_client().post("/ingest/chirpstack?event=up", json=event).status_code == 401
    assert token_client("operator", "TD").post("/ingest/chirpstack?event=up", json=event).status_code == 403
    assert user_client("td").post("/ingest/chirpstack?event=up", json=event).status_code == 403


def test_department_scoped_integration_token_sees_other_devices_as_unknown(app, device, token_client):
    fehd = token_client("integration", "FEHD")
    r = fehd.post("/ingest/chirpstack?event=up", json=up_event(device["dev_eui"]))
    assert r.json["reason"] == "unknown_device"


def test_a_late_older_uplink_does_not_overwrite_newer_state(integration, device, store):
    from fleet.demo import rfc3339
    import time
    new = up_event(device["dev_eui"], bay_frame(battery=40), 2, "new")
    old = up_event(device["dev_eui"], bay_frame(battery=90), 1, "old")
    old["time"] = rfc3339(time.time() - 7200)
    _post(integration, new)
    _post(integration, old)
    d = store.device(device["id"])
    assert d["battery"] == 40 and len(store.uplinks(device["id"])) == 2


def test_tts_message_paths_under_the_base_url(integration, device):
    r = integration.post("/ingest/tts/uplink-message", json=fixture("tts_uplink_message", device["dev_eui"],
                                                                   bay_frame()))
    assert r.status_code == 200 and r.json["status"] == "stored"
