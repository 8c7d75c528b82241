"""One error shape for the API, {"ok": false, "error": ..., "status": ...}, on every error path."""
import pytest

from tests.fleet.conftest import Client, make_token, up_event


def _shape(r, status):
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.content_type == "application/json"
    body = r.json
    assert set(body) - {"errors"} == {"ok", "error", "status"}
    assert body["ok"] is False and body["status"] == status and isinstance(body["error"], str) and body["error"]
    return body


@pytest.fixture
def admin(app):
    return Client(app, make_token(app, "admin"))


@pytest.fixture
def integ(app):
    return Client(app, make_token(app, "integration"))


def test_400_paths(app, admin, integ, device):
    _shape(admin.get("/api/devices?limit=abc"), 400)
    _shape(admin.get("/api/devices?limit=100000"), 400)
    _shape(admin.get("/api/devices?state=sleepy"), 400)
    _shape(admin.get("/api/devices?kind=kettle"), 400)
    _shape(admin.get("/api/quarantine?status=weird"), 400)
    _shape(admin.get("/api/devices/%d/readings?days=90" % device["id"]), 400)
    _shape(integ.post("/ingest/chirpstack", json={}), 400)                        # no ?event=
    _shape(integ.post("/ingest/chirpstack?event=up", data="not json", content_type="application/json"), 400)
    _shape(integ.post("/ingest/chirpstack?event=up", json=[]), 400)
    _shape(integ.post("/ingest/chirpstack?event=up", json=[up_event(device["dev_eui"])] * 1001), 400)
    _shape(integ.post("/ingest/chirpstack?event=up", json={"deviceInfo": {"devEui": "12"}}), 400)
    _shape(integ.post("/ingest/tts", json={"end_device_ids": {}}), 400)
    _shape(admin.post("/api/provisioning/devices", json=["a list"]), 400)
    _shape(admin.post("/api/provisioning/devices", json={"devices": []}), 400)
    _shape(admin.post("/api/provisioning/claim", json={}), 400)
    _shape(admin.post("/api/provisioning/import", data=b"\xff\xfe", content_type="text/csv"), 400)
    _shape(admin.post("/api/provisioning/import", data=b"", content_type="text/csv"), 400)
    _shape(admin.patch("/api/devices/%d" % device["id"], json={}), 400)
    session = Client(app).login("admin")
    _shape(session.http.post("/api/devices/%d/decommission" % device["id"]), 400)   # no CSRF token


def test_401_paths(app):
    anon = app.test_client()
    _shape(anon.get("/api/devices"), 401)
    _shape(anon.post("/ingest/tts", json={}), 401)
    _shape(anon.get("/api/devices", headers={"Authorization": "Bearer cft_nope"}), 401)
    _shape(anon.get("/api/devices", headers={"Authorization": "Token x"}), 401)


def test_403_paths(app, device):
    viewer = Client(app, make_token(app, "viewer", "TD"))
    _shape(viewer.post("/api/devices/%d/decommission" % device["id"]), 403)
    _shape(viewer.post("/api/provisioning/devices", json={}), 403)
    _shape(Client(app, make_token(app, "operator", "TD")).post("/ingest/tts", json={}), 403)


def test_404_paths(admin, device):
    _shape(admin.get("/api/devices/999999"), 404)
    _shape(admin.get("/api/devices/%d/uplinks/12345/receptions" % device["id"]), 404)
    _shape(admin.get("/api/quarantine/42"), 404)
    _shape(admin.post("/ingest/quarantine/42/replay"), 404)
    _shape(admin.post("/api/provisioning/claim", json={"claim_code": "AAAA-BBBB-CCCC"}), 404)
    _shape(admin.get("/api/no-such-thing"), 404)


def test_405_409_413_422_paths(app, admin, integ, device):
    _shape(admin.http.delete("/api/devices/%d" % device["id"], headers=admin._headers({})), 405)
    assert admin.post("/api/devices/%d/decommission" % device["id"]).status_code == 200
    _shape(admin.post("/api/devices/%d/decommission" % device["id"]), 409)
    _shape(admin.post("/api/devices/%d/clear-alarm" % device["id"]), 409)
    qid = integ.post("/ingest/chirpstack?event=up", json=up_event("70B3D57ED0000009")).json["quarantine_id"]
    assert admin.post("/ingest/quarantine/%d/discard" % qid).status_code == 200
    _shape(admin.post("/ingest/quarantine/%d/discard" % qid), 409)
    _shape(admin.post("/ingest/quarantine/%d/replay" % qid), 409)
    app.config["MAX_CONTENT_LENGTH"] = 1000
    _shape(integ.post("/ingest/chirpstack?event=up", data="x" * 2000, content_type="application/json"), 413)
    body = _shape(admin.post("/api/provisioning/devices", json={"kind": "x"}), 422)
    assert {e["field"] for e in body["errors"]} == {"kind", "board", "department"}
    body = _shape(admin.patch("/api/devices/%d" % device["id"], json={"kind": "water_main"}), 422)
    assert body["errors"][0]["field"] == "kind"


def test_500_path(app, admin, monkeypatch):
    from fleet import queries

    def broken(*args, **kwargs):
        raise RuntimeError("boom")
    monkeypatch.setattr(queries, "overview", broken)
    body = _shape(admin.get("/api/overview"), 500)
    assert body["error"] == "internal server error"        # no internals leaked


def test_ui_errors_are_pages(app):
    c = Client(app).login("td")
    r = c.http.get("/devices/999")
    assert r.status_code == 404 and r.content_type.startswith("text/html") and "Error 404" in r.get_data(as_text=True)
