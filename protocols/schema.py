# The frame schemas: every message that crosses the air, defined once, read by
# the firmware (to encode uplinks and decode downlinks) and by the fleet (the
# reverse). protocols/frames.py is the codec that reads these tables.
#
# A frame is a CBOR array: [kind id, field 1, field 2, ...]. Each field is a
# scaled integer, a boolean, a small enumeration, bit flags or a short byte
# string, so any CBOR tool can read a frame and an ESP32 never needs a float.
#
# Sizes. The worst case in Hong Kong is AS923 at DR2 with dwell time: 11 bytes
# of application payload. Every uplink kind fits that at the extremes of its
# ranges (tests/test_frames.py proves it, `cityfleet frame sizes` shows it).
# That budget decides the scales below: battery in 5 % steps (one CBOR byte),
# positions as offsets from a Hong Kong origin (three bytes each), the pressure
# window as steps below and above the reading, and the device status split in
# two kinds (status and counters) because seven figures cannot share 9 bytes.
# Downlinks: the setting kind fits 11 bytes too (the fleet's way to change any
# interval or threshold); config (19) and ota_notice (15), from before this
# budget was applied to downlinks, do not, and keep their meaning.
#
# Evolution. A kind never changes what an existing position means. New fields
# are appended at the end, are optional, and have a default, so:
#   - a newer decoder reads an older frame: missing trailing fields take their
#     default (None unless stated);
#   - an older decoder reads a newer frame: it decodes the fields it knows and
#     ignores trailing ones it does not know (and unknown high bits in flags).
# Bits appended to a flags field are optional the same way: an encoder not
# given them sends them clear, and an older frame reads them as false (the
# device that sent it could not raise them).
# A change of scale, range or meaning is a new kind id, never an edit.
#
# What the profiles detect beyond their periodic readings (issue 6), and why
# it is carried the way it is:
#   - smart toilet: "cleaning" (NH3 or H2S over its threshold, with hysteresis)
#     and "consumables_low" are two bits appended to its alarms flags. Four
#     flags still take one CBOR byte (values up to 23), so the kind stays at 11
#     bytes; they are states, in every frame, so no acknowledgement is needed.
#   - water main: its frame is already 11 bytes at the extremes, so nothing
#     fits there. The minimum night flow is a daily figure with its own meaning
#     (the lowest flow of a night window, not a reading at a moment), so it is
#     a kind of its own, night_flow, which also says the window it was taken
#     over and on how many readings: the fleet compares nights only when they
#     are alike.
#   - a burst (and a leak the water main infers from its night flow) are
#     events to act on and acknowledge, not readings: the generic alarm kind
#     carries any of them by the same ALARMS names the alarm_ack downlink
#     acknowledges, so the fleet acknowledges exactly what it received and a
#     new alarm needs a new name, not a new kind. It says whether the alarm is
#     raised or over (the condition cleared on the device) and how many times
#     it was sent before (0 = new, so the fleet tells a new alarm from a repeat
#     of one not yet acknowledged). The reading behind an alarm goes in the
#     device's own kind beside it. The SOS, rodent burst and toilet leak
#     already had positions in their kinds, which keep their meaning.
#
# Each field is a plain tuple (cheap on a microcontroller heap):
#   (name, unit, type, num, den, lo, hi, origin, extra, flags)
# num/den is the step as an exact fraction (the on-air integer times num/den is
# the value in `unit`); lo/hi are the valid range as on-air integers after the
# origin is removed; extra depends on the type (names of enum values or flag
# bits, the referenced field of a delta, the length of a byte string). A flags
# field has no origin: that position holds how many of its leading bits an
# encoder must be given (the rest were appended later and default to clear).
#
# Heap. This module is the readable source: the builders below make every
# field tuple when it is imported, and what a module builds stays on the heap
# (KINDS about 15 KB, .mpy on the unix port). The same KINDS as one literal
# tuple of constants keeps 13 KB from ROMFS and 18 KB from littlefs: a .mpy's
# tuple constants are built on the heap when it loads, even from ROMFS, where
# bytecode and the contents of str and bytes constants stay in place. So a
# device never imports this module: protocols/schema_table.py, generated from
# it by
#     python -m protocols.schema --write-table
# holds the constants below and the same kinds as one byte string (about
# 3 KB, which a ROMFS image keeps in place), and protocols/frames.py reads one
# kind at a time out of it. tests/test_schema_table.py proves the two agree.
# Each kind is JSON there, not CBOR: MicroPython's json parser is C, so
# reading a kind costs no Python code, and a device that only encodes never
# loads the CBOR decoder (protocols/cbor_decoder.py).

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

