# GNSS position from a receiver's NMEA 0183 output on a UART (u-blox NEO-6M /
# NEO-M8N on the T-Beam, 9600 baud): the GGA (fix data) and RMC (recommended
# minimum) sentences.
#
# Followed: NMEA 0183 sentence structure as the u-blox 6 Receiver Description
# (GPS.G6-SW-10018, section "NMEA Protocol": $ttGGA / $ttRMC fields, the
# *hh checksum, 82-character limit) and the NMEA 0183 field formats
# llll.ll (2 degree digits) / yyyyy.yy (3 degree digits) with leading zeros.
#   - every sentence must end in *hh, the XOR of the characters between "$"
#     and "*" (either hex case); a sentence without one, or with a wrong one,
#     is dropped and counted in `bad`;
#   - coordinates are parsed from the text straight into integers of 1e-5
#     degree (rounded half away from zero), never through a float: an
#     ESP32's single-precision float has 24 bits, about 1 m at 114 degrees E;
#   - GGA's quality indicator 0..8 is the schema's fix names ("none", "gps",
#     "dgps", "pps", "rtk", "float_rtk", "estimated", "manual", "simulation");
#     a quality of 0 or an RMC status "V" means no position;
#   - HDOP is kept in hundredths, time as seconds of the UTC day, date from RMC.
try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_MAX_LINE = const(96)     # NMEA allows 82 characters; a longer run without "\n" is noise
_CHUNK = const(64)        # bytes taken off the UART at a time, into one buffer kept for the wake
_SCALE = const(100000)    # 1e-5 degree

FIX_NAMES = ("none", "gps", "dgps", "pps", "rtk", "float_rtk", "estimated", "manual", "simulation")


class NmeaError(ValueError):
    pass


def _hex_digit(c):
    if 48 <= c <= 57:
        return c - 48
    c |= 0x20   # lower case
    if 97 <= c <= 102:
        return c - 87
    return -1


def checked_body(line):
    # The text between "$" and "*" (bytes) of a sentence whose checksum is
    # right and whose characters are printable ASCII, else None. Only CR/LF
    # may follow the checksum.
    start = 0
    if not line or line[0] != 36:   # "$"
        return None
    end = line.find(b"*", start)
    if end < 0 or end + 3 > len(line):
        return None
    hi = _hex_digit(line[end + 1])
    lo = _hex_digit(line[end + 2])
    if hi < 0 or lo < 0:
        return None
    for c in line[end + 3:]:
        if c not in (13, 10):
            return None
    x = 0
    for i in range(start + 1, end):
        c = line[i]
        if c < 32 or c > 126 or c == 36:   # control characters, 8-bit bytes, a second "$"
            return None
        x ^= c
    if x != (hi << 4) | lo:
        return None
    return line[start + 1:end]


def _digits(text):
    for c in text:
        if c < 48 or c > 57:
            return False
    return len(text) > 0


def parse_decimal(text, places):
    # "12.345" as the integer 12345 when places is 3: rounded half away from
    # zero past the kept places; None for an empty field. Raises NmeaError.
    if not text:
        return None
    neg = text[0] == 45   # "-"
    if neg or text[0] == 43:
        text = text[1:]
    dot = text.find(b".")
    if dot < 0:
        whole, frac = text, b""
    else:
        whole, frac = text[:dot], text[dot + 1:]
    if not (_digits(whole) or (whole == b"" and _digits(frac))) or (frac and not _digits(frac)):
        raise NmeaError("bad number")
    n = int(whole) if whole else 0
    kept = frac[:places]
    n = n * 10 ** places + (int(kept) * 10 ** (places - len(kept)) if kept else 0)
    if len(frac) > places and frac[places] >= 53:   # the first dropped digit is 5..9
        n += 1
    return -n if neg else n


