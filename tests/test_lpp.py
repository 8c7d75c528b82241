"""CayenneLPP encoder/decoder, on CPython and MicroPython alike."""
import json
import struct
from pathlib import Path

import pytest

from protocols import lpp
from tests.interpreters import RemoteError
from tests.single_precision import Float32, f32

M = "protocols.lpp"
VECTORS = json.loads((Path(__file__).parent / "vectors" / "cayennelpp" / "cayennelpp_aunit_vectors.json")
                     .read_text(encoding="utf-8"))

# ---- upstream encoder vectors (ElectronicCats/CayenneLPP test/aunit/main.cpp)

# Each upstream call as our items, and the values decode gives back.
ENCODER_ITEMS = {
    "addTemperature(3,27.2); addRelativeHumidity(2,54)":
        ([(3, "temperature", 27.2), (2, "humidity", 54)], [(3, "temperature", 27.2), (2, "humidity", 54.0)]),
    "reset(); addTemperature(5,25.5)":
        ([(5, "temperature", 25.5)], [(5, "temperature", 25.5)]),
    "addPower(1,0xFFFF)": ([(1, "power", 0xFFFF)], [(1, "power", 65535)]),
    "addTemperature(5,-4.7)": ([(5, "temperature", -4.7)], [(5, "temperature", -4.7)]),
    "addRelativeHumidity(2,54)": ([(2, "humidity", 54)], [(2, "humidity", 54.0)]),
    "addGenericSensor(1,998)": ([(1, "generic", 998)], [(1, "generic", 998)]),
    "addAccelerometer(6,1.234,-1.234,0)":
        ([(6, "accelerometer", (1.234, -1.234, 0))], [(6, "accelerometer", (1.234, -1.234, 0.0))]),
    "addVoltage(3,224.56)": ([(3, "voltage", 224.56)], [(3, "voltage", 224.56)]),
    "addCurrent(1,0.237)": ([(1, "current", 0.237)], [(1, "current", 0.237)]),
    "addFrequency(1,868100000)": ([(1, "frequency", 868100000)], [(1, "frequency", 868100000)]),
    "addAltitude(5,-17)": ([(5, "altitude", -17)], [(5, "altitude", -17)]),
    "addConcentration(4,4079)": ([(4, "concentration", 4079)], [(4, "concentration", 4079)]),
    "addColour(7,24,239,15)": ([(7, "colour", (24, 239, 15))], [(7, "colour", (24, 239, 15))]),
    "addPower(5,3450)": ([(5, "power", 3450)], [(5, "power", 3450)]),
    "addDistance(1,0.034)": ([(1, "distance", 0.034)], [(1, "distance", 0.034)]),
    "addEnergy(1,7953.2)": ([(1, "energy", 7953.2)], [(1, "energy", 7953.2)]),
    "addDirection(1,256)": ([(1, "direction", 256)], [(1, "direction", 256)]),
    # Latitude 42.3518, not 42.3519: see test_gps_vector_rounds_where_the_c_library_truncates.
    "addGPS(1,42.3519,-87.9094,10)":
        ([(1, "gps", (42.3518, -87.9094, 10))], [(1, "gps", (42.3518, -87.9094, 10.0))]),
    "addSwitch(5,1)": ([(5, "switch", 1)], [(5, "switch", 1)]),
}

# Two upstream expectations are not what the library's own encoder writes, so
# these cases are held to the encoder's real output (independent_hex):
# - Concentration: the test asks for channel 4 but expects channel byte 0x05; the
#   encoder writes the channel it is given (addField puts `channel` first).
# - Colour: the test expects b, g, r (0f ef 18); addColour writes r, g, b in
#   argument order (18 ef 0f), as does every LPP decoder.
FLAGGED = {"addConcentration(4,4079)", "addColour(7,24,239,15)"}

ENC = VECTORS["encoder_cases"]


def _expected_hex(case):
    if case["call"] in FLAGGED:
        assert not case["matches_independent_encoder"]
        return case["independent_hex"]
    assert case["matches_independent_encoder"]
    return case["expected_hex_upstream"]


