"""The firmware runtime on a board (virtual in CI): boot, status frames,
unprovisioned mode, deep sleep, the watchdog, power cuts during real writes.

Frames are read off the console, where the console transport prints them as
"uplink <hex>", and decoded with the shared schema.
"""
import ast
import json
import re
from pathlib import Path

import pytest

from protocols import frames

ROOT = Path(__file__).resolve().parents[2]
UPLINK = rb"uplink ([0-9a-f]+)\r?\n"

PROVISIONED = {
    "dev_eui": "70b3d57ed0000001", "join_eui": "70b3d57ed0000000",
    "app_key": "00112233445566778899aabbccddeeff", "device_key": "ab" * 32,
    "profile": "parking_bay", "interval": 900, "status_every": 4,
}


# A charged cell behind the board's 2:1 divider.
WORLD = {"seed": 1, "start": "2026-11-23T00:00:00", "adc": {"batt_adc": {"initial": 1.9, "noise": 0.001}}}


@pytest.fixture
def board(make_board):
    return make_board(scenario=WORLD)


def install(board, config=None, files=None):
    board.put("/board.json", (ROOT / "boards" / (board.board_type + ".json")).read_bytes())
    if config is not None:
        board.put("/config.json", json.dumps(config))
    for remote, text in (files or {}).items():
        board.put(remote, text)
    board.flash_firmware(mpy=True)


def next_frame(board, timeout=30):
    m = board.expect(UPLINK, timeout=timeout)
    return frames.decode(bytes.fromhex(m.group(1).decode()))


def next_status(board, timeout=30):
    # The status and counters frames, sent together.
    kind, status = next_frame(board, timeout)
    while kind != "status":
        kind, status = next_frame(board, timeout)
    kind, counters = next_frame(board, timeout)
    assert kind == "counters"
    return status, counters


def test_unprovisioned_boot_sends_status_and_waits_without_crash_loop(board):
    install(board)
    board.expect(rb"unprovisioned: waiting for provisioning", timeout=30)
    status, counters = next_status(board)
    assert status["reset_cause"] == "power_on"
    assert status["firmware"] == "0.1.0"
    assert 3000 < status["battery_mv"] < 4300
    assert counters["boot_count"] == 1
    # A minute later (virtual time) it is still waiting, and has not reset.
    board.expect(rb"unprovisioned: waiting for provisioning", timeout=30)
    status, counters = next_status(board)
    assert counters["boot_count"] == 1 and status["reset_cause"] == "power_on"
    # Two power-ons (the empty board, then after flashing), no other boot.
    assert [e[1] for e in board.vboard.events if e[1] in ("boot", "WDT expired", "crash loop")] == ["boot", "boot"]
    assert b"config: no config.json" in board.log


def test_invalid_config_is_unprovisioned_with_field_reasons(board):
    bad = dict(PROVISIONED, dev_eui="not-hex", interval=3)
    install(board, bad)
    board.expect(rb"config: dev_eui: must be 16 hex digits", timeout=30)
    board.expect(rb"config: interval: must be an integer in 10..86400", timeout=30)
    board.expect(rb"unprovisioned: waiting for provisioning", timeout=30)


def test_provisioned_board_cycles_through_deep_sleep(board):
    install(board, PROVISIONED)
    status, counters = next_status(board)
    assert status["reset_cause"] == "power_on" and counters["boot_count"] == 1
    # Status every 4th cycle, each after a 900 s deep sleep (the parking
    # application runs too, with no magnetometer on this board: its error is logged).
    status2, counters2 = next_status(board, timeout=60)
    assert status2["reset_cause"] == "deep_sleep"
    assert counters2["boot_count"] == 1           # a wake is not a boot
    assert 4 * 900 <= status2["uptime"] - status["uptime"] <= 4 * 900 + 3600
    # exactly status_every wakes from one status to the next
    log = bytes(board.log)
    at = [m.start() for m in re.finditer(UPLINK, log)
          if frames.decode(bytes.fromhex(m.group(1).decode()))[0] == "status"]
    assert log.count(b"rst:0x5 (DEEPSLEEP_RESET)", at[0], at[1]) == 4


