# Digital inputs that count events: a PIR module's output, an IR break-beam
# receiver, a door reed switch. Edges are caught by a pin interrupt; an edge
# into the active level is an event when the last counted one is at least
# `debounce_ms` old (a PIR module holds its output for a few seconds and
# retriggers; a beam flickers as a tail passes through it).
#
# The handler stores no objects (only integers), so it may run as a hard
# interrupt on the ESP32. The pin is made by the caller with its pull.
#
# Deep sleep: the ESP32's ext0 wake-up is level-triggered, so arm_wake() arms
# it for the level opposite to the pin's level now: the next change wakes the
# board, never the level it is already at (that would wake it at once, again
# and again). The application counts a wake into the active level as an event.
import time

import machine

from sensors import arm

try:
    import esp32
except ImportError:   # CPython tests
    esp32 = None


class EdgeCounter:
    def __init__(self, pin, active_high=True, debounce_ms=2000):
        self.pin = pin
        self.active = 1 if active_high else 0
        self.debounce_ms = debounce_ms
        self.count = 0
        self.last = None            # ticks_ms of the last counted event
        trigger = machine.Pin.IRQ_RISING if active_high else machine.Pin.IRQ_FALLING
        arm(pin, self._edge, trigger)

    def _edge(self, pin):
        now = time.ticks_ms()
        if self.last is None or time.ticks_diff(now, self.last) >= self.debounce_ms:
            self.count += 1
            self.last = now

    def take(self):
        # Events since the last take().
        n = self.count
        self.count = 0
        return n

    def active_now(self):
        return self.pin.value() == self.active

    def arm_wake(self):
        # ext0 wake-up on the level the pin is not at now (RTC GPIOs only).
        if esp32 is not None:
            esp32.wake_on_ext0(self.pin, esp32.WAKEUP_ALL_LOW if self.pin.value() else esp32.WAKEUP_ANY_HIGH)


def woke_by_pin():
    # True when this boot is a deep-sleep wake caused by an ext0/ext1 pin.
    return machine.reset_cause() == machine.DEEPSLEEP_RESET and machine.wake_reason() in (2, 3)


class PeopleCounter:
    # Two IR beams across a doorway, `outer` on the corridor side and `inner`
    # on the room side, both active when broken. A person walking in breaks
    # outer, then inner (both broken for a moment), then clears outer, then
    # inner; walking out is the reverse. The direction is taken from which
    # beam broke first, and a passage counts when both beams have cleared
    # after both were broken; a break of one beam alone (a hand, a bag) counts
    # nothing. Handlers keep only small integers.
    def __init__(self, outer, inner, active_high=False):
        self.outer = outer
        self.inner = inner
        self.active = 1 if active_high else 0
        self.first = 0          # 0 none, 1 outer first, 2 inner first
        self.both = False
        self.entered = 0
        self.left = 0
        trig = machine.Pin.IRQ_RISING | machine.Pin.IRQ_FALLING
        arm(outer, self._edge, trig)
        arm(inner, self._edge, trig)

    def _edge(self, pin):
        o = self.outer.value() == self.active
        i = self.inner.value() == self.active
        if self.first == 0:
            if o and not i:
                self.first = 1
            elif i and not o:
                self.first = 2
        if o and i:
            self.both = True
        if not o and not i:
            if self.both:
                if self.first == 1:
                    self.entered += 1
                elif self.first == 2:
                    self.left += 1
            self.first = 0
            self.both = False

    def take(self):
        # (in, out) since the last take().
        r = (self.entered, self.left)
        self.entered = 0
        self.left = 0
        return r


class LeakProbe:
    # A conductivity probe: two electrodes on the floor, one pulled up through
    # a resistor to 3.3 V and read by the ADC, the other to ground. Dry, the
    # input sits near the rail; water between the electrodes pulls it down.
    # wet() compares the voltage with `wet_below_v`.
    def __init__(self, adc, wet_below_v=1.5):
        self.adc = adc
        self.wet_below_v = wet_below_v

    def volts(self):
        return self.adc.read_uv() / 1000000

    def wet(self):
        return self.volts() < self.wet_below_v
