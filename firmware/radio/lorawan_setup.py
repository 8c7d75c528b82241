# Setting the RAK3172 up and joining the network: what radio/lorawan.py runs
# only when the module has no session to send with (after a reset of the
# ESP32, a module that fell silent, a session the network seems to have
# forgotten), and the commands that change the module's settings (data rate,
# ADR, link check), which a wake with a session leaves as they are.
#
# A module of its own, imported the first time one of these is needed: a
# deep-sleep wake whose module kept its session never loads it, and on
# MicroPython each function costs heap from its import on. Rak3172's methods
# of the same names (m.join(), m.configure(...)) call the functions here with
# the modem first (Rak3172.__getattr__); LoRaWANTransport._start calls
# prepare() and try_join().
import binascii
import time

from protocols.lora_core import LORAWAN_OVERHEAD
from radio.lorawan_errors import ModemTimeout

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_BOOT_TIMEOUT_MS = const(3000)   # ATZ until "Current Work Mode: LoRaWAN."
_JOIN1_MS = const(5000)          # JOIN_ACCEPT_DELAY1
_JOIN2_MS = const(6000)          # JOIN_ACCEPT_DELAY2
_MARGIN_MS = const(3000)         # module processing and clock slack, as radio/lorawan.py allows a send
_JOIN_REQUEST = const(23)        # PHY bytes of a join request
_JOIN_BACKOFF_S = const(30)      # first wait after a failed join, doubling...
_JOIN_BACKOFF_MAX_S = const(3600)

# AT+BAND values of RUI3 (AT+BAND? help text)
BANDS = {"EU868": 4, "US915": 5, "AS923": 8}


def _hex_ok(text, n):
    if len(text) != n:
        return False
    try:
        binascii.unhexlify(text)
    except ValueError:
        return False
    return True


# ---- the module (m: a radio.lorawan.Rak3172)

def reset(m):
    # ATZ: the module restarts (its join session is lost) and prints its
    # banner, ending in the work mode; no status line.
    m.drain()
    m.uart.write(b"ATZ\r\n")
    start = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), start) < _BOOT_TIMEOUT_MS:
        line = m._line_within(50)
        if line is not None and line.startswith("Current Work Mode"):
            break
    m.dr = None
    m.command("AT")


def configure(m, dev_eui, join_eui, app_key, data_rate, adr=True, confirm_retries=1):
    # Identity and radio settings for OTAA in class A on the configured band.
    for name, value, n in (("dev_eui", dev_eui, 16), ("join_eui", join_eui, 16), ("app_key", app_key, 32)):
        if not _hex_ok(value, n):
            raise ValueError("%s must be %d hex digits" % (name, n))
    band = BANDS.get(m.region)
    if band is None:
        raise ValueError("no RUI3 band for region " + m.region)
    if m.query("NWM") != "1":
        # AT+NWM reboots the module into the new mode
        m.uart.write(b"AT+NWM=1\r\n")
        reset(m)
    if m.query("BAND") != str(band):
        m.command("AT+BAND=%d" % band)
    m.command("AT+NJM=1")
    m.command("AT+CLASS=A")
    m.command("AT+DEVEUI=" + dev_eui.upper())
    m.command("AT+APPEUI=" + join_eui.upper())
    m.command("AT+APPKEY=" + app_key.upper())
    m.command("AT+ADR=%d" % (1 if adr else 0))
    set_data_rate(m, data_rate)
    m.command("AT+RETY=%d" % confirm_retries)
    m.retries = confirm_retries


def set_data_rate(m, dr):
    m.command("AT+DR=%d" % dr)
    m.dr = dr


def adr(m):
    return m.query("ADR") == "1"


def request_link_check(m):
    # The next uplink carries a LinkCheckReq; +EVT:LINKCHECK follows it.
    m.link = None
    m.command("AT+LINKCHECK=1")


def join(m):
    # One OTAA join attempt (AT+JOIN=1:0:8:0: start now, no auto-join at
    # boot, 8 s period, no retries by the module: the caller backs off).
    # True when joined; False on +EVT:JOIN_FAILED_*; ModemError otherwise.
    m.command("AT+JOIN=1:0:8:0")
    air = m.airtime_ms(_JOIN_REQUEST - LORAWAN_OVERHEAD, m.dr if m.dr is not None else 2)
    line = m._wait(("+EVT:JOINED", "+EVT:JOIN_FAILED"), air + _JOIN1_MS,
                   air + _JOIN2_MS + air + _MARGIN_MS)
    if line is None:
        raise ModemTimeout("AT+JOIN")
    return line == "+EVT:JOINED"


# ---- the transport's session (t: a radio.lorawan.LoRaWANTransport)

def prepare(t):
    # After a reset of the ESP32, or a module that fell silent: the module
    # reset and configured (it has no session then).
    m = t.modem
    c = t.config
    if not m.alive():
        raise ModemTimeout("AT")
    reset(m)
    configure(m, c["dev_eui"], c["join_eui"], c["app_key"], c["data_rate"])
    t.fresh = False


def try_join(t):
    # One join attempt, unless the backoff after failed ones says wait; True
    # once joined. The backoff outlives deep sleep in the transport's state.
    m = t.modem
    state = t.state
    if time.time() < state["next_join"]:
        return False
    t.log.info("lorawan: joining (OTAA, %s)" % t.config["region"])
    if join(m):
        t.rejoin = False
        state["fails"] = 0
        state["next_join"] = 0
        state["unacked"] = 0
        t.log.info("lorawan: joined")
        t._save()
        return True
    state["fails"] += 1
    wait = min(_JOIN_BACKOFF_MAX_S, _JOIN_BACKOFF_S << min(state["fails"] - 1, 8))
    state["next_join"] = time.time() + wait
    t.spend(m.airtime_ms(_JOIN_REQUEST - LORAWAN_OVERHEAD))
    t._save()
    t.log.error("lorawan: join failed (%d in a row), next try in %d s" % (state["fails"], wait))
    return False
