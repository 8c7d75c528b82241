"""runtime/state.py on the MicroPython unix port: what a wake keeps in RTC
memory, the profile's part as JSON."""

SETUP = """
from runtime import state

class RTC:
    # machine.RTC's user memory: 2048 bytes on the ESP32 port
    def __init__(self, data=b""):
        self.data = bytes(data)
    def memory(self, data=None):
        if data is None:
            return self.data
        assert len(data) <= 2048
        self.data = bytes(data)

"""


def test_the_wake_state_and_the_profile_state_come_back(micropython):
    out = micropython.run(SETUP + """
rtc = RTC()
profile = {"ls": 1700000000, "pv": [22.31234, 114.1], "mv": True, "q": None, "n": [3, -7]}
state.WakeState(cycle=41, uptime_ms=3600123, status_in=5, streak=1, profile=profile).save(rtc)
w = state.WakeState.load(rtc)
print(w.cycle, w.uptime_ms, w.status_in, w.streak)
print(w.profile == profile, rtc.data[:4])
""")
    lines = out.strip().splitlines()
    assert lines[0] == "41 3600123 5 1"
    assert lines[1] == "True b'CFs2'"


def test_a_state_the_firmware_cannot_read_starts_afresh(micropython):
    out = micropython.run(SETUP + """
import struct
# the previous firmware's layout (CFs1, profile state as CBOR): nothing of it is taken
old = struct.pack(">4sIQHB", b"CFs1", 9, 1000, 2, 0) + b"\\xa1\\x61\\x61\\x01"
w = state.WakeState.load(RTC(old))
print(w.cycle, w.profile)
# this layout with a profile part that is not JSON: the counters stay, the profile starts afresh
bad = struct.pack(">4sIQHB", b"CFs2", 9, 1000, 2, 0) + b"\\xa1\\x61\\x61\\x01"
w = state.WakeState.load(RTC(bad))
print(w.cycle, w.status_in, w.profile)
print(state.WakeState.load(RTC(b"")).cycle)
""")
    assert out.strip().splitlines() == ["0 None", "9 2 None", "0"]


def test_a_profile_state_too_big_for_rtc_memory_is_refused_and_the_rest_kept(micropython):
    out = micropython.run(SETUP + """
rtc = RTC()
try:
    state.WakeState(cycle=3, profile=list(range(600))).save(rtc)
except state.StateTooBig as e:
    print("refused", e)
w = state.WakeState.load(rtc)
print(w.cycle, w.profile)
""")
    lines = out.strip().splitlines()
    assert lines[0].startswith("refused profile state of ")
    assert lines[1] == "3 None"
