"""The firmware's NMEA 0183 parser (firmware/sensors/gnss.py), on CPython and
MicroPython, against pynmea2 on public sentences (tests/vectors/nmea/SOURCES.md)
and minmea's checksum lists; the GNSS reader on a UART fed in pieces."""
import json
import struct
import sys
from fractions import Fraction
from pathlib import Path

import pynmea2
import pytest

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors" / "nmea"
if str(ROOT / "firmware") not in sys.path:
    sys.path.append(str(ROOT / "firmware"))   # the device modules, for the CPython side

G = "sensors.gnss"

SENTENCES = [s for s in (VECTORS / "pynmea2_valid_checksum.nmea").read_text().splitlines()
             if s[3:6] in ("GGA", "RMC")]
# NMEA 0183 fixes the degree digits (llll.ll, yyyyy.yy); this one has "37.352387"
# in decimal degrees, which pynmea2's position properties refuse, as we do.
NOT_NMEA = "$GPGGA,161405.680,37.352387,N,121.953086,W,1,10,0.01,-110.342552,M,0.000000,M,,0000,*4E"
MINMEA = json.loads((VECTORS / "minmea_check_vectors.json").read_text())["lists"]


def _e5(x):
    # pynmea2's float degrees as 1e-5 degree (it computes dd + mm/60 in doubles).
    return round(Fraction(x) * 100000)


def _exact_e5(text, deg_digits, hemi):
    # The exact value of an NMEA coordinate in 1e-5 degree, rounded half away from zero.
    d = Fraction(int(text[:deg_digits])) + Fraction(text[deg_digits:]) / 60
    n = d * 100000
    r = int(n + Fraction(1, 2)) if n >= 0 else -int(-n + Fraction(1, 2))
    return -r if hemi in "SW" else r


def test_vectors_hold_gga_and_rmc():
    assert sum(s[3:6] == "GGA" for s in SENTENCES) >= 5
    assert sum(s[3:6] == "RMC" for s in SENTENCES) >= 30
    assert NOT_NMEA in SENTENCES


@pytest.mark.parametrize("sentence", [s for s in SENTENCES if s != NOT_NMEA])
def test_agrees_with_pynmea2(interp, sentence):
    ref = pynmea2.parse(sentence, check=True)
    kind, got = interp.call(G, "parse", sentence.encode())
    assert kind == sentence[3:6]
    if ref.lat:
        assert got["lat"] == _exact_e5(ref.lat, 2, ref.lat_dir)
        assert abs(got["lat"] - _e5(ref.latitude)) <= 1   # pynmea2's double rounds the same but for ties
        assert got["lon"] == _exact_e5(ref.lon, 3, ref.lon_dir)
        assert abs(got["lon"] - _e5(ref.longitude)) <= 1
    else:
        assert got["lat"] is None and got["lon"] is None
    t = ref.timestamp
    assert got["time"] == t.hour * 3600 + t.minute * 60 + t.second
    if kind == "GGA":
        assert got["quality"] == int(ref.gps_qual or 0)
        assert got["hdop"] == (round(Fraction(ref.horizontal_dil) * 100) if ref.horizontal_dil else None)
        assert got["sats"] == (int(ref.num_sats) if ref.num_sats else None)
    else:
        assert got["valid"] == (ref.status == "A" and getattr(ref, "mode_indicator", None) != "N")
        d = ref.datestamp
        assert got["date"] == (d.year, d.month, d.day)
        assert got["speed_ck"] == (round(Fraction(ref.spd_over_grnd) * 100) if ref.spd_over_grnd else None)


def test_decimal_degrees_are_refused_as_pynmea2_does(interp):
    with pytest.raises(ValueError, match="not valid DDDMM.MMM"):
        pynmea2.parse(NOT_NMEA).latitude
    with pytest.raises(Exception) as e:
        interp.call(G, "parse", NOT_NMEA.encode())
    assert "NmeaError" in str(e.value)


@pytest.mark.parametrize("case", MINMEA["valid_sentences_checksum"], ids=lambda c: c["c_literal"][:24])
def test_minmea_checksummed_sentences_pass(interp, case):
    assert interp.call(G, "checked_body", bytes.fromhex(case["bytes_hex"])) is not None


@pytest.mark.parametrize("case", MINMEA["valid_sentences_nochecksum"] + MINMEA["invalid_sentences"],
                         ids=lambda c: c["c_literal"][:24])
def test_minmea_unchecked_and_invalid_sentences_are_refused(interp, case):
    # minmea's strict mode: a sentence without *hh is not trusted either.
    assert interp.call(G, "checked_body", bytes.fromhex(case["bytes_hex"])) is None


