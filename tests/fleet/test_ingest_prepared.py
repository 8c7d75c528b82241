"""Ingest's work before the write transaction (pipeline.prepare, Store.device_facts): a
device's facts are cached per process, yet what changes (decommission, a new session
after a join, a device registered later) is seen at once, also when another process
changed it; and where a token's department puts a quarantined event."""
import sqlite3
import time

import pytest

from fleet.demo import rfc3339
from fleet.storage import devices as device_storage
from tests.fleet.conftest import bay_frame, register, up_event


def _post(client, event, kind="up"):
    return client.post("/ingest/chirpstack?event=" + kind, json=event)


def _elsewhere(store, sql, params=()):
    # Another worker process's write: its own connection, none of this process's caches.
    conn = sqlite3.connect(store.identity[0], isolation_level=None)
    try:
        conn.execute(sql, params)
    finally:
        conn.close()


def _cached(store, dev_eui):
    return dev_eui in device_storage._FACTS.get(store.identity, {})


def test_decommission_in_another_process_stops_ingest_of_a_cached_device(integration, device, store):
    assert _post(integration, up_event(device["dev_eui"], f_cnt=1, dedup="a")).json["status"] == "stored"
    assert _cached(store, device["dev_eui"])
    _elsewhere(store, "UPDATE devices SET status = 'decommissioned' WHERE id = ?", (device["id"],))
    r = _post(integration, up_event(device["dev_eui"], f_cnt=2, dedup="b"))
    assert r.json["status"] == "rejected" and r.json["reason"] == "decommissioned"
    [q] = store.quarantine()
    assert q["id"] == r.json["quarantine_id"] and q["department"] == "TD"
    assert [u["f_cnt"] for u in store.uplinks(device["id"])] == [1]        # its history stays
    assert store._scalar("SELECT COUNT(*) FROM receptions") == 2           # nothing of the second written


def test_a_decommissioned_device_is_reported_as_such_before_its_bytes_are_decoded(integration, device, store):
    assert _post(integration, up_event(device["dev_eui"], f_cnt=1, dedup="a")).json["status"] == "stored"
    _elsewhere(store, "UPDATE devices SET status = 'decommissioned' WHERE id = ?", (device["id"],))
    r = _post(integration, up_event(device["dev_eui"], b"\xff\x00", f_cnt=2, dedup="b"))
    assert r.json["reason"] == "decommissioned"


def test_a_join_in_another_process_starts_a_new_session_for_a_cached_device(integration, device, store):
    assert _post(integration, up_event(device["dev_eui"], f_cnt=1, dedup="a")).json["status"] == "stored"
    _elsewhere(store, "UPDATE devices SET session = session + 1 WHERE id = ?", (device["id"],))
    # The frame counter starts again: not a duplicate of the first session's frame 1.
    assert _post(integration, up_event(device["dev_eui"], f_cnt=1, dedup="b")).json["status"] == "stored"
    assert _post(integration, up_event(device["dev_eui"], f_cnt=1, dedup="c")).json["status"] == "duplicate"
    assert [u["session"] for u in store.uplinks(device["id"])] == [1, 0]


def test_a_device_registered_after_its_first_events_is_found_at_once(app, integration, store):
    eui = "70B3D57ED0000009"
    assert _post(integration, up_event(eui, dedup="a")).json["reason"] == "unknown_device"
    assert not _cached(store, eui)                                          # a miss is not remembered
    b = register(app, dev_eui=eui.lower())
    r = _post(integration, up_event(eui, dedup="b"))
    assert r.json["status"] == "stored" and store.uplinks(b["device"]["id"])[0]["id"] == r.json["uplink_id"]


def test_a_batch_mixing_cached_and_rejected_events_keeps_their_order(app, integration, device, store):
    other = register(app, kind="water_main", department="WSD")["lorawan"]["dev_eui"]
    events = [up_event(device["dev_eui"], f_cnt=1, dedup="a"),
              up_event(other, f_cnt=1, dedup="b"),                       # a bay frame from a water main
              up_event(device["dev_eui"], f_cnt=1, dedup="c"),           # same device and counter: duplicate
              up_event("70B3D57ED000000A", dedup="d")]
    r = integration.post("/ingest/chirpstack?event=up", json=events)
    assert [x["status"] for x in r.json["results"]] == ["stored", "rejected", "duplicate", "rejected"]
    assert [x.get("reason") for x in r.json["results"]] == [None, "wrong_kind", None, "unknown_device"]
    assert [q["department"] for q in store.quarantine()] == [None, "WSD"]


def test_a_department_token_puts_unknown_devices_in_its_departments_quarantine(app, token_client, user_client,
                                                                                store):
    td_integration = token_client("integration", "TD")
    r = _post(td_integration, up_event("70B3D57ED000000B"))
    assert r.json["reason"] == "unknown_device"
    assert store.quarantine_entry(r.json["quarantine_id"])["department"] == "TD"
    # Its department's staff see it (and may replay it); another department's do not.
    assert [q["id"] for q in user_client("td").get("/api/quarantine").json["items"]] == [r.json["quarantine_id"]]
    assert user_client("fehd").get("/api/quarantine").json["items"] == []
    # A device of another department is unknown to the token: the entry stays the token's
    # department's, which learns nothing of the other department's device.
    fehd = register(app, kind="smart_toilet", department="FEHD")["lorawan"]["dev_eui"]
    r = _post(td_integration, up_event(fehd, dedup="e"))
    assert r.json["reason"] == "unknown_device" and "FEHD" not in r.get_data(as_text=True)
    assert store.quarantine_entry(r.json["quarantine_id"])["department"] == "TD"
    assert store.uplinks(store.device_facts(fehd)["id"]) == []


def test_an_unscoped_token_leaves_unknown_devices_to_admins(integration, user_client, store):
    r = _post(integration, up_event("70B3D57ED000000C"))
    assert store.quarantine_entry(r.json["quarantine_id"])["department"] is None
    assert user_client("td").get("/api/quarantine").json["items"] == []


def test_the_battery_level_follows_the_newest_uplink_whether_it_changes_or_not(integration, device, store):
    now = time.time()
    for n, battery in enumerate((85, 85, 60, 60), 1):
        event = up_event(device["dev_eui"], bay_frame(battery=battery), n, "b%d" % n)
        event["time"] = rfc3339(now - 100 + n)
        assert _post(integration, event).json["status"] == "stored"
        assert store.device(device["id"])["battery"] == battery
    late = up_event(device["dev_eui"], bay_frame(battery=99), 9, "late")
    late["time"] = rfc3339(now - 1000)
    assert _post(integration, late).json["status"] == "stored"
    d = store.device(device["id"])
    assert d["battery"] == 60 and d["last_seen"] == pytest.approx(now - 96)
