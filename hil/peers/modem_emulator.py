"""A RAK3172 LoRaWAN module, its gateways and the network server, on the host side of a UART pty.

The board talks to it exactly as to a RAK3172 running RAKwireless' RUI3 AT
firmware ("RUI3 AT Command Manual", docs.rakwireless.com/RUI3/Serial-Operating-Modes/
AT-Command-Manual/; status codes and the +EVT lines as RUI3's service_lora.c and
atcmd.c print them, RAKWireless/RAK-STM32-RUI). Behind the module sit a link
model (gateways at given positions, log-distance path loss, seeded log-normal
shadowing, demodulation floors per spreading factor, random loss) and a network
server that posts ChirpStack v4 HTTP-integration events ("up", "join",
"status", "ack", "txack") to a URL, in ChirpStack's protobuf JSON: camelCase,
false/zero/empty fields left out.

Timing follows the board's clock (`clock()`: ms, the virtual board's
`now_ms`), not the host's: a join accept comes JN1DL = 5 s after the join
request's airtime, a class A downlink in RX1 1 s after the uplink, RX2 after
2 s, a confirmed uplink is retried after ACK_TIMEOUT (1..3 s, seeded). So a
board that sleeps through the receive windows (its time skips) gets the
module's answer when it wakes, as from a real module.

Controls for tests: `enqueue_downlink()` (and `serve_api()`, the same queue
over HTTP as ChirpStack's REST API has it, for the fleet), `outage(start_ms, end_ms)` and
`network_up`, `loss`, `fail_joins(n)`, `busy(n)`, `hang_sends(n)` (OK, then no
event ever: a send timeout), `mute` (no answer at all). Records: `uplinks`,
`joins`, `posted`.

Not modelled: the radio itself (no CRC errors, collisions between devices,
channel occupancy or LBT), MAC commands other than LinkCheck and the ACK
(no LinkADRReq, so no network-driven ADR, no DevStatusReq on air: "status"
events come every `status_every` uplinks), FPending and the module's automatic
empty uplinks, class B/C, ABP, multicast, the module's own duty-cycle
enforcement (AT+DCS) and dwell-time switching, RX2 data rate, fCnt gaps, and
the baud rate's pacing of the UART.
"""
import base64
import json
import math
import os
import random
import re
import threading
import time
import urllib.request
import uuid
from datetime import datetime, timezone

from protocols import lora

EPOCH_2000 = 946684800   # the virtual board's clock counts ms from 2000-01-01

# RUI3 status lines (atcmd.c atcmd_err_tbl)
OK = "OK"
AT_ERROR = "AT_ERROR"
AT_PARAM_ERROR = "AT_PARAM_ERROR"
AT_BUSY_ERROR = "AT_BUSY_ERROR"
AT_NO_NETWORK_JOINED = "AT_NO_NETWORK_JOINED"
AT_COMMAND_NOT_FOUND = "AT_COMMAND_NOT_FOUND"

BANDS = {4: "EU868", 5: "US915", 8: "AS923"}       # AT+BAND values modelled
REGION_IDS = {"AS923": ("as923", "AS923"), "EU868": ("eu868", "EU868"), "US915": ("us915_0", "US915")}
# Uplink channels (Hz): AS923-1 as the Hong Kong GWIN plan uses it, the EU868 and US915 defaults.
CHANNELS = {
    "AS923": (923200000, 923400000, 922200000, 922400000, 922600000, 922800000, 923000000, 922000000),
    "EU868": (868100000, 868300000, 868500000, 867100000, 867300000, 867500000, 867700000, 867900000),
    "US915": (902300000, 902500000, 902700000, 902900000, 903100000, 903300000, 903500000, 903700000),
}
# SNR below which a LoRa demodulator loses the frame (Semtech SX1276 datasheet table 13 / SX1301).
DEMOD_FLOOR_DB = {7: -7.5, 8: -10.0, 9: -12.5, 10: -15.0, 11: -17.5, 12: -20.0}

RX1_MS, RX2_MS, JOIN1_MS, JOIN2_MS = 1000, 2000, 5000, 6000
RX_WINDOW_MS = 100       # how long an empty receive window stays open
JOIN_REQUEST_PHY = 23
JOIN_ACCEPT_PHY = 17
BANNER = ("RAKwireless RAK3172 Example", "------------------------------------------------------",
          "Version: RUI_4.0.6_RAK3172-E", "Current Work Mode: LoRaWAN.")


