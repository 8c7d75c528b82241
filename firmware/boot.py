# Runs first on every start, then main.py. Kept to nothing that can fail:
# an exception here would cost the board its REPL as well.
import gc

gc.collect()
# A collection after every 8 KB allocated, not only when the heap is full:
# the wake's long-lived objects (its modules' functions and classes, the
# board and config) then fill the holes its garbage left low in the heap
# instead of landing above garbage freed later, so a wake needs less heap
# (bench.runtime: 2 KB less from ROMFS, 4 KB from littlefs; bench.apps: 1 to
# 2 KB and 5 KB). Lower thresholds gained nothing more and cost more
# collections; 16 KB and above gave the gain back.
if hasattr(gc, "threshold"):
    gc.threshold(8192)
