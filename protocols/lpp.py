# Cayenne Low Power Payload (LPP): the yardstick our frames are measured
# against. Each item is [channel][type][value bytes, big-endian], and the type
# alone fixes the length, so the size of an LPP payload follows from its types.
#
# The types are one data table (TYPES) read by encode, decode and size. Ids,
# widths, signedness and multipliers are those of ElectronicCats/CayenneLPP
# (src/CayenneLPP.h): the IPSO-based LPPv1 types plus that library's additions.
# Names are the ones its decoder prints (getTypeName), so a decoded item reads
# the same here as in its JSON.
#
# Runs unchanged on MicroPython (an ESP32) and CPython. Unlike the C library,
# which truncates a float product and writes the absolute value of a negative
# number into an unsigned type, encode rounds half away from zero and refuses
# any value the type cannot hold: nothing is clamped or wrapped.
import struct

from protocols.scaling import decimal_text, round_float

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

# Columns of a TYPES row.
ID = const(0)       # type byte on the wire
NAME = const(1)     # name used by encode and returned by decode
WIDTH = const(2)    # bytes per value
SIGNED = const(3)   # two's complement when True
MULTS = const(4)    # one multiplier per value: wire integer = value * multiplier;
                    # len(MULTS) is the number of values (3 for GPS, xyz, rgb)

_HEADER = const(2)  # channel byte + type byte

TYPES = (
    # LPPv1 (IPSO object id - 3200)
    (0, "digital_in", 1, False, (1,)),
    (1, "digital_out", 1, False, (1,)),
    (2, "analog_in", 2, True, (100,)),
    (3, "analog_out", 2, True, (100,)),
    (101, "luminosity", 2, False, (1,)),            # lux
    (102, "presence", 1, False, (1,)),
    (103, "temperature", 2, True, (10,)),           # 0.1 degC
    (104, "humidity", 1, False, (2,)),              # 0.5 %RH
    (113, "accelerometer", 2, True, (1000, 1000, 1000)),    # x, y, z in 0.001 G
    (115, "pressure", 2, False, (10,)),             # barometer, 0.1 hPa
    (134, "gyrometer", 2, True, (100, 100, 100)),   # x, y, z in 0.01 deg/s
    (136, "gps", 3, True, (10000, 10000, 100)),     # lat, lon 0.0001 deg; alt 0.01 m
    # ElectronicCats additions
    (100, "generic", 4, False, (1,)),
    (116, "voltage", 2, False, (100,)),             # 0.01 V
    (117, "current", 2, False, (1000,)),            # 0.001 A
    (118, "frequency", 4, False, (1,)),             # Hz
    (120, "percentage", 1, False, (1,)),
    (121, "altitude", 2, True, (1,)),               # m
    (125, "concentration", 2, False, (1,)),         # ppm
    (128, "power", 2, False, (1,)),                 # W
    (130, "distance", 4, False, (1000,)),           # 0.001 m
    (131, "energy", 4, False, (1000,)),             # 0.001 kWh
    (132, "direction", 2, False, (1,)),             # deg
    (133, "time", 4, False, (1,)),                  # unix time, s
    (135, "colour", 1, False, (1, 1, 1)),           # r, g, b
    (142, "switch", 1, False, (1,)),
)

# struct formats for the widths struct has; 3-byte values go through 4 bytes.
_FORMATS = {1: ">b", 2: ">h", 4: ">i"}


def _lookup(type_):
    # The TYPES row for a type name or id.
    if isinstance(type_, str):
        for t in TYPES:
            if t[NAME] == type_:
                return t
    elif isinstance(type_, int) and not isinstance(type_, bool):
        for t in TYPES:
            if t[ID] == type_:
                return t
    raise ValueError("unknown LPP type %r" % (type_,))


def type_of(type_):
    """The TYPES row (id, name, width, signed, multipliers) for a type name or id."""
    return _lookup(type_)


def size(type_):
    """Bytes one item of the type (name or id) takes, including its 2-byte channel+type header."""
    t = _lookup(type_)
    return _HEADER + t[WIDTH] * len(t[MULTS])


