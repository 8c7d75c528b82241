# Modbus RTU master over an RS-485 half-duplex line.
#
# Follows "MODBUS over Serial Line, Specification and Implementation Guide
# V1.02" (modbus.org, 2006): RTU framing and the 3.5-character silent interval
# (section 2.5.1.1: t3.5 = 3.5 character times, fixed at 1.750 ms above 19200
# baud), CRC-16 appended low byte first (section 2.5.1.2 and appendix B), and
# "MODBUS Application Protocol Specification V1.1b3" for the PDUs of function
# codes 3, 4, 6 and 16 (sections 6.3, 6.4, 6.6, 6.12) and the exception
# responses (section 7: function code | 0x80, one exception code byte).
#
# Hardware is passed in: a configured machine.UART and, for a transceiver
# whose driver enable is not automatic, its DE (and /RE) pin, driven high while
# the master transmits. `open_bus(board)` builds both from board.json.
import struct

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

try:
    from time import ticks_ms, ticks_diff, ticks_add, sleep_ms, sleep_us
except ImportError:  # CPython (unit tests of the framing)
    import time as _t

    def ticks_ms():
        return int(_t.monotonic() * 1000)

    def ticks_diff(a, b):
        return a - b

    def ticks_add(a, b):
        return a + b

    def sleep_ms(ms):
        _t.sleep(ms / 1000)

    def sleep_us(us):
        _t.sleep(us / 1000000)

READ_HOLDING = const(3)
READ_INPUT = const(4)
WRITE_SINGLE = const(6)
WRITE_MULTIPLE = const(16)

_MAX_READ = const(125)      # registers per read (Application Protocol 6.3, 6.4)
_MAX_WRITE = const(123)     # registers per write multiple (6.12)
_MAX_ADU = const(256)       # RTU ADU limit (Serial Line 2.5.1)
_BITS_PER_CHAR = const(11)  # start, 8 data, parity or second stop, stop (Serial Line 2.5.1)


_ERRORS = ("ModbusError", "ModbusException", "ModbusTimeout", "ModbusCRCError", "ModbusFrameError")


def __getattr__(name):
    # modbus.ModbusTimeout and the rest: radio/modbus_errors.py, loaded now.
    if name in _ERRORS:
        from . import modbus_errors
        return getattr(modbus_errors, name)
    raise AttributeError(name)


def _error(name, *args):
    # An exception of radio/modbus_errors.py by its name, made to be raised.
    from . import modbus_errors
    return getattr(modbus_errors, name)(*args)


def crc16(data, n=None):
    # CRC-16/MODBUS (Serial Line appendix B): poly 0xA001 reflected, init 0xFFFF.
    # Returned as an int; on the wire it goes low byte first.
    crc = 0xFFFF
    if n is None:
        n = len(data)
    for i in range(n):
        crc ^= data[i]
        for _ in range(8):
            if crc & 1:
                crc = (crc >> 1) ^ 0xA001
            else:
                crc >>= 1
    return crc


