# Hi-Link HLK-LD2410 24 GHz mmWave presence sensor on a UART (256000 baud, 8N1).
# Protocol: Hi-Link "HLK-LD2410 Serial Communication Protocol" V1.02 (2022):
#   2.1 command frames: FD FC FB FA, length (2 bytes LE), command word
#       (2 bytes LE) + value, 04 03 02 01; the ACK's word is the command's
#       with bit 8 set, followed by a 2-byte status (0 success).
#   2.2.1 enable configuration 0x00FF (value 0x0001), 2.2.2 end 0x00FE,
#   2.2.13 read firmware version 0x00A0.
#   2.3 report frames: F4 F3 F2 F1, length (2 bytes LE), data type (0x01
#       engineering, 0x02 basic), 0xAA, target state (0 none, 1 moving,
#       2 stationary, 3 both), moving distance cm (2), moving energy (1),
#       stationary distance cm (2), stationary energy (1), detection distance
#       cm (2), [engineering data], 0x55, 0x00, F8 F7 F6 F5.
# The module reports about ten times a second by itself; read() takes the
# newest complete report within a timeout.
import struct
import time

from sensors import SensorError

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_REPORT_HEAD = b"\xf4\xf3\xf2\xf1"
_REPORT_TAIL = b"\xf8\xf7\xf6\xf5"
_CMD_HEAD = b"\xfd\xfc\xfb\xfa"
_CMD_TAIL = b"\x04\x03\x02\x01"
_MAX_LEN = const(64)          # longest frame body (engineering mode is 35 bytes)
_BUF_MAX = const(256)
STATES = ("none", "moving", "stationary", "both")


def command(word, value=b""):
    # The bytes of one command frame.
    body = struct.pack("<H", word) + value
    return _CMD_HEAD + struct.pack("<H", len(body)) + body + _CMD_TAIL


def _at(buf, i, pattern):
    # True when buf holds the 4 bytes of pattern at i (no slice made).
    return buf[i] == pattern[0] and buf[i + 1] == pattern[1] and buf[i + 2] == pattern[2] \
        and buf[i + 3] == pattern[3]


def parse_report(body):
    # A report body as (state, moving_cm, moving_energy, still_cm, still_energy,
    # detect_cm), or None if it is not a target report.
    if len(body) < 13 or body[0] not in (1, 2) or body[1] != 0xAA:
        return None
    if body[-2] != 0x55:
        return None
    state, mcm, men, scm, sen, dcm = struct.unpack("<BHBHBH", body[2:12])
    if state > 3:
        return None
    return state, mcm, men, scm, sen, dcm


class LD2410:
    # Reports arrive ten times a second and read() polls every 10 ms: bytes go
    # straight into one buffer (the newest _BUF_MAX kept) and frames are found
    # in place, so a poll with nothing new allocates nothing.
    def __init__(self, uart):
        # uart: machine.UART(id, baudrate=256000, tx=..., rx=...), made by the caller.
        self.uart = uart
        self.rx = bytearray(_BUF_MAX)
        self.rxv = memoryview(self.rx)
        self.start = self.end = 0          # rx[start:end]: bytes not parsed yet
        self.last = None

    def _fill(self):
        uart = self.uart
        while uart.any():
            if self.end == _BUF_MAX:
                self._shift(self.start if self.start else _BUF_MAX // 2)
            got = uart.readinto(self.rxv[self.end:])
            if not got:
                return
            self.end += got

    def _shift(self, k):
        # Drop the k oldest bytes, moving the rest to the front.
        rx = self.rx
        for j in range(self.end - k):
            rx[j] = rx[j + k]
        self.end -= k
        self.start = max(0, self.start - k)

    def _next(self, head, tail):
        # The body of the next complete frame between head and tail (a view
        # into the buffer, good until the next _fill), or None; what comes
        # before it is dropped.
        rx = self.rx
        i = self.start
        end = self.end
        body = None
        while end - i >= 10:
            if not _at(rx, i, head):
                i += 1
                continue
            n = rx[i + 4] | (rx[i + 5] << 8)
            if n > _MAX_LEN:
                i += 4                          # not a real header: resynchronise
                continue
            if end < i + 10 + n:
                break                           # the rest has not arrived yet
            if _at(rx, i + 6 + n, tail):
                body = self.rxv[i + 6:i + 6 + n]
                i += 10 + n
                break
            i += 4
        self.start = i
        return body

    def poll(self):
        # Parse what has arrived; the newest report, or None.
        self._fill()
        while True:
            body = self._next(_REPORT_HEAD, _REPORT_TAIL)
            if body is None:
                return self.last
            r = parse_report(body)
            if r is not None:
                self.last = r

    def read(self, timeout_ms=500):
        # The newest report within timeout_ms; SensorError("ld2410", "no frame") if none came.
        self.last = None
        start = time.ticks_ms()
        while True:
            r = self.poll()
            if r is not None:
                return r
            if time.ticks_diff(time.ticks_ms(), start) >= timeout_ms:
                raise SensorError("ld2410", "no frame")
            time.sleep_ms(10)

    def present(self, timeout_ms=500):
        # True when the radar sees a moving or stationary target.
        return self.read(timeout_ms)[0] != 0

    def firmware(self, timeout_ms=500):
        # The firmware version (major, minor, bugfix) through the command
        # protocol: enable configuration, read version, end configuration.
        self.uart.write(command(0x00FF, b"\x01\x00"))
        self._ack(0x01FF, timeout_ms)
        self.uart.write(command(0x00A0))
        body = self._ack(0x01A0, timeout_ms)
        self.uart.write(command(0x00FE))
        self._ack(0x01FE, timeout_ms)
        if len(body) < 12:
            raise SensorError("ld2410", "bad ack")
        # status(2), type 0x0001 (2), major, minor, bugfix (4 bytes LE)
        return body[7], body[6], struct.unpack("<I", body[8:12])[0]

    def _ack(self, word, timeout_ms):
        # The body (bytes) of the acknowledgement of command word (the ACK's word); reports are skipped.
        start = time.ticks_ms()
        while True:
            self._fill()
            while True:
                body = self._next(_CMD_HEAD, _CMD_TAIL)
                if body is None:
                    break
                if len(body) >= 4 and body[0] | (body[1] << 8) == word:
                    if body[2] | body[3]:
                        raise SensorError("ld2410", "command refused")
                    return bytes(body)
            if time.ticks_diff(time.ticks_ms(), start) >= timeout_ms:
                raise SensorError("ld2410", "no ack")
            time.sleep_ms(10)
