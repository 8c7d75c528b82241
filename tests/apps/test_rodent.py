"""The rodent station on a virtual board: PIR and beam pins driven by the
scenario (hil/scenarios/rodent_*.json), the real firmware counting, deep
sleep with the PIR as the wake-up pin, light sleep with interrupts."""
import re

from hil.scenarios.run_apps import run_scenario


def windows(run):
    # {window index: (activity, burst)} from the window-end frames
    out = {}
    for t, text in run.events:
        m = re.match(r"rodent_station: window of (\d+) events ends", text)
        if m:
            out[t // 3600 - 1] = int(m.group(1))
    return out


def test_quiet_night_counts_pir_and_beam_per_window_without_alerts(make_board):
    run = run_scenario(make_board, "rodent_quiet_night")
    frames = run.of("rodent_station")
    expect = run.scenario["expect"]["windows"]
    assert [f["activity"] for _, f in frames][:len(expect)] == expect
    assert not any(f["burst"] for _, f in frames)
    # each window frame goes out in the first wake after its end (interval 900 s)
    for i, (t, _) in enumerate(frames[:len(expect)]):
        assert (i + 1) * 3600 <= t <= (i + 1) * 3600 + 900 + 5


def test_burst_alerts_at_once_once_per_cluster_through_deep_sleep(make_board):
    run = run_scenario(make_board, "rodent_burst")
    exp = run.scenario["expect"]
    bursts = [(t, f) for t, f in run.of("rodent_station") if f["burst"] and f["activity"] == 10]
    # an alert as the 10th event wakes the board, not at the window's end
    assert len(bursts) == 2
    assert all(b <= t <= b + 5 for (t, _), b in zip(bursts, exp["bursts"]))
    w = windows(run)
    assert w[8] == 14 and w[11] == 12         # every PIR event counted, each once (debounced)
    assert w[9] == 0
    # the window frames of the burst windows carry the burst flag
    flagged = [f for t, f in run.of("rodent_station") if f["burst"] and f["activity"] > 10]
    assert [f["activity"] for f in flagged] == [14, 12]
    assert b"DEEPSLEEP_RESET" in run.log
