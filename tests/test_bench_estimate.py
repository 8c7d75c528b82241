"""bench.apps' 32-bit estimate of a heap figure: the imports' share as the
32-bit VM keeps it, the rest kept (high) or scaled alike (low)."""
from bench.apps import estimate_32bit


def test_the_rest_of_the_figure_is_kept_for_the_high_estimate_and_scaled_for_the_low():
    low, high = estimate_32bit(need=50000, imports64=36000, imports32=20000)
    assert high == 20000 + 14000
    assert low == 20000 + 14000 * 20000 // 36000
    assert low < high < 50000


def test_a_figure_that_is_all_imports_scales_as_they_do():
    assert estimate_32bit(need=36000, imports64=36000, imports32=20000) == (20000, 20000)


def test_the_peak_is_told_by_where_the_wake_ran_out():
    from bench.apps import peak_of
    assert peak_of("sensors/ads1115.py:69 _write (192 B)") == "read"
    assert peak_of("apps/water_main.py:140 read (64 B)") == "read"
    assert peak_of("radio/modbus.py:249 transact (304 B)") == "read"
    assert peak_of("sensor error flow meter: memory allocation failed") == "read"
    assert peak_of("frames.py:61 _from_table (128 B)") == "send"
    assert peak_of("frame_errors.py:19 <module> (112 B)") == "send"   # loaded while a MemoryError is matched
    assert peak_of("radio/lorawan.py:120 _take_line (64 B)") == "send"
    assert peak_of("runtime/queue.py:80 append (96 B)") == "send"
    assert peak_of("frames parking_bay instead of status+counters+parking_bay") is None
    assert peak_of("-") is None


def test_each_peak_counts_the_imports_it_holds():
    from bench.apps import LORAWAN, _imports_at
    sets = {"runtime": (100, 50), "send": (40, 20), "lorawan": (30, 16), "water_main": (20, 11)}
    assert _imports_at(sets, "water_main", "romfs", "read") == (120, 61)
    assert _imports_at(sets, "water_main", "romfs", "send") == (140, 70)
    assert _imports_at(sets, "water_main", LORAWAN, "send") == (170, 86)
    assert _imports_at(sets, "water_main", LORAWAN, "read") == (120, 61)
