# Water main: pressure and flow of a district meter point.
#
# Sensors: a 4-20 mA pressure transducer across a 150 ohm shunt into an
# ADS1115 on i2c0 (sensors/pressure.py, sensors/ads1115.py), the
# electromagnetic flow meter over Modbus RTU on the rs485 bus
# (sensors/flowmeter.py, radio/modbus.py), the battery through the ADC.
# Each wake samples the pressure fast for a short window (window_s at
# sample_ms) to catch transients, then reads the flow once.
#
# Profile decisions, each wake (config["interval"] apart):
#   - periodic: a water_main frame every report_every_s, with the window
#     pressure (mean), the flow, and the lowest and highest pressure seen in
#     every window since the last frame (the frame sends them as whole 10 kPa
#     steps below/above the pressure, rounded outward, at most 230 kPa away);
#   - transient: a window whose max - min reaches transient_kpa is sent at once;
#   - burst: the pressure fell by burst_drop_kpa or more since the last wake
#     while the flow rose by burst_flow_cls (0.01 L/s) or more: an alarm frame
#     ("burst", active) at once with the water_main frame of that wake, then
#     the alarm frame again at every wake (its repeat counting up) until an
#     alarm_ack for "burst" arrives, as the hiker's SOS; when the pressure
#     recovers to within half the drop of where it was, one alarm frame says
#     the burst is over (active false), acknowledged or not;
#   - minimum night flow: between 02:00 and 04:00 local time (tz_offset_min
#     east of UTC, Hong Kong's 480 by default) the lowest flow of the wakes is
#     kept; at the first wake after 04:00 a night_flow frame carries it, with
#     the window (in whole 15 minutes) and the number of readings it is the
#     lowest of. A rising night flow is the leak indicator (the fleet charts
#     and compares nights);
#   - leak: with leak_night_cls set (0.01 L/s; 0, the default, is off, since
#     what a district's nights bottom out at is known only there), a night
#     whose minimum reaches it raises an alarm frame ("leak", active) beside
#     its night_flow frame, again after each such night until an alarm_ack for
#     "leak" (a daily figure repeats daily); a night below it ends the alarm
#     (active false).
# Thresholds (config["thresholds"], integers; defaults below). A config
# downlink's threshold_high sets burst_flow_cls and threshold_low sets
# burst_drop_kpa (the burst pair): the runtime stores them as thresholds
# "high" and "low", read at every decision.
import time

import machine

from runtime import board as boardfile
from runtime import battery
from runtime.profile import thresholds as profile_thresholds
from sensors import forget

DEFAULTS = {
    "report_every_s": 900,     # periodic frame
    "window_s": 5,             # fast sampling window per wake
    "sample_ms": 50,           # pressure sample period in the window
    "transient_kpa": 150,      # window swing (max - min) sent at once
    "burst_drop_kpa": 100,     # pressure drop since the last wake ...
    "burst_flow_cls": 500,     # ... with a flow rise (0.01 L/s) = burst
    "night_start_min": 120,    # 02:00 local
    "night_end_min": 240,      # 04:00 local
    "tz_offset_min": 480,      # Hong Kong, UTC+8
    "leak_night_cls": 0,       # night minimum (0.01 L/s) that raises a leak alarm; 0: off
    "shunt_ohm": 150,
    "range_kpa": 1600,         # the transducer's 20 mA pressure (4 mA is 0)
    "pressure_channel": 0,     # ADS1115 input
    "adc_address": 0x48,
    "meter_unit": 1,           # Modbus address of the flow meter
}


def thresholds(config):
    # config downlink: threshold_high is burst_flow_cls, threshold_low burst_drop_kpa
    return profile_thresholds(config, DEFAULTS, "burst_flow_cls", "burst_drop_kpa")


