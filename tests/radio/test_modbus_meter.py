"""The Modbus RTU master on a virtual board against a real pymodbus RTU server
on the host side of the board's RS-485 UART pty (hil/peers/modbus_meter.py),
serving the register map of the Microsensor MFE600E electromagnetic flow
meter converter (MFE600E Operation Manual, chapter Communication, table 13
and examples a)-t)) at unit 1, and a writable register bank at unit 2.
"""
import ast
import json
import struct
from pathlib import Path

import pytest

from hil.peers.modbus_meter import ModbusMeterPeer, MeterState

ROOT = Path(__file__).resolve().parents[2]
MFE = json.loads((ROOT / "tests" / "vectors" / "modbus" / "mfe600e_manual_frames.json").read_text())
READ_TOTAL = bytes.fromhex(next(f["adu_hex"] for f in MFE["requests"] if f["desc"].startswith("r)")))
READ_HIGH = bytes.fromhex(next(f["adu_hex"] for f in MFE["requests"] if f["desc"].startswith("s)")))

# Runs on the board: one master for the test, results printed as Python literals.
ON_BOARD = """
import json
from radio import modbus
from sensors.flowmeter import FlowMeter
m = modbus.open_bus(json.load(open('board.json')), timeout_ms=%d, retries=%d)
meter = FlowMeter(m, unit=1)

def run(f, *a):
    try:
        print(repr(('ok', f(*a))))
    except modbus.ModbusException as e:
        print(repr(('exception', e.code, str(e))))
    except modbus.ModbusError as e:
        print(repr((type(e).__name__, str(e))))

def counters():
    print(repr((m.sent, m.timeouts, m.crc_errors, m.exceptions)))
"""


def start(board, timeout_ms=300, retries=2):
    board.put("/board.json", (ROOT / "boards" / (board.board_type + ".json")).read_bytes())
    board.flash_firmware(mpy=True)
    # No config.json: the runtime waits for provisioning; the REPL takes over from there.
    board.expect(rb"unprovisioned: waiting for provisioning", timeout=30)
    board.exec(ON_BOARD % (timeout_ms, retries))


def call(board, expr):
    out = board.exec(expr).strip().splitlines()
    return ast.literal_eval(out[-1])


def de_gpio(board_type):
    b = json.loads((ROOT / "boards" / (board_type + ".json")).read_text())
    return b["buses"]["rs485"]["de"]


@pytest.fixture
def meter(board):
    start(board)
    state = MeterState(flow_lps=12.5, total_l=1234567890123, reverse_l=4321, flow_unit="m3/h",
                       alarms=("empty_pipe",))
    with ModbusMeterPeer(board.uarts["rs485"], state=state) as peer:
        yield peer


def test_flow_meter_reading_over_rs485(board, meter):
    pins_before = len(board.vboard.pin_history)
    r = call(board, "run(meter.read)")
    assert r[0] == "ok"
    reading = r[1]
    assert reading["flow"] == pytest.approx(12.5, rel=1e-6)
    assert reading["flow_unit"] == 2                                  # m3/h on the meter
    assert reading["total_l"] == 1234567890123 and reading["total_m3"] == pytest.approx(1234567890.123)
    assert reading["reverse_l"] == 4321
    assert reading["velocity"] == pytest.approx(0.71, rel=1e-6)
    assert reading["alarms"] == ["empty_pipe"]
    # The manual's own "read total data" frame, then the high parts of both
    # totals (its examples s and t, 0x1A and 0x1C, in one read).
    assert meter.heard[0] == READ_TOTAL
    assert meter.heard[1][:6] == READ_HIGH[:5] + b"\x04" and len(meter.heard) == 2
    # DE went high for each request and back low to receive the answer.
    gpio = de_gpio(board.board_type)
    de = [level for _, g, level in board.vboard.pin_history[pins_before:] if g == gpio]
    assert de == [1, 0, 1, 0]
    # The meter's state changes; the next reading follows.
    meter.state.flow_lps = -3.25
    meter.state.alarms = set()
    reading = call(board, "run(meter.read)")[1]
    assert reading["flow"] == pytest.approx(-3.25, rel=1e-6) and reading["alarms"] == []


def test_reads_and_writes_of_holding_and_input_registers(board, meter):
    assert call(board, "run(m.write_single, 2, 5, 0xBEEF)") == ("ok", [0xBEEF])
    assert call(board, "run(m.write_multiple, 2, 10, [1, 2, 3, 65535])") == ("ok", [10, 4])
    assert call(board, "run(m.read_holding, 2, 4, 10)") == ("ok", [0, 0xBEEF, 0, 0, 0, 0, 1, 2, 3, 65535])
    # Function 04 reads the same meter registers as 03 (the manual: "03 (or 04)").
    ok, regs = call(board, "run(m.read_input, 1, 0, 2)")
    assert ok == "ok" and struct.unpack(">f", struct.pack(">HH", *regs))[0] == pytest.approx(45.0)
    assert meter.heard[0][:6] == bytes.fromhex("02060005beef") and len(meter.heard[0]) == 8


def test_exception_responses_are_clear_errors(board, meter):
    # A read past the meter's map, and a write to its read-only registers: exception 02.
    r = call(board, "run(m.read_holding, 1, 0x100, 2)")
    assert r[0] == "exception" and r[1] == 2 and "illegal data address" in r[2]
    r = call(board, "run(m.write_single, 1, 0, 1)")
    assert r[0] == "exception" and r[1] == 2
    assert call(board, "counters()") == (2, 0, 0, 2)     # answered once each: no retries
    assert [f[1] for f in meter.said] == [0x83, 0x86]


def test_meter_that_stops_answering_times_out_after_retries(board, meter):
    meter.silent = True
    r = call(board, "run(m.read_holding, 1, 0, 2)")
    assert r[0] == "ModbusTimeout"
    assert len(meter.heard) == 3                          # first try and two retries
    assert call(board, "counters()") == (3, 3, 0, 0)
    meter.silent = False
    assert call(board, "run(m.read_holding, 1, 0x12, 2)")[0] == "ok"


def test_crc_error_on_the_wire_is_retried_then_reported(board, meter):
    meter.corrupt_next(1)
    r = call(board, "run(m.read_holding, 1, 0, 2)")
    assert r[0] == "ok" and struct.unpack(">f", struct.pack(">HH", *r[1]))[0] == pytest.approx(45.0)
    assert call(board, "counters()") == (2, 0, 1, 0)
    meter.corrupt_next(3)
    r = call(board, "run(m.read_holding, 1, 0, 2)")
    assert r[0] == "ModbusCRCError"
    assert call(board, "counters()") == (5, 0, 4, 0)
