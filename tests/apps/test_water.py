"""The water main: its Profile's decisions on MicroPython from sequences of
readings, and the whole application on the virtual DevKitC with the ADS1115
model (pressure loop) and the pymodbus flow meter peer."""
import pytest

APP = "water_main"
CONFIG = {"interval": 300, "thresholds": {}}
DAY = 826156800          # 2026-03-07 00:00 UTC, in seconds since 2000
HK = 8 * 3600            # local time is UTC+8


def reading(p=450.0, flow=8.0, lo=None, hi=None, mv=3950):
    return {"pressure": p, "pressure_min": p - 2 if lo is None else lo, "pressure_max": p + 2 if hi is None else hi,
            "flow": flow, "battery_mv": mv, "errors": []}


def run(micropython, steps, config=CONFIG):
    return micropython.call("tests.apps.steps", "run_profile", APP, config, steps)


def sent(steps, result, kind="water_main"):
    return [(steps[i][1], f) for i, frames in enumerate(result) for k, f in frames if k == kind]


def alarms(steps, result):
    return [(steps[i][1], f["alarm"], f["active"], f["repeat"]) for i, frames in enumerate(result)
            for k, f in frames if k == "alarm"]


def day(t0, hours, every=300, f=lambda t: reading()):
    steps = []
    for i in range(int(hours * 3600) // every):
        t = t0 + i * every
        steps += [("wake", t, f(t)), ("sleep",)]
    return steps


def test_periodic_frames_every_fifteen_minutes(micropython):
    steps = day(DAY + 10 * 3600, 2)
    out = sent(steps, run(micropython, steps))
    assert [t - out[0][0] for t, _ in out] == [0, 900, 1800, 2700, 3600, 4500, 5400, 6300]
    f = out[0][1]
    assert f["pressure"] == 450.0 and f["flow"] == 8.0 and f["battery"] == 80
    # the window's 448..452 kPa as whole 10 kPa steps below/above, rounded outward
    assert f["pressure_min"] == 440.0 and f["pressure_max"] == 460.0


def test_window_extremes_since_the_last_frame_are_kept_through_sleep(micropython):
    t0 = DAY + 10 * 3600
    steps = [("wake", t0, reading()), ("sleep",), ("wake", t0 + 300, reading(lo=390, hi=455)), ("sleep",),
             ("wake", t0 + 600, reading(lo=447, hi=510)), ("sleep",), ("wake", t0 + 900, reading())]
    out = sent(steps, run(micropython, steps))
    assert [t - t0 for t, _ in out] == [0, 900]
    assert out[1][1]["pressure_min"] == 390.0 and out[1][1]["pressure_max"] == 510.0


def test_transient_is_sent_at_once(micropython):
    t0 = DAY + 10 * 3600
    steps = [("wake", t0, reading()), ("sleep",), ("wake", t0 + 300, reading(lo=260, hi=730)), ("sleep",),
             ("wake", t0 + 600, reading())]
    out = sent(steps, run(micropython, steps))
    assert [t - t0 for t, _ in out] == [0, 300]
    # 190 kPa below the reading; 280 above it, which the frame carries as its widest, 230
    assert out[1][1]["pressure_min"] == 260.0 and out[1][1]["pressure_max"] == 680.0


def test_burst_is_sent_at_once_and_repeated_until_acknowledged(micropython):
    t0 = DAY + 10 * 3600
    steps = [("wake", t0, reading()), ("sleep",), ("wake", t0 + 300, reading()), ("sleep",)]
    steps += [("wake", t0 + 600 + i * 300, reading(p=180.0, flow=31.0)) for i in range(2)]
    steps += [("downlink", "alarm_ack", {"alarm": "burst"}), ("sleep",)]
    steps += [("wake", t0 + 1200 + i * 300, reading(p=180.0, flow=31.0)) for i in range(4)]
    steps += [("sleep",), ("wake", t0 + 2400, reading(p=440.0, flow=9.0))]   # repaired: the pressure is back
    result = run(micropython, steps)
    # the alarm at once, its repeat at the next wake, none once acknowledged, and its end
    assert [(t - t0, a, on, n) for t, a, on, n in alarms(steps, result)] == [
        (600, "burst", True, 0), (900, "burst", True, 1), (2400, "burst", False, 2)]
    # the reading behind it goes at once too, then the periodic frames from there
    out = sent(steps, result)
    assert [t - t0 for t, _ in out] == [0, 600, 1500, 2400]
    assert out[1][1]["pressure"] == 180.0 and out[1][1]["flow"] == 31.0
    # in each wake the alarm goes first
    assert [k for k, _ in result[steps.index(("wake", t0 + 600, reading(p=180.0, flow=31.0)))]] == [
        "alarm", "water_main"]


def test_burst_unacknowledged_repeats_at_every_wake_with_its_count(micropython):
    t0 = DAY + 10 * 3600
    steps = [("wake", t0, reading()), ("sleep",)]
    steps += [("wake", t0 + 300 * (i + 1), reading(p=200.0, flow=30.0)) for i in range(6)]
    got = alarms(steps, run(micropython, steps))
    assert [(t - t0, n) for t, _, _, n in got] == [(300 * (i + 1), i) for i in range(6)]
    assert {(a, on) for _, a, on, _ in got} == {("burst", True)}


def test_a_pressure_drop_without_more_flow_is_no_burst(micropython):
    # a pump switched off upstream: pressure falls, flow falls too
    t0 = DAY + 10 * 3600
    steps = [("wake", t0, reading()), ("sleep",), ("wake", t0 + 300, reading(p=250.0, flow=5.0)), ("sleep",),
             ("wake", t0 + 600, reading(p=250.0, flow=5.0))]
    result = run(micropython, steps)
    assert [t - t0 for t, _ in sent(steps, result)] == [0] and alarms(steps, result) == []


def test_burst_pair_from_config_downlink(micropython):
    # threshold_low = burst pressure drop (kPa), threshold_high = flow rise (0.01 L/s)
    t0 = DAY + 10 * 3600
    steps = [("wake", t0, reading()), ("sleep",), ("wake", t0 + 300, reading(p=400.0, flow=10.0))]
    assert len(sent(steps, run(micropython, steps))) == 1
    config = {"interval": 300, "thresholds": {"low": 40, "high": 150}}
    result = run(micropython, steps, config)
    assert len(sent(steps, result)) == 2 and alarms(steps, result) == [(t0 + 300, "burst", True, 0)]


def night(t0, flows):
    # wakes every 300 s from t0 with these flows (L/s)
    steps = []
    for i, f in enumerate(flows):
        steps += [("wake", t0 + i * 300, reading(p=520.0 - i, flow=f)), ("sleep",)]
    return steps


def test_minimum_night_flow_is_sent_after_four_in_the_morning(micropython):
    # wakes from 01:30 to 04:30 local; the night window is 02:00..04:00 local
    t0 = DAY + 17 * 3600 + 1800   # 17:30 UTC = 01:30 local
    flows = [3.0] * 6 + [2.1, 1.6, 1.25, 1.4, 1.3, 1.9] * 4 + [3.5] * 6
    steps = night(t0, flows)
    result = run(micropython, steps)
    # one night_flow frame, at the first wake after 04:00: the lowest of the 24 readings in the window
    assert sent(steps, result, "night_flow") == [
        (DAY + 20 * 3600, {"flow": 1.25, "start": 120, "duration": 120, "samples": 24, "battery": 80})]
    # the periodic frame of that wake is an ordinary reading; no alarm without a leak limit
    assert [f["flow"] for t, f in sent(steps, result) if t == DAY + 20 * 3600] == [3.5]
    assert alarms(steps, result) == []


def test_night_window_from_the_config_in_whole_quarter_hours(micropython):
    # 01:50..03:05 local is sent as 01:45 for 1 h 30 (rounded outward)
    t0 = DAY + 17 * 3600 + 1800
    config = {"interval": 300, "thresholds": {"night_start_min": 110, "night_end_min": 185}}
    steps = night(t0, [3.0] * 4 + [2.0] * 15 + [3.0] * 6)
    [(t, f)] = sent(steps, run(micropython, steps, config), "night_flow")
    assert t == t0 + 19 * 300 and (f["start"], f["duration"], f["samples"], f["flow"]) == (105, 90, 15, 2.0)


def test_night_flow_differs_for_a_slow_leak(micropython):
    t0 = DAY + 17 * 3600 + 1800
    flows = [3.0] * 6 + [f + 2.2 for f in [2.1, 1.6, 1.25, 1.4, 1.3, 1.9] * 4] + [3.5] * 6
    steps = night(t0, flows)
    [(t, f)] = sent(steps, run(micropython, steps), "night_flow")
    assert f["flow"] == pytest.approx(3.45)


def test_night_flow_leak_alarm_each_night_until_acknowledged(micropython):
    # leak_night_cls 300: a night whose minimum reaches 3.00 L/s raises the leak alarm
    config = {"interval": 300, "thresholds": {"leak_night_cls": 300}}
    leaky = [3.0] * 6 + [3.2, 3.4, 3.1] * 8 + [3.5] * 6
    quiet = [3.0] * 6 + [1.3, 1.2, 1.4] * 8 + [3.5] * 6
    t0 = DAY + 17 * 3600 + 1800
    steps = night(t0, leaky) + night(t0 + 86400, leaky) + [("downlink", "alarm_ack", {"alarm": "leak"})]
    steps += night(t0 + 2 * 86400, leaky) + night(t0 + 3 * 86400, quiet) + night(t0 + 4 * 86400, quiet)
    result = run(micropython, steps, config)
    four = DAY + 20 * 3600
    assert [f["flow"] for _, f in sent(steps, result, "night_flow")] == [3.1, 3.1, 3.1, 1.2, 1.2]
    # raised after the first night, again after the second, quiet once acknowledged, over after a quiet night
    assert alarms(steps, result) == [(four, "leak", True, 0), (four + 86400, "leak", True, 1),
                                     (four + 3 * 86400, "leak", False, 2)]


def test_no_frame_without_both_readings(micropython):
    steps = [("wake", DAY, dict(reading(), pressure=None)), ("wake", DAY + 300, dict(reading(), flow=None))]
    assert sent(steps, run(micropython, steps)) == []


def test_saved_state_is_small(micropython):
    steps = night(DAY + 17 * 3600 + 1800, [2.0] * 20)
    assert micropython.call("tests.apps.steps", "saved_size", APP, CONFIG, steps) < 100


@pytest.mark.parametrize("ma, kpa", [(4.0, 0.0), (12.0, 800.0), (20.0, 1600.0), (3.7, -30.0), (20.8, 1680.0)])
def test_loop_current_to_pressure(micropython, ma, kpa):
    assert micropython.call("tests.apps.steps", "loop_kpa", ma) == pytest.approx(kpa)


@pytest.mark.parametrize("ma, what", [(0.0, "open"), (3.59, "open"), (21.01, "shorted"), (24.0, "shorted")])
def test_loop_faults_are_errors_not_pressures(micropython, ma, what):
    with pytest.raises(Exception) as e:
        micropython.call("tests.apps.steps", "loop_kpa", ma)
    assert "LoopError" in str(e.value) and what in str(e.value)


# ---------------------------------------------------------------- on the virtual DevKitC

import json  # noqa: E402
import re  # noqa: E402
from pathlib import Path  # noqa: E402

from hil import scenario as scn  # noqa: E402
from protocols import frames as wire  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "hil" / "scenarios"
BOARD = "esp32-devkitc"
PROVISIONED = {
    "dev_eui": "70b3d57ed0000201", "join_eui": "70b3d57ed0000000",
    "app_key": "00112233445566778899aabbccddeeff", "device_key": "ef" * 32,
    "profile": "water_main", "interval": 300, "status_every": 1000, "thresholds": {},
}
LINE = re.compile(rb"(?:water (\d+) (?:p ([\d.]+) min ([\d.]+) max ([\d.]+) flow ([\d.-]+)|no reading)"
                  rb"|uplink ([0-9a-f]+))\r?\n")


def load(name):
    return json.loads((SCENARIOS / name).read_text())


def at_s(scenario, text):
    return scn.parse_time(text, scn.start_ms(scenario)) // 1000


def meter_state(scenario, clock):
    # The flow meter's state follows the scenario's "meter" track at the board's virtual time.
    from hil.peers.modbus_meter import MeterState
    t0 = scn.start_ms(scenario)
    spec = scenario["meter"]["flow_lps"]
    points = [(t0, spec["initial"], False)] + sorted(
        (scn.parse_time(p["at"], t0), p["value"], bool(p.get("ramp"))) for p in spec["timeline"])

    def at(t):   # steps, or linear ramps into points marked ramp (as the VM's tracks)
        value, since = points[0][1], points[0][0]
        for when, v, ramp in points:
            if when > t:
                return value + (v - value) * (t - since) / (when - since) if ramp else value
            value, since = v, when
        return value

    class ScenarioMeter(MeterState):
        @property
        def flow_lps(self):
            return at(clock())

        @flow_lps.setter
        def flow_lps(self, value):
            pass
    return ScenarioMeter(flow_unit="L/s")


def start_water(make_board, scenario, config=None):
    from hil.peers.modbus_meter import ModbusMeterPeer
    board = make_board(scenario=scenario, board_type=BOARD)
    spec = json.loads((ROOT / "boards" / (BOARD + ".json")).read_text())
    del spec["buses"]["lora_uart"]   # no modem fitted: frames go to the console
    board.put("/board.json", json.dumps(spec))
    board.put("/config.json", json.dumps(config or PROVISIONED))
    meter = ModbusMeterPeer(board.uarts["rs485"], meter_state(scenario, board.now_ms)).start()
    board.flash_firmware(mpy=True)
    return board, meter


def wakes_until(board, end_s, timeout=30):
    # [time, pressure, min, max, flow, [(kind, fields)]] per wake, until a wake at or after end_s
    out = []
    while True:
        m = board.expect(LINE, timeout=timeout)
        if m.group(1):
            w = [int(m.group(1))] + [float(x) if x else None for x in m.group(2, 3, 4, 5)] + [[]]
            if w[0] >= end_s:
                return out
            out.append(w)
        elif out:
            out[-1][5].append(wire.decode(bytes.fromhex(m.group(6).decode())))


def water_frames(wakes, kind="water_main"):
    return [(w[0], f) for w in wakes for k, f in w[5] if k == kind]


def test_burst_on_the_virtual_devkitc(make_board):
    scenario = load("water_burst.json")
    board, meter = start_water(make_board, scenario)
    try:
        wakes = wakes_until(board, at_s(scenario, "02:36"))
    finally:
        meter.stop()
    burst = at_s(scenario, "02:21:00")
    frames = water_frames(wakes)
    before = [(t, f) for t, f in frames if t < burst]
    after = [(t, f) for t, f in frames if t > burst + 20]
    # an ordinary morning: 450 kPa and 8 L/s, read through the loop and the meter
    assert before and all(abs(f["pressure"] - 450) < 2 and abs(f["flow"] - 8.0) < 0.02 for _, f in before)
    assert all(75 <= f["battery"] <= 85 for _, f in frames)   # 3.94 V through the 2:1 divider
    # the first wake after the burst sends the alarm and its reading at once (not at
    # the 15-minute report), and every wake repeats the alarm while no one acknowledges
    assert after and after[0][0] - burst <= 300 + 10
    assert abs(after[0][1]["pressure"] - 180) < 2 and abs(after[0][1]["flow"] - 31.0) < 0.02
    raised = [(t, f) for t, f in water_frames(wakes, "alarm") if t > burst]
    assert raised and raised[0][0] == after[0][0]
    assert len(raised) >= 3 and all(b[0] - a[0] <= 300 + 10 for a, b in zip(raised, raised[1:]))
    assert [(f["alarm"], f["active"], f["repeat"]) for _, f in raised] == [
        ("burst", True, n) for n in range(len(raised))]
    assert all(75 <= f["battery"] <= 85 for _, f in raised)
    assert not [t for t, f in water_frames(wakes, "alarm") if t < burst]
    assert b"water: burst" in board.log


def test_slow_leak_shows_in_night_flow_on_the_virtual_devkitc(make_board):
    scenario = load("water_leak_night.json")
    # this district's nights bottom out near 1.2 L/s: a night minimum of 2.5 L/s is a leak
    config = dict(PROVISIONED, thresholds={"leak_night_cls": scenario["expect"]["leak_night_cls"]})
    board, meter = start_water(make_board, scenario, config)
    try:
        wakes = wakes_until(board, at_s(scenario, "20:06"))
    finally:
        meter.stop()
    frames = water_frames(wakes)
    four = at_s(scenario, "20:00")
    # the night_flow frame, once, at the first wake after 04:00 local: the lowest flow
    # of the readings between 02:00 and 04:00 (one every 300 s)
    [(t, night)] = water_frames(wakes, "night_flow")
    assert four == at_s(scenario, scenario["expect"]["leak_alarm"]) <= t < four + 300 + 10
    assert night["flow"] == pytest.approx(scenario["expect"]["night_min_flow"], abs=0.05)
    assert (night["start"], night["duration"]) == (120, 120) and 23 <= night["samples"] <= 25
    assert 75 <= night["battery"] <= 85
    # and the leak alarm beside it
    assert [(at, f["alarm"], f["active"], f["repeat"]) for at, f in water_frames(wakes, "alarm")] == [
        (t, "leak", True, 0)]
    # the water hammer was caught by a sampling window and sent at once
    hammer = at_s(scenario, "19:30:00")
    caught = [f for t, f in frames if hammer <= t < hammer + 60]
    assert caught and caught[0]["pressure_max"] - caught[0]["pressure_min"] >= 150
    # periodic frames every 15 minutes otherwise
    periodic = [t for t, f in frames if t < hammer - 60]
    assert all(850 <= b - a <= 950 for a, b in zip(periodic, periodic[1:]))
