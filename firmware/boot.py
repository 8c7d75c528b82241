# Runs first on every start, then main.py. Kept to nothing that can fail:
# an exception here would cost the board its REPL as well.
import gc

gc.collect()
# A collection after every 4 KB allocated, not only when the heap is full:
# the wake's long-lived objects (its modules' functions and classes, the
# board and config) then fill the holes its garbage left low in the heap
# instead of landing above garbage freed later, so a wake needs less heap
# (bench.runtime: 2 KB less from ROMFS, 4 KB from littlefs; bench.apps: 1 to
# 2 KB and 5 KB). On the 64-bit VM 8 KB did as well; on the 32-bit one
# (objects half the size) 4 KB needs 1 KB less than 8 KB for rodent, water
# and hiker over LoRaWAN, and the same for the others; 16 KB gave 2 KB back.
if hasattr(gc, "threshold"):
    gc.threshold(4096)
