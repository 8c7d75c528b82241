# ST VL53L0X time-of-flight ranging sensor on I2C (address 0x29).
# Sources: ST DS11555 "VL53L0X World's smallest Time-of-Flight ranging and
# gesture detection sensor" rev 2 (registers are 8-bit addresses, 16-bit values
# most significant byte first; model id 0xC0 reads 0xEE), and ST UM2039 /
# the VL53L0X API 1.0.2 (VL53L0X_DataInit, VL53L0X_StaticInit,
# VL53L0X_PerformRefCalibration, VL53L0X_PerformSingleRangingMeasurement),
# whose register-level sequence is the one Pololu's vl53l0x-arduino follows.
#
# What this driver does, in the API's order:
#   DataInit: 2V8 I/O mode (0x89 bit 0), I2C standard mode (0x88 = 0), read
#     the "stop variable" from 0x91 behind the 0x80/0xFF/0x00 page sequence;
#     disable the MSRC and pre-range signal-rate limit checks (0x60 |= 0x12);
#     final-range signal-rate limit 0.25 MCPS (0x44, Q9.7).
#   StaticInit, simplified: new-sample-ready interrupt on GPIO1, active low
#     (0x0A = 4, 0x84 bit 4 clear), sequence steps DSS, pre-range and final
#     range (0x01 = 0xE8).
#   RefCalibration: VHV (0x01 = 0x01, start 0x41) then phase (0x01 = 0x02,
#     start 0x01), each waiting for the interrupt and clearing it.
#   Single ranging: restore the stop variable, start (0x00 = 1), wait for the
#     start bit to clear and the interrupt, read the range status (0x14) and
#     the range in mm (0x1E), clear the interrupt (0x0B = 1).
# Simplified against the API: no reference SPAD management (the SPAD map from
# NVM) and no default tuning settings blob; the timing budget stays at the
# chip's default (about 33 ms). Accuracy then is the chip's uncalibrated one,
# enough for a paper or soap level in centimetres.
import struct
import time

from sensors import SensorError, bus_error

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

ADDRESS = const(0x29)
_SYSRANGE_START = const(0x00)
_SYSTEM_SEQUENCE_CONFIG = const(0x01)
_SYSTEM_INTERRUPT_CONFIG_GPIO = const(0x0A)
_SYSTEM_INTERRUPT_CLEAR = const(0x0B)
_RESULT_INTERRUPT_STATUS = const(0x13)
_RESULT_RANGE_STATUS = const(0x14)
_RESULT_RANGE_MM = const(0x1E)       # RESULT_RANGE_STATUS + 10
_FINAL_RANGE_MIN_COUNT_RATE = const(0x44)
_MSRC_CONFIG_CONTROL = const(0x60)
_GPIO_HV_MUX_ACTIVE_HIGH = const(0x84)
_I2C_MODE = const(0x88)
_VHV_CONFIG_PAD_EXTSUP_HV = const(0x89)
_MODEL_ID = const(0xC0)
_POLLS = const(30)
_RANGE_VALID = const(11)              # DeviceRangeStatus 11: range valid (API)
OUT_OF_RANGE = const(8190)


class VL53L0X:
    def __init__(self, i2c, address=ADDRESS):
        self.i2c = i2c
        self.address = address
        self.one = bytearray(1)
        self.two = bytearray(2)
        self.stop = 0
        self.ready = False

    def _w(self, reg, value):
        self.one[0] = value
        try:
            self.i2c.writeto_mem(self.address, reg, self.one)
        except OSError as e:
            raise bus_error("vl53l0x", e)

    def _r(self, reg):
        try:
            self.i2c.readfrom_mem_into(self.address, reg, self.one)
        except OSError as e:
            raise bus_error("vl53l0x", e)
        return self.one[0]

    def _r16(self, reg):
        try:
            self.i2c.readfrom_mem_into(self.address, reg, self.two)
        except OSError as e:
            raise bus_error("vl53l0x", e)
        return struct.unpack(">H", self.two)[0]

    def _pages(self, inner):
        # The API's "private" page sequence around the stop variable.
        self._w(0x80, 0x01)
        self._w(0xFF, 0x01)
        self._w(0x00, 0x00)
        inner()
        self._w(0x00, 0x01)
        self._w(0xFF, 0x00)
        self._w(0x80, 0x00)

    def _wait_interrupt(self):
        for _ in range(_POLLS):
            if self._r(_RESULT_INTERRUPT_STATUS) & 0x07:
                return
            time.sleep_ms(5)
        raise SensorError("vl53l0x", "timeout")

    def _calibrate(self, sequence, start):
        self._w(_SYSTEM_SEQUENCE_CONFIG, sequence)
        self._w(_SYSRANGE_START, 0x01 | start)
        self._wait_interrupt()
        self._w(_SYSTEM_INTERRUPT_CLEAR, 0x01)
        self._w(_SYSRANGE_START, 0x00)

    def init(self):
        if self._r(_MODEL_ID) != 0xEE:
            raise SensorError("vl53l0x", "bad id")
        self._w(_VHV_CONFIG_PAD_EXTSUP_HV, self._r(_VHV_CONFIG_PAD_EXTSUP_HV) | 0x01)
        self._w(_I2C_MODE, 0x00)

        def read_stop():
            self.stop = self._r(0x91)
        self._pages(read_stop)
        self._w(_MSRC_CONFIG_CONTROL, self._r(_MSRC_CONFIG_CONTROL) | 0x12)
        self._w(_FINAL_RANGE_MIN_COUNT_RATE, 0x00)
        self._w(_FINAL_RANGE_MIN_COUNT_RATE + 1, 32)      # 0.25 MCPS in Q9.7
        self._w(_SYSTEM_INTERRUPT_CONFIG_GPIO, 0x04)
        self._w(_GPIO_HV_MUX_ACTIVE_HIGH, self._r(_GPIO_HV_MUX_ACTIVE_HIGH) & ~0x10)
        self._w(_SYSTEM_INTERRUPT_CLEAR, 0x01)
        self._calibrate(0x01, 0x40)   # VHV
        self._calibrate(0x02, 0x00)   # phase
        self._w(_SYSTEM_SEQUENCE_CONFIG, 0xE8)
        self.ready = True

    def read_mm(self):
        # One single-shot range in millimetres, or None when nothing is in range.
        if not self.ready:
            self.init()
        self._pages(lambda: self._w(0x91, self.stop))
        self._w(_SYSRANGE_START, 0x01)
        for _ in range(_POLLS):
            if not self._r(_SYSRANGE_START) & 0x01:
                break
            time.sleep_ms(1)
        else:
            raise SensorError("vl53l0x", "timeout")
        time.sleep_ms(30)             # the default timing budget, about 33 ms
        self._wait_interrupt()
        status = (self._r(_RESULT_RANGE_STATUS) >> 3) & 0x0F
        mm = self._r16(_RESULT_RANGE_MM)
        self._w(_SYSTEM_INTERRUPT_CLEAR, 0x01)
        if status != _RANGE_VALID or mm >= OUT_OF_RANGE:
            return None
        return mm

    def read_m(self):
        mm = self.read_mm()
        return None if mm is None else mm / 1000
