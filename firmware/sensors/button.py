# A push button on a GPIO (the hiker's SOS button): edges caught by a pin
# interrupt, debounced, and a long press told from a short one.
#
# A mechanical switch bounces for a few milliseconds when it closes and opens:
# edges closer than `debounce_ms` to the last accepted edge are ignored. A
# long press is the button held for `long_ms` without a release, so a bump in
# a rucksack never raises an SOS.
#
# The IRQ handler only stores ticks (no allocation): on the ESP32 it may run
# as a hard interrupt. The pin is passed in, configured by the caller
# (machine.Pin(gpio, Pin.IN, pull)), with its active level.
import time

import machine

from runtime.tasks import sleep_ms
from sensors import arm

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_POLL_MS = const(20)


class Button:
    def __init__(self, pin, active_low=True, debounce_ms=50, long_ms=2000):
        self.pin = pin
        self.active = 0 if active_low else 1
        self.debounce_ms = debounce_ms
        self.long_ms = long_ms
        self.down_at = None       # ticks_ms of the accepted press, None while released
        self.last_edge = None     # ticks_ms of the last accepted edge
        self.presses = 0          # accepted presses since start
        self.long_presses = 0     # long presses taken by wait_long()
        if self.is_down():
            self.down_at = time.ticks_ms()
        arm(pin, self._edge, machine.Pin.IRQ_FALLING | machine.Pin.IRQ_RISING)

    def is_down(self):
        return self.pin.value() == self.active

    def _edge(self, pin):
        now = time.ticks_ms()
        if self.last_edge is not None and time.ticks_diff(now, self.last_edge) < self.debounce_ms:
            return   # bounce
        down = self.pin.value() == self.active
        if down and self.down_at is None:
            self.down_at = now
            self.presses += 1
            self.last_edge = now
        elif not down and self.down_at is not None:
            self.down_at = None
            self.last_edge = now

    def pressed_since_ms(self, held_before_ms=0):
        # How long the button has been held now (debounced), or -1 when it is up.
        # held_before_ms: time it was already down before this boot saw it (a
        # press that woke the board from deep sleep).
        if self.down_at is None:
            if not self.is_down():
                return -1
            self.down_at = time.ticks_ms()   # an edge missed (e.g. before the IRQ was armed)
        return time.ticks_diff(time.ticks_ms(), self.down_at) + held_before_ms

    async def wait_long(self, progress=None, held_before_ms=0):
        # True once the button has been held long_ms; False as soon as it is
        # released (or when it is not down at all). Polls every 20 ms, so a
        # release shorter than the debounce time does not end the press.
        released_at = None
        while True:
            held = self.pressed_since_ms(held_before_ms)
            if held < 0 or not self.is_down():
                if released_at is None:
                    released_at = time.ticks_ms()
                elif time.ticks_diff(time.ticks_ms(), released_at) >= self.debounce_ms:
                    self.down_at = None
                    return False
            else:
                released_at = None
                if held >= self.long_ms:
                    self.long_presses += 1
                    return True
            if progress is not None:
                progress("button")
            await sleep_ms(_POLL_MS)
