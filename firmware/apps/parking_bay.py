# Parking bay: a magnetometer (QMC5883L, sensors/qmc5883l.py) under the bay
# sees a car as a change of the local magnetic field, tens of microtesla for
# a car above it, a few for a car in the next bay or a bus passing beside.
#
# Each wake (every config["interval"] s; 30-60 s suits a bay) the profile
#   - calibrates a baseline on first start: the mean of `calibrate` samples,
#     taken as the empty bay (installers fit the sensor in an empty bay);
#   - tracks drift while the bay is free: each free sample within `low` of the
#     baseline pulls it by 1/`track` of the difference, so temperature swings
#     (the day's cycle moves a sensor's offset by a few uT) and slow magnetic
#     drift are followed, while a car (beyond `high`) is never learnt;
#   - decides with hysteresis and a dwell: occupied when |field - baseline|
#     >= high for `dwell` samples in a row, free when <= low for `dwell`
#     samples; between low and high the state holds. A bus passing (one
#     sample) or stopping beside (a few uT, below high) and a car in the next
#     bay (below high) change nothing;
#   - tells one car from the next: while occupied, a field that moves by
#     `swap` or more from the parked car's signature for `dwell` samples is a
#     car that left and another that arrived between two samples: two changes;
#   - sends a parking_bay frame on each change (occupied, the running count
#     of changes) and a keep-alive every `keepalive_s` otherwise.
# Thresholds (config["thresholds"], integers): the config downlink's
# threshold_high / threshold_low set `high` / `low` (uT), the main pair.
# State kept through deep sleep: baseline (1/100 uT), state, counters: ~40 bytes.
import gc

from runtime import battery
from sensors import SensorError, forget, limits

DEFAULTS = {
    "high": 12,            # uT from the baseline: occupied
    "low": 6,              # uT from the baseline: free
    "dwell": 2,            # samples a new state must hold
    "swap": 15,            # uT move of the parked signature: another car
    "track": 16,           # baseline follows 1/track of a free sample's difference
    "calibrate": 3,        # samples averaged for the first baseline
    "keepalive_s": 3600,
}


class Sensors:
    # The magnetometer's driver is made when read; under deep sleep (one read
    # per boot) its module and the pin helpers go after the read, before the
    # frames are encoded and sent. Light sleep keeps the driver (initialised once).
    def __init__(self, board, config):
        from sensors import hw
        self.board = board
        self.deep = config.get("sleep") == "deep"
        self.bus = hw.i2c(board, "i2c0")
        self.mag = None
        if self.deep:
            forget("sensors.hw")

    def _field(self, out):
        mag = self.mag
        if mag is None:
            from sensors.qmc5883l import QMC5883L
            mag = QMC5883L(self.bus)
            if not self.deep:
                self.mag = mag
        try:
            x, y, z, t = mag.read()
            out["field"] = (x, y, z)
            out["temp"] = t
        except SensorError as e:
            print("sensor error " + str(e))
            out["error"] = str(e)

    async def read(self, progress):
        gc.collect()   # light sleep keeps one heap for days: start each wake clean
        out = {"battery": battery.battery_percent(battery.battery_mv(self.board))}
        if self.bus is None:
            out["error"] = "qmc5883l: no i2c0 on this board"
            return out
        self._field(out)
        if self.deep:
            forget("sensors.qmc5883l")
        return out


def _c(v):
    # uT as an integer of 1/100 uT (the saved state holds no floats)
    return int(round(v * 100))


class Profile:
    name = "parking_bay"

    def __init__(self, config, saved=None):
        self.config = config
        s = saved if isinstance(saved, list) and len(saved) == 9 else None
        if s is None:
            s = [None, False, 0, 0, 0, None, 0, [], -1]
        # baseline, occupied, changes, pending, swap pending, signature, last sent, calibration sums, battery
        self.base, self.occupied, self.changes, self.pending, self.swapping, self.sig, \
            self.sent_at, self.cal, self.battery = s

    def save(self):
        return [self.base, self.occupied, self.changes, self.pending, self.swapping, self.sig,
                self.sent_at, self.cal, self.battery]

    def _event(self, n, now_s):
        # a change: counted, told on the console (the technician's view), framed
        self.changes += n
        print("parking_bay: %d change(s), %s at %d" % (n, "occupied" if self.occupied else "free", now_s))
        return self._frame(now_s)

    def _frame(self, now_s):
        self.sent_at = now_s
        return [("parking_bay", {"occupied": self.occupied, "changes": self.changes & 0xFFFF,
                                 "battery": max(0, min(100, self.battery))})]

    def decide(self, readings, now_s):
        self.battery = readings.get("battery", 0)
        f = readings.get("field")
        if f is None:
            return []
        t = limits(self.config, DEFAULTS)
        v = [_c(f[0]), _c(f[1]), _c(f[2])]
        if self.base is None:
            return self._calibrate(v, t, now_s)
        d = [v[i] - self.base[i] for i in range(3)]
        m = _norm(d)
        high, low = t["high"] * 100, t["low"] * 100
        out = []
        if not self.occupied:
            if m >= high:
                self.pending += 1
                if self.pending >= t["dwell"]:
                    self.occupied, self.pending, self.sig = True, 0, d
                    out = self._event(1, now_s)
            else:
                self.pending = 0
                if m <= low:
                    self._track(v, t["track"])
        else:
            if m <= low:
                self.pending += 1
                self.swapping = 0
                if self.pending >= t["dwell"]:
                    self.occupied, self.pending, self.sig = False, 0, None
                    self._track(v, t["track"])
                    out = self._event(1, now_s)
            elif m >= high and _norm([d[i] - self.sig[i] for i in range(3)]) >= t["swap"] * 100:
                self.pending = 0
                self.swapping += 1
                if self.swapping >= t["dwell"]:
                    # one car left and another came between two samples
                    self.swapping, self.sig = 0, d
                    out = self._event(2, now_s)
            else:
                self.pending = self.swapping = 0
                # the parked car's signature follows the slow drift too
                self.sig = [self.sig[i] + _div(d[i] - self.sig[i], t["track"]) for i in range(3)]
        if not out and now_s - self.sent_at >= t["keepalive_s"]:
            print("parking_bay: keep-alive at %d" % now_s)
            out = self._frame(now_s)
        return out

    def _calibrate(self, v, t, now_s):
        cal = self.cal
        if not cal:
            cal = [0, 0, 0, 0]
        for i in range(3):
            cal[i] += v[i]
        cal[3] += 1
        self.cal = cal
        if cal[3] < t["calibrate"]:
            return []
        self.base = [cal[i] // cal[3] for i in range(3)]
        self.cal = []
        self.occupied = False
        print("parking_bay: calibrated at %d" % now_s)
        return self._frame(now_s)

    def _track(self, v, n):
        self.base = [self.base[i] + _div(v[i] - self.base[i], n) for i in range(3)]

    def downlink(self, kind, fields):
        return []


def _div(a, n):
    # a / n rounded to nearest, ties away from zero: tracking without a bias
    q = (abs(a) + n // 2) // n
    return q if a >= 0 else -q


def _norm(d):
    # Euclidean length of an integer vector, integer square root (no floats)
    s = d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
    if s <= 0:
        return 0
    r = int(s ** 0.5)
    while r * r > s:
        r -= 1
    while (r + 1) * (r + 1) <= s:
        r += 1
    return r
