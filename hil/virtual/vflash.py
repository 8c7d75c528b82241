# The board's flash filesystem partition: an image file on the host, seen as a
# block device of 4096-byte erase blocks (the ESP32's), for vfs.VfsLfs2.
_BLOCK = 4096
# An erased block, made once when the bootstrap mounts the flash: an ESP32
# erases in C, so an erase must not take 4 KB of the VM's (the board's) heap
# in the middle of a wake.
_ERASED = b"\xff" * _BLOCK

# Power-cut injection for tests: WRITES counts flash programs and erases; arm()
# makes the n-th one from now the last, torn when asked, and cuts the power.
WRITES = [0]
_CUT = [None, 0, True]


def arm(after_writes, seed=0, torn=True):
    _CUT[0] = WRITES[0] + max(1, after_writes)
    _CUT[1] = seed
    _CUT[2] = torn


def _cut_now(length):
    # None: write it all; else how many bytes land before the power goes
    WRITES[0] += 1
    if _CUT[0] is None or WRITES[0] < _CUT[0]:
        return None
    if not _CUT[2] or length <= 1:
        return 0
    import vworld
    return vworld.Rng(_CUT[1], "cut").next() % length


def _power_off():
    import vclock
    vclock.emit("powercut %d" % vclock.CLOCK.now_ms())
    vclock.halt()


def _shield(fn, *args):
    # A flash operation is C on an ESP32: Ctrl-C cannot stop it halfway. Here
    # it is Python inside littlefs, and an exception out of it would leave
    # littlefs's caches claiming data never read, so finish the operation and
    # let vclock raise the KeyboardInterrupt at the next safe point.
    while True:
        try:
            return fn(*args)
        except KeyboardInterrupt:
            import vclock
            vclock.KBD_PENDING[0] = True


class FlashBdev:
    def __init__(self, path, blocks):
        self.f = open(path, "r+b")
        self.blocks = blocks

    def _pread(self, pos, buf):
        self.f.seek(pos)
        self.f.readinto(buf)

    def _pwrite(self, pos, data):
        self.f.seek(pos)
        self.f.write(data)

    def readblocks(self, block, buf, offset=0):
        _shield(self._pread, block * _BLOCK + offset, buf)

    def writeblocks(self, block, buf, offset=None):
        if offset is None:
            # whole-block write (no separate erase): erase first, as the ESP32 port does
            offset = 0
        n = _cut_now(len(buf))
        _shield(self._pwrite, block * _BLOCK + offset, buf if n is None else bytes(buf)[:n])
        if n is not None:
            _power_off()

    def ioctl(self, op, arg):
        if op == 4:  # block count
            return self.blocks
        if op == 5:  # block size
            return _BLOCK
        if op == 6:  # erase
            n = _cut_now(_BLOCK)
            _shield(self._pwrite, arg * _BLOCK, _ERASED if n is None else _ERASED[:n])
            if n is not None:
                _power_off()
            return 0
        return None


def mount(path, blocks, where="/"):
    # Mount the image like the ESP32's _boot.py does: littlefs2, formatted on
    # first boot ("Performing initial setup" and a boot.py, as inisetup does).
    import vfs
    bdev = FlashBdev(path, blocks)
    fresh = False
    try:
        fs = vfs.VfsLfs2(bdev)
    except OSError:
        print("Performing initial setup")
        vfs.VfsLfs2.mkfs(bdev)
        fs = vfs.VfsLfs2(bdev)
        fresh = True
    if where == "/":
        vfs.umount("/")
    vfs.mount(fs, where)
    if fresh:
        with open(where.rstrip("/") + "/boot.py", "w") as f:
            f.write("# This file is executed on every boot (including wake-boot from deepsleep)\n"
                    "#import esp\n#esp.osdebug(None)\n#import webrepl\n#webrepl.start()\n")
    return bdev
