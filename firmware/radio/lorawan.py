# LoRaWAN through a RAK3172 module (STM32WLE5, RUI3 firmware) on a UART.
#
# Manual followed: RAKwireless "RUI3 AT Command Manual"
# (docs.rakwireless.com/RUI3/Serial-Operating-Modes/AT-Command-Manual/, the
# command set of the RAK3172 module's AT command manual): 115200 8N1, commands
# end in CR LF, AT+XXX=? reads a value ("AT+XXX=<value>"), every command ends
# with a status line: OK, AT_ERROR, AT_PARAM_ERROR, AT_BUSY_ERROR,
# AT_TEST_PARAM_OVERFLOW, AT_NO_CLASSB_ENABLE, AT_NO_NETWORK_JOINED,
# AT_RX_ERROR, AT_MODE_NO_SUPPORT, AT_COMMAND_NOT_FOUND, AT_UNSUPPORTED_BAND.
# Asynchronous events, as RUI3 prints them (RAKWireless/RAK-STM32-RUI,
# service_lora.c McpsConfirm / McpsIndication / MlmeConfirm):
#   +EVT:JOINED  +EVT:JOIN_FAILED_RX_TIMEOUT  +EVT:JOIN_FAILED_TX_TIMEOUT
#   +EVT:TX_DONE (unconfirmed)  +EVT:SEND_CONFIRMED_OK  +EVT:SEND_CONFIRMED_FAILED[(n)]
#   +EVT:RX_<1|2|B|C>:<rssi>:<snr>:UNICAST:<port>:<hex>   (after the send event)
#   +EVT:LINKCHECK:<0 ok|1 failed>:<margin>:<gateways>:<rssi>:<snr>
# Timing: LoRaWAN 1.0.3 class A, RX1 1 s and RX2 2 s after an uplink, join
# accept 5 s (JN1DL) or 6 s (JN2DL) after the join request; AT+SEND answers
# OK at once and the event follows the receive windows.
#
# The MCU sleeps until a window can have opened instead of spinning on the
# UART; the UART gets a receive buffer big enough for the longest event line.
#
# This module is what a deep-sleep wake runs: the module kept its session, so
# the wake checks it is joined, sends, and takes the downlinks. On MicroPython
# each function and class costs heap from its import on, so what such a wake
# never runs lives in modules loaded when first needed: setting the module up,
# joining and the setting commands in radio/lorawan_setup.py (Rak3172.__getattr__,
# LoRaWANTransport._start), the exceptions in radio/lorawan_errors.py (the module
# __getattr__; an `except` clause names them only when an exception is matched).
import binascii
import json
import time

# protocols/lora.py's tables and arithmetic without its checks: the driver's arguments are its own
from protocols import lora_core

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_AT_TIMEOUT_MS = const(1000)     # a command's status line (RUI3 answers within ms)
_POLL_MS = const(5)              # UART polling while an answer is due
_GRACE_MS = const(60)            # polling after each sleep, before sleeping again
_STEP_MS = const(1100)           # sleep between polls while a window is far off
_LAST_GRACE_MS = const(1500)     # the final look before a wait gives up (a loaded host may be slow)
_RX1_MS = const(1000)            # RECEIVE_DELAY1
_RX2_MS = const(2000)            # RECEIVE_DELAY2
_ACK_TIMEOUT_MS = const(3000)    # ACK_TIMEOUT 2 s +- 1 s, the upper end
_MARGIN_MS = const(3000)         # module processing and clock slack

# send() results
SENT = "sent"            # unconfirmed uplink out (+EVT:TX_DONE)
ACKED = "acked"          # confirmed uplink acknowledged (+EVT:SEND_CONFIRMED_OK)
UNACKED = "unacked"      # confirmed uplink never acknowledged (+EVT:SEND_CONFIRMED_FAILED)


def __getattr__(name):
    # lorawan.ModemError, ModemTimeout and ERRORS: radio/lorawan_errors.py;
    # BANDS: radio/lorawan_setup.py; each loaded now.
    if name == "ModemError" or name == "ModemTimeout" or name == "ERRORS":
        return getattr(_errors(), name)
    if name == "BANDS":
        from radio import lorawan_setup
        return lorawan_setup.BANDS
    raise AttributeError(name)


def _errors():
    # radio/lorawan_errors.py, for a raise or an `except` clause: loaded the
    # first time a command fails.
    from radio import lorawan_errors
    return lorawan_errors


