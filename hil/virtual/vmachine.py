# The virtual board's `machine` module: the ESP32 port's API (names and
# constants as in micropython-esp32 stubs 1.29), with peripherals backed by the
# world model (vworld) and UARTs bridged to host ptys by the supervisor.
import sys
import vclock
import vworld
from vclock import emit as _emit, halt as _halt

# reset causes and wake reasons (ESP32 values)
PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5
SLEEP = 2
DEEPSLEEP = 4
PIN_WAKE = 2
EXT0_WAKE = 2
EXT1_WAKE = 3
TIMER_WAKE = 4
TOUCHPAD_WAKE = 5
ULP_WAKE = 6

_ENODEV = 19
_EOPNOTSUPP = 95

_state = {"wake_reason": 0, "ext0": None, "ext1": None, "freq": 160000000}


def _cfg():
    return vclock.CONFIG


def _clock():
    return vclock.CLOCK


def _world():
    return vworld.WORLD


# ---------------------------------------------------------------- functions

def reset_cause():
    return _cfg()["reset_cause"]


def wake_reason():
    return _state["wake_reason"]


def unique_id():
    return bytes.fromhex(_cfg()["mac"])


def freq(hz=None):
    if hz is None:
        return _state["freq"]
    if hz // 1000000 not in (20, 40, 80, 160, 240):
        raise ValueError("frequency must be 20MHz, 40MHz, 80Mhz, 160MHz or 240MHz")
    _state["freq"] = hz // 1000000 * 1000000


def idle():
    _clock().run_due()


def disable_irq():
    return 1


def enable_irq(state):
    pass


def _pin_wake_sources(kind):
    # [(gpio, level, reason)] armed for this kind of sleep
    out = []
    ext0 = _state["ext0"]
    if ext0 is not None:
        out.append((ext0[0], ext0[1], EXT0_WAKE))
    ext1 = _state["ext1"]
    if ext1 is not None:
        for g in ext1[0]:
            out.append((g, 1 if ext1[1] else 0, EXT1_WAKE))
    for p in _PinState.all.values():
        if p.wake is not None and (p.wake & kind):
            out.append((p.gpio, 1 if p.wake_level else 0, EXT0_WAKE))
    return out


def _first_wake(ms, kind):
    # (delay_ms, reason) of the first wake-up: timer or a pin reaching its level
    c = _clock()
    now = c.now_ms()
    until = now + ms if ms else None
    best = (ms, TIMER_WAKE) if ms else (None, 0)
    for g, level, reason in _pin_wake_sources(kind):
        t = _world().first_level_after(g, level, now, until)
        if t is not None and (best[0] is None or t - now < best[0]):
            best = (t - now, reason)
    return best


def lightsleep(time_ms=0):
    c = _clock()
    delay, reason = _first_wake(time_ms, SLEEP)
    if delay is None:
        delay = 3600 * 1000 * 24 * 365  # nothing can wake it: a year
        reason = 0
    c.skip_to(c.now_us() + delay * 1000)
    _state["wake_reason"] = reason


sleep = lightsleep


def deepsleep(time_ms=0):
    delay, reason = _first_wake(time_ms, DEEPSLEEP)
    _emit("deepsleep %d %d %d" % (_clock().now_ms(), -1 if delay is None else delay, reason))
    _halt()


def reset():
    _emit("reset %d" % _clock().now_ms())
    _halt()


def soft_reset():
    raise SystemExit


# ---------------------------------------------------------------- Pin

_GPIOS = {
    "esp32": set(list(range(0, 6)) + list(range(12, 20)) + [21, 22, 23, 25, 26, 27] + list(range(32, 40))),
    "esp32s3": set(list(range(0, 22)) + list(range(26, 49))),
}


class _PinState:
    all = {}

    def __init__(self, gpio):
        self.gpio = gpio
        self.mode = None
        self.pull = None
        self.out = 0
        self.handler = None
        self.trigger = 0
        self.wake = None
        self.wake_level = 0
        self.last = None
        self.obj = None


