# Rodent station: a PIR motion sensor over the bait box and an IR break-beam
# across its entrance (sensors/digital.py). Activity is the number of
# debounced events from both: a PIR event is its output going active no
# sooner than `debounce_ms` after the last one (the module holds and
# retriggers its output for seconds while an animal moves), a beam event a
# break likewise.
#
# Counting through deep sleep: the PIR pin (an RTC GPIO) is armed as the ext0
# wake-up for the level it is not at, so an animal wakes the board; a wake
# into the active level is one event, debounced against the last event's
# time kept in the profile's saved state. While awake, and all the time under
# light sleep, pin interrupts count both sensors. (The beam's GPIO18 is not an
# RTC GPIO: under deep sleep only breaks while awake count.)
#
# Reporting: a rodent_station frame at the end of each `window_s` window with
# the window's activity (comparable between stations with the same window:
# the fleet ranks stations by it), and at once, within the window, a burst
# frame (burst true) when the window's activity reaches `high`. One burst
# alert per episode: it re-arms after a window that ends with activity at or
# below `low`.
# Thresholds (config["thresholds"], integers): the config downlink's
# threshold_high / threshold_low set `high` / `low` (events per window).
import gc

from sensors import limits

DEFAULTS = {
    "high": 10,            # events in a window: burst alert
    "low": 2,              # a window at or below this re-arms the alert
    "window_s": 3600,      # reporting window
    "debounce_ms": 5000,   # one event per sensor per this time
}


class Sensors:
    def __init__(self, board, config):
        from sensors import hw
        from sensors.digital import EdgeCounter, woke_by_pin
        self.hw = hw
        self.board = board
        t = limits(config, DEFAULTS)
        self.deep = config.get("sleep") == "deep"
        self.woke = woke_by_pin()
        pir, high = hw.pin_in(board, "pir")
        beam, beam_high = hw.pin_in(board, "beam")
        self.pir = EdgeCounter(pir, high, t["debounce_ms"]) if pir is not None else None
        self.beam = EdgeCounter(beam, beam_high, t["debounce_ms"]) if beam is not None else None

    async def read(self, progress):
        gc.collect()   # light sleep keeps one heap for days: start each wake clean
        out = {"battery": self.hw.battery(self.board), "pir": 0, "beam": 0, "wake": False}
        if self.pir is not None:
            out["pir"] = self.pir.take()
            if self.woke and self.pir.active_now():
                out["wake"] = True          # the PIR woke the board from deep sleep
            self.woke = False
            if self.deep:
                self.pir.arm_wake()
        if self.beam is not None:
            out["beam"] = self.beam.take()
        return out


class Profile:
    name = "rodent_station"

    def __init__(self, config, saved=None):
        self.config = config
        s = saved if isinstance(saved, list) and len(saved) == 6 else [None, 0, False, True, None, -1]
        # window start, count, burst sent in window, armed, last wake event (s), battery
        self.start, self.count, self.burst, self.armed, self.last_wake, self.battery = s

    def save(self):
        return [self.start, self.count, self.burst, self.armed, self.last_wake, self.battery]

    def _frame(self, count, burst):
        return ("rodent_station", {"activity": min(count, 65535), "burst": burst,
                                   "battery": max(0, min(100, self.battery))})

    def decide(self, readings, now_s):
        t = limits(self.config, DEFAULTS)
        if t["window_s"] < 60:   # a window of nothing would divide by zero: keep the default
            t["window_s"] = DEFAULTS["window_s"]
        self.battery = readings.get("battery", 0)
        out = []
        if self.start is None:
            self.start = now_s
        if now_s >= self.start + t["window_s"]:
            # the window is over: report it, then count in the current one
            out.append(self._frame(self.count, self.burst))
            print("rodent_station: window of %d events ends at %d" % (self.count, now_s))
            if self.count <= t["low"]:
                self.armed = True
            self.start = now_s - (now_s - self.start) % t["window_s"]
            self.count, self.burst = 0, False
        n = readings.get("pir", 0) + readings.get("beam", 0)
        if readings.get("wake"):
            gap = t["debounce_ms"] // 1000
            if self.last_wake is None or now_s - self.last_wake >= gap:
                n += 1
            self.last_wake = now_s
        self.count += n
        if self.count >= t["high"] and self.armed and not self.burst:
            self.burst, self.armed = True, False
            out.append(self._frame(self.count, True))
            print("rodent_station: burst of %d events at %d" % (self.count, now_s))
        return out

    def downlink(self, kind, fields):
        if kind == "alarm_ack" and fields.get("alarm") == "rodent_burst":
            self.armed = False
        return []
