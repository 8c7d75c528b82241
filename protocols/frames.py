# Encode and decode frames by the tables in protocols/schema.py, as read out
# of the table generated from it (protocols/schema_table.py, one byte string):
# a kind is built when a frame of it is encoded or decoded, so the schema
# costs a device almost no heap between frames. Runs unchanged on MicroPython
# (an ESP32 encoding uplinks) and CPython (the fleet decoding them). All
# scaling is integer arithmetic on exact fractions; a float input is converted
# once, by rounding half away from zero, so a value rounded to single
# precision (as an ESP32 holds it) gives the same integer and the same bytes.
# Decoding lives in protocols/frame_decoder.py, which decode() imports on its
# first call: a device decodes only when a downlink arrives.
import json
import sys

from protocols import cbor
from protocols import schema_table as S
from protocols.scaling import decimal_text, round_float


# The exceptions (FrameError, MalformedFrame, UnknownKind, FieldError) live in
# protocols/frame_errors.py, loaded when one is raised or named: a device
# encodes frames on every wake and raises none. They are read here as
# before (frames.FieldError) through __getattr__.
def __getattr__(name):
    if name in ("FrameError", "MalformedFrame", "UnknownKind", "FieldError"):
        from protocols import frame_errors
        return getattr(frame_errors, name)
    raise AttributeError(name)


def _field_error(kind, field, message):
    from protocols.frame_errors import FieldError
    return FieldError(kind, field, message)


def _tuples(x):
    # JSON arrays back to the schema's tuples (a field's EXTRA nests one level).
    return tuple(_tuples(v) if isinstance(v, list) else v for v in x)


# The fleet decodes frame after frame: there (CPython) each kind is read out
# of the table once, as the schema's tuples, and kept. A device keeps none
# (heap over time) and reads the lists as they come: frames index a kind's
# fields alike either way, and a copy into tuples at the encode of each frame
# was the wake's heap peak.
_READ = None if sys.implementation.name == "micropython" else {}


def _from_table(kind_id, name):
    # The kind with this id or, when name is given, this name, from the
    # table's index (see protocols/schema.py table_bytes); None if absent.
    key = (kind_id, name)
    if _READ and key in _READ:
        return _READ[key]
    t = S.TABLE
    want = None if name is None else name.encode()
    p = 1
    for _ in range(t[0]):
        n = t[p + 1]
        if (t[p] == kind_id) if want is None else (n == len(want) and t[p + 2:p + 2 + n] == want):
            start = t[p + 2 + n] << 8 | t[p + 3 + n]
            k = json.loads(t[start:t.find(b"\n", start)])
            if _READ is not None:
                k = _READ[key] = _tuples(k)
            return k
        p += 4 + n
    return None


def _kind(kinds, kind_id, name):
    # The kind with this id or, when name is given, this name: from kinds (a
    # list of the schema's tuples) or, when kinds is None, from the table.
    if kinds is None:
        k = _from_table(kind_id, name) if name is None or isinstance(name, str) else None
    else:
        k = None
        for c in kinds:
            if (c[S.KIND_ID] == kind_id) if name is None else (c[S.KIND_NAME] == name):
                k = c
                break
    if k:
        return k
    from protocols.frame_errors import UnknownKind
    if name is None:
        raise UnknownKind("unknown frame kind id %r" % (kind_id,))
    raise UnknownKind("unknown frame kind %r" % (name,))


def kind_names(kinds=None):
    """The names of all frame kinds, in id order."""
    if kinds:
        return [k[S.KIND_NAME] for k in kinds]
    t = S.TABLE
    names, p = [], 1
    for _ in range(t[0]):
        n = t[p + 1]
        names.append(t[p + 2:p + 2 + n].decode())
        p += 4 + n
    return names


def kind_of(name, kinds=None):
    """The schema tuple (id, name, direction, fields) of the kind called name."""
    return _kind(kinds or None, None, name)