# field tuple positions
NAME = const(0)
UNIT = const(1)
TYPE = const(2)
NUM = const(3)
DEN = const(4)
LO = const(5)
HI = const(6)
ORIGIN = const(7)
EXTRA = const(8)
FLAGS = const(9)

# field types
T_NUM = const(0)      # scaled integer
T_BOOL = const(1)     # CBOR true/false
T_ENUM = const(2)     # small integer that names one of EXTRA
T_BITS = const(3)     # unsigned integer whose bit i is the boolean EXTRA[i]
T_DELTA = const(4)    # scaled steps below (sign -1) or above (+1) field EXTRA[0]
T_BYTES = const(5)    # byte string of exactly EXTRA bytes
T_VERSION = const(6)  # "major.minor.patch" packed as major<<11 | minor<<6 | patch

# field flags
OPTIONAL = const(1)   # may be left out (trailing) or null; decodes as None
NULLABLE = const(2)   # required position, but may be null (e.g. no GNSS fix)

# kind tuple positions
KIND_ID = const(0)
KIND_NAME = const(1)
DIRECTION = const(2)
FIELDS = const(3)

UP = "up"
DOWN = "down"


def _fraction(text):
    # An exact decimal string as (numerator, denominator): "0.01" -> (1, 100).
    neg = text.startswith("-")
    if neg:
        text = text[1:]
    if "." in text:
        whole, frac = text.split(".")
        den = 10 ** len(frac)
        num = int(whole or "0") * den + int(frac)
    else:
        num, den = int(text), 1
    return (-num if neg else num), den


def _steps(value, num, den):
    # A decimal string in the field's unit as a whole number of steps.
    vn, vd = _fraction(value)
    top, bottom = vn * den, vd * num
    if top % bottom:
        raise ValueError("schema: %s is not a whole number of steps" % value)
    return top // bottom


def number(name, unit, step, lo, hi, origin="0", flags=0):
    """A scaled integer: value = (on-air integer + origin) * step, within lo..hi."""
    num, den = _fraction(step)
    o = _steps(origin, num, den)
    return (name, unit, T_NUM, num, den, _steps(lo, num, den) - o, _steps(hi, num, den) - o, o, None, flags)


def count(name, hi, flags=0):
    """A whole count from 0 to hi."""
    return (name, "", T_NUM, 1, 1, 0, hi, 0, None, flags)


def boolean(name, flags=0):
    """True or false, one CBOR byte."""
    return (name, "", T_BOOL, 1, 1, 0, 1, 0, None, flags)


def choice(name, names, flags=0):
    """One of names, sent as its index."""
    return (name, "", T_ENUM, 1, 1, 0, len(names) - 1, 0, tuple(names), flags)


def bits(name, names, flags=0, required=None):
    """Named booleans packed into one unsigned integer, bit 0 first.

    The first `required` bits (all by default) must be given to encode; bits
    after them were appended by a later schema and are clear when not given.
    """
    need = len(names) if required is None else required
    return (name, "", T_BITS, 1, 1, 0, (1 << len(names)) - 1, need, tuple(names), flags)


def delta(name, unit, step, ref, sign, hi, flags=0):
    """A value sent as whole steps below (sign -1) or above (+1) the field ref."""
    num, den = _fraction(step)
    return (name, unit, T_DELTA, num, den, 0, _steps(hi, num, den), 0, (ref, sign), flags)


def raw(name, length, flags=0):
    """A byte string of exactly length bytes."""
    return (name, "", T_BYTES, 1, 1, length, length, 0, length, flags)


def version(name, flags=0):
    """A firmware version "major.minor.patch" (0..31, 0..31, 0..63) in one 16-bit integer."""
    return (name, "", T_VERSION, 1, 1, 0, 0xFFFF, 0, None, flags)


