"""Application figures per profile, on the virtual board with the profile's
scenario (hil/scenarios/) and its peers (Modbus meter, GNSS feeder, LD2410),
as the application tests run them.

Heap per wake cycle. A wake cycle is one deep-sleep wake of the profile:
boot.py, main.py, the runtime, the profile's sensors read, its frames and the
status and counters frames queued and sent, deep sleep.
The wake measured is not the first boot: the board runs its scenario at full
heap, held at each deep sleep (hil.vboard: hold_deepsleep) so the flash and
RTC state before each wake can be copied, up to the scenario's hard case
(parking: a car arriving; rodent: the burst; toilet: the leak; water: the
burst; hiker: the SOS press); the wake measured is the one of that walk that
sent the most frame bytes, with status_every 1 so the status and counters
frames fall due in it too: the worst wake of the run, and one the profile
meets every day. From the copied state that wake is replayed on fresh boards
with less and less heap: the smallest heap (bisection, 1 KB) with which it
still ends in deep sleep with the same frames, no MemoryError and no error
logged, less the smallest heap with which the same virtual board (same
scenario, ROM partition mounted) reaches its REPL with nothing of ours on
flash. micropython.mem_peak() cannot be used: it never counts what the GC
freed, so the figure is what the wake needs of a heap, imports and
fragmentation included (and the virtual board's own models, which share the
VM's heap, as far as they allocate during the wake).
Three deployments. The two bench.runtime knows, with frames to the console
as the application tests run them (a bench board without its LoRa modem),
and the deployed one: ROMFS with the board's RAK3172 module on its UART
(hil/peers/modem_emulator.py), the frames sent as confirmed LoRaWAN uplinks,
the module joined in the walk's first boot and restored, session and
counters, for each replay (it keeps its session through the ESP32's deep
sleep). Of the first two: ROMFS (bytecode in place in a ROM
partition; needs a MicroPython build with MICROPY_VFS_ROM and a romfs
partition table: the stock ESP32_GENERIC has none) and .mpy on littlefs
(the stock firmware). The runtime-only wake (the same board, config and
deep-sleep wake, without apps/: status frames only) is measured in the same
run, and the profile's increment over it shown.

Awake time: the board's virtual time from its boot to deep sleep, and this
machine's wall time (VM start to deep sleep), averaged over the walk's wakes,
and for the measured wake.

Frames per day: the Profile (on the MicroPython unix port) through a typical
day of readings, in chunks of wakes in one live Profile (tests/apps/steps.py
sessions). Frame sizes: bytes of every frame kind that came out, of the day's
Profile and of the board's walk (status, counters), smallest to largest.

Parking detection: share of bay-state changes detected and false changes
over the parking scenario set (goal: 99 %, none false), run beside the rest.

    python -m bench.apps [profile ...]
"""
import json
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.runtime import DEPLOYMENTS, GOAL_BYTES, STEP, firmware_files, smallest_heap, write_flash

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "hil" / "scenarios"
FULL_HEAP = 304 * 1024
FREE_MAX = 192 * 1024   # the most free heap the bisection offers boot.py (304 KB VM: about 215 KB free there)
CHUNK = 120          # wakes per call of the MicroPython test server
UPLINK = re.compile(rb"uplink ([0-9a-f]+)\r?\n")
REPL_PROMPT = re.compile(rb"\n>>> |raw REPL")
# what a wake must not show; the runtime-only wake's "profile ... not installed" is its point
ERRORS = re.compile(rb"MemoryError|Traceback|\d+ E (?!profile \w+ not installed)[^\r\n]*")
# The wake a deployed board runs: the firmware in ROMFS, frames sent over
# LoRaWAN through the board's RAK3172 module (hil/peers/modem_emulator.py),
# joined before the measured wake as the module stays through deep sleep.
LORAWAN = "lorawan"
WASM32 = "wasm32"    # hil.vboard's 32-bit VM
APP_DEPLOYMENTS = DEPLOYMENTS + (LORAWAN,)
# The module's state that outlives the ESP32's deep sleep: its settings and the session.
MODEM_STATE = ("dev_eui", "app_eui", "app_key", "band", "njm", "cls", "adr", "dr", "cfm", "retry", "linkcheck",
               "nwm", "joined", "dev_addr", "f_cnt_up", "f_cnt_down")
