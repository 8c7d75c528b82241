"""protocols/cbor.py: property-based tests against cbor2, and a seeded fuzz, on
CPython and MicroPython.

Hypothesis generates nested values (ints including bignums past 2**64, floats
including NaN, infinities and -0.0, text without surrogates, bytes, lists, maps
with hashable keys, booleans, None). cbor2 (CPython only) is the reference:
it reads what our codec writes on each interpreter, and our codec reads what
cbor2 writes. Canonical output is compared byte for byte.
"""
import math
import random
import time

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.interpreters import RemoteError
from tests.test_cbor import RFC8949_KEYS, assert_same, call, decode_error, dumps, is_wrapped, loads, run_snippet
from tests.test_cbor_vectors import APPENDIX_A, FAIL_PR5, GOOD, RFC8949_APPENDIX, from_cbor2

# `interp` is function-scoped but stateless between examples, so reusing it
# across the examples of one test is safe.
PROPERTY = settings(
    max_examples=int(__import__("os").environ.get("CBOR_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# ---------------------------------------------------------------- strategies

BOUNDARIES = [0, 23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1, 2**64]
integers = st.one_of(
    st.integers(),
    st.integers(min_value=-2**130, max_value=2**130),
    st.sampled_from(BOUNDARIES + [-1 - n for n in BOUNDARIES]),
)
floats = st.one_of(
    st.floats(),                                              # nan, +-inf, -0.0, subnormals
    st.floats(width=16),                                      # exact halves
    st.floats(width=32),                                      # exact singles
    # few significant bits at every exponent: the edges of the half and single ranges
    st.builds(math.ldexp, st.integers(-2**12, 2**12), st.integers(-170, 150)),
    st.sampled_from([float("nan"), float("inf"), float("-inf"), -0.0, 0.0, 65504.0, 5.960464477539063e-08]),
)
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
scalars = st.one_of(st.none(), st.booleans(), integers, floats, text, st.binary(max_size=12))
key_scalars = st.one_of(
    st.none(), st.booleans(), integers, st.floats(allow_nan=False), text, st.binary(max_size=12),
)
keys = st.one_of(key_scalars, st.lists(key_scalars, max_size=3).map(tuple))


def containers(children):
    return st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(keys, children, max_size=5),
    )


values = st.recursive(scalars, containers, max_leaves=25)


def cbor2_reads(data):
    """cbor2's reading of data, as our types; the whole input must be one item."""
    return from_cbor2(cbor2.loads(data))


# ---------------------------------------------------------------- interoperability

@PROPERTY
@given(value=values)
def test_cbor2_reads_what_we_write(interp, value):
    for canonical in (False, True, "length-first"):
        data = dumps(interp, value, canonical=canonical)
        assert_same(cbor2_reads(data), value)


@PROPERTY
@given(value=values)
def test_we_read_what_cbor2_writes(interp, value):
    assert_same(loads(interp, cbor2.dumps(value)), value)
    assert_same(loads(interp, cbor2.dumps(value, canonical=True)), value)


@PROPERTY
@given(value=values)
def test_round_trip(interp, value):
    data = dumps(interp, value)
    assert_same(loads(interp, data), value)
    # Decoding then re-encoding gives the same bytes (preferred serialisation
    # is a fixed point; maps keep their order).
    assert dumps(interp, loads(interp, data)) == data


# ---------------------------------------------------------------- canonical forms

@PROPERTY
@given(value=values)
def test_length_first_matches_cbor2_canonical(interp, value):
    assert dumps(interp, value, canonical="length-first") == cbor2.dumps(value, canonical=True)


def _same_length_keys():
    # Key families whose members all encode to the same number of bytes.
    ascii_text = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
    fixed = [
        st.integers(-24, 23),                                     # 1 byte
        st.one_of(st.integers(24, 255), st.integers(-256, -25)),  # 2 bytes
        st.one_of(st.integers(2**16, 2**32 - 1), st.integers(-2**32, -2**16 - 1)),  # 5 bytes
        st.sampled_from([False, True, None]),                     # 1 byte
    ]
    for n in (0, 1, 3, 23, 24):
        fixed.append(st.text(ascii_text, min_size=n, max_size=n))
        fixed.append(st.binary(min_size=n, max_size=n))
    return st.sampled_from(fixed)


def equal_length_maps(children):
    return st.one_of(
        st.lists(children, max_size=4),
        _same_length_keys().flatmap(lambda family: st.dictionaries(family, children, max_size=6)),
    )


equal_length_values = st.recursive(scalars, equal_length_maps, max_leaves=25)


@PROPERTY
@given(value=equal_length_values)
def test_bytewise_matches_cbor2_canonical_when_keys_encode_alike_in_length(interp, value):
    ours = dumps(interp, value, canonical=True)
    assert ours == cbor2.dumps(value, canonical=True)
    assert ours == dumps(interp, value, canonical="length-first")


def test_bytewise_and_length_first_differ_on_rfc8949_example(interp):
    # RFC 8949 section 4.2.1: 10, 100, -1, "z", "aa", [100], [-1], false is
    # bytewise order; length-first (cbor2's canonical) puts -1 and false before 100.
    ours = dumps(interp, RFC8949_KEYS, canonical=True)
    theirs = cbor2.dumps(RFC8949_KEYS, canonical=True)
    assert ours != theirs
    assert list(cbor2.loads(ours)) == [10, 100, -1, "z", "aa", (100,), (-1,), False]
    assert list(cbor2.loads(theirs)) == [10, -1, False, 100, "z", (-1,), "aa", (100,)]
    assert dumps(interp, RFC8949_KEYS, canonical="length-first") == theirs


@PROPERTY
@given(value=values)
def test_canonical_does_not_depend_on_insertion_order(interp, value):
    def reverse_maps(v):
        if isinstance(v, dict):
            return {k: reverse_maps(x) for k, x in reversed(list(v.items()))}
        if isinstance(v, list):
            return [reverse_maps(x) for x in v]
        return v

    flipped = reverse_maps(value)
    for canonical in (True, "length-first"):
        assert dumps(interp, value, canonical=canonical) == dumps(interp, flipped, canonical=canonical)


# ---------------------------------------------------------------- UTF-8 check

# protocols/cbor.py checks UTF-8 itself on MicroPython, whose codec is lax; the
# check must accept exactly what CPython's strict codec accepts.

def _strict_utf8(data):
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


_FRAGMENTS = [b"a", b"\x00", b"\x7f", b"\xc2\x80", b"\xdf\xbf", b"\xc3\xbc", b"\xe0\xa0\x80", b"\xed\x9f\xbf",
              b"\xee\x80\x80", b"\xef\xbf\xbf", b"\xf0\x90\x80\x80", b"\xf4\x8f\xbf\xbf", b"\xed\xa0\x80",
              b"\xe0\x9f\xbf", b"\xf0\x8f\xbf\xbf", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\xc1\xbf", b"\x80", b"\xbf",
              b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"\xf5\x80\x80\x80", b"\xf8\x88\x80\x80\x80", b"\xfe", b"\xff"]
utf8_candidates = st.one_of(
    st.binary(max_size=8),
    st.lists(st.sampled_from(_FRAGMENTS), max_size=5).map(b"".join),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=4).flatmap(
        lambda t: st.integers(0, len(t.encode())).map(lambda cut: t.encode()[:cut])),
)


@PROPERTY
@given(data=utf8_candidates)
def test_utf8_check_agrees_with_cpython_strict_codec(interp, data):
    valid = _strict_utf8(data)
    assert interp.call("protocols.cbor_extras", "utf8_valid", data) == valid
    # And a text string holding these bytes decodes, or not, alike on both interpreters.
    item = bytes([0x78, len(data)]) + data
    if valid:
        assert loads(interp, item) == data.decode("utf-8")
    else:
        decode_error(interp, item)


def test_utf8_check_every_lead_and_second_byte(interp):
    # Every lead byte 0x80..0xff with every second byte around the continuation
    # range, followed by 0, 1 or 2 continuation bytes.
    out = run_snippet(interp, (
        "from protocols.cbor_extras import utf8_valid as _utf8_valid\n"
        "bits = []\n"
        "for lead in range(0x80, 0x100):\n"
        "    for second in range(0x70, 0xc8):\n"
        "        for tail in (b'', b'\\x80', b'\\xbf\\x80'):\n"
        "            bits.append('1' if _utf8_valid(bytes([lead, second]) + tail) else '0')\n"
        "print(''.join(bits))\n"
    ))
    expected = "".join(
        "1" if _strict_utf8(bytes([lead, second]) + tail) else "0"
        for lead in range(0x80, 0x100) for second in range(0x70, 0xC8) for tail in (b"", b"\x80", b"\xbf\x80"))
    assert out.strip() == expected


# ---------------------------------------------------------------- fuzz

def _corpus():
    seeds = [bytes.fromhex(e["hex"]) for e in APPENDIX_A]
    seeds += [c["encoded"] for c in RFC8949_APPENDIX + GOOD if len(c["encoded"]) < 200]
    seeds += FAIL_PR5[::7]
    rng = random.Random(8949)
    for _ in range(40):
        seeds.append(cbor2.dumps(_random_value(rng, 3)))
    return seeds


def _random_value(rng, depth):
    kind = rng.randrange(9 if depth else 6)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.randrange(-2**70, 2**70) >> rng.randrange(70)
    if kind == 2:
        return rng.choice([rng.random() * 10 ** rng.randrange(-40, 40), float("nan"), -0.0, 1.5])
    if kind == 3:
        return "".join(chr(rng.choice([0x41, 0xFC, 0x6C34, 0x10151]) + rng.randrange(3)) for _ in range(rng.randrange(6)))
    if kind == 4:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(6)))
    if kind == 5:
        return rng.randrange(-30, 30)
    if kind in (6, 7):
        return [_random_value(rng, depth - 1) for _ in range(rng.randrange(4))]
    return {rng.randrange(-30, 300): _random_value(rng, depth - 1) for _ in range(rng.randrange(4))}


