# LoRa time on air and LoRaWAN data-rate limits, in the subset of Python that
# MicroPython and CPython share. Pure functions: no I/O, no allocation beyond
# small ints and the returned value.
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
# single precision. Only the milliseconds returned by the airtime functions are
# a float (one division at the very end).
#
# SX126x radios (SX1261/2) give the same result for SF7..SF12; they compute
# SF5 and SF6 differently, so SF5 is not accepted and SF6 follows the SX127x
# datasheet (where SF6 is implicit-header only).
try:
    from micropython import const
except ImportError:
    def const(x):
        return x

# LoRaWAN 1.0.x uplink frame overhead around FRMPayload with no FOpts:
# MHDR 1 + DevAddr 4 + FCtrl 1 + FCnt 2 + FPort 1 + MIC 4.
LORAWAN_OVERHEAD = const(13)

REGIONS = ("AS923", "EU868", "US915")

_MAX_PHY = const(255)      # LoRa PHY payload length register is one byte
_MAX_FOPTS = const(15)     # FCtrl.FOptsLen is four bits
_LDRO_MS = const(16)       # LDRO is mandated above a 16 ms symbol (SX1276 datasheet 4.1.1.6)

# Bandwidths in Hz as the datasheets label them: the SX127x labels 7.8..62.5 kHz,
# the SX126x labels 7.81..41.67 kHz (Semtech's SX1261 LoRa Calculator computes
# with the label as given), and 125/250/500 kHz, the only ones LoRaWAN uses.
_BW_HZ = (7800, 7810, 10400, 10420, 15600, 15630, 20800, 20830, 31250,
          41670, 41700, 62500, 125000, 250000, 500000)

# LoRaWAN data rates: four values per DR index, one DR a line: SF, bandwidth
# kHz, N, and N when UplinkDwellTime = 1 (400 ms), where N is the maximum
# FRMPayload (application payload) length without FOpts. The dwell-time N is
# 0 where AS923 does not allow the DR then, None in regions without that
# setting; a DR that is not LoRa (FSK, LR-FHSS) or is RFU is all None. One flat
# tuple a region: on MicroPython every tuple is an object on the heap, and a
# tuple of rows cost a device more than twice the heap of these.
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


def _int(name, value, lo, hi):
    if type(value) is not int or value < lo or value > hi:
        raise ValueError(name + " must be an int in " + str(lo) + ".." + str(hi) + ", got " + repr(value))
    return value


def _flag(name, value, none_ok):
    if value is True or value is False or (none_ok and value is None):
        return value
    raise ValueError(name + " must be True or False" + (" or None" if none_ok else "") + ", got " + repr(value))


def _bw_hz(bw_khz):
    t = type(bw_khz)
    # The range check comes first so that NaN and infinities never reach int().
    if (t is int or t is float) and bw_khz > 0 and bw_khz <= 500:
        hz = int(bw_khz * 1000 + 0.5)
        if hz in _BW_HZ:
            return hz
    raise ValueError("bw_khz must be one of 7.8, 10.4, 15.6, 20.8, 31.25, 41.7, 62.5 "
                     "(or 7.81, 10.42, 15.63, 20.83, 41.67), 125, 250, 500; got " + repr(bw_khz))


def _payload_symbols(phy_bytes, sf, bw_hz, cr, header, crc, ldro):
    # npayload of the formula above, in whole symbols; all arguments already checked.
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
    return 8 + blocks * cr


def _quarters(phy_bytes, sf, bw_khz, cr, preamble, header, crc, ldro):
    # Checked arguments -> (total length in quarter symbols, bandwidth in Hz).
    _int("phy_bytes", phy_bytes, 0, _MAX_PHY)
    _int("sf", sf, 6, 12)
    bw_hz = _bw_hz(bw_khz)
    _int("cr", cr, 5, 8)
    _int("preamble", preamble, 1, 65535)
    _flag("header", header, False)
    _flag("crc", crc, False)
    _flag("ldro", ldro, True)
    n = _payload_symbols(phy_bytes, sf, bw_hz, cr, header, crc, ldro)
    return 4 * (preamble + n) + 17, bw_hz               # + 4.25 symbols of sync word and SFD


def _ms(quarters, sf, bw_hz):
    # quarters/4 symbols of 2^SF/BW seconds each, in milliseconds.
    return quarters * (1 << sf) * 250 / bw_hz


