"""Application figures, one entry per profile in APPS (each engineer appends
theirs): on the virtual board with the profile's scenario and peers,

- heap per wake: the smallest heap (to 2 KB, by bisection in this run) with
  which the board finishes a wake of the profile (its first frame out) less
  the smallest heap with which the same board reaches its REPL with nothing of
  ours on flash: what the firmware and the application need, imports and
  fragmentation included (micropython.mem_peak() never counts what the GC frees);
- awake time per wake: wall time on this machine for a run of wakes, divided
  by the wakes, and the board's virtual time from wake to deep sleep;
- frames per day: the Profile (on MicroPython) through a typical day of readings;
- frame size: each frame kind the profile sends, encoded at typical values.

    python -m bench.apps
"""
import json
import re
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_BYTES = 32 * 1024
STEP = 2048
SCENARIOS = ROOT / "hil" / "scenarios"


def _board_json(board):
    b = json.loads((ROOT / "boards" / (board + ".json")).read_text())
    b["buses"].pop("lora_uart", None)   # frames to the console: the application's own wake
    return json.dumps(b).encode()


# ---------------------------------------------------------------- peers per profile

def _water_peers(vb, scenario):
    from hil.peers.modbus_meter import ModbusMeterPeer
    from tests.apps.test_water import meter_state
    return [ModbusMeterPeer(vb.uarts["rs485"], meter_state(scenario, vb.now_ms)).start()]


def _hiker_peers(vb, scenario):
    from hil.peers.gnss_feeder import GnssFeeder, Track
    return [GnssFeeder(vb.uarts["gnss_uart"], Track.from_scenario(scenario), clock=vb.now_ms, period=0.1).start()]


# ---------------------------------------------------------------- typical days (Profile only)