def _mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randrange(1, 4)):
        op = rng.randrange(5)
        if op == 0 and data:                                     # flip a bit
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
        elif op == 1 and data:                                   # truncate
            del data[rng.randrange(len(data)):]
        elif op == 2:                                            # insert bytes
            i = rng.randrange(len(data) + 1)
            data[i:i] = bytes(rng.choice([0x00, 0x18, 0x1B, 0x5F, 0x7F, 0x9F, 0xBF, 0xC2, 0xF8, 0xFF, rng.randrange(256)])
                              for _ in range(rng.randrange(1, 4)))
        elif op == 3 and data:                                   # overwrite with an interesting byte
            data[rng.randrange(len(data))] = rng.choice([0xFF, 0x1F, 0x3F, 0x5B, 0x9B, 0xBB, 0xDB, 0xFB, 0x00])
        elif op == 4 and data:                                   # duplicate a slice
            i = rng.randrange(len(data))
            j = rng.randrange(i, min(len(data), i + 8) + 1)
            data[j:j] = data[i:j]
    return bytes(data)


def fuzz_inputs(seed, count):
    rng = random.Random(seed)
    corpus = _corpus()
    inputs = []
    for n in range(count):
        if n % 4 == 0:
            inputs.append(bytes(rng.randrange(256) for _ in range(rng.randrange(0, 24))))
        else:
            inputs.append(_mutate(rng, rng.choice(corpus)))
    return inputs


FUZZ_COUNT = 3000


@pytest.mark.parametrize("seed", [1, 2])
def test_fuzz_only_cbor_decode_error_comes_out(interp, seed):
    inputs = fuzz_inputs(seed, FUZZ_COUNT // 2)
    start = time.monotonic()
    wrong = []
    decoded = 0
    for i, data in enumerate(inputs):
        kwargs = {"allow_trailing": True} if i % 5 == 0 else {}
        t0 = time.monotonic()
        try:
            loads(interp, data, **kwargs)
            decoded += 1
        except RemoteError as e:
            if e.name != "CBORDecodeError":
                wrong.append((data.hex(), e.name, e.message))
            elif "at byte" not in e.message or is_wrapped(e.message):
                wrong.append((data.hex(), "message", e.message))
        if time.monotonic() - t0 > 1.0:
            wrong.append((data.hex(), "slow", time.monotonic() - t0))
    assert wrong == []
    assert time.monotonic() - start < 20
    # The mutations should leave a fair share of inputs decodable, or the fuzz
    # only ever exercises the first byte.
    assert decoded > len(inputs) // 20


def test_fuzz_is_reproducible():
    assert fuzz_inputs(1, 50) == fuzz_inputs(1, 50)
