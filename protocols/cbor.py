# CBOR (RFC 8949) in the subset of Python that MicroPython and CPython share.
# The same file encodes frames on an ESP32 and decodes them on the server, so
# every choice here (shortest float forms, key order, limits) must give the
# same bytes on both interpreters.
#
# Names mirror cbor2: dumps, loads, Tag (cbor2's CBORTag), CBORSimpleValue,
# undefined, CBORError, CBORDecodeError, CBOREncodeError.
#
# On MicroPython every function and class a module defines costs heap from
# its import on (a function object and its code's record), whether it runs or
# not, and a device imports this module on every wake to encode frames:
# arrays of integers, booleans, nulls and byte strings. So what a frame never
# holds lives in modules this one imports when it first meets it: the decoder
# (protocols/cbor_decoder.py: a device decodes only when a downlink arrives)
# and floats, bignums, tags, simple values and undefined
# (protocols/cbor_extras.py), and so do the exceptions (protocols/cbor_errors.py).
# Tag, CBORSimpleValue, undefined and the exceptions are still read here, as
# cbor.Tag and so on, through the module's __getattr__.
import struct
import sys

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

MAX_DEPTH = const(32)       # nesting cap for arrays, maps and tags on decode and encode
_U64 = const(0xFFFFFFFFFFFFFFFF)

# CPython's UTF-8 codec rejects overlong forms, surrogates and code points above
# U+10FFFF; MicroPython's accepts them (and will encode a lone surrogate), so
# there this module checks the bytes itself to give the same answer.
_LAX_UTF8 = sys.implementation.name == "micropython"


_EXTRAS = ("Tag", "CBORSimpleValue", "undefined")


_ERRORS = ("CBORError", "CBORDecodeError", "CBOREncodeError")


def __getattr__(name):
    # cbor.Tag, cbor.CBORSimpleValue, cbor.undefined from protocols/cbor_extras.py,
    # and the exceptions from protocols/cbor_errors.py, loaded now.
    if name in _EXTRAS:
        from protocols import cbor_extras
        return getattr(cbor_extras, name)
    if name in _ERRORS:
        from protocols import cbor_errors
        return getattr(cbor_errors, name)
    raise AttributeError(name)


def _encode_error(message):
    from protocols.cbor_errors import CBOREncodeError
    return CBOREncodeError(message)


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


def _encode_text(obj):
    try:
        data = obj.encode("utf-8")
    except UnicodeError:
        raise _encode_error("text contains a lone surrogate")
    if _LAX_UTF8 and len(data) != len(obj):
        from protocols.cbor_extras import utf8_valid
        if not utf8_valid(data):
            raise _encode_error("text contains a lone surrogate")
    return data


def _encode_int(out, n):
    m = n if n >= 0 else -1 - n
    if m > _U64:
        from protocols.cbor_extras import encode_bignum
        encode_bignum(out, n)
    else:
        _head(out, 0 if n >= 0 else 1, m)


def _sort_key_bytewise(item):
    return item[0]


def _sort_key_length_first(item):
    return (len(item[0]), item[0])


class _Encoder:
    def __init__(self, canonical):
        if canonical not in (False, True, "length-first"):
            raise _encode_error("canonical must be False, True or 'length-first'")
        self.canonical = canonical
        self.out = bytearray()

    def encode(self, obj, depth=0):
        if depth > MAX_DEPTH:
            raise _encode_error("nesting deeper than %d" % MAX_DEPTH)
        out = self.out
        if obj is None:
            out.append(0xF6)
        elif obj is True:
            out.append(0xF5)
        elif obj is False:
            out.append(0xF4)
        elif isinstance(obj, int):
            _encode_int(out, obj)
        elif isinstance(obj, float):
            from protocols.cbor_extras import encode_float
            encode_float(out, obj)
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
        else:
            from protocols import cbor_extras
            cbor_extras.encode_other(self, obj, depth)

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
                raise _encode_error("two map keys encode to the same bytes")
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
