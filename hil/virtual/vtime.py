# The virtual board's `time` module: the ESP32 port's API over the virtual clock.
# Epoch 2000-01-01 (the embedded ports' epoch); ticks wrap at 2**30 as on ESP32.
import time as _rt
import vclock

_UNIX_2000 = 946684800


def _c():
    return vclock.CLOCK


def sleep(seconds):
    _c().sleep_us(int(seconds * 1000000))


def sleep_ms(ms):
    _c().sleep_us(int(ms) * 1000)


def sleep_us(us):
    _c().sleep_us(int(us))


def ticks_ms():
    c = _c()
    c.poll()
    return (c.since_boot_us() // 1000) & vclock.TICKS_MAX


def ticks_us():
    c = _c()
    c.poll()
    return c.since_boot_us() & vclock.TICKS_MAX


def ticks_cpu():
    return ticks_us()


def ticks_add(ticks, delta):
    return (ticks + delta) & vclock.TICKS_MAX


def ticks_diff(ticks1, ticks2):
    return ((ticks1 - ticks2 + vclock.TICKS_HALF) & vclock.TICKS_MAX) - vclock.TICKS_HALF


def time():
    return _c().rtc_us() // 1000000


def time_ns():
    return _c().rtc_us() * 1000


def gmtime(secs=None):
    if secs is None:
        secs = time()
    return _rt.gmtime(int(secs) + _UNIX_2000)


localtime = gmtime  # no time zones on the board


def mktime(t):
    # the VM runs with TZ=UTC, so the host's mktime is timegm
    return _rt.mktime(t) - _UNIX_2000