def silent_interval_us(baudrate):
    # t3.5 (Serial Line 2.5.1.1): 3.5 characters of 11 bits, fixed at 1750 us
    # above 19200 baud where the timers would be too short to implement.
    if baudrate > 19200:
        return 1750
    return (35 * _BITS_PER_CHAR * 1000000 // baudrate + 9) // 10


def char_time_us(baudrate):
    return (_BITS_PER_CHAR * 1000000 + baudrate - 1) // baudrate


def _check_unit(unit):
    # 0 broadcast, 1..247 devices; 248..255 are reserved on a serial line
    # (Serial Line 2.2) but some gateways answer at 255, so any byte goes.
    if not isinstance(unit, int) or not 0 <= unit <= 255:
        raise ValueError("unit must be 0..255")


def _check_address(address, count):
    if not isinstance(address, int) or address < 0 or address + count > 0x10000:
        raise ValueError("address out of range")


def build_request(unit, function, address, arg):
    # The ADU (bytes) of a request. arg: the count for functions 3 and 4, the
    # value for 6, the list of values for 16.
    _check_unit(unit)
    if function in (READ_HOLDING, READ_INPUT):
        if not isinstance(arg, int) or not 1 <= arg <= _MAX_READ:
            raise ValueError("count must be 1..125")
        _check_address(address, arg)
        body = struct.pack(">BBHH", unit, function, address, arg)
    elif function == WRITE_SINGLE:
        _check_address(address, 1)
        if not isinstance(arg, int) or not 0 <= arg <= 0xFFFF:
            raise ValueError("value must be 0..65535")
        body = struct.pack(">BBHH", unit, function, address, arg)
    elif function == WRITE_MULTIPLE:
        n = len(arg)
        if not 1 <= n <= _MAX_WRITE:
            raise ValueError("1..123 values")
        _check_address(address, n)
        b = bytearray(struct.pack(">BBHHB", unit, function, address, n, 2 * n))
        for v in arg:
            if not isinstance(v, int) or not 0 <= v <= 0xFFFF:
                raise ValueError("value must be 0..65535")
            b.extend(struct.pack(">H", v))
        body = bytes(b)
    else:
        raise ValueError("function code not supported")
    c = crc16(body)
    return body + bytes((c & 0xFF, c >> 8))


def expected_length(frame, n):
    # Length of the response ADU whose first n bytes are in frame, or 0 when
    # more bytes are needed to tell.
    if n < 2:
        return 0
    fc = frame[1]
    if fc & 0x80:
        return 5
    if fc in (READ_HOLDING, READ_INPUT):
        if n < 3:
            return 0
        return 5 + frame[2]
    if fc in (WRITE_SINGLE, WRITE_MULTIPLE):
        return 8
    return -1  # a function we never asked for: cannot be framed by length


def parse_response(request, frame):
    # Check a complete response ADU against its request; return the register
    # values (reads), [value] (write single), [address, count] (write multiple).
    # Raises ModbusCRCError, ModbusException or ModbusFrameError.
    n = len(frame)
    if n < 5:
        raise _error("ModbusFrameError", "short frame (%d bytes)" % n)
    c = crc16(frame, n - 2)
    if frame[n - 2] != c & 0xFF or frame[n - 1] != c >> 8:
        raise _error("ModbusCRCError", "CRC error")
    unit, function = request[0], request[1]
    if frame[0] != unit:
        raise _error("ModbusFrameError", "answer from unit %d, asked %d" % (frame[0], unit))
    fc = frame[1]
    if fc == function | 0x80:
        raise _error("ModbusException", frame[2], function, unit)
    if fc != function:
        raise _error("ModbusFrameError", "function %d in the answer to %d" % (fc, function))
    if function in (READ_HOLDING, READ_INPUT):
        count = (request[4] << 8) | request[5]
        if frame[2] != 2 * count or n != 5 + 2 * count:
            raise _error("ModbusFrameError", "byte count %d for %d registers" % (frame[2], count))
        out = []
        for i in range(count):
            out.append((frame[3 + 2 * i] << 8) | frame[4 + 2 * i])
        return out
    if n != 8:
        raise _error("ModbusFrameError", "write answer of %d bytes" % n)
    if function == WRITE_SINGLE:
        if frame[2:6] != request[2:6]:
            raise _error("ModbusFrameError", "write single not echoed")
        return [(frame[4] << 8) | frame[5]]
    if frame[2:6] != request[2:6]:
        raise _error("ModbusFrameError", "write multiple answer does not match")
    return [(frame[2] << 8) | frame[3], (frame[4] << 8) | frame[5]]


class ModbusMaster:
    # uart: a machine.UART set up for the line (baud rate, parity);
    # de: the transceiver's DE pin (machine.Pin, output) or None when the
    # transceiver switches direction by itself; baudrate: the UART's, for the
    # silent interval; timeout_ms: how long to wait for the first byte of an
    # answer; retries: extra attempts after a timeout or a CRC error
    # (an exception response is an answer and is never retried).
    def __init__(self, uart, de=None, timeout_ms=1000, retries=2, baudrate=9600):
        self.uart = uart
        self.de = de
        self.timeout_ms = timeout_ms
        self.retries = retries
        self.t35_us = silent_interval_us(baudrate)
        self.char_us = char_time_us(baudrate)
        # A gap this long inside an answer ends it (Serial Line 2.5.1.1 asks
        # for t1.5; real USB/RS-485 bridges and the host side of a virtual
        # board deliver in chunks, so the master allows a few ms).
        self.gap_ms = max(5, self.t35_us // 1000 + 2)
        self.buf = bytearray(_MAX_ADU)
        self.last_ms = ticks_ms()
        # counters for the status frame and the bench
        self.sent = 0
        self.timeouts = 0
        self.crc_errors = 0
        self.exceptions = 0
        if de is not None:
            de.value(0)  # receive

    # ---------------------------------------------------------------- API
    def read_holding(self, unit, address, count):
        return self.transact(build_request(unit, READ_HOLDING, address, count))

    def read_input(self, unit, address, count):
        return self.transact(build_request(unit, READ_INPUT, address, count))

    def write_single(self, unit, address, value):
        return self.transact(build_request(unit, WRITE_SINGLE, address, value))

    def write_multiple(self, unit, address, values):
        return self.transact(build_request(unit, WRITE_MULTIPLE, address, values))

    # ---------------------------------------------------------------- line
    def transact(self, request):
        # Send the request and return its parsed answer, retrying on timeouts
        # and CRC (or framing) errors. A broadcast (unit 0) gets no answer.
        err = None
        for _ in range(self.retries + 1):
            self._send(request)
            if request[0] == 0:
                return None
            try:
                n = self._receive()
                return parse_response(request, bytes(self.buf[:n]))
            except Exception as e:
                from . import modbus_errors as E
                if isinstance(e, E.ModbusException):
                    self.exceptions += 1
                if isinstance(e, E.ModbusException) or not isinstance(e, E.ModbusError):
                    raise
                if isinstance(e, E.ModbusCRCError):
                    self.crc_errors += 1
                elif isinstance(e, E.ModbusTimeout):
                    self.timeouts += 1
                err = e
            self._drain()
        raise err

    def _idle(self):
        # Wait out the silent interval since the line was last busy.
        left = self.t35_us - ticks_diff(ticks_ms(), self.last_ms) * 1000
        if left > 0:
            sleep_us(left)

    def _drain(self):
        # Throw away whatever is still arriving (the tail of a broken answer)
        # until the line has been silent for t3.5.
        uart = self.uart
        while True:
            sleep_us(self.t35_us)
            if not uart.any():
                break
            uart.read()
        self.last_ms = ticks_ms()

    def _send(self, request):
        uart = self.uart
        self._idle()
        if uart.any():
            uart.read()  # stale bytes belong to no request of ours
        de = self.de
        if de is not None:
            de.value(1)
        uart.write(request)
        # Hold DE until the last stop bit has left the shift register.
        try:
            uart.flush()
        except (AttributeError, OSError):
            sleep_us(len(request) * self.char_us)
        if de is not None:
            de.value(0)
        self.sent += 1
        self.last_ms = ticks_ms()

    def _receive(self):
        # Read one answer into self.buf; return its length. The frame length
        # is known from its first bytes (unit, function, byte count).
        uart = self.uart
        buf = self.buf
        n = 0
        want = 0
        start = ticks_ms()
        last = start
        while True:
            k = uart.any()
            if k:
                room = _MAX_ADU - n
                if k > room:
                    k = room
                data = uart.read(k if want <= 0 else min(k, want - n))
                if data:
                    buf[n:n + len(data)] = data
                    n += len(data)
                    last = ticks_ms()
                if want <= 0:
                    want = expected_length(buf, n)
                    if want < 0 or want > _MAX_ADU:
                        self.last_ms = last
                        raise _error("ModbusFrameError", "unframeable answer")
                if want and n >= want:
                    self.last_ms = last
                    return want
                continue
            now = ticks_ms()
            if n == 0:
                if ticks_diff(now, start) >= self.timeout_ms:
                    raise _error("ModbusTimeout", "no answer in %d ms" % self.timeout_ms)
            elif ticks_diff(now, last) >= self.gap_ms:
                self.last_ms = last
                # A frame cut short fails its CRC check on a real line.
                raise _error("ModbusCRCError", "answer cut short after %d bytes" % n)
            sleep_ms(1)


def open_bus(board, name="rs485", timeout_ms=1000, retries=2):
    # A ModbusMaster on the board's RS-485 UART and DE pin (board.json:
    # buses.<name> with id, tx, rx, baudrate, optional de; or pins.<name>_de).
    import machine
    spec = board.get("buses", {}).get(name)
    if spec is None:
        raise _error("ModbusError", "board has no " + name + " bus")
    baud = spec.get("baudrate", 9600)
    uart = machine.UART(spec["id"], baudrate=baud, tx=spec["tx"], rx=spec["rx"], rxbuf=512)
    de_gpio = spec.get("de")
    if de_gpio is None:
        p = board.get("pins", {}).get(name + "_de")
        de_gpio = p.get("gpio") if p else None
    de = machine.Pin(de_gpio, machine.Pin.OUT, value=0) if de_gpio is not None else None
    return ModbusMaster(uart, de, timeout_ms=timeout_ms, retries=retries, baudrate=baud)
