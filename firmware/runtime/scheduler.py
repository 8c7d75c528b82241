# One wake of the board: sample, let the profile decide, queue the frames,
# send what the transport takes, then sleep. Runs as a task of runtime/tasks.py
# beside the watchdog's feeder, which feeds only while the cycle's steps move on.
#
# On a deep-sleep wake the send path (the frame codec, the status frames,
# the queue, the transport and its radio) is imported after the sensors'
# read: the drivers have let their modules go by then, and the profile lets
# its own go once it has decided (App.release_profile; a downlink loads it
# again), so the read's peak holds none of the send path's code and the
# send's none of the profile's.
# The frames still queue in the order they always had: status first, then
# the profile's.
import time

import machine

from runtime import tasks
from runtime.watchdog import Watchdog

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_SEND_BATCH = const(8)
WDT_TIMEOUT_MS = const(30000)


class Scheduler:
    def __init__(self, ctx):
        # ctx: the App (config, board, queue, transport, log, wake state, reset cause).
        self.ctx = ctx
        self.watchdog = Watchdog(ctx.wdt, WDT_TIMEOUT_MS)
        self.cycles = 0   # cycles run by this scheduler (light sleep keeps it between cycles)

    def progress(self, step):
        self.watchdog.progress(step)

    def enqueue(self, kind, fields, raw=False):
        # Encode and queue one frame; a frame the schema refuses is logged, never sent half-made.
        # raw: the numbers are whole steps of each field (a position in 1e-5 degree), no float.
        from protocols import frames as wire
        ctx = self.ctx
        ctx.open_send()
        try:
            data = wire.encode(kind, fields, raw)
        except wire.FrameError as e:
            ctx.log.error("frame %s not sent: %s" % (kind, e))
            return None
        return ctx.queue.append(data)

    async def sample(self):
        # The profile's frames, decided but not yet encoded: [(kind, fields) or (kind, fields, raw)].
        ctx = self.ctx
        self.progress("sample")
        ctx.loaded_profile()
        readings = await ctx.sensors.read(self.progress)
        self.progress("decide")
        frames = list(ctx.profile.decide(readings, time.time()))
        ctx.wake.profile = ctx.profile.save()
        return frames

    def status_due(self):
        # The first cycle after a reset, then every status_every cycles (deep or light sleep).
        # status_in counts the cycles left until the next status, this one included.
        st = self.ctx.wake
        if (self.cycles == 0 and self.ctx.reset_cause != machine.DEEPSLEEP_RESET) or st.status_in <= 1:
            st.status_in = self.ctx.config["status_every"]
            return True
        st.status_in -= 1
        return False

    def send_status(self):
        from runtime import status
        ctx = self.ctx
        ctx.open_send()
        for kind, fields in status.frames(ctx.board, ctx.reset_cause, ctx.uptime_ms(), ctx.boot_count, ctx.queue):
            self.enqueue(kind, fields)

    async def transmit(self):
        # Oldest first; stop at the first frame the transport cannot take now.
        self.ctx.open_send()
        queue = self.ctx.queue
        transport = self.ctx.transport
        while True:
            batch = queue.peek(_SEND_BATCH)
            if not batch:
                return True
            for seq, frame in batch:
                self.progress("send")
                sent = transport.send(frame)
                self.receive()
                if not sent:
                    return False
                queue.ack(seq)
                await tasks.sleep_ms(0)

    # ---- downlinks: runtime/downlink.py, imported when the first one arrives

    def receive(self):
        take = getattr(self.ctx.transport, "downlinks", None)
        if take is None:
            return
        for port, data in take():
            self.progress("downlink")
            from runtime import downlink   # a wake without a downlink never loads it
            downlink.take(self, port, data)

    async def cycle(self):
        due = self.status_due()
        # After a reset (power on, watchdog, crash) the status frames go first,
        # before a read that may hang again: every reset is on record. A
        # deep-sleep wake queues them after its read, still ahead of the profile's.
        first = due and self.ctx.reset_cause != machine.DEEPSLEEP_RESET
        if first:
            self.send_status()
        frames = ()
        try:
            frames = await self.sample()
            self.ctx.release_profile()
        finally:
            # a read that failed still leaves this wake's status frames queued
            if due and not first:
                self.send_status()
            for frame in frames:
                self.enqueue(*frame)
        await self.transmit()
        if self.ctx.profile is not None:
            # downlinks taken while sending (an alarm_ack) change the profile's state too
            self.ctx.wake.profile = self.ctx.profile.save()
        self.progress("done")

    def run_transmit(self):
        tasks.run(self.transmit())

    def run_cycle(self):
        tasks.run(self.cycle(), self.watchdog.run())
        self.cycles += 1
        self.ctx.wake.cycle += 1
        self.ctx.wake.streak = 0