HANGING_PROFILE = """
from runtime.profile import Profile, Sensors as Base
from runtime.tasks import sleep_ms


class Sensors(Base):
    async def read(self, progress):
        while True:   # a sensor that never answers
            await sleep_ms(1000)
"""


def test_hung_task_resets_the_board_and_status_reports_watchdog(board):
    install(board, PROVISIONED, {"/apps/__init__.py": "", "/apps/parking_bay.py": HANGING_PROFILE})
    status, _ = next_status(board)
    assert status["reset_cause"] == "power_on"
    status, counters = next_status(board, timeout=60)
    assert status["reset_cause"] == "watchdog"
    assert counters["boot_count"] == 2
    # It keeps failing the same way; after three such boots, a safe cycle without the profile.
    board.expect(rb"safe mode: 3 boots without a finished cycle", timeout=90)


def test_crashing_profile_sleeps_instead_of_looping(board):
    crashing = HANGING_PROFILE.replace("while True:   # a sensor that never answers\n            await sleep_ms(1000)",
                                       "raise OSError(19)   # the sensor is gone")
    install(board, PROVISIONED, {"/apps/__init__.py": "", "/apps/parking_bay.py": crashing})
    next_status(board)
    board.expect(rb"cycle failed: OSError\(19", timeout=30)
    t0 = board.now_ms()
    next_status(board, timeout=60)
    assert board.now_ms() - t0 >= 900 * 1000   # it waited its interval before trying again


QUEUE_WRITER = """
from runtime.queue import FlashQueue
q = FlashQueue("testq", 512, 64)
for i in range(250):
    q.append(bytes([i & 255]) * (1 + i % 40))
    print("committed", i)
"""


@pytest.mark.parametrize("seed", range(4))
def test_power_cut_at_random_moment_keeps_committed_frames(board, seed):
    install(board)
    board.expect(rb"unprovisioned: waiting for provisioning", timeout=30)
    board.interrupt()
    board.start(QUEUE_WRITER)
    board.expect(rb"committed 3\r?\n", timeout=30)
    board.power_cut_random(seed, low=0.0, high=0.3)
    board.expect(rb"rst:0x1 \(POWERON_RESET\)", timeout=30)
    board.expect(rb"unprovisioned: waiting for provisioning", timeout=30)
    board.interrupt()
    committed = [int(x) for x in re.findall(rb"committed (\d+)", board.log)]
    # Checked on the board, frame by frame: count, order, content.
    count, in_order, intact = ast.literal_eval(board.exec(CHECK).strip())
    assert in_order and intact
    assert count >= len(committed)          # nothing committed was lost


CHECK = """
import gc
from runtime.queue import FlashQueue
gc.collect()
r = FlashQueue("testq", 512, 64).peek(1000)
print(repr((len(r), [s for s, _ in r] == list(range(len(r))),
            all(f[0] == s & 255 and len(f) == 1 + s % 40 for s, f in r))))
"""


COUNTING_APP = """
from runtime.profile import Sensors, Profile as Base


class Profile(Base):
    def __init__(self, config, saved=None):
        self.n = (saved or 0) + 1

    def decide(self, readings, now_s):
        return [("parking_bay", {"occupied": False, "changes": self.n, "battery": 50})]

    def save(self):
        return self.n
"""


def test_profile_state_survives_deep_sleep_and_not_a_power_cut(board):
    install(board, dict(PROVISIONED, interval=60), {"/apps/__init__.py": "", "/apps/parking_bay.py": COUNTING_APP})
    seen = []
    while len(seen) < 3:
        kind, fields = next_frame(board)
        if kind == "parking_bay":
            seen.append(fields["changes"])
    assert seen == [1, 2, 3]
    board.power_cut()
    # Delivery is at least once: a frame whose send was cut short goes again.
    status, _ = next_status(board)
    assert status["reset_cause"] == "power_on"
    kind, fields = next_frame(board)
    assert (kind, fields["changes"]) == ("parking_bay", 1)
