# The virtual board's `bluetooth` module: the API of MicroPython's
# `bluetooth` (ESP32 port, NimBLE) for a peripheral: BLE().active, config,
# irq, gap_advertise, gatts_register_services, gatts_read/write/notify/
# indicate/set_buffer, gap_disconnect, UUID and the FLAG_* constants, so the
# firmware's BLE code runs unchanged.
#
# The air is a Unix socket in the abstract namespace named after the board's
# flash image (hil/peers/ble_central.py computes the same name). The host side
# is the phone or gateway: it hears advertisements, connects, reads and writes
# characteristics, and gets notifications. As on NimBLE, reads are served by
# the stack from the attribute values the firmware set with gatts_write (no
# Python runs for a read), and a central's write is stored, acknowledged,
# then handed to the firmware's irq handler as _IRQ_GATTS_WRITE at a safe
# point (a sleep, a tick), as micropython.schedule would.
#
# The radio is polled from the virtual clock: every advertising interval
# while advertising, every 20 ms while a central is connected. Traffic marks
# the clock's I/O as hot, so short sleeps run in real time while a central
# talks to the board.
import json
import socket
import struct
import hashlib
import binascii
import vclock

FLAG_BROADCAST = 0x0001
FLAG_READ = 0x0002
FLAG_WRITE_NO_RESPONSE = 0x0004
FLAG_WRITE = 0x0008
FLAG_NOTIFY = 0x0010
FLAG_INDICATE = 0x0020
FLAG_AUTHENTICATED_SIGNED_WRITE = 0x0040
FLAG_AUX_WRITE = 0x0100
FLAG_READ_ENCRYPTED = 0x0200
FLAG_READ_AUTHENTICATED = 0x0400
FLAG_READ_AUTHORIZED = 0x0800
FLAG_WRITE_ENCRYPTED = 0x1000
FLAG_WRITE_AUTHENTICATED = 0x2000
FLAG_WRITE_AUTHORIZED = 0x4000

_IRQ_CENTRAL_CONNECT = 1
_IRQ_CENTRAL_DISCONNECT = 2
_IRQ_GATTS_WRITE = 3
_IRQ_GATTS_INDICATE_DONE = 20
_IRQ_MTU_EXCHANGED = 21

_EINVAL = 22
_ENOTCONN = 128
_DEFAULT_BUF = 20       # NimBLE's default attribute buffer (MicroPython docs: gatts_set_buffer)
_ADV_MAX = 31
_POLL_CONNECTED_US = 20000


def _hex(b):
    return binascii.hexlify(b).decode()


def _unhex(s):
    return binascii.unhexlify(s)


def air_name(image_path):
    # The abstract socket name of a board's air (without the leading NUL).
    return "cityfleet-vble-" + _hex(hashlib.sha256(image_path.encode()).digest()[:8])


class UUID:
    def __init__(self, value):
        if isinstance(value, UUID):
            self._b = value._b
        elif isinstance(value, int):
            if not 0 <= value <= 0xFFFF:
                raise ValueError("invalid UUID")
            self._b = struct.pack("<H", value)
        elif isinstance(value, str):
            h = value.replace("-", "")
            if len(h) not in (4, 32):
                raise ValueError("invalid UUID")
            self._b = bytes(reversed(_unhex(h)))
        else:
            b = bytes(value)
            if len(b) not in (2, 4, 16):
                raise ValueError("invalid UUID")
            self._b = b
        self._s = self._text()

    def _text(self):
        h = _hex(bytes(reversed(self._b)))
        if len(h) == 32:
            return "-".join((h[:8], h[8:12], h[12:16], h[16:20], h[20:]))
        return h

    def __eq__(self, other):
        return isinstance(other, UUID) and other._b == self._b

    def __hash__(self):
        return hash(self._b)

    def __str__(self):
        return self._s

    def __repr__(self):
        if len(self._b) == 16:
            return "UUID('%s')" % self._s
        return "UUID(0x%s)" % self._s

    def __bytes__(self):
        return self._b


class _Attr:
    def __init__(self, uuid, flags):
        self.uuid = uuid
        self.flags = flags
        self.value = b""
        self.size = _DEFAULT_BUF
        self.append = False


