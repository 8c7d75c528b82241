"""The 32-bit VM (hil/vm32.py): the unix port built for wasm32 is 32-bit,
collects inside calls without losing what the C code holds (the reason for
its rewrite), and runs a held deep-sleep wake of the real firmware as the
64-bit VM does, with its ROM partition, flash image and a UART peer."""
import shutil
import subprocess

import pytest

from bench import apps
from hil import vm, vm32

pytestmark = pytest.mark.skipif(not vm32.available(), reason="the 32-bit VM runs under Node.js (node and npm)")

# Builds and drops lists, dicts, strings, instances, closures and exceptions
# in a loop, keeping some; its result must not depend on the heap's size.
CHURN = """
import gc, json, sys
print("maxsize", sys.maxsize)
class Reading:
    def __init__(self, i):
        self.i = i
        self.parts = [i, str(i) * 3, (i, -i)]
def kept(n):
    out = {}
    for i in range(n):
        try:
            if i % 7 == 0:
                raise ValueError("bad %d" % i)
            out["k%d" % i] = Reading(i)
        except ValueError as e:
            out["e%d" % i] = str(e)
        if len(out) > 30:
            del out[sorted(out)[0]]
    return out
h = 0
for r in range(20):
    d = kept(100)
    s = json.dumps(sorted((k, v if isinstance(v, str) else v.parts) for k, v in d.items()))
    h = (h * 31 + len(s) + sum(x for x in range(40) if x % 3)) & 0xFFFFFFF
print("result", h, "collections", gc.mem_free() >= 0)
"""


def _run(argv_env, tmp_path):
    argv, extra = argv_env
    return subprocess.run(argv, cwd=tmp_path, env=vm.env(**extra), capture_output=True, text=True, timeout=120)


def test_the_32bit_vm_is_32bit_and_collects_inside_calls_correctly(tmp_path):
    (tmp_path / "churn.py").write_text(CHURN)
    big = _run((vm.command("churn.py"), {}), tmp_path)
    assert big.returncode == 0, big.stderr
    expected = [ln for ln in big.stdout.splitlines() if ln.startswith("result")]
    assert expected
    # 44 KB: far less than the script allocates in all, so it must collect
    # many times inside calls (the published module crashed doing that)
    small = _run(vm32.command("-X", "heapsize=44k", "churn.py", mounts=[tmp_path]), tmp_path)
    assert small.returncode == 0, small.stdout[-2000:] + small.stderr[-2000:]
    assert "maxsize 2147483647" in small.stdout
    assert [ln for ln in small.stdout.splitlines() if ln.startswith("result")] == expected


def test_too_small_a_heap_is_a_memory_error_not_a_crash(tmp_path):
    (tmp_path / "churn.py").write_text(CHURN)
    out = _run(vm32.command("-X", "heapsize=4k", "churn.py", mounts=[tmp_path]), tmp_path)
    assert out.returncode == 1
    assert "MemoryError" in out.stdout + out.stderr


def test_a_held_lorawan_wake_runs_on_the_32bit_vm_as_on_the_64bit_one():
    entry = dict(apps.APPS[0], until=lambda scenario: 120)
    snapshot, chosen, wakes = apps._walk(entry, apps.LORAWAN)
    try:
        wide = apps.replay(entry, apps.LORAWAN, snapshot)
        narrow = apps.replay(entry, apps.LORAWAN, snapshot, vm_kind=apps.WASM32)
        assert apps._same_wake(narrow, narrow), narrow["log"][-2000:]
        assert narrow["frames"] == wide["frames"]   # the same kinds, the same sizes
        assert b"joining" not in narrow["log"]
        # the same free heap at boot.py buys more on 32 bits: a wake that
        # runs out on the 64-bit VM finishes there
        free = 36 * 1024
        assert not apps._same_wake(apps.replay(entry, apps.LORAWAN, snapshot, free), wide)
        assert apps._same_wake(apps.replay(entry, apps.LORAWAN, snapshot, free, apps.WASM32), narrow)
    finally:
        shutil.rmtree(snapshot)


def test_an_unknown_vm_is_refused():
    from hil.vboard import VirtualBoard
    with pytest.raises(ValueError, match="wasm32"):
        VirtualBoard(vm_kind="wasm64")
