# Drives firmware/radio/modbus.py's ModbusMaster against a scripted line, on
# CPython and on the MicroPython unix port alike (called through the `interp`
# fixture): a fake UART answers each request with the next scripted answer.
import sys


def firmware_module(name):
    # Import a firmware module ("radio.modbus") on either interpreter. On the
    # MicroPython test server tests/ comes first on the module path, where
    # "firmware" and "radio" name test packages, so firmware/ is put first
    # for the import; on CPython it is firmware.<name> from the repository.
    if sys.implementation.name != "micropython":
        return __import__("firmware." + name, None, None, ["x"])
    saved = sys.path[:]
    sys.path[:] = [p for p in saved if p.endswith("firmware")] + saved
    try:
        return __import__(name, None, None, ["x"])
    finally:
        sys.path[:] = saved


modbus = firmware_module("radio.modbus")


def crc16(data):
    return modbus.crc16(data)


def build_request(unit, function, address, arg):
    return modbus.build_request(unit, function, address, arg)


def parse_response(request, frame):
    return modbus.parse_response(request, frame)


def silent_interval_us(baudrate):
    return modbus.silent_interval_us(baudrate)


class ScriptedUART:
    # answers: one entry per request written: bytes to deliver, or None for
    # silence; a list of bytes delivers chunks (all at once here).
    def __init__(self, answers, de):
        self.answers = list(answers)
        self.rx = b""
        self.written = []
        self.de = de
        self.de_at_write = []

    def write(self, buf):
        self.written.append(bytes(buf))
        self.de_at_write.append(self.de.level if self.de is not None else None)
        answer = self.answers.pop(0) if self.answers else None
        if answer is not None:
            self.rx += answer
        return len(buf)

    def flush(self):
        pass

    def any(self):
        return len(self.rx)

    def read(self, n=None):
        if not self.rx:
            return None
        if n is None:
            n = len(self.rx)
        out, self.rx = self.rx[:n], self.rx[n:]
        return out


class Pin:
    def __init__(self):
        self.level = None
        self.history = []

    def value(self, v=None):
        if v is None:
            return self.level
        self.level = v
        self.history.append(v)


def run(call, args, answers, retries=2, timeout_ms=20, de=True, baudrate=9600):
    # call: "read_holding", "read_input", "write_single", "write_multiple".
    # Returns {"result" or "error", "code", "written", "de", "de_at_write", counters}.
    pin = Pin() if de else None
    uart = ScriptedUART(answers, pin)
    m = modbus.ModbusMaster(uart, pin, timeout_ms=timeout_ms, retries=retries, baudrate=baudrate)
    out = {}
    try:
        out["result"] = getattr(m, call)(*args)
    except modbus.ModbusException as e:
        out["error"] = "ModbusException"
        out["code"] = e.code
        out["message"] = str(e)
    except modbus.ModbusError as e:
        out["error"] = type(e).__name__
        out["message"] = str(e)
    out["written"] = uart.written
    out["de"] = pin.history if pin else None
    out["de_at_write"] = uart.de_at_write
    out["counters"] = [m.sent, m.timeouts, m.crc_errors, m.exceptions]
    return out


def decode_flow(block, high):
    return firmware_module("sensors.flowmeter").decode(block, high)
