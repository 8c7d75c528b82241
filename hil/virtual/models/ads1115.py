# TI ADS1115 16-bit ADC as seen on the I2C bus (datasheet TI SBAS444D, 2018):
# a pointer register selects one of four 16-bit registers (9.6.1), written and
# read most significant byte first; config (9.6.3) resets to 0x8583 (single-
# shot, +-2.048 V, 128 SPS, comparator off). In single-shot mode writing OS=1
# starts a conversion: OS reads 0 for one conversion period (1/DR, 9.3.6), then
# 1, and the conversion register holds the input sampled at the end of it. In
# continuous mode (MODE=0) the conversion register follows the input at the
# data rate. Codes are FSR/2**15 steps, clamped to -32768..32767 (9.3.3).
# The comparator and ALERT/RDY pin are not modelled (Lo/Hi_thresh are plain
# registers).
#
# Scenario entry (on an I2C bus of the scenario's "i2c"):
#   {"model": "ads1115", "address": 72,
#    "tracks": {"ain0": {"initial": 1.2, "timeline": [{"at": "+1h", "value": 1.5, "ramp": true}]},
#               "ain1": {"initial": 0.4}},
#    "noise": 0.0005}                  # volts, uniform, seeded
# A track (or a plain value) "missing" of 1 takes the chip off the bus from
# then on (OSError 19, as a real ESP32 reports a NACK), e.g.
#    "tracks": {..., "missing": {"initial": 0, "timeline": [{"at": "+2h", "value": 1}]}}
# Input voltages are in volts against GND; an input with no track reads 0 V.
import struct

from i2cbase import I2CDevice

_FSR = (6.144, 4.096, 2.048, 1.024, 0.512, 0.256, 0.256, 0.256)
_RATES = (8, 16, 32, 64, 128, 250, 475, 860)
# MUX -> (positive input, negative input or None for GND)
_MUX = ((0, 1), (0, 3), (1, 3), (2, 3), (0, None), (1, None), (2, None), (3, None))


class Device(I2CDevice):
    ADDRESS = 0x48

    def __init__(self, spec, world):
        super().__init__(spec, world)
        self.pointer = 0
        self.regs = [0, 0x8583, 0x8000, 0x7FFF]  # conversion, config, Lo_thresh, Hi_thresh (reset values)
        self.busy_until = None
        self.noise = float(spec.get("noise", 0.0))
        self.conversions = 0

    def _volts(self, mux):
        p, n = _MUX[mux]
        v = self.track("ain%d" % p, 0.0) or 0.0
        if n is not None:
            v -= self.track("ain%d" % n, 0.0) or 0.0
        if self.noise:
            v += self.rng.uniform(-self.noise, self.noise)
        return v

    def _sample(self):
        cfg = self.regs[1]
        fsr = _FSR[(cfg >> 9) & 7]
        code = int(round(self._volts((cfg >> 12) & 7) / fsr * 32768))
        self.regs[0] = max(-32768, min(32767, code)) & 0xFFFF
        self.conversions += 1

    def _period_ms(self):
        return 1000.0 / _RATES[(self.regs[1] >> 5) & 7]

    def _settle(self):
        now = self.now_ms()
        if self.busy_until is not None and now >= self.busy_until:
            self.busy_until = None
            self._sample()
            self.regs[1] |= 0x8000      # OS: idle again, powered down
        if not self.regs[1] & 0x0100:   # continuous conversion: always fresh
            self._sample()

    def write(self, data):
        if not data:
            return
        self.pointer = data[0] & 3
        if len(data) >= 3:
            value = (data[1] << 8) | data[2]
            if self.pointer == 1:
                self._settle()
                start = value & 0x8000 and value & 0x0100 and self.busy_until is None
                self.regs[1] = value & 0x7FFF | (self.regs[1] & 0x8000)
                if start:
                    # the conversion runs for one period; OS reads 0 meanwhile
                    self.regs[1] &= 0x7FFF
                    self.busy_until = self.now_ms() + self._period_ms()
                elif not value & 0x0100:
                    self.regs[1] &= 0x7FFF  # continuous mode: always converting
            elif self.pointer in (2, 3):
                self.regs[self.pointer] = value

    def read(self, n):
        self._settle()
        word = struct.pack(">H", self.regs[self.pointer])
        return bytes(word[i % 2] for i in range(n))
