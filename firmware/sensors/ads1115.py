# TI ADS1115: 16-bit delta-sigma ADC with PGA and 4-input mux, on I2C.
# Datasheet: TI SBAS444D (May 2009, rev. January 2018), "ADS111x Ultra-Small,
# Low-Power, I2C-Compatible, 860-SPS, 16-Bit ADCs":
#   9.6.1 pointer register (0 conversion, 1 config, 2 Lo_thresh, 3 Hi_thresh);
#   9.6.3 config register (OS, MUX, PGA, MODE, DR, comparator; reset 0x8583);
#   9.3.3 full-scale range and LSB = FSR / 2**15;
#   9.3.6 conversion time = 1 / DR;
#   9.4.2.1 single-shot mode: write OS=1, wait until OS reads 1, read the result.
# Registers are 16 bits, most significant byte first; the result is two's complement.
#
#   adc = ADS1115(i2c, address=0x48)
#   adc.read_volts(0)                  # AIN0 against GND, +-4.096 V range
#   adc.read_volts(2, gain=4)          # AIN2, +-1.024 V range
#   adc.read_differential(0, 1)        # AIN0 - AIN1
import struct
import time

from sensors import SensorError, bus_error

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_REG_CONVERSION = const(0x00)
_REG_CONFIG = const(0x01)
_OS = const(0x8000)          # write: start a single conversion; read: 1 = idle
_MODE_SINGLE = const(0x0100)
_COMP_DISABLE = const(0x0003)  # COMP_QUE = 11: comparator off, ALERT/RDY high-Z
_POLL_LIMIT = const(20)

# data rate in samples per second, index = DR bits (9.6.3)
RATES = (8, 16, 32, 64, 128, 250, 475, 860)
# differential (positive, negative) pairs, index = MUX bits 0..3 (9.6.3); AINx
# against GND is MUX 4 + x
_PAIRS = ((0, 1), (0, 3), (1, 3), (2, 3))


def _pga(gain):
    # (PGA bits, full-scale range in volts) of a gain, as the PGA's usual
    # naming has them (9.3.3, table 3): 2/3 is +-6.144 V, then 1, 2, 4, 8, 16
    # halve the range from +-4.096 V; None for any other gain.
    if abs(gain - 0.6667) < 0.01:
        return 0, 6.144
    bits = 1
    for fsr in (4.096, 2.048, 1.024, 0.512, 0.256):
        if abs((1 << (bits - 1)) - gain) < 0.01:
            return bits, fsr
        bits += 1
    return None


class ADS1115:
    def __init__(self, i2c, address=0x48, rate=128):
        if rate not in RATES:
            raise ValueError("ads1115: rate must be one of %s" % (RATES,))
        self.i2c = i2c
        self.address = address
        self.dr = RATES.index(rate)
        self.rate = rate
        self.buf = bytearray(2)
        self.out = bytearray(2)      # register value to write, reused

    def _write(self, reg, value):
        try:
            self.out[0] = value >> 8
            self.out[1] = value & 0xFF
            self.i2c.writeto_mem(self.address, reg, self.out)
        except OSError as e:
            raise bus_error("ads1115", e)

    def _read(self, reg):
        try:
            self.i2c.readfrom_mem_into(self.address, reg, self.buf)
        except OSError as e:
            raise bus_error("ads1115", e)
        return self.buf

    def _convert(self, mux, gain):
        g = _pga(gain)
        if g is None:
            raise ValueError("ads1115: gain must be 2/3, 1, 2, 4, 8 or 16")
        pga, full = g
        # single-shot: OS=1 starts one conversion, then the device powers down (9.4.2.1)
        self._write(_REG_CONFIG, _OS | (mux << 12) | (pga << 9) | _MODE_SINGLE | (self.dr << 5) | _COMP_DISABLE)
        time.sleep_ms(1000 // self.rate + 1)   # one conversion period (9.3.6), plus the oscillator's 10 %
        for _ in range(_POLL_LIMIT):
            if self._read(_REG_CONFIG)[0] & 0x80:     # OS reads 1: conversion done
                raw = struct.unpack(">h", self._read(_REG_CONVERSION))[0]
                return raw * full / 32768
            time.sleep_ms(1)
        raise SensorError("ads1115", "timeout")

    def read_volts(self, channel, gain=1):
        # AINx against GND, in volts.
        if channel not in (0, 1, 2, 3):
            raise ValueError("ads1115: channel must be 0..3")
        return self._convert(4 + channel, gain)

    def read_differential(self, positive, negative, gain=1):
        # AINp - AINn, in volts; the pairs the mux has: (0,1) (0,3) (1,3) (2,3).
        pair = (positive, negative)
        if pair not in _PAIRS:
            raise ValueError("ads1115: no such input pair")
        return self._convert(_PAIRS.index(pair), gain)