MODEM_FILE = "bench-modem.json"   # beside the snapshot's flash: the module's state before the wake
IDENTITY = {"dev_eui": "70b3d57ed0000301", "join_eui": "70b3d57ed0000000",
            "app_key": "00112233445566778899aabbccddeeff", "device_key": "ab" * 32}


def _scenario(name):
    return json.loads((SCENARIOS / name).read_text())


def _board_json(board, profile, deploy):
    # As the application tests flash it: no LoRa modem, frames to the console;
    # as a deployed board has it (LORAWAN): the modem on its lora_uart.
    from hil.scenarios.run_apps import board_json
    b = board_json(board, profile) if deploy != LORAWAN else json.loads(
        (ROOT / "boards" / (board + ".json")).read_text())
    return json.dumps(b).encode()


def _firmware(deploy):
    return "romfs" if deploy == LORAWAN else deploy


# ---------------------------------------------------------------- peers, as the tests run them

def _no_peers(vb, scenario):
    return []


def _water_peers(vb, scenario):
    from hil.peers.modbus_meter import ModbusMeterPeer
    from tests.apps.test_water import meter_state
    return [ModbusMeterPeer(vb.uarts["rs485"], meter_state(scenario, vb.now_ms)).start()]


def _hiker_peers(vb, scenario):
    from hil.peers.gnss_feeder import GnssFeeder, Track
    return [GnssFeeder(vb.uarts["gnss_uart"], Track.from_scenario(scenario), clock=vb.now_ms, period=0.1).start()]


def _ld2410_peers(vb, scenario):
    from hil import scenario as scn
    from hil.peers.ld2410 import LD2410Peer
    start = scn.start_ms(scenario)
    timeline = [(start + int(s * 1000), st, cm) for s, st, cm in scenario["ld2410"]]
    return [LD2410Peer(vb.uarts["presence_uart"], timeline, clock=vb.now_ms).start()]


def _modem(vb, state=None):
    # The RAK3172 on the board's lora_uart; with `state`, as it was when the
    # snapshot was taken (joined, its frame counters).
    from hil.peers.modem_emulator import ModemEmulator
    modem = ModemEmulator(vb.uarts["lora_uart"], vb.now_ms, seed=5)
    for k, v in (state or {}).items():
        setattr(modem, k, v)
    return modem.start()


def _peers(entry, deploy, vb, scenario, modem_state=None):
    peers = entry["peers"](vb, scenario)
    if deploy == LORAWAN:
        peers.append(_modem(vb, modem_state))
    return peers


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


def _parking_day():
    # a wake every 2 minutes (light sleep); six cars a day (12 changes), traffic over the empty bay twice an hour
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
    # a wake every 10 minutes; 36 uses, one cleaning alert, consumables run low once
    steps = []
    for i in range(144):
        steps += [("wake", i * 600, {"presence": i % 4 == 1, "people": 1 if i % 4 == 1 else 0,
                                     "nh3_mv": 580 if 60 <= i < 70 else 480, "h2s_mv": 420,
                                     "level_mm": 60 + i * 100 // 144, "leak_mv": 2900,
                                     "battery": 70}), ("sleep",)]
    return steps


# ---------------------------------------------------------------- the profiles
# scenario: the board run; config: the device's config on it (the scenario's or
# the tests'), run under deep sleep; until: how far into the scenario the walk
# goes (past its hard case); day, day_config: the typical day (Profile only).

def _hiker_config():
    from tests.apps.test_hiker import PROVISIONED
    return dict(PROVISIONED)


def _water_config():
    from tests.apps.test_water import PROVISIONED
    return dict(PROVISIONED)


