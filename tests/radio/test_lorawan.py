"""LoRaWAN end to end on the virtual board: the firmware drives a RAK3172 (RUI3 AT
commands) that is really hil/peers/modem_emulator.py on the host side of the
board's lora_uart pty; the emulator, as the network server, posts ChirpStack v4
HTTP-integration events to a small HTTP server here (and once to the real fleet
service). Frames are compared byte for byte with what the board printed.

Time is the board's: receive windows, join accepts, sleeps and a day's outage
pass in virtual time, so these tests take seconds.
"""
import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from hil.board import LAYOUT, _build
from hil.peers.modem_emulator import ModemEmulator
from protocols import frames

ROOT = Path(__file__).resolve().parents[2]
UPLINK = rb"uplink ([0-9a-f]+)\r?\n"
DAY_MS = 24 * 3600 * 1000
WORLD = {"seed": 1, "start": "2026-11-23T00:00:00", "adc": {"batt_adc": {"initial": 1.9, "noise": 0.001}}}
CONFIG = {
    "dev_eui": "70b3d57ed0000001", "join_eui": "70b3d57ed0000000",
    "app_key": "00112233445566778899aabbccddeeff", "device_key": "ab" * 32,
    "profile": "parking_bay", "interval": 600, "status_every": 1000, "sleep": "light",
}

# One frame of every sensor kind per cycle (DR2 with dwell time: 11 bytes each at most).
EVERY_KIND_APP = """
from runtime.profile import Sensors, Profile as Base


class Profile(Base):
    def __init__(self, config, saved=None):
        self.n = (saved or 0) + 1

    def decide(self, readings, now_s):
        return [
            ("parking_bay", {"occupied": True, "changes": self.n, "battery": 85}),
            ("rodent_station", {"activity": 12, "burst": False, "battery": 70}),
            ("smart_toilet", {"occupied": True, "leak": False, "people": 40, "nh3": 3, "h2s": 0.12,
                              "consumables": 55, "battery": 60}),
            ("water_main", {"pressure": 412.3, "flow": -1.25, "pressure_min": 400.0, "pressure_max": 430.0,
                            "battery": 95}),
            ("hiker_tracker", {"latitude": 22.4, "longitude": 114.2, "fix": "gps", "sos": False, "battery": 45}),
        ]

    def save(self):
        return self.n
"""

# One parking_bay frame per cycle whose "changes" counts the cycles.
COUNTING_APP = """
from runtime.profile import Sensors, Profile as Base


class Profile(Base):
    def __init__(self, config, saved=None):
        self.n = saved or 0

    def decide(self, readings, now_s):
        self.n += 1
        return [("parking_bay", {"occupied": self.n % 2 == 1, "changes": self.n, "battery": 80})]

    def save(self):
        return self.n
"""


class Collector:
    """The HTTP integration's far end: keeps every event posted, in order."""

    def __init__(self):
        self.events = []
        self.cond = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                event = self.path.split("event=")[-1]
                with outer.cond:
                    outer.events.append((event, body, self.headers.get("Authorization")))
                    outer.cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/ingest/chirpstack" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def ups(self):
        with self.cond:
            return [b for e, b, _ in self.events if e == "up"]

    def wait(self, predicate, timeout=120):
        with self.cond:
            if not self.cond.wait_for(lambda: predicate(self), timeout):
                raise AssertionError("the events never came: %r" % [(e, b.get("fCnt")) for e, b, _ in self.events])

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def collector():
    c = Collector()
    yield c
    c.close()


@pytest.fixture
def lora(make_board, collector):
    """(board, emulator) with the emulator on the board's lora_uart, posting to the collector."""
    board = make_board(scenario=WORLD)
    modem = ModemEmulator(board.uarts["lora_uart"], board.vboard.now_ms, url=collector.url,
                          headers={"Authorization": "Bearer test-token"}, seed=7, device_name="bay-001").start()
    yield board, modem
    modem.stop()


