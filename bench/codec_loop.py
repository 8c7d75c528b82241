# Runs on MicroPython and CPython alike: times the frame codec and the CBOR
# layer on every frame kind's worst-case frame and prints one JSON line.
import json
import sys
import time

from protocols import cbor, frames, sizes
from protocols import schema as S

try:
    ticks = time.ticks_us
    diff = time.ticks_diff
except AttributeError:  # CPython
    def ticks():
        return time.perf_counter_ns() // 1000

    def diff(a, b):
        return a - b


def rate(fn, arg, budget_us):
    # Calls per second, running fn until the time budget is spent.
    n = 0
    start = ticks()
    while True:
        for _ in range(50):
            fn(arg)
        n += 50
        spent = diff(ticks(), start)
        if spent >= budget_us:
            return n * 1000000 / spent


def main(budget_ms):
    budget = int(budget_ms * 1000)
    out = {}
    for k in S.KINDS:
        name = k[S.KIND_NAME]
        values = sizes.worst_case_values(name)
        data = frames.encode(name, values)
        items = cbor.loads(data)
        out[name] = {
            "frame_encode": rate(lambda v: frames.encode(name, v), values, budget),
            "frame_decode": rate(frames.decode, data, budget),
            "cbor_encode": rate(cbor.dumps, items, budget),
            "cbor_decode": rate(cbor.loads, data, budget),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 200)
