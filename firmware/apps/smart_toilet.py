# Smart toilet: who is in, how often it is used, whether it needs cleaning or
# restocking, and whether the floor is wet.
#
# Sensors (all optional: a board without one sends what it has):
#   - HLK-LD2410 mmWave radar on the UART named presence_uart (sensors/ld2410.py):
#     occupied while it sees a moving or stationary target; without the radar,
#     the door reed (closed = occupied);
#   - two IR beams across the door, `beam` outside and `beam_inner` inside
#     (sensors/digital.py PeopleCounter): people in; without the second beam,
#     each occupancy that starts counts one use;
#   - NH3 and H2S gas sensor modules (0.4-2.0 V for their range) on ADS1115
#     channels 0 and 1 (sensors/ads1115.py), turned into ppm by a two-point
#     calibration curve (`*_zero_mv` reads 0 ppm, `*_span_mv` reads the
#     module's full scale `nh3_full_ppm` / `h2s_full_ppb`);
#   - a VL53L0X looking down on the paper roll or soap (sensors/vl53l0x.py):
#     the level in percent between `full_mm` and `empty_mm`;
#   - a conductivity leak probe on the leak_probe ADC pin.
# Frames (smart_toilet): a report every `report_s` with the people since the
# last report, and at once
#   - a cleaning alert (the cleaning bit) when NH3 reaches `high` ppm or H2S
#     `h2s_high_ppb`: one frame, then no other until the gas has fallen to
#     `low` / `h2s_low_ppb` (hysteresis: gas hovering at the threshold does not
#     flap); the frame with the bit clear goes at once too ("cleaned");
#   - consumables low (the consumables_low bit) when the level falls to
#     `consumables_low` %, cleared (again at once, "restocked") above
#     `consumables_ok` %;
#   - a leak alarm (the leak bit) on every wake while the floor is wet, until
#     an alarm_ack downlink for "leak"; dry again re-arms it.
# Cleaning and consumables are states carried in every frame, so the fleet
# always has them and no acknowledgement is needed; the leak is an alarm.
# Thresholds (config["thresholds"], integers): the config downlink's
# threshold_high / threshold_low set `high` / `low`, the NH3 cleaning pair (ppm).
# Duty cycle: light sleep suits the beams (their interrupts count while the
# board sleeps); under deep sleep the door reed (an RTC GPIO) wakes the board.
import gc

from runtime import battery
from sensors import SensorError, forget, limits

DEFAULTS = {
    "high": 10, "low": 5,                    # NH3 ppm: cleaning alert / clear
    "h2s_high_ppb": 100, "h2s_low_ppb": 50,  # H2S
    "nh3_zero_mv": 400, "nh3_span_mv": 2000, "nh3_full_ppm": 100,
    "h2s_zero_mv": 400, "h2s_span_mv": 2000, "h2s_full_ppb": 2000,
    "full_mm": 40, "empty_mm": 160,          # consumables level geometry
    "consumables_low": 20, "consumables_ok": 40,
    "leak_mv": 1500,                         # probe below this: wet
    "report_s": 3600,
    "radar_ms": 400,                         # wait for a radar report
}


def curve(mv, zero_mv, span_mv, full):
    # Two-point calibration: zero_mv -> 0, span_mv -> full, linear, never negative.
    if mv <= zero_mv:
        return 0
    return (mv - zero_mv) * full // (span_mv - zero_mv)


class Sensors:
    # The door and the beams count by interrupt, so their counters are made at
    # boot; the radar, the gas ADC and the level sensor are made when read, and
    # only when the board names their bus. Under deep sleep (one read per boot)
    # each of those three lets its driver module go after its read, so they
    # never share the heap; light sleep keeps them (and the VL53L0X's calibration).
    def __init__(self, board, config):
        from sensors import hw
        self.board = board
        self.config = config
        self.deep = config.get("sleep") == "deep"
        self.radar = self.adc = self.tof = None
        self.uart = hw.uart(board, "presence_uart", 256000)
        self.bus = hw.i2c(board, "i2c0")
        self.door = self.people = self.leak = None
        door, door_high = hw.pin_in(board, "door_reed")
        outer, outer_high = hw.pin_in(board, "beam")
        inner, inner_high = hw.pin_in(board, "beam_inner")
        a = hw.adc(board, "leak_probe")
        self._done("sensors.hw")   # the buses and pins are made: the radar's read has its heap
        if door is None and (outer is None or inner is None) and a is None:
            return
        from sensors.digital import EdgeCounter, LeakProbe, PeopleCounter
        if door is not None:
            self.door = EdgeCounter(door, door_high, 1000)
        if outer is not None and inner is not None:
            self.people = PeopleCounter(outer, inner, outer_high)
        if a is not None:
            self.leak = LeakProbe(a)

    def _done(self, module):
        if self.deep:
            forget(module)

    def _presence(self, out, ms):
        r = self.radar
        if r is None:
            from sensors.ld2410 import LD2410
            r = LD2410(self.uart)
            if not self.deep:
                self.radar = r
        try:
            out["presence"] = r.read(ms)[0] != 0
        except SensorError as e:
            out["errors"].append(str(e))

    def _gas(self, out):
        adc = self.adc
        if adc is None:
            from sensors.ads1115 import ADS1115
            adc = ADS1115(self.bus)
            if not self.deep:
                self.adc = adc
        try:
            out["nh3_mv"] = int(adc.read_volts(0) * 1000)
            out["h2s_mv"] = int(adc.read_volts(1) * 1000)
        except SensorError as e:
            out["errors"].append(str(e))

    def _level(self, out):
        tof = self.tof
        if tof is None:
            from sensors.vl53l0x import VL53L0X
            tof = VL53L0X(self.bus)
            if not self.deep:
                self.tof = tof
        try:
            out["level_mm"] = tof.read_mm()
        except SensorError as e:
            out["errors"].append(str(e))

    async def read(self, progress):
        gc.collect()   # light sleep keeps one heap for days: start each wake clean
        radar_ms = limits(self.config, DEFAULTS)["radar_ms"]   # the one threshold read here: no dict kept
        out = {"battery": battery.battery_percent(battery.battery_mv(self.board)), "errors": []}
        if self.uart is not None:
            self._presence(out, radar_ms)
            self._done("sensors.ld2410")
            progress("radar")
        if self.door is not None:
            out["door_closed"] = self.door.active_now()
            self.door.take()
            if self.deep:
                self.door.arm_wake()
        if self.people is not None:
            out["people"] = self.people.take()[0]
        if self.bus is not None:
            self._gas(out)
            self._done("sensors.ads1115")
            self._level(out)
            self._done("sensors.vl53l0x")
        if self.leak is not None:
            out["leak_mv"] = int(self.leak.volts() * 1000)
        for e in out["errors"]:
            print("sensor error " + e)
        return out


