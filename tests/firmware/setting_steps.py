# Runs on the MicroPython unix port (through tests/interpreters.py): the
# runtime's downlink handling with a real config.json in a scratch folder, a
# real application profile, and the scheduler's own downlink(), no board.
#   run(app, config, steps, folder)
#     steps: ("downlink", kind, fields)  the scheduler takes a decoded downlink
#            ("reboot",)                 config.json read again, a new profile
#            ("wake", now_s, readings)   the profile decides
#            ("limits",)                 the thresholds the profile reads now
#            ("no_profile",), ("status_only",)  no profile, safe mode's profile
#   returns, per step, what it gave: the frames queued (decoded) for a
#   downlink, the frames of a decision; and at the end config.json as written,
#   the running config's interval, status_every and thresholds, the log.
import json
import os
import sys

import tests.apps.steps   # noqa: F401  (puts firmware/ first: "apps" is firmware/apps)
from protocols import frames
from runtime import config as configfile
from runtime import downlink
from runtime.scheduler import Scheduler
from runtime.setting import main_pair


class _Queue:
    def __init__(self):
        self.frames = []

    def append(self, data):
        self.frames.append(data)
        return len(self.frames)


class _Log:
    def __init__(self):
        self.lines = []

    def info(self, text):
        self.lines.append(text)

    def error(self, text):
        self.lines.append(text)


class _Ctx:
    def __init__(self, app, log):
        self.board = {}
        self.config = configfile.load(self.board)[0]
        self.log = log
        self.queue = _Queue()
        self.wdt = None
        self.transport = None
        module = __import__("apps." + app, None, None, ["Profile"])
        self.profile = module.Profile(self.config, None)

    def open_send(self):
        pass   # the queue is made above


def run(app, config, steps, folder):
    here = os.getcwd()
    os.chdir(folder)
    try:
        with open(configfile.PATH, "w") as f:
            json.dump(config, f)
        log = _Log()
        ctx = _Ctx(app, log)
        scheduler = Scheduler(ctx)
        out = []
        for step in steps:
            if step[0] == "downlink":
                ctx.queue.frames = []
                downlink.apply(scheduler, step[1], step[2])
                out.append([frames.decode(d) for d in ctx.queue.frames])
            elif step[0] == "reboot":
                ctx = _Ctx(app, log)
                scheduler = Scheduler(ctx)
                out.append([])
            elif step[0] == "no_profile":
                ctx.profile = None                  # before one is loaded (unprovisioned)
                out.append([])
            elif step[0] == "status_only":
                from runtime.profile import Profile
                ctx.profile = Profile(ctx.config)   # safe mode's
                out.append([])
            elif step[0] == "limits":
                out.append(_limits(app, ctx.config))
            elif step[0] == "wake":
                got = ctx.profile.decide(step[2], step[1])
                out.append([frames.decode(frames.encode(*f)) for f in got])
            else:
                raise ValueError("unknown step %r" % (step[0],))
        with open(configfile.PATH) as f:
            written = json.load(f)
        running = dict((k, ctx.config[k]) for k in ("interval", "status_every", "thresholds"))
        return {"out": out, "config": written, "running": running, "log": log.lines}
    finally:
        os.chdir(here)


def _limits(app, config):
    # The thresholds the profile decides by, as it reads them from config.
    from sensors import limits
    module = __import__("apps." + app, None, None, ["Profile"])
    if hasattr(module, "thresholds"):
        return module.thresholds(config)
    return limits(config, module.DEFAULTS)


def defaults_of(apps):
    # {app: (sorted DEFAULTS names, the Profile's module is the app's, main pair)}.
    out = {}
    for app in apps:
        module = __import__("apps." + app, None, None, ["Profile"])
        out[app] = (sorted(module.DEFAULTS), sys.modules[module.Profile.__module__] is module,
                    list(main_pair(module)))
    return out