class Gateway:
    """A gateway of the link model: id (16 hex digits), position, antenna gain."""

    def __init__(self, gateway_id, latitude, longitude, altitude=0.0, gain_db=3.0):
        self.id = gateway_id
        self.latitude = latitude
        self.longitude = longitude
        self.altitude = altitude
        self.gain_db = gain_db


DEFAULT_GATEWAYS = (
    Gateway("0016c001f153a14c", 22.2800, 114.1700, 60.0),    # Wan Chai rooftop
    Gateway("0016c001f153a14d", 22.3080, 114.1860, 45.0),    # Hung Hom
    Gateway("0016c001f153a14e", 22.3360, 114.1490, 80.0),    # Sham Shui Po
)


def distance_km(lat1, lon1, lat2, lon2):
    """Great-circle distance (haversine), km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


class LinkModel:
    """Radio figures of one device's frames at each gateway.

    Path loss is log-distance, PL(d) = pl_1km + 10 n log10(d / 1 km) (defaults
    128 dB and n = 3.5: dense urban at 923 MHz, about Okumura-Hata for a
    street-level device); shadowing is log-normal with sigma dB, drawn per
    frame and gateway from the seeded RNG; the noise floor is -174 dBm/Hz +
    10 log10(bandwidth) + noise figure; a frame is received when its SNR is
    above the spreading factor's demodulation floor and a draw passes `loss`.
    """

    def __init__(self, gateways=DEFAULT_GATEWAYS, latitude=22.2855, longitude=114.1580, tx_power_dbm=16.0,
                 pl_1km_db=128.0, exponent=3.5, shadowing_db=6.0, noise_figure_db=6.0, loss=0.0, seed=0,
                 gateway_tx_dbm=27.0):
        self.gateways = list(gateways)
        self.latitude = latitude
        self.longitude = longitude
        self.tx_power_dbm = tx_power_dbm
        self.pl_1km_db = pl_1km_db
        self.exponent = exponent
        self.shadowing_db = shadowing_db
        self.noise_figure_db = noise_figure_db
        self.loss = loss
        self.gateway_tx_dbm = gateway_tx_dbm
        self.rng = random.Random(seed)

    def path_loss(self, gw):
        d = max(distance_km(self.latitude, self.longitude, gw.latitude, gw.longitude), 0.01)
        return self.pl_1km_db + 10 * self.exponent * math.log10(d)

    def _figures(self, power_dbm, gain_db, loss_db, sf, bw_hz):
        signal = power_dbm + gain_db - loss_db + self.rng.gauss(0.0, self.shadowing_db)
        noise = -174.0 + 10 * math.log10(bw_hz) + self.noise_figure_db
        snr = signal - noise
        rssi = 10 * math.log10(10 ** (signal / 10) + 10 ** (noise / 10))
        ok = snr >= DEMOD_FLOOR_DB[sf] and self.rng.random() >= self.loss
        return ok, int(round(rssi)), round(min(snr, 13.5) * 4) / 4   # SX1301 reports SNR in 0.25 dB

    def uplink(self, sf, bw_hz):
        """[(gateway, rssi, snr)] of the gateways that got the frame, best first."""
        out = []
        for gw in self.gateways:
            ok, rssi, snr = self._figures(self.tx_power_dbm, gw.gain_db, self.path_loss(gw), sf, bw_hz)
            if ok:
                out.append((gw, rssi, snr))
        out.sort(key=lambda r: (-r[2], -r[1]))
        return out

    def downlink(self, gw, sf, bw_hz):
        """(received, rssi, snr) at the device of a downlink from gw."""
        return self._figures(self.gateway_tx_dbm, gw.gain_db, self.path_loss(gw), sf, bw_hz)


def rfc3339(board_ms):
    """ChirpStack's timestamp form (nanoseconds, +00:00) of a board clock instant."""
    unix_ns = (board_ms + EPOCH_2000 * 1000) * 1000000
    dt = datetime.fromtimestamp(unix_ns // 10 ** 9, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + ".%09d+00:00" % (unix_ns % 10 ** 9)


def pb_json(obj):
    """Leave out false, zero and empty values, as protobuf JSON does (recursively)."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            v = pb_json(v)
            if v is None or v is False or (not isinstance(v, bool) and v == 0 and isinstance(v, (int, float))) \
                    or v == "" or v == {} or v == []:
                continue
            out[k] = v
        return out
    if isinstance(obj, list):
        return [pb_json(v) for v in obj]
    return obj


class Integration:
    """Posts events to a ChirpStack HTTP-integration endpoint, in order, from a thread of its own."""

    def __init__(self, url, headers=None, timeout=10.0):
        self.url = url
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.posted = []          # [(event, body, HTTP status or error text, response JSON or None)]
        self._q = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="chirpstack-integration", daemon=True)
        self._running = True
        self._thread.start()

    def post(self, event, body):
        with self._cond:
            self._q.append((event, body))
            self._cond.notify_all()

    def _run(self):
        while True:
            with self._cond:
                while self._running and not self._q:
                    self._cond.wait()
                if not self._q:
                    return
                event, body = self._q[0]
            result = self._send(event, body)
            with self._cond:
                self._q.pop(0)
                self.posted.append((event, body) + result)
                self._cond.notify_all()

    def _send(self, event, body):
        sep = "&" if "?" in self.url else "?"
        req = urllib.request.Request(self.url + sep + "event=" + event, data=json.dumps(body).encode(),
                                     method="POST", headers=dict(self.headers, **{"Content-Type": "application/json"}))
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                text = r.read()
                return r.status, _json_or_none(text)
        except urllib.error.HTTPError as e:
            return e.code, _json_or_none(e.read())
        except OSError as e:
            return "error: %s" % e, None

    def wait(self, n, timeout=30.0):
        """Block until n events have been posted (or the timeout): the posted list."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.posted) < n and time.monotonic() < deadline:
                self._cond.wait(max(0.0, deadline - time.monotonic()))
            return list(self.posted)

    def idle(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._q and time.monotonic() < deadline:
                self._cond.wait(max(0.0, deadline - time.monotonic()))

    def close(self):
        with self._cond:
            self._running = False
            self._cond.notify_all()
        self._thread.join(5)


def _json_or_none(text):
    try:
        return json.loads(text)
    except ValueError:
        return None


class ModemEmulator:
    """A RAK3172 (RUI3) on `port` (the host pty of the board's lora_uart), with its network.

    clock: () -> ms of the board's clock (a virtual board's `vboard.now_ms`).
    url/headers: the ChirpStack HTTP integration endpoint (None: events are only recorded).
    devices: {dev_eui: app_key} the network server knows (hex; None: any);
    a join from another device or key is never answered, as with a bad MIC.
    """

    def __init__(self, port, clock, url=None, headers=None, link=None, seed=0, devices=None,
                 device_name=None, status_every=24, echo=False, tenant="GWIN", application="cityfleet",
                 device_profile="cityfleet-cbor"):
        self.port = port
        self.clock = clock
        self.link = link or LinkModel(seed=seed)
        self.rng = random.Random(seed + 1)
        self.devices = {k.lower(): v.lower() for k, v in devices.items()} if devices else None
        self.device_name = device_name
        self.status_every = status_every
        self.integration = Integration(url, headers) if url else None
        self.records = []          # every event built, posted or not: [(event, body)]
        self.uplinks = []          # [{f_cnt, port, data, confirmed, trials, received, acked, at}]
        self.joins = []            # [(board ms, accepted)]
        self.lines = []            # [(board ms, "<" or ">", line)] the AT traffic
        self.downlink_queue = []   # [{id, f_port, data, confirmed}]
        self.network_up = True
        self.outages = []          # [(start ms, end ms)] of the board's clock
        self.mute = False
        self._fail_joins = 0
        self._busy = 0
        self._hang = 0
        self._ids = [str(uuid.UUID(int=self.rng.getrandbits(128), version=4)) for _ in range(3)]
        self._lock = threading.RLock()
        self._timers = []          # [(board ms, seq, fn)]
        self._seq = 0
        self._fd = None
        self._buf = b""
        self._thread = None
        self._running = False
        self.echo = echo
        self._power_on()

    # ------------------------------------------------------------ module state
    def _power_on(self):
        self.dev_eui = "0000000000000000"
        self.app_eui = "0000000000000000"
        self.app_key = "0" * 32
        self.band = 8
        self.njm = 1
        self.cls = "A"
        self.adr = 1
        self.dr = 2
        self.cfm = 0
        self.retry = 0
        self.linkcheck = 0
        self.nwm = 1
        self._reset_session()

    def _reset_session(self):
        self.joined = False
        self.dev_addr = None
        self.f_cnt_up = 0
        self.f_cnt_down = 0
        self.busy_until = None   # a join or send in progress
        self.cfs = 0
        self.last_rx = (0, b"")
        self.last_rssi = 0
        self.last_snr = 0
        with self._lock:
            self._timers = []

    @property
    def region(self):
        return BANDS.get(self.band, "AS923")

    def _dwell(self):
        return self.region == "AS923"

    # ------------------------------------------------------------ controls
    def enqueue_downlink(self, f_port, data, confirmed=False):
        """Queue a downlink for the device; it goes in the receive window after its next uplink."""
        item = {"id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)), "f_port": f_port,
                "data": bytes(data), "confirmed": confirmed}
        with self._lock:
            self.downlink_queue.append(item)
        return item["id"]

    def serve_api(self, host="127.0.0.1", port=0):
        """The downlink queue over HTTP, as ChirpStack v4's REST API has it, for the fleet:
        POST /api/devices/{devEui}/queue {"queueItem": {"fPort", "data" (base64), "confirmed"}}
        -> {"id"}; GET the same path -> {"totalCount", "result": [...]}. Returns the base URL."""
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _device(self):
                m = re.fullmatch(r"/api/devices/([0-9A-Fa-f]{16})/queue", self.path)
                if not m or m.group(1).lower() != emulator.dev_eui:
                    self._answer(404, {"error": "object does not exist", "code": 5})
                    return False
                return True

            def do_POST(self):
                if not self._device():
                    return
                try:
                    item = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))["queueItem"]
                    f_port = int(item["fPort"])
                    data = base64.b64decode(item.get("data", ""), validate=True)
                    if not 1 <= f_port <= 223:
                        raise ValueError("fPort must be 1..223")
                except (ValueError, KeyError, TypeError) as e:
                    return self._answer(400, {"error": str(e), "code": 3})
                self._answer(200, {"id": emulator.enqueue_downlink(f_port, data, bool(item.get("confirmed")))})

            def do_GET(self):
                if not self._device():
                    return
                with emulator._lock:
                    items = [{"id": d["id"], "devEui": emulator.dev_eui, "confirmed": d["confirmed"],
                              "fPort": d["f_port"], "data": base64.b64encode(d["data"]).decode()}
                             for d in emulator.downlink_queue]
                self._answer(200, {"totalCount": len(items), "result": [pb_json(i) for i in items]})

            def log_message(self, *args):
                pass

        self._api = ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=self._api.serve_forever, name="modem-emulator-api", daemon=True).start()
        return "http://%s:%d" % (host, self._api.server_address[1])

    def outage(self, start_ms, end_ms):
        """Cut the network (no gateway hears, none transmits) between two instants of the board's clock."""
        with self._lock:
            self.outages.append((start_ms, end_ms))

    def fail_joins(self, n):
        """The next n join requests get no join accept."""
        self._fail_joins = n

    def busy(self, n):
        """The next n AT+SEND are answered AT_BUSY_ERROR (the MAC is busy)."""
        self._busy = n

    def hang_sends(self, n):
        """The next n AT+SEND answer OK and then nothing: the send never completes."""
        self._hang = n

    def _network(self, at_ms):
        if not self.network_up:
            return False
        return not any(a <= at_ms < b for a, b in self.outages)

    # ------------------------------------------------------------ running
    def start(self):
        self._fd = os.open(self.port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        self._running = True
        self._thread = threading.Thread(target=self._loop, name="modem-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._running = False
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self.integration is not None:
            self.integration.close()
        if getattr(self, "_api", None) is not None:
            self._api.shutdown()
            self._api.server_close()
            self._api = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _loop(self):
        while self._running:
            try:
                data = os.read(self._fd, 4096)
            except BlockingIOError:
                data = b""
            except OSError:
                data = b""
            if data:
                self._buf += data
                while b"\n" in self._buf or b"\r" in self._buf:
                    m = re.search(rb"\r\n|\n|\r", self._buf)
                    line, self._buf = self._buf[:m.start()], self._buf[m.end():]
                    if line.strip():
                        with self._lock:
                            self._command(line.strip().decode("ascii", "replace"))
            self._fire()
            time.sleep(0.002)

    def _fire(self):
        now = self.clock()
        while True:
            with self._lock:
                if not self._timers:
                    return
                self._timers.sort()
                at, _, fn = self._timers[0]
                if at > now:
                    return
                self._timers.pop(0)
                fn(at)

    def _at(self, at_ms, fn):
        self._seq += 1
        self._timers.append((at_ms, self._seq, fn))

    def _write(self, line):
        self.lines.append((self.clock(), ">", line))
        try:
            os.write(self._fd, (line + "\r\n").encode())
        except OSError:
            pass   # the board is off: what nobody reads is lost

    def _status(self, code):
        self._write("")
        self._write(code)

    # ------------------------------------------------------------ AT commands
    def _command(self, line):
        self.lines.append((self.clock(), "<", line))
        if self.mute:
            return
        if self.echo:
            self._write(line)
        m = re.match(r"^(AT[ZRE]?|AT\+[A-Z0-9]+)(\?|=\?|=(.*))?$", line, re.I)
        if not m:
            return self._status(AT_ERROR)
        name, op, arg = m.group(1).upper(), m.group(2), m.group(3)
        if name == "AT":
            return self._status(OK)
        if name == "ATZ":
            self._power_reset()
            return
        if name == "ATE":
            self.echo = not self.echo
            return self._status(OK)
        handler = getattr(self, "_cmd_" + name[3:].lower(), None)
        if handler is None:
            return self._status(AT_COMMAND_NOT_FOUND)
        if op == "?":
            self._write("%s: (help)" % name)
            return self._status(OK)
        query = op == "=?"
        code = handler(name, query, None if query else (arg if arg is not None else ""))
        self._status(code)

    def _power_reset(self):
        # ATZ: the MCU restarts; keys and settings are in its flash, the session is not.
        self._reset_session()
        for b in BANNER:
            self._write(b)

    def _value(self, name, value):
        self._write("%s=%s" % (name, value))
        return OK

    def _setting(self, attr, name, query, arg, check, cast=int):
        if query:
            return self._value(name, getattr(self, attr))
        try:
            v = cast(arg)
        except ValueError:
            return AT_PARAM_ERROR
        if not check(v):
            return AT_PARAM_ERROR
        setattr(self, attr, v)
        return OK

    def _key(self, attr, digits):
        def handler(name, query, arg):
            if query:
                return self._value(name, getattr(self, attr))
            if not re.fullmatch(r"[0-9A-Fa-f]{%d}" % digits, arg or ""):
                return AT_PARAM_ERROR
            setattr(self, attr, arg.lower())
            return OK
        return handler

    def _cmd_deveui(self, name, query, arg):
        return self._key("dev_eui", 16)(name, query, arg)

    def _cmd_appeui(self, name, query, arg):
        return self._key("app_eui", 16)(name, query, arg)

    def _cmd_appkey(self, name, query, arg):
        return self._key("app_key", 32)(name, query, arg)

    def _cmd_nwm(self, name, query, arg):
        if query:
            return self._value(name, self.nwm)
        if arg not in ("0", "1", "2"):
            return AT_PARAM_ERROR
        self.nwm = int(arg)
        self._power_reset()     # RUI3 reboots into the new work mode
        return OK

    def _cmd_band(self, name, query, arg):
        if not query and self.busy_until is not None:
            return AT_BUSY_ERROR
        r = self._setting("band", name, query, arg, lambda v: 0 <= v <= 12)
        if r == OK and not query:
            if self.band not in BANDS:
                return "AT_UNSUPPORTED_BAND"
            self._reset_session()
        return r

    def _cmd_njm(self, name, query, arg):
        return self._setting("njm", name, query, arg, lambda v: v in (0, 1))

    def _cmd_class(self, name, query, arg):
        return self._setting("cls", name, query, arg, lambda v: v in ("A", "B", "C"), cast=str.upper)

    def _cmd_adr(self, name, query, arg):
        return self._setting("adr", name, query, arg, lambda v: v in (0, 1))

    def _cmd_dr(self, name, query, arg):
        return self._setting("dr", name, query, arg, lambda v: 0 <= v <= 7 and self._dr_ok(v))

    def _dr_ok(self, dr):
        try:
            return lora.max_payload(self.region, dr, self._dwell()) > 0
        except ValueError:
            return False

    def _cmd_cfm(self, name, query, arg):
        return self._setting("cfm", name, query, arg, lambda v: v in (0, 1))

    def _cmd_cfs(self, name, query, arg):
        return self._value(name, self.cfs) if query else AT_PARAM_ERROR

    def _cmd_rety(self, name, query, arg):
        return self._setting("retry", name, query, arg, lambda v: 0 <= v <= 7)

    def _cmd_linkcheck(self, name, query, arg):
        return self._setting("linkcheck", name, query, arg, lambda v: v in (0, 1, 2))

    def _cmd_njs(self, name, query, arg):
        return self._value(name, 1 if self.joined else 0) if query else AT_PARAM_ERROR

    def _cmd_rssi(self, name, query, arg):
        return self._value(name, self.last_rssi) if query else AT_PARAM_ERROR

    def _cmd_snr(self, name, query, arg):
        return self._value(name, int(self.last_snr)) if query else AT_PARAM_ERROR

    def _cmd_recv(self, name, query, arg):
        if not query:
            return AT_PARAM_ERROR
        port, data = self.last_rx
        self.last_rx = (0, b"")
        return self._value(name, "%d:%s" % (port, data.hex().upper()))

    def _cmd_devaddr(self, name, query, arg):
        return self._value(name, (self.dev_addr or "00000000").upper()) if query else OK

    # ------------------------------------------------------------ join
    def _cmd_join(self, name, query, arg):
        if query:
            return self._value(name, "1:0:8:0")
        parts = arg.split(":") if arg else []
        if len(parts) > 4 or any(not p.isdigit() for p in parts):
            return AT_PARAM_ERROR
        vals = [int(p) for p in parts]
        if vals and vals[0] not in (0, 1):
            return AT_PARAM_ERROR
        if len(vals) > 2 and not 7 <= vals[2] <= 255:
            return AT_PARAM_ERROR
        if vals and vals[0] == 0:
            return OK            # stop joining
        if self.busy_until is not None:
            return AT_BUSY_ERROR
        now = self.clock()
        sf, bw = lora.data_rate(self.region, self.dr)
        air = int(lora.airtime_ms(JOIN_REQUEST_PHY, sf, bw)) + 1
        tx_end = now + air
        self.joined = False
        accepted = bool(self._fail_joins == 0 and self._network(tx_end) and self._known() and \
            self.link.uplink(sf, bw * 1000) and self.link.downlink(self.link.gateways[0], sf, bw * 1000)[0])
        if self._fail_joins:
            self._fail_joins -= 1
        if accepted:
            done = tx_end + JOIN1_MS + int(lora.airtime_ms(JOIN_ACCEPT_PHY, sf, bw, crc=False)) + 1
        else:
            done = tx_end + JOIN2_MS + RX_WINDOW_MS
        self.busy_until = done
        self._at(done, lambda at: self._join_done(at, accepted))
        return OK

    def _known(self):
        if self.devices is None:
            return True
        return self.devices.get(self.dev_eui) == self.app_key

    def _join_done(self, at, accepted):
        self.busy_until = None
        self.joins.append((at, accepted))
        if not accepted:
            self._write("+EVT:JOIN_FAILED_RX_TIMEOUT")
            return
        self.joined = True
        self.dev_addr = "%08x" % (0x00180000 | self.rng.getrandbits(18))
        self.f_cnt_up = 0
        self.f_cnt_down = 0
        self._write("+EVT:JOINED")
        self._event("join", {"deduplicationId": self._uuid(), "time": rfc3339(at),
                             "deviceInfo": self._device_info(), "devAddr": self.dev_addr})

    # ------------------------------------------------------------ uplinks
    def _cmd_send(self, name, query, arg):
        if query:
            return AT_PARAM_ERROR
        m = re.fullmatch(r"(\d+):([0-9A-Fa-f]*)", arg or "")
        if not m:
            return AT_PARAM_ERROR
        port, hexdata = int(m.group(1)), m.group(2)
        if not 1 <= port <= 223 or not hexdata or len(hexdata) % 2 or len(hexdata) > 500:
            return AT_PARAM_ERROR
        if not self.joined:
            return AT_NO_NETWORK_JOINED
        if self._busy:
            self._busy -= 1
            return AT_BUSY_ERROR
        if self.busy_until is not None:
            return AT_BUSY_ERROR
        data = bytes.fromhex(hexdata)
        if not lora.fits(len(data), self.region, self.dr, self._dwell()):
            return AT_PARAM_ERROR
        up = {"f_cnt": self.f_cnt_up, "port": port, "data": data, "confirmed": bool(self.cfm), "dr": self.dr,
              "trials": 0, "received": False, "acked": False, "at": self.clock(), "linkcheck": self.linkcheck > 0}
        if self.linkcheck == 1:
            self.linkcheck = 0
        self.f_cnt_up += 1
        self.uplinks.append(up)
        self.busy_until = up["at"]
        if self._hang:
            self._hang -= 1
            self.busy_until = up["at"] + 3600 * 1000    # the MAC never comes back from this one
            return OK
        self._trial(up, up["at"])
        return OK

    def _trial(self, up, start):
        sf, bw = lora.data_rate(self.region, up["dr"])
        air = int(lora.uplink_airtime_ms(len(up["data"]), sf, bw)) + 1
        tx_end = start + air
        up["trials"] += 1
        channel = self.rng.randrange(len(CHANNELS[self.region]))
        heard = self.link.uplink(sf, bw * 1000) if self._network(tx_end) else []
        if heard and not up["received"]:
            up["received"] = True
            self._post_up(up, tx_end, heard, channel, sf, bw)
        answer = heard and (up["confirmed"] or self.downlink_queue or up["linkcheck"])
        got = None
        if answer:
            gw = heard[0][0]
            ok, rssi, snr = self.link.downlink(gw, sf, bw * 1000)
            item = self.downlink_queue.pop(0) if self.downlink_queue else None
            if item is not None:
                self._post_txack(item, gw, tx_end + RX1_MS)
            if ok and self._network(tx_end + RX1_MS):
                got = (rssi, snr, item, heard)
                if item is not None and item["confirmed"]:
                    self._post_ack(item, tx_end + RX1_MS)
            elif item is not None and item["confirmed"]:
                self.downlink_queue.insert(0, item)   # a confirmed downlink waits for its acknowledgement
        if got is not None:
            rssi, snr, item, heard = got
            dl = len(item["data"]) + 13 if item else 12
            done = tx_end + RX1_MS + int(lora.airtime_ms(dl, sf, bw, crc=False)) + 1
            self._at(done, lambda at: self._send_done(up, at, True, got))
        elif up["confirmed"] and up["trials"] <= self.retry:
            retry_at = tx_end + RX2_MS + RX_WINDOW_MS + self.rng.randint(1000, 3000)   # ACK_TIMEOUT 2 +- 1 s
            self._at(retry_at, lambda at: self._trial(up, at))
        else:
            self._at(tx_end + RX2_MS + RX_WINDOW_MS, lambda at: self._send_done(up, at, False, None))

    def _send_done(self, up, at, answered, got):
        self.busy_until = None
        if up["confirmed"]:
            up["acked"] = answered
            self.cfs = 1 if answered else 0
            self._write("+EVT:SEND_CONFIRMED_OK" if answered else "+EVT:SEND_CONFIRMED_FAILED")
        else:
            self._write("+EVT:TX_DONE")
        if got is not None:
            rssi, snr, item, heard = got
            self.last_rssi, self.last_snr = rssi, snr
            if item is not None:
                self.last_rx = (item["f_port"], item["data"])
                self._write("+EVT:RX_1:%d:%d:UNICAST:%d:%s" % (rssi, int(snr), item["f_port"], item["data"].hex()))
            if up["linkcheck"]:
                margin = int(heard[0][2] - DEMOD_FLOOR_DB[lora.data_rate(self.region, up["dr"])[0]])
                self._write("+EVT:LINKCHECK:0:%d:%d:%d:%d" % (margin, len(heard), rssi, int(snr)))
        elif up["linkcheck"]:
            self._write("+EVT:LINKCHECK:1:0:0:0:0")

    # ------------------------------------------------------------ the network server's events
    def _uuid(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _device_info(self):
        return {"tenantId": self._ids[0], "tenantName": "GWIN", "applicationId": self._ids[1],
                "applicationName": "cityfleet", "deviceProfileId": self._ids[2], "deviceProfileName": "cityfleet-cbor",
                "deviceName": self.device_name or "dev-" + self.dev_eui, "devEui": self.dev_eui,
                "deviceClassEnabled": "CLASS_" + self.cls, "tags": {}}

    def _post_up(self, up, at, heard, channel, sf, bw):
        region_id, region_name = REGION_IDS[self.region]
        rx = []
        for i, (gw, rssi, snr) in enumerate(heard):
            rx.append({"gatewayId": gw.id, "uplinkId": self.rng.getrandbits(32), "nsTime": rfc3339(at + 5 + i),
                       "rssi": rssi, "snr": snr, "channel": channel, "rfChain": channel // 4,
                       "location": {"latitude": gw.latitude, "longitude": gw.longitude, "altitude": gw.altitude},
                       "context": base64.b64encode(self.rng.getrandbits(32).to_bytes(4, "big")).decode(),
                       "metadata": {"region_config_id": region_id, "region_common_name": region_name},
                       "crcStatus": "CRC_OK"})
        body = {
            "deduplicationId": self._uuid(), "time": rfc3339(at), "deviceInfo": self._device_info(),
            "devAddr": self.dev_addr, "adr": bool(self.adr), "dr": up["dr"], "fCnt": up["f_cnt"],
            "fPort": up["port"], "confirmed": up["confirmed"], "data": base64.b64encode(up["data"]).decode(),
            "rxInfo": rx,
            "txInfo": {"frequency": CHANNELS[self.region][channel],
                       "modulation": {"lora": {"bandwidth": bw * 1000, "spreadingFactor": sf, "codeRate": "CR_4_5"}}},
        }
        self._event("up", body)
        received = sum(1 for u in self.uplinks if u["received"])
        if self.status_every and received % self.status_every == 0:
            margin = int(heard[0][2])
            self._event("status", {"deduplicationId": self._uuid(), "time": rfc3339(at + RX1_MS),
                                   "deviceInfo": self._device_info(), "margin": max(-32, min(31, margin)),
                                   "batteryLevelUnavailable": True})

    def _post_txack(self, item, gw, at):
        self.f_cnt_down += 1
        item["f_cnt_down"] = self.f_cnt_down
        self._event("txack", {"downlinkId": self.rng.getrandbits(32), "time": rfc3339(at),
                              "deviceInfo": self._device_info(), "queueItemId": item["id"],
                              "fCntDown": self.f_cnt_down, "gatewayId": gw.id,
                              "txInfo": {"frequency": CHANNELS[self.region][0], "power": 14}})

    def _post_ack(self, item, at):
        self._event("ack", {"deduplicationId": self._uuid(), "time": rfc3339(at), "deviceInfo": self._device_info(),
                            "queueItemId": item["id"], "acknowledged": True, "fCntDown": item.get("f_cnt_down", 0)})

    def _event(self, event, body):
        body = pb_json(body)
        self.records.append((event, body))
        if self.integration is not None:
            self.integration.post(event, body)

    # ------------------------------------------------------------ for tests
    @property
    def posted(self):
        return list(self.integration.posted) if self.integration is not None else []

    def ups(self):
        """The "up" events built so far (posted or not), oldest first."""
        return [b for e, b in self.records if e == "up"]

    def wait_for(self, predicate, timeout=60.0):
        """Poll predicate(self) until true (real seconds); returns its last value."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                value = predicate(self)
            if value or time.monotonic() >= deadline:
                return value
            time.sleep(0.02)
