# ST VL53L0X time-of-flight sensor as seen on the I2C bus (ST DS11555 rev 2,
# and the register traffic of the VL53L0X API 1.0.2's DataInit, RefCalibration
# and single ranging): 8-bit registers, 16-bit values MSB first, model id 0xEE
# at 0xC0. Writing 0x80=1, 0xFF=1, 0x00=0 opens the private page where 0x91 is
# the "stop variable"; a ranging start (0x00 bit 0) completes after the timing
# budget (33 ms) with RESULT_INTERRUPT_STATUS (0x13) = 4, the range status in
# 0x14 bits 6:3 (11 valid, 4 out of range) and the range in 0x1E. The start
# bit reads back 0 once the measurement started. Ranges are valid only after
# the VHV and phase reference calibrations ran (0x01 = 0x01 / 0x02 with a
# start) and with the stop variable restored before the start; otherwise the
# status reads 0 ("none"), as an uncalibrated chip's garbage would fail.
# Not modelled: SPADs, timing budget registers, signal rates, crosstalk.
#
# Scenario entry:
#   {"model": "vl53l0x", "address": 41,
#    "tracks": {"distance_mm": {"initial": 60, "timeline": [{"at": "+3d", "value": 180, "ramp": true}]}},
#    "noise": 3, "max_mm": 2000}
# A distance beyond max_mm (or null) reads out of range.
from i2cbase import RegisterDevice

_STOP_VARIABLE = 0x3C
_BUDGET_MS = 33


class Device(RegisterDevice):
    ADDRESS = 0x29

    def __init__(self, spec, world):
        super().__init__(spec, world)
        self.regs[0xC0] = 0xEE
        self.regs[0xC1] = 0xAA
        self.regs[0xC2] = 0x10
        self.regs[0x89] = 0x00
        self.regs[0x60] = 0x00
        self.page = {0x91: _STOP_VARIABLE}
        self.private = False
        self.stop_restored = False
        self.calibrated = set()
        self.done_at = None
        self.kind = None
        self.noise = float(spec.get("noise", 0.0))
        self.max_mm = int(spec.get("max_mm", 2000))
        self.ranges = 0


    def _private(self):
        return self.regs[0x80] == 1 and self.regs[0xFF] == 1

    def read_reg(self, reg):
        if self._private() and reg not in (0x80, 0xFF):
            return self.page.get(reg, 0)
        return self.regs[reg]

    def write_reg(self, reg, value):
        if self._private() and reg not in (0x80, 0xFF):
            if reg == 0x91:
                self.stop_restored = value == self.page[0x91]
            else:
                self.page[reg] = value
            return
        self.regs[reg] = value
        if reg == 0x0B and value & 1:
            self.regs[0x13] = 0
        if reg == 0x00 and value & 1:
            seq = self.regs[0x01]
            if value & 0x40 and seq == 0x01:
                self.kind = "vhv"
            elif seq == 0x02:
                self.kind = "phase"
            else:
                self.kind = "range"
            self.done_at = self.now_ms() + _BUDGET_MS

    def update(self, now_ms):
        if self.done_at is None:
            return
        self.regs[0x00] &= ~0x01 & 0xFF          # started: the start bit clears
        if now_ms < self.done_at:
            return
        self.done_at = None
        if self.kind in ("vhv", "phase"):
            self.calibrated.add(self.kind)
        else:
            d = self.track("distance_mm", None)
            if len(self.calibrated) < 2 or not self.stop_restored:
                status, mm = 0, 20
            elif d is None or d > self.max_mm:
                status, mm = 4, 8190
            else:
                if self.noise:
                    d += self.rng.uniform(-self.noise, self.noise)
                status, mm = 11, max(0, int(round(d)))
            self.regs[0x14] = status << 3
            self.regs[0x1E] = mm >> 8
            self.regs[0x1F] = mm & 0xFF
            self.ranges += 1
            self.stop_restored = False
        self.regs[0x13] = 0x04