def test_every_upstream_case_is_mapped_and_only_the_two_known_ones_are_flagged():
    assert len(ENC) == 19 and len(VECTORS["decoder_cases"]) == 8
    assert set(ENCODER_ITEMS) == {c["call"] for c in ENC}
    assert {c["call"] for c in ENC if not c["matches_independent_encoder"]} == FLAGGED


@pytest.mark.parametrize("case", ENC, ids=[c["call"] for c in ENC])
def test_upstream_encoder_vector(interp, case):
    items, decoded = ENCODER_ITEMS[case["call"]]
    expected = bytes.fromhex(_expected_hex(case))
    assert interp.call(M, "encode", items) == expected
    assert interp.call(M, "decode", expected) == decoded
    assert len(expected) == sum(interp.call(M, "size", it[1]) for it in items)


def test_flagged_upstream_bytes_are_what_the_library_would_decode_differently(interp):
    # The upstream expected bytes are valid LPP; they just say something else
    # than the call: concentration on channel 5, and colour r=15, b=24.
    assert interp.call(M, "decode", bytes.fromhex("057d0fef")) == [(5, "concentration", 4079)]
    assert interp.call(M, "decode", bytes.fromhex("07870fef18")) == [(7, "colour", (15, 239, 24))]


def test_gps_vector_rounds_where_the_c_library_truncates(interp):
    # addGPS(1, 42.3519, -87.9094, 10) gives latitude 06765e = 423518 upstream:
    # the C library computes 42.3519f * 10000 = 423518.98 in single precision and
    # truncates. We round half away from zero, so 42.3519 gives 423519 (06765f);
    # longitude and altitude are exact either way. The upstream bytes are what
    # 42.3518 encodes to (used above), and they decode to 42.3518.
    upstream = bytes.fromhex(ENC[[c["call"] for c in ENC].index("addGPS(1,42.3519,-87.9094,10)")]["expected_hex_upstream"])
    ours = interp.call(M, "encode", [(1, "gps", (42.3519, -87.9094, 10))])
    assert ours == bytes.fromhex("018806765ff2960a0003e8")
    assert ours[:4] == upstream[:4] and ours[5:] == upstream[5:] and ours[4] == upstream[4] + 1
    assert interp.call(M, "decode", ours) == [(1, "gps", (42.3519, -87.9094, 10.0))]
    # A latitude the C library's truncation and our rounding agree on:
    assert interp.call(M, "encode", [(1, "gps", (42.35184, -87.9094, 10))]) == upstream


# ---- upstream decoder vectors

DECODED = {
    "03670110056700ff": [(3, "temperature", 27.2), (5, "temperature", 25.5)],
    "03240110": ValueError,     # unknown type 0x24
    "0567ff": ValueError,       # temperature needs 2 value bytes, has 1
    "0567ffd1": [(5, "temperature", -4.7)],
    "018806765ef2960a0003e8": [(1, "gps", (42.3518, -87.9094, 10.0))],
    "037457b8": [(3, "voltage", 224.56)],
    "018200000022": [(1, "distance", 0.034)],
    "017633be27a0": [(1, "frequency", 868100000)],
}
DEC = VECTORS["decoder_cases"]


def test_every_upstream_decoder_case_is_mapped():
    assert set(DECODED) == {c["bytes_hex"] for c in DEC}


@pytest.mark.parametrize("case", DEC, ids=[c["bytes_hex"] for c in DEC])
def test_upstream_decoder_vector(interp, case):
    data = bytes.fromhex(case["bytes_hex"])
    want = DECODED[case["bytes_hex"]]
    if want is ValueError:
        with pytest.raises(RemoteError) as e:
            interp.call(M, "decode", data)
        assert e.value.name == "ValueError"
    else:
        assert interp.call(M, "decode", data) == want
        assert len(want) == int(case["expect"].split()[0])   # "2 fields, ..." / "1 field ..."