def battery():
    # Every sensor uplink carries the battery in 5 % steps: one CBOR byte.
    # The status kind carries the exact voltage.
    return number("battery", "%", "5", "0", "100")


RESET_CAUSES = ("unknown", "power_on", "hard", "watchdog", "deep_sleep", "soft", "brownout", "panic")
ACK_RESULTS = ("ok", "rejected", "invalid", "busy")
# Alarm names, shared by the alarm uplink and the alarm_ack downlink. Append
# only: a device older than a name refuses an alarm_ack for it (out of range),
# which is right, since it cannot have raised it.
ALARMS = ("sos", "leak", "burst", "rodent_burst")
OTA_RESULTS = ("accepted", "downloading", "installed", "confirmed", "verify_failed", "rolled_back", "rejected")

# Hong Kong origin for positions: a 1e-5 degree offset of +-65535 fits three
# CBOR bytes, so 21.69..23.01 N and 113.49..114.81 E are covered, the whole
# territory and its waters with margin.
HK_LAT = "22.35"
HK_LON = "114.15"

KINDS = (
    # ---- uplinks: what sensors send
    (1, "parking_bay", UP, (
        boolean("occupied"),
        count("changes", 65535),
        battery(),
    )),
    (2, "rodent_station", UP, (
        count("activity", 65535),
        boolean("burst"),
        battery(),
    )),
    (3, "smart_toilet", UP, (
        bits("alarms", ("occupied", "leak", "cleaning", "consumables_low"), required=2),
        count("people", 255),
        number("nh3", "ppm", "1", "0", "255"),
        number("h2s", "ppm", "0.01", "0", "2.55"),
        number("consumables", "%", "5", "0", "100"),
        battery(),
    )),
    (4, "water_main", UP, (
        number("pressure", "kPa", "0.1", "0", "6553.5"),
        number("flow", "L/s", "0.01", "-655.36", "655.35"),
        delta("pressure_min", "kPa", "10", "pressure", -1, "230"),
        delta("pressure_max", "kPa", "10", "pressure", 1, "230"),
        battery(),
    )),
    (5, "hiker_tracker", UP, (
        number("latitude", "deg", "0.00001", "21.69464", "23.00535", HK_LAT, NULLABLE),
        number("longitude", "deg", "0.00001", "113.49464", "114.80535", HK_LON, NULLABLE),
        choice("fix", ("none", "gps", "dgps", "pps", "rtk", "float_rtk", "estimated", "manual", "simulation")),
        boolean("sos"),
        battery(),
    )),
    (6, "status", UP, (
        version("firmware"),
        number("battery_mv", "mV", "20", "0", "5100"),
        choice("reset_cause", RESET_CAUSES),
        number("uptime", "s", "3600", "0", "235926000"),
    )),
    (7, "counters", UP, (
        count("boot_count", 65535),
        count("queue_depth", 65535),
        count("dropped", 65535),
    )),
    (8, "config_ack", UP, (
        count("seq", 255),
        choice("result", ACK_RESULTS),
    )),
    (9, "ota_ack", UP, (
        count("release", 65535),
        choice("result", OTA_RESULTS),
    )),
    # The lowest flow of one night's window (local time, whole 15 minutes), over
    # `samples` readings: the leak indicator, sent once a day after the window.
    (10, "night_flow", UP, (
        number("flow", "L/s", "0.01", "-655.36", "655.35"),
        number("start", "min", "15", "0", "1425"),
        number("duration", "min", "15", "0", "345"),
        count("samples", 255),
        battery(),
    )),
    # An alarm raised (active) or over (not active) on the device, by the names
    # alarm_ack acknowledges; repeat counts the sends of it before this one.
    (11, "alarm", UP, (
        choice("alarm", ALARMS),
        boolean("active"),
        count("repeat", 255),
        battery(),
    )),
    # ---- downlinks: what the fleet sends
    (16, "config", DOWN, (
        count("seq", 255),
        number("interval", "s", "1", "10", "86400", "0", OPTIONAL),
        number("threshold_high", "", "1", "-2147483648", "2147483647", "0", OPTIONAL),
        number("threshold_low", "", "1", "-2147483648", "2147483647", "0", OPTIONAL),
    )),
    (17, "time_sync", DOWN, (
        number("time", "s", "1", "0", "4294967295"),
    )),
    (18, "ota_notice", DOWN, (
        count("release", 65535),
        number("size", "B", "1", "0", "16777215"),
        raw("hash_prefix", 4),
    )),
    (19, "reboot", DOWN, (
        number("delay", "s", "1", "0", "3600", "0", OPTIONAL),
    )),
    (20, "status_request", DOWN, ()),
    (21, "alarm_ack", DOWN, (
        choice("alarm", ALARMS),
    )),
    # One setting (an interval or a threshold) to a whole number, answered by
    # config_ack with the same seq. `setting` is an index into the one
    # append-only table of setting names, protocols/setting_names.py NAMES;
    # the table lives there, not here, because a device reads this schema
    # (as protocols/schema_table.py) at every wake and needs the names only
    # when a setting downlink arrives
    # (setting_names.py says what they cost). An index beyond the device's
    # table (a name newer than its firmware) still decodes, and is answered
    # "invalid" with its seq.
    # The config kind carries only the main pair and is 19 bytes at its
    # extremes; this one is 11 (1 array + 1 id + 2 seq + 2 setting + 5 value),
    # the AS923 DR2 dwell limit, so the fleet sends one per setting.
    (22, "setting", DOWN, (
        count("seq", 255),
        count("setting", 255),
        number("value", "", "1", "-2147483648", "2147483647"),
    )),
)