APPS = [
    {"profile": "parking_bay", "board": "esp32-devkitc", "scenario": "parking_quick_swap.json",
     "until": lambda s: 660, "peers": _no_peers, "hard": "a car arriving",
     "day": _parking_day, "day_config": {"interval": 120, "thresholds": {}}},
    {"profile": "rodent_station", "board": "esp32-devkitc", "scenario": "rodent_burst.json",
     "until": lambda s: s["expect"]["bursts"][0] + 60, "peers": _no_peers, "hard": "the burst alert",
     "day": _rodent_day, "day_config": {"interval": 900, "thresholds": {}}},
    {"profile": "smart_toilet", "board": "esp32-devkitc-toilet", "scenario": "toilet_ordinary_day.json",
     "until": lambda s: s["expect"]["leak"][0] + 660, "peers": _ld2410_peers, "hard": "the leak alarm",
     "day": _toilet_day, "day_config": {"interval": 600, "thresholds": {}}},
    {"profile": "water_main", "board": "esp32-devkitc", "scenario": "water_burst.json", "config": _water_config,
     "until": lambda s: 27 * 60, "peers": _water_peers,
     "hard": "the burst alarm", "day": _water_day, "day_config": {"interval": 300, "thresholds": {}}},
    {"profile": "hiker_tracker", "board": "lilygo-t-beam", "scenario": "hiker_sos.json", "config": _hiker_config,
     "until": lambda s: 14 * 60, "peers": _hiker_peers, "hard": "the SOS press",
     "day": _hiker_day, "day_config": {"interval": 60, "thresholds": {"gnss_nofix_epochs": 3, "gnss_wait_s": 10}}},
]


def _device_config(entry, scenario):
    cfg = entry["config"]() if "config" in entry else dict(scenario["config"])
    cfg = dict(IDENTITY, **{k: v for k, v in cfg.items() if k not in IDENTITY})
    cfg.update(profile=entry["profile"], sleep="deep", status_every=1)
    return cfg


# ---------------------------------------------------------------- one wake on the board

def _wake_record(vb, pos, wall):
    """What one wake did, from the console from `pos` on and the events."""
    from protocols import frames
    log = bytes(vb.log[pos:])
    sent = []
    for m in UPLINK.finditer(log):
        data = bytes.fromhex(m.group(1).decode())
        sent.append((frames.decode(data)[0], len(data)))
    boots = [ms for ms, what, _ in vb.events if what == "boot"]
    sleeps = [ms for ms, what, _ in vb.events if what == "deepsleep"]
    virtual = sleeps[-1] - boots[-1] if boots and sleeps and sleeps[-1] >= boots[-1] else None
    return {"frames": sent, "bytes": sum(n for _, n in sent), "errors": ERRORS.findall(log),
            "virtual": virtual, "wall": wall, "log": log}


def _timeout(entry, deploy):
    # confirmed uplinks wait for their receive windows (virtual seconds each)
    return (60 if entry["board"] == "lilygo-t-beam" else 30) * (2 if deploy == LORAWAN else 1)


def _walk(entry, deploy, apps=True):
    """Run the scenario at full heap, held at each deep sleep, until
    entry["until"] s into it (with apps) or one wake past the first boot
    (without). Returns (snapshot folder of the board before the wake to
    measure, that wake's record, every deep-sleep wake's record); the
    caller removes the snapshot."""
    from hil import scenario as scn
    from hil.vboard import VirtualBoard
    scenario = _scenario(entry["scenario"])
    end_ms = scn.start_ms(scenario) + (entry["until"](scenario) * 1000 if apps else 1)
    cfg = _device_config(entry, scenario)
    rom, files = firmware_files(_firmware(deploy), exclude=() if apps else ("apps",))
    files = files + [("/board.json", _board_json(entry["board"], entry["profile"], deploy)),
                     ("/config.json", json.dumps(cfg).encode())]
    work = Path(tempfile.mkdtemp(prefix="bench-walk-"))
    best = Path(tempfile.mkdtemp(prefix="bench-snap-"))
    vb = VirtualBoard(entry["board"], scenario=scenario, flash_dir=work / "board", hold_deepsleep=True)
    write_flash(vb, rom, files)
    vb.start()
    peers = _peers(entry, deploy, vb, scenario)
    modem = peers[-1] if deploy == LORAWAN else None
    wakes, chosen = [], None
    try:
        vb.wait_asleep(_timeout(entry, deploy))            # the first boot: not measured
        while True:
            if vb.now_ms() > end_ms and wakes:
                break
            before = work / "before"
            shutil.rmtree(before, ignore_errors=True)
            shutil.copytree(work / "board", before)
            if modem is not None:
                (before / MODEM_FILE).write_text(json.dumps({k: getattr(modem, k) for k in MODEM_STATE}))
            pos = len(vb.log)
            started = time.perf_counter()
            vb.wake_up()
            vb.wait_asleep(_timeout(entry, deploy))
            w = _wake_record(vb, pos, time.perf_counter() - started)
            wakes.append(w)
            if w["errors"]:
                raise RuntimeError("wake %d failed at full heap: %s\n%s" % (
                    len(wakes), w["errors"][0].decode(), w["log"][-1500:].decode("utf-8", "replace")))
            if chosen is None or _profile_bytes(w) >= _profile_bytes(chosen):
                chosen = w
                shutil.rmtree(best)
                before.rename(best)
    except BaseException:
        shutil.rmtree(best, ignore_errors=True)
        raise
    finally:
        for p in peers:
            p.stop()
        vb.stop()
        shutil.rmtree(work, ignore_errors=True)
    _status_due(best)
    return best, chosen, wakes


