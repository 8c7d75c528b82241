"""Drivers against the chip models on a virtual board: the driver's register
traffic goes through the virtual I2C bus to a model that behaves as the
datasheet says, so a wrong register, byte order or scale fails here."""
import ast

import pytest

from tests.apps.helpers import install_drivers

ADS = {"model": "ads1115", "address": 72, "noise": 0.0,
       "tracks": {"ain0": {"initial": 1.2}, "ain1": {"initial": 0.45},
                  "ain2": {"initial": 0.1, "timeline": [{"at": "+1h", "value": 0.7, "ramp": True}]},
                  "ain3": {"initial": 3.0}}}


def run(board, code):
    return ast.literal_eval(board.exec(code, timeout=30).strip().splitlines()[-1])


@pytest.fixture
def ads_board(make_board):
    b = make_board(scenario={"seed": 3, "start": "2026-11-23T00:00:00", "i2c": {"i2c0": [ADS]}})
    install_drivers(b)
    return b


def test_ads1115_single_ended_differential_gain_and_missing_chip(ads_board):
    out = run(ads_board, """
import machine
from sensors.ads1115 import ADS1115
from sensors import SensorError
adc = ADS1115(machine.I2C(0), address=0x48)
r = [adc.read_volts(0), adc.read_volts(1, gain=4), adc.read_volts(3), adc.read_volts(3, gain=2),
     adc.read_differential(0, 1), adc.read_volts(2, gain=16)]
try:
    ADS1115(machine.I2C(0), address=0x49).read_volts(0)
    r.append(None)
except SensorError as e:
    r.append((e.chip, e.reason))
print(repr(r))
""")
    lsb = 4.096 / 32768
    assert out[0] == pytest.approx(1.2, abs=lsb)
    assert out[1] == pytest.approx(0.45, abs=1.024 / 32768)
    assert out[2] == pytest.approx(3.0, abs=lsb)
    assert out[3] == pytest.approx(2.048 - 2.048 / 32768, abs=1e-6)   # clipped at +FSR
    assert out[4] == pytest.approx(0.75, abs=2 * lsb)
    assert 0.1 <= out[5] < 0.11                      # ramping from 0.1 V towards 0.7 V over the hour
    assert out[6] == ("ads1115", "missing")


MAG = {"model": "qmc5883l", "address": 13, "noise": 0.0,
       "tracks": {"x": {"initial": 12.5}, "y": {"initial": -3.25}, "z": {"initial": 41.0},
                  "temp": {"initial": 21.5}}}
TOF = {"model": "vl53l0x", "address": 41,
       "tracks": {"distance_mm": {"initial": 123, "timeline": [{"at": "+1h", "value": 5000}]}}}


@pytest.fixture
def i2c_board(make_board):
    b = make_board(scenario={"seed": 3, "start": "2026-11-23T00:00:00", "i2c": {"i2c0": [MAG, TOF]}})
    install_drivers(b)
    return b


def test_qmc5883l_reads_microtesla_and_temperature(i2c_board):
    out = run(i2c_board, """
import machine
from sensors.qmc5883l import QMC5883L
m = QMC5883L(machine.I2C(0))
print(repr([m.read(), m.read()]))
""")
    for x, y, z, t in out:
        assert x == pytest.approx(12.5, abs=1 / 120)
        assert y == pytest.approx(-3.25, abs=1 / 120)
        assert z == pytest.approx(41.0, abs=1 / 120)
        assert t == pytest.approx(21.5, abs=0.01)


def test_vl53l0x_init_calibrates_and_ranges_single_shot(i2c_board):
    out = run(i2c_board, """
import machine, time
from sensors.vl53l0x import VL53L0X
tof = VL53L0X(machine.I2C(0))
r = [tof.read_mm(), tof.read_mm()]
time.sleep(3700)
r.append(tof.read_mm())
print(repr(r))
""")
    assert out == [123, 123, None]     # out of range after the hour


def test_ld2410_reports_and_command_round_trip_with_the_peer(make_board):
    from hil.peers.ld2410 import LD2410Peer
    b = make_board(scenario={"seed": 3, "start": "2026-11-23T00:00:00"})
    install_drivers(b)
    peer = LD2410Peer(b.uarts["rs485"], [(0, 2, 85)], clock=b.now_ms).start()
    try:
        out = run(b, """
import machine
from sensors.ld2410 import LD2410
r = LD2410(machine.UART(1, baudrate=256000, tx=25, rx=26, timeout=0))
print(repr([r.read(1000), r.present(), r.firmware(1000)]))
""")
    finally:
        peer.stop()
    assert out[0] == (2, 0, 0, 85, 60, 85)          # stationary target at 85 cm
    assert out[1] is True
    assert out[2] == (2, 4, 0x22091615)
    assert peer.commands[:3] == ["ff00", "a000", "fe00"]


def test_people_counter_tells_in_from_out(make_board):
    # outer beam on GPIO18 ("beam"), inner on GPIO19; breaks are active low
    outer, inner = [], []
    for t, way in ((10, "in"), (20, "in"), (30, "out"), (40, "in")):
        a, c = (outer, inner) if way == "in" else (inner, outer)
        a += [{"at": "+%ds" % t, "level": 0}, {"at": "+%ds" % (t + 2), "level": 1}]
        c += [{"at": "+%ds" % (t + 1), "level": 0}, {"at": "+%ds" % (t + 3), "level": 1}]
    outer += [{"at": "+50s", "level": 0}, {"at": "+51s", "level": 1}]      # a hand through one beam
    b = make_board(scenario={"seed": 3, "start": "2026-11-23T00:00:00",
                             "pins": {"beam": {"initial": 1, "timeline": outer},
                                      "gpio19": {"initial": 1, "timeline": inner}}})
    install_drivers(b)
    out = run(b, """
import machine, time
from sensors.digital import PeopleCounter
pc = PeopleCounter(machine.Pin(18, machine.Pin.IN, machine.Pin.PULL_UP), machine.Pin(19, machine.Pin.IN, machine.Pin.PULL_UP))
time.sleep(60)
print(repr(pc.take()))
""")
    assert out == (3, 1)
