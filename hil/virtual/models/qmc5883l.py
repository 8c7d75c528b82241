# QST QMC5883L 3-axis magnetometer as seen on the I2C bus (datasheet QMC5883L
# rev. 1.0, 2016-02, section 9): registers 00H-05H X/Y/Z LSB first, 06H status
# (DRDY set when a new sample is ready, cleared when the data registers are
# read; OVL when an axis is beyond the range; DOR when a sample was skipped),
# 07H-08H temperature at 100 LSB/degC, 09H control 1 (OSR, RNG, ODR, MODE),
# 0AH control 2 (SOFT_RST resets the registers, ROL_PNT keeps the pointer in
# 00H-06H), 0BH SET/RESET period, 0DH chip id 0xFF. In standby no new samples
# are made; in continuous mode one every 1/ODR (10, 50, 100, 200 Hz).
#
# Scenario entry:
#   {"model": "qmc5883l", "address": 13,
#    "tracks": {"x": {"initial": 12.0}, "y": {"initial": -3.5},
#               "z": {"initial": 41.0, "timeline": [{"at": "+1h", "value": 80.0}]},
#               "temp": {"initial": 25.0}},
#    "noise": 0.2}                       # uT, uniform, seeded
# Field in microtesla (the chip's frame), temperature in degC; "missing" as in ads1115.
import struct

from i2cbase import RegisterDevice

_ODR_HZ = (10, 50, 100, 200)
_LSB_PER_UT = (120, 30)   # 12000 LSB/G at 2 G, 3000 LSB/G at 8 G
_RANGE_UT = (200, 800)


class Device(RegisterDevice):
    ADDRESS = 0x0D
    NREGS = 16

    def __init__(self, spec, world):
        super().__init__(spec, world)
        self.noise = float(spec.get("noise", 0.0))
        self._reset()
        self.samples = 0

    def _reset(self):
        self.regs[:] = bytes(self.NREGS)
        self.regs[0x0D] = 0xFF
        self.next_sample = None


    def _sample(self):
        ctrl = self.regs[0x09]
        rng = (ctrl >> 4) & 1
        scale, limit = _LSB_PER_UT[rng], _RANGE_UT[rng]
        out = []
        ovl = False
        for axis in "xyz":
            v = float(self.track(axis, 0.0) or 0.0)
            if self.noise:
                v += self.rng.uniform(-self.noise, self.noise)
            if abs(v) >= limit:
                ovl = True
            out.append(max(-32768, min(32767, int(round(v * scale)))))
        t = int(round(float(self.track("temp", 25.0)) * 100))
        self.regs[0:6] = struct.pack("<hhh", *out)
        self.regs[7:9] = struct.pack("<h", max(-32768, min(32767, t)))
        status = self.regs[6] & 0x01   # DRDY still set: the previous sample was never read
        self.regs[6] = 0x01 | (0x02 if ovl else 0) | (0x04 if status else 0)
        self.samples += 1

    def update(self, now_ms):
        ctrl = self.regs[0x09]
        if ctrl & 0x03 != 0x01:
            self.next_sample = None
            return
        if self.next_sample is None:
            return
        if now_ms >= self.next_sample:
            self._sample()
            period = 1000.0 / _ODR_HZ[(ctrl >> 2) & 3]
            while self.next_sample <= now_ms:
                self.next_sample += period

    def write_reg(self, reg, value):
        reg %= self.NREGS
        if reg == 0x0A and value & 0x80:
            self._reset()
            return
        if reg in (0x09, 0x0A, 0x0B):
            was = self.regs[0x09]
            self.regs[reg] = value
            if reg == 0x09 and value & 0x03 == 0x01 and was & 0x03 != 0x01:
                # the first sample is ready one output period after continuous mode starts
                self.next_sample = self.now_ms() + 1000.0 / _ODR_HZ[(value >> 2) & 3]

    def read(self, n):
        self.update(self.now_ms())
        out = bytearray(n)
        rol = self.regs[0x0A] & 0x40
        read_data = False
        for i in range(n):
            if self.pointer <= 5:
                read_data = True
            out[i] = self.regs[self.pointer % self.NREGS]
            self.pointer += 1
            if rol and self.pointer == 7:
                self.pointer = 0
            self.pointer %= self.NREGS
        if read_data:
            self.regs[6] &= ~0x05 & 0xFF   # reading the data clears DRDY and DOR
        return bytes(out)