def test_unknown_type_names_its_offset(interp):
    with pytest.raises(RemoteError) as e:
        interp.call(M, "decode", bytes.fromhex("03240110"))
    assert e.value.name == "ValueError" and "type 36" in e.value.message and "offset 1" in e.value.message
    # after a good item, the offset counts from the start of the data
    with pytest.raises(RemoteError) as e:
        interp.call(M, "decode", bytes.fromhex("0567ffd1 07ff 00".replace(" ", "")))
    assert e.value.name == "ValueError" and "type 255" in e.value.message and "offset 5" in e.value.message


@pytest.mark.parametrize("hexdata", ["05", "0567", "0567ffd103", "03670110 0567".replace(" ", ""),
                                     "018806765ef2960a0003"])
def test_truncated_items_raise(interp, hexdata):
    # The C decoder silently ignores a trailing 1 or 2 bytes; this one does not.
    with pytest.raises(RemoteError) as e:
        interp.call(M, "decode", bytes.fromhex(hexdata))
    assert e.value.name == "ValueError" and "cut short" in e.value.message


def test_empty_payload(interp):
    assert interp.call(M, "encode", []) == b""
    assert interp.call(M, "decode", b"") == []


# ---- the type table

# id, name, bytes per item including the 2-byte header (ElectronicCats src/CayenneLPP.h)
EXPECTED_TYPES = [
    (0, "digital_in", 3), (1, "digital_out", 3), (2, "analog_in", 4), (3, "analog_out", 4),
    (100, "generic", 6), (101, "luminosity", 4), (102, "presence", 3), (103, "temperature", 4),
    (104, "humidity", 3), (113, "accelerometer", 8), (115, "pressure", 4), (116, "voltage", 4),
    (117, "current", 4), (118, "frequency", 6), (120, "percentage", 3), (121, "altitude", 4),
    (125, "concentration", 4), (128, "power", 4), (130, "distance", 6), (131, "energy", 6),
    (132, "direction", 4), (133, "time", 6), (134, "gyrometer", 8), (135, "colour", 5),
    (136, "gps", 11), (142, "switch", 3),
]


def test_type_table_ids_names_and_sizes():
    assert sorted((t[lpp.ID], t[lpp.NAME]) for t in lpp.TYPES) == [(i, n) for i, n, _ in EXPECTED_TYPES]
    assert len({t[lpp.ID] for t in lpp.TYPES}) == len(lpp.TYPES)
    assert len({t[lpp.NAME] for t in lpp.TYPES}) == len(lpp.TYPES)


@pytest.mark.parametrize("type_id,name,nbytes", EXPECTED_TYPES, ids=[t[1] for t in EXPECTED_TYPES])
def test_size_by_name_and_by_id(interp, type_id, name, nbytes):
    assert interp.call(M, "size", name) == nbytes
    assert interp.call(M, "size", type_id) == nbytes


@pytest.mark.parametrize("bad", ["illuminance", 36, 255, -1, True, None, 1.0])
def test_unknown_types_raise(interp, bad):
    for func, arg in (("size", bad), ("encode", [(1, bad, 0)])):
        with pytest.raises(RemoteError) as e:
            interp.call(M, func, arg)
        assert e.value.name == "ValueError"


# ---- every type round-trips at both ends of its range, and one step past raises

def _extremes(t):
    bits = 8 * t[lpp.WIDTH]
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if t[lpp.SIGNED] else (0, (1 << bits) - 1)
    return lo, hi


def _values(t, steps):
    # Exact values for whole steps: ints when the multiplier is 1.
    vals = tuple(s if m == 1 else s / m for s, m in zip(steps, t[lpp.MULTS]))
    return vals[0] if len(vals) == 1 else vals


