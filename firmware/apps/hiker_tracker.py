# Hiker tracker: a position every few minutes while the hiker moves and
# rarely while they rest; an SOS sent at once and repeated until the fleet
# acknowledges it; and never a made-up position without a fix.
#
# Sensors: the GNSS receiver's NMEA on the board's gnss_uart
# (sensors/gnss.py), the SOS button (sensors/button.py, a long press; its pin
# also wakes the board from deep sleep), the battery through the ADC
# (runtime/battery.py).
#
# Profile decisions, each wake (the wake interval is config["interval"]):
#   - motion from successive fixes: moving when this fix is more than move_m
#     from the last wake's fix; still after still_after wakes without such a
#     step (so a short pause is not a stop);
#   - a frame when the hiker starts moving or stops (the rest position), then
#     every moving_every_s while moving and every still_every_s while still;
#   - no fix: fix "none" with null latitude/longitude, on the same schedule;
#     motion is unknown without two fixes, so the state stays as it was; the
#     first position after such frames goes out at once;
#   - SOS (a long press): a frame at once with sos true, then every
#     sos_every_s until an alarm_ack downlink for "sos" arrives.
# Thresholds (config["thresholds"], integers; defaults below). A config
# downlink's threshold_high sets still_every_s and threshold_low sets
# moving_every_s (the two report periods): the runtime stores them in
# config.json as thresholds "high" and "low", read at every decision.
#
# Positions stay integers of 1e-5 degree from the NMEA text to the frame
# (sent with the frame codec's raw mode), never a float.
import time

import machine

from runtime import board as boardfile
from runtime import battery
from runtime.profile import thresholds as profile_thresholds
from runtime.tasks import sleep_ms
from sensors import forget

DEFAULTS = {
    "moving_every_s": 300,     # report period while moving
    "still_every_s": 3600,     # report period while still
    "move_m": 25,              # a step longer than this between wakes is motion
    "still_after": 2,          # wakes without a step before the hiker counts as still
    "sos_every_s": 60,         # SOS repeat period until acknowledged
    "sos_hold_ms": 2000,       # a press this long is an SOS
    "debounce_ms": 50,
    "gnss_wait_s": 20,         # longest wait for a fix in one wake
    "gnss_nofix_epochs": 5,    # give up earlier after this many epochs without a fix
}

# metres per 1e-5 degree: latitude everywhere; longitude at 22.35 N (cos = 0.9249),
# within 1 % across the territory (21.7..23.0 N). In 1e-4 m.
_M_LAT = 11132
_M_LON = 10296
# the hiker_tracker frame's position range (protocols/schema.py), in 1e-5 degree
_LAT = (2169464, 2300535)
_LON = (11349464, 11480535)


def thresholds(config):
    # config downlink: threshold_high is still_every_s, threshold_low moving_every_s
    return profile_thresholds(config, DEFAULTS, "still_every_s", "moving_every_s")


