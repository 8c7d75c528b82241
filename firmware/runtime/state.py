# What the runtime remembers between wakes.
#
# RTC memory (kept through deep sleep, soft and watchdog resets; lost at power
# on): the cycle count, the uptime before this wake, cycles until the next
# status frame, the crash streak (boots in a row that did not finish a
# cycle), and the profile's own state (baselines, counts) as JSON: the
# parser is C, where CBOR would load the Python decoder on every wake for a
# few dozen bytes (protocols/cbor.py says what that costs). Flash (kept
# through everything): the boot counter, written once per reset, not per wake,
# to spare the flash.
import json
import os
import struct

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_MAGIC = b"CFs2"   # CFs1 held the profile state as CBOR: a wake after that firmware starts afresh
_RTC_FORMAT = ">4sIQHB"   # magic, cycle, uptime ms, status countdown, crash streak
_RTC_BYTES = const(2048)  # the ESP32 port's RTC user memory
BOOT_PATH = "boot.dat"


class StateTooBig(Exception):
    pass


class WakeState:
    def __init__(self, cycle=0, uptime_ms=0, status_in=0, streak=0, profile=None):
        self.cycle = cycle
        self.uptime_ms = uptime_ms
        self.status_in = status_in
        self.streak = streak
        self.profile = profile

    @classmethod
    def load(cls, rtc):
        data = rtc.memory()
        size = struct.calcsize(_RTC_FORMAT)
        if len(data) < size or data[:4] != _MAGIC:
            return cls()
        _, cycle, uptime_ms, status_in, streak = struct.unpack(_RTC_FORMAT, data[:size])
        profile = None
        if len(data) > size:
            try:
                profile = json.loads(data[size:])
            except ValueError:
                profile = None  # a profile state from another firmware: start afresh
        return cls(cycle, uptime_ms, status_in, streak, profile)

    def save(self, rtc):
        # Raises StateTooBig (after saving the rest) when the profile state does not fit.
        head = struct.pack(_RTC_FORMAT, _MAGIC, self.cycle & 0xFFFFFFFF, self.uptime_ms,
                           min(self.status_in, 0xFFFF), min(self.streak, 255))
        blob = b"" if self.profile is None else json.dumps(self.profile).encode()
        if len(head) + len(blob) > _RTC_BYTES:
            rtc.memory(head)
            raise StateTooBig("profile state of %d bytes does not fit RTC memory" % len(blob))
        rtc.memory(head + blob)


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