def _pin_state(gpio):
    st = _PinState.all.get(gpio)
    if st is None:
        st = _PinState.all[gpio] = _PinState(gpio)
    return st


def _pin_level(st):
    if st.mode == Pin.OUT:
        return st.out
    if st.mode == Pin.OPEN_DRAIN and st.out == 0:
        return 0
    ext = _world().pin_level(st.gpio)
    if ext is not None:
        return 1 if ext else 0
    return 1 if st.pull == Pin.PULL_UP else 0


def _on_world_change(gpio):
    st = _PinState.all.get(gpio)
    if st is not None:
        _check_edge(st)


def _check_edge(st):
    level = _pin_level(st)
    last = st.last
    st.last = level
    if st.handler is None or last is None or level == last:
        return
    if (level and st.trigger & Pin.IRQ_RISING) or (not level and st.trigger & Pin.IRQ_FALLING):
        st.handler(st.obj)


class _PinIRQ:
    def __init__(self, st):
        self._st = st

    def trigger(self):
        return self._st.trigger

    def flags(self):
        return 0


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_DOWN = 1
    PULL_UP = 2
    IRQ_RISING = 1
    IRQ_FALLING = 2
    WAKE_LOW = 4
    WAKE_HIGH = 5
    DRIVE_0 = 0
    DRIVE_1 = 1
    DRIVE_2 = 2
    DRIVE_3 = 3

    def __init__(self, id, mode=-1, pull=-1, *, value=None, drive=None, hold=None):
        if isinstance(id, Pin):
            id = id._id
        chip = _cfg().get("chip", "esp32")
        if not isinstance(id, int) or id not in _GPIOS.get(chip, _GPIOS["esp32"]):
            raise ValueError("invalid pin")
        self._id = id
        self._st = _pin_state(id)
        self._st.obj = self
        self.init(mode, pull, value=value, drive=drive, hold=hold)

    def init(self, mode=-1, pull=-1, *, value=None, drive=None, hold=None):
        st = self._st
        if value is not None:
            self._set(value)
        if mode != -1 and mode is not None:
            if mode in (Pin.OUT, Pin.OPEN_DRAIN) and 34 <= self._id <= 39 and _cfg().get("chip", "esp32") == "esp32":
                raise ValueError("pin can only be input")
            st.mode = mode
        if pull != -1:
            st.pull = pull
        st.last = _pin_level(st)

    def _set(self, v):
        st = self._st
        v = 1 if v else 0
        if v != st.out:
            st.out = v
            if st.mode in (Pin.OUT, Pin.OPEN_DRAIN):
                _emit("pin %d %d %d" % (self._id, v, _clock().now_ms()))
        _check_edge(st)

    def value(self, x=None):
        if x is None:
            _clock().poll()
            return _pin_level(self._st)
        self._set(x)

    def __call__(self, x=None):
        return self.value(x)

    def on(self):
        self._set(1)

    def off(self):
        self._set(0)

    def toggle(self):
        self._set(not self._st.out)

    def irq(self, handler=None, trigger=IRQ_FALLING | IRQ_RISING, *, priority=1, wake=None, hard=False):
        st = self._st
        st.handler = handler
        st.trigger = trigger
        if wake is not None:
            st.wake = wake
            st.wake_level = 1 if trigger & Pin.WAKE_HIGH == Pin.WAKE_HIGH else 0
        st.last = _pin_level(st)
        return _PinIRQ(st)

    def mode(self, mode=None):
        if mode is None:
            return self._st.mode
        self.init(mode)

    def pull(self, pull=None):
        if pull is None:
            return self._st.pull
        self.init(pull=pull)

    def drive(self, drive=None):
        if drive is None:
            return Pin.DRIVE_2
        return None

    def __repr__(self):
        return "Pin(%d)" % self._id


def _gpio(p):
    if isinstance(p, Pin):
        return p._id
    return int(p)


# ---------------------------------------------------------------- ADC

