"""bench.apps' helpers work: the chunked typical day gives the frames of one
uninterrupted run, and a held deep-sleep wake replays on a fresh board, in
full with the whole heap and not at all with a few KB (no figures here:
those are the benchmark's)."""
import json
import shutil

from bench import apps


def test_a_day_in_chunks_is_the_day_in_one_run(micropython):
    steps = apps._rodent_day()
    config = {"interval": 900, "thresholds": {}}
    whole = micropython.call("tests.apps.steps", "run_profile", "rodent_station", config, steps, sizes=True)
    whole = [(kind, n) for frames in whole for kind, _, n in frames]
    assert whole and len(whole) >= 24
    assert apps.typical_day(micropython, "rodent_station", config, steps, chunk=7) == whole


def test_a_held_wake_replays_in_full_and_runs_out_of_a_small_heap():
    entry = dict(apps.APPS[0], until=lambda scenario: 120)
    assert entry["profile"] == "parking_bay"
    snapshot, chosen, wakes = apps._walk(entry, "romfs")
    try:
        assert wakes and all(w["virtual"] is not None for w in wakes)
        full = apps.replay(entry, "romfs", snapshot)
        # the status countdown was set to 0: the replayed wake sends status and counters too
        assert [k for k, _ in full["frames"]][:2] == ["status", "counters"]
        assert apps._same_wake(full, full) and full["free"] is None
        small = apps.replay(entry, "romfs", snapshot, 8 * 1024)
        assert 7 * 1024 <= small["free"] <= 9 * 1024
        assert not apps._same_wake(small, full)
        assert any(b"MemoryError" in e for e in small["errors"])
    finally:
        shutil.rmtree(snapshot)


def test_a_held_lorawan_wake_replays_on_the_joined_module():
    # The deployed wake: frames go out over LoRaWAN; the module the replay
    # talks to has the session the board joined in the walk, so the replayed
    # wake sends at once, with the frame counter going on, and never joins.
    entry = dict(apps.APPS[0], until=lambda scenario: 120)
    snapshot, chosen, wakes = apps._walk(entry, apps.LORAWAN)
    try:
        state = json.loads((snapshot / apps.MODEM_FILE).read_text())
        assert state["joined"] and state["f_cnt_up"] > 0
        full = apps.replay(entry, apps.LORAWAN, snapshot)
        assert [k for k, _ in full["frames"]][:2] == ["status", "counters"]
        assert apps._same_wake(full, full)
        assert b"joining" not in full["log"] and not full["errors"]
        assert [k for k, _ in full["frames"]] == [k for k, _ in chosen["frames"]]
    finally:
        shutil.rmtree(snapshot)
