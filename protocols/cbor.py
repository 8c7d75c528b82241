# CBOR (RFC 8949) in the subset of Python that MicroPython and CPython share.
# The same file encodes frames on an ESP32 and decodes them on the server, so
# every choice here (shortest float forms, key order, limits) must give the
# same bytes on both interpreters.
#
# Names mirror cbor2: dumps, loads, Tag (cbor2's CBORTag), CBORSimpleValue,
# undefined, CBORError, CBORDecodeError, CBOREncodeError.
#
# The decoder lives in protocols/cbor_decoder.py and loads() and
# decode_prefix() here import it when first called: a device encodes on every
# wake but decodes only when a downlink arrives, and on MicroPython every
# function a module defines costs heap from its import on (a function object
# and its code's record), whether it runs or not.
import struct
import math
import sys

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

MAX_DEPTH = const(32)       # nesting cap for arrays, maps and tags on decode and encode
_U64 = const(0xFFFFFFFFFFFFFFFF)
_INF = float("inf")
_NAN = float("nan")

# CPython's UTF-8 codec rejects overlong forms, surrogates and code points above
# U+10FFFF; MicroPython's accepts them (and will encode a lone surrogate), so
# there this module checks the bytes itself to give the same answer.
_LAX_UTF8 = sys.implementation.name == "micropython"


class CBORError(Exception):
    """Base class of every error this codec raises."""


class CBORDecodeError(CBORError):
    """The input is not well-formed CBOR, or exceeds a decoding limit; the message names the byte offset."""


class CBOREncodeError(CBORError):
    """The value cannot be written as CBOR."""


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


# ---------------------------------------------------------------- encoding

def _head(out, major, n):
    # The initial byte and argument in their shortest form (preferred serialisation).
    mt = major << 5
    if n < 24:
        out.append(mt | n)
    elif n < 0x100:
        out.append(mt | 24)
        out.append(n)
    elif n < 0x10000:
        out.append(mt | 25)
        out.extend(struct.pack(">H", n))
    elif n < 0x100000000:
        out.append(mt | 26)
        out.extend(struct.pack(">I", n))
    else:
        out.append(mt | 27)
        out.extend(struct.pack(">Q", n))


def _utf8_valid(b):
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


def _encode_text(obj):
    try:
        data = obj.encode("utf-8")
    except UnicodeError:
        raise CBOREncodeError("text contains a lone surrogate")
    if _LAX_UTF8 and len(data) != len(obj) and not _utf8_valid(data):
        raise CBOREncodeError("text contains a lone surrogate")
    return data


def _check_tag_content(number, value):
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


def _encode_int(out, n):
    if n >= 0:
        if n <= _U64:
            _head(out, 0, n)
        else:
            _head(out, 6, 2)
            data = _int_bytes(n)
            _head(out, 2, len(data))
            out.extend(data)
    else:
        m = -1 - n
        if m <= _U64:
            _head(out, 1, m)
        else:
            _head(out, 6, 3)
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


def _encode_float(out, x):
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


def _sort_key_bytewise(item):
    return item[0]


def _sort_key_length_first(item):
    return (len(item[0]), item[0])


class _Encoder:
    def __init__(self, canonical):
        if canonical not in (False, True, "length-first"):
            raise CBOREncodeError("canonical must be False, True or 'length-first'")
        self.canonical = canonical
        self.out = bytearray()

    def encode(self, obj, depth=0):
        if depth > MAX_DEPTH:
            raise CBOREncodeError("nesting deeper than %d" % MAX_DEPTH)
        out = self.out
        if obj is None:
            out.append(0xF6)
        elif obj is True:
            out.append(0xF5)
        elif obj is False:
            out.append(0xF4)
        elif obj is undefined:
            out.append(0xF7)
        elif isinstance(obj, int):
            _encode_int(out, obj)
        elif isinstance(obj, float):
            _encode_float(out, obj)
        elif isinstance(obj, str):
            data = _encode_text(obj)
            _head(out, 3, len(data))
            out.extend(data)
        elif isinstance(obj, (bytes, bytearray, memoryview)):
            if isinstance(obj, memoryview):
                obj = bytes(obj)                  # len() of a memoryview counts items, not bytes
            _head(out, 2, len(obj))
            out.extend(obj)
        elif isinstance(obj, (list, tuple)):
            _head(out, 4, len(obj))
            for item in obj:
                self.encode(item, depth + 1)
        elif isinstance(obj, dict):
            self._encode_map(obj, depth)
        elif isinstance(obj, Tag):
            problem = _check_tag_content(obj.tag, obj.value)
            if problem:
                raise CBOREncodeError(problem)
            _head(out, 6, obj.tag)
            self.encode(obj.value, depth + 1)
        elif isinstance(obj, CBORSimpleValue):
            if obj.value < 20:
                out.append(0xE0 | obj.value)
            else:
                out.append(0xF8)
                out.append(obj.value)
        else:
            raise CBOREncodeError("cannot encode a value of type " + type(obj).__name__)

    def _encode_map(self, obj, depth):
        _head(self.out, 5, len(obj))
        if not self.canonical:
            for k, v in obj.items():
                self.encode(k, depth + 1)
                self.encode(v, depth + 1)
            return
        # Deterministic: sort entries by the encoded bytes of their keys.
        items = []
        for k, v in obj.items():
            items.append((dumps(k, self.canonical), v))
        items.sort(key=_sort_key_length_first if self.canonical == "length-first" else _sort_key_bytewise)
        for i in range(1, len(items)):
            if items[i][0] == items[i - 1][0]:
                raise CBOREncodeError("two map keys encode to the same bytes")
        for key_bytes, v in items:
            self.out.extend(key_bytes)
            self.encode(v, depth + 1)


def dumps(obj, canonical=False):
    """Encode obj as CBOR bytes in preferred serialisation (shortest heads and floats).

    canonical=True gives core deterministic encoding (RFC 8949 section 4.2.1): map
    keys sorted by the bytewise order of their encodings. canonical="length-first"
    sorts shorter encoded keys first (RFC 8949 section 4.2.3, RFC 7049's canonical
    form), which is what cbor2's canonical mode writes. Raises CBOREncodeError for
    values CBOR cannot carry.
    """
    enc = _Encoder(canonical)
    enc.encode(obj)
    return bytes(enc.out)


# ---------------------------------------------------------------- decoding (protocols/cbor_decoder.py)

def decode_prefix(data, offset=0, max_depth=MAX_DEPTH):
    """Decode one item starting at data[offset]; return (value, offset after it).

    For reading a CBOR sequence or an item followed by other bytes. Raises only
    CBORDecodeError, with the byte offset, on malformed or truncated input.
    """
    from protocols import cbor_decoder
    return cbor_decoder.decode_prefix(data, offset, max_depth)


def loads(data, allow_trailing=False, max_depth=MAX_DEPTH):
    """Decode exactly one CBOR item from bytes and return it as Python values.

    Integers of any width (bignums via tags 2 and 3), byte and text strings,
    arrays (lists), maps (dicts; array keys become tuples), Tag, CBORSimpleValue,
    False/True/None/undefined and floats of every width, including
    indefinite-length items. Bytes after the item are an error unless
    allow_trailing is true. Raises CBORDecodeError naming the byte offset for any
    malformed, truncated or over-deep input; nothing else escapes. Beyond
    well-formedness it also rejects text that is not strict UTF-8 (each chunk of
    an indefinite-length text string on its own), tags 0 to 3 around the wrong
    type of content, maps as map keys, and two-byte simple values below 32.
    """
    from protocols import cbor_decoder
    return cbor_decoder.loads(data, allow_trailing, max_depth)
