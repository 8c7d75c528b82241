# Store-and-forward queue on flash: frames wait here until a transport takes them.
#
# Layout: a folder of segment files ("s00000001", ...) holding records, and a
# "head" file naming the sequence number of the oldest frame not yet sent.
#   record = 0xA5 | length (1 byte) | seq (4 bytes) | frame | crc32 (4 bytes)
# The CRC covers length, seq and frame.
#
# Power cuts. Records are only ever appended, one write and one close each.
# On open every segment is read back; a record whose length runs past the end
# of the file or whose CRC fails is torn (the cut came mid-append): it and
# anything after it in that segment are skipped, and new records go to a fresh
# segment so nothing valid is ever written behind a torn tail. The head file is
# replaced by write-then-rename, so it is always the old or the new value.
#
# Capacity and drop policy. At most max_segments segments of seg_bytes each.
# When an append needs a new segment and the queue is full, the OLDEST segment
# is deleted, with its unsent frames: the newest data is what an operator
# needs after an outage. Every frame lost that way is added to `dropped`, a
# counter kept on flash and reported in the status frame.
import os
import struct
import binascii

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_MAGIC = const(0xA5)
_HEAD = const(6)          # magic, length, seq
_TAIL = const(4)          # crc32
_MAX_FRAME = const(242)   # the largest LoRaWAN application payload
_SEQ_MASK = const(0xFFFFFFFF)


class QueueError(Exception):
    pass


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _write_atomic(path, data):
    tmp = path + ".new"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


def _read_int(path, default):
    try:
        with open(path, "rb") as f:
            data = f.read()
        if len(data) == 4:
            return struct.unpack(">I", data)[0]
    except OSError:
        pass
    return default


class Segment:
    # One segment file: its records carry consecutive sequence numbers from
    # first (appends are sequential), so two ints describe them all and the
    # heap cost does not grow with the number of queued frames.
    def __init__(self, number, first):
        self.number = number
        self.first = first
        self.count = 0
        self.size = 0
        self.torn = False

    def last(self):
        return (self.first + self.count - 1) & _SEQ_MASK