RUNTIME_KINDS = ("status", "counters")


def _profile_bytes(wake):
    return sum(n for kind, n in wake["frames"] if kind not in RUNTIME_KINDS)


def _status_due(snapshot):
    """Make the status frames fall due in the held wake: the status countdown
    in RTC memory (runtime/state.py: ">4sIQHB", magic, cycle, uptime ms,
    countdown, streak) set to 0, as it is every status_every cycles."""
    path = Path(snapshot) / "state.json"
    st = json.loads(path.read_text())
    rtc = bytearray.fromhex(st["rtc_memory"])
    if rtc[:3] != b"CFs":   # runtime/state.py's magic, whichever version of it
        raise RuntimeError("RTC memory holds no runtime state to set the status countdown in")
    rtc[16:18] = b"\0\0"
    st["rtc_memory"] = rtc.hex()
    path.write_text(json.dumps(st))


def replay(entry, deploy, snapshot, free=None, vm_kind=None):
    """The wake held in `snapshot`, on a fresh board whose boot.py starts
    with `free` bytes of free heap (None: all the VM's), on the VM `vm_kind`
    (hil.vboard: "unix", 64-bit, the default; "wasm32", 32-bit as an ESP32):
    its record, or None if it did not get to deep sleep."""
    from hil.vboard import DEEPSLEEP_RESET, VirtualBoard
    scenario = _scenario(entry["scenario"])
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(snapshot, tmp, dirs_exist_ok=True)
        modem_file = Path(tmp) / MODEM_FILE
        modem_state = json.loads(modem_file.read_text()) if modem_file.exists() else None
        vb = VirtualBoard(entry["board"], scenario=scenario, flash_dir=tmp, heap="%d" % FULL_HEAP,
                          hold_deepsleep=True, free_heap=free, vm_kind=vm_kind)
        started = time.perf_counter()
        vb.start(DEEPSLEEP_RESET)
        peers = _peers(entry, deploy, vb, scenario, modem_state)
        try:
            deadline = time.monotonic() + _timeout(entry, deploy)
            while True:
                try:
                    vb.wait_asleep(0.25)
                    return dict(_wake_record(vb, 0, time.perf_counter() - started), free=vb.free_at_boot)
                except TimeoutError:
                    # at the REPL: main.py or the bootstrap gave up (out of heap before the runtime ran)
                    if time.monotonic() > deadline or REPL_PROMPT.search(vb.log):
                        return dict(_wake_record(vb, 0, None), free=vb.free_at_boot, asleep=False)
        finally:
            for p in peers:
                p.stop()
            vb.stop()


def _same_wake(got, ref):
    # Finished as at full heap: the same frame kinds out, nothing failed.
    # (a profile that catches Exception around a read turns a MemoryError
    # there into a "sensor error" line and fewer frames, not a traceback)
    return (got.get("asleep", True) and not got["errors"]
            and got["log"].count(b"sensor error") <= ref["log"].count(b"sensor error")
            and [k for k, _ in got["frames"]] == [k for k, _ in ref["frames"]])


