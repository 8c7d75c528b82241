# Runs on the MicroPython unix port: a littlefs2 filesystem on a RAM block
# device that can lose power at any block write, to test that the flash queue
# and the config store keep what they committed. The cut is exact: the chosen
# write is applied only in part (a torn page) and nothing after it lands.
import gc
import os
import vfs

from runtime import config as cfg
from runtime.queue import FlashQueue

BLOCK = 512
BLOCKS = 128


class PowerCut(OSError):
    pass


class CutBlock:
    def __init__(self, data=None, cut_after=-1, seed=0):
        self.data = bytearray(data) if data is not None else bytearray(b"\xff" * (BLOCK * BLOCKS))
        self.cut_after = cut_after
        self.writes = 0
        self.dead = False
        self.seed = seed
        # Made in advance: after the cut, littlefs may still reach the device
        # from a file finaliser, while the heap is locked and nothing can be allocated.
        self.cut = PowerCut(5)

    def _program(self, addr, buf):
        if self.dead:
            raise self.cut
        if self.cut_after >= 0 and self.writes >= self.cut_after:
            # The write in progress when the power went: a random prefix lands.
            keep = (self.seed * 7919 + self.writes) % (len(buf) + 1)
            self.data[addr:addr + keep] = buf[:keep]
            self.dead = True
            raise self.cut
        self.data[addr:addr + len(buf)] = buf
        self.writes += 1

    def readblocks(self, n, buf, off=0):
        if self.dead:
            return  # the power is off: nothing to read (and nothing may be allocated)
        a = n * BLOCK + off
        buf[:] = self.data[a:a + len(buf)]

    def writeblocks(self, n, buf, off=None):
        self._program(n * BLOCK + (off or 0), buf)

    def ioctl(self, op, arg):
        if op == 4:
            return len(self.data) // BLOCK
        if op == 5:
            return BLOCK
        if op == 6:
            self._program(arg * BLOCK, b"\xff" * BLOCK)
            return 0
        return None


_mounts = [0]


def mount(bd, fresh=False):
    if fresh:
        vfs.VfsLfs2.mkfs(bd)
    _mounts[0] += 1
    point = "/sim%d" % _mounts[0]
    vfs.mount(vfs.VfsLfs2(bd), point)
    return point


def unmount(point):
    # Files left open by a cut are finalised now, while their filesystem is
    # still mounted: a finaliser that ran later, in the middle of another
    # filesystem's operation, would re-enter littlefs (a simulator artefact;
    # on a board the power is simply gone).
    gc.collect()
    try:
        vfs.umount(point)
    except OSError:
        pass
    gc.collect()


def _frame(i):
    # Distinct, self-describing frames of varying length.
    n = 1 + (i * 37) % 60
    return bytes([(i + k) & 0xFF for k in range(n)])