@pytest.mark.parametrize("t", lpp.TYPES, ids=[t[1] for t in lpp.TYPES])
def test_range_ends_round_trip(interp, t):
    lo, hi = _extremes(t)
    n = len(t[lpp.MULTS])
    for steps in ([lo] * n, [hi] * n, ([lo, hi, 0] if n == 3 else [0])):
        value = _values(t, steps)
        data = interp.call(M, "encode", [(255, t[lpp.NAME], value)])
        assert len(data) == interp.call(M, "size", t[lpp.NAME])
        assert data[:2] == bytes([255, t[lpp.ID]])
        assert interp.call(M, "decode", data) == [(255, t[lpp.NAME], value)]


@pytest.mark.parametrize("t", lpp.TYPES, ids=[t[1] for t in lpp.TYPES])
def test_one_step_out_of_range_raises_naming_the_type(interp, t):
    lo, hi = _extremes(t)
    n = len(t[lpp.MULTS])
    for bad in (lo - 1, hi + 1):
        for i in range(n):
            steps = [0] * n
            steps[i] = bad
            with pytest.raises(RemoteError) as e:
                interp.call(M, "encode", [(1, t[lpp.NAME], _values(t, steps))])
            assert e.value.name == "ValueError"
            assert e.value.message.startswith(t[lpp.NAME]) and "outside" in e.value.message


def test_range_message_is_exact_decimal(interp):
    with pytest.raises(RemoteError) as e:
        interp.call(M, "encode", [(1, "temperature", 3276.8)])
    assert e.value.message == "temperature: 3276.8 is outside -3276.8..3276.7"
    with pytest.raises(RemoteError) as e:
        interp.call(M, "encode", [(1, "humidity", 128)])
    assert e.value.message == "humidity: 128 is outside 0..127.5"
    with pytest.raises(RemoteError) as e:
        interp.call(M, "encode", [(1, "gps", (0, 838.8608, 0))])
    assert e.value.message.startswith("gps value 2: ") and e.value.message.endswith("-838.8608..838.8607")


@pytest.mark.parametrize("item", [
    (1, "voltage", -0.01),      # the C library writes |value| into unsigned types
    (1, "power", -1),
    (1, "power", 65536),        # the C library wraps to 0x0000
    (1, "generic", 4294967296),
    (1, "humidity", -0.25),     # rounds to -1 step, below 0
    (1, "temperature", -3276.85),
    (1, "colour", (256, 0, 0)),
    (1, "colour", (0, 0, -1)),
    (1, "accelerometer", (0, 0, 32.768)),
])
def test_never_clamps_or_wraps(interp, item):
    with pytest.raises(RemoteError) as e:
        interp.call(M, "encode", [item])
    assert e.value.name == "ValueError" and e.value.message.startswith(item[1])


# ---- scaling and rounding

@pytest.mark.parametrize("value,steps", [
    (27.25, 273), (-27.25, -273), (27.24, 272), (-27.26, -273), (0.05, 1), (-0.05, -1),
    (0.04, 0), (-0.04, 0), (-0.0, 0), (3276.7, 32767), (-3276.8, -32768), (1, 10), (-1, -10),
])
def test_rounds_half_away_from_zero(interp, value, steps):
    assert interp.call(M, "encode", [(0, "temperature", value)]) == b"\x00\x67" + struct.pack(">h", steps)


def test_humidity_half_percent_steps(interp):
    assert interp.call(M, "encode", [(0, "humidity", 54.25)]) == bytes([0, 104, 109])  # 108.5 -> 109
    assert interp.call(M, "decode", bytes([0, 104, 109])) == [(0, "humidity", 54.5)]
    assert interp.call(M, "encode", [(0, "humidity", 127.5)]) == bytes([0, 104, 255])


def test_large_integers_are_exact(interp):
    # Ints are scaled in integer arithmetic, never through a float.
    assert interp.call(M, "encode", [(0, "generic", 4294967295)]) == bytes.fromhex("0064ffffffff")
    assert interp.call(M, "encode", [(0, "time", 4102444800)]) == bytes.fromhex("0085f4865700")
    assert interp.call(M, "decode", bytes.fromhex("0085f4865700")) == [(0, "time", 4102444800)]
    assert interp.call(M, "encode", [(0, "energy", 4294967)]) == bytes.fromhex("0083fffffed8")