def parse_coordinate(text, hemi, degree_digits):
    # NMEA "ddmm.mmmm" (degree_digits 2) or "dddmm.mmmm" (3) with its hemisphere
    # letter, as signed integer 1e-5 degrees; None for empty fields.
    # degrees * 1e5 + minutes * 1e5 / 60, all in integers.
    if not text and not hemi:
        return None
    dot = text.find(b".")
    whole = text if dot < 0 else text[:dot]
    frac = b"" if dot < 0 else text[dot + 1:]
    if len(whole) != degree_digits + 2 or not _digits(whole) or (frac and not _digits(frac)) or len(frac) > 9:
        raise NmeaError("bad coordinate")
    degrees = int(whole[:degree_digits])
    scale = 10 ** len(frac)
    minutes = int(whole[degree_digits:]) * scale + (int(frac) if frac else 0)   # minutes * scale
    if minutes >= 60 * scale or degrees > (90 if degree_digits == 2 else 180):
        raise NmeaError("coordinate out of range")
    # minutes / 60 in 1e-5 degree, rounded half up (the value is positive here)
    top = minutes * _SCALE
    bottom = 60 * scale
    value = degrees * _SCALE + (2 * top + bottom) // (2 * bottom)
    if value > (90 if degree_digits == 2 else 180) * _SCALE:
        raise NmeaError("coordinate out of range")
    if hemi in (b"S", b"W"):
        return -value
    if hemi in (b"N", b"E"):
        return value
    raise NmeaError("bad hemisphere")


def parse_time(text):
    # "hhmmss[.ss]" as seconds of the UTC day (fraction dropped), or None.
    if not text:
        return None
    if len(text) < 6 or not _digits(text[:6]):
        raise NmeaError("bad time")
    h, m, s = int(text[0:2]), int(text[2:4]), int(text[4:6])
    if h > 23 or m > 59 or s > 60:
        raise NmeaError("bad time")
    return h * 3600 + m * 60 + s


def parse_date(text):
    # RMC "ddmmyy" as (year, month, day), or None. Two-digit years pivot as
    # POSIX strptime's %y does: 69..99 are 1969..1999, 00..68 are 2000..2068.
    if not text:
        return None
    if len(text) != 6 or not _digits(text):
        raise NmeaError("bad date")
    d, mo, y = int(text[0:2]), int(text[2:4]), int(text[4:6])
    if not (1 <= d <= 31 and 1 <= mo <= 12):
        raise NmeaError("bad date")
    return (1900 + y if y >= 69 else 2000 + y, mo, d)


def _field(fields, i):
    return fields[i] if i < len(fields) else b""


def parse(line):
    # One sentence (bytes) as (type, dict), e.g. ("GGA", {...}), or None when
    # it is not GGA/RMC. Raises NmeaError on a bad checksum or a bad field.
    body = checked_body(line)
    if body is None:
        raise NmeaError("bad checksum")
    # the talker and type ("GPGGA") first: the sentences a receiver sends
    # besides GGA and RMC (GSV, GSA, VTG) are not split into fields at all
    comma = body.find(b",")
    if (comma if comma >= 0 else len(body)) != 5:
        return None
    kind = body[2:5]
    if kind != b"GGA" and kind != b"RMC":
        return None
    fields = body.split(b",")
    if kind == b"GGA":
        if len(fields) < 10:
            raise NmeaError("short GGA")
        q = fields[6]
        quality = int(q) if _digits(q) else 0
        if quality >= len(FIX_NAMES):
            raise NmeaError("bad fix quality")
        sats = fields[7]
        out = {
            "time": parse_time(fields[1]),
            "lat": parse_coordinate(fields[2], fields[3], 2),
            "lon": parse_coordinate(fields[4], fields[5], 3),
            "quality": quality,
            "sats": int(sats) if _digits(sats) else None,
            "hdop": parse_decimal(fields[8], 2),          # hundredths
            "alt_dm": parse_decimal(fields[9], 1),        # decimetres above mean sea level
        }
        return "GGA", out
    if kind == b"RMC":
        if len(fields) < 10:
            raise NmeaError("short RMC")
        status = fields[2]
        mode = _field(fields, 12)
        out = {
            "time": parse_time(fields[1]),
            "valid": status == b"A" and mode != b"N",
            "lat": parse_coordinate(fields[3], fields[4], 2),
            "lon": parse_coordinate(fields[5], fields[6], 3),
            "speed_ck": parse_decimal(fields[7], 2),      # hundredths of a knot
            "course_cd": parse_decimal(fields[8], 2),     # hundredths of a degree
            "date": parse_date(fields[9]),
            "mode": mode.decode("utf-8") if mode else None,
        }
        return "RMC", out
    return None


