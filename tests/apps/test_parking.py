"""The parking bay application on a virtual board: the QMC5883L model under
the bay follows each scenario's field, the real firmware decides, and the
frames and the profile's change lines are scored against the scenario's
truth (hil/scenarios/parking_*.json, written by hil/scenarios/make_apps.py)."""
import pytest

from hil.scenarios.run_apps import parking_quality, run_scenario

SCENARIOS = ["parking_ordinary_day", "parking_bus_beside", "parking_quick_swap", "parking_next_bay",
             "parking_week_drift"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_bay_change_detected_and_no_false_change(make_board, name):
    run = run_scenario(make_board, name)
    truth, detected, false = parking_quality(run)
    assert (detected, false) == (truth, 0), run.events
    bays = run.of("parking_bay")
    # the last frame's count matches the truth, and its state the bay's last state
    assert bays[-1][1]["changes"] == truth
    last = run.scenario["expect"]["changes"][-1][1]
    assert bays[-1][1]["occupied"] is last
    assert 60 <= bays[-1][1]["battery"] <= 100


def test_keepalive_between_changes_and_frame_on_each_change(make_board):
    run = run_scenario(make_board, "parking_bus_beside")
    bays = run.of("parking_bay")
    times = [t for t, _ in bays]
    # calibration frame at start, change frames, and no silence longer than the keep-alive
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert max(gaps) <= 3600 + 60
    states = [f["occupied"] for _, f in bays]
    assert states[0] is False and True in states
