# X-Powers AXP192 power management unit as seen on the I2C bus (datasheet
# AXP192 v1.1): REG 00H input power status (bit 7 ACIN present, bit 6 ACIN
# usable, bit 5 VBUS present, bit 4 VBUS usable, bit 2 battery charging),
# REG 01H charge status (bit 6 charging, bit 5 battery present), REG 03H IC
# type 0x03, REG 82H ADC enable 1 (reset 0x83: battery voltage, APS voltage
# and TS pin on), REG 84H ADC rate in bits 7:6 (25/50/100/200 Hz), REG
# 78H-79H battery voltage, 12 bits at 1.1 mV, high 8 bits first. The ADC
# result registers change only at the sample rate while the channel is on;
# a channel switched on gives its first sample one period later. With no
# cell in the holder the channel reads 0. The rails, coulomb counter, IRQs
# and the other ADC channels are plain registers.
#
# Scenario entry (on an I2C bus of the scenario, or the board file's
# "virtual" "i2c" defaults):
#   {"model": "axp192", "address": 52,
#    "tracks": {"battery": {"initial": 3.92, "timeline": [{"at": "+6h", "value": 3.7, "ramp": true}]},
#               "present": {"initial": 1}, "vbus": {"initial": 0}, "charging": {"initial": 0}}}
# battery in volts; "missing" as in ads1115.
from i2cbase import RegisterDevice

_RATES = (25, 50, 100, 200)
_BATT_V = 0x78
_ADC_EN1 = 0x82


class Device(RegisterDevice):
    ADDRESS = 0x34
    NREGS = 256

    def __init__(self, spec, world):
        super().__init__(spec, world)
        self.regs[0x03] = 0x03
        self.regs[_ADC_EN1] = 0x83
        self.regs[0x84] = 0x30
        self.samples = 0
        self._sample()     # the ADC has been running since power-on
        self.next_sample = self.now_ms() + self._period_ms()


    def _period_ms(self):
        return 1000.0 / _RATES[self.regs[0x84] >> 6]

    def _sample(self):
        volts = float(self.track("battery", 3.9) or 0.0) if self.track("present", 1) else 0.0
        code = max(0, min(0xFFF, int(round(volts * 1000 / 1.1))))
        self.regs[_BATT_V] = code >> 4
        self.regs[_BATT_V + 1] = code & 0x0F
        self.samples += 1

    def update(self, now_ms):
        if not self.regs[_ADC_EN1] & 0x80:
            self.next_sample = None
            return
        if self.next_sample is None or now_ms < self.next_sample:
            return
        self._sample()
        period = self._period_ms()
        while self.next_sample <= now_ms:
            self.next_sample += period

    def read_reg(self, reg):
        reg %= self.NREGS
        if reg == 0x00:
            vbus = 0x30 if self.track("vbus", 0) else 0
            acin = 0xC0 if self.track("acin", 0) else 0
            return acin | vbus | (0x04 if self._charging() else 0)
        if reg == 0x01:
            return (0x40 if self._charging() else 0) | (0x20 if self.track("present", 1) else 0)
        return self.regs[reg]

    def _charging(self):
        return bool(self.track("charging", 0)) and bool(self.track("present", 1))

    def write_reg(self, reg, value):
        reg %= self.NREGS
        if reg in (0x00, 0x01, 0x03, _BATT_V, _BATT_V + 1):
            return    # read-only
        was = self.regs[reg]
        self.regs[reg] = value
        if reg == _ADC_EN1 and value & 0x80 and not was & 0x80:
            self.next_sample = self.now_ms() + self._period_ms()