class Rak3172:
    def __init__(self, uart, region="AS923", idle=None):
        # uart: a machine.UART already set up at 115200 8N1 with timeout=0;
        # idle: called during long waits (feeds the watchdog).
        self.uart = uart
        self.region = region
        self.dwell = region == "AS923"   # RUI3 AS923 keeps UplinkDwellTime = 1 (400 ms)
        self.idle = idle
        self.buf = b""
        self.downlinks = []      # [(port, bytes, rssi, snr)] received, not yet taken
        self.link = None         # last +EVT:LINKCHECK: (ok, margin, gateways, rssi, snr)
        self.dr = None           # data rate as last read or set
        self.retries = 0         # AT+RETY

    def __getattr__(self, name):
        # reset, configure, join, set_data_rate, adr and request_link_check:
        # radio/lorawan_setup.py's functions, loaded the first time one is
        # asked for (a wake whose module kept its session calls none of them),
        # called as methods of this modem.
        if name in ("reset", "configure", "join", "set_data_rate", "adr", "request_link_check"):
            from radio import lorawan_setup
            f = getattr(lorawan_setup, name)
            return lambda *args, **kwargs: f(self, *args, **kwargs)
        raise AttributeError(name)

    # ---- lines

    def _read(self):
        n = self.uart.any()
        if n:
            data = self.uart.read(n)
            if data:
                self.buf += data

    def _take_line(self):
        # The next whole line from the module, or None; events are noted on the way.
        while True:
            i = self.buf.find(b"\n")
            if i < 0:
                self._read()
                i = self.buf.find(b"\n")
                if i < 0:
                    return None
            raw = self.buf[:i].strip()
            self.buf = self.buf[i + 1:]
            if not raw:
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeError:
                continue    # noise on the line (a module booting): not a line of the protocol
            self._note(line)
            return line

    def _note(self, line):
        if line.startswith("+EVT:RX_"):
            # +EVT:RX_1:-70:8:UNICAST:2:1234
            parts = line.split(":")
            if len(parts) >= 7:
                try:
                    self.downlinks.append((int(parts[5]), binascii.unhexlify(parts[6]),
                                           int(parts[2]), int(parts[3])))
                except ValueError:
                    pass   # a garbled line: the downlink is lost, as a radio loss would be
        elif line.startswith("+EVT:LINKCHECK:"):
            parts = line.split(":")
            if len(parts) >= 7:
                try:
                    self.link = (parts[2] == "0", int(parts[3]), int(parts[4]), int(parts[5]), int(parts[6]))
                except ValueError:
                    self.link = None

    def _sleep(self, ms):
        if ms <= 0:
            return
        if self.idle is not None:
            self.idle()
        time.sleep_ms(ms)

    def _line_within(self, ms):
        # A line within ms of polling, or None.
        start = time.ticks_ms()
        while True:
            line = self._take_line()
            if line is not None:
                return line
            if time.ticks_diff(time.ticks_ms(), start) >= ms:
                return None
            time.sleep_ms(_POLL_MS)

    def drain(self):
        # Read whatever the module printed unasked (late events).
        while self._take_line() is not None:
            pass

    # ---- commands

    def command(self, cmd, timeout_ms=_AT_TIMEOUT_MS):
        # Send one command; the value lines it printed before OK, or ModemError.
        self.drain()
        self.uart.write((cmd + "\r\n").encode())
        values = []
        start = time.ticks_ms()
        while True:
            left = timeout_ms - time.ticks_diff(time.ticks_ms(), start)
            line = self._line_within(left) if left > 0 else None
            if line is None:
                raise _errors().ModemTimeout(cmd)
            if line == "OK":
                return values
            if line.startswith("AT_"):     # an error status (lorawan_errors.ERRORS, or one newer)
                raise _errors().ModemError(cmd, line)
            if line == cmd or line.startswith("+EVT:"):
                continue    # echo (ATE), or an event: noted already
            values.append(line)

    def query(self, name):
        # AT+<name>=? -> the value text (RUI3 prints "AT+<name>=<value>").
        for line in self.command("AT+%s=?" % name):
            i = line.find("=")
            return line[i + 1:] if i >= 0 else line
        raise _errors().ModemError("AT+%s=?" % name, "no value")

    def alive(self):
        # Whether a module answers at all (twice, in case a first line was cut).
        for _ in range(2):
            try:
                self.command("AT", 300)
                return True
            except _errors().ModemTimeout:
                pass
            except _errors().ModemError:
                return True
        return False

    # ---- state

    def joined(self):
        return self.query("NJS") == "1"

    def data_rate(self):
        self.dr = int(self.query("DR"))
        return self.dr

    def max_payload(self, dr=None):
        # Application payload limit at dr (the current one by default).
        return lora_core.max_payload(self.region, self.dr if dr is None else dr, self.dwell)

    def fits(self, n, dr=None):
        return lora_core.fits(n, self.region, self.dr if dr is None else dr, self.dwell)

    def airtime_ms(self, n, dr=None):
        # n: 0..242 bytes (a frame that fits at some data rate)
        sf, bw = lora_core.data_rate(self.region, self.dr if dr is None else dr)
        return int(lora_core.uplink_airtime_ms(n, sf, bw)) + 1

    # ---- waiting for events

    def _wait(self, prefixes, first_ms, limit_ms):
        # The first line starting with one of prefixes, or None after limit_ms.
        # Nothing can come before first_ms (a receive window opens at a fixed
        # delay), so the MCU sleeps until then, then looks for a moment,
        # sleeps a second, and so on.
        start = time.ticks_ms()
        self._sleep(first_ms - _GRACE_MS)
        while True:
            elapsed = time.ticks_diff(time.ticks_ms(), start)
            last = elapsed >= limit_ms
            look = time.ticks_ms()
            while True:
                line = self._take_line()
                if line is not None:
                    for p in prefixes:
                        if line.startswith(p):
                            return line
                    continue
                if time.ticks_diff(time.ticks_ms(), look) >= (_LAST_GRACE_MS if last else _GRACE_MS):
                    break
                time.sleep_ms(_POLL_MS)
            if last:
                return None
            self._sleep(min(_STEP_MS, limit_ms - elapsed))

    # ---- send

    def send(self, port, data, confirmed=False):
        # One uplink of data on port (1..223). Returns SENT, ACKED or UNACKED;
        # a downlink that came with it is in self.downlinks. Raises ModemError
        # (AT_NO_NETWORK_JOINED, AT_BUSY_ERROR, AT_PARAM_ERROR...) or ModemTimeout.
        if not 1 <= port <= 223:
            raise ValueError("port must be 1..223")
        if self.dr is None:
            self.data_rate()
        if not self.fits(len(data)):
            raise _errors().ModemError("AT+SEND", "AT_PARAM_ERROR")   # the module would refuse it too
        self.command("AT+CFM=%d" % (1 if confirmed else 0))
        self.command("AT+SEND=%d:%s" % (port, binascii.hexlify(data).decode()))
        air = self.airtime_ms(len(data))
        if confirmed:
            trials = self.retries + 1
            limit = trials * (air + _RX2_MS + _ACK_TIMEOUT_MS + self.airtime_ms(0)) + _MARGIN_MS
            line = self._wait(("+EVT:SEND_CONFIRMED",), air + _RX1_MS, limit)
        else:
            line = self._wait(("+EVT:TX_DONE",), air + _RX1_MS, air + _RX2_MS + _MARGIN_MS)
        if line is None:
            raise _errors().ModemTimeout("AT+SEND")
        self.drain()   # an +EVT:RX_ line printed right after the send event
        if line.startswith("+EVT:SEND_CONFIRMED_OK"):
            return ACKED
        if line.startswith("+EVT:SEND_CONFIRMED_FAILED"):
            return UNACKED
        return SENT

    def take_downlinks(self):
        out = self.downlinks
        self.downlinks = []
        return out


