# X-Powers AXP192 power management unit on I2C (address 0x34). The LilyGO
# T-Beam v1.0/v1.1 has no battery ADC pin: its 18650 cell is measured here.
# Datasheet: X-Powers AXP192 "Enhanced single Cell Li-Battery and Power
# System Management IC" v1.1:
#   REG 00H input power status: bit 7 ACIN present, bit 5 VBUS present,
#       bit 2 battery current direction (1 = charging).
#   REG 01H power mode / charge status: bit 6 charging, bit 5 battery present.
#   REG 03H IC type: 0x03 for the AXP192.
#   REG 82H ADC enable 1: bit 7 battery voltage ADC (on at reset, 0x83).
#   REG 84H ADC sample rate in bits 7:6: 25, 50, 100 or 200 Hz.
#   REG 78H-79H battery voltage: 12 bits, the high 8 in 78H and the low 4 in
#       79H[3:0], 1.1 mV per step (0 to 4.5045 V).
# Only the read side the firmware needs: the rails (LDO2 LoRa, LDO3 GNSS) are
# left as the board's boot sequence set them.
import time

from sensors import SensorError, bus_error

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

ADDRESS = const(0x34)
_REG_POWER = const(0x00)
_REG_CHARGE = const(0x01)
_REG_IC_TYPE = const(0x03)
_REG_BATT_V = const(0x78)
_REG_ADC_EN1 = const(0x82)
_REG_ADC_RATE = const(0x84)
_IC_TYPE = const(0x03)
_ADC_BATT_V = const(0x80)
_ACIN = const(0x80)
_VBUS = const(0x20)
_CHARGING = const(0x40)
_BATT_PRESENT = const(0x20)
_RATES_HZ = (25, 50, 100, 200)


class AXP192:
    def __init__(self, i2c, address=ADDRESS):
        self.i2c = i2c
        self.address = address
        self.one = bytearray(1)
        self.two = bytearray(2)
        self.ready = False

    def _read(self, reg, buf):
        try:
            self.i2c.readfrom_mem_into(self.address, reg, buf)
        except OSError as e:
            raise bus_error("axp192", e)
        return buf

    def _reg(self, reg):
        return self._read(reg, self.one)[0]

    def init(self):
        # Check the part, and switch the battery voltage ADC on if an earlier
        # owner switched it off; its first sample then takes one ADC period.
        if self._reg(_REG_IC_TYPE) != _IC_TYPE:
            raise SensorError("axp192", "bad id")
        enabled = self._reg(_REG_ADC_EN1)
        if not enabled & _ADC_BATT_V:
            self.one[0] = enabled | _ADC_BATT_V
            try:
                self.i2c.writeto_mem(self.address, _REG_ADC_EN1, self.one)
            except OSError as e:
                raise bus_error("axp192", e)
            rate = _RATES_HZ[self._reg(_REG_ADC_RATE) >> 6]
            time.sleep_ms(1000 // rate + 1)
        self.ready = True

    def battery_present(self):
        if not self.ready:
            self.init()
        return bool(self._reg(_REG_CHARGE) & _BATT_PRESENT)

    def battery_mv(self):
        # The cell voltage in mV; 0 when no cell is in the holder (the ADC
        # then reads the charger's output, not a battery).
        if not self.battery_present():
            return 0
        b = self._read(_REG_BATT_V, self.two)
        return ((b[0] << 4) | (b[1] & 0x0F)) * 11 // 10

    def charging(self):
        if not self.ready:
            self.init()
        return bool(self._reg(_REG_CHARGE) & _CHARGING)

    def external_power(self):
        # USB (VBUS) or ACIN present.
        if not self.ready:
            self.init()
        return bool(self._reg(_REG_POWER) & (_ACIN | _VBUS))
