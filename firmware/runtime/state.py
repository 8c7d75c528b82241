# What the runtime remembers between wakes.
#
# RTC memory (kept through deep sleep, soft and watchdog resets; lost at power
# on): the cycle count, the uptime before this wake, cycles until the next
# status frame, and the crash streak (boots in a row that did not finish a
# cycle). Flash (kept through everything): the boot counter, written once per
# reset, not per wake, to spare the flash.
import os
import struct

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_MAGIC = b"CFs1"
_RTC_FORMAT = ">4sIQHB"   # magic, cycle, uptime ms, status countdown, crash streak
BOOT_PATH = "boot.dat"


class WakeState:
    def __init__(self, cycle=0, uptime_ms=0, status_in=0, streak=0):
        self.cycle = cycle
        self.uptime_ms = uptime_ms
        self.status_in = status_in
        self.streak = streak

    @classmethod
    def load(cls, rtc):
        data = rtc.memory()
        if len(data) == struct.calcsize(_RTC_FORMAT) and data[:4] == _MAGIC:
            _, cycle, uptime_ms, status_in, streak = struct.unpack(_RTC_FORMAT, data)
            return cls(cycle, uptime_ms, status_in, streak)
        return cls()

    def save(self, rtc):
        rtc.memory(struct.pack(_RTC_FORMAT, _MAGIC, self.cycle & 0xFFFFFFFF, self.uptime_ms,
                               min(self.status_in, 0xFFFF), min(self.streak, 255)))


def read_boot_count(path=BOOT_PATH):
    try:
        with open(path, "rb") as f:
            return struct.unpack(">I", f.read(4))[0]
    except (OSError, ValueError):
        return 0


def count_boot(path=BOOT_PATH):
    # One more reset; written atomically, so a cut leaves the old or new count.
    n = (read_boot_count(path) + 1) & 0xFFFFFFFF
    with open(path + ".new", "wb") as f:
        f.write(struct.pack(">I", n))
    os.rename(path + ".new", path)
    return n
