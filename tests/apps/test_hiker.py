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


def test_config_downlink_sets_the_report_periods(micropython):
    steps = [("downlink", "config", {"seq": 1, "threshold_high": 1800, "threshold_low": 120}), ("sleep",)]
    steps += walk(0, 8, HOME)
    result = run(micropython, steps)
    assert times(steps, result) == [0, 60, 180, 300, 420]   # moving: every 120 s
    rest = [("downlink", "config", {"seq": 1, "threshold_high": 1800, "threshold_low": 120}), ("sleep",)]
    for i in range(70):
        rest += [("wake", i * 60, reading(*HOME)), ("sleep",)]
    assert times(rest, run(micropython, rest)) == [0, 1800, 3600]   # still: every 1800 s


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