class FlashQueue:
    def __init__(self, root, seg_bytes=4096, max_segments=16):
        if seg_bytes < _HEAD + _MAX_FRAME + _TAIL:
            raise QueueError("segment too small for one frame")
        self.root = root
        self.seg_bytes = seg_bytes
        self.max_segments = max_segments
        self.segments = []
        self.torn = 0
        if not _exists(root):
            os.mkdir(root)
        self.head = _read_int(root + "/head", 0)
        self.dropped = _read_int(root + "/dropped", 0)
        self._scan()

    # ---- reading back after a reset

    def _path(self, number):
        return "%s/s%08d" % (self.root, number)

    def _scan(self):
        numbers = []
        for name in os.listdir(self.root):
            if len(name) == 9 and name[0] == "s":
                numbers.append(int(name[1:]))
        numbers.sort()
        for n in numbers:
            self.segments.append(self._read_segment(n))
        self._forget_sent()

    def _read_segment(self, number):
        # Record by record through one record-sized buffer: reading the whole
        # segment (up to seg_bytes, grown as it is read) would be the wake's
        # largest single allocation, on every wake, for frames long sent.
        path = self._path(number)
        seg = Segment(number, 0)
        rec = bytearray(_HEAD + _MAX_FRAME + _TAIL)
        buf = memoryview(rec)
        with open(path, "rb") as f:
            while True:
                got = f.readinto(buf[:_HEAD])
                if not got:
                    break
                total = self._record_in(f, rec, buf, got)
                if total == 0:
                    seg.torn = True
                    self.torn += 1
                    break
                seq = struct.unpack_from(">I", rec, 2)[0]
                if seg.count == 0:
                    seg.first = seq
                elif seq != (seg.first + seg.count) & _SEQ_MASK:
                    seg.torn = True  # not ours: treat like a torn tail
                    self.torn += 1
                    break
                seg.count += 1
        seg.size = os.stat(path)[6]
        return seg

    def _record_in(self, f, rec, buf, got):
        # The record's total length if the `got` bytes of head in rec and what
        # follows in f make a whole, valid record, else 0.
        if got < _HEAD or rec[0] != _MAGIC or rec[1] == 0:
            return 0
        length = rec[1]
        total = _HEAD + length + _TAIL
        if f.readinto(buf[_HEAD:total]) != length + _TAIL:
            return 0
        crc = struct.unpack_from(">I", rec, _HEAD + length)[0]
        if binascii.crc32(buf[1:_HEAD + length]) & _SEQ_MASK != crc:
            return 0
        return total

    # ---- state

    def next_seq(self):
        for seg in reversed(self.segments):
            if seg.count:
                return (seg.last() + 1) & _SEQ_MASK
        return self.head

    def _unsent_in(self, seg):
        # How many of the segment's frames are at or after the head.
        d = (self.head - seg.first) & _SEQ_MASK
        if d >= 0x80000000:
            return seg.count      # the head is before this segment
        return seg.count - d if d < seg.count else 0

    def depth(self):
        # Frames waiting to be sent.
        n = 0
        for seg in self.segments:
            n += self._unsent_in(seg)
        return n

    def _unsent(self, seq):
        # Sequence numbers wrap at 2**32; "after" means within half the space.
        return (seq - self.head) & _SEQ_MASK < 0x80000000

    # ---- writing

    def append(self, frame):
        if not 0 < len(frame) <= _MAX_FRAME:
            raise QueueError("frame length must be 1..%d" % _MAX_FRAME)
        seq = self.next_seq()
        rec = bytearray(_HEAD + len(frame) + _TAIL)
        struct.pack_into(">BBI", rec, 0, _MAGIC, len(frame), seq)
        rec[_HEAD:_HEAD + len(frame)] = frame
        crc = binascii.crc32(memoryview(rec)[1:_HEAD + len(frame)]) & _SEQ_MASK
        struct.pack_into(">I", rec, _HEAD + len(frame), crc)
        seg = self._segment_for(len(rec), seq)
        with open(self._path(seg.number), "ab") as f:
            f.write(rec)
        if seg.count == 0:
            seg.first = seq  # an empty segment left by a cut just after its creation
        seg.count += 1
        seg.size += len(rec)
        return seq

    def _segment_for(self, size, seq):
        last = self.segments[-1] if self.segments else None
        if last is not None and not last.torn and last.size + size <= self.seg_bytes:
            return last
        if len(self.segments) >= self.max_segments:
            self._drop_oldest()
        seg = Segment(last.number + 1 if last else 1, seq)
        self.segments.append(seg)
        return seg

    def _drop_oldest(self):
        seg = self.segments.pop(0)
        lost = self._unsent_in(seg)
        if lost:
            self.dropped += lost
            _write_atomic(self.root + "/dropped", struct.pack(">I", self.dropped & _SEQ_MASK))
            self._set_head((seg.last() + 1) & _SEQ_MASK)
        os.remove(self._path(seg.number))

    # ---- sending

    def peek(self, limit=1):
        # Up to limit unsent frames, oldest first, as (seq, frame).
        out = []
        head = bytearray(_HEAD)
        for seg in self.segments:
            if len(out) >= limit:
                break
            if not self._unsent_in(seg):
                continue
            with open(self._path(seg.number), "rb") as f:
                for i in range(seg.count):
                    if len(out) >= limit:
                        break
                    f.readinto(head)
                    frame = f.read(head[1])
                    f.read(_TAIL)
                    if self._unsent(seg.first + i):
                        out.append(((seg.first + i) & _SEQ_MASK, frame))
        return out

    def ack(self, seq):
        # Frames up to and including seq have been sent: forget them.
        if not self._unsent(seq):
            return
        self._set_head((seq + 1) & _SEQ_MASK)
        self._forget_sent()

    def _set_head(self, head):
        self.head = head
        _write_atomic(self.root + "/head", struct.pack(">I", head))

    def _forget_sent(self):
        # Delete segments all of whose frames were sent, except the one being written.
        while len(self.segments) > 1 or (self.segments and self.segments[0].torn):
            seg = self.segments[0]
            if self._unsent_in(seg):
                break
            os.remove(self._path(seg.number))
            self.segments.pop(0)
