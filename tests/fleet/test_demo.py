"""The demo city is seeded through the real ingest endpoint."""
from fleet import create_app, demo
from fleet.storage import Store
from tests.fleet.conftest import DATA_KEY


def test_demo_seed_one_day(tmp_path):
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "demo.db"), "SECRET_KEY": "s", "DATA_KEY": DATA_KEY},
                     instance_path=str(tmp_path))
    counts = demo.seed(app, days=1, log=lambda *a: None)
    assert counts["devices"] == 1000 and counts["stored"] == counts["events"] > 2000
    s = Store(app.config["DATABASE"])
    assert [d["code"] for d in s.departments()] == ["AFCD", "FEHD", "TD", "WSD"]
    by_kind = {r["kind"]: r["total"] for r in s.overview()}
    assert by_kind == {"parking_bay": 400, "rodent_station": 200, "smart_toilet": 150, "water_main": 150,
                       "hiker_tracker": 100}
    reasons = {q["reason"] for q in s.quarantine(status=None, limit=500)}
    assert reasons == {"unknown_device", "undecodable", "decommissioned"}
    # Every stored uplink came through ingest: it has a ChirpStack deduplication id and receptions.
    assert s._scalar("SELECT COUNT(*) FROM uplinks WHERE source != 'chirpstack' OR dedup_id IS NULL") == 0
    assert s._scalar("SELECT COUNT(*) FROM uplinks u WHERE NOT EXISTS "
                     "(SELECT 1 FROM receptions r WHERE r.uplink_id = u.id)") == 0
    # the water mains' night flows and the alarm frames went through ingest too, and every
    # kind of alarm the profiles raise is open somewhere
    assert s._scalar("SELECT COUNT(DISTINCT device_id) FROM readings_night_flow") > 50
    assert s._scalar("SELECT COUNT(*) FROM readings_night_flow r JOIN devices d ON d.id = r.device_id"
                     " WHERE d.kind != 'water_main'") == 0
    bursts = s._all("SELECT active, repeat FROM readings_alarm WHERE alarm = 'burst' ORDER BY time")
    assert {(b["active"], b["repeat"]) for b in bursts} >= {(1, 0), (1, 1), (0, 72)}
    alarms = {r["alarm"] for r in s._all("SELECT DISTINCT alarm FROM devices WHERE alarm IS NOT NULL")}
    assert alarms >= {"burst main", "low pressure", "water leak", "cleaning needed", "consumables low", "SOS",
                      "rodent activity burst"}
    assert s._scalar("SELECT COUNT(*) FROM readings_smart_toilet WHERE cleaning = 1") >= 1
    s.close()
