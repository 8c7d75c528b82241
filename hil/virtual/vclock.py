# Virtual clock, control channel and world state of the virtual board (runs in
# the MicroPython VM). Time is real elapsed time plus time skipped by sleeps:
# a sleep longer than the real-time threshold returns at once and moves the
# clock on, stopping at every scenario event on the way so that pin changes,
# IRQ handlers, timers and the watchdog happen at their virtual instant.
import sys
import time as _rt

_TICKS_PERIOD = 1 << 30  # ESP32: ticks wrap at 2**30, like every 32-bit port
TICKS_MAX = _TICKS_PERIOD - 1
TICKS_HALF = _TICKS_PERIOD // 2


KBD_PENDING = [False]  # a Ctrl-C that arrived inside a flash operation


def _kbd_flag():
    # The supervisor's Ctrl-C flag (hil/vm.py _KBD_MAP says why), or None.
    import os
    addr = os.getenv("VBOARD_KBD")
    if not addr:
        return None
    import uctypes
    return uctypes.bytearray_at(int(addr), 1)


KBD_FLAG = _kbd_flag()
BALLAST = []  # heap held from the firmware (_vboot.py: VirtualBoard(free_heap=...))


def _deliver_kbd():
    if KBD_FLAG is not None and KBD_FLAG[0]:
        KBD_FLAG[0] = 0
        KBD_PENDING[0] = True
    if KBD_PENDING[0]:
        KBD_PENDING[0] = False
        raise KeyboardInterrupt


def emit(msg):
    # In-band control message to the supervisor; it strips them from the console.
    sys.stdout.write("\x1b]vb;" + msg + "\x07")


def halt():
    # The supervisor kills the VM on the message just sent; never return.
    while True:
        try:
            _rt.sleep(1)
        except BaseException:
            pass


class Clock:
    def __init__(self, cfg):
        self.world0 = cfg["world_ms"] * 1000  # virtual us since 2000-01-01 at VM start
        self.real0 = _rt.ticks_us()
        self.skipped = 0
        self.realtime_us = cfg.get("realtime_ms", 10) * 1000
        self.hot_us = cfg.get("io_hot_ms", 2000) * 1000
        self.hot_max_us = cfg.get("io_hot_sleep_ms", 1000) * 1000
        self.io_last = None
        self.sources = []  # objects with _vb_due() -> us or None, and _vb_fire(us)
        self.boot_us = self.now_us()
        self.rtc_offset = cfg.get("rtc_offset_ms", 0) * 1000
        self.wdt_timeout = 0
        self.wdt_deadline = None
        self.wdt_emitted = None
        self.wake = None  # set by a wake source to end a lightsleep early
        self._due = None
        self._in_due = False

    def now_us(self):
        return self.world0 + _rt.ticks_diff(_rt.ticks_us(), self.real0) + self.skipped

    def now_ms(self):
        return self.now_us() // 1000

    def since_boot_us(self):
        return self.now_us() - self.boot_us

    def rtc_us(self):
        return self.now_us() + self.rtc_offset

    def set_rtc_us(self, us):
        self.rtc_offset = us - self.now_us()
        emit("rtcoff %d" % (self.rtc_offset // 1000))

    # -- I/O activity: keeps short sleeps in real time so host peers can answer
    def io_activity(self):
        self.io_last = _rt.ticks_ms()

    def io_hot(self):
        return self.io_last is not None and _rt.ticks_diff(_rt.ticks_ms(), self.io_last) < self.hot_us // 1000

    # -- scheduled sources
    def add_source(self, src):
        if src not in self.sources:
            self.sources.append(src)
        self._due = None

    def remove_source(self, src):
        if src in self.sources:
            self.sources.remove(src)
        self._due = None

    def changed(self):
        self._due = None

    def _vb_due(self):
        if self._due is None:
            due = self.wdt_deadline
            for s in self.sources:
                d = s._vb_due()
                if d is not None and (due is None or d < due):
                    due = d
            self._due = due if due is not None else -1
        return None if self._due < 0 else self._due

    def poll(self):
        # Cheap check from hot paths (ticks_ms, pin reads): run what is due.
        _deliver_kbd()
        d = self._vb_due()
        if d is not None and d <= self.now_us():
            self.run_due()

    def run_due(self):
        _deliver_kbd()
        if self._in_due:
            return
        self._in_due = True
        try:
            while True:
                now = self.now_us()
                if self.wdt_deadline is not None and now >= self.wdt_deadline:
                    self.skipped -= now - self.wdt_deadline  # the reset happens at the deadline
                    emit("wdt %d" % (self.wdt_deadline // 1000))
                    halt()
                fired = False
                for s in list(self.sources):
                    d = s._vb_due()
                    if d is not None and d <= now:
                        self._due = None
                        s._vb_fire(d)
                        fired = True
                self._due = None
                if not fired:
                    return
        finally:
            self._in_due = False

    # -- sleeping
    def sleep_us(self, us, skip=False):
        if us <= 0:
            self.run_due()
            return
        if not skip and (us <= self.realtime_us or (us <= self.hot_max_us and self.io_hot())):
            end = self.now_us() + us
            while True:
                self.run_due()
                rem = end - self.now_us()
                if rem <= 0:
                    return
                d = self._vb_due()
                if d is not None and d - self.now_us() < rem:
                    rem = max(0, d - self.now_us())
                _rt.sleep_us(rem)
        self.skip_to(self.now_us() + us)

    def skip_to(self, end, wake_early=False):
        total = 0
        self.wake = None
        while True:
            self.run_due()
            now = self.now_us()
            if now >= end or (wake_early and self.wake is not None):
                break
            d = self._vb_due()
            target = end if d is None or d > end else d
            if target > now:
                self.skipped += target - now
                total += target - now
        if total:
            emit("skip %d" % (total // 1000))
            self.wdt_sync(True)

    # -- watchdog (machine.WDT): expiry resets the board at the virtual deadline
    def wdt_start(self, timeout_ms):
        self.wdt_timeout = timeout_ms * 1000
        self.wdt_feed()

    def wdt_feed(self):
        if not self.wdt_timeout:
            return
        self.wdt_deadline = self.now_us() + self.wdt_timeout
        self._due = None
        self.wdt_sync(False)

    def wdt_sync(self, force):
        # Tell the supervisor the deadline in real time, so a hung (busy) program
        # is reset too; rate-limited to one message per 1/16 of the timeout.
        if self.wdt_deadline is None:
            return
        real = _rt.ticks_ms()
        if not force and self.wdt_emitted is not None and \
                _rt.ticks_diff(real, self.wdt_emitted) < self.wdt_timeout // 16000:
            return
        self.wdt_emitted = real
        emit("wdtdue %d %d" % ((self.wdt_deadline - self.now_us()) // 1000, self.wdt_timeout // 1000))


CLOCK = None
CONFIG = None
