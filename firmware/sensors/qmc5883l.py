# QST QMC5883L 3-axis magnetometer on I2C (address 0x0D).
# Datasheet: QST QMC5883L "3-Axis Magnetic Sensor" rev. 1.0 (2016-02):
#   9.1 register map: 00H-05H X/Y/Z output, LSB first, two's complement;
#       06H status (DRDY bit 0, OVL bit 1, DOR bit 2); 07H-08H temperature
#       (100 LSB/degC, offset not calibrated); 09H control 1 (OSR[7:6],
#       RNG[5:4], ODR[3:2], MODE[1:0]); 0AH control 2 (SOFT_RST bit 7,
#       ROL_PNT bit 6, INT_ENB bit 0); 0BH SET/RESET period (write 0x01);
#       0DH chip id (0xFF).
#   2.1 sensitivity: 12000 LSB/G at +-2 G, 3000 LSB/G at +-8 G.
#   7.1 modes: standby and continuous only; for low power the driver
#       measures in continuous mode until DRDY, then returns to standby.
# Output in microtesla (1 G = 100 uT) and a relative temperature in degC.
import struct
import time

from sensors import SensorError, bus_error

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

ADDRESS = const(0x0D)
_REG_DATA = const(0x00)
_REG_STATUS = const(0x06)
_REG_CTRL1 = const(0x09)
_REG_CTRL2 = const(0x0A)
_REG_SET_RESET = const(0x0B)
_REG_CHIP_ID = const(0x0D)
_CHIP_ID = const(0xFF)
_DRDY = const(0x01)
_OVL = const(0x02)
_SOFT_RST = const(0x80)
# control 1: OSR 512 (00), RNG 2 G (00), ODR 50 Hz (01), MODE continuous (01)
_CTRL1_RUN = const(0x05)
_CTRL1_STANDBY = const(0x04)
_LSB_PER_UT = const(120)      # 12000 LSB/G at 2 G
_WAIT_MS = const(25)          # one 50 Hz period (20 ms) and margin
_POLLS = const(10)


class QMC5883L:
    def __init__(self, i2c, address=ADDRESS):
        self.i2c = i2c
        self.address = address
        self.buf = bytearray(9)
        self.one = bytearray(1)
        self.ready = False

    def _write(self, reg, value):
        self.one[0] = value
        try:
            self.i2c.writeto_mem(self.address, reg, self.one)
        except OSError as e:
            raise bus_error("qmc5883l", e)

    def _read(self, reg, buf):
        try:
            self.i2c.readfrom_mem_into(self.address, reg, buf)
        except OSError as e:
            raise bus_error("qmc5883l", e)
        return buf

    def init(self):
        # Soft reset, then the SET/RESET period the datasheet asks for (9.2.4),
        # and standby. Pointer roll-over stays off, so one 9-byte read takes
        # the field, the status and the temperature (00H-08H).
        if self._read(_REG_CHIP_ID, self.one)[0] != _CHIP_ID:
            raise SensorError("qmc5883l", "bad id")
        self._write(_REG_CTRL2, _SOFT_RST)
        time.sleep_ms(1)
        self._write(_REG_SET_RESET, 0x01)
        self._write(_REG_CTRL2, 0)
        self._write(_REG_CTRL1, _CTRL1_STANDBY)
        self.ready = True

    def read(self):
        # One measurement: (x, y, z) in uT and the relative temperature in degC.
        if not self.ready:
            self.init()
        self._write(_REG_CTRL1, _CTRL1_RUN)
        time.sleep_ms(_WAIT_MS)
        buf = self.buf
        for _ in range(_POLLS):
            self._read(_REG_DATA, buf)
            if buf[6] & _DRDY:
                break
            time.sleep_ms(5)
        else:
            self._write(_REG_CTRL1, _CTRL1_STANDBY)
            raise SensorError("qmc5883l", "timeout")
        self._write(_REG_CTRL1, _CTRL1_STANDBY)
        if buf[6] & _OVL:
            raise SensorError("qmc5883l", "overflow")
        x, y, z = struct.unpack("<hhh", buf)
        t = struct.unpack("<h", buf[7:9])[0]
        return x / _LSB_PER_UT, y / _LSB_PER_UT, z / _LSB_PER_UT, t / 100