def _finishes(entry, deploy, snapshot, ref, free, vm_kind=None):
    got = replay(entry, deploy, snapshot, free, vm_kind)
    if _same_wake(got, ref):
        return True
    if any(b"MemoryError" in e for e in got["errors"]):
        return False
    return _same_wake(replay(entry, deploy, snapshot, free, vm_kind), ref)   # a peer late under load: once more


def _smallest_wake(entry, deploy, snapshot, ref, vm_kind=None):
    """The smallest free heap at boot.py (1 KB) with which the held wake
    finishes as it did with the whole heap; None if it never does."""
    return smallest_heap(lambda free: _finishes(entry, deploy, snapshot, ref, free, vm_kind), 0, FREE_MAX)


def _peak_site(entry, deploy, snapshot, ref, need, vm_kind=None):
    # Where the wake runs out 1 KB below what it needs: the innermost frame
    # of the MemoryError's traceback (its allocation), to say where the heap goes.
    if not need or need <= STEP:
        return "-"
    for _ in range(2):   # a replay that timed out under load says nothing of the heap: once more
        got = replay(entry, deploy, snapshot, need - STEP, vm_kind)
        m = re.search(rb'File "([^"]+)", line (\d+), in (\S+)\r?\nMemoryError: [^\r\n]*?(\d+) bytes', got["log"])
        if m:
            break
    if m:
        return "%s:%s %s (%s B)" % tuple(x.decode() for x in m.groups())
    # a profile that catches the MemoryError of a read says "sensor error ..." and carries on
    errors = re.findall(rb"sensor error [^\r\n]*", got["log"])
    if len(errors) > ref["log"].count(b"sensor error"):
        return errors[-1].decode("utf-8", "replace")
    if got["errors"]:
        return got["errors"][-1].decode("utf-8", "replace")
    if _same_wake(got, ref):
        return "-- (1 KB below, this replay finished: the need is at the edge, within a step)"
    if not got.get("asleep", True):
        return "no deep sleep; last line: %s" % (
            got["log"].rstrip().rsplit(b"\n", 1)[-1].decode("utf-8", "replace").strip()[:120],)
    return "frames %s instead of %s" % ("+".join(k for k, _ in got["frames"]) or "none",
                                        "+".join(k for k, _ in ref["frames"]))


VM32_DEPLOYMENTS = ("romfs", LORAWAN)   # the firmware as a board runs it, from ROM


def _need_32bit(entry, deploy, snap, ref):
    # (need, the 32-bit wake at full heap) of a held wake on the 32-bit VM;
    # that wake must be the 64-bit one's (same frames, nothing failed)
    ref32 = replay(entry, deploy, snap, vm_kind=WASM32)
    if not _same_wake(ref32, ref32) or [k for k, _ in ref32["frames"]] != [k for k, _ in ref["frames"]]:
        raise RuntimeError("the 32-bit VM's wake is not the 64-bit one's at full heap: %s" % (
            ref32["errors"][0].decode() if ref32["errors"] else "+".join(k for k, _ in ref32["frames"])))
    return _smallest_wake(entry, deploy, snap, ref32, WASM32), ref32


def _measure_32bit(entry, deploy, profile, runtime_only):
    """{need32, runtime32, peak32} of the held wakes (snapshot, 64-bit wake)
    on the 32-bit VM (hil/vm32.py), the heap an ESP32 spends on them;
    {error32} instead when that VM cannot run here or fails them."""
    from hil import vm32
    if not vm32.available():
        return {"error32": "the 32-bit VM needs node and npm"}
    try:
        need, ref32 = _need_32bit(entry, deploy, *profile)
        runtime, _ = _need_32bit(entry, deploy, *runtime_only)
        return {"need32": need, "runtime32": runtime,
                "peak32": _peak_site(entry, deploy, profile[0], ref32, need, WASM32)}
    except Exception as e:   # no registry, a VM that failed: said in the row
        return {"error32": "%s: %s" % (type(e).__name__, e)}


