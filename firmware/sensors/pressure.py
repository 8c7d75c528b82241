# A 4 to 20 mA pressure transducer (two-wire loop) read as the voltage across
# a shunt resistor by an ADS1115 (passed in: sensors.ads1115.ADS1115).
#
# Current = volts / shunt; pressure is linear from 4 mA (range low) to 20 mA
# (range high). Loop faults follow NAMUR NE 43 ("Standardization of the
# signal level for the failure information of digital transmitters", 2003):
# below 3.6 mA the loop is open (a cut wire, a dead transmitter) and above
# 21 mA it is shorted; both raise LoopError, never a pressure. Between the
# fault limits and 4/20 mA (3.6..3.8, 20.5..21 mA) the value is over range but
# still a measurement and is reported as read.
#
# Shunt and gain: 150 ohm puts 4..20 mA at 0.6..3.0 V and 21 mA at 3.15 V,
# inside the ADS1115's +-4.096 V full-scale range (TI SBAS444, 9.3.3 Full-Scale
# Range, PGA 001: the driver's gain=1); the loop supply must allow the
# shunt's 3.15 V drop.

OPEN_LOOP_MA = 3.6
SHORT_MA = 21.0


class LoopError(Exception):
    # The 4-20 mA loop is open or shorted: no pressure can be read.
    def __init__(self, what, current_ma):
        super().__init__("pressure loop %s: %.2f mA" % (what, current_ma))
        self.what = what
        self.current_ma = current_ma


class PressureTransducer:
    def __init__(self, adc, channel=0, shunt_ohm=150.0, low_kpa=0.0, high_kpa=1600.0, gain=1):
        self.adc = adc
        self.channel = channel
        self.shunt_ohm = shunt_ohm
        self.low_kpa = low_kpa
        self.high_kpa = high_kpa
        self.gain = gain

    def current_ma(self):
        return self.adc.read_volts(self.channel, gain=self.gain) * 1000.0 / self.shunt_ohm

    def kpa_from_ma(self, ma):
        # kPa for a loop current; LoopError outside NAMUR NE 43's limits.
        if ma < OPEN_LOOP_MA:
            raise LoopError("open", ma)
        if ma > SHORT_MA:
            raise LoopError("shorted", ma)
        return self.low_kpa + (ma - 4.0) * (self.high_kpa - self.low_kpa) / 16.0

    def read_kpa(self):
        return self.kpa_from_ma(self.current_ma())
