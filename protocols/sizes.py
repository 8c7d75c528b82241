# Worst-case frame sizes, computed from the schema's ranges rather than from
# samples: the largest CBOR encoding each field can take, summed. Used by the
# `cityfleet frame sizes` report, the tests that hold every uplink to the
# 11-byte AS923 DR2 dwell-time limit, and the firmware's checks.
from protocols import cbor
from protocols import frames
from protocols import schema as S


def int_size(n):
    """Bytes CBOR takes for the integer n (head included), in shortest form."""
    m = n if n >= 0 else -1 - n
    if m < 24:
        return 1
    if m < 0x100:
        return 2
    if m < 0x10000:
        return 3
    if m < 0x100000000:
        return 5
    return 9


def field_worst_bytes(f):
    """The most bytes one field of the schema can take on the air."""
    t = f[S.TYPE]
    if t == S.T_BOOL:
        return 1
    if t == S.T_BYTES:
        return int_size(f[S.EXTRA]) + f[S.EXTRA]
    return max(int_size(f[S.LO]), int_size(f[S.HI]))


def worst_case_bytes(kind, kinds=None):
    """The largest frame of this kind, in bytes, with every field present."""
    k = frames.kind_of(kind, kinds)
    fields = k[S.FIELDS]
    total = int_size(len(fields) + 1) + int_size(k[S.KIND_ID])
    for f in fields:
        total += field_worst_bytes(f)
    return total


def _extreme(f):
    # The on-air integer (or value) of the field that takes the most bytes.
    t = f[S.TYPE]
    if t == S.T_BOOL:
        return True
    if t == S.T_BYTES:
        return b"\xff" * f[S.EXTRA]
    return f[S.LO] if int_size(f[S.LO]) > int_size(f[S.HI]) else f[S.HI]


def worst_case_frame(kind, kinds=None):
    """Bytes of a frame of this kind with every field at its largest encoding."""
    k = frames.kind_of(kind, kinds)
    return cbor.dumps([k[S.KIND_ID]] + [_extreme(f) for f in k[S.FIELDS]])


def worst_case_values(kind, kinds=None):
    """The field values (SI units) of worst_case_frame, as decode gives them."""
    return frames.decode(worst_case_frame(kind, kinds), kinds)[1]


def json_bytes(kind, kinds=None):
    """Size of the same worst-case content as compact JSON ({"kind": ..., field: value, ...})."""
    import json
    values = worst_case_values(kind, kinds)
    doc = {"kind": kind}
    for name in values:
        v = values[name]
        doc[name] = v.hex() if isinstance(v, bytes) else v
    return len(json.dumps(doc, separators=(",", ":")))


def describe_field(f):
    """One line for a field: name, type, unit, step and valid range."""
    t = f[S.TYPE]
    name = f[S.NAME]
    opt = " (optional)" if f[S.FLAGS] & S.OPTIONAL else " (or null)" if f[S.FLAGS] & S.NULLABLE else ""
    if t == S.T_BOOL:
        return name + ": true/false" + opt
    if t == S.T_BITS:
        return name + ": flags " + ", ".join(["bit %d %s%s" % (i, n, " (optional)" if i >= f[S.ORIGIN] else "")
                                              for i, n in enumerate(f[S.EXTRA])]) + opt
    if t == S.T_ENUM:
        return name + ": one of " + ", ".join(f[S.EXTRA]) + opt
    if t == S.T_BYTES:
        return name + ": %d bytes" % f[S.EXTRA] + opt
    if t == S.T_VERSION:
        return name + ": version major.minor.patch (31.31.63 at most)" + opt
    step = frames.format_steps(1, f[S.NUM], f[S.DEN])
    if t == S.T_DELTA:
        ref, sign = f[S.EXTRA]
        return "%s: %s, steps of %s %s %s %s, 0..%s %s%s" % (
            name, f[S.UNIT], step, f[S.UNIT], "below" if sign < 0 else "above", ref,
            frames.format_steps(f[S.HI], f[S.NUM], f[S.DEN]), f[S.UNIT], opt)
    text = "%s: %s, step %s, %s" % (name, f[S.UNIT], step, frames.range_text(f))
    if f[S.ORIGIN]:
        text += ", sent as offset from " + frames.format_steps(f[S.ORIGIN], f[S.NUM], f[S.DEN])
    return text + opt


# CayenneLPP types used to carry the same content (ids from the IPSO/Cayenne table)
_LPP_DIGITAL = 0        # 1 byte
_LPP_ANALOG = 2         # 2 bytes, signed, 0.01
_LPP_GENERIC = 100      # 4 bytes, unsigned
_LPP_VOLTAGE = 116      # 2 bytes, 0.01 V
_LPP_PERCENT = 120      # 1 byte
_LPP_CONCENTRATION = 125  # 2 bytes, 1 ppm
_LPP_GPS = 136          # 9 bytes: latitude, longitude (1e-4 deg), altitude


def _lpp_item(f, value):
    # The smallest CayenneLPP type that carries this field's range and step.
    t = f[S.TYPE]
    if t in (S.T_BOOL, S.T_ENUM):
        return _LPP_DIGITAL, value if t == S.T_BOOL else f[S.EXTRA].index(value)
    if t == S.T_VERSION:
        a, b, c = [int(p) for p in value.split(".")]
        return _LPP_GENERIC, (a << 11) | (b << 6) | c
    if t == S.T_BYTES:
        return _LPP_GENERIC, int.from_bytes(value, "big")
    unit = f[S.UNIT]
    if unit == "%":
        return _LPP_PERCENT, value
    if unit == "mV":
        return _LPP_VOLTAGE, value / 1000
    if unit == "ppm" and f[S.NUM] >= f[S.DEN]:
        return _LPP_CONCENTRATION, value
    lo = (f[S.LO] + f[S.ORIGIN]) * f[S.NUM] / f[S.DEN]
    hi = (f[S.HI] + f[S.ORIGIN]) * f[S.NUM] / f[S.DEN]
    if t == S.T_NUM and f[S.NUM] * 100 >= f[S.DEN] and -327.68 <= lo and hi <= 327.67:
        return _LPP_ANALOG, value
    # Nothing smaller fits: whole steps (from the low end, so never negative), 4 bytes.
    steps = int(round(value * f[S.DEN] / f[S.NUM]))
    if t == S.T_NUM:
        steps -= f[S.LO] + f[S.ORIGIN]
    return _LPP_GENERIC, steps


def lpp_items(kind, values, kinds=None):
    """The CayenneLPP items (channel, type id, value) that carry the same content as a frame."""
    items = []
    position = []
    for f in frames.kind_of(kind, kinds)[S.FIELDS]:
        if f[S.UNIT] == "deg":
            position.append(values[f[S.NAME]] or 0.0)
            if len(position) == 2:
                items.append((len(items), _LPP_GPS, (position[0], position[1], 0.0)))
            continue
        if f[S.TYPE] == S.T_BITS:
            for name in f[S.EXTRA]:
                items.append((len(items), _LPP_DIGITAL, 1 if values[name] else 0))
            continue
        if values.get(f[S.NAME]) is None:
            continue
        type_id, value = _lpp_item(f, values[f[S.NAME]])
        items.append((len(items), type_id, value))
    return items


def cayennelpp_bytes(kind, kinds=None):
    """Size of the worst-case content of a kind when carried as CayenneLPP."""
    from protocols import lpp
    return len(lpp.encode(lpp_items(kind, worst_case_values(kind, kinds), kinds)))
