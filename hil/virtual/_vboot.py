# Bootstrap of the virtual board, run by the unix port before the REPL (it is
# the `-i` script): installs the virtual machine/time/select/esp32 modules,
# mounts the flash image at "/", then runs boot.py and main.py as the ESP32's
# main loop does, and falls through to the REPL.
def _vb_boot():
    import sys
    import os
    import json
    cfg_path = os.getenv("VBOARD_CONFIG")
    with open(cfg_path) as f:
        cfg = json.load(f)
    here = cfg["vm_dir"]
    sys.path[:] = [here, here + "/models", ".frozen"]
    import vclock
    vclock.CONFIG = cfg
    vclock.CLOCK = vclock.Clock(cfg)
    import vworld
    vworld.WORLD = vworld.World(cfg.get("world", {}), vclock.CLOCK)
    import vtime
    import vselect
    import vasyncio
    import vmachine
    import vesp32
    import vbluetooth
    import vflash
    import i2cbase  # noqa: F401 - model base, loaded before the host fs goes away
    for spec_list in cfg.get("world", {}).get("i2c", {}).values():
        for spec in spec_list:
            __import__(spec.get("model", "regmap").partition(":")[0])
    vmachine._setup(cfg)
    sys.modules["time"] = vtime
    sys.modules["utime"] = vtime
    sys.modules["select"] = vselect
    sys.modules["_asyncio"] = vasyncio
    sys.modules["machine"] = vmachine
    sys.modules["esp32"] = vesp32
    sys.modules["bluetooth"] = vbluetooth
    rom = cfg.get("rom") and _vb_rom(cfg["rom"])
    vflash.mount(cfg["image"], cfg["blocks"])
    os.chdir("/")
    sys.path[:] = ["", ".frozen", "/rom", "/rom/lib", "/lib"] if rom else ["", ".frozen", "/lib"]
    vclock.emit("booted %d" % vclock.CLOCK.now_ms())
    return cfg.get("raw_repl", False)


def _vb_rom(path):
    # The ROMFS partition (a MicroPython build with MICROPY_VFS_ROM and a
    # partition table with a romfs partition, partitions-4MiB-romfs.csv): read
    # in place as the ESP32 maps it (see hil/vm.py: the image lies outside the
    # heap), mounted at /rom, with /rom and /rom/lib on sys.path ahead of /lib.
    # A partition without a ROMFS header is left unmounted, as on the board.
    import os
    import vfs
    where = os.getenv("VBOARD_ROM")
    if where:
        import uctypes
        addr, size = where.split(":")
        rom = uctypes.bytearray_at(int(addr), int(size))
    else:
        with open(path, "rb") as f:
            rom = f.read()
    try:
        vfs.mount(vfs.VfsRom(rom), "/rom")
    except OSError:
        return False
    return True


def _vb_run(name, g):
    import os
    import sys
    import vclock
    try:
        try:
            os.stat(name)
        except OSError:
            return True
        with open(name) as f:
            src = f.read()
        exec(compile(src, name, "exec"), g)
    except SystemExit:
        vclock.emit("softreset")
        vclock.halt()
    except BaseException as e:
        sys.print_exception(e)
    vclock.KBD_PENDING[0] = False
    return True


def _vb_ballast(free):
    # VirtualBoard(free_heap=N): boot.py starts with N bytes of free heap, in
    # one piece, as on a fresh heap of that size, whatever the bootstrap took
    # on the way (its peak parsing the config is freed by then: a smallest
    # heap that reaches the REPL measures that peak, not the firmware). The
    # rest is held where the GC cannot free it: the holes the bootstrap left,
    # and the start of the largest free region. Reported as "heapfree <bytes>".
    import gc
    import vclock
    holes = [None] * 512
    gc.collect()
    lo, hi = 0, gc.mem_free()
    while hi - lo > 16:   # the largest free region
        mid = (lo + hi) // 2
        try:
            bytearray(mid)
            lo = mid
        except MemoryError:
            hi = mid
    big = None
    gc.collect()
    while big is None and lo > free:
        try:
            big = bytearray(lo)
        except MemoryError:   # a stale pointer to a probe above (the GC is conservative)
            lo -= max(16, lo // 32)
    if big is not None:
        n, i = lo, 0
        while n >= 16 and i < len(holes):
            try:
                holes[i] = bytearray(n)
                i += 1
            except MemoryError:
                n //= 2
        big = None
        gc.collect()
        vclock.BALLAST[:] = [holes, bytearray(max(16, gc.mem_free() - free - 32))]
    gc.collect()
    vclock.emit("heapfree %d" % gc.mem_free())


_vb_raw = _vb_boot()
if __import__("vclock").CONFIG.get("free_heap") is not None:
    _vb_ballast(__import__("vclock").CONFIG["free_heap"])
_vb_run("boot.py", globals())
if not _vb_raw:
    _vb_run("main.py", globals())
del _vb_boot, _vb_raw, _vb_rom, _vb_ballast
__import__("vclock").emit("repl")
del _vb_run
try:
    del __file__
except NameError:
    pass
