# The exceptions of the Modbus RTU master (radio/modbus.py, which reads them
# from here through its __getattr__). A module of their own: on MicroPython
# each class costs heap from its import on, and a wake that reads its meter
# without a fault raises none of them.


class ModbusError(Exception):
    pass


class ModbusException(ModbusError):
    # The meter answered with an exception response.
    def __init__(self, code, function=0, unit=0):
        # the names of Application Protocol section 7, by code (7 and 9 are none)
        names = ("", "illegal function", "illegal data address", "illegal data value", "server device failure",
                 "acknowledge", "server device busy", "", "memory parity error", "", "gateway path unavailable",
                 "gateway target device failed to respond")
        name = names[code] if 0 <= code < len(names) else ""
        super().__init__("unit %d function %d: exception %d (%s)" % (unit, function, code, name or "unknown"))
        self.code = code
        self.function = function
        self.unit = unit


class ModbusTimeout(ModbusError):
    # No complete answer within the timeout, after every retry.
    pass


class ModbusCRCError(ModbusError):
    # An answer arrived but its CRC was wrong, after every retry.
    pass


class ModbusFrameError(ModbusError):
    # An answer with a good CRC that does not answer the request (wrong unit,
    # function, byte count or echo).
    pass