def airtime_ms(phy_bytes, sf, bw_khz=125, cr=5, preamble=8, header=True, crc=True, ldro=None):
    """LoRa time on air, in milliseconds (float), of a PHY payload of phy_bytes (0..255) bytes.

    sf is the spreading factor 6..12; bw_khz the bandwidth (125, 250, 500, or
    7.8..62.5 kHz as the datasheets label it); cr the coding-rate denominator
    5..8 for 4/5..4/8; preamble the programmed preamble length in symbols;
    header False for implicit-header mode; crc False without payload CRC (as
    LoRaWAN downlinks are sent); ldro None switches low-data-rate optimisation
    on automatically when a symbol lasts more than 16 ms (SF11 and SF12 at
    125 kHz, SF12 at 250 kHz), True/False forces it. Raises ValueError naming
    the offending argument. Formula: Semtech AN1200.13 / SX1276 datasheet 4.1.1.6.
    """
    q, bw_hz = _quarters(phy_bytes, sf, bw_khz, cr, preamble, header, crc, ldro)
    return _ms(q, sf, bw_hz)


def payload_symbols(phy_bytes, sf, bw_khz=125, cr=5, header=True, crc=True, ldro=None):
    """Number of symbols (int) after the preamble and sync word: npayload of AN1200.13.

    Arguments as for airtime_ms; the bandwidth only matters for ldro=None.
    """
    q, bw_hz = _quarters(phy_bytes, sf, bw_khz, cr, 8, header, crc, ldro)
    return (q - 17) // 4 - 8


def _uplink_phy(app_bytes, fopts):
    _int("fopts", fopts, 0, _MAX_FOPTS)
    return _int("app_bytes", app_bytes, 0, _MAX_PHY - LORAWAN_OVERHEAD - fopts) + LORAWAN_OVERHEAD + fopts


def uplink_airtime_ms(app_bytes, sf, bw_khz=125, fopts=0):
    """Time on air, in milliseconds (float), of a LoRaWAN uplink carrying app_bytes of application payload.

    The PHY payload is app_bytes + LORAWAN_OVERHEAD (13) + fopts bytes of MAC
    commands in FOpts; the frame is sent as LoRaWAN uplinks are: coding rate
    4/5, 8-symbol preamble, explicit header, payload CRC, automatic LDRO.
    A frame without FRMPayload also has no FPort, so it is one byte shorter
    than app_bytes=0 counts.
    """
    return airtime_ms(_uplink_phy(app_bytes, fopts), sf, bw_khz)


def max_uplinks_per_day(app_bytes, sf, bw_khz=125, duty=0.01, fopts=0):
    """Most uplinks (int) of app_bytes application payload that fit a duty cycle in 24 hours.

    duty is the allowed fraction of time on air (0.01 for the 1 % of EU868
    sub-band g1), resolved to parts per million; frames as for
    uplink_airtime_ms. The count is computed in integers, so it is exact on
    single-precision boards: floor(86 400 000 ms * duty / airtime).
    """
    phy = _uplink_phy(app_bytes, fopts)
    t = type(duty)
    ppm = 0
    if (t is int or t is float) and duty > 0 and duty <= 1:
        ppm = int(duty * 1000000 + 0.5)
    if ppm <= 0:
        raise ValueError("duty must be a fraction of time in (0, 1], e.g. 0.01 for 1 %, got " + repr(duty))
    q, bw_hz = _quarters(phy, sf, bw_khz, 5, 8, True, True, None)
    # day_ms * ppm / 1e6 / (q * 2^SF * 250 / bw_hz), with 86 400 000 / 1e6 = 864 / 10
    return (864 * ppm * bw_hz) // (2500 * q * (1 << sf))


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
    _int("dr", dr, 0, len(table) // 4 - 1)
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
    if _flag("dwell", dwell, False):
        if table[i + 3] is None:
            raise ValueError("dwell: only AS923 has an UplinkDwellTime setting, not " + region)
        return table[i + 3]
    return table[i + 2]


def fits(app_bytes, region, dr, dwell=False, fopts=0):
    """Whether app_bytes of application payload plus fopts bytes of FOpts fit one frame at dr in region.

    Integer comparison against max_payload; False where the data rate is not
    allowed at all (AS923 DR0/DR1 with dwell time).
    """
    if type(app_bytes) is not int or app_bytes < 0:
        raise ValueError("app_bytes must be an int >= 0, got " + repr(app_bytes))
    _int("fopts", fopts, 0, _MAX_FOPTS)
    n = max_payload(region, dr, dwell)
    return n > 0 and app_bytes + fopts <= n
