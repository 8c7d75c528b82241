# The CBOR decoder (RFC 8949) of protocols/cbor.py, whose loads() and
# decode_prefix() call into this module: see there why it is a module of its
# own. Same rules as there: the subset of Python MicroPython and CPython
# share, and the same answer, value or error, on both.
import struct
import math
import sys

from protocols.cbor import MAX_DEPTH, _LAX_UTF8
from protocols.cbor_errors import CBORDecodeError
from protocols.cbor_extras import _INF, _NAN, CBORSimpleValue, Tag, undefined, check_tag_content, utf8_valid

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_BREAK = const(0xFF)

# MicroPython's dict does not keep insertion order; its OrderedDict does, so a
# decoded map re-encodes to the same bytes on both interpreters.
if sys.implementation.name == "micropython":
    from collections import OrderedDict as _Map
else:
    _Map = dict

def _half_to_float(h):
    exp = (h >> 10) & 0x1F
    mant = h & 0x3FF
    if exp == 0:
        val = math.ldexp(mant, -24)
    elif exp == 31:
        val = _INF if mant == 0 else _NAN
    else:
        val = math.ldexp(mant + 1024, exp - 25)
    return -val if h & 0x8000 else val


def _hashable(obj):
    # Map keys must be hashable: arrays become tuples, as cbor2 does.
    if isinstance(obj, list):
        return tuple([_hashable(x) for x in obj])
    if isinstance(obj, dict):
        raise TypeError("a map cannot be a map key here")
    if isinstance(obj, Tag):
        return Tag(obj.tag, _hashable(obj.value))
    return obj


