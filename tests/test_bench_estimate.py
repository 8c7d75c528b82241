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
