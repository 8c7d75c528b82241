"""Wire figures: the frame codec's speed on MicroPython, CPython and cbor2, from one run.

Rates are calls per second on this machine's CPU; ratios compare each
interpreter with cbor2 (a C extension) measured in the same run, and the
MicroPython unix port with our codec on CPython.
"""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import cbor2

from protocols import cbor, frames, sizes
from protocols import schema as S
from tools.frame_cli import size_table

ROOT = Path(__file__).resolve().parent.parent
BUDGET_MS = float(os.environ.get("BENCH_BUDGET_MS", "200"))


def _micropython():
    exe = Path(sys.executable).parent / "micropython"
    env = dict(os.environ, MICROPYPATH=str(ROOT))
    done = subprocess.run([str(exe), str(ROOT / "bench" / "codec_loop.py"), str(BUDGET_MS)],
                          capture_output=True, text=True, env=env, cwd=str(ROOT), check=True)
    return json.loads(done.stdout)


def _cpython():
    from bench import codec_loop
    import io
    from contextlib import redirect_stdout
    buf = io.StringIO()
    with redirect_stdout(buf):
        codec_loop.main(BUDGET_MS)
    return json.loads(buf.getvalue())


def _cbor2():
    from bench.codec_loop import rate
    out = {}
    for k in S.KINDS:
        name = k[S.KIND_NAME]
        data = frames.encode(name, sizes.worst_case_values(name))
        items = cbor.loads(data)
        assert cbor2.dumps(items) == data  # same bytes, so the same work
        out[name] = {
            "cbor_encode": rate(cbor2.dumps, items, int(BUDGET_MS * 1000)),
            "cbor_decode": rate(cbor2.loads, data, int(BUDGET_MS * 1000)),
        }
    return out


def _k(x):
    return "%8.1fk" % (x / 1000)


def main():
    started = time.time()
    mp, cp, c2 = _micropython(), _cpython(), _cbor2()
    print("cityfleet wire bench: calls per second (k = thousands), worst-case frame of each kind")
    print("budget %.0f ms per figure; ratios against cbor2 (C) measured in this run\n" % BUDGET_MS)
    print("CBOR layer (the frame's array to and from bytes)")
    print("%-16s %10s %10s %10s %9s %9s | %10s %10s %10s %9s %9s" % (
        "kind", "enc mpy", "enc ours", "enc cbor2", "mpy/c2", "ours/c2",
        "dec mpy", "dec ours", "dec cbor2", "mpy/c2", "ours/c2"))
    sums = {"mp_e": [], "cp_e": [], "mp_d": [], "cp_d": []}
    for name in mp:
        if name not in c2:
            continue
        m, c, b = mp[name], cp[name], c2[name]
        sums["mp_e"].append(m["cbor_encode"] / b["cbor_encode"])
        sums["cp_e"].append(c["cbor_encode"] / b["cbor_encode"])
        sums["mp_d"].append(m["cbor_decode"] / b["cbor_decode"])
        sums["cp_d"].append(c["cbor_decode"] / b["cbor_decode"])
        print("%-16s %10s %10s %10s %9.3f %9.3f | %10s %10s %10s %9.3f %9.3f" % (
            name, _k(m["cbor_encode"]), _k(c["cbor_encode"]), _k(b["cbor_encode"]),
            sums["mp_e"][-1], sums["cp_e"][-1],
            _k(m["cbor_decode"]), _k(c["cbor_decode"]), _k(b["cbor_decode"]),
            sums["mp_d"][-1], sums["cp_d"][-1]))
    mean = {k: sum(v) / len(v) for k, v in sums.items()}
    print("%-16s %10s %10s %10s %9.3f %9.3f | %10s %10s %10s %9.3f %9.3f\n" % (
        "mean ratio", "", "", "", mean["mp_e"], mean["cp_e"], "", "", "", mean["mp_d"], mean["cp_d"]))
    print("Whole frame codec (schema, scaling and range checks, then CBOR)")
    print("%-16s %10s %10s %9s | %10s %10s %9s" % ("kind", "enc mpy", "enc ours", "mpy/ours",
                                                   "dec mpy", "dec ours", "mpy/ours"))
    for name in mp:
        m, c = mp[name], cp[name]
        print("%-16s %10s %10s %9.3f | %10s %10s %9.3f" % (
            name, _k(m["frame_encode"]), _k(c["frame_encode"]), m["frame_encode"] / c["frame_encode"],
            _k(m["frame_decode"]), _k(c["frame_decode"]), m["frame_decode"] / c["frame_decode"]))
    print("\nSizes (bytes, worst case from the schema's ranges)")
    print("%-16s %-5s %6s %11s %6s" % ("kind", "dir", "cbor", "cayennelpp", "json"))
    for name, r in size_table().items():
        print("%-16s %-5s %6d %11d %6d" % (name, r["direction"], r["worst_case_bytes"],
                                          r["cayennelpp_bytes"], r["json_bytes"]))
    print("\n(%.1f s)" % (time.time() - started))


if __name__ == "__main__":
    main()
