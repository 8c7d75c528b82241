"""firmware/boot.py on the MicroPython unix port: it sets the collection
threshold the heap figures were measured with (bench.runtime, bench.apps)."""

BOOT = """
import gc
gc.threshold(-1)
exec(open("firmware/boot.py").read())
print("threshold", gc.threshold())
gc.threshold(-1)
"""


def test_boot_collects_every_4_kb_allocated(micropython):
    out = micropython.run(BOOT)
    assert "threshold 4096" in out