def measure_heap(entry, deploy):
    """{deploy, base, need, runtime, wakes, chosen, ...} for one deployment;
    "error" instead when a step could not be done."""
    out = {"deploy": deploy}
    snaps = []
    try:
        snap, _, wakes = _walk(entry, deploy)
        snaps.append(snap)
        rsnap, _, _ = _walk(entry, deploy, apps=False)
        snaps.append(rsnap)
        chosen, rchosen = replay(entry, deploy, snap), replay(entry, deploy, rsnap)
        for what, w in (("profile's", chosen), ("runtime-only", rchosen)):
            if not w.get("asleep", True) or w["errors"]:
                return dict(out, error="the %s wake fails at full heap: %s" % (
                    what, w["errors"][0].decode() if w["errors"] else "no deep sleep"))
        need = _smallest_wake(entry, deploy, snap, chosen)
        runtime = _smallest_wake(entry, deploy, rsnap, rchosen)
        out.update(need=need, runtime=runtime, wakes=wakes, chosen=chosen, runtime_wake=rchosen,
                   peak=_peak_site(entry, deploy, snap, chosen, need))
        if need is None or runtime is None:
            out["error"] = "the %s wake does not finish even with %d B free" % (
                "profile's" if need is None else "runtime-only", FREE_MAX)
        if deploy in VM32_DEPLOYMENTS:
            out.update(_measure_32bit(entry, deploy, (snap, chosen), (rsnap, rchosen)))
        return out
    except Exception as e:   # one deployment's failure is a row with its reason, not a lost table
        return dict(out, error="%s: %s" % (type(e).__name__, e))
    finally:
        for s in snaps:
            shutil.rmtree(s, ignore_errors=True)


# ---------------------------------------------------------------- a typical day (Profile only)

def typical_day(micropython, app, config, steps, chunk=CHUNK):
    """[(kind, bytes)] of every frame the Profile sends through `steps`, fed
    to one live Profile `chunk` wakes at a time."""
    session = "bench-" + app
    micropython.call("tests.apps.steps", "end_profile", session)
    out = []
    try:
        part, wakes = [], 0
        for step in steps + [None]:
            if step is None or (step[0] == "wake" and wakes == chunk):
                for frames in micropython.call("tests.apps.steps", "run_profile", app, config, part,
                                               session=session, sizes=True):
                    out += [(kind, n) for kind, _, n in frames]
                part, wakes = [], 0
            if step is not None:
                part.append(step)
                wakes += step[0] == "wake"
    finally:
        micropython.call("tests.apps.steps", "end_profile", session)
    return out


def _sizes(frames):
    by_kind = {}
    for kind, n in frames:
        lo, hi = by_kind.get(kind, (n, n))
        by_kind[kind] = (min(lo, n), max(hi, n))
    return ", ".join("%s %s" % (k, lo if lo == hi else "%d-%d" % (lo, hi)) for k, (lo, hi) in sorted(by_kind.items()))


def _mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else float("nan")


def measure(entry, micropython):
    """The profile's figures: heap rows per deployment, the day, frame sizes."""
    with ThreadPoolExecutor(len(APP_DEPLOYMENTS)) as pool:
        rows = list(pool.map(lambda d: measure_heap(entry, d), APP_DEPLOYMENTS))
    try:
        day = typical_day(micropython, entry["profile"], entry["day_config"], entry["day"]())
        day_error = None
    except Exception as e:
        day, day_error = [], "%s: %s" % (type(e).__name__, e)
    return {"entry": entry, "rows": rows, "day": day, "day_error": day_error}


def parking_quality():
    """(scenario, true changes, detected, false changes) over the parking
    scenario set, each run through the firmware on its own virtual board
    (hil/scenarios/run_apps.py), as tests/apps/test_parking.py runs them."""
    from hil.board import VirtualBoardHandle
    from hil.scenarios.run_apps import parking_quality as score, run_scenario
    from hil.vboard import VirtualBoard
    rows = []
    for path in sorted(SCENARIOS.glob("parking_*.json")):
        with tempfile.TemporaryDirectory() as tmp:
            made = []

            def make_board(scenario=None, board_type=None, heap="304k"):
                vb = VirtualBoard(board_type or "esp32-devkitc", scenario=scenario, flash_dir=Path(tmp),
                                  heap=heap).start()
                h = VirtualBoardHandle(vb)
                made.append(h)
                vb.wait_for(rb">>> ", timeout=20)
                return h.connect()
            try:
                rows.append((path.stem,) + score(run_scenario(make_board, path.stem)))
            except Exception as e:   # a scenario that does not run is a row with its reason
                rows.append((path.stem, "%s: %s" % (type(e).__name__, e)))
            finally:
                for h in made:
                    h.close()
                    h.vboard.stop()
    return rows


