"""The parking, rodent and toilet profiles with readings alone (no board), on
the MicroPython unix port through tests/apps/steps.py: the config downlink's
threshold pair, deep sleep through save(), acknowledgements, state size."""
import pytest


def run(micropython, app, config, steps):
    return micropython.call("tests.apps.steps", "run_profile", app, config, steps)


def size(micropython, app, config, steps):
    return micropython.call("tests.apps.steps", "saved_size", app, config, steps)


def mag(d=(0, 0, 0)):
    return {"field": [12.0 + d[0], -4.0 + d[1], 42.0 + d[2]], "temp": 20.0, "battery": 80}


def test_parking_downlink_pair_is_high_and_low_in_microtesla(micropython):
    steps = [("wake", 60 * i, mag()) for i in range(3)]                    # calibrated, free
    steps += [("wake", 240, mag((0, 0, 10))), ("wake", 300, mag((0, 0, 10)))]  # 10 uT: below high 12
    out = run(micropython, "parking_bay", {"thresholds": {}}, steps)
    assert [k for s in out for k, _ in s] == ["parking_bay"]               # the calibration frame only
    # a config downlink lowered the pair: threshold_high 8 -> "high", as the runtime stores it
    out = run(micropython, "parking_bay", {"thresholds": {"high": 8, "low": 4}}, steps)
    assert out[-1] == [("parking_bay", {"occupied": True, "changes": 1, "battery": 80})]


def test_parking_state_survives_deep_sleep_and_is_small(micropython):
    steps = [("wake", 60 * i, mag()) for i in range(3)]
    steps += [("sleep",), ("wake", 200, mag((5, 5, 30))), ("sleep",), ("wake", 260, mag((5, 5, 30)))]
    out = run(micropython, "parking_bay", {"thresholds": {}}, steps)
    assert out[-1][0][1]["occupied"] is True and out[-1][0][1]["changes"] == 1
    assert size(micropython, "parking_bay", {"thresholds": {}}, steps[:3]) <= 64


def test_rodent_burst_pair_and_ack(micropython):
    cfg = {"thresholds": {"high": 3, "low": 0, "window_s": 3600}}
    steps = [("wake", 0, {"pir": 0, "beam": 0, "battery": 50}),
             ("wake", 100, {"pir": 2, "beam": 1, "battery": 50}),        # 3 events: burst at once
             ("wake", 200, {"pir": 2, "beam": 0, "battery": 50}),        # no second alert in the episode
             ("wake", 3700, {"pir": 0, "beam": 0, "battery": 50})]       # window report
    out = run(micropython, "rodent_station", cfg, steps)
    assert out[1] == [("rodent_station", {"activity": 3, "burst": True, "battery": 50})]
    assert out[2] == []
    assert out[3] == [("rodent_station", {"activity": 5, "burst": True, "battery": 50})]


def test_rodent_wake_events_are_debounced_by_time(micropython):
    cfg = {"thresholds": {"debounce_ms": 10000, "window_s": 3600}}
    steps = [("wake", 0, {"pir": 0, "beam": 0, "battery": 50})]
    steps += [("sleep",), ("wake", 10, {"wake": True, "battery": 50}), ("sleep",),
              ("wake", 15, {"wake": True, "battery": 50}), ("sleep",),
              ("wake", 40, {"wake": True, "battery": 50}), ("sleep",),
              ("wake", 3600, {"battery": 50})]
    out = run(micropython, "rodent_station", cfg, steps)
    assert out[-1] == [("rodent_station", {"activity": 2, "burst": False, "battery": 50})]


def test_rodent_window_of_zero_keeps_the_default_window(micropython):
    # a setting downlink may write window_s 0: the profile must not divide by it
    steps = [("wake", 0, {"pir": 1, "beam": 0, "battery": 50}), ("wake", 1800, {"pir": 1, "beam": 0, "battery": 50}),
             ("wake", 3600, {"pir": 0, "beam": 0, "battery": 50})]
    out = run(micropython, "rodent_station", {"thresholds": {"window_s": 0}}, steps)
    assert out == [[], [], [("rodent_station", {"activity": 2, "burst": False, "battery": 50})]]


