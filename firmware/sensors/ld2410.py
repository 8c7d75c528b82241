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


def _frames(buf, head, tail):
    # (frame bodies, rest of buf): complete frames found in buf, in order.
    out = []
    while True:
        i = buf.find(head)
        if i < 0:
            return out, buf[-3:]
        if len(buf) < i + 6:
            return out, buf[i:]
        n = buf[i + 4] | (buf[i + 5] << 8)
        if n > _MAX_LEN:
            buf = buf[i + 4:]             # not a real header: resynchronise
            continue
        end = i + 6 + n
        if len(buf) < end + 4:
            return out, buf[i:]
        if buf[end:end + 4] == tail:
            out.append(bytes(buf[i + 6:end]))
            buf = buf[end + 4:]
        else:
            buf = buf[i + 4:]


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
    def __init__(self, uart):
        # uart: machine.UART(id, baudrate=256000, tx=..., rx=...), made by the caller.
        self.uart = uart
        self.buf = b""
        self.last = None

    def _feed(self):
        n = self.uart.any()
        if n:
            data = self.uart.read(n)
            if data:
                self.buf = (self.buf + data)[-_BUF_MAX:]

    def poll(self):
        # Parse what has arrived; the newest report, or None.
        self._feed()
        bodies, self.buf = _frames(self.buf, _REPORT_HEAD, _REPORT_TAIL)
        for body in bodies:
            r = parse_report(body)
            if r is not None:
                self.last = r
        return self.last

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
        start = time.ticks_ms()
        while True:
            self._feed()
            bodies, self.buf = _frames(self.buf, _CMD_HEAD, _CMD_TAIL)
            for body in bodies:
                if len(body) >= 4 and body[0] | (body[1] << 8) == word:
                    if body[2] | body[3]:
                        raise SensorError("ld2410", "command refused")
                    return body
            if time.ticks_diff(time.ticks_ms(), start) >= timeout_ms:
                raise SensorError("ld2410", "no ack")
            time.sleep_ms(10)
