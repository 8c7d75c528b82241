"""The downlink queue: operators' downlinks and alarm acknowledgements reach the network
server (ChirpStack v4's REST API as the modem emulator serves it, The Things Stack's webhook
push API as a small local server checks it), failures stay queued with their reason, the
network server's events move each downlink's state, and everything is scoped and audited."""
import base64
import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hil.peers.modem_emulator import ModemEmulator
from protocols import frames
from tests.fleet.conftest import Client, fixture, make_token, register, up_event

API_KEY = "nnsxs-SECRET-key-0123456789"


class Peer:
    """A network server stand-in: records each POST (path, headers, JSON body) and answers
    with the status and body set, after an optional delay."""

    def __init__(self, status=200, body=None, delay=0.0):
        self.status, self.body, self.delay = status, body if body is not None else {}, delay
        self.requests = []
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                peer.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                      "body": json.loads(data)})
                time.sleep(peer.delay)
                out = json.dumps(peer.body).encode()
                try:
                    self.send_response(peer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except OSError:          # the client gave up waiting
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def peer():
    p = Peer()
    yield p
    p.close()


@pytest.fixture
def chirpstack(app, device):
    """The modem emulator's downlink queue over ChirpStack's REST shape, configured as the fleet's network server."""
    modem = ModemEmulator(None, lambda: 0)
    modem.dev_eui = device["dev_eui"].lower()
    app.config.update(NETWORK_SERVER="chirpstack", NETWORK_SERVER_URL=modem.serve_api(),
                      NETWORK_SERVER_API_KEY=API_KEY)
    yield modem
    modem.stop()


@pytest.fixture
def operator(app):
    return Client(app, make_token(app, "operator", "TD"))


def _closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _send(client, device, kind, fields=None, **extra):
    return client.post("/api/devices/%d/downlinks" % device["id"], json=dict({"kind": kind, "fields": fields or {}},
                                                                              **extra))


def _cs_event(integration, kind, dev_eui, **fields):
    event = fixture("chirpstack_" + kind, dev_eui)
    event.update(fields)
    for name in [k for k, v in fields.items() if v is None]:
        del event[name]                      # ChirpStack leaves out empty fields
    r = integration.post("/ingest/chirpstack?event=" + kind, json=event)
    assert r.status_code == 200, r.json
    return r


# ---------------------------------------------------------------- ChirpStack

def test_a_status_request_reaches_chirpstacks_queue_and_is_listed(app, device, chirpstack, operator):
    r = _send(operator, device, "status_request")
    assert r.status_code == 201, r.json
    dl = r.json["downlink"]
    assert dl["state"] == "sent" and dl["network_server"] == "chirpstack" and dl["attempts"] == 1
    [item] = chirpstack.downlink_queue
    assert dl["ns_id"] == item["id"]
    assert (item["f_port"], item["data"], item["confirmed"]) == (2, frames.encode("status_request", {}), False)
    assert bytes.fromhex(dl["payload"]) == item["data"] and dl["queued_by"].endswith("operator")
    listed = operator.get("/api/devices/%d/downlinks" % device["id"]).json
    assert [d["id"] for d in listed["items"]] == [dl["id"]] and listed["next"] is None
    one = operator.get("/api/devices/%d/downlinks/%d" % (device["id"], dl["id"])).json["downlink"]
    assert one["state"] == "sent" and one["sent_at"].endswith("Z")


def test_chirpstack_request_shape_and_api_key_header(app, device, peer, operator):
    peer.body = {"id": "7d5a1c1e-0000-4000-8000-000000000001"}
    app.config.update(NETWORK_SERVER="chirpstack", NETWORK_SERVER_URL=peer.url + "/", NETWORK_SERVER_API_KEY=API_KEY)
    dl = _send(operator, device, "reboot", {"delay": 30}).json["downlink"]
    [req] = peer.requests
    assert req["path"] == "/api/devices/%s/queue" % device["dev_eui"].lower()
    assert req["headers"]["grpc-metadata-authorization"] == "Bearer " + API_KEY
    assert req["body"] == {"queueItem": {"fPort": 2, "confirmed": True,
                                         "data": base64.b64encode(frames.encode("reboot", {"delay": 30})).decode()}}
    assert dl["state"] == "sent" and dl["ns_id"] == peer.body["id"]


def test_txack_then_ack_move_the_downlink_to_acknowledged(app, device, chirpstack, operator, integration):
    dl = _send(operator, device, "reboot", {"delay": 5}).json["downlink"]
    eui = device["dev_eui"]
    _cs_event(integration, "txack", eui, queueItemId=dl["ns_id"], fCntDown=12)
    got = operator.get("/api/devices/%d/downlinks/%d" % (device["id"], dl["id"])).json["downlink"]
    assert got["state"] == "transmitted" and got["f_cnt_down"] == 12 and got["transmitted_at"]
    _cs_event(integration, "ack", eui, queueItemId=dl["ns_id"], fCntDown=12, acknowledged=True)
    got = operator.get("/api/devices/%d/downlinks/%d" % (device["id"], dl["id"])).json["downlink"]
    assert got["state"] == "acknowledged" and got["done_at"] and got["reason"] is None
    # the events are still recorded as before
    events = [e["event"] for e in operator.get("/api/devices/%d/events" % device["id"]).json["items"]]
    assert "txack" in events and "ack" in events
    # a late txack does not undo the acknowledgement
    _cs_event(integration, "txack", eui, queueItemId=dl["ns_id"], fCntDown=12)
    assert operator.get("/api/devices/%d/downlinks/%d" % (device["id"], dl["id"])).json["downlink"]["state"] \
        == "acknowledged"


def test_a_nack_fails_the_downlink_and_an_ack_matches_by_frame_counter(app, device, chirpstack, operator,
                                                                      integration):
    first = _send(operator, device, "config", {"interval": 900}).json["downlink"]
    second = _send(operator, device, "config", {"interval": 600}).json["downlink"]
    eui = device["dev_eui"]
    _cs_event(integration, "ack", eui, queueItemId=first["ns_id"], fCntDown=3, acknowledged=None)   # false: left out
    _cs_event(integration, "txack", eui, queueItemId=second["ns_id"], fCntDown=4)
    _cs_event(integration, "ack", eui, queueItemId=None, fCntDown=4, acknowledged=True)
    items = {d["id"]: d for d in operator.get("/api/devices/%d/downlinks" % device["id"]).json["items"]}
    assert items[first["id"]]["state"] == "failed" and "nack" in items[first["id"]]["reason"]
    assert items[second["id"]]["state"] == "acknowledged"
    # each config carries the next seq, which the device's config_ack echoes
    assert (items[first["id"]]["fields"]["seq"], items[second["id"]]["fields"]["seq"]) == (0, 1)
    assert frames.decode(bytes.fromhex(items[second["id"]]["payload"])) == ("config", {
        "seq": 1, "interval": 600, "threshold_high": None, "threshold_low": None})


def test_an_error_log_naming_the_queue_item_fails_it(app, device, chirpstack, operator, integration):
    dl = _send(operator, device, "status_request").json["downlink"]
    _cs_event(integration, "log", device["dev_eui"], code="DOWNLINK_PAYLOAD_SIZE", description="payload too large",
              context={"queue_item_id": dl["ns_id"]})
    got = operator.get("/api/devices/%d/downlinks/%d" % (device["id"], dl["id"])).json["downlink"]
    assert got["state"] == "failed" and got["reason"] == "DOWNLINK_PAYLOAD_SIZE: payload too large"


# ---------------------------------------------------------------- The Things Stack

def _tts(app, url):
    app.config.update(NETWORK_SERVER="tts", NETWORK_SERVER_URL=url, NETWORK_SERVER_API_KEY=API_KEY,
                      TTS_APPLICATION_ID="cityfleet", TTS_WEBHOOK_ID="fleet-wh")


def _tts_event(integration, device, kind, inner):
    message = fixture("tts_downlink_ack", device["dev_eui"])
    del message["downlink_ack"]
    message[kind] = inner
    r = integration.post("/ingest/tts", json=message)
    assert r.status_code == 200, r.json


def test_tts_push_path_headers_body_and_events(app, device, peer, operator, integration):
    _tts(app, peer.url)
    dl = _send(operator, device, "reboot", {"delay": 60}).json["downlink"]
    [req] = peer.requests
    assert req["path"] == ("/api/v3/as/applications/cityfleet/webhooks/fleet-wh/devices/eui-%s/down/push"
                           % device["dev_eui"].lower())
    assert req["headers"]["authorization"] == "Bearer " + API_KEY
    assert req["headers"]["content-type"] == "application/json"
    [down] = req["body"]["downlinks"]
    assert (down["f_port"], down["confirmed"]) == (2, True)
    assert base64.b64decode(down["frm_payload"]) == frames.encode("reboot", {"delay": 60})
    assert down["correlation_ids"] == ["cityfleet:downlink:%d" % dl["id"]]
    assert dl["state"] == "sent" and dl["ns_id"] == "cityfleet:downlink:%d" % dl["id"]
    # TTS keeps our correlation id in the events it sends back, beside its own
    ids = ["as:downlink:01JABCDEF", "cityfleet:downlink:%d" % dl["id"]]
    _tts_event(integration, device, "downlink_sent", {"f_port": 2, "f_cnt": 9, "frm_payload": down["frm_payload"],
                                                      "confirmed": True, "correlation_ids": ids})
    got = operator.get("/api/devices/%d/downlinks/%d" % (device["id"], dl["id"])).json["downlink"]
    assert got["state"] == "transmitted" and got["f_cnt_down"] == 9
    _tts_event(integration, device, "downlink_ack", {"f_port": 2, "f_cnt": 9, "confirmed": True,
                                                     "correlation_ids": ids})
    got = operator.get("/api/devices/%d/downlinks/%d" % (device["id"], dl["id"])).json["downlink"]
    assert got["state"] == "acknowledged"


def test_tts_downlink_failed_and_nack(app, device, peer, operator, integration):
    _tts(app, peer.url)
    failed = _send(operator, device, "status_request").json["downlink"]
    nacked = _send(operator, device, "reboot", {}).json["downlink"]
    _tts_event(integration, device, "downlink_failed", {
        "downlink": {"f_port": 2, "correlation_ids": ["cityfleet:downlink:%d" % failed["id"]]},
        "error": {"namespace": "pkg/networkserver", "name": "application_downlink_too_long",
                  "message_format": "application downlink payload too long", "code": 3}})
    _tts_event(integration, device, "downlink_nack", {"f_port": 2, "f_cnt": 4, "confirmed": True,
                                                      "correlation_ids": ["cityfleet:downlink:%d" % nacked["id"]]})
    items = {d["id"]: d for d in operator.get("/api/devices/%d/downlinks" % device["id"]).json["items"]}
    assert items[failed["id"]]["state"] == "failed"
    assert "application_downlink_too_long" in items[failed["id"]]["reason"]
    assert items[nacked["id"]]["state"] == "failed" and "nack" in items[nacked["id"]]["reason"]


def test_tts_needs_its_application_and_webhook(app, device, peer, operator):
    app.config.update(NETWORK_SERVER="tts", NETWORK_SERVER_URL=peer.url)
    dl = _send(operator, device, "status_request").json["downlink"]
    assert dl["state"] == "failed" and "TTS_APPLICATION_ID" in dl["reason"] and peer.requests == []


# ---------------------------------------------------------------- failures and retries

def test_network_server_down_fails_fast_and_retry_sends_it(app, device, operator):
    app.config.update(NETWORK_SERVER="chirpstack", NETWORK_SERVER_URL="http://127.0.0.1:%d" % _closed_port(),
                      NETWORK_SERVER_API_KEY=API_KEY)
    started = time.monotonic()
    r = _send(operator, device, "status_request")
    assert time.monotonic() - started < 3
    assert r.status_code == 201
    dl = r.json["downlink"]
    assert dl["state"] == "failed" and dl["reason"].startswith("chirpstack unreachable")
    modem = ModemEmulator(None, lambda: 0)
    modem.dev_eui = device["dev_eui"].lower()
    app.config["NETWORK_SERVER_URL"] = modem.serve_api()
    try:
        again = operator.post("/api/devices/%d/downlinks/%d/retry" % (device["id"], dl["id"])).json["downlink"]
    finally:
        modem.stop()
    assert again["state"] == "sent" and again["attempts"] == 2 and again["reason"] is None
    assert again["ns_id"] == modem.downlink_queue[0]["id"]
    # a sent one is not sent twice
    r = operator.post("/api/devices/%d/downlinks/%d/retry" % (device["id"], dl["id"]))
    assert r.status_code == 409 and r.json["ok"] is False


def test_a_refusal_keeps_the_servers_message_but_never_the_key(app, device, peer, operator, caplog):
    app.config.update(NETWORK_SERVER="chirpstack", NETWORK_SERVER_URL=peer.url, NETWORK_SERVER_API_KEY=API_KEY)
    peer.status, peer.body = 400, {"error": "fPort must be 1..223", "code": 3}
    dl = _send(operator, device, "status_request").json["downlink"]
    assert dl["state"] == "failed" and dl["reason"] == "chirpstack refused it: HTTP 400: fPort must be 1..223"
    peer.status, peer.body = 401, {"error": "invalid token %s" % API_KEY, "code": 16}
    with caplog.at_level(logging.DEBUG):
        dl = _send(operator, device, "status_request").json["downlink"]
    assert dl["state"] == "failed" and "HTTP 401" in dl["reason"] and API_KEY not in dl["reason"]
    assert API_KEY not in caplog.text and "HTTP 401" in caplog.text


def test_a_slow_network_server_does_not_hold_the_request(app, device, peer, operator):
    app.config.update(NETWORK_SERVER="chirpstack", NETWORK_SERVER_URL=peer.url, NETWORK_SERVER_TIMEOUT=0.5)
    peer.delay = 3
    started = time.monotonic()
    dl = _send(operator, device, "status_request").json["downlink"]
    assert time.monotonic() - started < 2.5
    assert dl["state"] == "failed" and "unreachable" in dl["reason"]


def test_without_a_network_server_the_downlink_stays_queued(app, device, operator):
    dl = _send(operator, device, "status_request").json["downlink"]
    assert dl["state"] == "queued" and "NETWORK_SERVER" in dl["reason"] and dl["attempts"] == 0


@pytest.mark.parametrize("body,status,word", [
    ({"kind": "launch"}, 422, "kind"),
    ({"kind": "reboot", "fields": {"delay": 99999}}, 422, "delay"),
    ({"kind": "reboot", "fields": {"speed": 1}}, 422, "speed"),
    ({"kind": "config", "fields": {}}, 422, "interval"),
    ({"kind": "config", "fields": {"interval": 5}}, 422, "interval"),
    ({"kind": "config", "fields": {"interval": 60, "seq": 9}}, 201, None),
    ({"kind": "alarm_ack", "fields": {"alarm": "fire"}}, 422, "alarm"),
    ({"kind": "status_request", "confirmed": "yes"}, 422, "confirmed"),
    ({"kind": "status_request", "fields": []}, 422, "fields"),
    ({"fields": {}}, 400, "kind"),
])
def test_bad_downlinks_are_refused_as_json_and_nothing_is_queued(app, device, operator, body, status, word):
    r = operator.post("/api/devices/%d/downlinks" % device["id"], json=body)
    assert r.status_code == status, r.json
    if status == 201:
        assert r.json["downlink"]["fields"]["seq"] == 0       # the fleet numbers configs, not the caller
        return
    assert r.json["ok"] is False and r.json["status"] == status and word in r.json["error"]
    assert operator.get("/api/devices/%d/downlinks" % device["id"]).json["items"] == []


def test_a_decommissioned_device_gets_no_downlink(app, device, operator):
    operator.post("/api/devices/%d/decommission" % device["id"])
    r = _send(operator, device, "status_request")
    assert r.status_code == 409 and r.json["ok"] is False


# ---------------------------------------------------------------- roles, scope, audit

def test_roles_viewers_read_operators_and_admins_send(app, device, token_client):
    viewer = token_client("viewer", "TD")
    assert _send(viewer, device, "status_request").status_code == 403
    assert _send(token_client("technician", "TD"), device, "status_request").status_code == 403
    assert _send(token_client("integration"), device, "status_request").status_code == 403
    assert _send(token_client("admin"), device, "status_request").status_code == 201
    assert _send(token_client("operator", "TD"), device, "status_request").status_code == 201
    assert len(viewer.get("/api/devices/%d/downlinks" % device["id"]).json["items"]) == 2


def test_another_departments_device_and_downlink_answer_404(app, device, operator, token_client):
    dl = _send(operator, device, "status_request").json["downlink"]
    fehd = token_client("operator", "FEHD")
    for method, url in (("GET", "/api/devices/%d/downlinks" % device["id"]),
                        ("POST", "/api/devices/%d/downlinks" % device["id"]),
                        ("GET", "/api/devices/%d/downlinks/%d" % (device["id"], dl["id"])),
                        ("POST", "/api/devices/%d/downlinks/%d/retry" % (device["id"], dl["id"]))):
        r = fehd.http.open(url, method=method, json={"kind": "status_request"}, headers=fehd._headers({}))
        assert r.status_code == 404 and r.json["ok"] is False, (method, url)
    # a downlink id of another device is not found through this one
    other = register(app, name="bay-002")["device"]
    assert operator.get("/api/devices/%d/downlinks/%d" % (other["id"], dl["id"])).status_code == 404
    assert operator.post("/api/devices/%d/downlinks/%d/retry" % (other["id"], dl["id"])).status_code == 404


def test_every_downlink_is_audited_without_the_api_key(app, device, chirpstack, operator, store):
    dl = _send(operator, device, "reboot", {"delay": 15}).json["downlink"]
    operator.post("/api/devices/%d/downlinks/%d/retry" % (device["id"], dl["id"]))   # 409: not audited
    audit = operator.get("/api/devices/%d/audit" % device["id"]).json["items"]
    [entry] = [a for a in audit if a["action"] == "downlink.queue"]
    assert entry["actor"].endswith("operator") and entry["department"] == "TD" and entry["remote_addr"]
    assert entry["detail"] == {"downlink_id": dl["id"], "kind": "reboot", "fields": {"delay": 15}, "f_port": 2,
                               "confirmed": True, "payload": dl["payload"]}
    everything = json.dumps([store.audit_log(), store.downlinks(device["id"])], default=str)
    assert API_KEY not in everything
    assert API_KEY not in json.dumps(operator.get("/api/devices/%d/downlinks" % device["id"]).json)


def test_the_openapi_document_lists_the_downlink_endpoints(app):
    paths = app.test_client().get("/api/openapi.json").json["paths"]
    assert set(paths["/api/devices/{device_id}/downlinks"]) == {"get", "post"}
    assert "requestBody" in paths["/api/devices/{device_id}/downlinks"]["post"]
    assert "/api/devices/{device_id}/downlinks/{downlink_id}/retry" in paths
    assert {"before", "limit"} <= {p["name"] for p in paths["/api/devices/{device_id}/downlinks"]["get"]["parameters"]}


def test_downlinks_page_by_keyset(app, device, operator):
    ids = [_send(operator, device, "status_request").json["downlink"]["id"] for _ in range(5)]
    seen, url = [], "/api/devices/%d/downlinks?limit=2" % device["id"]
    while url:
        page = operator.get(url).json
        seen += [d["id"] for d in page["items"]]
        url = ("/api/devices/%d/downlinks?limit=2&before=%d" % (device["id"], page["next"]["before"])
               if page["next"] else None)
    assert seen == ids[::-1]


# ---------------------------------------------------------------- alarms

ALARM_CASES = [
    ("hiker_tracker", "hiker_tracker", {"latitude": 22.4, "longitude": 114.2, "fix": "gps", "sos": True,
                                        "battery": 80}, "SOS", "sos"),
    ("water_main", "alarm", {"alarm": "burst", "active": True, "repeat": 0, "battery": 90}, "burst main", "burst"),
    ("water_main", "alarm", {"alarm": "leak", "active": True, "repeat": 2, "battery": 90}, "water leak", "leak"),
    ("rodent_station", "rodent_station", {"activity": 40, "burst": True, "battery": 70}, "rodent activity burst",
     "rodent_burst"),
    ("smart_toilet", "smart_toilet", {"occupied": False, "leak": True, "people": 3, "nh3": 1, "h2s": 0.01,
                                      "consumables": 80, "battery": 60}, "water leak", "leak"),
]


@pytest.mark.parametrize("kind,frame,values,alarm,ack", ALARM_CASES)
def test_clearing_a_repeated_alarm_sends_its_alarm_ack(app, integration, operator, kind, frame, values, alarm, ack):
    bundle = register(app, kind=kind, name="d-1")
    device = dict(bundle["device"], dev_eui=bundle["lorawan"]["dev_eui"])
    modem = ModemEmulator(None, lambda: 0)
    modem.dev_eui = device["dev_eui"].lower()
    app.config.update(NETWORK_SERVER="chirpstack", NETWORK_SERVER_URL=modem.serve_api())
    try:
        integration.post("/ingest/chirpstack?event=up", json=up_event(device["dev_eui"], frames.encode(frame, values)))
        assert operator.get("/api/devices/%d" % device["id"]).json["device"]["alarm"] == alarm
        r = operator.post("/api/devices/%d/clear-alarm" % device["id"])
    finally:
        modem.stop()
    assert r.status_code == 200 and r.json["device"]["alarm"] is None
    dl = r.json["downlink"]
    assert (dl["kind"], dl["fields"], dl["state"], dl["confirmed"]) == ("alarm_ack", {"alarm": ack}, "sent", True)
    [item] = modem.downlink_queue
    assert frames.decode(item["data"]) == ("alarm_ack", {"alarm": ack}) and item["id"] == dl["ns_id"]
    actions = [a["action"] for a in operator.get("/api/devices/%d/audit" % device["id"]).json["items"]]
    assert actions[:2] == ["downlink.queue", "device.clear_alarm"]


def test_an_alarm_the_device_does_not_repeat_sends_nothing(app, integration, operator, peer):
    bundle = register(app, kind="water_main", name="main-1")
    app.config.update(NETWORK_SERVER="chirpstack", NETWORK_SERVER_URL=peer.url)
    low = frames.encode("water_main", {"pressure": 50, "flow": 1.0, "pressure_min": 40, "pressure_max": 60,
                                       "battery": 90})
    integration.post("/ingest/chirpstack?event=up", json=up_event(bundle["lorawan"]["dev_eui"], low))
    r = operator.post("/api/devices/%d/clear-alarm" % bundle["device"]["id"])
    assert r.status_code == 200 and r.json["downlink"] is None and peer.requests == []


# ---------------------------------------------------------------- the device page

def test_device_page_sends_and_lists_downlinks_with_csrf(app, device, chirpstack, user_client):
    td = user_client("td")
    page = td.get("/devices/%d" % device["id"]).get_data(as_text=True)
    assert "Request status" in page and "No downlinks yet." in page
    url = "/devices/%d/downlinks" % device["id"]
    r = td.http.post(url, data={"kind": "reboot", "delay": "20"})                      # no CSRF token
    assert r.status_code == 400 and chirpstack.downlink_queue == []
    r = td.http.post(url, data={"kind": "reboot", "delay": "20", "csrf_token": td.csrf})
    assert r.status_code == 302
    assert frames.decode(chirpstack.downlink_queue[0]["data"]) == ("reboot", {"delay": 20})
    r = td.http.post(url, data={"kind": "config", "interval": "", "threshold_high": "x", "csrf_token": td.csrf})
    assert r.status_code == 302 and len(chirpstack.downlink_queue) == 1
    page = td.http.get("/devices/%d" % device["id"]).get_data(as_text=True)
    assert "threshold_high must be a whole number" in page
    assert "reboot" in page and "delay=20" in page and 'class="downlink-sent"' in page


def test_device_page_retry_and_viewer_sees_the_queue_only(app, device, user_client, store):
    td = user_client("td")
    td.http.post("/devices/%d/downlinks" % device["id"], data={"kind": "status_request", "csrf_token": td.csrf})
    page = td.http.get("/devices/%d" % device["id"]).get_data(as_text=True)
    assert 'class="downlink-queued"' in page and "Retry" in page
    viewer = user_client("tdview")
    text = viewer.get("/devices/%d" % device["id"]).get_data(as_text=True)
    assert "status_request" in text and "Request status" not in text and "Retry" not in text
    assert viewer.http.post("/devices/%d/downlinks" % device["id"],
                            data={"kind": "status_request", "csrf_token": viewer.csrf}).status_code == 403
    [dl] = store.downlinks(device["id"])
    modem = ModemEmulator(None, lambda: 0)
    modem.dev_eui = device["dev_eui"].lower()
    app.config.update(NETWORK_SERVER="chirpstack", NETWORK_SERVER_URL=modem.serve_api())
    try:
        r = td.http.post("/devices/%d/downlinks/%d/retry" % (device["id"], dl["id"]), data={"csrf_token": td.csrf})
    finally:
        modem.stop()
    assert r.status_code == 302 and store.downlink(dl["id"])["state"] == "sent" and len(modem.downlink_queue) == 1
    assert "status_request downlink sent." in td.http.get("/devices/%d" % device["id"]).get_data(as_text=True)


def _alarm_of(operator, device):
    return operator.get("/api/devices/%d" % device["id"]).json["device"]["alarm"]


def test_repeats_sent_before_the_alarm_ack_arrives_do_not_reopen_the_alarm(app, integration, operator, chirpstack):
    bundle = register(app, kind="hiker_tracker", name="hiker-1")
    device = dict(bundle["device"], dev_eui=bundle["lorawan"]["dev_eui"])
    chirpstack.dev_eui = device["dev_eui"].lower()
    sos = frames.encode("hiker_tracker", {"latitude": 22.4, "longitude": 114.2, "fix": "gps", "sos": True,
                                          "battery": 80})
    post = lambda n: integration.post("/ingest/chirpstack?event=up",           # noqa: E731
                                      json=up_event(device["dev_eui"], sos, n, "dedup-%d" % n))
    post(1)
    dl = operator.post("/api/devices/%d/clear-alarm" % device["id"]).json["downlink"]
    post(2)                                        # the device repeats until the alarm_ack reaches it
    assert _alarm_of(operator, device) is None
    _cs_event(integration, "txack", device["dev_eui"], queueItemId=dl["ns_id"], fCntDown=1)
    post(3)                                        # transmitted, confirmed, not yet acknowledged
    assert _alarm_of(operator, device) is None
    _cs_event(integration, "ack", device["dev_eui"], queueItemId=dl["ns_id"], fCntDown=1, acknowledged=True)
    post(4)                                        # the device has the ack: this is a new SOS
    assert _alarm_of(operator, device) == "SOS"


def test_a_new_alarm_frame_or_a_failed_ack_reopens_the_alarm(app, integration, operator, chirpstack):
    bundle = register(app, kind="water_main", name="main-2")
    device = dict(bundle["device"], dev_eui=bundle["lorawan"]["dev_eui"])
    chirpstack.dev_eui = device["dev_eui"].lower()

    def burst(n, repeat):
        frame = frames.encode("alarm", {"alarm": "burst", "active": True, "repeat": repeat, "battery": 90})
        integration.post("/ingest/chirpstack?event=up", json=up_event(device["dev_eui"], frame, n, "d-%d" % n))
    burst(1, 0)
    dl = operator.post("/api/devices/%d/clear-alarm" % device["id"]).json["downlink"]
    burst(2, 1)
    assert _alarm_of(operator, device) is None
    burst(3, 0)                                    # repeat 0: a burst of its own
    assert _alarm_of(operator, device) == "burst main"
    dl = operator.post("/api/devices/%d/clear-alarm" % device["id"]).json["downlink"]
    _cs_event(integration, "ack", device["dev_eui"], queueItemId=dl["ns_id"], fCntDown=2, acknowledged=None)
    burst(4, 2)                                    # the ack failed: the device keeps repeating, and so does the alarm
    assert _alarm_of(operator, device) == "burst main"


def test_downlink_queries_use_indexes(store, device):
    for method, args in (("downlinks", (device["id"], 5, 10)), ("downlink_by_ns_id", (device["id"], "x")),
                         ("downlink_by_f_cnt", (device["id"], 3)), ("last_config_seq", (device["id"],)),
                         ("alarm_ack_pending", (device["id"], "sos")), ("downlink", (1,)),
                         ("answer_config", (device["id"], 3, "ok", 0.0))):
        plans = [step for _, steps in store.explain(method, *args) for step in steps]
        assert plans and all("USING" in step and "SCAN" not in step for step in plans), (method, plans)


def test_a_setting_downlink_by_name_shares_the_config_seq(app, device, chirpstack, operator):
    from protocols import settings as table
    first = _send(operator, device, "config", {"interval": 600}).json["downlink"]
    r = _send(operator, device, "setting", {"setting": "move_m", "value": 150})
    assert r.status_code == 201, r.json
    dl = r.json["downlink"]
    assert (dl["kind"], dl["fields"], dl["state"], dl["confirmed"]) == (
        "setting", {"seq": 1, "setting": "move_m", "value": 150}, "sent", True)
    assert first["fields"]["seq"] == 0
    assert chirpstack.downlink_queue[-1]["data"] == table.setting_downlinks({"move_m": 150}, 1)[0]
    kind, fields = frames.decode(chirpstack.downlink_queue[-1]["data"])
    assert kind == "setting" and table.describe(fields) == {"seq": 1, "setting": "move_m", "value": 150}
    assert _send(operator, device, "config", {"interval": 900}).json["downlink"]["fields"]["seq"] == 2


@pytest.mark.parametrize("fields,word", [
    ({"setting": "warp_factor", "value": 9}, "warp_factor"),
    ({"setting": "interval", "value": 5}, "interval"),
    ({"setting": "move_m", "value": "far"}, "move_m"),
    ({"value": 3}, "setting"),
    ({"setting": "move_m", "value": 3, "extra": 1}, "extra"),
])
def test_bad_settings_are_refused(app, device, operator, fields, word):
    r = _send(operator, device, "setting", fields)
    assert r.status_code == 422 and word in r.json["error"] + json.dumps(r.json.get("errors")), r.json


def test_device_page_sends_one_setting(app, device, chirpstack, user_client):
    td = user_client("td")
    page = td.get("/devices/%d" % device["id"]).get_data(as_text=True)
    assert 'value="sos_every_s"' in page
    r = td.http.post("/devices/%d/downlinks" % device["id"],
                     data={"kind": "setting", "setting": "sos_every_s", "value": "120", "csrf_token": td.csrf})
    assert r.status_code == 302
    assert frames.decode(chirpstack.downlink_queue[0]["data"])[0] == "setting"
    assert "setting=sos_every_s" in td.http.get("/devices/%d" % device["id"]).get_data(as_text=True)


def test_the_devices_config_ack_is_recorded_on_its_downlink(app, device, chirpstack, operator, integration,
                                                            user_client):
    config = _send(operator, device, "config", {"interval": 300}).json["downlink"]
    setting = _send(operator, device, "setting", {"setting": "dwell", "value": 4}).json["downlink"]
    for n, (seq, result) in enumerate(((1, "invalid"), (0, "ok"), (7, "ok")), start=20):
        ack = frames.encode("config_ack", {"seq": seq, "result": result})
        integration.post("/ingest/chirpstack?event=up", json=up_event(device["dev_eui"], ack, n, "ack-%d" % n))
    items = {d["id"]: d for d in operator.get("/api/devices/%d/downlinks" % device["id"]).json["items"]}
    assert (items[config["id"]]["answer"], items[setting["id"]]["answer"]) == ("ok", "invalid")
    assert items[config["id"]]["answered_at"].endswith("Z")
    page = user_client("td").get("/devices/%d" % device["id"]).get_data(as_text=True)
    assert "device: applied" in page and "device: invalid" in page
