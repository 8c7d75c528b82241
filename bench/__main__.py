"""`make bench`: every part's figures from one run, one section after another.

Each section is a module of bench/ with a main(); a section whose module is not
there yet is named and skipped, so parts can add their figures independently.
"""
import importlib
import sys
import time

SECTIONS = [
    ("wire: frame codec speed and sizes", "bench.wire"),
    ("radio: airtime and duty cycle per frame kind", "bench.radio"),
    ("runtime: a wake cycle on the virtual board", "bench.runtime"),
    ("census: what a runtime wake's heap holds at deep sleep", "bench.census"),
    ("applications: heap, awake time and frames per profile", "bench.apps"),
    ("32-bit: the heap a wake's imports keep, 64-bit unix port against MicroPython's 32-bit webassembly port", "bench.wasm32"),
    ("fleet: ingest throughput and page latency", "bench.ingest"),
]


def main():
    failed = []
    for title, name in SECTIONS:
        print("\n==== %s (%s)\n" % (title, name), flush=True)
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
            print("(not built yet)")
            continue
        started = time.time()
        try:
            module.main([]) if "argv" in module.main.__code__.co_varnames else module.main()
        except SystemExit as e:  # a section that measured but missed figures says so and exits non-zero
            if e.code not in (None, 0):
                print("FAILED: %s" % (e.code,))
                failed.append(name)
        except Exception as e:  # one section failing must not hide the others' figures
            print("FAILED: %r" % (e,))
            failed.append(name)
        print("(%s: %.1f s)" % (name, time.time() - started), flush=True)
    if failed:
        sys.exit("bench sections failed: " + ", ".join(failed))


if __name__ == "__main__":
    main()
