# Downlinks: decoded with the shared schema, answered through the queue. The
# scheduler imports this module when the first downlink of a wake arrives
# (runtime/scheduler.py receive): most wakes take none, and on MicroPython
# every function a module defines costs heap from its import on.
import binascii
import json
import time

import machine

from protocols import frames as wire
from protocols import schema_table as S

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_EPOCH_2000 = const(946684800)   # time_sync carries Unix seconds; the ESP32's time.time() counts from 2000


def take(scheduler, port, data):
    # One downlink's bytes from the transport: decoded and applied, or logged
    # and dropped. A stranger's bytes never crash the wake.
    log = scheduler.ctx.log
    try:
        kind, fields = wire.decode(data)
    except wire.FrameError as e:   # MalformedFrame, UnknownKind, FieldError
        log.error("downlink on port %d ignored (%s): %s" % (port, e, binascii.hexlify(data).decode()))
        return
    except Exception as e:   # whatever else a stranger's bytes provoke
        log.error("downlink on port %d ignored: %r" % (port, e))
        return
    if wire.kind_of(kind)[S.DIRECTION] != S.DOWN:
        log.error("downlink on port %d ignored: %s is an uplink kind" % (port, kind))
        return
    try:
        apply(scheduler, kind, fields)
    except Exception as e:
        log.error("downlink %s failed: %r" % (kind, e))


def apply(scheduler, kind, fields):
    # A decoded downlink: the runtime's own kinds here, the rest to the profile.
    ctx = scheduler.ctx
    ctx.log.info("downlink " + kind)
    reload = getattr(ctx, "loaded_profile", None)
    if reload is not None:
        reload()   # under deep sleep the profile went before the send (App.release_profile)
    if kind == "config":
        scheduler.enqueue("config_ack", {"seq": fields["seq"], "result": apply_config(ctx, fields)})
    elif kind == "setting":
        from runtime import setting   # only now: its names and code cost heap
        scheduler.enqueue("config_ack", {"seq": fields["seq"], "result": setting.apply(ctx, fields)})
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
        scheduler.send_status()
    elif kind == "ota_notice":
        ctx.log.info("ota: release %d rejected: this firmware has no OTA agent yet" % fields["release"])
        scheduler.enqueue("ota_ack", {"release": fields["release"], "result": "rejected"})
    elif ctx.profile is not None:
        for frame in ctx.profile.downlink(kind, fields) or ():
            scheduler.enqueue(*frame)
    else:
        ctx.log.error("downlink %s: no profile to take it" % kind)


def apply_config(ctx, fields):
    # Interval and thresholds into config.json (checked, written atomically)
    # and into the running config; "ok" or "invalid".
    from runtime import config as configfile   # under deep sleep the boot let it go (runtime/app.py)
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