_ATTEN_FULL_MV = (950, 1250, 1750, 2450)  # calibrated span per attenuation (ESP32 docs)


class ADC:
    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3
    WIDTH_9BIT = 9
    WIDTH_10BIT = 10
    WIDTH_11BIT = 11
    WIDTH_12BIT = 12

    def __init__(self, id, *, sample_ns=None, atten=None):
        g = _gpio(id)
        if g not in (32, 33, 34, 35, 36, 37, 38, 39) and _cfg().get("chip", "esp32") == "esp32":
            raise ValueError("invalid pin")
        self._g = g
        self._atten = ADC.ATTN_0DB if atten is None else atten
        self._bits = 12

    def init(self, *, sample_ns=None, atten=None):
        if atten is not None:
            self._atten = atten

    def atten(self, atten):
        self._atten = atten

    def width(self, bits):
        if bits not in (9, 10, 11, 12):
            raise ValueError("invalid bit-width")
        self._bits = bits

    def block(self):
        return None

    def _mv(self):
        _clock().poll()
        mv = _world().adc_volts(self._g) * 1000
        full = _ATTEN_FULL_MV[self._atten]
        return 0 if mv < 0 else (full if mv > full else mv)

    def _raw12(self):
        return int(self._mv() * 4095 / _ATTEN_FULL_MV[self._atten] + 0.5)

    def read(self):
        return self._raw12() >> (12 - self._bits)

    def read_u16(self):
        r = self._raw12()
        return (r << 4) | (r >> 8)

    def read_uv(self):
        return int(self._mv() * 1000)

    def deinit(self):
        pass


# ---------------------------------------------------------------- I2C

