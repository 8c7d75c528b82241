"""sensors.arm / sensors.disarm: under deep sleep the runtime takes off, once
the profile has decided, every pin interrupt a driver set, so the drivers
(held by the pins through their handlers) go before the send."""

DISARM = """
import sys
sys.path.insert(0, "firmware")
calls = []
class Pin:
    IRQ_RISING = 1
    IRQ_FALLING = 2
    IN = 1
    def __init__(self, gpio, *args):
        self.gpio = gpio
    def irq(self, handler=None, trigger=3):
        calls.append((self.gpio, handler is None, trigger if handler else 0))
    def value(self):
        return 0
class machine:
    Pin = Pin
sys.modules["machine"] = machine
import sensors
from sensors.digital import EdgeCounter, PeopleCounter
from sensors.button import Button
EdgeCounter(Pin(27), True, 100)
PeopleCounter(Pin(25), Pin(26), True)
Button(Pin(38))
print("ARMED", sorted(calls))
calls.clear()
sensors.disarm()
print("DISARMED", sorted(calls))
calls.clear()
sensors.disarm()
print("AGAIN", calls)
"""


def test_every_interrupt_a_driver_set_is_taken_off_once(micropython):
    out = micropython.run(DISARM)
    armed = eval(out.split("ARMED ")[1].splitlines()[0])
    assert [(g, cleared) for g, cleared, _ in armed] == [(25, False), (26, False), (27, False), (38, False)]
    assert all(trigger for _, _, trigger in armed)
    assert eval(out.split("DISARMED ")[1].splitlines()[0]) == [(25, True, 0), (26, True, 0), (27, True, 0),
                                                              (38, True, 0)]
    assert out.split("AGAIN ")[1].strip() == "[]"