def test_type_by_id_and_bools(interp):
    assert interp.call(M, "encode", [(3, 103, 27.2)]) == bytes.fromhex("03670110")
    assert interp.call(M, "encode", [(1, "presence", True), (2, "switch", False)]) == bytes.fromhex("016601028e00")


@pytest.mark.parametrize("item", [
    (256, "temperature", 1), (-1, "temperature", 1), (1.0, "temperature", 1), (True, "temperature", 1),
    (1, "temperature", "20"), (1, "temperature", None), (1, "temperature", (20,)),
    (1, "temperature", float("nan")), (1, "temperature", float("inf")),
    (1, "gps", (1, 2)), (1, "gps", 1), (1, "colour", (1, 2, 3, 4)), (1, "colour", (1, 2, "3")),
    (1, "temperature"), "03670110",
])
def test_malformed_items_raise_value_error(interp, item):
    with pytest.raises(RemoteError) as e:
        interp.call(M, "encode", [item])
    assert e.value.name == "ValueError"


def test_decode_rejects_non_bytes(interp):
    with pytest.raises(RemoteError) as e:
        interp.call(M, "decode", "03670110")
    assert e.value.name == "ValueError"


# ---- single precision: an ESP32 holds floats in 32 bits



# Upstream vectors with float inputs, plus values on the rounding edge.
SINGLE = [
    ([(3, "temperature", 27.2), (2, "humidity", 54.0)], "0367011002686c"),
    ([(5, "temperature", -4.7)], "0567ffd1"),
    ([(6, "accelerometer", (1.234, -1.234, 0.0))], "067104d2fb2e0000"),
    ([(3, "voltage", 224.56)], "037457b8"),
    ([(1, "current", 0.237)], "017500ed"),
    ([(1, "distance", 0.034)], "018200000022"),
    ([(1, "energy", 7953.2)], "018300795b30"),
    ([(1, "gps", (42.3519, -87.9094, 10.0))], "018806765ff2960a0003e8"),
    ([(1, "gps", (22.3193, 114.1694, 123.45))], "01880367d9116bbe003039"),
    ([(1, "temperature", 27.25), (1, "temperature", -27.25)], "01670111" "0167feef"),
]


def _single(items, cast):
    out = []
    for ch, ty, v in items:
        if isinstance(v, tuple):
            out.append((ch, ty, tuple(cast(x) for x in v)))
        else:
            out.append((ch, ty, cast(v)))
    return out


@pytest.mark.parametrize("items,golden", SINGLE, ids=[s[1] for s in SINGLE])
def test_float32_rounded_inputs_give_the_same_bytes(interp, items, golden):
    assert interp.call(M, "encode", items) == bytes.fromhex(golden)
    assert interp.call(M, "encode", _single(items, f32)) == bytes.fromhex(golden)


@pytest.mark.parametrize("items,golden", SINGLE, ids=[s[1] for s in SINGLE])
def test_single_precision_arithmetic_gives_the_same_bytes(items, golden):
    # CPython only: Float32 is a host-side model of the ESP32's arithmetic and
    # cannot cross to the MicroPython unix port, whose floats are doubles.
    assert lpp.encode(_single(items, lambda x: Float32(f32(x)))) == bytes.fromhex(golden)


def test_float32_positions_give_the_same_bytes(interp):
    # At 0.0001 degree steps single precision still separates every step, but
    # the product lands a little off the integer: rounding must still land right.
    for i in range(0, 900000, 7919):
        lat = round(-45 + i * 0.0001, 4)
        lon = round(100 + i * 0.0001, 4)
        items = [(1, "gps", (lat, lon, 12.34))]
        expected = interp.call(M, "encode", items)
        assert interp.call(M, "encode", _single(items, f32)) == expected
        assert lpp.encode(_single(items, lambda x: Float32(f32(x)))) == expected
        assert interp.call(M, "decode", expected) == [(1, "gps", (lat, lon, 12.34))]
