# The cell's voltage and charge, on every board: through its ADC divider, or
# from its PMU. Read by the applications at their sensors' read and by the
# status frame (runtime/status.py): a module of its own, so the read does not
# load the status frames' code.
import sys

import machine

from runtime import board as boardfile
from runtime.modules import forget

# Li-ion open-circuit voltage (mV) against charge (%), for the 5 % battery figure
_CURVE = ((3300, 0), (3500, 10), (3600, 20), (3700, 40), (3800, 60), (3900, 75), (4000, 85), (4100, 95), (4200, 100))


def battery_mv(board):
    # The cell voltage in mV through the board's divider, or from its PMU;
    # 0 if the board has neither or the PMU does not answer.
    gpio = boardfile.pin(board, "batt_adc")
    if gpio is None:
        return _pmu_mv(board)
    adc = machine.ADC(machine.Pin(gpio), atten=machine.ADC.ATTN_11DB)
    divider = board["pins"]["batt_adc"].get("divider", 1.0)
    return int(adc.read_uv() * divider) // 1000


def _pmu_mv(board):
    # A board whose cell sits behind a PMU (the T-Beam's AXP192) has no
    # battery ADC pin. The driver is imported only on such boards, and what
    # this read imported goes again after it: the status frame reads the
    # battery at the send, which then holds none of the drivers' code.
    for spec in board.get("sensors", ()):
        if spec.get("role") == "pmu" and spec.get("chip") == "axp192":
            fresh = [m for m in ("sensors.axp192", "sensors.hw", "sensors") if m not in sys.modules]
            from sensors import SensorError, axp192, hw
            try:
                return axp192.AXP192(hw.i2c(board, spec["bus"]), spec.get("address", axp192.ADDRESS)).battery_mv()
            except SensorError:
                return 0
            finally:
                for name in fresh:
                    forget(name)
    return 0


def battery_percent(mv):
    # Piecewise-linear state of charge from the curve above, 0..100.
    if mv <= _CURVE[0][0]:
        return 0
    for i in range(1, len(_CURVE)):
        v1, p1 = _CURVE[i]
        if mv <= v1:
            v0, p0 = _CURVE[i - 1]
            return p0 + (p1 - p0) * (mv - v0) // (v1 - v0)
    return 100
