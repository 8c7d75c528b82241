# A wake's cooperative tasks, without asyncio. A wake runs one coroutine (the
# cycle: read, decide, send) beside the watchdog's feeder, and a sensor
# waits by awaiting sleep_ms(); that is all of asyncio the firmware used,
# and asyncio cost every wake about 4 KB of heap for its own functions and
# classes plus its loop, task queue, poller and tasks (bench.runtime), where
# this module is one class and two functions.
#
# A coroutine here may await only sleep_ms() (directly or through other
# coroutines): it hands the runner a number of milliseconds and the runner
# steps it again once they are over. Anything else it awaits (an asyncio
# primitive) is refused with a TypeError rather than left to hang.
import time


class _Sleep:
    # What sleep_ms() returns: awaiting it yields its milliseconds to run()
    # once, then ends. One instance serves every sleep (no allocation per
    # wait): run() takes the value at once, before any other task runs.
    # MicroPython awaits through __iter__, CPython through __await__.
    def __init__(self):
        self.ms = None
        self.done = StopIteration()

    def __iter__(self):
        return self

    __await__ = __iter__

    def __next__(self):
        ms = self.ms
        if ms is None:
            self.done.__traceback__ = None
            raise self.done
        self.ms = None
        return ms


_SLEEP = _Sleep()


def sleep_ms(ms):
    # Awaitable: this task sleeps ms milliseconds; 0 lets the other tasks run first.
    _SLEEP.ms = max(0, int(ms))
    return _SLEEP


def run(main, *others):
    # Run coroutine main to its end beside the coroutines in others (each
    # stepped whenever its sleep is over; closed when main ends or raises) and
    # return main's result. An exception out of any of them ends the run.
    tasks = [[main, time.ticks_ms()]] + [[c, time.ticks_ms()] for c in others]
    try:
        while True:
            now = time.ticks_ms()
            wait = None
            for t in tasks:
                if t[1] is None:
                    continue
                left = time.ticks_diff(t[1], now)
                if left > 0:
                    wait = left if wait is None else min(wait, left)
                    continue
                try:
                    ms = t[0].send(None)
                except StopIteration as e:
                    if t[0] is main:
                        return e.value
                    t[1] = None   # a background task that ended
                    continue
                if not isinstance(ms, int):
                    raise TypeError("a task awaited something other than runtime.tasks.sleep_ms")
                t[1] = time.ticks_add(time.ticks_ms(), ms)
                wait = 0
            if wait:
                time.sleep_ms(wait)
    finally:
        for c in others:
            c.close()
