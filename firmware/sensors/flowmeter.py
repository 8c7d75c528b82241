# Electromagnetic flow meter on Modbus RTU: the Microsensor MFE600E converter
# (Microsensor "MFE600E Operation Manual", chapter "Communication", Modbus RTU:
# table 13 "Parameter storage" and examples a) to t); the MFE600C manual has
# the same map). The register map is the common one of Chinese EMF
# converters: function code 03 (or 04), registers from 0x0000, one read of
# 0x1A registers (the manual's "read total data", 01 03 00 00 00 1A C4 01)
# gives flow, totals and alarms:
#   0x00 FLOAT  instantaneous flow, in the unit of 0x02
#   0x02 SHORT  flow unit: 0 m3/s, 1 m3/min, 2 m3/h, 3 L/s, 4 L/min, 5 L/h
#               (6 and up are mass units, which a water main never uses)
#   0x03 LONG   positive total, integer part (low: 0..999,999,999)
#   0x05 FLOAT  positive total, decimal part
#   0x07 SHORT  positive total unit: 0 m3, 1 L (our reading of the manual's
#               unit table; other units are reported as unknown)
#   0x08 LONG   reverse total, integer part; 0x0A FLOAT decimal part; 0x0C SHORT unit
#   0x0D..0x11 SHORT alarms (0/1): excitation, electrode, empty pipe, upper limit, lower limit
#   0x12 FLOAT  flow velocity, m/s
#   0x14 FLOAT  flow, percent of range; 0x16 FLOAT electrode resistance, kOhm
#   0x18 FLOAT  instrument diameter, mm
#   0x1A LONG   positive total, integer high part (x 1e9); 0x1C LONG reverse high
# Multi-byte values are big-endian, floats IEEE 754 single (high word first).
# Total = high * 1e9 + low + decimal (manual, "Total cumulative value calculation").
import struct

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_BLOCK = const(0x1A)       # registers in the manual's "read total data"
_HIGH = const(0x1A)        # positive total high part, and reverse high after it
_ALARMS = ("excitation", "electrode", "empty_pipe", "high_limit", "low_limit")
# litres in one unit of the totaliser unit register (codes 0, 1)
_TOTAL_L = (1000, 1)


def _float(regs, i):
    return struct.unpack(">f", struct.pack(">HH", regs[i], regs[i + 1]))[0]


def _long(regs, i):
    return (regs[i] << 16) | regs[i + 1]


def decode(block, high):
    # block: the 0x1A registers from 0x0000; high: the 4 from 0x001A.
    # Returns the reading as a dict (see FlowMeter.read).
    unit = block[2]
    flow = _float(block, 0)
    # litres per second in one unit of the flow unit register (codes 0..5);
    # made here, at the one read per wake, not kept by the module
    lps = (1000.0, 1000.0 / 60, 1000.0 / 3600, 1.0, 1.0 / 60, 1.0 / 3600)
    flow_lps = flow * lps[unit] if unit < len(lps) else None
    out = {"flow": flow_lps, "flow_raw": flow, "flow_unit": unit,
           "velocity": _float(block, 0x12), "percent": _float(block, 0x14)}
    for name, low, frac, unit_reg, hi in (("total", 3, 5, 7, 0), ("reverse", 8, 0x0A, 0x0C, 2)):
        whole = _long(high, hi) * 1000000000 + _long(block, low)
        part = _float(block, frac)
        u = block[unit_reg]
        if u < len(_TOTAL_L):
            litres = whole * _TOTAL_L[u] + int(part * _TOTAL_L[u] + 0.5)
            out[name + "_l"] = litres
            out[name + "_m3"] = litres / 1000
        else:
            out[name + "_l"] = None
            out[name + "_m3"] = None
    alarms = []
    for i in range(len(_ALARMS)):
        if block[0x0D + i]:
            alarms.append(_ALARMS[i])
    out["alarms"] = alarms
    return out


class FlowMeter:
    # master: a radio.modbus.ModbusMaster; unit: the meter's Modbus address.
    def __init__(self, master, unit=1):
        self.master = master
        self.unit = unit

    def read(self):
        # One reading: {"flow": L/s (None for a mass unit), "total_m3",
        # "total_l" (forward totaliser), "reverse_m3", "reverse_l",
        # "velocity": m/s, "percent", "alarms": [names], and the raw flow
        # value and unit code}. Raises the master's Modbus errors.
        block = self.master.read_holding(self.unit, 0, _BLOCK)
        high = self.master.read_holding(self.unit, _HIGH, 4)
        return decode(block, high)