class _BLE:
    def __init__(self):
        self._active = False
        self._handler = None
        self._attrs = {}            # value handle -> _Attr
        self._db = []               # [[service uuid, [[uuid, flags, value handle], ...]], ...]
        self._next_handle = 1
        self._name = b"MPY ESP32"
        self._mtu = 256            # preferred MTU: NimBLE's BLE_ATT_PREFERRED_MTU in MicroPython
        self._rxbuf = 512
        self._adv = None            # (interval_us, adv, resp, connectable) while advertising
        self._conns = {}            # conn handle -> {"mtu": n, "subs": set of value handles}
        self._next_conn = 0
        self._srv = None
        self._link = None           # the accepted air link
        self._inbuf = b""
        self._due = None
        self._pending = []          # (event, data) for the irq handler

    # ------------------------------------------------------------ API
    def active(self, value=None):
        if value is None:
            return self._active
        if value and not self._active:
            self._active = True
            self._listen()
        elif not value and self._active:
            for c in list(self._conns):
                self._send({"t": "disconnect", "c": c})
            self._conns = {}
            self._adv = None
            self._active = False
            self._close()
            self._schedule()
        return self._active

    def config(self, *args, **kw):
        if args:
            name = args[0]
            if name == "mac":
                mac = bytearray(_unhex(vclock.CONFIG["mac"]))
                mac[5] = (mac[5] + 2) & 0xFF   # ESP32: the BT address is the base MAC + 2
                return (0, bytes(mac))
            if name == "gap_name":
                return self._name
            if name == "mtu":
                return self._mtu
            if name == "rxbuf":
                return self._rxbuf
            if name == "addr_mode":
                return 0
            raise ValueError("unknown config param")
        for k in kw:
            v = kw[k]
            if k == "gap_name":
                self._name = v.encode() if isinstance(v, str) else bytes(v)
            elif k == "mtu":
                if not 23 <= v <= 517:
                    raise ValueError("invalid MTU")
                self._mtu = v
            elif k == "rxbuf":
                self._rxbuf = v
            elif k in ("addr_mode", "io", "mitm", "bond", "le_secure", "interval"):
                pass
            else:
                raise ValueError("unknown config param")

    def irq(self, handler):
        self._handler = handler

    def gap_advertise(self, interval_us, adv_data=None, *, resp_data=None, connectable=True):
        self._need_active()
        if interval_us is None:
            self._adv = None
            self._send({"t": "adv_off"})
            self._schedule()
            return
        old = self._adv
        adv = bytes(adv_data) if adv_data is not None else (old[1] if old else b"")
        resp = bytes(resp_data) if resp_data is not None else (old[2] if old else b"")
        if len(adv) > _ADV_MAX or len(resp) > _ADV_MAX:
            raise OSError(_EINVAL)
        self._adv = (max(20000, int(interval_us)), adv, resp, connectable)
        self._send_adv()
        self._schedule()

    def gatts_register_services(self, services):
        self._need_active()
        out = []
        self._db = []
        self._attrs = {}
        h = 1
        for svc in services:
            suuid, chars = svc[0], svc[1]
            h += 1                                  # service declaration
            handles = []
            entry = []
            for ch in chars:
                cu, flags = ch[0], ch[1]
                h += 1                              # characteristic declaration
                vh = h
                h += 1
                self._attrs[vh] = _Attr(cu, flags)
                handles.append(vh)
                entry.append([str(cu), flags, vh])
                if flags & (FLAG_NOTIFY | FLAG_INDICATE):
                    h += 1                          # CCCD
                for d in (ch[2] if len(ch) > 2 else ()):
                    self._attrs[h] = _Attr(d[0], d[1])
                    handles.append(h)
                    entry.append([str(d[0]), d[1], h])
                    h += 1
            out.append(tuple(handles))
            self._db.append([str(suuid), entry])
        self._send({"t": "db", "db": self._db})
        return tuple(out)

    def gatts_read(self, value_handle):
        return self._attr(value_handle).value

    def gatts_write(self, value_handle, data, send_update=False):
        a = self._attr(value_handle)
        a.value = bytes(data)
        self._send({"t": "val", "h": value_handle, "v": _hex(a.value)})
        if send_update:
            for c, st in self._conns.items():
                if value_handle in st["subs"]:
                    self._notify(c, value_handle, a.value)

    def gatts_notify(self, conn_handle, value_handle, data=None):
        a = self._attr(value_handle)
        if conn_handle not in self._conns:
            raise OSError(_ENOTCONN)
        self._notify(conn_handle, value_handle, a.value if data is None else bytes(data))

    def gatts_indicate(self, conn_handle, value_handle, data=None):
        self.gatts_notify(conn_handle, value_handle, data)
        self._pending.append((_IRQ_GATTS_INDICATE_DONE, (conn_handle, value_handle, 0)))
        self._schedule()

    def gatts_set_buffer(self, value_handle, length, append=False):
        a = self._attr(value_handle)
        a.size = length
        a.append = append

    def gap_disconnect(self, conn_handle):
        if conn_handle not in self._conns:
            return False
        del self._conns[conn_handle]
        self._send({"t": "disconnect", "c": conn_handle})
        self._pending.append((_IRQ_CENTRAL_DISCONNECT, (conn_handle, 0, b"\x00" * 6)))
        self._schedule()
        return True

    # ------------------------------------------------------------ internals
    def _need_active(self):
        if not self._active:
            raise OSError(_EINVAL)

    def _attr(self, h):
        a = self._attrs.get(h)
        if a is None:
            raise ValueError("invalid handle")
        return a

    def _notify(self, c, h, data):
        data = data[:self._conns[c]["mtu"] - 3]     # one ATT packet: MTU - 3 bytes
        self._send({"t": "notify", "c": c, "h": h, "v": _hex(data)})

    def _send_adv(self):
        if self._adv is not None:
            iv, adv, resp, conn = self._adv
            self._send({"t": "adv", "interval_us": iv, "adv": _hex(adv), "resp": _hex(resp), "connectable": conn})

    def _listen(self):
        name = air_name(vclock.CONFIG["image"])
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.bind(struct.pack("H", socket.AF_UNIX) + b"\x00" + name.encode())
            s.listen(1)
        except OSError:
            s.close()
            return
        s.setblocking(False)
        self._srv = s

    def _close(self):
        for s in (self._link, self._srv):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
        self._link = None
        self._srv = None

    def _send(self, msg):
        s = self._link
        if s is None:
            return
        data = (json.dumps(msg) + "\n").encode()
        while data:
            try:
                n = s.send(data)
                data = data[n:]
            except OSError as e:
                if e.errno == 11:   # EAGAIN: the host reads soon
                    continue
                self._lost()
                return

    def _lost(self):
        # The host went away: every central drops off the air.
        try:
            self._link.close()
        except OSError:
            pass
        self._link = None
        self._inbuf = b""
        for c in list(self._conns):
            del self._conns[c]
            self._pending.append((_IRQ_CENTRAL_DISCONNECT, (c, 0, b"\x00" * 6)))

    # virtual clock source
    def _schedule(self):
        clk = vclock.CLOCK
        if not self._active or (self._adv is None and not self._conns and not self._pending):
            due = None
        elif self._pending:
            due = clk.now_us()
        elif self._conns:
            due = clk.now_us() + _POLL_CONNECTED_US
        else:
            due = clk.now_us() + min(self._adv[0], 1000000)
        self._due = due
        if due is None:
            clk.remove_source(self)
        else:
            clk.add_source(self)
        clk.changed()

    def _vb_due(self):
        return self._due

    def _vb_fire(self, t_us):
        self._due = None
        self._poll()
        pending, self._pending = self._pending, []
        self._schedule()
        h = self._handler
        if h is not None:
            for ev, data in pending:
                h(ev, data)

    def _poll(self):
        if self._srv is not None and self._link is None:
            try:
                c, _ = self._srv.accept()
                c.setblocking(False)
                self._link = c
                self._send({"t": "hello", "mac": _hex(self.config("mac")[1]), "name": _hex(self._name)})
                self._send({"t": "db", "db": self._db})
                for h, a in self._attrs.items():
                    if a.value:
                        self._send({"t": "val", "h": h, "v": _hex(a.value)})
                self._send_adv()
            except OSError:
                pass
        if self._link is None:
            return
        while True:
            try:
                data = self._link.recv(256)   # small: the VM heap is the board's
            except OSError:
                break
            if not data:
                self._lost()
                return
            self._inbuf += data
        got = False
        while b"\n" in self._inbuf:
            line, self._inbuf = self._inbuf.split(b"\n", 1)
            if line:
                got = True
                self._message(json.loads(line))
        if got:
            vclock.CLOCK.io_activity()

    def _message(self, m):
        t = m["t"]
        if t == "connect":
            if self._adv is None or not self._adv[3] or self._conns:
                self._send({"t": "refused", "why": "not advertising connectable"})
                return
            c = self._next_conn
            self._next_conn += 1
            self._conns[c] = {"mtu": 23, "subs": set()}
            self._adv = None        # NimBLE stops advertising on a connection
            self._send({"t": "adv_off"})
            addr = _unhex(m.get("addr", "000000000000"))
            self._pending.append((_IRQ_CENTRAL_CONNECT, (c, 0, addr)))
            self._send({"t": "connected", "c": c})
        elif t == "mtu":
            c = m["c"]
            if c in self._conns:
                mtu = min(m["mtu"], self._mtu)
                self._conns[c]["mtu"] = mtu
                self._pending.append((_IRQ_MTU_EXCHANGED, (c, mtu)))
                self._send({"t": "mtu", "c": c, "mtu": mtu})
        elif t == "sub":
            c = m["c"]
            if c in self._conns:
                self._conns[c]["subs"].add(m["h"])
        elif t == "write":
            c, h = m["c"], m["h"]
            a = self._attrs.get(h)
            if c not in self._conns or a is None or not a.flags & (FLAG_WRITE | FLAG_WRITE_NO_RESPONSE):
                self._send({"t": "wrote", "h": h, "ok": False})
                return
            v = _unhex(m["v"])
            if a.append:
                v = a.value + v
            a.value = v[-a.size:] if a.append else v[:a.size]
            self._send({"t": "val", "h": h, "v": _hex(a.value)})
            self._send({"t": "wrote", "h": h, "ok": True})
            self._pending.append((_IRQ_GATTS_WRITE, (c, h)))
        elif t == "disconnect":
            c = m["c"]
            if c in self._conns:
                del self._conns[c]
                self._pending.append((_IRQ_CENTRAL_DISCONNECT, (c, 0, b"\x00" * 6)))


_inst = []


def BLE():
    if not _inst:
        _inst.append(_BLE())
    return _inst[0]
