"""Runtime figures: one wake of the firmware on the virtual board, for both
ways of deploying it.

The board (esp32-devkitc, without its LoRa modem, so frames go to the console
transport: the runtime's own wake) is provisioned with its sensor application
left out, so a wake is: boot.py, main.py, App() (board, config, boot record,
queue), one scheduler cycle that queues and sends the status and counters
frames, and the deep sleep. The firmware is deployed either way a real board
takes it (hil.board.Board.flash_firmware):

- littlefs: every module as .mpy on the filesystem; an import loads its
  bytecode, constants and strings into the heap;
- romfs: the modules as .mpy in a ROMFS partition (mpremote's romfs builder),
  mounted at /rom and mapped, as on an ESP32, outside the heap: bytecode and
  constants run in place and only what the code builds at run time takes heap.

Heap a wake needs: the smallest free heap boot.py can start with (bisection
in this run, 1 KB) for the wake to finish (both frames out, then deep sleep,
no MemoryError). The virtual board's bootstrap holds the rest of the VM's
heap (hil.vboard free_heap), so its own peak (parsing its config, freed
before boot.py) is not counted: subtracting the smallest heap that reaches the
REPL, as this bench did first, measured that transient peak and hid most of
the firmware's. micropython.mem_peak() cannot be used: with the garbage
collector it never counts memory the GC frees. So the figure is what the
firmware needs of a heap, imports and fragmentation included, on the unix
port, a 64-bit build: pointers and GC blocks (32 B) twice an ESP32's, so
object-heavy heap (module globals, tuples, dicts) counts up to twice what it
takes on the board; byte buffers count the same.

Awake time: from power-on to the deep sleep, in the board's virtual time and
in wall time on this machine (the unix port runs far faster than an ESP32).

    python -m bench.runtime
"""
import functools
import json
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
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
DEPLOYMENTS = ("littlefs", "romfs")


def _board_file():
    b = json.loads((ROOT / "boards" / (BOARD + ".json")).read_text())
    b["buses"].pop("lora_uart", None)
    b["radios"] = [r for r in b["radios"] if r != "lorawan_at"]
    return json.dumps(b).encode()


@functools.lru_cache(maxsize=None)
def _firmware_build(deploy, exclude):
    from hil.board import LAYOUT, _build, build_romfs
    if deploy == "romfs":
        rom, files, _ = build_romfs(exclude=exclude)
        return rom, tuple(files)
    return None, tuple((dst.rstrip("/") + "/" + f, data)
                       for src, dst in LAYOUT.items() for f, data in _build(ROOT / src, True)
                       if not (dst == "/" and f.split("/")[0] in exclude))


def firmware_files(deploy, exclude=()):
    """(ROM partition image or None, [(remote path, bytes)] for the
    filesystem) of the firmware build deployed one way, as
    Board.flash_firmware(mpy=True, romfs=...) puts it; `exclude`: top-level
    names of firmware/ to leave out (e.g. "apps"). Built once per run."""
    rom, files = _firmware_build(deploy, tuple(exclude))
    return rom, list(files)


def write_flash(vb, rom, files):
    """Put `files` on a virtual board's flash image (the board off; one run
    of the port for the lot) and `rom` in its ROM partition."""
    vb.write_rom(rom)
    with tempfile.TemporaryDirectory() as tree:
        for remote, data in files:
            path = Path(tree) / remote.lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        vb.image.put_tree(tree, "/")


def _prepare(flash_dir, deploy, firmware):
    """A flash image (and ROM partition, for romfs): the firmware and a
    provisioned config, or, without firmware, nothing of ours on the filesystem."""
    from hil.vboard import VirtualBoard
    vb = VirtualBoard(BOARD, flash_dir=flash_dir)
    # Without apps/: the profile named in the config is not installed, so
    # the wake is the runtime's own (status frames only).
    rom, files = firmware_files(deploy, exclude=("apps",))
    if not firmware:
        files = [("/empty", b"")]
    else:
        files.append(("/board.json", _board_file()))
        files.append(("/config.json", json.dumps(CONFIG).encode()))
    write_flash(vb, rom, files)


def wake_until(flash_dir, heap, done, board=BOARD, scenario=None, free=None):
    """(finished, virtual ms, wall ms, log) of one power-on with this heap
    (and, with `free`, that much free heap at boot.py): finished when the
    console shows `done` before any MemoryError."""
    from hil.vboard import VirtualBoard
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(flash_dir, tmp, dirs_exist_ok=True)
        vb = VirtualBoard(board, scenario=scenario, flash_dir=tmp, heap="%d" % heap, free_heap=free)
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


def smallest_heap(ok, lo, hi, step=STEP):
    """The smallest heap, to `step` bytes, in lo..hi with which ok(heap)
    holds (bisection: ok is taken to hold from some heap up); None if it
    does not hold even at hi."""
    if not ok(hi):
        return None
    while hi - lo > step:
        mid = (lo + hi) // 2 // step * step
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


# Both status frames sent, then the board goes to deep sleep (and boots again).
WAKE_DONE = rb"uplink 85[0-9a-f]+\r?\nuplink 84[0-9a-f]+\r?\n[\s\S]*?ets Jul"
REPL = rb">>> "
FAILED = rb"MemoryError"


FREE_MAX = 192 * 1024


def _measure(deploy):
    """{deploy, wake (free heap at boot.py the wake needs), virtual ms, wall ms}."""
    with tempfile.TemporaryDirectory() as fw:
        _prepare(fw, deploy, True)
        ok, virtual, wall, log = wake_until(fw, 304 * 1024, WAKE_DONE)
        if not ok:
            raise RuntimeError("the wake did not finish:\n" + log[-2000:].decode("utf-8", "replace"))
        need = smallest_heap(lambda free: wake_until(fw, 304 * 1024, WAKE_DONE, free=free)[0], 0, FREE_MAX)
        if need is None:
            raise RuntimeError("the wake does not finish even with %d B free" % FREE_MAX)
    return {"deploy": deploy, "wake": need, "virtual": virtual, "wall": wall}


def measure():
    """The figures of each deployment, measured side by side in this run."""
    with ThreadPoolExecutor(len(DEPLOYMENTS)) as pool:
        return list(pool.map(_measure, DEPLOYMENTS))


def main(argv=None):
    started = time.perf_counter()
    rows = measure()
    print("one wake (boot, config, status and counters frames, deep sleep), %s, console transport" % BOARD)
    print("  %-9s %14s %12s %16s %10s" % ("firmware", "heap needed", "x goal", "awake virtual", "wall"))
    for r in rows:
        print("  %-9s %12d B %11.2fx %13d ms %7.0f ms"
              % (r["deploy"], r["wake"], r["wake"] / GOAL_BYTES, r["virtual"], r["wall"]))
    first = rows[0]
    for r in rows[1:]:
        print("  %s needs %.2f x the heap of %s (goal %d B)" % (r["deploy"], r["wake"] / first["wake"],
                                                                 first["deploy"], GOAL_BYTES))
    print("  heap needed: free heap at boot.py (bisection, %d B) the wake needs; the unix port is 64-bit" % STEP)
    print("  (pointers, GC blocks twice an ESP32's). romfs needs a build with ROMFS: stock ESP32_GENERIC has none.")
    print("  (measured in %.0f s)" % (time.perf_counter() - started))


if __name__ == "__main__":
    main(sys.argv[1:])
