# Boot to sleep: read the board and config, count the boot, pick the profile,
# run one scheduler cycle, sleep. Never crash-loops:
#   - no valid identity in config.json: unprovisioned mode, which sends status
#     frames and waits for a technician, with no watchdog running (so the
#     REPL stays usable) and light sleeps only (so USB stays up);
#   - an exception anywhere: logged, then the board sleeps its interval and
#     tries again, as it would after a good cycle;
#   - MAX_STREAK boots in a row that did not finish a cycle (a hang the
#     watchdog cut short, a crash): one safe cycle without the profile, which
#     sends status frames, then the profile gets another chance.
import sys
import time

import machine

from runtime import board as boardfile
from runtime import state
from runtime.log import Log
from runtime.modules import forget
from runtime import profile as profiles
from runtime.scheduler import Scheduler, WDT_TIMEOUT_MS

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

MAX_STREAK = const(3)
UNPROVISIONED_INTERVAL_S = const(60)
_LIGHT_CHUNK_MS = const(10000)   # light sleeps are cut into chunks to feed the watchdog between them


class App:
    def __init__(self):
        self.log = Log()
        self.board = boardfile.load()
        self.rtc = machine.RTC()
        self.reset_cause = machine.reset_cause()
        self.wake = state.WakeState.load(self.rtc)
        if self.reset_cause == machine.DEEPSLEEP_RESET:
            self.boot_count = state.read_boot_count()
        else:
            self.boot_count = state.count_boot()
            self.wake.uptime_ms = 0
            self.wake.status_in = 0
            self.log.info("boot %d, reset cause %d" % (self.boot_count, self.reset_cause))
        self.wake.streak += 1
        self.save_wake()
        from runtime import config as configfile
        self.config, problems, self.provisioned = configfile.load(self.board)
        for p in problems:
            self.log.error("config: " + p)
        if self.config["sleep"] == "deep":
            # read once per boot: its checks leave their heap to the cycle
            # (a config or setting downlink imports it again)
            configfile = None
            forget("runtime.config")
        self.queue = None       # and the transport: open_send()
        self.transport = None
        self.wdt = None
        self.sensors = None
        self.profile = None
        self.reboot_in = None   # seconds, when a reboot downlink asked for one

    def release_profile(self):
        # Under deep sleep, once the profile has decided and its state is
        # saved (runtime/scheduler.py), the profile, its sensors and its
        # module go before the send, whose peak then holds none of them. A
        # downlink loads it again (loaded_profile). Safe mode's status-only
        # pair stays. Edges after the read count for nothing under deep sleep,
        # so the pins' interrupts go too (sensors.disarm), and with them the
        # drivers they held; then the drivers' package and what is left of
        # their modules (the interrupt counters') go as well.
        module = type(self.profile).__module__ if self.profile is not None else ""
        if self.config["sleep"] != "deep" or not module.startswith("apps."):
            return
        drivers = sys.modules.get("sensors")
        if drivers is not None:
            drivers.disarm()
        self.sensors = self.profile = drivers = None
        for name in [m for m in sys.modules if m.startswith(("apps", "sensors"))]:
            forget(name)

    def loaded_profile(self):
        # The profile and its sensors, loaded from the saved state when first
        # asked for: by each cycle's read (runtime/scheduler.py), and by a
        # downlink once release_profile let them go. Loaded there, not in
        # run(): a frame that lives through the whole wake (run's) would keep
        # stale pointers to them (MicroPython's collector scans the stack
        # conservatively), and with them the profile's module, through the send.
        if self.profile is None:
            self.sensors, self.profile = profiles.load(self.config["profile"], self.board, self.config,
                                                       self.wake.profile, self.log)
        return self.profile

    def open_send(self):
        # The queue and the transport, made when the first frame is ready to
        # queue: after the sensors' read (runtime/scheduler.py says why). Light
        # sleep keeps them from cycle to cycle.
        if self.queue is None:
            import gc
            gc.collect()   # the read's garbage gone first: the send path's modules find whole holes
            # the codec's code first, into the holes the profile left, then
            # the queue's and the transport's data
            from protocols import frames   # noqa: F401
            from runtime import status     # noqa: F401
            from runtime.queue import FlashQueue
            from runtime import transport as transports
            self.queue = FlashQueue("queue", max_segments=self.config["queue_segments"])
            self.transport = transports.select(self)

    def feed(self):
        # Long radio waits (receive windows, join accept) feed the watchdog
        # themselves: they are bounded by the modem driver's timeouts.
        if self.wdt is not None:
            self.wdt.feed()

    def uptime_ms(self):
        return self.wake.uptime_ms + time.ticks_ms()

    def save_wake(self):
        try:
            self.wake.save(self.rtc)
        except state.StateTooBig as e:
            self.log.error(str(e))

    def run(self):
        if not self.provisioned:
            self.unprovisioned()
        if not self.board:
            self.log.error("no board.json: pins unknown")
        safe = self.wake.streak > MAX_STREAK
        if safe:
            self.log.error("safe mode: %d boots without a finished cycle" % (self.wake.streak - 1))
        self.wdt = machine.WDT(timeout=WDT_TIMEOUT_MS)
        scheduler = Scheduler(self)
        if safe:
            self.sensors, self.profile = profiles.Sensors(self.board, self.config), profiles.Profile(self.config)
        elif self.reset_cause != machine.DEEPSLEEP_RESET:
            self.wake.profile = None   # a reset starts the profile afresh (loaded_profile)
        while True:
            started = time.ticks_ms()
            scheduler.run_cycle()
            self.save_wake()
            if self.reboot_in is not None:
                self.reboot()
            awake = time.ticks_diff(time.ticks_ms(), started)
            self.rest(max(self.config["interval"] * 1000 - awake, 1000))

    def rest(self, ms):
        # Sleep until the next cycle. Deep sleep ends this boot (the board
        # starts again from boot.py); light sleep returns here.
        if self.config["sleep"] == "deep":
            self.wake.uptime_ms = self.uptime_ms() + ms
            self.save_wake()
            machine.deepsleep(ms)
        while ms > 0:
            chunk = min(ms, _LIGHT_CHUNK_MS)
            if self.wdt is not None:
                self.wdt.feed()
            machine.lightsleep(chunk)
            ms -= chunk

    def reboot(self):
        # A reboot downlink: after its delay, a full restart (the cycle's
        # frames, the acknowledgement among them, have gone out already).
        self.log.info("reboot requested by the network, in %d s" % self.reboot_in)
        ms = self.reboot_in * 1000
        while ms > 0:
            chunk = min(ms, _LIGHT_CHUNK_MS)
            self.feed()
            time.sleep_ms(chunk)
            ms -= chunk
        machine.reset()

    def unprovisioned(self):
        # Status frames every minute until a config with a valid identity
        # appears (written over USB by a technician), then a reset into it.
        from runtime import config as configfile
        scheduler = Scheduler(self)
        while True:
            print("unprovisioned: waiting for provisioning (config.json)")
            scheduler.send_status()
            scheduler.run_transmit()
            self.wake.streak = 0
            self.save_wake()
            time.sleep(UNPROVISIONED_INTERVAL_S)
            if configfile.load(self.board)[2]:
                self.log.info("provisioned: restarting")
                machine.reset()


def main():
    app = None
    try:
        app = App()
        app.run()
    except KeyboardInterrupt:
        raise   # Ctrl-C from the USB console: leave to the REPL
    except Exception as e:
        sys.print_exception(e)
        if app is not None:
            app.log.error("cycle failed: %r" % (e,))
        _rest_after_failure(app)


def _rest_after_failure(app):
    # Whatever failed, the board waits its interval (a minute if even the
    # config is unknown) before trying again: no tight crash loop.
    if app is not None and app.provisioned:
        app.rest(app.config["interval"] * 1000)
    else:
        time.sleep(UNPROVISIONED_INTERVAL_S)
    machine.reset()
