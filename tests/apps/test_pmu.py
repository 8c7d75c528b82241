"""The T-Beam's battery through its AXP192 PMU: the driver against the chip
model on the virtual I2C bus, and the runtime's battery figure on a board
file whose cell sits behind the PMU (no battery ADC pin)."""
import ast
import json

import pytest

from tests.apps.helpers import board_file

LAYOUT = {"firmware/sensors": "/sensors", "firmware/runtime": "/runtime", "protocols": "/lib/protocols"}
PMU = {"model": "axp192", "address": 52,
       "tracks": {"battery": {"initial": 3.85, "timeline": [{"at": "+1h", "value": 3.61}]},
                  "present": {"initial": 1, "timeline": [{"at": "+2h", "value": 0}]},
                  "vbus": {"initial": 0, "timeline": [{"at": "+30m", "value": 1}]},
                  "charging": {"initial": 0, "timeline": [{"at": "+30m", "value": 1}]},
                  "missing": {"initial": 0, "timeline": [{"at": "+3h", "value": 1}]}}}
STEP_MV = 1.1


def run(board, code):
    return ast.literal_eval(board.exec(code, timeout=30).strip().splitlines()[-1])


def tbeam(make_board, scenario_i2c=None):
    scn = {"seed": 5, "start": "2026-11-23T00:00:00"}
    if scenario_i2c is not None:
        scn["i2c"] = scenario_i2c
    b = make_board(scenario=scn, board_type="lilygo-t-beam")
    b.put("/board.json", json.dumps(board_file("lilygo-t-beam")))
    b.flash_firmware(layout=LAYOUT, mpy=True)
    return b


def test_axp192_battery_power_and_missing_chip(make_board):
    b = tbeam(make_board, {"i2c0": [PMU]})
    out = run(b, """
import machine, time
from sensors.axp192 import AXP192
from sensors import SensorError
pmu = AXP192(machine.I2C(0))
r = [pmu.battery_mv(), pmu.charging(), pmu.external_power()]
time.sleep(1900)
r += [pmu.charging(), pmu.external_power()]
time.sleep(1800)
r.append(pmu.battery_mv())
time.sleep(3600)
r.append(pmu.battery_mv())
time.sleep(3600)
try:
    pmu.battery_mv()
    r.append(None)
except SensorError as e:
    r.append((e.chip, e.reason))
print(repr(r))
""")
    assert out[0] == pytest.approx(3850, abs=STEP_MV)
    assert out[1:5] == [False, False, True, True]     # USB plugged in at +30 min, charging
    assert out[5] == pytest.approx(3610, abs=STEP_MV)
    assert out[6] == 0                                  # no cell in the holder: no battery figure
    assert out[7] == ("axp192", "missing")


def test_axp192_adc_switched_off_is_switched_on_and_sampled_once_a_period(make_board):
    b = tbeam(make_board, {"i2c0": [PMU]})
    out = run(b, """
import machine, time
from sensors.axp192 import AXP192
i2c = machine.I2C(0)
i2c.writeto_mem(0x34, 0x82, b'\\x03')      # an earlier owner switched the battery ADC off
time.sleep(3700)                            # the cell is now at 3.61 V; the result register is stale
stale = i2c.readfrom_mem(0x34, 0x78, 2)
pmu = AXP192(i2c)
t0 = time.ticks_ms()
mv = pmu.battery_mv()
print(repr([(stale[0] << 4 | stale[1]) * 11 // 10, mv, time.ticks_diff(time.ticks_ms(), t0),
            i2c.readfrom_mem(0x34, 0x82, 1)[0]]))
""")
    stale, mv, waited, adc_en = out
    assert stale == pytest.approx(3850, abs=STEP_MV)
    assert mv == pytest.approx(3610, abs=STEP_MV)
    assert waited >= 40                  # one 25 Hz period for the first sample
    assert adc_en & 0x80


def test_runtime_battery_comes_from_the_pmu_on_a_tbeam(make_board):
    # No scenario I2C list: the board file's own virtual AXP192 (3.92 V).
    b = tbeam(make_board)
    mv, percent = run(b, """
from runtime import battery, board
bd = board.load()
mv = battery.battery_mv(bd)
print(repr([mv, battery.battery_percent(mv)]))
""")
    assert mv == pytest.approx(3920, abs=STEP_MV)
    assert percent == 77                 # 75 % at 3.9 V, 85 % at 4.0 V


def test_the_status_frames_battery_read_leaves_no_driver_loaded(make_board):
    # At the send (the status frame's read) the PMU's driver goes again with
    # what it imported; during the sensors' read, what the profile had
    # imported stays (a driver of theirs may hold the package's SensorError).
    b = tbeam(make_board)
    before, after, kept = run(b, """
import sys
from runtime import battery, board
bd = board.load()
before = sorted(m for m in sys.modules if m.startswith("sensors"))
battery.battery_mv(bd)
after = sorted(m for m in sys.modules if m.startswith("sensors"))
import sensors.hw
battery.battery_mv(bd)
print(repr([before, after, sorted(m for m in sys.modules if m.startswith("sensors"))]))
""")
    assert before == [] and after == []
    assert kept == ["sensors", "sensors.hw"]


def test_runtime_battery_is_zero_when_the_pmu_does_not_answer(make_board):
    b = tbeam(make_board, {"i2c0": [dict(PMU, tracks={"missing": {"initial": 1}})]})
    mv = run(b, """
from runtime import battery, board
print(repr(battery.battery_mv(board.load())))
""")
    assert mv == 0
