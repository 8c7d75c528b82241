"""The hiker tracker: its Profile's decisions on MicroPython from sequences of
readings (through deep sleeps and downlinks), and the whole application on the
virtual T-Beam with the GNSS feeder walking a trail."""
import pytest


APP = "hiker_tracker"
CONFIG = {"interval": 60, "thresholds": {}}
HOME = (2237000, 11417000)   # 22.37 N 114.17 E, near Tai Po


def reading(lat=None, lon=None, sos=False, fix="gps", mv=3900):
    if lat is None:
        return {"fix": "none", "lat": None, "lon": None, "hdop": None, "sos": sos, "battery_mv": mv}
    return {"fix": fix, "lat": lat, "lon": lon, "hdop": 120, "sos": sos, "battery_mv": mv}


def walk(t0, minutes, start, step_e5=(60, 0), every=60, sos_at=()):
    # A wake every `every` s; the hiker moves step_e5 (1e-5 degree) per wake
    # (60e-5 degree of latitude is about 67 m: walking pace).
    steps = []
    lat, lon = start
    for i in range(minutes * 60 // every):
        steps.append(("wake", t0 + i * every, reading(lat, lon, sos=(i in sos_at))))
        steps.append(("sleep",))
        lat += step_e5[0]
        lon += step_e5[1]
    return steps


def sent(result):
    return [(i, f) for i, frames in enumerate(result) for f in frames]


def run(micropython, steps, config=CONFIG):
    return micropython.call("tests.apps.steps", "run_profile", APP, config, steps)


def times(steps, result):
    return [steps[i][1] for i, _ in sent(result)]


def test_moving_hiker_reports_every_five_minutes(micropython):
    steps = walk(0, 32, HOME)
    result = run(micropython, steps)
    t = times(steps, result)
    # the first wake, the start of motion (second wake), then every 300 s
    assert t == [0, 60, 360, 660, 960, 1260, 1560, 1860]
    for _, (kind, f) in sent(result):
        assert kind == "hiker_tracker" and f["fix"] == "gps" and f["sos"] is False
        assert f["battery"] == 75
    # positions are exact: 1e-5 degree steps, no float on the way
    first = sent(result)[0][1][1]
    assert (first["latitude"], first["longitude"]) == (22.37, 114.17)
    last = sent(result)[-1][1][1]
    assert last["latitude"] == pytest.approx(22.37 + 31 * 0.0006, abs=1e-9)


def test_resting_hiker_reports_rarely_and_the_stop_at_once(micropython):
    moving = walk(0, 10, HOME)
    stop_at = moving[-2][2]["lat"] + 60
    resting = []
    for i in range(150):   # two and a half hours at one spot, with 3 m of GNSS jitter
        jitter = (i % 3) - 1
        resting += [("wake", 600 + i * 60, reading(stop_at + 3 * jitter, HOME[1] + 2 * jitter)), ("sleep",)]
    steps = moving + resting
    result = run(micropython, steps)
    t = [x for x in times(steps, result) if x >= 600]
    # 660 is the moving schedule (last sent at 360); the hiker counts as still
    # after two quiet wakes (660, 720), and the stop is sent then; then once an hour
    assert t == [660, 720, 720 + 3600, 720 + 7200]


def test_sos_goes_at_once_and_repeats_until_acknowledged(micropython):
    steps = walk(0, 4, HOME, sos_at=(2,))
    steps += [("downlink", "alarm_ack", {"alarm": "sos"})]
    steps += walk(240, 3, (HOME[0] + 240, HOME[1]))
    result = run(micropython, steps)
    frames = sent(result)
    sos_times = [steps[i][1] for i, (k, f) in frames if f["sos"]]
    assert sos_times == [120, 180]               # at once, then every 60 s until the ack
    after = [f for i, (k, f) in frames if steps[i][0] == "wake" and steps[i][1] >= 240]
    assert all(f["sos"] is False for f in after)


def test_an_acknowledgement_of_another_alarm_does_not_end_the_sos(micropython):
    steps = walk(0, 1, HOME, sos_at=(0,)) + [("downlink", "alarm_ack", {"alarm": "burst"})] + walk(60, 2, HOME)
    result = run(micropython, steps)
    assert [steps[i][1] for i, (k, f) in sent(result) if f["sos"]] == [0, 60, 120]


def test_sos_survives_deep_sleep_and_resets_only_by_ack(micropython):
    steps = [("wake", 0, reading(*HOME, sos=True)), ("sleep",)]
    steps += [("wake", 600, reading(*HOME)), ("sleep",)]
    result = run(micropython, steps)
    assert [f["sos"] for _, (k, f) in sent(result)] == [True, True]


def test_no_fix_reports_none_and_never_a_position(micropython):
    steps = walk(0, 6, HOME)
    for i in range(12):   # in a valley: no fix for 12 minutes
        steps += [("wake", 360 + i * 60, reading()), ("sleep",)]
    steps += walk(1080, 2, (HOME[0] + 900, HOME[1]))
    result = run(micropython, steps)
    nofix = [(steps[i][1], f) for i, (k, f) in sent(result) if f["fix"] == "none"]
    assert nofix and all(f["latitude"] is None and f["longitude"] is None for _, f in nofix)
    assert [t for t, _ in nofix] == [360, 660, 960]   # still moving as far as it knows: every 300 s
    # the fix is back: a position goes out at once, then on the moving schedule
    back = [(steps[i][1], f) for i, (k, f) in sent(result) if steps[i][1] >= 1080]
    assert [t for t, _ in back] == [1080]
    assert back[0][1]["fix"] == "gps" and back[0][1]["latitude"] == pytest.approx(22.379)


def test_sos_without_fix_is_sent_without_position(micropython):
    result = run(micropython, [("wake", 0, reading(sos=True))])
    [(kind, f)] = result[0]
    assert f == {"latitude": None, "longitude": None, "fix": "none", "sos": True, "battery": 75}


def test_config_downlink_pair_sets_the_report_periods(micropython):
    # The runtime keeps a config downlink's threshold_high/low as thresholds "high"/"low".
    config = {"interval": 60, "thresholds": {"high": 1800, "low": 120, "still_every_s": 7200}}
    steps = walk(0, 8, HOME)
    assert times(steps, run(micropython, steps, config)) == [0, 60, 180, 300, 420]   # moving: every 120 s
    rest = []
    for i in range(70):
        rest += [("wake", i * 60, reading(*HOME)), ("sleep",)]
    assert times(rest, run(micropython, rest, config)) == [0, 1800, 3600]   # still: every 1800 s


def test_thresholds_come_from_config(micropython):
    config = {"interval": 60, "thresholds": {"moving_every_s": 600, "move_m": 100}}
    steps = walk(0, 21, HOME)   # 67 m per wake: under move_m, so the hiker counts as still
    assert times(steps, run(micropython, steps, config)) == [0]
    steps = walk(0, 22, HOME, step_e5=(120, 0))   # 134 m per wake: moving, every 600 s
    assert times(steps, run(micropython, steps, config)) == [0, 60, 660, 1260]


def test_a_fix_outside_the_frame_area_sends_no_position(micropython):
    result = run(micropython, [("wake", 0, reading(3990000, 11640000))])   # Beijing
    [(kind, f)] = result[0]
    assert f["latitude"] is None and f["longitude"] is None


def test_saved_state_is_small(micropython):
    steps = walk(0, 10, HOME, sos_at=(3,))
    assert micropython.call("tests.apps.steps", "saved_size", APP, CONFIG, steps) < 100


# ---------------------------------------------------------------- on the virtual T-Beam

import json  # noqa: E402
import re  # noqa: E402
from pathlib import Path  # noqa: E402

from hil import scenario as scn  # noqa: E402
from hil.peers.gnss_feeder import GnssFeeder, Track  # noqa: E402
from protocols import frames as wire  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "hil" / "scenarios"
BOARD = "lilygo-t-beam"
PROVISIONED = {
    "dev_eui": "70b3d57ed0000101", "join_eui": "70b3d57ed0000000",
    "app_key": "00112233445566778899aabbccddeeff", "device_key": "cd" * 32,
    "profile": "hiker_tracker", "interval": 60, "status_every": 1000,
    "thresholds": {"gnss_nofix_epochs": 3, "gnss_wait_s": 10},
}
LINE = re.compile(rb"(?:hiker (\d+) fix (\w+) (\S+) (\S+) sos (\d)|uplink ([0-9a-f]+))\r?\n")
EPOCH_2000 = 946684800


def load(name):
    return json.loads((SCENARIOS / name).read_text())


def at_s(scenario, text):
    # A scenario time as the board's time.time() (seconds since 2000-01-01).
    return scn.parse_time(text, scn.start_ms(scenario)) // 1000


def start_hiker(make_board, scenario, config=None, lora=False):
    board = make_board(scenario=scenario, board_type=BOARD)
    spec = json.loads((ROOT / "boards" / (BOARD + ".json")).read_text())
    if not lora:
        del spec["buses"]["lora_uart"]   # no modem fitted: frames go to the console
    board.put("/board.json", json.dumps(spec))
    board.put("/config.json", json.dumps(config or PROVISIONED))
    board.flash_firmware(mpy=True)
    feeder = GnssFeeder(board.uarts["gnss_uart"], Track.from_scenario(scenario), clock=board.now_ms, period=0.1)
    return board, feeder.start()


class Wakes:
    """The board's wakes, read off the console: [time, fix, lat, lon, sos, [(kind, fields)]]."""

    def __init__(self, board):
        self.board = board
        self.pending = None

    def until(self, end_s, timeout=30):
        # Every wake before the first one at or after end_s, with its frames
        # (that wake is kept for the next call).
        out = [self.pending] if self.pending else []
        self.pending = None
        while True:
            m = self.board.expect(LINE, timeout=timeout)
            if m.group(1):
                wake = [int(m.group(1)), m.group(2).decode(), m.group(3).decode(), m.group(4).decode(),
                        m.group(5) == b"1", []]
                if wake[0] >= end_s:
                    self.pending = wake
                    return out
                out.append(wake)
            elif out:
                out[-1][5].append(wire.decode(bytes.fromhex(m.group(6).decode())))


def wakes_until(board, end_s, timeout=30):
    return Wakes(board).until(end_s, timeout)


def hiker_frames(wakes):
    return [(w[0], f) for w in wakes for k, f in w[5] if k == "hiker_tracker"]


def test_trail_on_the_virtual_t_beam(make_board):
    # A wake every 2 minutes; reports every 5 minutes while moving, hourly while still.
    scenario = load("hiker_trail.json")
    board, feeder = start_hiker(make_board, scenario, dict(PROVISIONED, interval=120))
    try:
        wakes = wakes_until(board, at_s(scenario, "02:20"))
    finally:
        feeder.stop()
    track = Track.from_scenario(scenario)
    sent = hiker_frames(wakes)
    assert all(f["fix"] == "gps" and f["sos"] is False for _, f in sent)
    # every position within 100 m of where the hiker was at that wake
    for t, f in sent:
        lat, lon, _ = track.at((t - 0) * 1000)
        assert abs(f["latitude"] - lat / 1e5) < 0.0009 and abs(f["longitude"] - lon / 1e5) < 0.0009, (t, f)
    times = [t for t, _ in sent]
    gaps = [b - a for a, b in zip(times, times[1:])]

    def within(span):
        lo, hi = at_s(scenario, span[0]), at_s(scenario, span[1])
        return [t for t in times if lo <= t < hi]
    # walking: a frame at least every 5 minutes (plus a wake's slack)
    for span in scenario["expect"]["moving"]:
        ts = within(span)
        assert len(ts) >= 3 and max(b - a for a, b in zip(ts, ts[1:])) <= 300 + 120, ts
    # resting for half an hour: nothing after the stop was sent
    assert within(scenario["expect"]["still"][0]) == []
    assert max(gaps) >= 30 * 60
    # the stop (the rest position) went out once the hiker was still (two quiet wakes): at B
    stop = [f for t, f in sent if at_s(scenario, "01:20") <= t < at_s(scenario, "01:28")]
    assert stop, sent
    assert abs(stop[-1]["latitude"] - 22.406) < 1e-6 and abs(stop[-1]["longitude"] - 114.129) < 1e-6, stop
    # the first report after the rest comes as the hiker sets off again
    assert [t for t in times if t >= at_s(scenario, "02:00")][0] <= at_s(scenario, "02:04")


def test_valley_without_fix_sends_no_position_on_the_virtual_t_beam(make_board):
    scenario = load("hiker_valley.json")
    board, feeder = start_hiker(make_board, scenario, dict(PROVISIONED, interval=120))
    try:
        wakes = wakes_until(board, at_s(scenario, "01:28"))
    finally:
        feeder.stop()
    lost = (at_s(scenario, "01:06:01"), at_s(scenario, "01:20"))
    sent = hiker_frames(wakes)
    blind = [(t, f) for t, f in sent if lost[0] <= t < lost[1]]
    # the board kept reporting on the moving schedule, with no position at all
    assert len(blind) >= 2 and all(f["fix"] == "none" and f["latitude"] is None and f["longitude"] is None
                                   for _, f in blind)
    assert all(w[1] == "none" and w[2] == "None" for w in wakes if lost[0] + 5 <= w[0] < lost[1])
    # the first wake with a fix again sends its position at once
    back = [(t, f) for t, f in sent if t >= lost[1]]
    assert back[0][0] <= lost[1] + 120 and back[0][1]["fix"] == "gps"
    assert abs(back[0][1]["latitude"] - 22.392) < 0.0009


def test_sos_press_wakes_the_board_and_repeats_until_acknowledged(make_board):
    from hil.peers.modem_emulator import ModemEmulator
    scenario = load("hiker_sos.json")
    board, feeder = start_hiker(make_board, scenario, lora=True)
    modem = ModemEmulator(board.uarts["lora_uart"], board.vboard.now_ms, seed=5).start()
    try:
        reader = Wakes(board)
        wakes = reader.until(at_s(scenario, "01:10:30"), timeout=60)
        before, sos = wakes[:-1], wakes[-1]
        # the bump woke the board (ext0) but raised nothing
        bump = at_s(scenario, "01:04:30")
        assert any(bump <= w[0] < bump + 5 and not w[4] for w in before)
        assert not any(f["sos"] for _, f in hiker_frames(before))
        assert sos[4], sos
        # the press woke the board: the SOS is sent within seconds, not at the next wake
        assert sos[0] - at_s(scenario, "01:10:00") <= 10
        assert [f["sos"] for k, f in sos[5] if k == "hiker_tracker"] == [True]
        modem.enqueue_downlink(2, wire.encode("alarm_ack", {"alarm": "sos"}))
        later = reader.until(at_s(scenario, "01:15"), timeout=60)
    finally:
        feeder.stop()
        modem.stop()
    # Repeated at the next wake (a minute later); the ack comes in that uplink's
    # receive window, and no SOS frame follows it (the hiker rests: nothing else is due).
    flags = [(t, f["sos"]) for t, f in hiker_frames(later)]
    assert [s for t, s in flags] == [True], flags
    assert 50 <= flags[0][0] - sos[0] <= 70
    assert b"downlink alarm_ack" in board.log
    assert len(later) >= 3 and not any(w[4] for w in later)
