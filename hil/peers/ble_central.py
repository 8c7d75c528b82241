"""A phone (BLE central) near a virtual board: hears its advertisements,
connects, reads and writes characteristics, gets notifications.

The board side is hil/virtual/vbluetooth.py (the VM's `bluetooth` module);
the two meet on a Unix socket in the abstract namespace named after the
board's flash image. The board accepts the link when its radio is polled
(each advertising interval, or every 20 ms while connected), so scan()
waits until the board advertises.

    central = VirtualCentral(board)            # a VirtualBoardHandle or VirtualBoard
    adv = central.scan(timeout=10)             # Advertisement(adv, resp, connectable)
    central.connect(mtu=185)
    status = central.read(STATUS_UUID)
    central.write(CONFIG_UUID, sealed)
    note = central.wait_notify(RESULT_UUID)
"""
import binascii
import hashlib
import json
import socket
import threading
import time
from collections import namedtuple

Advertisement = namedtuple("Advertisement", "adv resp connectable interval_us")


class BLEError(Exception):
    """The virtual central could not do what was asked"""


def air_name(image_path):
    # Same name as vbluetooth.air_name on the board.
    return "cityfleet-vble-" + hashlib.sha256(str(image_path).encode()).digest()[:8].hex()


def ad_structures(payload):
    """Split an advertising payload into [(AD type, data)] (Core spec Vol 3 Part C 11)."""
    out = []
    i = 0
    while i < len(payload):
        n = payload[i]
        if n == 0:
            break
        if i + 1 + n > len(payload):
            raise ValueError("AD structure runs past the payload")
        out.append((payload[i + 1], bytes(payload[i + 2:i + 1 + n])))
        i += 1 + n
    return out


class VirtualCentral:
    def __init__(self, board, addr="a4c138000001"):
        vb = getattr(board, "vboard", board)
        self.name = air_name(vb.image.path)
        self.addr = addr
        self._sock = None
        self._buf = b""
        self._cond = threading.Condition()
        self._thread = None
        self.adv = None
        self.db = []
        self.values = {}
        self.notifications = []      # [(value handle, bytes)]
        self.conn = None
        self.mtu = 23
        self._wrote = []
        self._events = []
        self.hello = None

    # ------------------------------------------------------------ link
    def _link(self, timeout):
        if self._sock is not None:
            return
        end = time.monotonic() + timeout
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect("\0" + self.name)
                break
            except OSError:
                s.close()
                if time.monotonic() > end:
                    raise BLEError("no board on the air (is its radio active?)")
                time.sleep(0.02)
        self._sock = s
        self._thread = threading.Thread(target=self._reader, daemon=True, name="ble-central")
        self._thread.start()

    def _reader(self):
        s = self._sock
        while True:
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                with self._cond:
                    self._sock = None
                    self.conn = None
                    self._cond.notify_all()
                return
            self._buf += data
            while b"\n" in self._buf:
                line, self._buf = self._buf.split(b"\n", 1)
                if line:
                    self._on(json.loads(line))

    def _on(self, m):
        t = m["t"]
        with self._cond:
            if t == "adv":
                self.adv = Advertisement(bytes.fromhex(m["adv"]), bytes.fromhex(m["resp"]),
                                         m["connectable"], m["interval_us"])
            elif t == "adv_off":
                self.adv = None
            elif t == "db":
                self.db = m["db"]
            elif t == "val":
                self.values[m["h"]] = bytes.fromhex(m["v"])
            elif t == "notify":
                self.notifications.append((m["h"], bytes.fromhex(m["v"])))
            elif t == "wrote":
                self._wrote.append(m)
            elif t == "hello":
                self.hello = m
            elif t == "disconnect":
                self.conn = None
            self._events.append(m)
            self._cond.notify_all()

    def _send(self, msg):
        if self._sock is None:
            raise BLEError("not on the air")
        self._sock.sendall((json.dumps(msg) + "\n").encode())

    def _wait(self, pred, timeout, what):
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                r = pred()
                if r:
                    return r
                left = end - time.monotonic()
                if left <= 0:
                    raise BLEError("timed out waiting for " + what)
                self._cond.wait(left)

    # ------------------------------------------------------------ central API
    def scan(self, timeout=10.0, connectable=None):
        """The board's current advertisement (waits until it advertises)."""
        self._link(timeout)
        return self._wait(lambda: self.adv if self.adv and (connectable is None or self.adv.connectable == connectable)
                          else None, timeout, "an advertisement")

    def connect(self, timeout=10.0, mtu=None):
        self.scan(timeout, connectable=True)
        start = len(self._events)
        self._send({"t": "connect", "addr": self.addr})
        m = self._wait(lambda: next((e for e in self._events[start:] if e["t"] in ("connected", "refused")), None),
                       timeout, "the connection")
        if m["t"] == "refused":
            raise BLEError("connection refused: " + m.get("why", ""))
        self.conn = m["c"]
        if mtu:
            start = len(self._events)
            self._send({"t": "mtu", "c": self.conn, "mtu": mtu})
            m = self._wait(lambda: next((e for e in self._events[start:] if e["t"] == "mtu"), None), timeout, "MTU")
            self.mtu = m["mtu"]
        return self.conn

    def disconnect(self):
        if self.conn is not None and self._sock is not None:
            self._send({"t": "disconnect", "c": self.conn})
        self.conn = None

    def handle(self, uuid):
        """The value handle of a characteristic, by UUID string (as the board printed it)."""
        u = str(uuid).lower()
        for _, chars in self.db:
            for cu, flags, h in chars:
                if cu.lower() == u:
                    return h
        raise BLEError("no characteristic " + u)

    def flags(self, uuid):
        h = self.handle(uuid)
        for _, chars in self.db:
            for cu, flags, vh in chars:
                if vh == h:
                    return flags
        return 0

    def read(self, uuid):
        """Read a characteristic (long read: up to 512 bytes), as the stack serves it."""
        if self.conn is None:
            raise BLEError("not connected")
        if not self.flags(uuid) & 0x0002:
            raise BLEError("characteristic not readable")
        return self.values.get(self.handle(uuid), b"")[:512]

    def write(self, uuid, data, timeout=10.0):
        """Write with response: returns once the board's stack has stored it."""
        if self.conn is None:
            raise BLEError("not connected")
        h = self.handle(uuid)
        start = len(self._wrote)
        self._send({"t": "write", "c": self.conn, "h": h, "v": bytes(data).hex()})
        m = self._wait(lambda: next((w for w in self._wrote[start:] if w["h"] == h), None), timeout, "the write response")
        if not m["ok"]:
            raise BLEError("write refused by the stack")

    def subscribe(self, uuid):
        self._send({"t": "sub", "c": self.conn, "h": self.handle(uuid)})

    def wait_notify(self, uuid, timeout=10.0, start=0):
        """The first notification of a characteristic from index `start` of the notifications."""
        h = self.handle(uuid)
        return self._wait(lambda: next((v for hh, v in self.notifications[start:] if hh == h), None),
                          timeout, "a notification")

    def close(self):
        self.disconnect()
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
