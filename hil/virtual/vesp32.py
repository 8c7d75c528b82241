# The part of the ESP32 port's `esp32` module that the virtual board has:
# deep-sleep wake-up sources (ext0, ext1) and the chip temperature.
import vmachine

WAKEUP_ALL_LOW = False
WAKEUP_ANY_HIGH = True
HEAP_DATA = 4
HEAP_EXEC = 1


def wake_on_ext0(pin, level):
    vmachine._state["ext0"] = None if pin is None else (vmachine._gpio(pin), 1 if level else 0)


def wake_on_ext1(pins, level):
    vmachine._state["ext1"] = None if not pins else ([vmachine._gpio(p) for p in pins], level)


def raw_temperature():
    return 128  # degrees F as the ESP32 reports it (about 53 C)
