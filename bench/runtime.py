"""Runtime figures: one wake of the firmware on the virtual board.

The board (esp32-devkitc) is flashed with the firmware as .mpy, as a real
board would be, and provisioned with its sensor application left out, so a
wake is: boot.py, main.py, App() (board, config, boot record, queue), one
scheduler cycle that queues and sends the status and counters frames, and the
deep sleep.

Peak heap: the smallest heap the virtual board can be given and still finish
the wake (both frames out, then deep sleep, no MemoryError), less the smallest
heap in which the same virtual board reaches its REPL with nothing of ours on
flash, both found by bisection in this run. micropython.mem_peak() cannot be
used: with the garbage collector it never counts memory the GC frees. So the
figure is what the firmware needs of a heap, imports and fragmentation included.

Awake time: from power-on to the deep sleep, in the board's virtual time and
in wall time on this machine (the unix port runs far faster than an ESP32).

    python -m bench.runtime
"""
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOARD = "esp32-devkitc"
GOAL_BYTES = 32 * 1024
STEP = 1024

CONFIG = {
    "dev_eui": "70b3d57ed0000001", "join_eui": "70b3d57ed0000000",
    "app_key": "00112233445566778899aabbccddeeff", "device_key": "ab" * 32,
    "profile": "parking_bay", "interval": 900, "status_every": 1,
}


def _prepare(flash_dir, firmware):
    """A flash image: the firmware and a provisioned config, or nothing at all."""
    from hil.board import LAYOUT, _build
    from hil.vboard import VirtualBoard
    vb = VirtualBoard(BOARD, flash_dir=flash_dir)
    if firmware:
        # Without apps/: the profile named in the config is not installed, so
        # the wake is the runtime's own (status frames only).
        files = [(dst.rstrip("/") + "/" + f, data)
                 for src, dst in LAYOUT.items() for f, data in _build(ROOT / src, True)
                 if not f.startswith("apps/")]
        files.append(("/board.json", (ROOT / "boards" / (BOARD + ".json")).read_bytes()))
        files.append(("/config.json", json.dumps(CONFIG).encode()))
        for remote, data in files:
            vb.image.put(remote, data)
    else:
        vb.image.put("/empty", b"")


def _wake(flash_dir, heap, done):
    """(finished, virtual ms, wall ms, log) of one power-on with this heap."""
    from hil.vboard import VirtualBoard
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(flash_dir, tmp, dirs_exist_ok=True)
        vb = VirtualBoard(BOARD, flash_dir=tmp, heap="%d" % heap)
        started = time.perf_counter()
        t0 = None
        vb.start()
        try:
            t0 = vb.now_ms()
            m = vb.wait_for(done + b"|" + FAILED, timeout=20)
            ok = m.group(0) != b"MemoryError"
        except TimeoutError:
            ok = False
        wall = (time.perf_counter() - started) * 1000
        slept = [ms for ms, what, _ in vb.events if what == "deepsleep"]
        virtual = slept[0] - t0 if slept and t0 is not None else 0
        log = bytes(vb.log)
        vb.stop()
    return ok, virtual, wall, log


def _smallest_heap(flash_dir, done, lo=16 * 1024, hi=512 * 1024):
    """The smallest heap, to STEP bytes, with which the board gets to `done`."""
    if not _wake(flash_dir, hi, done)[0]:
        raise RuntimeError("does not finish even with %d bytes of heap" % hi)
    while hi - lo > STEP:
        mid = (lo + hi) // 2 // STEP * STEP
        if _wake(flash_dir, mid, done)[0]:
            hi = mid
        else:
            lo = mid
    return hi


# Both status frames sent, then the board goes to deep sleep (and boots again).
WAKE_DONE = rb"uplink 85[0-9a-f]+\r?\nuplink 84[0-9a-f]+\r?\n[\s\S]*?ets Jul"
REPL = rb">>> "
FAILED = rb"MemoryError"


def measure():
    """(wake heap bytes, baseline heap bytes, virtual ms, wall ms)."""
    with tempfile.TemporaryDirectory() as fw, tempfile.TemporaryDirectory() as empty:
        _prepare(fw, True)
        _prepare(empty, False)
        base = _smallest_heap(empty, REPL)
        need = _smallest_heap(fw, WAKE_DONE)
        ok, virtual, wall, log = _wake(fw, 304 * 1024, WAKE_DONE)
        if not ok:
            raise RuntimeError("the wake did not finish:\n" + log[-2000:].decode("utf-8", "replace"))
    return need - base, base, virtual, wall


def main(argv=None):
    wake, base, virtual, wall = measure()
    print("one wake (boot, config, status and counters frames, deep sleep), %s, firmware as .mpy" % BOARD)
    print("  heap the virtual board itself needs:   %7d B" % base)
    print("  heap the firmware's wake needs on top: %7d B  (goal %d B: %.2f x the goal)"
          % (wake, GOAL_BYTES, wake / GOAL_BYTES))
    print("  awake time: %d ms virtual, %.0f ms wall on this machine" % (virtual, wall))


if __name__ == "__main__":
    main(sys.argv[1:])
