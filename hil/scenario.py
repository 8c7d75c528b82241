"""Scenario files: the physical world around a virtual board, over virtual time.

A scenario is JSON:

    {
      "seed": 7,                              # every random model draws from it
      "start": "2025-03-03T07:55:00",         # virtual clock at first power-on (UTC)
      "rtc_at_power_on": "world",             # or "epoch": RTC reads 2000-01-01 after a power-on
      "realtime_ms": 10,                      # sleeps up to this run in real time
      "pins": {"sos_button": {"initial": 1, "timeline": [
                   {"at": "08:00", "level": 0}, {"at": "08:00:02", "level": 1}]}},
      "adc": {"batt_adc": {"initial": 1.9, "noise": 0.002, "timeline": [
                   {"at": "+6h", "volts": 1.7, "ramp": true}]}},
      "i2c": {"i2c0": [{"model": "regmap", "address": 30, "registers": {"0x0d": "ff"}}]}
    }

Times: "+90s", "+15m", "+2h", "+1d" (after start), "HH:MM[:SS]" (that time of
day, on the start day or later: day N with "d2 08:00"), or an ISO date-time.
Pins and ADC channels are named as in the board file, or "gpio12". `normalise`
turns all of it into absolute virtual milliseconds since 2000-01-01 for the VM.
"""
import json
import re
from datetime import datetime, timezone
from pathlib import Path

from hil import boards

EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


class ScenarioError(Exception):
    """The scenario file is not valid"""


def _ms(dt):
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int((dt - EPOCH).total_seconds() * 1000)


_UNITS = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000}


def parse_time(value, start_ms):
    """Absolute virtual ms of a scenario time."""
    if isinstance(value, (int, float)):
        return start_ms + int(value * 1000)  # seconds after start
    s = str(value).strip()
    m = re.fullmatch(r"\+(\d+(?:\.\d+)?)(ms|s|m|h|d)", s)
    if m:
        return start_ms + int(float(m.group(1)) * _UNITS[m.group(2)])
    m = re.fullmatch(r"(?:d(\d+)\s+)?(\d{1,2}):(\d{2})(?::(\d{2}))?", s)
    if m:
        day = int(m.group(1) or 0)
        tod = (int(m.group(2)) * 3600 + int(m.group(3)) * 60 + int(m.group(4) or 0)) * 1000
        midnight = start_ms - start_ms % 86400000
        t = midnight + day * 86400000 + tod
        if m.group(1) is None and t < start_ms:
            t += 86400000
        return t
    try:
        return _ms(datetime.fromisoformat(s))
    except ValueError:
        raise ScenarioError("cannot read time %r" % value) from None


def load(path_or_dict):
    if path_or_dict is None:
        return {}
    if isinstance(path_or_dict, dict):
        return path_or_dict
    return json.loads(Path(path_or_dict).read_text())


def start_ms(scn):
    if scn.get("start"):
        try:
            return _ms(datetime.fromisoformat(str(scn["start"])))
        except ValueError:
            raise ScenarioError("cannot read start %r" % scn["start"]) from None
    return 0


def normalise(scn, board):
    """The VM's view of the scenario: gpio numbers and absolute ms."""
    t0 = start_ms(scn)
    out = {"seed": int(scn.get("seed", 0)), "pins": {}, "adc": {}, "i2c": {}}
    for name, spec in scn.get("pins", {}).items():
        g = boards.pin_gpio(board, name)
        points = sorted([parse_time(p["at"], t0), 1 if p.get("level", p.get("value")) else 0]
                        for p in spec.get("timeline", []))
        initial = spec.get("initial")
        out["pins"][str(g)] = {"initial": None if initial is None else (1 if initial else 0), "points": points}
    for name, spec in scn.get("adc", {}).items():
        g = boards.pin_gpio(board, name)
        points = sorted([parse_time(p["at"], t0), float(p["volts"]), 1 if p.get("ramp") else 0]
                        for p in spec.get("timeline", []))
        # the initial value holds from the start, so a first ramp starts there
        points.insert(0, [t0, float(spec.get("initial", 0.0)), 0])
        out["adc"][str(g)] = {"initial": float(spec.get("initial", 0.0)), "points": points,
                              "noise": float(spec.get("noise", 0.0))}
    i2c_buses = boards.buses(board, "i2c")
    # The board file may name chips every virtual copy of it carries (the
    # T-Beam's AXP192); a scenario's own list for a bus replaces them.
    i2c = dict(board.get("virtual", {}).get("i2c", {}), **scn.get("i2c", {}))
    for bus, devices in i2c.items():
        key = bus if bus in i2c_buses else None
        if key is None:
            for n, b in i2c_buses.items():
                if str(b.get("id")) == str(bus):
                    key = n
        if key is None:
            raise ScenarioError("board has no I2C bus %r" % bus)
        specs = []
        for d in devices:
            d = dict(d)
            if "timeline" in d:
                d["timeline"] = sorted(
                    (dict(p, at=parse_time(p["at"], t0)) for p in d["timeline"]), key=lambda p: p["at"])
            if "tracks" in d:
                d["tracks"] = {k: {"initial": v.get("initial"),
                                   "points": [[t0, v.get("initial"), 0]] + sorted(
                                       [parse_time(p["at"], t0), p["value"], 1 if p.get("ramp") else 0]
                                       for p in v.get("timeline", []))}
                               for k, v in d["tracks"].items()}
            specs.append(d)
        out["i2c"][key] = specs
    return out
