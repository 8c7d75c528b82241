"""protocols/cbor.py against published test vectors, on CPython and MicroPython.

Sources (see tests/vectors/cbor/SOURCES.md):
- appendix_a.json: RFC 7049 Appendix A in JSON (cbor/test-vectors);
- cbor-wg_rfc8949/rfc8949-appendixA/*.cbor: RFC 8949 Appendix A, and
  cbor-wg_rfc8949/rfc8949/{good,bad}.cbor: the CBOR WG's edge cases
  (cbor-wg/cbor-test-vectors);
- fail.pr5.json: 679 not-well-formed items (cbor/test-vectors PR #5).

The cbor-wg files are CBOR containers: one map {"title", "description",
"fail"?, "tests": [{"description", "encoded": bstr, "decoded"?, "roundtrip"?,
"fail"?}, ...]}, where "decoded" is the expected value written as a CBOR item
(the .edn files beside them are the same thing in diagnostic notation). They
are read here with cbor2 on CPython, never with the codec under test, and
cbor2's values are mapped onto ours (CBORTag -> Tag, and so on).
"""
import base64
import io
import json
import math
import time
from pathlib import Path

import cbor2
import pytest

from protocols.cbor import CBORSimpleValue, Tag, undefined
from tests.interpreters import RemoteError
from tests.test_cbor import assert_same, byte_offset, decode_error, dumps, is_wrapped, loads

VECTORS = Path(__file__).resolve().parent / "vectors" / "cbor"
INF = float("inf")
NAN = float("nan")


# ---------------------------------------------------------------- appendix_a.json (RFC 7049 Appendix A)

APPENDIX_A = json.loads((VECTORS / "appendix_a.json").read_text())

DECODE_ERROR = object()

# The entries whose value JSON cannot hold, written out by hand: hex -> (the
# file's diagnostic notation, the value our codec must give).
DIAGNOSTIC = {
    "f97c00": ("Infinity", INF),
    "f97e00": ("NaN", NAN),
    "f9fc00": ("-Infinity", -INF),
    "fa7f800000": ("Infinity", INF),
    "fa7fc00000": ("NaN", NAN),
    "faff800000": ("-Infinity", -INF),
    "fb7ff0000000000000": ("Infinity", INF),
    "fb7ff8000000000000": ("NaN", NAN),
    "fbfff0000000000000": ("-Infinity", -INF),
    "f7": ("undefined", undefined),
    "f0": ("simple(16)", CBORSimpleValue(16)),
    # RFC 7049 listed f818 as simple(24), but RFC 8949 section 3.3 makes a
    # two-byte simple value below 32 not well-formed (cbor/test-vectors issue
    # #7), so an RFC 8949 decoder must reject it.
    "f818": ("simple(24)", DECODE_ERROR),
    "f8ff": ("simple(255)", CBORSimpleValue(255)),
    "c074323031332d30332d32315432303a30343a30305a": ('0("2013-03-21T20:04:00Z")', Tag(0, "2013-03-21T20:04:00Z")),
    "c11a514b67b0": ("1(1363896240)", Tag(1, 1363896240)),
    "c1fb41d452d9ec200000": ("1(1363896240.5)", Tag(1, 1363896240.5)),
    "d74401020304": ("23(h'01020304')", Tag(23, b"\x01\x02\x03\x04")),
    "d818456449455446": ("24(h'6449455446')", Tag(24, b"dIETF")),
    "d82076687474703a2f2f7777772e6578616d706c652e636f6d":
        ('32("http://www.example.com")', Tag(32, "http://www.example.com")),
    "40": ("h''", b""),
    "4401020304": ("h'01020304'", b"\x01\x02\x03\x04"),
    "a201020304": ("{1: 2, 3: 4}", {1: 2, 3: 4}),
    "5f42010243030405ff": ("(_ h'0102', h'030405')", b"\x01\x02\x03\x04\x05"),
}

# Appendix A's bignums are 2**64 and -2**64 - 1; JSON keeps them exact as Python ints.
assert APPENDIX_A[11]["decoded"] == 2**64 and APPENDIX_A[13]["decoded"] == -2**64 - 1


def expected_of(entry):
    if "decoded" in entry:
        return entry["decoded"]
    return DIAGNOSTIC[entry["hex"]][1]


def test_appendix_a_json_is_complete_and_consistent():
    assert len(APPENDIX_A) == 82
    for entry in APPENDIX_A:
        assert base64.b64decode(entry["cbor"]) == bytes.fromhex(entry["hex"])
    with_diagnostic = {e["hex"]: e["diagnostic"] for e in APPENDIX_A if "diagnostic" in e}
    assert with_diagnostic == {k: v[0] for k, v in DIAGNOSTIC.items()}


@pytest.mark.parametrize("entry", APPENDIX_A, ids=[e["hex"][:24] for e in APPENDIX_A])
def test_rfc7049_appendix_a(interp, entry):
    data = bytes.fromhex(entry["hex"])
    expected = expected_of(entry)
    if expected is DECODE_ERROR:
        decode_error(interp, data)
        return
    assert_same(loads(interp, data), expected)
    if entry["roundtrip"]:
        assert dumps(interp, expected).hex() == entry["hex"]


# ---------------------------------------------------------------- cbor-wg containers

def _keep_tag(number):
    return lambda value, immutable: cbor2.CBORTag(number, value)


# cbor2 turns tags 0 and 1 into datetimes; keep every tag the vectors use as a
# plain tag, as our codec does. Bignums (2, 3) stay cbor2's ints.
_SEMANTIC = {n: _keep_tag(n) for n in (0, 1, 23, 24, 32)}