def queue_trial(seed, cut_after, frames=60, seg_bytes=300, max_segments=6, ack_every=7):
    # Append (and now and then send) frames until the power goes; then mount
    # what the flash holds and compare with what was committed.
    bd = CutBlock(seed=seed)
    point = mount(bd, fresh=True)
    bd.cut_after = cut_after
    q = None
    committed = []      # seq -> frame for every append that returned
    acked = -1          # highest seq whose ack returned
    in_flight = None
    cut = False
    try:
        q = FlashQueue(point + "/q", seg_bytes, max_segments)
        for i in range(frames):
            in_flight = ("append", i)
            seq = q.append(_frame(i))
            committed.append((seq, _frame(i)))
            if i % ack_every == ack_every - 1:
                ready = q.peek(3)
                if ready:
                    in_flight = ("ack", ready[-1][0])
                    q.ack(ready[-1][0])
                    acked = ready[-1][0]
            in_flight = None
    except PowerCut:
        cut = True
    dropped_before = q.dropped if q else 0
    unmount(point)
    after = CutBlock(bd.data)
    point = mount(after)
    q2 = FlashQueue(point + "/q", seg_bytes, max_segments)
    got = q2.peek(100000)
    result = {
        "cut": cut, "in_flight": in_flight, "committed": len(committed), "acked": acked,
        "got_seqs": [s for s, _ in got], "dropped": q2.dropped, "dropped_before": dropped_before,
        "depth": q2.depth(), "torn": q2.torn, "problems": [], "writes": bd.writes,
    }
    by_seq = {}
    for s, f in committed:
        by_seq[s] = f
    problems = result["problems"]
    seqs = result["got_seqs"]
    for i in range(1, len(seqs)):
        if seqs[i] != seqs[i - 1] + 1:
            problems.append("gap or disorder at %d: %r" % (i, seqs[i - 1:i + 1]))
    for s, f in got:
        if s in by_seq and by_seq[s] != f:
            problems.append("frame %d corrupt" % s)
        if s not in by_seq and not (in_flight and in_flight[0] == "append" and s == len(committed)):
            problems.append("frame %d never committed" % s)
        if s <= acked and not (in_flight and in_flight[0] == "ack"):
            problems.append("frame %d came back after its ack" % s)
    # Every committed, unsent frame that was not dropped by the capacity policy is there.
    first_kept = seqs[0] if seqs else len(committed)
    for s, f in committed:
        if s > acked and s >= first_kept and s not in seqs:
            problems.append("committed frame %d lost" % s)
    if seqs and committed and seqs[0] > acked + 1 and q2.dropped == 0 and not (in_flight and in_flight[0] == "ack"):
        problems.append("frames %d..%d missing without being counted as dropped" % (acked + 1, seqs[0] - 1))
    if q2.depth() != len(got):
        problems.append("depth %d != %d frames" % (q2.depth(), len(got)))
    # The queue still works after the cut: append and read back.
    s = q2.append(b"after")
    if q2.peek(100000)[-1] != (s, b"after"):
        problems.append("append after the cut not readable")
    unmount(point)
    return result


def config_trial(seed, cut_after):
    # Save configs one after another until the power goes; the file that
    # remains must load as exactly one of the configs saved.
    bd = CutBlock(seed=seed)
    point = mount(bd, fresh=True)
    path = point + "/config.json"
    base = {"dev_eui": "70b3d57ed0000001", "join_eui": "0000000000000000",
            "app_key": "00112233445566778899aabbccddeeff", "device_key": "ab" * 32,
            "profile": "water_main"}
    cfg.save(dict(base, interval=600), path=path)
    bd.cut_after = bd.writes + cut_after
    saved = [600]
    in_flight = None
    try:
        for i in range(1, 30):
            in_flight = 600 + i * 10
            cfg.save(dict(base, interval=in_flight), path=path)
            saved.append(in_flight)
            in_flight = None
    except PowerCut:
        pass
    unmount(point)
    point = mount(CutBlock(bd.data))
    config, problems, provisioned = cfg.load(path=point + "/config.json")
    unmount(point)
    return {"interval": config["interval"], "provisioned": provisioned, "problems": problems,
            "last_saved": saved[-1], "in_flight": in_flight}


def torn_trial(cut_byte, tail=b""):
    # A filesystem that keeps partial writes (FAT, raw flash) can hold part of
    # the last record after a power cut: its first cut_byte bytes, then maybe
    # erased flash (tail). Every earlier record must survive, the torn one
    # must be skipped, and the queue must go on working.
    bd = CutBlock()
    point = mount(bd, fresh=True)
    root = point + "/q"
    q = FlashQueue(root, 4096, 4)
    for i in range(5):
        q.append(_frame(i))
    path = q._path(q.segments[-1].number)
    with open(path, "rb") as f:
        whole = f.read()
    before = whole[:q.segments[-1].size]
    q.append(_frame(5))
    with open(path, "rb") as f:
        last = f.read()[len(before):]
    with open(path, "wb") as f:
        f.write(before + last[:cut_byte] + tail)
    q2 = FlashQueue(root, 4096, 4)
    first = [s for s, _ in q2.peek(100)]
    frames_ok = [f for _, f in q2.peek(100)] == [_frame(i) for i in range(len(first))]
    q2.append(b"next")
    q3 = FlashQueue(root, 4096, 4)
    after = q3.peek(100)
    unmount(point)
    return {"record_len": len(last), "first": first, "frames_ok": frames_ok, "torn": q2.torn,
            "after": [s for s, _ in after], "last": after[-1][1] if after else None}