def install(board, config, apps=None):
    """board.json, config.json, the firmware as .mpy and test applications, written with
    the board off (as esptool would), then power on."""
    files = [("/board.json", (ROOT / "boards" / (board.board_type + ".json")).read_bytes()),
             ("/config.json", json.dumps(config).encode())]
    files += [(dst.rstrip("/") + "/" + f, data) for src, dst in LAYOUT.items() for f, data in _build(ROOT / src, True)]
    for name, text in (apps or {}).items():
        files += [("/apps/__init__.py", b""), ("/apps/%s.py" % name, text.encode())]
        files = [(p, d) for p, d in files if p != "/apps/%s.mpy" % name]
    board.vboard.offline(lambda image: [image.put(p, d) for p, d in files])


def kinds(ups):
    return [frames.decode(base64.b64decode(u["data"]))[0] for u in ups]


def decoded(ups, kind):
    return [v for k, v in (frames.decode(base64.b64decode(u["data"])) for u in ups) if k == kind]


def printed(board, at_least=0, timeout=30):
    # The frames the board printed as sent (it prints each once the network acknowledged it,
    # which may be a moment after the network server posted it).
    import re
    import time
    deadline = time.monotonic() + timeout
    while True:
        out = [bytes.fromhex(h.decode()) for h in re.findall(UPLINK, board.log)]
        if len(out) >= at_least or time.monotonic() > deadline:
            return out
        time.sleep(0.05)


def assert_protobuf_json(obj, where="event"):
    # ChirpStack's JSON leaves out false, zero and empty values.
    if isinstance(obj, dict):
        for k, v in obj.items():
            assert v not in (False, 0, "", {}, [], None) or v is True, "%s.%s is %r" % (where, k, v)
            assert_protobuf_json(v, where + "." + k)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            assert_protobuf_json(v, "%s[%d]" % (where, i))


def test_joins_and_every_frame_kind_reaches_chirpstack_byte_for_byte(lora, collector):
    board, modem = lora
    # Waiting in the network server's queue before the board even joins: one goes out per uplink.
    modem.enqueue_downlink(2, frames.encode("config", {"seq": 7, "interval": 900}))
    modem.enqueue_downlink(2, frames.encode("ota_notice", {"release": 42, "size": 200000,
                                                           "hash_prefix": b"\x01\x02\x03\x04"}))
    install(board, dict(CONFIG, sleep="deep", status_every=1), {"parking_bay": EVERY_KIND_APP})
    every = {"parking_bay", "rodent_station", "smart_toilet", "water_main", "hiker_tracker", "status",
             "counters", "config_ack", "ota_ack"}
    collector.wait(lambda c: every <= set(kinds(c.ups())))
    ups = collector.ups()

    # The join came first, then the uplinks, on FPort 2, confirmed, counting from fCnt 0.
    assert collector.events[0][0] == "join"
    assert collector.events[0][1]["deviceInfo"]["devEui"] == CONFIG["dev_eui"]
    assert {auth for _, _, auth in collector.events} == {"Bearer test-token"}
    assert "fCnt" not in ups[0]                       # zero: left out, as ChirpStack's JSON does
    assert [u.get("fCnt", 0) for u in ups] == list(range(len(ups)))
    for u in ups:
        assert u["fPort"] == 2 and u["confirmed"] is True and u["dr"] == 2 and u["adr"] is True
        assert u["deviceInfo"]["devEui"] == CONFIG["dev_eui"] and u["deviceInfo"]["deviceName"] == "bay-001"
        assert u["devAddr"] == collector.events[0][1]["devAddr"]
        assert u["txInfo"]["modulation"]["lora"] == {"bandwidth": 125000, "spreadingFactor": 10, "codeRate": "CR_4_5"}
        assert 920000000 <= u["txInfo"]["frequency"] <= 925000000
        assert u["rxInfo"] and all(isinstance(r["rssi"], int) and -140 < r["rssi"] < -30 for r in u["rxInfo"])
        assert all(isinstance(r.get("snr", 0.0), float) and r["gatewayId"] and r["location"] for r in u["rxInfo"])
        assert_protobuf_json(u)

    # Byte for byte what the board printed, in the order it printed them.
    sent = printed(board, len(ups))
    assert [base64.b64decode(u["data"]) for u in ups] == sent[:len(ups)]

    # Every confirmed uplink got its acknowledgement, and nothing was sent twice.
    assert all(u["acked"] and u["trials"] == 1 for u in modem.uplinks[:len(ups)])
    # The config downlink was applied and acknowledged with its seq; the OTA notice refused for now.
    assert decoded(ups, "config_ack") == [{"seq": 7, "result": "ok"}]
    assert decoded(ups, "ota_ack") == [{"release": 42, "result": "rejected"}]
    assert b"ota: release 42 rejected" in board.log
    assert b"config: interval 900 s" in board.log


