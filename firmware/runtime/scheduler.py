# One wake of the board: sample, let the profile decide, queue the frames,
# send what the transport takes, then sleep. Runs as a task of runtime/tasks.py
# beside the watchdog's feeder, which feeds only while the cycle's steps move on.
import binascii
import json
import time

import machine

from protocols import frames as wire
from protocols import schema_table as S
from runtime import status
from runtime import tasks
from runtime.watchdog import Watchdog

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_SEND_BATCH = const(8)
WDT_TIMEOUT_MS = const(30000)
_EPOCH_2000 = const(946684800)   # time_sync carries Unix seconds; the ESP32's time.time() counts from 2000


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
        # The first cycle after a reset, then every status_every cycles (deep or light sleep).
        # status_in counts the cycles left until the next status, this one included.
        st = self.ctx.wake
        if (self.cycles == 0 and self.ctx.reset_cause != machine.DEEPSLEEP_RESET) or st.status_in <= 1:
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
                sent = transport.send(frame)
                self.receive()
                if not sent:
                    return False
                queue.ack(seq)
                await tasks.sleep_ms(0)

    # ---- downlinks: decoded with the shared schema, answered through the queue

    def receive(self):
        take = getattr(self.ctx.transport, "downlinks", None)
        if take is None:
            return
        for port, data in take():
            self.progress("downlink")
            try:
                kind, fields = wire.decode(data)
            except wire.FrameError as e:   # MalformedFrame, UnknownKind, FieldError
                self.ctx.log.error("downlink on port %d ignored (%s): %s" % (port, e, binascii.hexlify(data).decode()))
                continue
            except Exception as e:   # whatever else a stranger's bytes provoke: never a crash
                self.ctx.log.error("downlink on port %d ignored: %r" % (port, e))
                continue
            if wire.kind_of(kind)[S.DIRECTION] != S.DOWN:
                self.ctx.log.error("downlink on port %d ignored: %s is an uplink kind" % (port, kind))
                continue
            try:
                self.downlink(kind, fields)
            except Exception as e:
                self.ctx.log.error("downlink %s failed: %r" % (kind, e))

    def downlink(self, kind, fields):
        ctx = self.ctx
        ctx.log.info("downlink " + kind)
        if kind == "config":
            self.enqueue("config_ack", {"seq": fields["seq"], "result": self.apply_config(fields)})
        elif kind == "setting":
            from runtime import setting   # only now: its names and code cost heap
            self.enqueue("config_ack", {"seq": fields["seq"], "result": setting.apply(ctx, fields)})
        elif kind == "time_sync":
            t = fields["time"] - _EPOCH_2000
            if t < 0:
                ctx.log.error("time_sync before 2000 ignored")
                return
            tm = time.gmtime(t)
            machine.RTC().datetime((tm[0], tm[1], tm[2], tm[6], tm[3], tm[4], tm[5], 0))
            ctx.log.info("clock set by the network")
        elif kind == "reboot":
            ctx.reboot_in = fields.get("delay") or 0
        elif kind == "status_request":
            self.send_status()
        elif kind == "ota_notice":
            ctx.log.info("ota: release %d rejected: this firmware has no OTA agent yet" % fields["release"])
            self.enqueue("ota_ack", {"release": fields["release"], "result": "rejected"})
        elif ctx.profile is not None:
            for frame in ctx.profile.downlink(kind, fields) or ():
                self.enqueue(*frame)
        else:
            ctx.log.error("downlink %s: no profile to take it" % kind)

    def apply_config(self, fields):
        # Interval and thresholds into config.json (checked, written atomically)
        # and into the running config; "ok" or "invalid".
        from runtime import config as configfile   # under deep sleep the boot let it go (runtime/app.py)
        ctx = self.ctx
        try:
            with open(configfile.PATH) as f:
                raw = json.load(f)
        except (OSError, ValueError):
            return "invalid"
        if fields.get("interval") is not None:
            raw["interval"] = fields["interval"]
        limits = dict(raw.get("thresholds") or {})
        for name, key in (("threshold_high", "high"), ("threshold_low", "low")):
            if fields.get(name) is not None:
                limits[key] = fields[name]
        if limits:
            raw["thresholds"] = limits
        try:
            checked = configfile.save(raw, ctx.board)
        except configfile.ConfigError as e:
            ctx.log.error("config downlink refused: %s" % e)
            return "invalid"
        ctx.config["interval"] = checked["interval"]
        ctx.config["thresholds"].update(checked["thresholds"])   # the profile holds this dict
        ctx.log.info("config: interval %d s, thresholds %r" % (checked["interval"], checked["thresholds"]))
        return "ok"

    async def cycle(self):
        if self.status_due():
            self.send_status()
        await self.sample()
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
