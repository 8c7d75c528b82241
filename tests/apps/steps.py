# Runs on the MicroPython unix port (through tests/interpreters.py) and on
# CPython: drives device code with plain data, no board.
#   gnss_stream(data, piece)        the GNSS reader fed in pieces of `piece` bytes
#   run_profile(app, config, steps) a Profile through wakes, deep sleeps (its
#                                   save() through CBOR, as RTC memory keeps it)
#                                   and downlinks; returns the frames per step
#   run_profile(..., session=name)  the same, in chunks: the Profile stays alive
#                                   in this interpreter under `name` between
#                                   calls (a day of wakes is too big for one
#                                   call); end_profile(name) lets it go
import sys

# tests/apps shadows firmware/apps as "apps" on the test path: put firmware first.
for _p in list(sys.path):
    if _p.endswith("/firmware") or _p.endswith("\\firmware"):
        sys.path.remove(_p)
        sys.path.insert(0, _p)
        break
if "apps" in sys.modules and not hasattr(sys.modules["apps"], "__file__"):
    del sys.modules["apps"]

from protocols import cbor  # noqa: E402
from protocols import frames  # noqa: E402


class FakeUART:
    def __init__(self, data, piece):
        self.data = data
        self.piece = piece

    def any(self):
        return min(len(self.data), self.piece)

    def read(self, n=None):
        n = self.any() if n is None else min(n, self.any())
        out, self.data = self.data[:n], self.data[n:]
        return out

    def readinto(self, buf, n=None):
        out = self.read(len(buf) if n is None else min(n, len(buf)))
        if not out:
            return None
        buf[:len(out)] = out
        return len(out)


def gnss_stream(data, piece):
    from sensors.gnss import GNSS
    g = GNSS(FakeUART(data, piece))
    fixes = 0
    while g.uart.any():
        if g.feed():
            fixes += 1
    f = g.fix
    fix = None
    if f is not None:
        fix = {"fix": f.fix_name(), "lat": f.lat, "lon": f.lon, "hdop": f.hdop, "sats": f.sats,
               "time": f.time, "date": f.date}
    return {"fixes": fixes, "fix": fix, "bad": g.bad, "good": g.good}


def _load(app):
    mod = __import__("apps." + app, None, None, ["Profile"])
    return mod.Profile


_SESSIONS = {}


def run_profile(app, config, steps, session=None, sizes=False):
    # steps: [("wake", now_s, readings) | ("sleep",) | ("downlink", kind, fields)
    #         | ("reset",)]; each step's frames are checked against the schema
    # (encoded and decoded) and returned as [(kind, fields)] per step, or with
    # sizes as [(kind, fields, encoded bytes)].
    # session: carry on the Profile this session's last call left (its state
    # in memory, exactly as between two wakes under light sleep), and leave it
    # there for the next call.
    Profile = _load(app)
    p = _SESSIONS.get(session) if session is not None else None
    if p is None:
        p = Profile(config, None)
    out = []
    for step in steps:
        what = step[0]
        if what == "wake":
            got = p.decide(step[2], step[1])
        elif what == "downlink":
            got = p.downlink(step[1], step[2])
        elif what == "sleep":
            saved = p.save()
            blob = cbor.dumps(saved) if saved is not None else None
            p = Profile(config, None if blob is None else cbor.loads(blob))
            got = []
        elif what == "reset":
            p = Profile(config, None)
            got = []
        else:
            raise ValueError("unknown step " + str(what))
        checked = []
        for frame in got:
            raw = len(frame) > 2 and frame[2]
            data = frames.encode(frame[0], frame[1], raw)
            kind, fields = frames.decode(data)
            checked.append((kind, fields, len(data)) if sizes else (kind, fields))
        out.append(checked)
    if session is not None:
        _SESSIONS[session] = p
    return out


def end_profile(session):
    # Let a session's Profile go.
    _SESSIONS.pop(session, None)


def saved_size(app, config, steps):
    # Bytes of CBOR the profile keeps in RTC memory after these wakes.
    Profile = _load(app)
    p = Profile(config, None)
    for step in steps:
        if step[0] == "wake":
            p.decide(step[2], step[1])
    return len(cbor.dumps(p.save()))


class _Volts:
    def __init__(self, volts):
        self.volts = volts

    def read_volts(self, channel, gain=1):
        return self.volts


def loop_kpa(ma, shunt_ohm=150.0):
    # The pressure transducer driver on an ADC that reads ma across the shunt.
    from sensors.pressure import PressureTransducer
    return PressureTransducer(_Volts(ma * shunt_ohm / 1000.0), shunt_ohm=shunt_ohm).read_kpa()