def test_config_downlink_changes_the_interval_and_is_acknowledged(lora, collector):
    board, modem = lora
    install(board, dict(CONFIG, interval=600), {"parking_bay": COUNTING_APP})
    collector.wait(lambda c: len(decoded(c.ups(), "parking_bay")) >= 2)
    modem.enqueue_downlink(2, frames.encode("config", {"seq": 9, "interval": 120, "threshold_high": 250}))
    collector.wait(lambda c: decoded(c.ups(), "config_ack") and len(decoded(c.ups(), "parking_bay")) >= 6)
    assert decoded(collector.ups(), "config_ack") == [{"seq": 9, "result": "ok"}]
    # The cycles before the change were 600 s apart, those after it 120 s.
    times = [u["at"] for u in modem.uplinks if frames.decode(u["data"])[0] == "parking_bay"]
    gaps = [(b - a) / 1000 for a, b in zip(times, times[1:])]
    assert 570 <= gaps[0] <= 610 and all(110 <= g <= 130 for g in gaps[-2:]), gaps
    board.interrupt()
    saved = json.loads(board.get("/config.json"))
    assert saved["interval"] == 120 and saved["thresholds"] == {"high": 250}


def test_malformed_and_uplink_kind_downlinks_are_ignored(lora, collector):
    board, modem = lora
    modem.enqueue_downlink(2, b"\xff\x00garbage")
    modem.enqueue_downlink(2, frames.encode("parking_bay", {"occupied": True, "changes": 1, "battery": 5}))
    modem.enqueue_downlink(2, frames.encode("config", {"seq": 3, "interval": 60}) + b"")
    install(board, dict(CONFIG, interval=300), {"parking_bay": COUNTING_APP})
    collector.wait(lambda c: decoded(c.ups(), "config_ack"))
    assert decoded(collector.ups(), "config_ack") == [{"seq": 3, "result": "ok"}]
    assert b"downlink on port 2 ignored" in board.log
    assert b"parking_bay is an uplink kind" in board.log
    assert b"Traceback" not in board.log


def test_a_day_without_network_loses_nothing_and_repeats_nothing(lora, collector):
    board, modem = lora
    install(board, dict(CONFIG, interval=3600), {"parking_bay": COUNTING_APP})
    collector.wait(lambda c: decoded(c.ups(), "parking_bay"))
    start = board.now_ms()
    modem.outage(start, start + DAY_MS)
    # Frames of the outage's cycles arrive afterwards, with those of the cycles after it.
    collector.wait(lambda c: len(decoded(c.ups(), "parking_bay")) >= 28, timeout=150)
    counts = [v["changes"] for v in decoded(collector.ups(), "parking_bay")]
    assert counts == list(range(1, len(counts) + 1))          # in order, none twice, none missing
    during = [u for u in modem.uplinks if start <= u["at"] < start + DAY_MS]
    assert len(during) >= 23 and not any(u["received"] for u in during)
    late = [u for u in collector.ups() if u["time"] > _rfc(start + DAY_MS)]
    assert len(decoded(late, "parking_bay")) >= 24            # the day's frames came after it
    assert b"lorawan: join" in board.log


def _rfc(board_ms):
    from hil.peers.modem_emulator import rfc3339
    return rfc3339(board_ms)


