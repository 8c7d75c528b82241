"""What the heap holds when a runtime wake goes to deep sleep, by kind of
object: where bench.runtime's figure goes, and so where the next cut is.

The wake is bench.runtime's (esp32-devkitc, console transport, firmware in a
ROMFS partition, no apps/). boot.py is replaced by one that dumps the GC's
block table (micropython.mem_info(1)) once at its start and once in
machine.deepsleep(), after a collection; the objects the second dump has and
the first has not are the firmware's. The table marks each object's first
block with its kind (the unix port knows tuples, lists, dicts, str/bytes,
bytearrays, floats, function objects and modules by name; "other" is the
rest: code records, qstr pools, class types, instances, hash tables of dicts
and modules) and its size in 32-byte blocks (64-bit port).

    python -m bench.census
"""
import json
import re
import sys
import tempfile
import time
from collections import Counter

from bench import runtime as R

_BOOT = b"""import gc, micropython, machine
def _table(tag):
    gc.collect()
    print(tag)
    micropython.qstr_info()
    micropython.mem_info(1)
    print("END" + tag)
_table("CENSUS0")
_sleep = machine.deepsleep
def _deepsleep(ms=0):
    _table("CENSUS1")
    _sleep(ms)
machine.deepsleep = _deepsleep
"""
KINDS = {"T": "tuples", "L": "lists", "D": "dicts", "S": "str and bytes", "A": "bytearrays",
         "F": "floats", "B": "function objects", "M": "modules", "h": "other"}
BLOCK = 32   # bytes per GC block on the 64-bit unix port


def objects(log, tag):
    """Counter of (kind letter, blocks) over the objects of one dumped table."""
    text = log[log.index(tag + "\n"):log.index("END" + tag)]
    table = "".join(line.split(": ", 1)[1] for line in text.splitlines()
                    if re.match(r"^[0-9a-f]{8}: ", line))
    out = Counter()
    for m in re.finditer(r"([^.=])(=*)", table):
        out[(m.group(1), 1 + len(m.group(2)))] += 1
    return out


def census():
    """[(kind letter, blocks, count)] of the objects the wake added, largest total first."""
    from hil.vboard import VirtualBoard
    with tempfile.TemporaryDirectory() as fw:
        vb = VirtualBoard(R.BOARD, flash_dir=fw)
        rom, files = R.firmware_files("romfs", exclude=("apps",))
        files = [f for f in files if f[0] != "/boot.py"] + [("/boot.py", _BOOT)]
        files += [("/board.json", R._board_file()), ("/config.json", json.dumps(R.CONFIG).encode())]
        R.write_flash(vb, rom, files)
        with tempfile.TemporaryDirectory() as tmp:
            import shutil
            shutil.copytree(fw, tmp, dirs_exist_ok=True)
            board = VirtualBoard(R.BOARD, flash_dir=tmp, heap="2048k")
            board.start()
            try:
                board.wait_for(rb"ENDCENSUS1", timeout=30)
            finally:
                log = bytes(board.log).decode("utf-8", "replace").replace("\r\n", "\n")
                board.stop()
    before, after = objects(log, "CENSUS0"), objects(log, "CENSUS1")
    added = [(k, b, after[(k, b)] - before[(k, b)]) for (k, b) in after if after[(k, b)] > before[(k, b)]]
    pools = [tuple(int(x) for x in m) for m in re.findall(r"n_pool=(\d+), n_qstr=(\d+)", log)]
    names = (pools[1][0] - pools[0][0], pools[1][1] - pools[0][1])
    return sorted(added, key=lambda x: -x[1] * x[2]), names


def main(argv=None):
    started = time.perf_counter()
    rows, (pools, names) = census()
    total = sum(b * n for _, b, n in rows) * BLOCK
    by_kind = Counter()
    count = Counter()
    for k, b, n in rows:
        by_kind[k] += b * n * BLOCK
        count[k] += n
    print("live heap the firmware holds as a runtime wake goes to deep sleep (romfs, %s): %d B" % (R.BOARD, total))
    for k, size in by_kind.most_common():
        print("  %-18s %5d objects %7d B  %4.1f %%" % (KINDS.get(k, k), count[k], size, 100.0 * size / total))
    print("  largest groups (kind, size each, how many):")
    for k, b, n in rows[:8]:
        print("    %-18s %6d B x %3d = %6d B" % (KINDS.get(k, k), b * BLOCK, n, b * BLOCK * n))
    print("  names (qstrs) the firmware's code adds: %d, in %d new qstr pool(s) (an 'other' object each; a"
          % (names, pools))
    print("  pool holds twice the entries of the one before it, so its size follows the VM's own names too)")
    print("  (measured in %.0f s)" % (time.perf_counter() - started))


if __name__ == "__main__":
    main(sys.argv[1:])
