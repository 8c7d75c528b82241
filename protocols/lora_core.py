# The LoRaWAN data-rate tables and the LoRa time-on-air arithmetic behind
# protocols/lora.py, for a caller whose arguments are known good: a device
# before each uplink, with its own frame's length at its region's data rates.
# lora.py is the API on top (the fleet, the bench, the emulator, the tests):
# it checks every argument and names the one at fault, and adds the
# server-side counts (symbols, uplinks a day). A device imports this module
# alone: on MicroPython each function costs heap from its import on, and those
# checks and counts are most of lora.py. Where a function here has a name of
# lora.py, it gives lora.py's answer for the same good arguments
# (tests/test_lora.py holds them to it); region, data rate and dwell are
# checked here as there (a data rate comes from the radio module, and a device
# tries the rates above its own until one raises).
#
# Time on air follows Semtech AN1200.13 "LoRa Modem Designer's Guide" and the
# SX1276/77/78/79 datasheet, section 4.1.1.6 "Time on air":
#
#   Tsym      = 2^SF / BW
#   Tpreamble = (npreamble + 4.25) * Tsym
#   npayload  = 8 + max(ceil((8PL - 4SF + 28 + 16CRC - 20IH) / (4(SF - 2DE))) * (CR + 4), 0)
#   Tpacket   = Tpreamble + npayload * Tsym
#
# Symbols are counted in quarter symbols, as integers, so symbol counts, payload
# limits and duty-cycle counts are exact even on an ESP32, whose floats are
# single precision. Only the milliseconds are a float (one division at the
# very end). Subset of Python that MicroPython and CPython share.
try:
    from micropython import const
except ImportError:
    def const(x):
        return x

# LoRaWAN 1.0.x uplink frame overhead around FRMPayload with no FOpts:
# MHDR 1 + DevAddr 4 + FCtrl 1 + FCnt 2 + FPort 1 + MIC 4.
LORAWAN_OVERHEAD = const(13)

_LDRO_MS = const(16)       # LDRO is mandated above a 16 ms symbol (SX1276 datasheet 4.1.1.6)

# LoRaWAN data rates: four values per DR index, one DR a line: SF, bandwidth
# kHz, N, and N when UplinkDwellTime = 1 (400 ms), where N is the maximum
# FRMPayload (application payload) length without FOpts. The dwell-time N is
# 0 where AS923 does not allow the DR then, None in regions without that
# setting; a DR that is not LoRa (FSK, LR-FHSS) or is RFU is all None. One flat
# tuple a region: on MicroPython every tuple is an object on the heap, and a
# tuple per DR cost a device twice the heap of these.
#
# N values: LoRaWAN Regional Parameters RP002-1.0.x, "maximum payload size
# (not repeater compatible)" tables, e.g. RP002-1.0.5 Table 73 for AS923.
# Cross-checked against Lora-net/LoRaMac-node src/mac/region/RegionAS923.h
# (MaxPayloadOfDatarateDwell0AS923 / ...Dwell1AS923), RegionEU868.h
# (MaxPayloadOfDatarateEU868), RegionUS915.h (MaxPayloadOfDatarateUS915) and
# chirpstack/chirpstack lrwn/src/region/{as923,eu868,us915}.rs
# (repeater_compatible = false, Revision::Latest). A repeater would lower the
# 242-byte rows to 222.
_AS923 = (
    12, 125, 51, 0,             # DR0
    11, 125, 51, 0,             # DR1
    10, 125, 115, 11,           # DR2: 11 bytes with dwell time, the Hong Kong worst case
    9, 125, 115, 53,            # DR3
    8, 125, 242, 125,           # DR4
    7, 125, 242, 242,           # DR5
    7, 250, 242, 242,           # DR6 (DR7 is FSK)
)
_EU868 = (
    12, 125, 51, None,          # DR0
    11, 125, 51, None,          # DR1
    10, 125, 51, None,          # DR2
    9, 125, 115, None,          # DR3
    8, 125, 242, None,          # DR4
    7, 125, 242, None,          # DR5
    7, 250, 242, None,          # DR6 (DR7 is FSK, DR8..11 LR-FHSS)
)
_US915 = (
    10, 125, 11, None,          # DR0
    9, 125, 53, None,           # DR1
    8, 125, 125, None,          # DR2
    7, 125, 242, None,          # DR3
    8, 500, 242, None,          # DR4
    None, None, None, None,     # DR5 LR-FHSS
    None, None, None, None,     # DR6 LR-FHSS
    None, None, None, None,     # DR7 RFU
    12, 500, 53, None,          # DR8  (downlink)
    11, 500, 129, None,         # DR9  (downlink)
    10, 500, 242, None,         # DR10 (downlink)
    9, 500, 242, None,          # DR11 (downlink)
    8, 500, 242, None,          # DR12 (downlink)
    7, 500, 242, None,          # DR13 (downlink)
)