def test_join_failures_back_off_then_the_queue_goes_out(lora, collector):
    board, modem = lora
    modem.fail_joins(3)
    install(board, dict(CONFIG, interval=60, status_every=1000), {"parking_bay": COUNTING_APP})
    collector.wait(lambda c: len(decoded(c.ups(), "parking_bay")) >= 3)
    tries = [t for t, ok in modem.joins]
    assert [ok for _, ok in modem.joins] == [False, False, False, True]
    gaps = [(b - a) / 1000 for a, b in zip(tries, tries[1:])]
    # 30 s, 60 s, 120 s of backoff, each rounded up to the next 60 s wake.
    assert gaps[0] >= 30 and gaps[1] >= 60 and gaps[2] >= 120 and gaps[2] > gaps[1] > gaps[0] - 1, gaps
    assert b"join failed (3 in a row), next try in 120 s" in board.log
    counts = [v["changes"] for v in decoded(collector.ups(), "parking_bay")]
    assert counts == list(range(1, len(counts) + 1))
    assert kinds(collector.ups())[:2] == ["status", "counters"]   # the boot's frames, kept while not joined


def test_busy_and_silent_module_keep_frames_queued(lora, collector):
    board, modem = lora
    modem.busy(1)          # the first AT+SEND: AT_BUSY_ERROR
    modem.hang_sends(1)    # the next: OK, then the module never reports
    install(board, dict(CONFIG, interval=120), {"parking_bay": COUNTING_APP})
    collector.wait(lambda c: len(decoded(c.ups(), "parking_bay")) >= 4)
    assert b"lorawan: AT+SEND" in board.log and b"AT_BUSY_ERROR" in board.log
    assert b"lorawan: module silent (AT+SEND): reset next time" in board.log
    commands = [line for _, d, line in modem.lines if d == "<"]
    assert commands.count("ATZ") >= 2                        # power-on, and after the silent send
    ups = collector.ups()
    assert kinds(ups)[:2] == ["status", "counters"]
    counts = [v["changes"] for v in decoded(ups, "parking_bay")]
    assert counts == list(range(1, len(counts) + 1))
    assert [base64.b64decode(u["data"]) for u in ups] == printed(board, len(ups))[:len(ups)]


DRIVER_SCRIPT = """
import machine
from radio.lorawan import Rak3172, ModemError, ModemTimeout
m = Rak3172(machine.UART(2, baudrate=115200, tx=17, rx=16, timeout=0, rxbuf=1024), "AS923")
def check(f):
    try:
        return f()
    except ModemTimeout as e:
        return "timeout " + e.command
    except ModemError as e:
        return e.code
print("R", repr(check(m.reset)))
print("R", repr(check(lambda: m.configure("70b3d57ed0000001", "70b3d57ed0000000", "00112233445566778899aabbccddeeff", 2))))
print("R", repr(check(lambda: m.send(2, b"early"))))
print("R", repr(check(lambda: m.command("AT+DEVEUI=12"))))
print("R", repr(check(lambda: m.command("AT+FROB=1"))))
print("R", repr(check(m.join)))
print("R", repr(check(m.join)))
print("R", repr(check(m.joined)))
print("R", repr((m.max_payload(), m.fits(11), m.fits(12))))
print("R", repr(check(lambda: m.send(2, bytes(12)))))
m.request_link_check()
print("R", repr(check(lambda: m.send(2, b"\\x81\\x07", True))))
print("R", repr(m.link[0:3]))
print("R", repr(check(lambda: m.send(2, b"\\x81\\x07"))))
print("R", repr(m.take_downlinks()))
"""