def toilet(nh3_mv=500, leak_mv=2900, level=60, **kw):
    r = {"nh3_mv": nh3_mv, "h2s_mv": 420, "leak_mv": leak_mv, "level_mm": level, "battery": 70,
         "door_closed": False}
    r.update(kw)
    return r


def test_toilet_leak_repeats_until_acknowledged_and_rearms_when_dry(micropython):
    steps = [("wake", 0, toilet()), ("wake", 600, toilet(leak_mv=500)), ("wake", 1200, toilet(leak_mv=500)),
             ("downlink", "alarm_ack", {"alarm": "leak"}), ("wake", 1800, toilet(leak_mv=500)),
             ("wake", 2400, toilet()), ("wake", 3000, toilet(leak_mv=400))]
    out = run(micropython, "smart_toilet", {"thresholds": {"report_s": 86400}}, steps)
    assert [len(s) for s in out] == [0, 1, 1, 0, 0, 0, 1]
    assert out[1][0][1]["leak"] is True and out[6][0][1]["leak"] is True


def test_toilet_downlink_pair_is_the_nh3_cleaning_pair(micropython):
    # 0.56 V is 10 ppm; with threshold_high 20 / low 15 no alert, and the curve gives nh3 in the frame
    steps = [("wake", 0, toilet()), ("wake", 600, toilet(nh3_mv=560)), ("wake", 1200, toilet(nh3_mv=740))]
    out = run(micropython, "smart_toilet", {"thresholds": {"high": 20, "low": 15, "report_s": 86400}}, steps)
    assert out[1] == [] and out[2][0][1]["nh3"] == 21
    out = run(micropython, "smart_toilet", {"thresholds": {"report_s": 86400}}, steps)
    assert out[1][0][1]["nh3"] == 10 and out[2] == []        # one alert until it falls to low


def test_toilet_cleaning_and_consumables_flags_on_and_off_with_hysteresis(micropython):
    # NH3: 560 mV is 10 ppm (alert), 500 mV 6 ppm (above low: still dirty), 480 mV 5 ppm (clear);
    # H2S: 480 mV is 100 ppb (alert), 420 mV 25 ppb (clear). Level: 140 mm is 16 % (low),
    # 120 mm 33 % (still low: re-armed only at 40 %), 100 mm 50 % (restocked).
    steps = [("wake", 0, toilet()), ("wake", 600, toilet(nh3_mv=560)), ("wake", 1200, toilet(nh3_mv=500)),
             ("wake", 1800, toilet(nh3_mv=480)), ("wake", 2400, toilet(h2s_mv=480)),
             ("wake", 3000, toilet(h2s_mv=480, level=140)), ("wake", 3600, toilet(h2s_mv=480, level=120)),
             ("wake", 4200, toilet(level=100))]
    out = run(micropython, "smart_toilet", {"thresholds": {"report_s": 86400}}, steps)
    assert [len(s) for s in out] == [0, 1, 0, 1, 1, 1, 0, 1]
    flags = [(f["cleaning"], f["consumables_low"]) for s in out for _, f in s]
    assert flags == [(True, False), (False, False), (True, False), (True, True), (False, False)]
    assert out[5][0][1]["consumables"] == 15     # 16 % in the frame's 5 % steps


def test_toilet_uses_counted_from_occupancy_without_a_people_counter(micropython):
    steps = [("wake", 0, toilet()), ("wake", 100, toilet(presence=True)), ("wake", 200, toilet(presence=True)),
             ("wake", 300, toilet(presence=False)), ("wake", 400, toilet(presence=True)),
             ("wake", 3600, toilet(presence=False))]
    out = run(micropython, "smart_toilet", {"thresholds": {}}, steps)
    assert out[-1][0][1]["people"] == 2