def _water_day():
    from tests.apps.test_water import DAY, reading
    steps = []
    for i in range(288):   # a wake every 5 minutes
        t = DAY + i * 300
        local_h = (t // 3600 + 8) % 24
        flow = 1.3 if 2 <= local_h < 4 else (8.0 if 7 <= local_h < 23 else 3.0)
        steps += [("wake", t, reading(p=520.0 if flow < 4 else 450.0, flow=flow)), ("sleep",)]
    return steps


def _hiker_day():
    from tests.apps.test_hiker import HOME, reading
    steps = []
    lat, lon = HOME
    for i in range(1440):   # a wake a minute; 6 hours walking in four legs, the rest of the day still
        t = i * 60
        h = t / 3600
        moving = any(a <= h < b for a, b in ((8, 10), (10.5, 12), (13, 14.5), (15, 16)))
        if moving:
            lat += 60
        steps += [("wake", t, reading(lat, lon)), ("sleep",)]
    return steps


def _typical_frames(micropython, app, config, steps):
    out = micropython.call("tests.apps.steps", "run_profile", app, config, steps)
    return [f for frames in out for f in frames]


APPS = [
    {"profile": "water_main", "board": "esp32-devkitc", "scenario": "water_burst.json", "peers": _water_peers,
     "config": {"interval": 300, "thresholds": {}}, "day": _water_day, "line": rb"water \d+ p ",
     "examples": [("water_main", {"pressure": 452.3, "flow": 8.25, "pressure_min": 440.0, "pressure_max": 470.0,
                                  "battery": 80}, False)]},
    {"profile": "hiker_tracker", "board": "lilygo-t-beam", "scenario": "hiker_trail.json", "peers": _hiker_peers,
     "config": {"interval": 60, "thresholds": {"gnss_nofix_epochs": 3, "gnss_wait_s": 10}}, "day": _hiker_day,
     "line": rb"hiker \d+ fix gps",
     "examples": [("hiker_tracker", {"latitude": 2240600, "longitude": 11412900, "fix": "gps", "sos": False,
                                     "battery": 16}, True),
                  ("hiker_tracker", {"latitude": None, "longitude": None, "fix": "none", "sos": True,
                                     "battery": 16}, True)]},
]



# ---- parking bay, rodent station, smart toilet

def _no_peers(vb, scenario):
    return []


def _ld2410_peers(vb, scenario):
    from hil.peers.ld2410 import LD2410Peer
    return [LD2410Peer(vb.uarts["rs485"], [(0, 2, 80)], clock=vb.now_ms).start()]


def _toilet_board_json(board):
    from hil.scenarios.run_apps import board_json
    return json.dumps(board_json(board, "smart_toilet")).encode()


def _parking_day():
    # a wake every 2 minutes; six cars a day (12 changes), traffic over the empty bay twice an hour
    steps = []
    cars = [(7.5, 9), (9.5, 12), (12.2, 14), (14.5, 17.5), (18, 19), (20, 23)]
    for i in range(720):
        h = i / 30
        car = any(a <= h < b for a, b in cars)
        d = (5.0, 5.0, 28.0) if car else ((6.0, 9.0, 14.0) if i % 15 == 7 else (0.0, 0.0, 0.0))
        steps.append(("wake", i * 120, {"field": [12.0 + d[0], -4.0 + d[1], 42.0 + d[2]], "temp": 20.0,
                                        "battery": 80}))
    return steps


def _rodent_day():
    # a wake every 15 minutes; a few events most hours, one burst at night
    steps = []
    for i in range(96):
        n = 12 if i == 10 else (1 if i % 3 == 0 else 0)
        steps += [("wake", i * 900, {"pir": n, "beam": 0, "battery": 60}), ("sleep",)]
    return steps


def _toilet_day():
    # a wake every 10 minutes; 40 uses, one cleaning alert, consumables run low once
    steps = []
    for i in range(144):
        steps += [("wake", i * 600, {"presence": i % 4 == 1, "people": 1 if i % 4 == 1 else 0,
                                     "nh3_mv": 580 if 60 <= i < 70 else 480, "h2s_mv": 420,
                                     "level_mm": 60 + i * 100 // 144, "leak_mv": 2900,
                                     "battery": 70}), ("sleep",)]
    return steps


APPS += [
    {"profile": "parking_bay", "board": "esp32-devkitc", "scenario": "parking_quick_swap.json",
     "peers": _no_peers, "config": {"interval": 60, "thresholds": {"calibrate": 1, "keepalive_s": 0}},
     "day_config": {"interval": 120, "thresholds": {}}, "day": _parking_day, "line": rb"parking_bay: \w",
     "examples": [("parking_bay", {"occupied": True, "changes": 1234, "battery": 80}, False)]},
    {"profile": "rodent_station", "board": "esp32-devkitc", "scenario": "rodent_burst.json",
     "peers": _no_peers, "config": {"interval": 60, "thresholds": {"window_s": 0}},
     "day_config": {"interval": 900, "thresholds": {}}, "day": _rodent_day, "line": rb"rodent_station: \w",
     "examples": [("rodent_station", {"activity": 14, "burst": True, "battery": 60}, False)]},
    {"profile": "smart_toilet", "board": "esp32-devkitc", "scenario": "toilet_ordinary_day.json",
     "peers": _ld2410_peers, "board_json": _toilet_board_json,
     "config": {"interval": 60, "thresholds": {"report_s": 0}},
     "day_config": {"interval": 600, "thresholds": {}}, "day": _toilet_day, "line": rb"smart_toilet: \w",
     "examples": [("smart_toilet", {"occupied": True, "leak": False, "people": 42, "nh3": 12, "h2s": 0.35,
                                    "consumables": 60, "battery": 70}, False)]},
]

IDENTITY = {"dev_eui": "70b3d57ed0000301", "join_eui": "70b3d57ed0000000",
            "app_key": "00112233445566778899aabbccddeeff", "device_key": "ab" * 32, "status_every": 1000}


def _run(entry, heap, wakes=1, firmware=True, timeout=15):
    """(ok, wall s, [virtual awake ms]) of a board with this heap running `wakes` wakes."""
    from hil.board import LAYOUT, _build
    from hil.vboard import VirtualBoard
    scenario = json.loads((SCENARIOS / entry["scenario"]).read_text())
    with tempfile.TemporaryDirectory() as tmp:
        vb = VirtualBoard(entry["board"], scenario=scenario, flash_dir=Path(tmp), heap="%d" % heap).start()
        peers = []
        try:
            vb.wait_for(rb">>> ", timeout=20)
            if not firmware:
                return True, 0.0, []
            files = [("/board.json", entry.get("board_json", _board_json)(entry["board"])),
                     ("/config.json", json.dumps(dict(IDENTITY, profile=entry["profile"], **entry["config"])).encode())]
            files += [(dst.rstrip("/") + "/" + f, data) for src, dst in LAYOUT.items()
                      for f, data in _build(ROOT / src, True)]
            peers = entry["peers"](vb, scenario)
            started = time.monotonic()
            vb.offline(lambda image: [image.put(p, d) for p, d in files])
            pos = 0
            awake = []
            for _ in range(wakes):
                boot = vb.wait_for(rb"rst:0x[15] ", timeout=timeout, start=pos)
                if not boot:
                    return False, 0.0, []
                t0 = vb.now_ms()
                m = vb.wait_for(entry["line"], timeout=timeout, start=boot.end())
                if not m:
                    return False, 0.0, []
                m2 = vb.wait_for(rb"uplink [0-9a-f]+\r?\n", timeout=timeout, start=m.end())
                if not m2 or b"MemoryError" in bytes(vb.log[boot.end():m2.end()]):
                    return False, 0.0, []
                awake.append(max(0, vb.now_ms() - t0))
                nxt = vb.wait_for(rb"rst:0x5 ", timeout=timeout, start=m2.end())
                if not nxt:
                    return False, 0.0, []
                pos = nxt.start()
            return True, time.monotonic() - started, awake
        except TimeoutError:
            return False, 0.0, []
        finally:
            for p in peers:
                p.stop()
            vb.stop()


def _smallest(entry, lo, hi, firmware=True):
    if not _run(entry, hi, firmware=firmware)[0]:
        raise RuntimeError("%s does not finish a wake even with %d bytes of heap" % (entry["profile"], hi))
    while hi - lo > STEP:
        mid = (lo + hi) // 2 // STEP * STEP
        if _run(entry, mid, firmware=firmware)[0]:
            hi = mid
        else:
            lo = mid
    return hi


def _parking_quality():
    """(true, detected, false) over the parking scenario set, each run through
    the firmware on its own virtual board (hil/scenarios/run_apps.py)."""
    from hil.board import VirtualBoardHandle
    from hil.scenarios.run_apps import parking_quality, run_scenario
    from hil.vboard import VirtualBoard
    rows = []
    for path in sorted(SCENARIOS.glob("parking_*.json")):
        with tempfile.TemporaryDirectory() as tmp:
            made = []

            def make_board(scenario=None, heap="304k"):
                vb = VirtualBoard("esp32-devkitc", scenario=scenario, flash_dir=Path(tmp), heap=heap).start()
                h = VirtualBoardHandle(vb)
                made.append(h)
                vb.wait_for(rb">>> ", timeout=20)
                return h.connect()
            try:
                rows.append((path.stem,) + parking_quality(run_scenario(make_board, path.stem)))
            finally:
                for h in made:
                    h.close()
                    h.vboard.stop()
    return rows


def main():
    from protocols import frames
    from tests.interpreters import MicroPython
    mp = MicroPython()
    try:
        print("%-14s %-15s %9s %9s %10s %10s %11s  %s" % ("profile", "board", "heap KB", "goal", "wall/wake",
                                                         "virt/wake", "frames/day", "frame sizes (B)"))
        for entry in APPS:
            base = _smallest(entry, 16 * 1024, 256 * 1024, firmware=False)
            need = _smallest(entry, base, base + 256 * 1024)
            heap = need - base
            ok, wall, awake = _run(entry, 304 * 1024, wakes=4)
            per_day = _typical_frames(mp, entry["profile"], entry.get("day_config", entry["config"]), entry["day"]())
            sizes = ["%s %d" % (k, len(frames.encode(k, f, raw))) for k, f, raw in entry["examples"]]
            print("%-14s %-15s %9.1f %9s %9.2fs %9.2fs %11d  %s" % (
                entry["profile"], entry["board"], heap / 1024, "ok" if heap <= GOAL_BYTES else "OVER",
                wall / 4 if ok else float("nan"), (sum(awake) / len(awake) / 1000) if awake else float("nan"),
                len(per_day), ", ".join(sizes)))
        print("\nheap: smallest heap finishing a wake less the REPL's own, to %d B; goal %d KB per wake."
              % (STEP, GOAL_BYTES // 1024))
        print("wall/wake: this machine's wall time per wake (boot, sampling, frames, deep sleep) over 4 wakes;")
        print("virt/wake: the board's virtual time from reset to its frame (the sampling window, the GNSS wait).")
        print("frames/day: the Profile through a typical day (water: a wake every 5 min; hiker: every minute,")
        print("6 h walking); frame sizes: CBOR bytes of each frame kind at typical values (AS923 DR2 limit: 11).")
        print("parking/rodent/toilet days: a wake every 2 / 15 / 10 minutes with their default thresholds;")
        print("their heap and awake rows wake with a frame each time (keep-alive, window, report of 0 s).")
        print("\nparking detection over the scenario set (hil/scenarios/parking_*.json, real firmware):")
        total = [0, 0, 0]
        for name, true, found, false in _parking_quality():
            print("  %-24s %3d changes, %3d detected, %d false" % (name, true, found, false))
            total = [total[0] + true, total[1] + found, total[2] + false]
        print("  %-24s %3d changes, %5.1f %% detected (goal 99 %%), %d false changes (goal 0)" % (
            "all", total[0], 100.0 * total[1] / max(1, total[0]), total[2]))
    finally:
        mp.close()


if __name__ == "__main__":
    main()
