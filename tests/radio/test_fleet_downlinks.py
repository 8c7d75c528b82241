"""An SOS acknowledged from the fleet, end to end: the virtual T-Beam hiker (real firmware)
sends its SOS through the emulated RAK3172 and network server to the real fleet service;
an operator clears the alarm through the fleet's API; the fleet puts the alarm_ack in the
network server's queue over ChirpStack's REST API (the emulator's serve_api()); it reaches
the board in the receive window of its next uplink, and the board stops repeating the SOS.
The network server's txack and ack come back through ingest and close the downlink."""
import json
import urllib.request

import pytest

from hil.peers.modem_emulator import ModemEmulator
from tests.apps.test_hiker import PROVISIONED, Wakes, at_s, hiker_frames, load, start_hiker


@pytest.fixture
def fleet(tmp_path):
    """The real fleet service on a temporary database, served over HTTP: (app, base url)."""
    from tests.fleet.conftest import new_app, served
    app = new_app(tmp_path, {"AFCD": "Agriculture, Fisheries and Conservation Department"})
    with served(app) as base:
        yield app, base


def _api(url, token, method="GET"):
    request = urllib.request.Request(url, method=method, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def test_an_sos_cleared_in_the_fleet_stops_the_boards_repeats(make_board, fleet):
    from tests.fleet.conftest import make_token, register
    app, base = fleet
    bundle = register(app, kind="hiker_tracker", department="AFCD", name="hiker-007")
    ids, device_id = bundle["lorawan"], bundle["device"]["id"]
    operator = make_token(app, "operator", "AFCD")
    scenario = load("hiker_sos.json")
    config = dict(PROVISIONED, dev_eui=ids["dev_eui"].lower(), join_eui=ids["join_eui"].lower(),
                  app_key=ids["app_key"].lower(), device_key=bundle["seal"]["device_key"])
    board, feeder = start_hiker(make_board, scenario, config, lora=True)
    modem = ModemEmulator(board.uarts["lora_uart"], board.vboard.now_ms, seed=5, device_name="hiker-007",
                          url=base + "/ingest/chirpstack",
                          headers={"Authorization": "Bearer " + make_token(app, "integration")},
                          devices={ids["dev_eui"]: ids["app_key"]}).start()
    app.config.update(NETWORK_SERVER="chirpstack", NETWORK_SERVER_URL=modem.serve_api(),
                      NETWORK_SERVER_API_KEY="chirpstack-api-token")
    device_url = "%s/api/devices/%d" % (base, device_id)
    try:
        reader = Wakes(board)
        wakes = reader.until(at_s(scenario, "01:10:30"), timeout=60)
        sos = wakes[-1]
        assert sos[4] and [f["sos"] for k, f in sos[5] if k == "hiker_tracker"] == [True], sos
        # the SOS frame reached the fleet: the alarm is open there
        modem.integration.idle()
        assert _api(device_url, operator)["device"]["alarm"] == "SOS"
        assert not modem.downlink_queue
        cleared = _api(device_url + "/clear-alarm", operator, "POST")
        later = reader.until(at_s(scenario, "01:15"), timeout=60)
        modem.integration.idle()
        downlink = _api(device_url + "/downlinks", operator)["items"][0]
    finally:
        feeder.stop()
        modem.stop()
    assert cleared["device"]["alarm"] is None
    sent = cleared["downlink"]
    assert (sent["kind"], sent["fields"], sent["state"]) == ("alarm_ack", {"alarm": "sos"}, "sent")
    # The board repeats the SOS at each wake until the alarm_ack comes in the receive
    # window of one of those uplinks (how many repeats depends on where in the board's
    # virtual time the operator's clear lands); no SOS follows it.
    flags = [(t, f["sos"]) for t, f in hiker_frames(later)]
    repeats = [s for t, s in flags].count(True)
    assert repeats >= 1 and [s for t, s in flags][:repeats] == [True] * repeats, flags
    assert b"downlink alarm_ack" in board.log
    calm = [w for w in later[max([i for i, w in enumerate(later) if w[4]], default=-1) + 1:]]
    assert len(calm) >= 2, later
    # the network server's txack and the device's ACK came back through ingest
    assert downlink["id"] == sent["id"] and downlink["state"] == "acknowledged", downlink
    assert downlink["f_cnt_down"] >= 1 and downlink["transmitted_at"] and downlink["done_at"]
    assert [(e, status) for e, _, status, _ in modem.posted if e in ("txack", "ack")] == [("txack", 200), ("ack", 200)]
    # no new SOS alarm was raised by frames after the acknowledgement
    assert _api(device_url, operator)["device"]["alarm"] is None
