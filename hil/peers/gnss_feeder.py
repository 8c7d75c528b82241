"""A GNSS receiver on the host side of the board's gnss_uart pty: writes the NMEA
0183 sentences (RMC then GGA, one epoch at a time, with checksums) of a track
at the board's virtual time, as a u-blox NEO-6M does at 9600 baud.

The track comes from a scenario's "gnss" section:

    "gnss": {"hdop": 1.2, "sats": 8, "track": [
        {"at": "09:00", "lat": "22.41000", "lon": "114.21000"},
        {"at": "09:30", "lat": "22.42200", "lon": "114.22500"},   # walked in a straight line
        {"at": "09:31", "fix": "none"},                            # lost in a valley from here
        {"at": "09:45", "lat": "22.42500", "lon": "114.23000"}]}   # fix again

Positions are decimal-degree strings, held as exact integers of 1e-5 degree
and written as ddmm.mmmmm (5 decimals of minutes: 1e-5 degree is exactly
0.0006 minute, so the board reads back the very same integer). Between two
points with positions the hiker moves in a straight line; a point with
"fix": "none" starts a stretch without a fix (quality 0, empty position, RMC
status V) until the next point with a position. Outside the track the first
or last point holds.

    feeder = GnssFeeder(board.uarts["gnss_uart"], track, clock=board.now_ms).start()
    ...
    feeder.stop()

`period` is the real time between epochs (a receiver's 1 s by default; tests
use less so the board hears an epoch sooner, each stamped with the virtual time).
"""
import os
import termios
import threading
import time
from datetime import datetime, timedelta, timezone
from fractions import Fraction

from hil import scenario as scn

EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)
FIX_NAMES = ("none", "gps", "dgps", "pps", "rtk", "float_rtk", "estimated", "manual", "simulation")


def e5(text):
    """A decimal-degree string as an exact integer of 1e-5 degree."""
    v = Fraction(str(text)) * 100000
    if v.denominator != 1:
        raise scn.ScenarioError("position %r has more than 5 decimals" % (text,))
    return int(v)


class Track:
    """Positions over virtual time: [(t_ms, lat_e5 or None, lon_e5 or None, quality)]."""

    def __init__(self, points, hdop=1.2, sats=8):
        self.points = sorted(points, key=lambda p: p[0])
        self.hdop = hdop
        self.sats = sats

    @classmethod
    def from_scenario(cls, scenario):
        s = scn.load(scenario)
        t0 = scn.start_ms(s)
        g = s.get("gnss") or {}
        points = []
        for p in g.get("track", []):
            at = scn.parse_time(p["at"], t0)
            fix = p.get("fix", "gps")
            if fix not in FIX_NAMES:
                raise scn.ScenarioError("unknown fix %r" % (fix,))
            if fix == "none":
                points.append((at, None, None, 0))
            else:
                points.append((at, e5(p["lat"]), e5(p["lon"]), FIX_NAMES.index(fix)))
        return cls(points, float(g.get("hdop", 1.2)), int(g.get("sats", 8)))

    def at(self, t_ms):
        """(lat_e5, lon_e5, quality) at virtual time t_ms; (None, None, 0) without a fix."""
        pts = self.points
        if not pts:
            return None, None, 0
        if t_ms <= pts[0][0]:
            return pts[0][1], pts[0][2], pts[0][3]
        for a, b in zip(pts, pts[1:]):
            if a[0] <= t_ms < b[0]:
                if a[1] is None:
                    return None, None, 0
                if b[1] is None:
                    return a[1], a[2], a[3]
                f = Fraction(t_ms - a[0], b[0] - a[0])
                return (a[1] + round((b[1] - a[1]) * f), a[2] + round((b[2] - a[2]) * f), a[3])
        last = pts[-1]
        return last[1], last[2], last[3]


def _checksum(body):
    x = 0
    for c in body.encode("ascii"):
        x ^= c
    return "%02X" % x


def sentence(body):
    return "$%s*%s\r\n" % (body, _checksum(body))


def _coord(v, deg_digits, pos, neg):
    # integer 1e-5 degree -> ("ddmm.mmmmm", hemisphere); minutes * 1e5 = frac * 60 exactly
    a = abs(v)
    deg, frac = divmod(a, 100000)
    minutes_e5 = frac * 60
    mm, mfrac = divmod(minutes_e5, 100000)
    return "%0*d%02d.%05d" % (deg_digits, deg, mm, mfrac), (neg if v < 0 else pos)


def epoch_sentences(t_ms, lat, lon, quality, hdop=1.2, sats=8, speed_knots=0.0):
    """RMC and GGA text of one epoch at virtual time t_ms (ms since 2000-01-01 UTC)."""
    t = EPOCH + timedelta(milliseconds=t_ms)
    hms = t.strftime("%H%M%S") + ".00"
    date = t.strftime("%d%m%y")
    if lat is None or quality == 0:
        rmc = "GPRMC,%s,V,,,,,,,%s,,,N" % (hms, date)
        gga = "GPGGA,%s,,,,,0,%02d,99.99,,,,,," % (hms, min(sats, 3))
    else:
        la, ns = _coord(lat, 2, "N", "S")
        lo, ew = _coord(lon, 3, "E", "W")
        mode = "D" if quality == 2 else "A"
        rmc = "GPRMC,%s,A,%s,%s,%s,%s,%.3f,,%s,,,%s" % (hms, la, ns, lo, ew, speed_knots, date, mode)
        gga = "GPGGA,%s,%s,%s,%s,%s,%d,%02d,%.2f,120.0,M,-2.5,M,," % (hms, la, ns, lo, ew, quality, sats, hdop)
    return sentence(rmc) + sentence(gga)


class GnssFeeder:
    """Writes the track's epochs to a pty path, one every `period` s of real time."""

    def __init__(self, port, track, clock, period=1.0):
        self.port = port
        self.track = track
        self.clock = clock
        self.period = period
        self.epochs = 0
        self._stop = threading.Event()
        self._thread = None
        self._fd = None

    def start(self):
        self._fd = os.open(self.port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        attrs = termios.tcgetattr(self._fd)
        attrs[3] &= ~(termios.ECHO | termios.ICANON)   # raw: the pty must not echo back our own sentences
        attrs[1] &= ~termios.OPOST
        termios.tcsetattr(self._fd, termios.TCSANOW, attrs)
        self._thread = threading.Thread(target=self._run, name="gnss-feeder", daemon=True)
        self._thread.start()
        return self

    def _run(self):
        prev = None
        while not self._stop.is_set():
            now = self.clock()
            lat, lon, q = self.track.at(now)
            speed = 0.0
            if prev is not None and lat is not None and prev[1] is not None and now > prev[0]:
                # knots from the last epoch's step (1e-5 degree ~ 1.11 m; fine for a walking pace)
                dy = (lat - prev[1]) * 1.1132
                dx = (lon - prev[2]) * 1.0296
                speed = (dx * dx + dy * dy) ** 0.5 / ((now - prev[0]) / 1000) * 1.943844
            prev = (now, lat, lon)
            data = epoch_sentences(now, lat, lon, q, self.track.hdop, self.track.sats, speed).encode("ascii")
            try:
                os.write(self._fd, data)
                self.epochs += 1
            except (BlockingIOError, OSError):
                pass   # the pty is full (board off): this epoch is lost, as on a real line
            try:   # what the board writes to the receiver (nothing, today) is read and dropped
                os.read(self._fd, 4096)
            except (BlockingIOError, OSError):
                pass
            self._stop.wait(self.period)

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
