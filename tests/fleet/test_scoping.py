"""Every query is scoped to the caller's department: another department's device answers 404."""
import pytest

from tests.fleet.conftest import Client, make_token, up_event

DEVICE_BODY = {"PATCH": {"name": "x"}}


def _device_routes(app):
    for rule in app.url_map.iter_rules():
        if "device_id" in rule.arguments:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def _url(rule, device_id, uplink_id, downlink_id=None):
    return (rule.rule.replace("<int:device_id>", str(device_id)).replace("<int:uplink_id>", str(uplink_id))
            .replace("<int:downlink_id>", str(downlink_id)))


@pytest.fixture
def td_device(app, device, integration):
    uplink = integration.post("/ingest/chirpstack?event=up", json=up_event(device["dev_eui"])).json["uplink_id"]
    integration.post("/ingest/chirpstack?event=up", json=up_event(device["dev_eui"], b"\xff", 8, "x"))
    downlink = Client(app, make_token(app, "operator", "TD")).post(
        "/api/devices/%d/downlinks" % device["id"], json={"kind": "status_request"}).json["downlink"]["id"]
    return dict(device, uplink_id=uplink, downlink_id=downlink)


def _callers(app):
    return {"token": Client(app, make_token(app, "operator", "FEHD")), "session": Client(app).login("fehd")}


def test_every_device_endpoint_answers_404_for_another_department(app, td_device):
    routes = list(_device_routes(app))
    assert len(routes) >= 12          # the API's and the UI's device routes, reads and writes
    for kind, caller in _callers(app).items():
        for rule, method in routes:
            url = _url(rule, td_device["id"], td_device["uplink_id"], td_device["downlink_id"])
            r = caller.http.open(url, method=method, json=DEVICE_BODY.get(method), headers=caller._headers({}))
            assert r.status_code == 404, (kind, method, url, r.status_code)
            if url.startswith("/api/"):
                assert r.json["ok"] is False and r.json["status"] == 404


def test_the_same_endpoints_work_for_the_owning_department(app, td_device):
    op = Client(app, make_token(app, "operator", "TD"))
    for rule, method in _device_routes(app):
        if method != "GET":
            continue
        url = _url(rule, td_device["id"], td_device["uplink_id"], td_device["downlink_id"])
        assert op.get(url).status_code == 200, url


def test_quarantine_entries_are_scoped(app, td_device, store):
    [entry] = store.quarantine("TD")
    fehd = Client(app, make_token(app, "operator", "FEHD"))
    assert fehd.get("/api/quarantine/%d" % entry["id"]).status_code == 404
    assert fehd.post("/ingest/quarantine/%d/replay" % entry["id"]).status_code == 404
    assert fehd.post("/ingest/quarantine/%d/discard" % entry["id"]).status_code == 404
    assert fehd.get("/api/quarantine").json["items"] == []
    session = Client(app).login("fehd")
    assert session.post("/quarantine/%d/replay" % entry["id"]).status_code == 404
    td = Client(app, make_token(app, "viewer", "TD"))
    assert [q["id"] for q in td.get("/api/quarantine").json["items"]] == [entry["id"]]


def test_lists_and_overview_hold_only_the_callers_department(app, td_device):
    fehd = Client(app, make_token(app, "viewer", "FEHD"))
    assert fehd.get("/api/devices").json["items"] == []
    assert fehd.get("/api/devices?department=TD").json["items"] == []
    assert fehd.get("/api/overview").json["totals"]["total"] == 0
    assert fehd.get("/api/tags").json["items"] == []
    assert [d["code"] for d in fehd.get("/api/departments").json["items"]] == ["FEHD"]
    page = Client(app).login("fehd").get("/devices").get_data(as_text=True)
    assert td_device["dev_eui"] not in page and "bay-001" not in page
    admin = Client(app, make_token(app, "admin"))
    assert [d["id"] for d in admin.get("/api/devices?department=TD").json["items"]] == [td_device["id"]]


def test_audit_log_is_scoped(app, td_device):
    Client(app, make_token(app, "operator", "TD")).patch("/api/devices/%d" % td_device["id"], json={"name": "b"})
    fehd = Client(app, make_token(app, "viewer", "FEHD")).get("/api/audit").json["items"]
    assert all(a["department"] == "FEHD" for a in fehd)
    td = Client(app, make_token(app, "viewer", "TD")).get("/api/audit").json["items"]
    assert "device.update" in [a["action"] for a in td]
