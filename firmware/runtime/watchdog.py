# The hardware watchdog, fed by the scheduler's progress rather than by a timer:
# the feeding task feeds only when some step of the cycle has moved on since
# the last feed. A task that hangs (awaits forever, or spins without yielding)
# stops the progress, the watchdog is not fed, and the board resets with
# reset_cause() == WDT_RESET, which the next status frame reports.
from runtime.tasks import sleep_ms

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_CHECKS_PER_TIMEOUT = const(4)


class Watchdog:
    def __init__(self, wdt, timeout_ms):
        self.wdt = wdt
        self.timeout_ms = timeout_ms
        self.moved = True
        self.step = None

    def progress(self, step):
        # Called by the scheduler (and by long-running profile steps) as work advances.
        self.step = step
        self.moved = True

    def feed_now(self):
        # Before a sleep the board is known to be well: feed directly.
        if self.wdt is not None:
            self.wdt.feed()

    async def run(self):
        period = self.timeout_ms // _CHECKS_PER_TIMEOUT
        while True:
            if self.moved and self.wdt is not None:
                self.wdt.feed()
            self.moved = False
            await sleep_ms(period)
