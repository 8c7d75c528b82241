"""Modbus RTU framing, CRC and the master's error handling, on CPython and
MicroPython (the `interp` fixture), against public RTU frames:
tests/vectors/modbus/ (pymodbus's framer tests, the Microsensor MFE600E
manual's examples, the ABB AquaMaster 3 Modbus supplement's write examples).
"""
import json
import struct
from pathlib import Path

import pytest

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "modbus"
RTU = json.loads((VECTORS / "modbus_rtu_frames.json").read_text())
MFE = json.loads((VECTORS / "mfe600e_manual_frames.json").read_text())
AQUA = json.loads((VECTORS / "aquamaster3_write_frames.json").read_text())
CASES = M = "tests.radio.modbus_cases"   # re-exports firmware/radio/modbus.py on both interpreters


def crc_ok(interp, adu):
    c = interp.call(M, "crc16", adu[:-2])
    return adu[-2] == c & 0xFF and adu[-1] == c >> 8


def test_crc_check_value_and_pymodbus_unit_vector(interp):
    assert interp.call(M, "crc16", b"123456789") == 0x4B37        # CRC-16/MODBUS check value
    unit = RTU["crc_unit_vector"]
    c = interp.call(M, "crc16", bytes.fromhex(unit["data_hex"]))
    assert bytes((c & 0xFF, c >> 8)) == bytes.fromhex(unit["wire_bytes"])


@pytest.mark.parametrize("frame", RTU["frames"], ids=lambda f: f["adu_hex"])
def test_crc_of_every_good_frame(interp, frame):
    assert crc_ok(interp, bytes.fromhex(frame["adu_hex"]))


@pytest.mark.parametrize("frame", RTU["negative_frames"], ids=lambda f: f["stream_hex"])
def test_bad_crc_streams_fail(interp, frame):
    stream = bytes.fromhex(frame["stream_hex"])
    first = stream[:5] if stream[1] & 0x80 else stream[:8]
    assert not crc_ok(interp, first)


@pytest.mark.parametrize("frame", MFE["requests"], ids=lambda f: f["adu_hex"])
def test_requests_match_the_meter_manual(interp, frame):
    adu = bytes.fromhex(frame["adu_hex"])
    unit, fc, address, count = struct.unpack(">BBHH", adu[:6])
    assert interp.call(M, "build_request", unit, fc, address, count) == adu


def test_manual_misprint_is_caught(interp):
    (bad,) = MFE["misprints"]
    assert not crc_ok(interp, bytes.fromhex(bad["adu_hex"]))


def test_request_builder_matches_pymodbus_and_simply_modbus(interp):
    for f in RTU["frames"]:
        adu = bytes.fromhex(f["adu_hex"])
        if f["kind"] == "request" and adu[1] == 3:
            unit, fc, address, count = struct.unpack(">BBHH", adu[:6])
            assert interp.call(M, "build_request", unit, fc, address, count) == adu


def test_write_requests_match_the_aquamaster_supplement(interp):
    single, _, multiple, _ = AQUA["frames"]
    assert interp.call(M, "build_request", 1, 6, 0x1F52, 14) == bytes.fromhex(single["adu_hex"])
    assert interp.call(M, "build_request", 1, 16, 0x1F52, [15]) == bytes.fromhex(multiple["adu_hex"])


def test_parse_read_response_and_exception(interp):
    req = bytes.fromhex("1103007c00020743")
    assert interp.call(M, "parse_response", req, bytes.fromhex("110304008d008efbbd")) == [0x8D, 0x8E]
    float_req = bytes.fromhex(MFE["responses"][0]["request_hex"])
    assert interp.call(M, "parse_response", float_req, bytes.fromhex(MFE["responses"][0]["adu_hex"])) == [0xBE80, 0]
    with pytest.raises(Exception) as e:
        interp.call(M, "parse_response", req, bytes.fromhex("118302c134"))
    assert "ModbusException" in str(e.value) and "illegal data address" in str(e.value)


def test_bad_requests_are_refused_before_the_wire(interp):
    for args in ((1, 3, 0, 126), (1, 3, 0, 0), (256, 3, 0, 1), (1, 6, 0, 0x10000), (1, 3, 0xFFFF, 2), (1, 5, 0, 1)):
        with pytest.raises(Exception) as e:
            interp.call(M, "build_request", *args)
        assert "ValueError" in str(e.value)