class I2C:
    def __init__(self, id=-1, *, scl=None, sda=None, freq=400000, timeout=50000):
        bus = None
        for b in _cfg().get("i2c_buses", []):
            if id != -1 and b.get("id") == id:
                bus = b
            elif id == -1 and scl is not None and b.get("scl") == _gpio(scl) and b.get("sda") == _gpio(sda):
                bus = b
        if bus is None and id not in (0, 1, -1):
            raise ValueError("I2C(%s) doesn't exist" % id)
        self._key = bus["key"] if bus else "id%s" % id
        self._freq = freq

    def init(self, *, scl=None, sda=None, freq=400000, timeout=50000):
        self._freq = freq

    def deinit(self):
        pass

    def _dev(self, addr):
        # A chip the scenario took off the bus (its "missing" track) does not
        # acknowledge its address, as a real ESP32 reports: ENODEV.
        d = _world().i2c_bus(self._key).get(addr)
        if d is None or d.absent():
            raise OSError(_ENODEV)
        return d

    def scan(self):
        return sorted(a for a, d in _world().i2c_bus(self._key).items() if not d.absent())

    def writeto(self, addr, buf, stop=True):
        self._dev(addr).write(bytes(buf))
        return len(buf)

    def writevto(self, addr, vector, stop=True):
        data = b"".join(bytes(v) for v in vector)
        self._dev(addr).write(data)
        return len(data)

    def readfrom(self, addr, nbytes, stop=True):
        return self._dev(addr).read(nbytes)

    def readfrom_into(self, addr, buf, stop=True):
        data = self._dev(addr).read(len(buf))
        buf[:] = data

    def _mem(self, memaddr, addrsize):
        return memaddr.to_bytes(addrsize // 8, "big")

    def readfrom_mem(self, addr, memaddr, nbytes, *, addrsize=8):
        d = self._dev(addr)
        d.write(self._mem(memaddr, addrsize))
        return d.read(nbytes)

    def readfrom_mem_into(self, addr, memaddr, buf, *, addrsize=8):
        buf[:] = self.readfrom_mem(addr, memaddr, len(buf), addrsize=addrsize)

    def writeto_mem(self, addr, memaddr, buf, *, addrsize=8):
        self._dev(addr).write(self._mem(memaddr, addrsize) + bytes(buf))

    # bit-level primitives: not on the ESP32's hardware I2C
    def start(self):
        raise OSError(_EOPNOTSUPP)

    def stop(self):
        raise OSError(_EOPNOTSUPP)

    def readinto(self, buf, nack=True):
        raise OSError(_EOPNOTSUPP)

    def write(self, buf):
        raise OSError(_EOPNOTSUPP)


class SoftI2C(I2C):
    def __init__(self, scl, sda, *, freq=400000, timeout=50000):
        super().__init__(-1, scl=scl, sda=sda, freq=freq, timeout=timeout)


# ---------------------------------------------------------------- UART

class UART:
    INV_TX = 32
    INV_RX = 4
    INV_RTS = 64
    INV_CTS = 8
    RTS = 1
    CTS = 2
    IRQ_RX = 1
    IRQ_BREAK = 2
    IRQ_RXIDLE = 4096

    def __init__(self, id, baudrate=115200, bits=8, parity=None, stop=1, **kw):
        if id not in (0, 1, 2):
            raise ValueError("UART(%s) does not exist" % id)
        self._id = id
        self._f = None
        for u in _cfg().get("uarts", []):
            if u["id"] == id:
                self._f = _UART_FILES.get(u["name"])
        self._buf = bytearray()
        self._timeout = 0
        self._timeout_char = 0
        self.init(baudrate, bits, parity, stop, **kw)
        if self._f is not None:
            # A UART just opened to a host peer (a GNSS receiver streaming, a
            # modem about to answer): keep the next short sleeps in real time,
            # so the peer's bytes can arrive before virtual time runs past them.
            _clock().io_activity()

    def init(self, baudrate=115200, bits=8, parity=None, stop=1, *, tx=None, rx=None, rts=None, cts=None,
             txbuf=None, rxbuf=None, timeout=None, timeout_char=None, invert=None, flow=None):
        self._baud = baudrate
        if timeout is not None:
            self._timeout = timeout
        if timeout_char is not None:
            self._timeout_char = timeout_char
        self._rxbuf = rxbuf or 256

    def deinit(self):
        pass

    # The RX FIFO: what the peer sent, unread, in self._buf (a bytearray
    # consumed from the front in place). An ESP32's UART driver buffers in C;
    # here the FIFO lives in the VM's heap, so reads copy without making
    # objects the board would not make (read() returns a new bytes object,
    # as on the board; readinto() none), and the pty is read through one
    # buffer made at boot, not a bytes object per read.
    def _drain(self):
        if self._f is None:
            return
        while True:
            n = self._f.readinto(_RX_STAGE)
            if not n:
                return
            _clock().io_activity()
            self._buf.extend(memoryview(_RX_STAGE)[:n])

    def any(self):
        self._drain()
        return len(self._buf)

    def _wait(self, n):
        # wait (real time) up to the UART timeout for n bytes
        self._drain()
        if len(self._buf) >= n or not self._timeout:
            return
        c = _clock()
        end = c.now_us() + self._timeout * 1000
        while len(self._buf) < n and c.now_us() < end:
            c.sleep_us(1000)
            self._drain()

    def _take(self, n):
        out = bytes(memoryview(self._buf)[:n])
        self._buf[0:n] = b""
        return out

    def read(self, nbytes=None):
        self._wait(1 << 30 if nbytes is None else nbytes)
        if not self._buf:
            return None
        return self._take(len(self._buf) if nbytes is None else min(nbytes, len(self._buf)))

    def readinto(self, buf, nbytes=None):
        n = len(buf) if nbytes is None else min(nbytes, len(buf))
        self._wait(n)
        n = min(n, len(self._buf))
        if not n:
            return None
        buf[0:n] = memoryview(self._buf)[0:n]
        self._buf[0:n] = b""
        return n

    def readline(self):
        c = _clock()
        end = c.now_us() + self._timeout * 1000
        while True:
            self._drain()
            i = self._buf.find(b"\n")
            if i >= 0:
                return self._take(i + 1)
            if c.now_us() >= end:
                break
            c.sleep_us(1000)
        if not self._buf:
            return None
        return self._take(len(self._buf))

    def write(self, buf):
        if self._f is not None:
            self._f.write(buf)
            _clock().io_activity()
        return len(buf)

    def flush(self):
        pass

    def txdone(self):
        return True

    def sendbreak(self):
        pass

    def irq(self, handler=None, trigger=0, hard=False):
        return None

    def _vb_poll(self, mask):
        # for the virtual select: ready events now
        ev = 0
        if mask & 1 and self.any():
            ev |= 1
        if mask & 4:
            ev |= 4
        return ev

    # stream protocol used by asyncio.StreamReader/StreamWriter
    def ioctl(self, req, arg):
        return 0


_UART_FILES = {}
_RX_STAGE = bytearray(512)   # the pty read buffer of every UART (made at boot, outside a wake)


# ---------------------------------------------------------------- RTC

class RTC:
    def __init__(self, id=0, *, datetime=None):
        if datetime is not None:
            self.datetime(datetime)

    def init(self, datetime=None):
        if datetime is not None:
            self.datetime(datetime)

    def datetime(self, datetimetuple=None):
        import time
        c = _clock()
        if datetimetuple is None:
            us = c.rtc_us()
            t = time.gmtime(us // 1000000)
            return (t[0], t[1], t[2], t[6], t[3], t[4], t[5], us % 1000000)
        d = tuple(datetimetuple) + (0,) * (8 - len(datetimetuple))
        secs = time.mktime((d[0], d[1], d[2], d[4], d[5], d[6], 0, 0))
        c.set_rtc_us(secs * 1000000 + d[7])

    def memory(self, data=None):
        if data is None:
            return _RTCMEM[0]
        data = bytes(data)
        if len(data) > 2048:
            raise ValueError("buffer too long")
        _RTCMEM[0] = data
        _emit("rtcmem " + data.hex())


_RTCMEM = [b""]


# ---------------------------------------------------------------- WDT

class WDT:
    def __init__(self, *, id=0, timeout=5000):
        if timeout <= 0:
            raise ValueError("WDT timeout too short")
        _clock().wdt_start(timeout)

    def feed(self):
        _clock().wdt_feed()


# ---------------------------------------------------------------- Timer

class Timer:
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id, **kw):
        self._id = id
        self._due = None
        if kw:
            self.init(**kw)

    def init(self, *, mode=PERIODIC, period=-1, freq=-1, callback=None):
        if freq > 0:
            period = 1000 // freq
        self._mode = mode
        self._period = max(1, period)
        self._cb = callback
        self._due = _clock().now_us() + self._period * 1000
        _clock().add_source(self)

    def deinit(self):
        self._due = None
        _clock().remove_source(self)

    def value(self):
        if self._due is None:
            return 0
        return max(0, (self._due - _clock().now_us()) // 1000)

    def _vb_due(self):
        return self._due

    def _vb_fire(self, t_us):
        if self._mode == Timer.PERIODIC:
            self._due = t_us + self._period * 1000
        else:
            self.deinit()
        _clock().changed()
        if self._cb is not None:
            self._cb(self)


def _setup(cfg):
    _state["wake_reason"] = cfg.get("wake_reason", 0)
    _RTCMEM[0] = bytes.fromhex(cfg.get("rtc_memory", ""))
    vworld.WORLD.listeners.append(_on_world_change)
    # The board's hardware exists before boot.py, outside the firmware's heap,
    # as on an ESP32: every GPIO's state (a register file and the port's static
    # IRQ table there) and the chips on each I2C bus. Made here, not on first
    # use, so a wake's heap figure does not count the board as firmware data.
    for g in _GPIOS.get(cfg.get("chip", "esp32"), _GPIOS["esp32"]):
        _pin_state(g)
    for bus in cfg.get("world", {}).get("i2c", {}):
        vworld.WORLD.i2c_bus(bus)
    for u in cfg.get("uarts", []):
        _UART_FILES[u["name"]] = open(u["vm_path"], "r+b")
