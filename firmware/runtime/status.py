# The device's own health, as the "status" and "counters" frames of the shared
# schema (protocols/schema.py): firmware version, battery, reset cause,
# uptime; boot count, queue depth, frames dropped.
import machine

from runtime import board as boardfile
from runtime.version import VERSION

# machine.reset_cause() values on the ESP32 port, named as the schema names them
_CAUSES = {
    1: "power_on",     # PWRON_RESET
    2: "hard",         # HARD_RESET
    3: "watchdog",     # WDT_RESET
    4: "deep_sleep",   # DEEPSLEEP_RESET
    5: "soft",         # SOFT_RESET
}

# Li-ion open-circuit voltage (mV) against charge (%), for the 5 % battery figure
_CURVE = ((3300, 0), (3500, 10), (3600, 20), (3700, 40), (3800, 60), (3900, 75), (4000, 85), (4100, 95), (4200, 100))


def reset_cause_name(cause):
    return _CAUSES.get(cause, "unknown")


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
    # battery ADC pin. The driver is imported only on such boards.
    for spec in board.get("sensors", ()):
        if spec.get("role") == "pmu" and spec.get("chip") == "axp192":
            from sensors import SensorError, axp192, hw
            try:
                return axp192.AXP192(hw.i2c(board, spec["bus"]), spec.get("address", axp192.ADDRESS)).battery_mv()
            except SensorError:
                return 0
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


def frames(board, cause, uptime_ms, boot_count, queue):
    # The two status frames as (kind, fields). Counters are sent modulo 2**16
    # (the fleet unwraps them as it does frame counters); levels (battery,
    # queue depth, uptime) stop at the top of their range.
    mv = min(battery_mv(board), 5100)
    return [
        ("status", {"firmware": VERSION, "battery_mv": mv, "reset_cause": reset_cause_name(cause),
                    "uptime": min(uptime_ms // 1000, 235926000)}),
        ("counters", {"boot_count": boot_count & 0xFFFF, "queue_depth": min(queue.depth(), 0xFFFF),
                      "dropped": queue.dropped & 0xFFFF}),
    ]
