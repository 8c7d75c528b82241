// The 32-bit VM (hil/vm32.py says why and how it is built): the MicroPython
// unix port compiled to wasm32, hosted by Pyodide under Node.js, behind the
// same stdin/stdout, files and ptys as the 64-bit VM.
//
//   node vm32.mjs <build dir> <micropython args...>
//
// Environment, from hil/vm.py: VBOARD_MOUNTS (host folders the VM sees at the
// same paths), VBOARD_TTYS (host ptys opened as character devices),
// VBOARD_ROM_FILE (the ROMFS partition image), and the VBOARD_* variables the
// bootstrap reads, passed on into the VM's environment.
import fs from "fs";
import path from "path";
import { pathToFileURL } from "url";

const [build, ...args] = process.argv.slice(2);
const pkg = path.join(build, "pyodide", "package");
const { loadPyodide } = await import(pathToFileURL(path.join(pkg, "pyodide.mjs")).href);

function writeAll(fd, buf) {
    let off = 0;
    while (off < buf.length) {
        try {
            off += fs.writeSync(fd, buf, off, buf.length - off);
        } catch (e) {
            if (e.code !== "EAGAIN") throw e;
        }
    }
    return buf.length;
}

const py = await loadPyodide({ indexURL: pkg + "/", env: { HOME: "/", TZ: "UTC" } });
py.setStdout({ write: (buf) => writeAll(1, buf) });
py.setStderr({ write: (buf) => writeAll(2, buf) });
py.setStdin({ read: (buf) => {
    try {
        return fs.readSync(0, buf, 0, buf.length, null);
    } catch (e) {
        if (e.code === "EOF") return 0;
        throw e;
    }
} });

const FS = py.FS;
const list = (name) => (process.env[name] || "").split(path.delimiter).filter(Boolean);
for (const dir of list("VBOARD_MOUNTS")) {
    FS.mkdirTree(dir);
    py.mountNodeFS(dir, dir);
}

// A pty (a UART's VM side, opened with VMIN=0) as a character device: reads
// and writes go straight to the host fd, without the file position NODEFS
// would pass (a pty cannot seek).
let major = 64;
for (const tty of list("VBOARD_TTYS")) {
    const nfd = fs.openSync(tty, fs.constants.O_RDWR | fs.constants.O_NOCTTY | fs.constants.O_NONBLOCK);
    const dev = FS.makedev(major++, 0);
    FS.registerDevice(dev, {
        read(stream, buffer, offset, length) {
            try {
                return fs.readSync(nfd, buffer, offset, length, null);
            } catch (e) {
                if (e.code === "EAGAIN" || e.code === "EOF") return 0;
                throw e;
            }
        },
        write(stream, buffer, offset, length) {
            return writeAll(nfd, buffer.subarray(offset, offset + length));
        },
    });
    FS.mkdirTree(path.dirname(tty));
    FS.mkdev(tty, 0o666, dev);
}

// The ROM partition lies outside the VM's GC heap, as an ESP32 maps it: here
// in the wasm memory Pyodide's allocator gives, its address handed over in
// VBOARD_ROM as hil/vm.py's _ROM_MAP does for the 64-bit VM.
const vmEnv = {};
for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith("VBOARD_")) vmEnv[k] = v;
}
if (process.env.VBOARD_ROM_FILE) {
    const rom = fs.readFileSync(process.env.VBOARD_ROM_FILE);
    const at = py._module._PyMem_RawMalloc(rom.length);
    py._module.HEAPU8.set(rom, at);
    vmEnv.VBOARD_ROM = at + ":" + rom.length;
}
py.globals.set("VM_ENV", py.toPy(vmEnv));
py.globals.set("VM_ARGS", py.toPy(["micropython", ...args]));
py.globals.set("VM_CWD", process.cwd());
FS.mkdirTree("/vm32");
FS.writeFile("/vm32/micropython_run.cpython-313-wasm32-emscripten.so",
             fs.readFileSync(path.join(build, "micropython_run.so")));
const rc = py.runPython(`
import os, sys
os.environ.update(VM_ENV)
sys.path.insert(0, "/vm32")
os.chdir(VM_CWD)
import micropython_run
micropython_run.run_main(list(VM_ARGS))
`);
process.exit(rc);