def test_at_driver_against_the_modules_answers(lora, collector):
    board, modem = lora
    install(board, {})      # unprovisioned: the runtime leaves the modem alone
    board.expect(rb"unprovisioned: waiting", timeout=30)
    board.interrupt()
    modem.fail_joins(1)
    modem.enqueue_downlink(5, b"\xca\xfe")
    out = board.exec(DRIVER_SCRIPT, timeout=60)
    results = [eval(line[2:]) for line in out.splitlines() if line.startswith("R ")]
    assert results[:6] == [None, None, "AT_NO_NETWORK_JOINED", "AT_PARAM_ERROR", "AT_COMMAND_NOT_FOUND", False]
    assert results[6:8] == [True, True]                      # the second join attempt is accepted
    assert results[8] == (11, True, False)                   # DR2 with AS923 dwell time: 11 bytes
    assert results[9] == "AT_PARAM_ERROR"                    # refused before it reaches the module
    assert results[10] == "acked" and results[11][0] is True and results[11][2] >= 1
    assert results[12] == "sent"
    assert [d[:2] for d in results[13]] == [(5, b"\xca\xfe")]   # came in RX1 of the confirmed uplink
    modem.mute = True
    out = board.exec("print('R', repr(check(m.joined)))", timeout=30)
    assert "timeout AT+NJS=?" in out


# ---- heap: what a deep-sleep wake leaves unloaded

# Loaded when the module has no session to use (power-on, a silent module, a
# rejoin), when a command fails, and by the fleet's side (the checked API):
# never by a wake whose module kept its session (firmware/README.md, Heap).
RARELY = ("radio.lorawan_setup", "radio.lorawan_errors", "protocols.lora")

# COUNTING_APP that also says, as the board goes to deep sleep (its frames
# sent and acknowledged, its downlinks taken), the cycle, how the board woke
# and which of RARELY are loaded. Under deep sleep the profile itself has gone
# by then (App.release_profile), so machine.deepsleep says it.
WATCHING_APP = COUNTING_APP + """
import sys

import machine

_cycle = [0]


def _watching(deepsleep):
    def watch(ms=0):
        loaded = [m for m in RARELY if m in sys.modules]
        held = [m for m in sys.modules if m.startswith(("apps", "sensors"))]
        print("cycle %d deep %s loaded %s held %s" % (_cycle[0], machine.reset_cause() == machine.DEEPSLEEP_RESET,
                                                      ",".join(loaded) or "-", ",".join(held) or "-"))
        deepsleep(ms)
    return watch


if not hasattr(machine, "unwatched"):   # a downlink loads this module again in the same wake
    machine.unwatched = machine.deepsleep
    machine.deepsleep = _watching(machine.unwatched)


class Profile(Profile):
    def decide(self, readings, now_s):
        frames = super().decide(readings, now_s)
        _cycle[0] = self.n
        return frames
""".replace("RARELY", repr(RARELY))


def test_a_deep_sleep_wake_loads_neither_the_setup_nor_the_errors(lora, collector):
    board, modem = lora
    install(board, dict(CONFIG, sleep="deep", interval=300), {"parking_bay": WATCHING_APP})
    collector.wait(lambda c: len(decoded(c.ups(), "parking_bay")) >= 2)
    modem.enqueue_downlink(2, frames.encode("config", {"seq": 5, "interval": 240}))
    collector.wait(lambda c: decoded(c.ups(), "config_ack") and len(decoded(c.ups(), "parking_bay")) >= 5)
    # the board says so as it goes to sleep, after the network has the frame
    board.expect(rb"cycle %d deep" % len(decoded(collector.ups(), "parking_bay")), timeout=30)
    import re
    cycles = {}
    held = {}
    for n, deep, loaded, kept in re.findall(rb"cycle (\d+) deep (\w+) loaded (\S+) held (\S+)", board.log):
        cycles[int(n)] = (deep, loaded.split(b","))
        held[int(n)] = kept
    # Power-on: the module was reset, configured and joined (radio/lorawan_setup.py).
    assert cycles[1][0] == b"False" and b"radio.lorawan_setup" in cycles[1][1]
    # Every deep-sleep wake after it sent its frame (one took a downlink and acknowledged
    # it) with the module's session, and loaded none of them.
    later = [cycles[n] for n in sorted(cycles) if n > 1]
    assert len(later) >= 4 and sorted(cycles) == list(range(1, len(later) + 2))
    assert all(deep == b"True" and loaded == [b"-"] for deep, loaded in later), later
    # Nor did they hold the profile's module or a driver's through the send
    # (App.release_profile), but the one whose downlink loaded the profile again.
    kept = [held[n] for n in sorted(held) if n > 1]
    assert kept.count(b"-") >= len(kept) - 1 and len(kept) >= 4, kept
    assert decoded(collector.ups(), "config_ack") == [{"seq": 5, "result": "ok"}]
    assert board.log.count(b"lorawan: joined") == 1 and b"Traceback" not in board.log
    counts = [v["changes"] for v in decoded(collector.ups(), "parking_bay")]
    assert counts == list(range(1, len(counts) + 1))


