"""A host-side HLK-LD2410 mmWave presence sensor on a board's UART pty.

It writes basic-mode target reports (Hi-Link "HLK-LD2410 Serial Communication
Protocol" V1.02, 2.3) about ten times a second, and answers the commands the
firmware driver uses (enable/end configuration, read firmware version, 2.2)
with their ACK frames. What it reports follows a timeline in the board's
virtual time, so a sleeping board that wakes at 14:05 sees 14:05's room:

    peer = LD2410Peer(board.uarts["rs485"], timeline, clock=board.now_ms).start()
    ...
    peer.stop()

timeline: [(virtual ms, state, distance_cm)] sorted; state 0 none, 1 moving,
2 stationary, 3 both. `python -m hil.peers.ld2410 PORT` runs one that always
sees a stationary person at 80 cm, for a bench test against a real board.
"""
import os
import struct
import sys
import termios
import threading
import time

REPORT_HEAD = b"\xf4\xf3\xf2\xf1"
REPORT_TAIL = b"\xf8\xf7\xf6\xf5"
CMD_HEAD = b"\xfd\xfc\xfb\xfa"
CMD_TAIL = b"\x04\x03\x02\x01"
FIRMWARE = (2, 4, 0x22091615)   # major, minor, bugfix as the module reports them


def report(state, distance_cm, energy=60):
    """One basic-mode report frame."""
    moving = distance_cm if state in (1, 3) else 0
    still = distance_cm if state in (2, 3) else 0
    body = bytes([0x02, 0xAA]) + struct.pack("<BHBHBH", state, moving, energy if moving else 0,
                                             still, energy if still else 0, distance_cm if state else 0)
    body += b"\x55\x00"
    return REPORT_HEAD + struct.pack("<H", len(body)) + body + REPORT_TAIL


def ack(word, payload=b""):
    body = struct.pack("<HH", word | 0x0100, 0) + payload
    return CMD_HEAD + struct.pack("<H", len(body)) + body + CMD_TAIL


def answer(command_body):
    """The ACK frame for one command body (word + value), or None."""
    if len(command_body) < 2:
        return None
    word = command_body[0] | (command_body[1] << 8)
    if word == 0x00FF:
        return ack(word, struct.pack("<HH", 1, 64))          # protocol version, buffer size
    if word == 0x00FE:
        return ack(word)
    if word == 0x00A0:
        major, minor, bugfix = FIRMWARE
        return ack(word, struct.pack("<HBBI", 1, minor, major, bugfix))
    return None


class LD2410Peer:
    def __init__(self, port, timeline=None, clock=None, period_s=0.1):
        self.port = port
        self.timeline = list(timeline or [(0, 2, 80)])
        self.clock = clock or (lambda: int(time.time() * 1000))
        self.period_s = period_s
        self.reports = 0
        self.commands = []
        self._stop = threading.Event()
        self._thread = None

    def state_at(self, ms):
        state, cm = 0, 0
        for at, s, d in self.timeline:
            if at > ms:
                break
            state, cm = s, d
        return state, cm

    def start(self):
        self.fd = os.open(self.port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            a = termios.tcgetattr(self.fd)
            a[0] = a[1] = a[3] = 0
            termios.tcsetattr(self.fd, termios.TCSANOW, a)
        except termios.error:
            pass
        self._thread = threading.Thread(target=self._run, daemon=True, name="ld2410-peer")
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        try:
            os.close(self.fd)
        except OSError:
            pass

    def _write(self, data):
        try:
            os.write(self.fd, data)
        except OSError:
            pass   # the board is off: bytes on a dead line are lost, as on a real wire

    def _run(self):
        rx = b""
        while not self._stop.is_set():
            try:
                rx += os.read(self.fd, 512)
            except OSError:
                pass
            while True:
                i = rx.find(CMD_HEAD)
                if i < 0 or len(rx) < i + 6:
                    break
                n = rx[i + 4] | (rx[i + 5] << 8)
                if len(rx) < i + 10 + n:
                    break
                body = rx[i + 6:i + 6 + n]
                rx = rx[i + 10 + n:]
                self.commands.append(body[:2].hex())
                a = answer(body)
                if a:
                    self._write(a)
            state, cm = self.state_at(self.clock())
            self._write(report(state, cm))
            self.reports += 1
            self._stop.wait(self.period_s)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m hil.peers.ld2410 PORT", file=sys.stderr)
        return 2
    peer = LD2410Peer(argv[0]).start()
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        peer.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