def _print_quality(rows):
    print("parking detection over the scenario set (hil/scenarios/parking_*.json, real firmware, light sleep):")
    total = [0, 0, 0]
    for row in rows:
        if len(row) == 2:
            print("  %-24s no figure: %s" % row)
            continue
        name, true, found, false = row
        print("  %-24s %3d changes, %3d detected, %d false" % (name, true, found, false))
        total = [total[0] + true, total[1] + found, total[2] + false]
    print("  %-24s %3d changes, %5.1f %% detected (goal 99 %%), %d false changes (goal 0)\n" % (
        "all", total[0], 100.0 * total[1] / max(1, total[0]), total[2]))
    return all(len(r) == 4 for r in rows)


def _print(result):
    entry = result["entry"]
    name = entry["profile"]
    for r in result["rows"]:
        if "need" not in r:
            print("%-14s %-8s  no figures: %s" % (name, r["deploy"], r["error"]))
            continue
        if r.get("error"):
            print("%-14s %-8s  no heap figure: %s" % (name, r["deploy"], r["error"]))
        heap, rt = r["need"], r["runtime"]
        wakes = r["wakes"]
        c = r["chosen"]
        print("%-14s %-8s %8s %6s %8s %9s %5d %8.0f %8.0f %8s %8.0f   %s" % (
            (name, r["deploy"]) + _heap_cells(heap, rt) + (
            len(wakes), _mean(w["virtual"] for w in wakes), 1000 * _mean(w["wall"] for w in wakes),
            "%d" % c["virtual"] if c["virtual"] is not None else "-", 1000 * c["wall"],
            "+".join(k for k, _ in c["frames"]))))
        print("%-14s %-8s   out of heap 1 KB below: %s" % ("", "", r["peak"]))
        _print_32bit_row(r)
    walk = [f for r in result["rows"] for w in r.get("wakes", ()) for f in w["frames"]]
    if result["day_error"]:
        print("%-14s frames/day: no figure: %s" % ("", result["day_error"]))
    else:
        print("%-14s frames/day %d (a wake every %d s); sizes (B): %s" % (
            "", len(result["day"]), entry["day_config"]["interval"], _sizes(result["day"] + walk)))


def _print_32bit_row(r):
    if r.get("error32"):
        print("%-14s %-8s  32-bit VM: no figure: %s" % ("", "", r["error32"]))
        return
    if "need32" not in r:
        return
    print("%-14s %-8s %8s %6s %8s %9s   <- on the 32-bit VM; out of heap 1 KB below: %s" % (
        ("", "32-bit") + _heap_cells(r["need32"], r["runtime32"]) + (r["peak32"],)))


def _heap_cells(need, rt):
    # heap B, x goal, runtime, profile+ of a row ("-" for a figure missing)
    return ("%d" % need if need is not None else "-",
            "%.2fx" % (need / GOAL_BYTES) if need is not None else "-",
            "%d" % rt if rt is not None else "-",
            "%+d" % (need - rt) if need is not None and rt is not None else "-")


HEADER = ("%-14s %-8s %8s %6s %8s %9s %5s %8s %8s %8s %8s   %s"
          % ("profile", "firmware", "heap B", "x goal", "runtime", "profile+", "wakes", "virt ms", "wall ms",
             "virt ms", "wall ms", "measured wake's frames"))


def _meet(results, deploy, key="need"):
    return [r["entry"]["profile"] for r in results
            if all(x.get(key) is not None and x[key] <= GOAL_BYTES for x in r["rows"] if x["deploy"] == deploy)]