NAMES = """
import sys
from radio import lorawan
print("imported", [m for m in RARELY if m in sys.modules])
from radio.lorawan import ModemError, ModemTimeout
print("errors", issubclass(ModemTimeout, ModemError), str(ModemTimeout("AT+SEND")), lorawan.ERRORS[1])
print("then", [m for m in RARELY if m in sys.modules])
class Uart:
    def __init__(self):
        self.sent = b""
    def any(self):
        return 0
    def write(self, b):
        self.sent += b
m = lorawan.Rak3172(Uart(), "EU868")
try:
    m.set_data_rate(3)
except ModemTimeout as e:
    print("timeout", e.command, m.uart.sent, m.dr)
print("bands", lorawan.BANDS["EU868"], hasattr(m, "join"), hasattr(m, "frobnicate"))
print("last", [m for m in RARELY if m in sys.modules])
""".replace("RARELY", repr(RARELY))


def test_the_moved_names_still_answer_where_they_were(micropython):
    out = micropython.run(NAMES)
    assert "imported []" in out                        # the driver alone: none of them
    assert "errors True AT+SEND: timeout AT_PARAM_ERROR" in out
    assert "then ['radio.lorawan_errors']" in out
    # A moved method still runs as one: AT+DR=3 sent, the silent module's timeout raised.
    assert "timeout AT+DR=3 b'AT+DR=3\\r\\n' None" in out
    assert "bands 4 True False" in out
    assert "last ['radio.lorawan_setup', 'radio.lorawan_errors']" in out


@pytest.fixture
def fleet(tmp_path):
    """The real fleet service on a temporary database, served over HTTP: (app, url, integration token)."""
    from tests.fleet.conftest import make_token, new_app, served
    app = new_app(tmp_path, {"TD": "Transport Department"})
    with served(app) as base:
        yield app, base + "/ingest/chirpstack", make_token(app, "integration")


def test_the_fleet_stores_what_the_board_sent(make_board, fleet):
    from tests.fleet.conftest import register
    app, url, token = fleet
    bundle = register(app, name="bay-001", location="Wan Chai")
    ids = bundle["lorawan"]
    config = dict(CONFIG, dev_eui=ids["dev_eui"], join_eui=ids["join_eui"], app_key=ids["app_key"],
                  device_key=bundle["seal"]["device_key"], interval=300)
    board = make_board(scenario=WORLD)
    modem = ModemEmulator(board.uarts["lora_uart"], board.vboard.now_ms, url=url, seed=3, device_name="bay-001",
                          headers={"Authorization": "Bearer " + token},
                          devices={ids["dev_eui"]: ids["app_key"]}).start()
    try:
        install(board, config, {"parking_bay": COUNTING_APP})
        modem.wait_for(lambda m: len([p for p in m.posted if p[0] == "up"]) >= 5, timeout=120)
        modem.mute = True                                  # the module stops answering: no new uplinks,
        modem.wait_for(lambda m: not m._timers, timeout=30)   # the one in flight (if any) completes
        modem.integration.idle()
        posted = modem.posted
        sent = printed(board, len([p for p in posted if p[0] == "up"]))
    finally:
        modem.stop()
    assert [(e, status) for e, _, status, _ in posted] == [(e, 200) for e, _, _, _ in posted]
    assert posted[0][0] == "join" and posted[0][3]["status"] == "recorded"
    assert {answer["status"] for e, _, _, answer in posted if e == "up"} == {"stored"}
    with app.app_context():
        from fleet.db import get_store
        store = get_store()
        device = store.device(bundle["device"]["id"])
        uplinks = list(reversed(store.uplinks(device["id"], limit=100)))
    assert [bytes.fromhex(u["payload"]) for u in uplinks] == sent[:len(uplinks)]
    assert [u["f_cnt"] for u in uplinks] == list(range(len(uplinks)))
    assert all(u["sf"] == 10 and u["gateways"] >= 1 and u["rssi"] < -30 for u in uplinks)
    counts = [u["fields"]["changes"] for u in uplinks if u["frame_kind"] == "parking_bay"]
    assert counts == list(range(1, len(counts) + 1))