class _Decoder:
    def __init__(self, data, max_depth):
        self.data = data
        self.end = len(data)
        self.pos = 0
        self.max_depth = max_depth

    def fail(self, message, at=None):
        return CBORDecodeError("%s at byte %d" % (message, self.pos if at is None else at))

    def take(self, n):
        start = self.pos
        if n > self.end - start:
            raise self.fail("need %d bytes, only %d remain" % (n, self.end - start))
        self.pos = start + n
        return self.data[start:start + n]

    def byte(self):
        if self.pos >= self.end:
            raise self.fail("unexpected end of data")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def argument(self, info, start):
        if info < 24:
            return info
        if info == 24:
            return self.byte()
        if info == 25:
            return struct.unpack(">H", self.take(2))[0]
        if info == 26:
            return struct.unpack(">I", self.take(4))[0]
        if info == 27:
            return struct.unpack(">Q", self.take(8))[0]
        raise self.fail("reserved additional information %d" % info, start)

    def decode(self, depth):
        if depth > self.max_depth:
            raise self.fail("nesting deeper than %d" % self.max_depth)
        start = self.pos
        ib = self.byte()
        major = ib >> 5
        info = ib & 0x1F
        if major == 7:
            return self.simple(info, start)
        if info == 31:
            return self.indefinite(major, start, depth)
        n = self.argument(info, start)
        if major == 0:
            return n
        if major == 1:
            return -1 - n
        if major == 2:
            return bytes(self.take(n))
        if major == 3:
            return self.text(self.take(n), start)
        if major == 4:
            return self.array(n, start, depth)
        if major == 5:
            return self.map(n, start, depth)
        return self.tag(n, start, depth)

    def text(self, raw, start):
        raw = bytes(raw)
        try:
            text = raw.decode("utf-8")
        except UnicodeError:
            text = None
        if text is None or (_LAX_UTF8 and len(text) != len(raw) and not utf8_valid(raw)):
            raise self.fail("text string is not valid UTF-8", start)
        return text

    def check_count(self, n, per_item, start):
        # Every item takes at least one byte: refuse a count the rest of the
        # input cannot hold before allocating anything for it.
        if n * per_item > self.end - self.pos:
            raise self.fail("declared length %d exceeds the remaining input" % n, start)

    def array(self, n, start, depth):
        self.check_count(n, 1, start)
        items = []
        for _ in range(n):
            items.append(self.decode(depth + 1))
        return items

    def map(self, n, start, depth):
        self.check_count(n, 2, start)
        result = _Map()
        for _ in range(n):
            self.map_entry(result, depth)
        return result

    def map_entry(self, result, depth):
        at = self.pos
        key = self.decode(depth + 1)
        try:
            key = _hashable(key)
            hash(key)
        except TypeError:
            raise self.fail("map key is not hashable", at)
        result[key] = self.decode(depth + 1)

    def at_break(self):
        if self.pos >= self.end:
            raise self.fail("indefinite-length item has no break")
        if self.data[self.pos] == _BREAK:
            self.pos += 1
            return True
        return False

    def indefinite(self, major, start, depth):
        if major == 2 or major == 3:
            return self.chunks(major, start)
        if major == 4:
            items = []
            while not self.at_break():
                items.append(self.decode(depth + 1))
            return items
        if major == 5:
            result = _Map()
            while not self.at_break():
                self.map_entry(result, depth)
            return result
        raise self.fail("indefinite length is not allowed for major type %d" % major, start)

    def chunks(self, major, start):
        # Each text chunk must be valid UTF-8 by itself: a character cannot be
        # split between chunks (RFC 8949 section 3.2.3).
        parts = []
        while not self.at_break():
            at = self.pos
            ib = self.byte()
            if ib >> 5 != major or ib & 0x1F == 31:
                raise self.fail("chunk of an indefinite-length string must be a definite string of the same type", at)
            raw = self.take(self.argument(ib & 0x1F, at))
            parts.append(bytes(raw) if major == 2 else self.text(raw, at))
        if major == 2:
            return b"".join(parts)
        return "".join(parts)

    def tag(self, number, start, depth):
        value = self.decode(depth + 1)
        problem = check_tag_content(number, value)
        if problem:
            raise self.fail(problem, start)
        if number == 2 or number == 3:
            n = int.from_bytes(value, "big") if value else 0
            return n if number == 2 else -1 - n
        return Tag(number, value)

    def simple(self, info, start):
        if info < 20:
            return CBORSimpleValue(info)
        if info == 20:
            return False
        if info == 21:
            return True
        if info == 22:
            return None
        if info == 23:
            return undefined
        if info == 24:
            v = self.byte()
            if v < 32:
                raise self.fail("simple value %d must use the one-byte form" % v, start)
            return CBORSimpleValue(v)
        if info == 25:
            return _half_to_float(struct.unpack(">H", self.take(2))[0])
        if info == 26:
            return struct.unpack(">f", self.take(4))[0]
        if info == 27:
            return struct.unpack(">d", self.take(8))[0]
        if info == 31:
            raise self.fail("break outside an indefinite-length item", start)
        raise self.fail("reserved additional information %d in major type 7" % info, start)


def decode_prefix(data, offset=0, max_depth=MAX_DEPTH):
    """protocols.cbor.decode_prefix: one item from data[offset]; (value, offset after it)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CBORDecodeError("input must be bytes, not " + type(data).__name__)
    if type(offset) is not int or offset < 0 or offset > len(data):
        raise CBORDecodeError("offset %r is outside the %d bytes of input" % (offset, len(data)))
    dec = _Decoder(memoryview(data), max_depth)
    dec.pos = offset
    try:
        value = dec.decode(0)
    except CBORDecodeError:
        raise
    except Exception as e:
        # Anything else (a RecursionError on a tiny stack, MemoryError on a tiny
        # heap) still means this input cannot be decoded here: say so, and where.
        raise CBORDecodeError("%s (%s) at byte %d" % (type(e).__name__, e, dec.pos))
    return value, dec.pos


def loads(data, allow_trailing=False, max_depth=MAX_DEPTH):
    """protocols.cbor.loads, which says what it decodes and refuses."""
    value, end = decode_prefix(data, 0, max_depth)
    if end != len(data) and not allow_trailing:
        raise CBORDecodeError("%d trailing bytes after the item at byte %d" % (len(data) - end, end))
    return value