# ---- the transport on top of the module

_APP_PORT = const(2)           # every cityfleet frame goes on FPort 2
_STATE = "lora.json"           # what must outlive deep sleep: duty cycle, join backoff
_BUCKET_S = const(3600)        # duty cycle observation period (ETSI EN 300 220: one hour)
_MAX_DUTY_WAIT_MS = const(10000)  # waited for in place; longer waits end the wake's sending
_REJOIN_AFTER = const(32)      # unacknowledged uplinks in a row before the session is doubted


class LoRaWANTransport:
    name = "lorawan"

    def __init__(self, modem, config, log, fresh, duty=0.01, confirmed=True, state_path=_STATE):
        # modem: a Rak3172; config: the device config (identity, region,
        # data_rate); fresh: True after a reset of the ESP32 (the module is
        # reset and configured), False after deep sleep (it kept its session).
        # duty: the fraction of time on air allowed (1 %); confirmed: every
        # frame asks for an acknowledgement, so one the network never got
        # stays queued (store and forward needs the network's word).
        self.modem = modem
        self.config = config
        self.log = log
        self.fresh = fresh
        self.confirmed = confirmed
        self.path = state_path
        self.budget_ms = int(_BUCKET_S * 1000 * duty)
        self.duty_ppm = int(duty * 1000000)
        self.ready = False
        self.rejoin = False
        self.state = {"credit": self.budget_ms, "at": time.time(), "fails": 0, "next_join": 0, "unacked": 0}
        self._load()

    def _load(self):
        try:
            with open(self.path) as f:
                saved = json.load(f)
            for k in self.state:
                if isinstance(saved.get(k), int):
                    self.state[k] = saved[k]
        except (OSError, ValueError):
            pass

    def _save(self):
        try:
            with open(self.path, "w") as f:
                json.dump(self.state, f)
        except OSError:
            pass

    # ---- duty cycle: a bucket of airtime refilled at duty * elapsed time

    def credit_ms(self):
        st = self.state
        now = time.time()
        gained = (now - st["at"]) * self.duty_ppm // 1000   # ms of airtime per second
        if gained > 0:
            st["credit"] = min(self.budget_ms, st["credit"] + gained)
            st["at"] = now
        elif now < st["at"]:
            st["at"] = now   # the clock went back (time sync): count from now
        return st["credit"]

    def spend(self, ms):
        self.credit_ms()
        self.state["credit"] -= ms

    # ---- session

    def _start(self):
        # Whether the module has a session to send with. After deep sleep it
        # kept the one it had: one question (AT+NJS=?). Setting it up after
        # a reset and joining are radio/lorawan_setup.py's, loaded only then.
        if self.fresh:
            from radio import lorawan_setup
            lorawan_setup.prepare(self)
        if not self.rejoin and self.modem.joined():
            return True
        from radio import lorawan_setup
        return lorawan_setup.try_join(self)

    def _fit(self, n):
        # The data rate for n bytes: the current one, or the lowest above it that fits.
        m = self.modem
        dr = m.data_rate()
        if m.fits(n, dr):
            return True
        for higher in range(dr + 1, 7):
            try:
                ok = m.fits(n, higher)
            except ValueError:
                break
            if ok:
                self.log.info("lorawan: %d bytes need DR%d (DR%d takes %d)" % (n, higher, dr, m.max_payload(dr)))
                m.set_data_rate(higher)
                return True
        return False

    def send(self, frame):
        # True once the frame has left (acknowledged when confirmed); False
        # when it cannot go now: not joined, no acknowledgement, duty cycle,
        # module busy or silent. The frame then stays queued.
        m = self.modem
        try:
            if not self.ready:
                self.ready = self._start()
                if not self.ready:
                    return False
            if not self._fit(len(frame)):
                self.log.error("lorawan: frame of %d bytes fits no data rate: dropped" % len(frame))
                return True
            air = m.airtime_ms(len(frame))
            lack = air - self.credit_ms()
            if lack > 0:
                wait = lack * 1000000 // self.duty_ppm   # ms until the bucket holds air
                if wait > _MAX_DUTY_WAIT_MS:
                    self.log.info("lorawan: duty cycle: next uplink in %d s" % (wait // 1000 + 1))
                    return False
                m._sleep(wait)
            result = m.send(_APP_PORT, frame, self.confirmed)
        except _errors().ModemTimeout as e:
            self.log.error("lorawan: module silent (%s): reset next time" % e.command)
            self.fresh = True
            self.ready = False
            return False
        except _errors().ModemError as e:
            if e.code == "AT_NO_NETWORK_JOINED":
                self.ready = False
            self.log.error("lorawan: " + str(e))
            return False
        if result == UNACKED:
            self.spend(air * (m.retries + 1))
            self.state["unacked"] += 1
            if self.state["unacked"] >= _REJOIN_AFTER:
                self.log.error("lorawan: %d uplinks unacknowledged: joining again" % self.state["unacked"])
                self.state["unacked"] = 0
                self.rejoin = True      # the network may have forgotten the session
                self.ready = False
            self._save()
            return False
        self.spend(air)
        self.state["unacked"] = 0
        self._save()
        print("uplink " + binascii.hexlify(frame).decode())
        return True

    def downlinks(self):
        # [(port, payload)] received since the last call.
        return [(d[0], d[1]) for d in self.modem.take_downlinks()]