def _limits(t):
    # The smallest and largest wire integers of one value of type row t.
    bits = 8 * t[WIDTH]
    if t[SIGNED]:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def _text(steps, mult):
    # steps / mult as an exact decimal string (every multiplier divides a
    # power of ten), for error messages that must not depend on float printing.
    scale = 1
    while scale % mult:
        scale *= 10
    return decimal_text(steps * (scale // mult), scale)


def _steps(value, mult):
    # value * mult as an integer, rounded half away from zero. An int is scaled
    # exactly. A float is multiplied once (one rounding, in whatever precision
    # the board has) and then rounded without int(x + 0.5): in single precision
    # x + 0.5 is itself rounded once x passes 2**23 and can land wrong.
    if isinstance(value, bool) or isinstance(value, int):
        return int(value) * mult
    if not isinstance(value, float):
        raise TypeError
    return round_float(value * mult)


def _pack_value(out, t, index, value):
    # Append one value (index of len(MULTS)) of type row t to the bytearray out.
    mult = t[MULTS][index]
    label = t[NAME] if len(t[MULTS]) == 1 else "%s value %d" % (t[NAME], index + 1)
    try:
        n = _steps(value, mult)
    except TypeError:
        raise ValueError("%s: %r is not a number" % (label, value))
    except ValueError:
        raise ValueError("%s: %r is not a finite number" % (label, value))
    lo, hi = _limits(t)
    if n < lo or n > hi:
        raise ValueError("%s: %r is outside %s..%s" % (label, value, _text(lo, mult), _text(hi, mult)))
    width = t[WIDTH]
    if not t[SIGNED] and n >= 1 << (8 * width - 1):
        n -= 1 << (8 * width)   # same bits, in the signed format's range
    if width == 3:
        out.extend(struct.pack(">i", n)[1:])
    else:
        out.extend(struct.pack(_FORMATS[width], n))


def encode(items):
    """Encode a list of (channel, type name or id, value) items as LPP bytes.

    value is a number, or a tuple/list of numbers for multi-value types:
    gps (latitude, longitude, altitude), accelerometer and gyrometer (x, y, z),
    colour (r, g, b). Numbers are scaled by the type's multiplier and rounded
    half away from zero. A channel outside 0..255, an unknown type, a value of
    the wrong shape, or a value the type cannot hold raises ValueError naming
    the type; nothing is clamped or wrapped.
    """
    out = bytearray()
    for item in items:
        if not isinstance(item, (tuple, list)) or len(item) != 3:
            raise ValueError("an LPP item is (channel, type, value), not %r" % (item,))
        channel, type_, value = item
        t = _lookup(type_)
        if isinstance(channel, bool) or not isinstance(channel, int) or not 0 <= channel <= 255:
            raise ValueError("%s: channel %r is not 0..255" % (t[NAME], channel))
        out.append(channel)
        out.append(t[ID])
        count = len(t[MULTS])
        if count == 1:
            _pack_value(out, t, 0, value)
        else:
            if not isinstance(value, (tuple, list)) or len(value) != count:
                raise ValueError("%s: needs %d values, not %r" % (t[NAME], count, value))
            for i in range(count):
                _pack_value(out, t, i, value[i])
    return bytes(out)


def _unpack_value(data, offset, t, index):
    # One value of type row t read at offset, in the type's unit.
    width = t[WIDTH]
    if width == 3:
        n = struct.unpack(">i", b"\x00" + bytes(data[offset:offset + 3]))[0]
        if t[SIGNED] and n >= 0x800000:
            n -= 0x1000000
    else:
        n = struct.unpack_from(_FORMATS[width], data, offset)[0]
        if not t[SIGNED] and n < 0:
            n += 1 << (8 * width)
    mult = t[MULTS][index]
    if mult == 1:
        return n
    return n / mult


def decode(data):
    """Decode LPP bytes into a list of (channel, type name, value) items.

    value is an int for types with multiplier 1, a float otherwise, and a
    tuple for multi-value types (see encode). An unknown type id raises
    ValueError giving its offset; so does an item cut short by the end of the
    data (the C library silently drops a trailing 1 or 2 bytes; this does not).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError("LPP data must be bytes")
    items = []
    offset = 0
    end = len(data)
    while offset < end:
        if offset + _HEADER > end:
            raise ValueError("LPP item at offset %d is cut short: no type byte" % offset)
        channel = data[offset]
        type_id = data[offset + 1]
        t = None
        for row in TYPES:
            if row[ID] == type_id:
                t = row
                break
        if t is None:
            raise ValueError("unknown LPP type %d at offset %d" % (type_id, offset + 1))
        count = len(t[MULTS])
        start = offset + _HEADER
        if start + t[WIDTH] * count > end:
            raise ValueError("LPP %s at offset %d is cut short: needs %d bytes, has %d"
                             % (t[NAME], offset, _HEADER + t[WIDTH] * count, end - offset))
        if count == 1:
            value = _unpack_value(data, start, t, 0)
        else:
            value = tuple([_unpack_value(data, start + i * t[WIDTH], t, i) for i in range(count)])
        items.append((channel, t[NAME], value))
        offset = start + t[WIDTH] * count
    return items