def test_one_flipped_character_fails_the_checksum(micropython):
    good = [s for s in SENTENCES if s.startswith("$GPGGA,184353.07")][0]
    for i in range(1, good.index("*")):
        bad = good[:i] + chr(ord(good[i]) ^ 0x01) + good[i + 1:]
        if bad[i] in "$*":
            continue
        assert micropython.call(G, "checked_body", bad.encode()) is None, bad


@pytest.mark.parametrize("text, hemi, digits", [
    ("11409.12345", "E", 3), ("11409.12346", "E", 3), ("02210.99999", "E", 3), ("2217.876543", "N", 2),
    ("11459.99999", "W", 3), ("0000.00000", "S", 2), ("17959.999999", "W", 3),
])
def test_coordinates_are_exact_integers_where_single_precision_is_not(interp, text, hemi, digits):
    got = interp.call(G, "parse_coordinate", text.encode(), hemi.encode(), digits)
    assert got == _exact_e5(text, digits, hemi)


def test_single_precision_would_lose_metres_at_hong_kong():
    # The reason for integers: a float32 of 114.15 degrees is ~0.5 m coarse, and
    # dd + mm/60 in float32 lands on the wrong 1e-5 step for many positions.
    def f32(x):
        return struct.unpack("f", struct.pack("f", x))[0]
    wrong = 0
    for k in range(0, 600000, 997):
        text = "114%02d.%05d" % (k // 100000 % 60, k % 100000)
        exact = _exact_e5(text, 3, "E")
        as_f32 = round(f32(f32(114.0) + f32(f32(float(text[3:])) / f32(60.0))) * 100000)
        wrong += as_f32 != exact
    assert wrong > 50


@pytest.mark.parametrize("text, hemi, digits", [
    ("2261.00000", "N", 2),    # 61 minutes
    ("9100.00000", "N", 2),    # past the pole
    ("114O9.12345", "E", 3),   # a letter
    ("1409.12345", "E", 3),    # a degree digit short
    ("11409.12345", "X", 3),   # no such hemisphere
])
def test_malformed_coordinates_raise(micropython, text, hemi, digits):
    with pytest.raises(Exception) as e:
        micropython.call(G, "parse_coordinate", text.encode(), hemi.encode(), digits)
    assert "NmeaError" in str(e.value)


def _nmea(body):
    x = 0
    for c in body.encode():
        x ^= c
    return "$%s*%02X\r\n" % (body, x)


def test_reader_pairs_gga_and_rmc_of_one_epoch(micropython):
    # A UART that hands over its bytes in odd pieces, with noise, a bad
    # checksum and an over-long line; only a GGA and RMC of the same second make a fix.
    stream = ("\x00\xffnoise" + _nmea("GPGSV,1,1,00") + _nmea("GPGGA,081500.00,2222.21000,N,11410.50000,E,1,07,1.23,305.4,M,-2.0,M,,")
              + "$GPRMC,081500.00,A,2222.21000,N,11410.50000,E,0.5,12.0,030326,,,A*00\r\n"
              + "x" * 300 + "\r\n"
              + _nmea("GPRMC,081501.00,A,2222.21000,N,11410.50000,E,0.5,12.0,030326,,,A")
              + _nmea("GPGGA,081501.00,2222.21000,N,11410.50000,E,2,07,1.23,305.4,M,-2.0,M,,"))
    r = micropython.call("tests.apps.steps", "gnss_stream", stream.encode("latin-1"), 7)
    assert r["fixes"] == 1
    assert r["fix"] == {"fix": "dgps", "lat": 2237017, "lon": 11417500, "hdop": 123, "sats": 7,
                        "time": 8 * 3600 + 15 * 60 + 1, "date": (2026, 3, 3)}
    assert r["bad"] == 3   # the noise cut short by "$", the wrong checksum, the over-long line


def test_no_fix_gives_no_position(micropython):
    stream = (_nmea("GPRMC,081500.00,V,,,,,,,030326,,,N") + _nmea("GPGGA,081500.00,,,,,0,00,99.99,,,,,,")
              + _nmea("GPRMC,081501.00,V,2222.21000,N,11410.50000,E,,,030326,,,N")
              + _nmea("GPGGA,081501.00,2222.21000,N,11410.50000,E,0,03,9.99,,,,,,"))
    r = micropython.call("tests.apps.steps", "gnss_stream", stream.encode(), 5)
    assert r["fixes"] == 2
    assert r["fix"]["fix"] == "none" and r["fix"]["lat"] is None and r["fix"]["lon"] is None