def main(argv=None):
    from tests.interpreters import MicroPython
    names = [a for a in (argv if argv is not None else sys.argv[1:]) if not a.startswith("-")]
    chosen = [e for e in APPS if not names or e["profile"] in names]
    started = time.perf_counter()
    mp = MicroPython()
    results = []
    # the parking scenario set runs beside the heap figures (it waits on virtual time, mostly)
    quality_pool = ThreadPoolExecutor(1)
    quality = quality_pool.submit(parking_quality) if any(e["profile"] == "parking_bay" for e in chosen) else None
    try:
        print("per profile, one deep-sleep wake cycle on the virtual board (console transport, or LoRaWAN: %s);"
              " goal %d B of heap" % (LORAWAN, GOAL_BYTES))
        print("%-14s %-8s %8s %6s %8s %9s %5s %17s %17s" % ("", "", "", "", "", "", "", "walk: mean/wake",
                                                            "measured wake"))
        print(HEADER, flush=True)
        for entry in chosen:
            result = measure(entry, mp)
            results.append(result)
            _print(result)
            sys.stdout.flush()
    finally:
        mp.close()
    _notes(chosen)
    quality_ok = _print_quality(quality.result()) if quality is not None else True
    quality_pool.shutdown()
    for deploy in APP_DEPLOYMENTS:
        print("meet the %d B goal on %s, 64-bit VM: %s" % (GOAL_BYTES, deploy,
                                                           ", ".join(_meet(results, deploy)) or "none"))
    for deploy in VM32_DEPLOYMENTS:
        print("meet the %d B goal on %s, 32-bit VM (as on an ESP32): %s" % (
            GOAL_BYTES, deploy, ", ".join(_meet(results, deploy, "need32")) or "none"))
    print("(measured in %.0f s)" % (time.perf_counter() - started))
    failed = [r["entry"]["profile"] for r in results
              if r["day_error"] or any(x.get("error") or x.get("error32") for x in r["rows"])]
    if not quality_ok:
        failed.append("parking detection")
    if failed:
        sys.exit("bench.apps: no figures for " + ", ".join(failed))


def _notes(entries):
    print("\nheap B: the smallest free heap boot.py can start with (bisection, %d B; hil.vboard free_heap holds the"
          % STEP)
    print("  rest of the VM's) for the measured wake to end in deep sleep with the same frames as with the whole")
    print("  heap, no MemoryError, no error logged; x goal: that over %d B. runtime: the same for the runtime-only"
          % GOAL_BYTES)
    print("  wake (no apps/: status and counters frames; same board, config and run); profile+: what the profile")
    print("  adds. \"out of heap 1 KB below\": the allocation that fails with 1 KB less (where the peak is).")
    print("32-bit: the same held wakes (romfs, lorawan) on the 32-bit VM (hil/vm32.py: the unix port built for")
    print("  wasm32; 4-byte pointers, 16-byte GC blocks, as on an ESP32), each checked to send the 64-bit wake's")
    print("  frames at full heap. The goal is held to this figure. Its collector keeps every stale local of a live")
    print("  C function, and the firmware's Pin, I2C and UART objects are Python objects there (the chips' models")
    print("  and pin states are made before boot.py, as hardware): both make it high, not low.")
    print("measured wake: a deep-sleep wake (not the first boot), the one of the walk that sent the most profile")
    print("  frame bytes, with the status and counters frames due too: the walk runs each profile's scenario under")
    print("  deep sleep at full heap up to its hard case: " + "; ".join(
        "%s %s (%s)" % (e["profile"], e["hard"], e["scenario"]) for e in entries) + ".")
    print("romfs: .mpy in a ROMFS partition, run in place (needs a MicroPython build with ROMFS: the stock")
    print("  ESP32_GENERIC has none); littlefs: .mpy on the filesystem, loaded into the heap (stock firmware).")
    print("  Both send to the console (a bench board, as the application tests run). lorawan: romfs on the board")
    print("  a deployed device is, its frames sent over LoRaWAN through its RAK3172 module (hil/peers/modem_emulator,")
    print("  joined in the walk's first boot and kept joined through deep sleep, as the module keeps its session).")
    print("virt ms: the board's virtual time from boot to deep sleep (sampling windows, the GNSS wait, radar);")
    print("  wall ms: this machine's, VM start to deep sleep (the unix port, not an ESP32's speed).")
    print("frames/day: the Profile through a typical day of readings (chunks of %d wakes, one live Profile);"
          % CHUNK)
    print("  sizes: encoded bytes of each kind seen in that day and on the board (status, counters), min-max.\n")


if __name__ == "__main__":
    main()
