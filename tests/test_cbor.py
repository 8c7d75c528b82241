"""protocols/cbor.py: encoding rules, limits and hostile input, on CPython and MicroPython.

Every test takes the `interp` fixture, so it runs once per interpreter; values
cross to MicroPython and back through tests/literal.py, which keeps float bits
and bytes exact. The vector tests are in test_cbor_vectors.py and the
property-based and fuzz tests in test_cbor_properties.py; both import the
helpers defined here.
"""
import math
import os
import re
import select
import struct
import time

import pytest

from protocols.cbor import CBORSimpleValue, Tag, undefined
from tests.interpreters import RemoteError

MOD = "protocols.cbor"
INF = float("inf")
NAN = float("nan")


# ---------------------------------------------------------------- helpers

def same(a, b):
    """Strict structural equality: types must match (1 is not True, 1.0 is not 1),
    NaN equals NaN and -0.0 differs from 0.0; map keys are matched the same way."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if a != a or b != b:
            return a != a and b != b
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        if len(a) != len(b):
            return False
        for kb, vb in b.items():
            for ka, va in a.items():
                if same(ka, kb):
                    if not same(va, vb):
                        return False
                    break
            else:
                return False
        return True
    if isinstance(a, Tag):
        return a.tag == b.tag and same(a.value, b.value)
    if isinstance(a, CBORSimpleValue):
        return a.value == b.value
    return a == b


def assert_same(actual, expected):
    assert same(actual, expected), "got %r, expected %r" % (actual, expected)


# MicroPython prints "Warning: Comparison between bytes and str" on stderr
# whenever a map holds both bytes and str keys (its OrderedDict compares every
# key on insertion). If the server's stderr is a pipe that nobody reads (as in
# the first version of tests/interpreters.py), it fills after some thousands of
# such maps and the server blocks: so drain it after every call, and fail on
# anything else that shows up there. When stderr is not a pipe, do nothing.
_EXPECTED_STDERR = b"Warning: Comparison between bytes and str"


def _drain_stderr(interp):
    proc = getattr(interp, "proc", None)
    if proc is None or proc.stderr is None or proc.poll() is not None:
        return
    fd = proc.stderr.fileno()
    data = b""
    while select.select([fd], [], [], 0)[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    other = [line for line in data.splitlines() if line and line != _EXPECTED_STDERR]
    assert not other, "micropython wrote to stderr: %r" % other


def call(interp, func, *args, **kwargs):
    """protocols.cbor.func(*args, **kwargs) on interp."""
    try:
        return interp.call(MOD, func, *args, **kwargs)
    finally:
        _drain_stderr(interp)


def loads(interp, data, **kwargs):
    return call(interp, "loads", data, **kwargs)


def dumps(interp, value, **kwargs):
    return call(interp, "dumps", value, **kwargs)


def error_of(interp, func, *args, **kwargs):
    """Call func on interp; return (exception class name, message), or fail if it returned."""
    try:
        result = call(interp, func, *args, **kwargs)
    except RemoteError as e:
        return e.name, e.message
    pytest.fail("%s%r returned %r instead of raising" % (func, args, result))


# decode_prefix turns any stray exception into CBORDecodeError("ValueError (...)
# at byte N") so that callers only ever see one type; on well-behaved paths the
# codec raises its own messages, and a wrapped one means a bug was hidden.
_WRAPPED = re.compile(r"^[A-Za-z]*Error \(")


def is_wrapped(message):
    return bool(_WRAPPED.match(message))


def decode_error(interp, data, wrapped_ok=False, **kwargs):
    """loads(data) must raise CBORDecodeError with its own message; return the message."""
    name, message = error_of(interp, "loads", data, **kwargs)
    assert name == "CBORDecodeError", "%s: %s" % (name, message)
    assert wrapped_ok or not is_wrapped(message), "an internal error was wrapped: " + message
    return message


def byte_offset(message):
    found = re.search(r"at byte (\d+)", message)
    assert found, "message does not name the byte offset: %r" % message
    return int(found.group(1))


def h(text):
    return bytes.fromhex(text.replace(" ", ""))


# ---------------------------------------------------------------- integers

INT_BOUNDARIES = [
    (0, "00"),
    (23, "17"),
    (24, "1818"),
    (255, "18ff"),
    (256, "190100"),
    (65535, "19ffff"),
    (65536, "1a00010000"),
    (2**32 - 1, "1affffffff"),
    (2**32, "1b0000000100000000"),
    (2**64 - 1, "1bffffffffffffffff"),
    (2**64, "c249010000000000000000"),           # bignum, tag 2
    (2**72 + 1, "c24a" + "01" + "00" * 8 + "01"),
    (-1, "20"),
    (-24, "37"),
    (-25, "3818"),
    (-256, "38ff"),
    (-257, "390100"),
    (-65536, "39ffff"),
    (-65537, "3a00010000"),
    (-2**32, "3affffffff"),
    (-2**32 - 1, "3b0000000100000000"),
    (-2**64, "3bffffffffffffffff"),
    (-2**64 - 1, "c349010000000000000000"),      # bignum, tag 3
]


@pytest.mark.parametrize("value, encoded", INT_BOUNDARIES, ids=[str(v) for v, _ in INT_BOUNDARIES])
def test_integer_width_boundaries(interp, value, encoded):
    assert dumps(interp, value).hex() == encoded
    assert_same(loads(interp, h(encoded)), value)


def test_bignum_is_shortest_and_round_trips(interp):
    for n in [2**64, 2**64 + 1, 2**100, 3**200, 2**512 - 1]:
        for value in (n, -1 - n):
            data = dumps(interp, value)
            assert data[0] == (0xC2 if value > 0 else 0xC3)
            assert data[2] != 0 or data[1] == 0x40, "bignum bytes must have no leading zero"
            assert_same(loads(interp, data), value)


def test_non_preferred_bignum_forms_decode(interp):
    # A bignum tag may carry a value that fits in 64 bits, leading zeros, or no bytes at all.
    assert_same(loads(interp, h("c240")), 0)
    assert_same(loads(interp, h("c340")), -1)
    assert_same(loads(interp, h("c243000001")), 1)
    assert_same(loads(interp, h("c34101")), -2)


# ---------------------------------------------------------------- floats

FLOATS = [
    (0.0, "f90000"),
    (-0.0, "f98000"),
    (1.0, "f93c00"),
    (1.5, "f93e00"),
    (-4.0, "f9c400"),
    (65504.0, "f97bff"),                          # largest half
    (65505.0, "fa477fe100"),                      # just above it: single
    (65520.0, "fa477ff000"),                      # rounds to half infinity, so single
    (65536.0, "fa47800000"),                      # 2**16: beyond the half exponent range
    (98304.0, "fa47c00000"),
    (-131072.0, "fac8000000"),
    (2.0 ** 127, "fa7f000000"),
    (2.0 ** 128, "fb47f0000000000000"),           # beyond the single exponent range
    (3.4028235677973366e+38, "fb47effffff0000000"),  # just above the largest single
    (2.0 ** -150, "fb3690000000000000"),          # below the smallest single subnormal
    (1.0 + 2.0 ** -10, "f93c01"),
    (1.0 + 2.0 ** -11, "fa3f801000"),             # one bit too many for a half
    (1.0 + 2.0 ** -23, "fa3f800001"),
    (1.0 + 2.0 ** -24, "fb3ff0000010000000"),     # one bit too many for a single
    (3.0 * 2.0 ** -24, "f90003"),                 # half subnormal
    (3.0 * 2.0 ** -25, "fa33c00000"),             # not a half subnormal
    (5.960464477539063e-08, "f90001"),            # smallest half subnormal
    (6.097555160522461e-05, "f903ff"),            # largest half subnormal
    (6.103515625e-05, "f90400"),                  # smallest half normal
    (2.0 ** -25, "fa33000000"),                   # below the half range: single
    (100000.0, "fa47c35000"),
    (3.4028234663852886e+38, "fa7f7fffff"),       # largest single
    (1.401298464324817e-45, "fa00000001"),        # smallest single subnormal
    (1.1, "fb3ff199999999999a"),
    (-4.1, "fbc010666666666666"),
    (1.0e300, "fb7e37e43c8800759c"),
    (5e-324, "fb0000000000000001"),
    (1.7976931348623157e+308, "fb7fefffffffffffff"),
    (INF, "f97c00"),
    (-INF, "f9fc00"),
    (NAN, "f97e00"),
]


@pytest.mark.parametrize("value, encoded", FLOATS, ids=[e for _, e in FLOATS])
def test_shortest_float_selection(interp, value, encoded):
    assert dumps(interp, value).hex() == encoded
    assert_same(loads(interp, h(encoded)), value)


def test_every_nan_encodes_as_the_canonical_half_nan(interp):
    for bits in ["7ff8000000000000", "fff8000000000000", "7ff0000000000001", "7ff4000000000000"]:
        nan = struct.unpack(">d", bytes.fromhex(bits))[0]
        assert dumps(interp, nan) == h("f97e00")


@pytest.mark.parametrize("encoded, value", [
    ("f97c00", INF), ("fa7f800000", INF), ("fb7ff0000000000000", INF),
    ("f9fc00", -INF), ("faff800000", -INF), ("fbfff0000000000000", -INF),
    ("f97e00", NAN), ("fa7fc00000", NAN), ("fb7ff8000000000000", NAN), ("f97c01", NAN), ("f9fe00", NAN),
    ("fa3f800000", 1.0), ("fb3ff0000000000000", 1.0), ("f98001", -5.960464477539063e-08),
])
def test_every_float_width_decodes(interp, encoded, value):
    assert_same(loads(interp, h(encoded)), value)


# ---------------------------------------------------------------- other types

@pytest.mark.parametrize("value, encoded", [
    (False, "f4"),
    (True, "f5"),
    (None, "f6"),
    (undefined, "f7"),
    (CBORSimpleValue(0), "e0"),
    (CBORSimpleValue(16), "f0"),
    (CBORSimpleValue(19), "f3"),
    (CBORSimpleValue(32), "f820"),
    (CBORSimpleValue(255), "f8ff"),
    (Tag(1, 1363896240), "c11a514b67b0"),
    (Tag(23, b"\x01\x02\x03\x04"), "d74401020304"),
    (Tag(24, b"dIETF"), "d818456449455446"),
    (Tag(32, "http://www.example.com"), "d82076687474703a2f2f7777772e6578616d706c652e636f6d"),
    (Tag(2**64 - 1, None), "dbfffffffffffffffff6"),
    (Tag(55799, Tag(256, [])), "d9d9f7d9010080"),
    (b"", "40"),
    (b"\x00" * 24, "5818" + "00" * 24),
    ("", "60"),
    ("\u00fc\u6c34\U00010151", "69c3bce6b0b4f0908591"),
    ([], "80"),
    ((1, 2), "820102"),
    ({}, "a0"),
    ([1, [2, 3], {"a": b"b"}], "8301820203a161614162"),
])
def test_encode_other_types(interp, value, encoded):
    assert dumps(interp, value).hex() == encoded
    expected = list(value) if isinstance(value, tuple) else value
    assert_same(loads(interp, h(encoded)), expected)


def test_map_keeps_insertion_order_when_not_canonical(interp):
    value = {"b": 1, "a": 2, 10: 3, -1: 4}
    data = dumps(interp, value)
    assert data == h("a4 6162 01 6161 02 0a 03 20 04")
    back = loads(interp, data)
    assert list(back.items()) == list(value.items())


def test_array_map_keys_decode_as_tuples(interp):
    assert_same(loads(interp, h("a1820102f5")), {(1, 2): True})
    assert_same(loads(interp, h("a1c6820102f5")), {Tag(6, (1, 2)): True})


@pytest.mark.parametrize("encoded", ["a1a0f5", "a181a0f5", "a1c6a0f5", "bfa0f5ff", "a1c681a0f5"])
def test_map_as_map_key_is_a_decode_error(interp, encoded):
    decode_error(interp, h(encoded))


def run_snippet(interp, source):
    """Run a small script on interp and return what it printed (for values that
    cannot cross the literal transport, such as sets or functions)."""
    if interp.name == "micropython":
        return interp.run(source)
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(source, {})
    return buf.getvalue()


def test_unencodable_type_raises_cbor_encode_error(interp):
    out = run_snippet(interp, (
        "from protocols.cbor import dumps, CBOREncodeError\n"
        "for v in [set([1, 2]), object(), dumps, Ellipsis, [1, {2: set()}], {(1, object()): 2}]:\n"
        "    try:\n"
        "        dumps(v)\n"
        "        print('returned')\n"
        "    except CBOREncodeError:\n"
        "        print('ok')\n"
    ))
    assert out.split() == ["ok"] * 6


def test_unencodable_value_and_bad_options_raise_cbor_encode_error(interp):
    # A str with a lone surrogate has no UTF-8 form.
    assert error_of(interp, "dumps", "a\ud800")[0] == "CBOREncodeError"
    assert error_of(interp, "dumps", [1, {"k": "\udfff"}])[0] == "CBOREncodeError"
    assert error_of(interp, "dumps", {"a": 1}, canonical="bytewise")[0] == "CBOREncodeError"
    # Nesting beyond the cap, on encode too.
    deep = 0
    for _ in range(40):
        deep = [deep]
    assert error_of(interp, "dumps", deep)[0] == "CBOREncodeError"
    # Standard tags whose content has the wrong type (RFC 8949 sections 3.4.1 to 3.4.3).
    for tag in [Tag(0, 1), Tag(1, "2013"), Tag(1, True), Tag(2, 5), Tag(3, "x")]:
        assert error_of(interp, "dumps", tag)[0] == "CBOREncodeError", tag


def test_byte_like_values_encode_their_bytes(interp):
    out = run_snippet(interp, (
        "from array import array\n"
        "from protocols.cbor import dumps\n"
        "print(dumps(bytearray(b'ab')) == b'Bab', dumps(memoryview(b'abc')[1:]) == b'Bbc',\n"
        "      dumps(memoryview(array('H', [1, 2]))) == b'D' + bytes(array('H', [1, 2])))\n"
    ))
    assert out.split() == ["True"] * 3


def test_tag_and_simple_value_constructors_check_their_range(interp):
    out = run_snippet(interp, (
        "from protocols.cbor import Tag, CBORSimpleValue, CBOREncodeError\n"
        "bad = [lambda: Tag(-1, 0), lambda: Tag(2**64, 0), lambda: Tag('1', 0),\n"
        "       lambda: CBORSimpleValue(20), lambda: CBORSimpleValue(24), lambda: CBORSimpleValue(31),\n"
        "       lambda: CBORSimpleValue(256), lambda: CBORSimpleValue(-1)]\n"
        "for f in bad:\n"
        "    try:\n"
        "        f()\n"
        "        print('accepted')\n"
        "    except CBOREncodeError:\n"
        "        print('ok')\n"
    ))
    assert out.split() == ["ok"] * 8


# ---------------------------------------------------------------- canonical

# RFC 8949 section 4.2.1 lists these keys in core deterministic (bytewise) order;
# section 4.2.3 (length-first, cbor2's canonical=True) orders them differently.
RFC8949_KEYS = {10: 1, 100: 2, -1: 3, "z": 4, "aa": 5, (100,): 6, (-1,): 7, False: 8}


def test_canonical_sorts_by_encoded_key_bytes(interp):
    shuffled = dict(reversed(list(RFC8949_KEYS.items())))
    assert dumps(interp, shuffled, canonical=True) == h(
        "a8 0a01 186402 2003 617a04 62616105 81186406 812007 f408")
    assert dumps(interp, shuffled, canonical="length-first") == h(
        "a8 0a01 2003 f408 186402 617a04 812007 62616105 81186406")


def test_canonical_applies_to_nested_maps_and_key_encodings(interp):
    value = [{"b": {2: 0, 1: 0}, "a": 0}, {(1.5, 1): 0, (1,): 0}]
    assert dumps(interp, value, canonical=True) == h(
        "82 a2 616100 6162 a2 0100 0200 a2 810100 82f93e0001 00")


def test_canonical_rejects_distinct_keys_that_encode_alike(interp):
    # Two NaN objects are two distinct dict keys, yet both encode as f97e00:
    # deterministic encoding cannot order them, so it refuses.
    out = run_snippet(interp, (
        "from protocols.cbor import dumps, CBOREncodeError\n"
        "m = {float('nan'): 1, float('nan'): 2}\n"
        "print(len(m))\n"
        "try:\n"
        "    dumps(m, canonical=True)\n"
        "    print('returned')\n"
        "except CBOREncodeError:\n"
        "    print('ok')\n"
    ))
    assert out.split() == ["2", "ok"]


# ---------------------------------------------------------------- hostile input

@pytest.mark.parametrize("encoded", [
    "1b000000e8d4a51000", "3903e7", "fb3ff199999999999a", "fa47c35000", "4401020304", "6449455446",
    "83010203", "a26161016162820203", "c249010000000000000000", "d82076687474703a2f2f7777772e6578616d706c652e636f6d",
    "5f42010243030405ff", "7f657374726561646d696e67ff", "9f018202039f0405ffff", "bf61610161629f0203ffff",
    "f8ff",
])
def test_every_truncation_names_the_byte_offset(interp, encoded):
    data = h(encoded)
    loads(interp, data)                     # the whole item decodes
    for cut in range(len(data)):
        message = decode_error(interp, data[:cut])
        assert 0 <= byte_offset(message) <= cut, message


@pytest.mark.parametrize("encoded, offset, word", [
    ("8201", 0, "exceeds"),                         # 2 items, 1 byte left
    ("a201", 0, "exceeds"),                         # 2 pairs need at least 4 bytes
    ("a2010203", 0, "exceeds"),
    ("9a00010000" + "00" * 100, 0, "exceeds"),
    ("4201", 1, "remain"),                          # 2 content bytes, 1 left
    ("64010203", 1, "remain"),
])
def test_a_length_the_input_cannot_hold_is_refused_up_front(interp, encoded, offset, word):
    # Judged from the head alone, before any item or byte is read.
    message = decode_error(interp, h(encoded))
    assert byte_offset(message) == offset
    assert word in message


def test_truncation_offset_is_where_data_ran_out(interp):
    assert byte_offset(decode_error(interp, h("8301021a0000"))) == 4    # the 4-byte argument starts at 4
    assert byte_offset(decode_error(interp, h("820164616263"))) == 3    # the 4 text bytes start at 3
    assert byte_offset(decode_error(interp, b"")) == 0


@pytest.mark.parametrize("encoded", [
    "5bffffffffffffffff", "7bffffffffffffffff", "9bffffffffffffffff", "bbffffffffffffffff",
    "5b7fffffffffffffff00", "9b00000000ffffffff00", "ba7fffffff0000", "5a7fffffff", "9a7fffffff",
    "5f5bffffffffffffffffff", "7f7bffffffffffffffffff", "c29bffffffffffffffff",
    "bb8000000000000000" + "00" * 16,
])
def test_declared_length_beyond_the_input_is_rejected_before_allocation(interp, encoded):
    start = time.monotonic()
    message = decode_error(interp, h(encoded))
    assert time.monotonic() - start < 1.0
    byte_offset(message)


def nested(opener, closer, n):
    return h(opener * n + "00" + closer * n)


NESTINGS = [("81", ""), ("9f", "ff"), ("a100", ""), ("bf00", "ff"), ("c6", "")]


@pytest.mark.parametrize("opener, closer", NESTINGS)
def test_nesting_beyond_the_cap_is_rejected(interp, opener, closer):
    start = time.monotonic()
    message = decode_error(interp, nested(opener, closer, 1000))
    assert time.monotonic() - start < 1.0
    assert "nesting" in message
    byte_offset(message)
    # The cap is 32 levels below the top item.
    loads(interp, nested(opener, closer, 32))
    assert "nesting" in decode_error(interp, nested(opener, closer, 33))


def test_max_depth_argument(interp):
    data = nested("81", "", 5)
    assert_same(loads(interp, data, max_depth=5), [[[[[0]]]]])
    assert "nesting" in decode_error(interp, data, max_depth=4)
    # MicroPython's unix port runs out of stack somewhat beyond 100 levels.
    value = loads(interp, nested("81", "", 60), max_depth=60)
    for _ in range(60):
        assert type(value) is list and len(value) == 1
        value = value[0]
    assert_same(value, 0)


def test_raised_max_depth_still_fails_cleanly_when_the_stack_runs_out(interp):
    # With the cap lifted far beyond what the interpreter's stack can recurse,
    # the RecursionError (or MicroPython's RuntimeError) still comes out as a
    # CBORDecodeError naming the byte offset.
    message = decode_error(interp, nested("81", "", 200000), wrapped_ok=True, max_depth=10**9)
    byte_offset(message)


def test_trailing_bytes(interp):
    message = decode_error(interp, h("0102"))
    assert byte_offset(message) == 1
    assert "trailing" in message
    assert_same(loads(interp, h("0102"), allow_trailing=True), 1)
    assert_same(loads(interp, h("8101ff"), allow_trailing=True), [1])
    decode_error(interp, h("8101ff"))


def test_decode_prefix_returns_the_offset(interp):
    seq = h("01 6161 820203 f97e00 a0")
    got = []
    offset = 0
    while offset < len(seq):
        value, offset = call(interp, "decode_prefix", seq, offset)
        got.append((value, offset))
    assert [o for _, o in got] == [1, 3, 6, 9, 10]
    assert_same([v for v, _ in got], [1, "a", [2, 3], NAN, {}])
    name, message = error_of(interp, "decode_prefix", seq, 10)
    assert name == "CBORDecodeError" and byte_offset(message) == 10
    name, message = error_of(interp, "decode_prefix", h("0118"), 1)
    assert name == "CBORDecodeError" and byte_offset(message) == 2


@pytest.mark.parametrize("offset", [-1, -5, 11, 2**70])
def test_decode_prefix_rejects_an_offset_outside_the_data(interp, offset):
    name, _ = error_of(interp, "decode_prefix", h("00") * 10, offset)
    assert name == "CBORDecodeError"


@pytest.mark.parametrize("value", ["00", 0, None, [0], "x"])
def test_input_must_be_bytes(interp, value):
    name, _ = error_of(interp, "loads", value)
    assert name == "CBORDecodeError"


def test_bytearray_input(interp):
    assert_same(loads(interp, bytearray(h("83010203"))), [1, 2, 3])


@pytest.mark.parametrize("encoded, offset, why", [
    ("62c0ae", 0, "overlong encoding of '.'"),
    ("63e08080", 0, "overlong three-byte NUL"),
    ("64f0808080", 0, "overlong four-byte NUL"),
    ("63eda080", 0, "UTF-16 surrogate D800"),
    ("63edbfbf", 0, "UTF-16 surrogate DFFF"),
    ("64f4908080", 0, "code point above U+10FFFF"),
    ("65f888808080", 0, "five-byte lead"),
    ("6180", 0, "lone continuation byte"),
    ("61c3", 0, "truncated two-byte sequence"),
    ("62e282", 0, "truncated three-byte sequence"),
    ("63e228a1", 0, "bad second byte"),
    ("61ff", 0, "invalid byte FF"),
    ("8261616180", 3, "second item of an array"),
    ("7f61c361bcff", 1, "a character split across chunks (RFC 8949 section 3.2.3)"),
    ("7f62c3bc61c3ff", 4, "second chunk ends mid-character"),
])
def test_invalid_utf8_text_is_rejected(interp, encoded, offset, why):
    message = decode_error(interp, h(encoded))
    assert byte_offset(message) == offset, why


@pytest.mark.parametrize("encoded, value", [
    ("62c3bc", "\u00fc"), ("63ed9fbf", "\ud7ff"), ("63ee8080", "\ue000"), ("63efbfbf", "\uffff"),
    ("64f0908080", "\U00010000"), ("64f48fbfbf", "\U0010ffff"), ("617f", "\x7f"), ("6100", "\x00"),
    ("7f62c3bc63e6b0b4ff", "\u00fc\u6c34"), ("7f6060ff", ""), ("7fff", ""),
])
def test_valid_utf8_edges_decode(interp, encoded, value):
    assert_same(loads(interp, h(encoded)), value)


@pytest.mark.parametrize("value", ["\ud800", "a\udbff\udc00", "\udfffz"])
def test_text_with_surrogates_cannot_be_encoded(interp, value):
    assert error_of(interp, "dumps", value)[0] == "CBOREncodeError"


@pytest.mark.parametrize("encoded", [
    "c001", "c0f6", "c04401020304", "c1a1616100", "c16161", "c1f5", "c1f4", "c180",
    "c201", "c260", "c3f93c00", "c2c24100",
])
def test_standard_tags_with_content_of_the_wrong_type_are_rejected(interp, encoded):
    assert byte_offset(decode_error(interp, h(encoded))) == 0


@pytest.mark.parametrize("encoded, value", [
    ("c06161", Tag(0, "a")), ("c100", Tag(1, 0)), ("c13bffffffffffffffff", Tag(1, -2**64)),
    ("c1f93e00", Tag(1, 1.5)), ("c1c249010000000000000000", Tag(1, 2**64)),
    ("c4820102", Tag(4, [1, 2])), ("d9d9f780", Tag(55799, [])),
])
def test_standard_tags_with_the_right_content_type(interp, encoded, value):
    assert_same(loads(interp, h(encoded)), value)
    assert dumps(interp, value) == h(encoded)
