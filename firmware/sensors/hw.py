# The buses and pins of the board file (board.json), made for the drivers.
# Applications ask by logical name ("i2c0", "pir"); a name the board lacks
# gives None, so an application runs with what the board has.
import machine

from runtime import board as boardfile
from runtime import status


def _pull(name):
    # machine.Pin's pull for the board file's "pull", or None (no table kept by the module).
    if name == "up":
        return machine.Pin.PULL_UP
    if name == "down":
        return machine.Pin.PULL_DOWN
    return None


def _atten(name):
    # machine.ADC's attenuation for the board file's "atten"; 11 dB (to about 3.1 V) by default.
    if name == "0db":
        return machine.ADC.ATTN_0DB
    if name == "2.5db":
        return machine.ADC.ATTN_2_5DB
    if name == "6db":
        return machine.ADC.ATTN_6DB
    return machine.ADC.ATTN_11DB


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
    pull = _pull(spec.get("pull"))
    p = machine.Pin(spec["gpio"], machine.Pin.IN, pull) if pull is not None else machine.Pin(spec["gpio"], machine.Pin.IN)
    return p, spec.get("active", "high") != "low"


def adc(board, name):
    spec = board.get("pins", {}).get(name)
    if not spec:
        return None
    return machine.ADC(machine.Pin(spec["gpio"]), atten=_atten(spec.get("atten")))


def battery(board):
    # The battery in percent for the frames (0 when the board has no battery ADC).
    return status.battery_percent(status.battery_mv(board))