class Sensors:
    # The drivers are made when read. Under deep sleep (one read per boot) the
    # pressure's drivers let their modules go before the flow meter's are
    # imported, and those go before the frames are encoded and sent; light
    # sleep keeps both between wakes.
    def __init__(self, board, config):
        self.board = board
        self.t = thresholds(config)
        self.deep = config.get("sleep") == "deep"
        self.pressure = None
        self.meter = None
        self.errors = []
        self.has_i2c = boardfile.bus(board, "i2c0") is not None
        if not self.has_i2c:
            self.errors.append("no i2c0 bus")
        if boardfile.bus(board, "rs485") is None:   # pressure only
            self.errors.append("flow meter: board has no rs485 bus")
            self.meter = False

    def _transducer(self):
        t = self.t
        spec = boardfile.bus(self.board, "i2c0")
        from sensors.ads1115 import ADS1115
        from sensors.pressure import PressureTransducer
        i2c = machine.I2C(spec["id"], scl=machine.Pin(spec["scl"]), sda=machine.Pin(spec["sda"]),
                          freq=spec.get("freq", 400000))
        adc = ADS1115(i2c, address=t["adc_address"], rate=860)
        return PressureTransducer(adc, channel=t["pressure_channel"], shunt_ohm=t["shunt_ohm"],
                                  low_kpa=0.0, high_kpa=t["range_kpa"])

    def _flow(self):
        meter = self.meter
        if meter is None:
            from radio.modbus import open_bus
            from sensors.flowmeter import FlowMeter
            meter = FlowMeter(open_bus(self.board, timeout_ms=500, retries=2), self.t["meter_unit"])
            if not self.deep:
                self.meter = meter
        return meter.read()["flow"]

    async def _window(self, progress):
        # (mean, min, max) kPa over the window; raises the first sensor error.
        from runtime.tasks import sleep_ms
        n = 0
        total = 0.0
        lo = hi = None
        sensor = self.pressure
        if sensor is None:
            sensor = self._transducer()
            if not self.deep:
                self.pressure = sensor
        samples = max(1, self.t["window_s"] * 1000 // max(self.t["sample_ms"], 1))
        for i in range(samples):
            p = sensor.read_kpa()
            n += 1
            total += p
            lo = p if lo is None or p < lo else lo
            hi = p if hi is None or p > hi else hi
            progress("pressure")
            if i + 1 < samples:
                await sleep_ms(self.t["sample_ms"])
        return total / n, lo, hi

    async def read(self, progress):
        out = {"battery_mv": battery.battery_mv(self.board), "pressure": None, "pressure_min": None,
               "pressure_max": None, "flow": None, "errors": list(self.errors)}
        if self.has_i2c:
            try:
                out["pressure"], out["pressure_min"], out["pressure_max"] = await self._window(progress)
            except MemoryError:   # not a sensor fault: the wake fails and says so
                raise
            except Exception as e:   # LoopError, SensorError
                out["errors"].append(str(e))
            if self.deep:
                forget("sensors.pressure")
                forget("sensors.ads1115")
        if self.meter is not False:
            progress("flow")
            try:
                out["flow"] = self._flow()
            except MemoryError:   # not a sensor fault: the wake fails and says so
                raise
            except Exception as e:   # no rs485 UART, ModbusError and friends
                out["errors"].append("flow meter: %s" % (e,))
            if self.deep:
                forget("sensors.flowmeter")
                forget("radio.modbus")
        for e in out["errors"]:
            print("sensor error " + e)
        if out["pressure"] is not None and out["flow"] is not None:
            print("water %d p %.1f min %.1f max %.1f flow %.2f" % (
                time.time(), out["pressure"], out["pressure_min"], out["pressure_max"], out["flow"]))
        else:
            print("water %d no reading" % time.time())
        return out


_SPAN = 2300   # 230 kPa in 0.1 kPa: the water_main frame's widest pressure_min/max


def _dk(kpa):
    return int(kpa * 10 + 0.5)          # kPa -> 0.1 kPa, the frame's step


def _cl(lps):
    return int(lps * 100 + (0.5 if lps >= 0 else -0.5))   # L/s -> 0.01 L/s


class Profile:
    name = "water_main"

    def __init__(self, config, saved=None):
        self.config = config
        self.t = thresholds(config)
        s = saved if isinstance(saved, dict) else {}
        self.last = s.get("ls")        # time of the last periodic frame
        self.prev = s.get("pv")        # [pressure dk, flow cl] of the last wake
        self.lo = s.get("lo")          # lowest / highest pressure (dk) since the last frame
        self.hi = s.get("hi")
        self.night = s.get("n")        # [day, min flow cl, readings] or None
        self.burst = s.get("b")        # [pressure dk before the burst, acknowledged, sends] or None
        self.leak = s.get("k")         # [sends, acknowledged] while a night-flow leak is raised, or None
        # state saved by the firmware before alarm frames: a night of another shape is dropped
        if self.night is not None and len(self.night) != 3:
            self.night = None
        if self.burst is not None and len(self.burst) == 2:
            self.burst.append(1)

    def save(self):
        return {"ls": self.last, "pv": self.prev, "lo": self.lo, "hi": self.hi, "n": self.night,
                "b": self.burst, "k": self.leak}

    def _frame(self, p, flow, lo, hi, mv):
        # The frame carries the extremes as up to 230 kPa below/above the
        # pressure: a wider swing is sent as 230 kPa (saturated).
        lo = max(min(lo, p), p - _SPAN)
        hi = min(max(hi, p), p + _SPAN)
        return ("water_main", {"pressure": p / 10, "flow": flow / 100, "pressure_min": lo / 10,
                               "pressure_max": hi / 10, "battery": battery.battery_percent(mv)})

    def _alarm(self, name, active, sends, mv):
        return ("alarm", {"alarm": name, "active": active, "repeat": min(sends, 255),
                          "battery": battery.battery_percent(mv)})

    def _night_frame(self, n, mv, t):
        # In whole steps of 15 minutes, rounded outward: the start down, the end up.
        start = t["night_start_min"] // 15
        span = max(0, (t["night_end_min"] + 14) // 15 - start)
        return ("night_flow", {"flow": n[1], "start": start, "duration": min(span, 23),
                               "samples": min(n[2], 255), "battery": (battery.battery_percent(mv) + 2) // 5}, True)

    def _leak(self, night_min, mv, t):
        # The night-flow leak alarm: raised after each night at or above the limit until acknowledged.
        k = self.leak
        limit = t["leak_night_cls"]
        if limit and night_min >= limit:
            if k is None:
                k = self.leak = [0, False]
                print("water: leak (night flow %d cL/s)" % night_min)
            if k[1]:
                return []
            k[0] += 1
            return [self._alarm("leak", True, k[0] - 1, mv)]
        if k is None:
            return []
        self.leak = None
        return [self._alarm("leak", False, k[0], mv)]

    def _burst(self, prev, p, flow, mv, t):
        # (alarm frames, whether this wake's reading goes at once) for a burst main.
        b = self.burst
        drop = t["burst_drop_kpa"] * 10
        if prev is not None and b is None and prev[0] - p >= drop and flow - prev[1] >= t["burst_flow_cls"]:
            b = self.burst = [prev[0], False, 0]
            print("water: burst (pressure %d -> %d dkPa, flow %d -> %d cL/s)" % (prev[0], p, prev[1], flow))
        if b is None:
            return [], False
        if p >= b[0] - drop // 2:
            self.burst = None
            print("water: burst over")
            return [self._alarm("burst", False, b[2], mv)], False
        if b[1]:
            return [], False
        b[2] += 1
        return [self._alarm("burst", True, b[2] - 1, mv)], b[2] == 1

    def decide(self, readings, now_s):
        self.t = t = thresholds(self.config)
        r = readings
        if r.get("pressure") is None or r.get("flow") is None:
            return []
        p, flow = _dk(r["pressure"]), _cl(r["flow"])
        wlo, whi = _dk(r["pressure_min"]), _dk(r["pressure_max"])
        mv = r.get("battery_mv", 0)
        self.lo = wlo if self.lo is None else min(self.lo, wlo)
        self.hi = whi if self.hi is None else max(self.hi, whi)
        out = []
        # night window, local time
        local_min = ((now_s // 60) + t["tz_offset_min"]) % 1440
        day = ((now_s // 60) + t["tz_offset_min"]) // 1440
        if t["night_start_min"] <= local_min < t["night_end_min"]:
            n = self.night
            if n is None or n[0] != day:
                self.night = [day, flow, 1]
            else:
                n[1] = min(n[1], flow)
                n[2] += 1
        elif self.night is not None:
            n = self.night
            self.night = None
            out.append(self._night_frame(n, mv, t))
            out += self._leak(n[1], mv, t)
        # burst: a sudden drop with rising flow, latched until recovery or ack
        prev = self.prev
        self.prev = [p, flow]
        alarms, event = self._burst(prev, p, flow, mv, t)
        out += alarms
        if whi - wlo >= t["transient_kpa"] * 10:
            event = True
        if event or self.last is None or now_s - self.last >= t["report_every_s"] - min(t["report_every_s"] // 8, 30):
            out.append(self._frame(p, flow, self.lo, self.hi, mv))
            self.last = now_s
            self.lo = self.hi = None
        return out

    def downlink(self, kind, fields):
        if kind == "alarm_ack" and fields.get("alarm") == "burst" and self.burst is not None:
            self.burst[1] = True
        if kind == "alarm_ack" and fields.get("alarm") == "leak" and self.leak is not None:
            self.leak[1] = True
        return []
