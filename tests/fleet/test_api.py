"""The read API: paging, filters, device detail, OpenAPI document."""
import re

import pytest

from protocols import frames
from tests.fleet.conftest import Client, make_token, register, up_event


@pytest.fixture
def admin(app):
    return Client(app, make_token(app, "admin"))


def _register_many(app, n, **extra):
    return [register(app, name="bay-%03d" % i, **extra)["device"]["id"] for i in range(n)]


def test_device_list_pages_by_keyset(app, admin):
    ids = _register_many(app, 7)
    seen, url = [], "/api/devices?limit=3"
    while url:
        page = admin.get(url).json
        assert len(page["items"]) <= 3 and page["limit"] == 3
        seen += [d["id"] for d in page["items"]]
        url = "/api/devices?limit=3&after=%d" % page["next"]["after"] if page["next"] else None
    assert seen == ids


def test_device_list_filters(app, admin, integration):
    a = register(app, name="north-bay", tags=["pilot"])
    b = register(app, kind="water_main", department="WSD", location="Sha Tin")
    register(app, name="south-bay")
    integration.post("/ingest/chirpstack?event=up", json=up_event(a["lorawan"]["dev_eui"]))

    def names(query):
        return [d["id"] for d in admin.get("/api/devices?" + query).json["items"]]
    assert names("kind=water_main") == [b["device"]["id"]]
    assert names("tag=pilot") == [a["device"]["id"]]
    assert names("q=north") == [a["device"]["id"]]
    assert names("q=sha%20tin") == [b["device"]["id"]]
    assert names("q=" + a["lorawan"]["dev_eui"][:10].lower()) == [a["device"]["id"]]
    assert names("state=active") == [a["device"]["id"]]
    assert len(names("state=registered")) == 2
    assert names("q=%25") == []          # LIKE wildcards are searched for literally


def test_silent_and_low_battery_states(app, admin, integration, store):
    d = register(app)
    low = frames.encode("parking_bay", {"occupied": False, "changes": 0, "battery": 10})
    e = up_event(d["lorawan"]["dev_eui"], low)
    e["time"] = "2020-01-01T00:00:00Z"
    integration.post("/ingest/chirpstack?event=up", json=e)
    device = admin.get("/api/devices/%d" % d["device"]["id"]).json["device"]
    assert device["state"] == "silent" and device["last_seen"] == "2020-01-01T00:00:00Z"
    assert [x["id"] for x in admin.get("/api/devices?state=low_battery").json["items"]] == [d["device"]["id"]]
    overview = admin.get("/api/overview").json
    assert overview["totals"]["silent"] == 1 and overview["totals"]["low_battery"] == 1
    assert overview["silent"][0]["id"] == d["device"]["id"]


def test_device_detail_and_uplink_paging(app, admin, integration, device):
    for n in range(5):
        integration.post("/ingest/chirpstack?event=up", json=up_event(device["dev_eui"], f_cnt=n, dedup="u%d" % n))
    detail = admin.get("/api/devices/%d" % device["id"]).json
    assert detail["device"]["dev_eui"] == device["dev_eui"] and detail["latest"]["changes"] == 3
    assert detail["link"]["uplinks"] == 5 and detail["link"]["gateways"] == 2
    assert detail["link"]["spreading_factors"] == {"9": 5}
    page = admin.get("/api/devices/%d/uplinks?limit=2" % device["id"]).json
    assert [u["f_cnt"] for u in page["items"]] == [4, 3]
    page2 = admin.get("/api/devices/%d/uplinks?limit=2&before=%d" % (device["id"], page["next"]["before"])).json
    assert [u["f_cnt"] for u in page2["items"]] == [2, 1]
    uplink = page["items"][0]
    rx = admin.get("/api/devices/%d/uplinks/%d/receptions" % (device["id"], uplink["id"])).json["items"]
    assert [r["rssi"] for r in rx] == [-97, -112]
    readings = admin.get("/api/devices/%d/readings" % device["id"]).json["items"]
    assert len(readings) == 5 and readings[0]["occupied"] == 1 and readings[0]["time"].endswith("Z")


def test_every_list_is_paged(app, admin, device):
    for url in ("/api/devices", "/api/quarantine", "/api/audit", "/api/devices/%d/uplinks" % device["id"],
                "/api/devices/%d/audit" % device["id"]):
        body = admin.get(url + "?limit=1").json
        assert body["ok"] and body["limit"] == 1 and "next" in body and len(body["items"]) <= 1, url


def test_openapi_describes_every_api_route(app):
    doc = app.test_client().get("/api/openapi.json").json
    assert doc["openapi"].startswith("3.")
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/", "/ingest/")):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                op = doc["paths"][path][method.lower()]
                assert op["summary"] and op["responses"]["default"], (path, method)
    params = [p["name"] for p in doc["paths"]["/api/devices"]["get"]["parameters"]]
    assert {"after", "limit", "kind", "state", "tag", "q"} <= set(params)
    assert doc["components"]["schemas"]["Error"]["required"] == ["ok", "error", "status"]
    device_id = doc["paths"]["/api/devices/{device_id}"]["get"]["parameters"][0]
    assert device_id == {"name": "device_id", "in": "path", "required": True, "schema": {"type": "integer"}}


def test_patch_device_and_audit(app, admin, device, store):
    r = admin.patch("/api/devices/%d" % device["id"], json={"name": "renamed", "tags": ["a", "b"]},
                    environ_base={"REMOTE_ADDR": "192.0.2.9"})
    assert r.status_code == 200 and r.json["device"]["name"] == "renamed" and r.json["device"]["tags"] == ["a", "b"]
    audit = admin.get("/api/devices/%d/audit" % device["id"]).json["items"][0]
    assert audit["action"] == "device.update" and audit["remote_addr"] == "192.0.2.9"
    assert audit["detail"] == {"name": "renamed", "tags": ["a", "b"]}


def test_health_needs_no_login(app):
    r = app.test_client().get("/api/health")
    from fleet.storage.migrations import MIGRATIONS
    assert r.status_code == 200 and r.json == {"ok": True, "schema": MIGRATIONS[-1][0]}