class Fix:
    # What the receiver said last: a position only while the fix is valid.
    def __init__(self):
        self.quality = 0          # GGA quality indicator, FIX_NAMES index
        self.lat = None           # 1e-5 degree, None without a fix
        self.lon = None
        self.hdop = None          # hundredths
        self.sats = None
        self.time = None          # seconds of the UTC day
        self.date = None          # (year, month, day) from RMC
        self.speed_ck = None      # hundredths of a knot, from RMC

    def has_position(self):
        return self.quality > 0 and self.lat is not None and self.lon is not None

    def fix_name(self):
        return FIX_NAMES[self.quality] if self.has_position() else "none"


class GNSS:
    # A receiver on a UART (passed in: machine.UART(id, 9600, tx=, rx=)).
    # feed() takes what the UART has; a fix is complete when the GGA and RMC
    # of one epoch (the same UTC time) have both arrived.
    def __init__(self, uart):
        self.uart = uart
        self.buf = bytearray(_MAX_LINE)
        self.chunk = bytearray(_CHUNK)
        self.n = 0
        self.good = 0             # sentences with a right checksum
        self.bad = 0              # sentences dropped: checksum or field errors
        self._gga = None
        self._rmc = None
        self.fix = None           # the latest complete Fix

    def _take(self, avail):
        # Up to avail (<= _CHUNK) waiting bytes into self.chunk; how many.
        # readinto, not read: the GNSS wait polls every 50 ms, and a bytes
        # object per poll is heap churn (a whole epoch's 500 at the flush).
        return self.uart.readinto(self.chunk, min(avail, _CHUNK)) or 0

    def flush(self):
        # Drop what waited in the UART buffer (an epoch from before the wake).
        avail = self.uart.any()
        while avail and self._take(avail):
            avail = self.uart.any()
        self.n = 0

    def feed(self):
        # Read what the UART holds; True when a new complete fix arrived.
        got = False
        left = self.uart.any()
        while left > 0:
            k = self._take(left)
            if not k:
                break
            left -= k
            if self._scan(k):
                got = True
        return got

    def _scan(self, k):
        # The first k bytes of self.chunk, through the line assembler.
        got = False
        chunk = self.chunk
        for i in range(k):
            c = chunk[i]
            if c == 10:   # "\n": a sentence ends
                if self.n > _MAX_LINE:
                    self.bad += 1          # a run too long for NMEA: noise
                elif self.n:
                    if self.line(bytes(self.buf[:self.n])):
                        got = True
                self.n = 0
            elif c == 36 and self.n:       # "$" mid-line: the line before it was cut short
                self.bad += 1
                self.buf[0] = c
                self.n = 1
            elif self.n < _MAX_LINE:
                self.buf[self.n] = c
                self.n += 1
            else:
                self.n = _MAX_LINE + 1     # keep dropping until the next "\n"
        return got

    def line(self, line):
        # One sentence; True when it completes an epoch.
        try:
            parsed = parse(line)
        except (NmeaError, ValueError):
            self.bad += 1
            return False
        if parsed is None:
            self.good += 1
            return False
        self.good += 1
        kind, s = parsed
        if kind == "GGA":
            self._gga = s
        else:
            self._rmc = s
        g, r = self._gga, self._rmc
        if g is None or r is None or g["time"] != r["time"]:
            return False
        self.fix = self._combine(g, r)
        self._gga = self._rmc = None
        return True

    def _combine(self, g, r):
        f = Fix()
        f.time = g["time"]
        f.date = r["date"]
        f.hdop = g["hdop"]
        f.sats = g["sats"]
        f.speed_ck = r["speed_ck"]
        if g["quality"] > 0 and r["valid"] and g["lat"] is not None and g["lon"] is not None:
            f.quality = g["quality"]
            f.lat = g["lat"]
            f.lon = g["lon"]
        return f
