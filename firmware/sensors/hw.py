# The buses and pins of the board file (board.json), made for the drivers.
# Applications ask by logical name ("i2c0", "pir"); a name the board lacks
# gives None, so an application runs with what the board has.
import machine

from runtime import board as boardfile
from runtime.battery import battery_mv, battery_percent

_PULLS = {"up": machine.Pin.PULL_UP, "down": machine.Pin.PULL_DOWN}
_ATTEN = {"0db": machine.ADC.ATTN_0DB, "2.5db": machine.ADC.ATTN_2_5DB,
          "6db": machine.ADC.ATTN_6DB, "11db": machine.ADC.ATTN_11DB}


def i2c(board, name="i2c0"):
    spec = boardfile.bus(board, name)
    if not spec:
        return None
    return machine.I2C(spec["id"], scl=machine.Pin(spec["scl"]), sda=machine.Pin(spec["sda"]),
                       freq=spec.get("freq", 400000))


def uart(board, name, baudrate=None):
    spec = boardfile.bus(board, name)
    if not spec:
        return None
    return machine.UART(spec["id"], baudrate=baudrate or spec.get("baudrate", 115200),
                        tx=spec["tx"], rx=spec["rx"], timeout=0)


def pin_in(board, name):
    # (Pin, active_high) of an input pin, or (None, True).
    spec = board.get("pins", {}).get(name)
    if not spec:
        return None, True
    pull = _PULLS.get(spec.get("pull"))
    p = machine.Pin(spec["gpio"], machine.Pin.IN, pull) if pull is not None else machine.Pin(spec["gpio"], machine.Pin.IN)
    return p, spec.get("active", "high") != "low"


def adc(board, name):
    spec = board.get("pins", {}).get(name)
    if not spec:
        return None
    return machine.ADC(machine.Pin(spec["gpio"]), atten=_ATTEN.get(spec.get("atten"), machine.ADC.ATTN_11DB))


def battery(board):
    # The battery in percent for the frames (0 when the board has no battery ADC).
    return battery_percent(battery_mv(board))