def test_time_sync_status_request_and_reboot_downlinks(lora, collector):
    board, modem = lora
    modem.enqueue_downlink(2, frames.encode("time_sync", {"time": 1800000000}))
    modem.enqueue_downlink(2, frames.encode("status_request", {}))
    modem.enqueue_downlink(2, frames.encode("reboot", {"delay": 5}))
    install(board, dict(CONFIG, interval=300), {"parking_bay": COUNTING_APP})
    board.expect(rb"rst:0xc \(SW_CPU_RESET\)", timeout=60)
    # The clock follows the network (log lines carry time.time(), counted from 2000).
    import re
    assert re.search(rb"(\d+) I clock set by the network", board.log).group(1).startswith(b"8533152")
    collector.wait(lambda c: kinds(c.ups()).count("status") >= 3)
    assert kinds(collector.ups())[:6] == ["status", "counters", "parking_bay", "status", "counters", "status"]
    assert b"reboot requested by the network, in 5 s" in board.log


def test_link_model_is_seeded_and_fades_with_distance():
    from hil.peers.modem_emulator import DEFAULT_GATEWAYS, LinkModel
    near = [LinkModel(seed=5).uplink(10, 125000) for _ in range(2)]
    assert [[(g.id, r, s) for g, r, s in x] for x in near][0] == [[(g.id, r, s) for g, r, s in x] for x in near][1]
    far = LinkModel(seed=5, latitude=22.9, longitude=114.9)        # 100 km away: nobody hears it
    assert far.uplink(12, 125000) == []
    sf7 = sum(bool(LinkModel(seed=s, latitude=22.20, longitude=114.30).uplink(7, 125000)) for s in range(40))
    sf12 = sum(bool(LinkModel(seed=s, latitude=22.20, longitude=114.30).uplink(12, 125000)) for s in range(40))
    assert sf12 > sf7            # a higher spreading factor reaches further
    assert DEFAULT_GATEWAYS[0].id == "0016c001f153a14c"


def test_the_downlink_queue_over_chirpstacks_rest_shape():
    import urllib.error
    import urllib.request
    modem = ModemEmulator(None, lambda: 0)
    modem.dev_eui = "70b3d57ed0000001"
    url = modem.serve_api() + "/api/devices/70B3D57ED0000001/queue"
    try:
        body = {"queueItem": {"fPort": 2, "confirmed": True,
                              "data": base64.b64encode(frames.encode("status_request", {})).decode()}}
        req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
        item_id = json.loads(urllib.request.urlopen(req).read())["id"]
        listed = json.loads(urllib.request.urlopen(url).read())
        assert listed == {"totalCount": 1, "result": [{"id": item_id, "devEui": "70b3d57ed0000001", "confirmed": True,
                                                       "fPort": 2, "data": body["queueItem"]["data"]}]}
        with pytest.raises(urllib.error.HTTPError) as bad:
            urllib.request.urlopen(urllib.request.Request(url, b'{"queueItem": {"fPort": 0}}'))
        assert bad.value.code == 400
        with pytest.raises(urllib.error.HTTPError) as other:
            urllib.request.urlopen(url.replace("0001/queue", "0002/queue"))
        assert other.value.code == 404
    finally:
        modem.stop()