def check_int(name, value, lo, hi):
    # value, when an int in lo..hi; ValueError naming the argument otherwise.
    if type(value) is not int or value < lo or value > hi:
        raise ValueError(name + " must be an int in " + str(lo) + ".." + str(hi) + ", got " + repr(value))
    return value


def check_flag(name, value, none_ok):
    # value, when True or False (or None, if none_ok); ValueError naming the argument otherwise.
    if value is True or value is False or (none_ok and value is None):
        return value
    raise ValueError(name + " must be True or False" + (" or None" if none_ok else "") + ", got " + repr(value))


def _table(region):
    if region == "EU868":
        return _EU868
    if region == "US915":
        return _US915
    # AS923-1..AS923-4 differ only in frequency offset, not in data rates.
    if region == "AS923" or region == "AS923-1" or region == "AS923-2" or region == "AS923-3" or region == "AS923-4":
        return _AS923
    raise ValueError("region must be one of AS923 (or AS923-1..AS923-4), EU868, US915; got " + repr(region))


def _entry(region, dr):
    # (the region's table, the index of dr's first value in it)
    table = _table(region)
    check_int("dr", dr, 0, len(table) // 4 - 1)
    i = 4 * dr
    if table[i] is None:
        raise ValueError("dr: DR" + str(dr) + " of " + region + " is not a LoRa data rate")
    return table, i


def data_rate(region, dr):
    """The LoRa modulation (sf, bw_khz) of data rate dr in region ("AS923", "EU868" or "US915").

    Covers the LoRa data rates of RP002-1.0.x: AS923 and EU868 DR0..DR6,
    US915 DR0..DR4 (uplink) and DR8..DR13 (downlink). FSK, LR-FHSS and RFU
    data rates raise ValueError, as do unknown regions.
    """
    table, i = _entry(region, dr)
    return (table[i], table[i + 1])


def max_payload(region, dr, dwell=False):
    """Maximum application payload N (int, bytes, without FOpts) at data rate dr in region.

    dwell=True applies AS923's UplinkDwellTime = 1 (400 ms) table, where DR0
    and DR1 are not allowed and give 0; other regions have no such setting
    (US915's table already keeps within its 400 ms dwell limit) and raise
    ValueError for dwell=True. Values: LoRaWAN Regional Parameters RP002-1.0.x,
    not repeater compatible.
    """
    table, i = _entry(region, dr)
    if check_flag("dwell", dwell, False):
        if table[i + 3] is None:
            raise ValueError("dwell: only AS923 has an UplinkDwellTime setting, not " + region)
        return table[i + 3]
    return table[i + 2]


def fits(app_bytes, region, dr, dwell=False):
    # lora.fits without its checks of app_bytes (an int >= 0) and FOpts (none).
    n = max_payload(region, dr, dwell)
    return n > 0 and app_bytes <= n


def quarters(phy_bytes, sf, bw_hz, cr, preamble, header, crc, ldro):
    # Tpacket of the formula, in quarter symbols (an int): preamble, 4.25
    # symbols of sync word and SFD, and npayload.
    if ldro is None:
        ldro = (1 << sf) * 1000 > _LDRO_MS * bw_hz     # 2^SF / BW > 16 ms
    num = 8 * phy_bytes - 4 * sf + 28
    if crc:
        num += 16
    if not header:
        num -= 20
    den = 4 * (sf - 2) if ldro else 4 * sf
    blocks = -(-num // den)                             # ceil, exact for negatives too
    if blocks < 0:
        blocks = 0
    return 4 * (preamble + 8 + blocks * cr) + 17        # npayload = 8 + blocks * CR


def quarters_ms(q, sf, bw_hz):
    # q/4 symbols of 2^SF/BW seconds each, in milliseconds.
    return q * (1 << sf) * 250 / bw_hz


def uplink_airtime_ms(app_bytes, sf, bw_khz):
    # lora.uplink_airtime_ms without FOpts or checks: app_bytes 0..242, sf and
    # bw_khz of a data rate of the tables (whole kHz). Sent as LoRaWAN uplinks
    # are: coding rate 4/5, 8-symbol preamble, explicit header, CRC, automatic LDRO.
    bw_hz = bw_khz * 1000
    return quarters_ms(quarters(app_bytes + LORAWAN_OVERHEAD, sf, bw_hz, 5, 8, True, True, None), sf, bw_hz)