# ---- the generated table (CPython only: python -m protocols.schema --write-table)

_TABLE_CONSTANTS = ("NAME", "UNIT", "TYPE", "NUM", "DEN", "LO", "HI", "ORIGIN", "EXTRA", "FLAGS",
                    "T_NUM", "T_BOOL", "T_ENUM", "T_BITS", "T_DELTA", "T_BYTES", "T_VERSION",
                    "OPTIONAL", "NULLABLE", "KIND_ID", "KIND_NAME", "DIRECTION", "FIELDS")


def table_bytes(kinds=None):
    """KINDS as protocols/schema_table.py's TABLE: a count byte, an index of
    (id byte, name length byte, name, 2-byte big-endian offset) per kind, then
    each kind as compact JSON (an array: id, name, direction, fields) at its
    offset, ended by a newline (JSON text never holds a raw one)."""
    import json
    kinds = KINDS if kinds is None else kinds
    index_size = 1 + sum(4 + len(k[KIND_NAME].encode()) for k in kinds)
    index, records = bytearray([len(kinds)]), bytearray()
    for k in kinds:
        name = k[KIND_NAME].encode()
        offset = index_size + len(records)
        if not (0 <= k[KIND_ID] < 256 and len(name) < 256 and offset < 65536):
            raise ValueError("schema: kind %s does not fit the table's index" % k[KIND_NAME])
        index += bytes([k[KIND_ID], len(name)]) + name + offset.to_bytes(2, "big")
        records += json.dumps(k, separators=(",", ":")).encode() + b"\n"
    return bytes(index + records)


def table_source():
    """The text of protocols/schema_table.py, generated from this module."""
    lines = ["# GENERATED from protocols/schema.py by `python -m protocols.schema --write-table`:",
             "# do not edit. The frame kinds as one byte string that protocols/frames.py",
             "# reads one kind at a time, so a device spends almost no heap on the schema",
             "# (schema.py says why; table_bytes() there gives the layout).",
             "try:",
             "    from micropython import const",
             "except ImportError:",
             "    def const(x):",
             "        return x",
             ""]
    g = globals()
    lines += ["%s = const(%d)" % (n, g[n]) for n in _TABLE_CONSTANTS]
    lines += ["UP = %r" % UP, "DOWN = %r" % DOWN, "", "TABLE = ("]
    data = table_bytes()
    lines += ["    %r" % data[i:i + 32] for i in range(0, len(data), 32)]
    lines += [")", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    import sys
    if sys.argv[1:] != ["--write-table"]:
        sys.exit("usage: python -m protocols.schema --write-table")
    with open(__file__[:-len("schema.py")] + "schema_table.py", "w") as f:   # beside this file
        f.write(table_source())