def _elapsed(now_s, since_s, period_s):
    # A period is over a little early (an eighth, at most 30 s): wakes are not
    # exactly on the period's grid (a button press wakes the board between them).
    return now_s - since_s >= period_s - min(period_s // 8, 30)


def _stale(fix, slack_s=30):
    # An epoch stamped well (30 s) before the board's clock (buffered before the
    # wake) says nothing about now. Only checked once the clock is set (after 2020).
    now = time.time()
    if fix.time is None or now < 631152000:
        return False
    behind = (now % 86400 - fix.time) % 86400
    return slack_s < behind < 86400 - slack_s


def step_m2(a_lat, a_lon, b_lat, b_lon):
    # Squared distance in m^2 between two positions in 1e-5 degree (flat earth: fine for metres).
    dy = (b_lat - a_lat) * _M_LAT // 10000
    dx = (b_lon - a_lon) * _M_LON // 10000
    return dx * dx + dy * dy


class Sensors:
    # The button counts from boot (its interrupt); the GNSS driver is made
    # when read, and under deep sleep (one read per boot) its module goes
    # after the read, before the frames are encoded and sent.
    def __init__(self, board, config):
        self.board = board
        t = thresholds(config)
        self.t = t
        self.deep = config.get("sleep") == "deep"
        self.uart = self.gnss = None
        spec = boardfile.bus(board, "gnss_uart")
        if spec is not None:
            self.uart = machine.UART(spec["id"], baudrate=spec.get("baudrate", 9600), tx=spec["tx"], rx=spec["rx"],
                                     rxbuf=1024)
        self.button = None
        self.button_gpio = boardfile.pin(board, "sos_button")
        if self.button_gpio is not None:
            from sensors.button import Button
            pspec = board["pins"]["sos_button"]
            pull = machine.Pin.PULL_UP if pspec.get("pull") == "up" else (
                machine.Pin.PULL_DOWN if pspec.get("pull") == "down" else None)
            self.active_low = pspec.get("active", "low") == "low"
            pin = machine.Pin(self.button_gpio, machine.Pin.IN, pull)
            self.button = Button(pin, active_low=self.active_low, debounce_ms=t["debounce_ms"],
                                 long_ms=t["sos_hold_ms"])

    async def _long_press(self, progress):
        b = self.button
        if b is None or not b.is_down():
            return False
        return await b.wait_long(progress)

    async def _fix(self, progress, sos_check):
        # The first epoch with a position, or the last one without after
        # gnss_nofix_epochs of them, or None if the receiver said nothing.
        # A press of the SOS button while waiting is followed at once.
        if self.uart is None:
            return None, False
        g = self.gnss
        if g is None:
            from sensors.gnss import GNSS
            g = GNSS(self.uart)
            if not self.deep:
                self.gnss = g
        sos = False
        nofix = 0
        waited = 0
        limit = self.t["gnss_wait_s"] * 1000
        g.flush()
        fix = None
        while waited < limit:
            if g.feed() and not _stale(g.fix):
                fix = g.fix
                if fix.has_position():
                    break
                nofix += 1
                if nofix >= self.t["gnss_nofix_epochs"]:
                    break
            if sos_check and not sos and self.button is not None and self.button.is_down():
                sos = await self._long_press(progress)
            progress("gnss")
            await sleep_ms(50)
            waited += 50
        return fix, sos

    async def read(self, progress):
        # The cell first, at rest: before the GNSS search loads it (a truer
        # figure on the open-circuit curve) and before that search's buffers
        # fragment the heap (a PMU driver is imported here).
        mv = battery.battery_mv(self.board)
        sos = await self._long_press(progress)     # a press that woke the board, or held now
        fix, sos_later = await self._fix(progress, not sos)
        sos = sos or sos_later
        self._arm_wake()
        out = {"battery_mv": mv, "sos": sos, "fix": "none", "lat": None, "lon": None, "hdop": None,
               "gnss": self.uart is not None and fix is not None}
        if fix is not None:
            out["hdop"] = fix.hdop
            if fix.has_position():
                out["fix"] = fix.fix_name()
                out["lat"] = fix.lat
                out["lon"] = fix.lon
            fix = None
        if self.deep:
            forget("sensors.gnss")
        # one line per wake for whoever watches the console (and the HIL tests)
        print("hiker %d fix %s %s %s sos %d" % (time.time(), out["fix"], out["lat"], out["lon"], sos))
        return out

    def _arm_wake(self):
        # The SOS button wakes the board from deep sleep (ext0: one RTC GPIO at
        # a level). Not while it is held, or the board would wake at once.
        if self.button is None or self.button.is_down():
            return
        try:
            import esp32
            esp32.wake_on_ext0(machine.Pin(self.button_gpio),
                               esp32.WAKEUP_ALL_LOW if self.active_low else esp32.WAKEUP_ANY_HIGH)
        except (ImportError, ValueError, OSError):
            pass   # a pin that cannot wake the chip: SOS is seen at the next wake


class Profile:
    name = "hiker_tracker"

    def __init__(self, config, saved=None):
        self.config = config
        self.t = thresholds(config)
        s = saved if isinstance(saved, dict) else {}
        self.last_sent = s.get("ls")            # time of the last position frame
        self.prev = s.get("pv")                 # [lat, lon] of the last wake's fix
        self.moving = bool(s.get("mv", False))
        self.quiet = s.get("q", 0)              # wakes in a row without a step
        self.sos = bool(s.get("sos", False))    # raised, not yet acknowledged
        self.sos_sent = s.get("ss")
        self.blind = bool(s.get("b", False))    # the last frame had no position

    def save(self):
        return {"ls": self.last_sent, "pv": self.prev, "mv": self.moving, "q": self.quiet,
                "sos": self.sos, "ss": self.sos_sent, "b": self.blind}

    def _motion(self, r):
        # (changed, moving) from this fix and the last wake's.
        lat, lon = r.get("lat"), r.get("lon")
        if lat is None or lon is None:
            return False, self.moving
        prev = self.prev
        self.prev = [lat, lon]
        if prev is None:
            return False, self.moving
        limit = self.t["move_m"]
        if step_m2(prev[0], prev[1], lat, lon) > limit * limit:
            self.quiet = 0
            if not self.moving:
                self.moving = True
                return True, True
        else:
            self.quiet += 1
            if self.moving and self.quiet >= self.t["still_after"]:
                self.moving = False
                return True, False
        return False, self.moving

    def _frame(self, r, battery_mv):
        lat, lon = r.get("lat"), r.get("lon")
        if lat is not None and not (_LAT[0] <= lat <= _LAT[1] and _LON[0] <= lon <= _LON[1]):
            lat = lon = None   # a fix beyond the frame's area (Hong Kong and its waters): no position sent
        fields = {"latitude": lat, "longitude": lon, "fix": r.get("fix", "none") if lat is not None else "none",
                  "sos": self.sos, "battery": (battery.battery_percent(battery_mv) + 2) // 5}
        return ("hiker_tracker", fields, True)

    def decide(self, readings, now_s):
        r = readings
        self.t = thresholds(self.config)   # a config downlink may have changed them
        changed, moving = self._motion(r)
        if r.get("sos"):
            if not self.sos:
                self.sos_sent = None   # a new SOS goes out now, whatever was sent before
            self.sos = True
        # a position again after frames without one goes out at once
        regained = self.blind and r.get("lat") is not None
        due = self.last_sent is None or changed or regained
        if not due:
            period = self.t["moving_every_s"] if moving else self.t["still_every_s"]
            due = _elapsed(now_s, self.last_sent, period)
        if self.sos and (self.sos_sent is None or _elapsed(now_s, self.sos_sent, self.t["sos_every_s"])):
            due = True
        if not due:
            return []
        self.last_sent = now_s
        self.blind = r.get("lat") is None
        if self.sos:
            self.sos_sent = now_s
        return [self._frame(r, r.get("battery_mv", 0))]

    def downlink(self, kind, fields):
        if kind == "alarm_ack" and fields.get("alarm") == "sos":
            self.sos = False
            self.sos_sent = None
        return []
