# LoRa time on air and LoRaWAN data-rate limits, in the subset of Python that
# MicroPython and CPython share. Pure functions: no I/O, no allocation beyond
# small ints and the returned value. Every argument is checked: a bad one
# raises ValueError naming it.
#
# The tables (LoRaWAN Regional Parameters) and the time-on-air arithmetic
# (Semtech AN1200.13, in quarter symbols, so exact on an ESP32's single
# precision floats) are protocols/lora_core.py's, which a device imports
# alone, without the checks and the server-side counts of this module.
#
# SX126x radios (SX1261/2) give the same result for SF7..SF12; they compute
# SF5 and SF6 differently, so SF5 is not accepted and SF6 follows the SX127x
# datasheet (where SF6 is implicit-header only).
from protocols import lora_core
# LORAWAN_OVERHEAD, data_rate and max_payload are this module's API as they stand there.
from protocols.lora_core import (  # noqa: F401
    LORAWAN_OVERHEAD, check_flag, check_int, data_rate, max_payload, quarters, quarters_ms)

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

REGIONS = ("AS923", "EU868", "US915")

_MAX_PHY = const(255)      # LoRa PHY payload length register is one byte
_MAX_FOPTS = const(15)     # FCtrl.FOptsLen is four bits

# Bandwidths in Hz as the datasheets label them: the SX127x labels 7.8..62.5 kHz,
# the SX126x labels 7.81..41.67 kHz (Semtech's SX1261 LoRa Calculator computes
# with the label as given), and 125/250/500 kHz, the only ones LoRaWAN uses.
_BW_HZ = (7800, 7810, 10400, 10420, 15600, 15630, 20800, 20830, 31250,
          41670, 41700, 62500, 125000, 250000, 500000)


def _bw_hz(bw_khz):
    t = type(bw_khz)
    # The range check comes first so that NaN and infinities never reach int().
    if (t is int or t is float) and bw_khz > 0 and bw_khz <= 500:
        hz = int(bw_khz * 1000 + 0.5)
        if hz in _BW_HZ:
            return hz
    raise ValueError("bw_khz must be one of 7.8, 10.4, 15.6, 20.8, 31.25, 41.7, 62.5 "
                     "(or 7.81, 10.42, 15.63, 20.83, 41.67), 125, 250, 500; got " + repr(bw_khz))


def _quarters(phy_bytes, sf, bw_khz, cr, preamble, header, crc, ldro):
    # Checked arguments -> (total length in quarter symbols, bandwidth in Hz).
    check_int("phy_bytes", phy_bytes, 0, _MAX_PHY)
    check_int("sf", sf, 6, 12)
    bw_hz = _bw_hz(bw_khz)
    check_int("cr", cr, 5, 8)
    check_int("preamble", preamble, 1, 65535)
    check_flag("header", header, False)
    check_flag("crc", crc, False)
    check_flag("ldro", ldro, True)
    return quarters(phy_bytes, sf, bw_hz, cr, preamble, header, crc, ldro), bw_hz


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
    return quarters_ms(q, sf, bw_hz)


def payload_symbols(phy_bytes, sf, bw_khz=125, cr=5, header=True, crc=True, ldro=None):
    """Number of symbols (int) after the preamble and sync word: npayload of AN1200.13.

    Arguments as for airtime_ms; the bandwidth only matters for ldro=None.
    """
    q, bw_hz = _quarters(phy_bytes, sf, bw_khz, cr, 8, header, crc, ldro)
    return (q - 17) // 4 - 8


def _uplink_phy(app_bytes, fopts):
    check_int("fopts", fopts, 0, _MAX_FOPTS)
    return check_int("app_bytes", app_bytes, 0, _MAX_PHY - LORAWAN_OVERHEAD - fopts) + LORAWAN_OVERHEAD + fopts


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


def fits(app_bytes, region, dr, dwell=False, fopts=0):
    """Whether app_bytes of application payload plus fopts bytes of FOpts fit one frame at dr in region.

    Integer comparison against max_payload; False where the data rate is not
    allowed at all (AS923 DR0/DR1 with dwell time).
    """
    if type(app_bytes) is not int or app_bytes < 0:
        raise ValueError("app_bytes must be an int >= 0, got " + repr(app_bytes))
    check_int("fopts", fopts, 0, _MAX_FOPTS)
    return lora_core.fits(app_bytes + fopts, region, dr, dwell)
