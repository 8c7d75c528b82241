# One wake of the board: sample, let the profile decide, queue the frames,
# send what the transport takes, then sleep. Runs under asyncio, with the
# watchdog task feeding only while the cycle's steps move on.
import asyncio
import time

import machine

from protocols import frames as wire
from runtime import status
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

    def progress(self, step):
        self.watchdog.progress(step)

    def enqueue(self, kind, fields, raw=False):
        # Encode and queue one frame; a frame the schema refuses is logged, never sent half-made.
        # raw: the numbers are whole steps of each field (a position in 1e-5 degree), no float.
        try:
            data = wire.encode(kind, fields, raw)
        except wire.FrameError as e:
            self.ctx.log.error("frame %s not sent: %s" % (kind, e))
            return None
        return self.ctx.queue.append(data)

    async def sample(self):
        ctx = self.ctx
        self.progress("sample")
        readings = await ctx.sensors.read(self.progress)
        self.progress("decide")
        for frame in ctx.profile.decide(readings, time.time()):
            self.enqueue(*frame)   # (kind, fields) or (kind, fields, raw)
        ctx.wake.profile = ctx.profile.save()

    def status_due(self):
        st = self.ctx.wake
        if self.ctx.reset_cause != machine.DEEPSLEEP_RESET or st.status_in <= 0:
            st.status_in = self.ctx.config["status_every"]
            return True
        st.status_in -= 1
        return False

    def send_status(self):
        ctx = self.ctx
        for kind, fields in status.frames(ctx.board, ctx.reset_cause, ctx.uptime_ms(), ctx.boot_count, ctx.queue):
            self.enqueue(kind, fields)

    async def transmit(self):
        # Oldest first; stop at the first frame the transport cannot take now.
        queue = self.ctx.queue
        transport = self.ctx.transport
        while True:
            batch = queue.peek(_SEND_BATCH)
            if not batch:
                return True
            for seq, frame in batch:
                self.progress("send")
                if not transport.send(frame):
                    return False
                queue.ack(seq)
                await asyncio.sleep_ms(0)

    async def cycle(self):
        feeder = asyncio.create_task(self.watchdog.run())
        try:
            if self.status_due():
                self.send_status()
            await self.sample()
            await self.transmit()
            self.progress("done")
        finally:
            feeder.cancel()

    def run_transmit(self):
        asyncio.run(self.transmit())

    def run_cycle(self):
        asyncio.run(self.cycle())
        self.ctx.wake.cycle += 1
        self.ctx.wake.streak = 0
