"""Server-rendered pages (through the test client; tests/fleet/test_browser.py drives a real browser)."""
import re

from protocols import frames
from tests.fleet.conftest import Client, register, up_event


def test_overview_device_list_and_device_page(app, integration, device):
    integration.post("/ingest/chirpstack?event=up", json=up_event(device["dev_eui"]))
    c = Client(app).login("td")
    overview = c.http.get("/").get_data(as_text=True)
    assert 'id="total-devices">1<' in overview and "parking_bay" in overview
    listing = c.http.get("/devices?kind=parking_bay").get_data(as_text=True)
    assert "bay-001" in listing
    assert "No devices match" in c.http.get("/devices?kind=water_main").get_data(as_text=True)
    page = c.http.get("/devices/%d" % device["id"]).get_data(as_text=True)
    assert "bay-001" in page and device["dev_eui"] in page and 'id="frames"' in page and "changes=3" in page


def test_device_page_chart_is_inline_svg(app, integration):
    b = register(app, kind="water_main", department="WSD")
    c = Client(app).login("admin")
    import time
    for n in range(5):
        e = up_event(b["lorawan"]["dev_eui"], frames.encode("water_main", {
            "pressure": 300 + n, "flow": 1, "pressure_min": 290, "pressure_max": 320, "battery": 80}), n, "w%d" % n)
        e["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600 * (5 - n)))
        integration.post("/ingest/chirpstack?event=up", json=e)
    page = c.http.get("/devices/%d" % b["device"]["id"]).get_data(as_text=True)
    assert page.count("<svg") == 2 and "<polyline" in page and "pressure (kPa)" in page
    assert "<script" not in page


def test_decommission_and_replay_from_the_ui(app, integration, device, store):
    c = Client(app).login("td")
    r = c.http.post("/devices/%d/decommission" % device["id"], data={"csrf_token": c.csrf})
    assert r.status_code == 302 and store.device(device["id"])["status"] == "decommissioned"
    integration.post("/ingest/chirpstack?event=up", json=up_event(device["dev_eui"]))
    page = c.http.get("/quarantine").get_data(as_text=True)
    assert "decommissioned" in page
    [entry] = store.quarantine("TD")
    c.http.post("/quarantine/%d/discard" % entry["id"], data={"csrf_token": c.csrf})
    assert store.quarantine_entry(entry["id"])["status"] == "discarded"
    audit = c.http.get("/audit").get_data(as_text=True)
    assert "device.decommission" in audit and "quarantine.discard" in audit


def test_viewer_sees_no_buttons(app, device):
    page = Client(app).login("tdview").http.get("/devices/%d" % device["id"]).get_data(as_text=True)
    assert "Decommission" not in page


def test_pages_are_phone_friendly(app):
    page = Client(app).login("td").http.get("/").get_data(as_text=True)
    assert re.search(r'<meta name="viewport" content="width=device-width', page)
