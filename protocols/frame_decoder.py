# Decoding frames (protocols/frames.py encodes, and its decode() comes here).
# A device decodes only when a downlink arrives, so this module is imported
# then, not on every wake: on MicroPython each function and class costs heap
# from its import on. The fleet imports it once, with its first uplink.
from protocols import cbor
from protocols import schema_table as S
from protocols.frame_errors import FieldError, MalformedFrame
from protocols.frames import _check_range, _delta_ratio, _kind, _ref_field

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_MAX_FRAME = const(242)   # the largest LoRaWAN application payload of any region


def _from_steps(steps, num, den):
    if den == 1:
        return steps * num
    return steps * num / den


def _decode_field(kind, f, v, values):
    name = f[S.NAME]
    t = f[S.TYPE]
    if v is None:
        if f[S.FLAGS] & (S.OPTIONAL | S.NULLABLE):
            values[name] = None
            return
        raise FieldError(kind, name, "is null")
    if t == S.T_BOOL:
        if v is not True and v is not False:
            raise FieldError(kind, name, "must be a CBOR boolean")
        values[name] = v
        return
    if t == S.T_BYTES:
        if not isinstance(v, bytes) or len(v) != f[S.EXTRA]:
            raise FieldError(kind, name, "must be a %d-byte string" % f[S.EXTRA])
        values[name] = v
        return
    if not isinstance(v, int) or isinstance(v, bool):
        raise FieldError(kind, name, "must be an integer")
    if t == S.T_BITS:
        # Unknown high bits come from a newer schema: ignored, by the evolution rule.
        names = f[S.EXTRA]
        for i in range(len(names)):
            values[names[i]] = bool(v >> i & 1)
        return
    _check_range(kind, f, v)
    if t == S.T_ENUM:
        values[name] = f[S.EXTRA][v]
    elif t == S.T_VERSION:
        values[name] = "%d.%d.%d" % (v >> 11, (v >> 6) & 31, v & 63)
    elif t == S.T_DELTA:
        values[name] = v  # resolved against its reference after all fields are read
    else:
        values[name] = _from_steps(v + f[S.ORIGIN], f[S.NUM], f[S.DEN])


def _resolve_deltas(k, items, values):
    fields = k[S.FIELDS]
    for i in range(len(fields)):
        f = fields[i]
        if f[S.TYPE] != S.T_DELTA or values.get(f[S.NAME]) is None:
            continue
        g = _ref_field(k, f)
        ref_item = items[fields.index(g)]
        if ref_item is None:
            raise FieldError(k[S.KIND_NAME], f[S.NAME], "needs field %s" % g[S.NAME])
        ref_steps = ref_item + g[S.ORIGIN]
        ratio = _delta_ratio(k[S.KIND_NAME], f, g)
        steps = ref_steps + f[S.EXTRA][1] * values[f[S.NAME]] * ratio
        values[f[S.NAME]] = _from_steps(steps, g[S.NUM], g[S.DEN])


def decode(data, kinds=None):
    """Decode frame bytes: protocols.frames.decode, which says what it returns and raises."""
    if len(data) > _MAX_FRAME:
        raise MalformedFrame("frame of %d bytes is longer than any LoRaWAN payload" % len(data))
    try:
        items = cbor.loads(data)
    except cbor.CBORDecodeError as e:
        raise MalformedFrame("not CBOR: " + str(e))
    if not isinstance(items, list) or not items:
        raise MalformedFrame("a frame is a non-empty CBOR array")
    kind_id = items[0]
    if not isinstance(kind_id, int) or isinstance(kind_id, bool):
        raise MalformedFrame("the first element of a frame must be the kind id")
    k = _kind(kinds or None, kind_id, None)
    name = k[S.KIND_NAME]
    fields = k[S.FIELDS]
    items = items[1:]
    values = {}
    for i in range(len(fields)):
        f = fields[i]
        if i < len(items):
            _decode_field(name, f, items[i], values)
        elif f[S.FLAGS] & S.OPTIONAL:
            values[f[S.NAME]] = None
        else:
            raise FieldError(name, f[S.NAME], "missing")
    _resolve_deltas(k, items, values)
    return name, values