def from_cbor2(value):
    """Map a value cbor2 decoded onto the types our codec returns."""
    if isinstance(value, cbor2.CBORTag):
        return Tag(value.tag, from_cbor2(value.value))
    if isinstance(value, cbor2.CBORSimpleValue):
        return CBORSimpleValue(value.value)
    if value is cbor2.undefined:
        return undefined
    if isinstance(value, list):
        return [from_cbor2(x) for x in value]
    if isinstance(value, tuple):
        return tuple(from_cbor2(x) for x in value)
    if isinstance(value, (dict, cbor2.frozendict)):
        return {from_cbor2(k): from_cbor2(v) for k, v in value.items()}
    return value


def load_container(relpath):
    doc = cbor2.loads((VECTORS / "cbor-wg_rfc8949" / relpath).read_bytes(),
                      semantic_decoders=_SEMANTIC, max_depth=100000)
    cases = []
    for test in doc["tests"]:
        case = {
            "file": relpath,
            "description": test["description"],
            "encoded": test["encoded"],
            "fail": test.get("fail", doc.get("fail", False)),
            "roundtrip": test.get("roundtrip", True),
        }
        if "decoded" in test:
            try:
                case["decoded"] = from_cbor2(test["decoded"])
            except (RecursionError, TypeError):
                case["decoded"] = None       # only for the cases we decline below
        cases.append(case)
    return cases


APPENDIX_FILES = ["mt0", "mt1", "mt2", "mt3", "mt4", "mt5", "mt6", "mt7-float", "mt7-simple", "streaming"]
RFC8949_APPENDIX = [c for name in APPENDIX_FILES for c in load_container("rfc8949-appendixA/%s.cbor" % name)]
GOOD = load_container("rfc8949/good.cbor")
BAD = load_container("rfc8949/bad.cbor")

# Well-formed and valid items this codec declines on purpose: it caps nesting at
# 32 levels (protocols/cbor.py MAX_DEPTH) and does not decode maps as map keys
# (a Python dict is not hashable). Both limits answer with CBORDecodeError.
DECLINED = {
    "array: deeply-nested": "nesting deeper than the 32-level cap",
    "map: deeply-nested key": "maps as map keys, nested beyond the cap",
    "map: deeply-nested value": "nesting deeper than the 32-level cap",
    "Map: interesting keys": "maps ({}, {[]: []}, ...) as map keys",
}


def _id(case):
    return "%s:%s" % (case["file"].split("/")[-1][:-5], case["description"][:48])


def test_container_counts():
    assert len(RFC8949_APPENDIX) == 81
    assert len(GOOD) == 88 and not any(c["fail"] for c in GOOD)
    assert len(BAD) == 47 and all(c["fail"] for c in BAD)
    assert set(DECLINED) <= {c["description"] for c in GOOD}


@pytest.mark.parametrize("case", RFC8949_APPENDIX + GOOD, ids=[_id(c) for c in RFC8949_APPENDIX + GOOD])
def test_cbor_wg_good(interp, case):
    if case["description"] in DECLINED:
        decode_error(interp, case["encoded"])
        return
    value = loads(interp, case["encoded"])
    assert_same(value, case["decoded"])
    if case["roundtrip"]:
        assert dumps(interp, case["decoded"]).hex() == case["encoded"].hex()


@pytest.mark.parametrize("case", BAD, ids=[_id(c) for c in BAD])
def test_cbor_wg_bad(interp, case):
    byte_offset(decode_error(interp, case["encoded"]))


def test_rfc8949_appendix_a_floats_compare_nan_properly(interp):
    # The NaN cases must really come back as NaN, in each width.
    nans = [c for c in RFC8949_APPENDIX if isinstance(c.get("decoded"), float) and math.isnan(c["decoded"])]
    assert len(nans) == 3
    for case in nans:
        value = loads(interp, case["encoded"])
        assert isinstance(value, float) and value != value


# ---------------------------------------------------------------- fail.pr5.json

FAIL_PR5 = [bytes.fromhex(e["hex"]) for e in json.loads((VECTORS / "fail.pr5.json").read_text())]


def test_fail_pr5_count():
    assert len(FAIL_PR5) == 679


def test_fail_pr5_every_item_raises_cbor_decode_error(interp):
    # Each of the 679 not-well-formed items must raise CBORDecodeError, and
    # nothing else: no other exception, no value, no hang.
    wrong = []
    start = time.monotonic()
    for data in FAIL_PR5:
        try:
            value = loads(interp, data)
            wrong.append((data.hex(), "returned %r" % (value,)))
        except RemoteError as e:
            if e.name != "CBORDecodeError":
                wrong.append((data.hex(), e.name + ": " + e.message))
            elif "at byte" not in e.message or is_wrapped(e.message):
                wrong.append((data.hex(), "message: " + e.message))
    assert wrong == []
    assert time.monotonic() - start < 10


def test_fail_pr5_agrees_with_cbor2():
    # A check on the vectors themselves: cbor2 rejects every one too. (cbor2.loads
    # ignores trailing bytes, as in 80ff, so read through a stream and count them.)
    accepted = []
    for data in FAIL_PR5:
        stream = io.BytesIO(data)
        try:
            cbor2.CBORDecoder(stream).decode()
        except cbor2.CBORDecodeError:
            continue
        if stream.tell() == len(data):
            accepted.append(data.hex())
    assert accepted == []