def test_silent_interval_follows_the_baud_rate(interp):
    # Serial Line V1.02 2.5.1.1: 3.5 characters of 11 bits; 1750 us above 19200 baud.
    assert interp.call(M, "silent_interval_us", 9600) == 4011
    assert interp.call(M, "silent_interval_us", 19200) == 2006
    assert interp.call(M, "silent_interval_us", 38400) == 1750
    assert interp.call(M, "silent_interval_us", 115200) == 1750


# ------------------------------------------------------------ the master on a scripted line

def test_read_with_de_high_only_while_sending(interp):
    out = interp.call(CASES, "run", "read_holding", [17, 0x7C, 2], [bytes.fromhex("110304008d008efbbd")])
    assert out["result"] == [0x8D, 0x8E]
    assert out["written"] == [bytes.fromhex("1103007c00020743")]
    assert out["de_at_write"] == [1]
    assert out["de"] == [0, 1, 0]            # receive, transmit, receive


def test_exception_response_is_raised_not_retried(interp):
    out = interp.call(CASES, "run", "read_holding", [17, 0x7C, 2], [bytes.fromhex("118302c134")] * 3)
    assert out["error"] == "ModbusException" and out["code"] == 2
    assert len(out["written"]) == 1 and out["counters"] == [1, 0, 0, 1]


def test_timeout_retries_then_raises(interp):
    out = interp.call(CASES, "run", "read_input", [1, 0, 2], [None, None, None], retries=2)
    assert out["error"] == "ModbusTimeout"
    assert len(out["written"]) == 3 and out["counters"] == [3, 3, 0, 0]


def test_crc_error_is_retried_and_recovers(interp):
    good = bytes.fromhex("110304008d008efbbd")
    bad = good[:-1] + bytes((good[-1] ^ 0xFF,))
    out = interp.call(CASES, "run", "read_holding", [17, 0x7C, 2], [bad, good])
    assert out["result"] == [0x8D, 0x8E] and out["counters"] == [2, 0, 1, 0]
    out = interp.call(CASES, "run", "read_holding", [17, 0x7C, 2], [bad, bad], retries=1)
    assert out["error"] == "ModbusCRCError"


def test_cut_short_answer_is_an_error(interp):
    out = interp.call(CASES, "run", "read_holding", [17, 0x7C, 2], [bytes.fromhex("11030400")], retries=0)
    assert out["error"] == "ModbusCRCError"


def test_answer_from_another_unit_is_refused(interp):
    out = interp.call(CASES, "run", "read_holding", [0, 0x7C, 2], [], retries=0)
    assert out["result"] is None and len(out["written"]) == 1      # broadcast: no answer awaited
    wrong = bytes.fromhex("ff0304008d008ef5b3")
    out = interp.call(CASES, "run", "read_holding", [17, 0x7C, 2], [wrong], retries=0)
    assert out["error"] == "ModbusFrameError"


def test_writes_check_the_echo(interp):
    single_req, single_resp, multi_req, multi_resp = (bytes.fromhex(f["adu_hex"]) for f in AQUA["frames"])
    out = interp.call(CASES, "run", "write_single", [1, 0x1F52, 14], [single_resp])
    assert out["result"] == [14] and out["written"] == [single_req]
    out = interp.call(CASES, "run", "write_multiple", [1, 0x1F52, [15]], [multi_resp])
    assert out["result"] == [0x1F52, 1] and out["written"] == [multi_req]


def test_flow_meter_decodes_the_manual_layout(interp):
    # MFE600E registers: 45.0 m3/h, forward total 1,123,456,789 m3 + 0.5
    # (high part 1, low 123,456,789), reverse 12 L, empty pipe alarm.
    block = [0] * 0x1A
    block[0], block[1] = struct.unpack(">HH", struct.pack(">f", 45.0))
    block[2] = 2
    block[3], block[4] = 123456789 >> 16, 123456789 & 0xFFFF
    block[5], block[6] = struct.unpack(">HH", struct.pack(">f", 0.5))
    block[7] = 0
    block[9] = 12
    block[0x0C] = 1
    block[0x0F] = 1
    block[0x12], block[0x13] = struct.unpack(">HH", struct.pack(">f", -0.25))
    r = interp.call(CASES, "decode_flow", block, [0, 1, 0, 0])
    assert r["flow"] == pytest.approx(12.5)
    assert r["total_l"] == 1123456789500 and r["total_m3"] == pytest.approx(1123456789.5)
    assert r["reverse_l"] == 12
    assert r["velocity"] == -0.25
    assert r["alarms"] == ["empty_pipe"]
