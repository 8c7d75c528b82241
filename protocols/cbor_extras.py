# The CBOR items a frame never holds, for protocols/cbor.py (see there why
# they are a module of their own): floats, bignums, tags, simple values and
# undefined, and the strict UTF-8 check MicroPython's codec lacks. Same rules
# as there: the subset of Python MicroPython and CPython share, and the same
# bytes on both.
import math
import struct

from protocols.cbor import _head
from protocols.cbor_errors import CBOREncodeError

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_U64 = const(0xFFFFFFFFFFFFFFFF)
_INF = float("inf")
_NAN = float("nan")


class Tag:
    """A tagged data item: tag number and its content (cbor2 calls this CBORTag)."""

    def __init__(self, tag, value):
        if type(tag) is not int or tag < 0 or tag > _U64:
            raise CBOREncodeError("tag number must be an int in 0..2**64-1")
        self.tag = tag
        self.value = value

    def __eq__(self, other):
        return isinstance(other, Tag) and self.tag == other.tag and self.value == other.value

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash((self.tag, self.value))

    def __repr__(self):
        return "Tag(%d, %r)" % (self.tag, self.value)


class CBORSimpleValue:
    """A simple value other than false, true, null and undefined (0..19 and 32..255)."""

    def __init__(self, value):
        if type(value) is not int or value < 0 or value > 255 or 20 <= value <= 31:
            raise CBOREncodeError("simple value must be 0..19 or 32..255")
        self.value = value

    def __eq__(self, other):
        return isinstance(other, CBORSimpleValue) and self.value == other.value

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(("simple", self.value))

    def __repr__(self):
        return "CBORSimpleValue(%d)" % self.value


class _Undefined:
    def __repr__(self):
        return "undefined"

    def __bool__(self):
        return False



undefined = _Undefined()


def utf8_valid(b):
    # RFC 3629 well-formed UTF-8 (the table in its section 4).
    i = 0
    n = len(b)
    while i < n:
        c = b[i]
        if c < 0x80:
            i += 1
            continue
        if 0xC2 <= c <= 0xDF:
            need, lo, hi = 1, 0x80, 0xBF
        elif c == 0xE0:
            need, lo, hi = 2, 0xA0, 0xBF
        elif c == 0xED:
            need, lo, hi = 2, 0x80, 0x9F          # no surrogates
        elif 0xE1 <= c <= 0xEF:
            need, lo, hi = 2, 0x80, 0xBF
        elif c == 0xF0:
            need, lo, hi = 3, 0x90, 0xBF
        elif 0xF1 <= c <= 0xF3:
            need, lo, hi = 3, 0x80, 0xBF
        elif c == 0xF4:
            need, lo, hi = 3, 0x80, 0x8F          # nothing above U+10FFFF
        else:
            return False
        if i + need >= n:                          # truncated sequence
            return False
        if not lo <= b[i + 1] <= hi:
            return False
        for j in range(i + 2, i + need + 1):
            if not 0x80 <= b[j] <= 0xBF:
                return False
        i += need + 1
    return True


def check_tag_content(number, value):
    # Tags 0 to 3 have a fixed content type (RFC 8949 sections 3.4.1 to 3.4.3);
    # return a complaint, or None when the content fits.
    if number == 0:
        if not isinstance(value, str):
            return "tag 0 (date/time string) must enclose a text string"
    elif number == 1:
        if value is True or value is False or not isinstance(value, (int, float)):
            return "tag 1 (epoch date/time) must enclose an integer or a float"
    elif number == 2 or number == 3:
        if not isinstance(value, (bytes, bytearray)):
            return "bignum tag %d must enclose a byte string" % number
    return None


def _int_bytes(n):
    # Big-endian magnitude with no leading zero bytes; MicroPython ints lack bit_length().
    size = 1
    while n >> (8 * size):
        size += 1
    return n.to_bytes(size, "big")


def encode_bignum(out, n):
    # An integer beyond 64 bits: tag 2 (or 3 for a negative) around its magnitude (RFC 8949 section 3.4.3).
    m = n if n >= 0 else -1 - n
    _head(out, 6, 2 if n >= 0 else 3)
    data = _int_bytes(m)
    _head(out, 2, len(data))
    out.extend(data)


def _half_bits(x):
    # The IEEE-754 binary16 bits of x when x converts to half precision
    # without loss, else None. x is finite, non-zero and exact in single.
    ax = -x if x < 0 else x
    sign = 0x8000 if x < 0 else 0
    if ax < 6.103515625e-05:                      # below the smallest normal half, 2**-14
        m = ax * 16777216.0                       # 2**24: subnormal halves are m * 2**-24
        if m == int(m) and m < 1024:
            return sign | int(m)
        return None
    mant, exp = math.frexp(ax)                    # ax = mant * 2**exp, 0.5 <= mant < 1
    e = exp + 14                                  # biased half exponent
    if e > 30:
        return None
    m = (mant * 2.0 - 1.0) * 1024.0
    if m != int(m):
        return None
    return sign | (e << 10) | int(m)


def encode_float(out, x):
    # The shortest of half, single and double that holds x exactly (preferred serialisation).
    if x != x:
        out.extend(b"\xf9\x7e\x00")               # the canonical quiet NaN
        return
    if x == 0.0:
        out.extend(b"\xf9\x80\x00" if math.copysign(1.0, x) < 0 else b"\xf9\x00\x00")
        return
    if x == _INF or x == -_INF:
        out.extend(b"\xf9\x7c\x00" if x > 0 else b"\xf9\xfc\x00")
        return
    try:
        single = struct.pack(">f", x)
        exact_single = struct.unpack(">f", single)[0] == x
    except (OverflowError, ValueError):
        exact_single = False
    if exact_single:
        h = _half_bits(x)
        if h is not None:
            out.append(0xF9)
            out.extend(struct.pack(">H", h))
            return
        out.append(0xFA)
        out.extend(single)
        return
    out.append(0xFB)
    out.extend(struct.pack(">d", x))


def encode_other(enc, obj, depth):
    # Tag, CBORSimpleValue and undefined for the encoder enc (cbor._Encoder); anything else is refused.
    out = enc.out
    if obj is undefined:
        out.append(0xF7)
    elif isinstance(obj, Tag):
        problem = check_tag_content(obj.tag, obj.value)
        if problem:
            raise CBOREncodeError(problem)
        _head(out, 6, obj.tag)
        enc.encode(obj.value, depth + 1)
    elif isinstance(obj, CBORSimpleValue):
        if obj.value < 20:
            out.append(0xE0 | obj.value)
        else:
            out.append(0xF8)
            out.append(obj.value)
    else:
        raise CBOREncodeError("cannot encode a value of type " + type(obj).__name__)