class Profile:
    name = "smart_toilet"

    def __init__(self, config, saved=None):
        self.config = config
        s = saved if isinstance(saved, list) and len(saved) == 10 else \
            [False, 0, False, False, False, False, None, False, 0, -1]
        # occupied, people since report, cleaning alert on, consumables low,
        # leak, leak acknowledged, last report time, h2s alert on, uses total, battery
        self.occupied, self.people, self.dirty, self.low_stock, self.leak, self.leak_acked, \
            self.reported, self.h2s_dirty, self.uses, self.battery = s
        self.nh3 = self.h2s = 0
        self.level = None

    def save(self):
        return [self.occupied, self.people, self.dirty, self.low_stock, self.leak, self.leak_acked,
                self.reported, self.h2s_dirty, self.uses, self.battery]

    def _frame(self):
        return ("smart_toilet", {
            # the alarms bits
            "occupied": bool(self.occupied), "leak": bool(self.leak),
            "cleaning": bool(self.dirty or self.h2s_dirty), "consumables_low": bool(self.low_stock),
            "people": min(self.people, 255),
            "nh3": min(self.nh3, 255),
            "h2s": min(self.h2s, 255) / 100,
            "consumables": 100 if self.level is None else self.level,
            "battery": max(0, min(100, self.battery)),
        })

    def decide(self, readings, now_s):
        t = limits(self.config, DEFAULTS)
        self.battery = readings.get("battery", 0)
        urgent = ""
        # occupancy and usage
        occ = readings.get("presence")
        if occ is None:
            occ = readings.get("door_closed", self.occupied)
        if "people" in readings:
            self.people += readings["people"]
        elif occ and not self.occupied:
            self.people += 1
        self.occupied = occ
        # gas, with hysteresis
        dirty = self.dirty or self.h2s_dirty
        if "nh3_mv" in readings:
            self.nh3 = curve(readings["nh3_mv"], t["nh3_zero_mv"], t["nh3_span_mv"], t["nh3_full_ppm"])
            ppb = curve(readings["h2s_mv"], t["h2s_zero_mv"], t["h2s_span_mv"], t["h2s_full_ppb"])
            self.h2s = (ppb + 5) // 10                     # in 1/100 ppm, the frame's step
            if not self.dirty and self.nh3 >= t["high"]:
                self.dirty = True
                urgent += " nh3"
            elif self.dirty and self.nh3 <= t["low"]:
                self.dirty = False
            if not self.h2s_dirty and ppb >= t["h2s_high_ppb"]:
                self.h2s_dirty = True
                urgent += " h2s"
            elif self.h2s_dirty and ppb <= t["h2s_low_ppb"]:
                self.h2s_dirty = False
            if dirty and not (self.dirty or self.h2s_dirty):
                urgent += " cleaned"
        # consumables
        if "level_mm" in readings:
            mm = readings["level_mm"]
            span = t["empty_mm"] - t["full_mm"]
            if mm is None:
                mm = t["empty_mm"]                         # nothing in range: empty holder
            self.level = max(0, min(100, (t["empty_mm"] - mm) * 100 // span))
            if not self.low_stock and self.level <= t["consumables_low"]:
                self.low_stock = True
                urgent += " consumables"
            elif self.low_stock and self.level >= t["consumables_ok"]:
                self.low_stock = False
                urgent += " restocked"
        # leak: at once, and again each wake until acknowledged
        if "leak_mv" in readings:
            wet = readings["leak_mv"] < t["leak_mv"]
            if wet and not self.leak_acked:
                urgent += " leak"
            if not wet:
                self.leak_acked = False
            self.leak = wet
        if self.reported is None:
            self.reported = now_s
        due = now_s - self.reported >= t["report_s"]
        if urgent or due:
            frame = self._frame()
            print("smart_toilet:%s%s at %d" % (urgent, " report" if due else "", now_s))
            if due:
                self.reported = now_s - (now_s - self.reported) % t["report_s"]
                self.people = 0
            return [frame]
        return []

    def downlink(self, kind, fields):
        if kind == "alarm_ack" and fields.get("alarm") == "leak":
            self.leak_acked = True
        return []