def _round_div(top, bottom):
    # top / bottom rounded half away from zero, in integers (bottom > 0).
    if top >= 0:
        return (2 * top + bottom) // (2 * bottom)
    return -((-2 * top + bottom) // (2 * bottom))


def _to_steps(value, num, den):
    # value / (num/den) as a whole number of steps.
    if isinstance(value, int):
        return _round_div(value * den, num)
    return round_float(value * den / num)


def format_steps(steps, num, den):
    """A whole number of steps of num/den as an exact decimal string (den is a power of ten)."""
    return decimal_text(steps * num, den)


def range_text(f):
    """A field's valid range in its unit, e.g. "0..6553.5 kPa"."""
    o = f[S.ORIGIN]
    text = "%s..%s" % (format_steps(f[S.LO] + o, f[S.NUM], f[S.DEN]), format_steps(f[S.HI] + o, f[S.NUM], f[S.DEN]))
    return text + " " + f[S.UNIT] if f[S.UNIT] else text


def _check_range(kind, f, n):
    if n < f[S.LO] or n > f[S.HI]:
        raise _field_error(kind, f[S.NAME], "%s is outside %s" % (format_steps(n + f[S.ORIGIN], f[S.NUM], f[S.DEN]), range_text(f)))


def _is_number(v):
    return (isinstance(v, int) or isinstance(v, float)) and not isinstance(v, bool)


def _encode_version(kind, f, value):
    if isinstance(value, int) and not isinstance(value, bool):
        packed = value
    else:
        try:
            parts = [int(p) for p in str(value).split(".")]
        except ValueError:
            raise _field_error(kind, f[S.NAME], "version %r is not major.minor.patch" % (value,))
        if len(parts) != 3 or not (0 <= parts[0] < 32 and 0 <= parts[1] < 32 and 0 <= parts[2] < 64):
            raise _field_error(kind, f[S.NAME], "version %r is not major.minor.patch within 31.31.63" % (value,))
        packed = (parts[0] << 11) | (parts[1] << 6) | parts[2]
    _check_range(kind, f, packed)
    return packed


def _encode_field(kind, f, fields, encoded, raw):
    name = f[S.NAME]
    t = f[S.TYPE]
    if t == S.T_BITS:
        return _encode_bits(kind, f, fields)
    value = fields.get(name)
    if value is None:
        if f[S.FLAGS] & (S.OPTIONAL | S.NULLABLE):
            return None
        raise _field_error(kind, name, "missing")
    if t == S.T_BOOL:
        if value is True or value is False:
            return value
        raise _field_error(kind, name, "must be true or false, not %r" % (value,))
    if t == S.T_ENUM:
        return _encode_enum(kind, f, value)
    if t == S.T_BYTES:
        if not isinstance(value, (bytes, bytearray)) or len(value) != f[S.EXTRA]:
            raise _field_error(kind, name, "must be %d bytes" % f[S.EXTRA])
        return bytes(value)
    if t == S.T_VERSION:
        return _encode_version(kind, f, value)
    if not _is_number(value):
        raise _field_error(kind, name, "must be a number, not %r" % (value,))
    if t == S.T_DELTA:
        n = _delta_steps(kind, f, value, encoded, raw)
    else:
        n = _steps_of(kind, f, value, raw) - f[S.ORIGIN]
    _check_range(kind, f, n)
    return n


def _steps_of(kind, f, value, raw):
    # A value in the field's unit (or already in steps, when raw) as whole steps.
    if raw:
        if not isinstance(value, int):
            raise _field_error(kind, f[S.NAME], "raw value must be an integer")
        return value
    try:
        return _to_steps(value, f[S.NUM], f[S.DEN])
    except ValueError as e:
        raise _field_error(kind, f[S.NAME], str(e))


def _encode_enum(kind, f, value):
    names = f[S.EXTRA]
    if isinstance(value, str):
        for i in range(len(names)):
            if names[i] == value:
                return i
        raise _field_error(kind, f[S.NAME], "%r is not one of %s" % (value, ", ".join(names)))
    if isinstance(value, int) and not isinstance(value, bool):
        _check_range(kind, f, value)
        return value
    raise _field_error(kind, f[S.NAME], "must be one of %s" % ", ".join(names))


def _encode_bits(kind, f, fields):
    n = 0
    names = f[S.EXTRA]
    for i in range(len(names)):
        v = fields.get(names[i])
        if v is None:
            if i >= f[S.ORIGIN]:
                continue   # a bit appended by a later schema: clear unless given
            raise _field_error(kind, names[i], "missing")
        if v is not True and v is not False:
            raise _field_error(kind, names[i], "must be true or false, not %r" % (v,))
        if v:
            n |= 1 << i
    return n


def _ref_field(kind_tuple, f):
    ref = f[S.EXTRA][0]
    for g in kind_tuple[S.FIELDS]:
        if g[S.NAME] == ref:
            return g
    raise _field_error(kind_tuple[S.KIND_NAME], f[S.NAME], "refers to unknown field " + ref)


def _delta_ratio(kind, f, g):
    # How many of the reference field's steps make one step of the delta field.
    top = f[S.NUM] * g[S.DEN]
    bottom = f[S.DEN] * g[S.NUM]
    if top % bottom:
        raise _field_error(kind, f[S.NAME], "step is not a whole multiple of the reference's step")
    return top // bottom


def _delta_steps(kind, f, value, encoded, raw):
    # The value is absolute (e.g. the window's minimum pressure); it is sent as
    # whole steps of this field below or above its reference field's value.
    # Raw values of a delta field are in the reference field's steps.
    ref = encoded.get(f[S.EXTRA][0])
    if ref is None:
        raise _field_error(kind, f[S.NAME], "needs field %s" % f[S.EXTRA][0])
    g, ref_steps = ref
    value_ref_steps = _steps_of(kind, g, value, raw)
    # Rounded outward (up), so the window sent always contains the true extreme.
    distance = f[S.EXTRA][1] * (value_ref_steps - ref_steps)
    ratio = _delta_ratio(kind, f, g)
    return -((-distance) // ratio)


def encode(kind, fields, raw=False, kinds=None):
    """Encode a frame of the named kind from a dict of field values in SI units.

    Numbers are scaled to the field's step (rounding half away from zero); a
    missing or out-of-range field raises FieldError naming it, never clamped
    or wrapped. With raw=True numeric fields are given as whole steps of their
    unit (e.g. latitude in 1e-5 degrees), which avoids floats on a device.
    Returns the CBOR bytes.
    """
    k = _kind(kinds or None, None, kind)
    name = k[S.KIND_NAME]
    out = [k[S.KIND_ID]]
    encoded = {}
    for f in k[S.FIELDS]:
        v = _encode_field(name, f, fields, encoded, raw)
        if f[S.TYPE] == S.T_NUM and v is not None:
            encoded[f[S.NAME]] = (f, v + f[S.ORIGIN])
        out.append(v)
    # Optional fields left out at the end are not sent at all.
    while len(out) > 1 and out[-1] is None and k[S.FIELDS][len(out) - 2][S.FLAGS] & S.OPTIONAL:
        out.pop()
    return cbor.dumps(out)


def decode(data, kinds=None):
    """Decode frame bytes into (kind name, dict of field values in SI units).

    Raises MalformedFrame when the bytes are not a frame, UnknownKind for an
    unknown kind id, and FieldError naming the field that is missing, of the
    wrong type or out of range. Trailing fields unknown to this schema (from a
    newer one) are ignored; missing trailing optional fields decode as None.
    """
    from protocols import frame_decoder
    return frame_decoder.decode(data, kinds)
