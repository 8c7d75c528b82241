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
