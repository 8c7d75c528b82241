"""A water meter on the board's RS-485 line: a real pymodbus RTU server on the
host side of the board's UART pty (`board.uarts["rs485"]`).

Unit 1 is a Microsensor MFE600E electromagnetic flow meter converter, serving
the register map of its operation manual (chapter "Communication", Modbus
RTU, table 13 "Parameter storage"; see firmware/sensors/flowmeter.py for the
map): function codes 03 and 04 read the same read-only registers 0x0000 to
0x001D, values computed from `MeterState` at each request. A write to them,
or a read past them, gets exception 02 (illegal data address) from pymodbus.
Unit 2 is a plain writable holding-register bank (32 registers from 0), a
second device on the same line, for function codes 06 and 16.

Faults are injected on the wire, between pymodbus and the pty, through
pymodbus's trace_packet hook, so the server itself stays unmodified:
- `silent = True`: the meter stops answering (it still hears requests);
- `corrupt_next(n)`: the next n answers have one data bit flipped, so their
  CRC fails at the master.
Every request heard and answer sent (after injection) is kept in `heard` and
`said` as bytes, so tests can check the exact frames.
"""
import asyncio
import logging
import struct
import threading
import time

from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer
from pymodbus.simulator import DataType, SimData, SimDevice

METER_UNIT = 1
BANK_UNIT = 2
BANK_SIZE = 32
MAP_SIZE = 0x1E

# flow unit codes (register 0x02) and totaliser unit codes (0x07, 0x0C) of the MFE600E
FLOW_UNITS = {"m3/s": 0, "m3/min": 1, "m3/h": 2, "L/s": 3, "L/min": 4, "L/h": 5}
LPS_PER_UNIT = {0: 1000.0, 1: 1000.0 / 60, 2: 1000.0 / 3600, 3: 1.0, 4: 1.0 / 60, 5: 1.0 / 3600}
TOTAL_UNITS = {"m3": 0, "L": 1}
ALARMS = ("excitation", "electrode", "empty_pipe", "high_limit", "low_limit")


class MeterState:
    """What the meter measures. Tests set these; registers follow."""

    def __init__(self, flow_lps=12.5, total_l=123456789012, reverse_l=4321, flow_unit="m3/h",
                 total_unit="m3", velocity=0.71, percent=25.0, diameter_mm=150.0, alarms=()):
        self.flow_lps = flow_lps
        self.total_l = total_l
        self.reverse_l = reverse_l
        self.flow_unit = flow_unit
        self.total_unit = total_unit
        self.velocity = velocity
        self.percent = percent
        self.diameter_mm = diameter_mm
        self.alarms = set(alarms)

    def registers(self):
        """The 0x1E registers from 0x0000, as the manual lays them out."""
        regs = [0] * MAP_SIZE
        fu = FLOW_UNITS[self.flow_unit]
        tu = TOTAL_UNITS[self.total_unit]

        def put_float(i, v):
            regs[i], regs[i + 1] = struct.unpack(">HH", struct.pack(">f", v))

        def put_long(i, v):
            regs[i], regs[i + 1] = v >> 16, v & 0xFFFF

        put_float(0x00, self.flow_lps / LPS_PER_UNIT[fu])
        regs[0x02] = fu
        for litres, low, frac, unit_reg, high in ((self.total_l, 0x03, 0x05, 0x07, 0x1A),
                                                  (self.reverse_l, 0x08, 0x0A, 0x0C, 0x1C)):
            per = 1000 if tu == 0 else 1
            whole, rest = divmod(litres, per)
            put_long(low, whole % 1000000000)
            put_long(high, whole // 1000000000)
            put_float(frac, rest / per)
            regs[unit_reg] = tu
        for i, name in enumerate(ALARMS):
            regs[0x0D + i] = 1 if name in self.alarms else 0
        put_float(0x12, self.velocity)
        put_float(0x14, self.percent)
        put_float(0x16, 12.0)          # electrode resistance, kOhm
        put_float(0x18, self.diameter_mm)
        return regs


class ModbusMeterPeer:
    """pymodbus RTU server on `port` (a pty path) in a thread of its own.

    with ModbusMeterPeer(board.uarts["rs485"]) as meter:
        meter.state.flow_lps = 3.2
        meter.silent = True
    """

    def __init__(self, port, state=None, baudrate=9600):
        self.port = port
        self.baudrate = baudrate
        self.state = state or MeterState()
        self.silent = False
        self._corrupt = 0
        self.heard = []
        self.said = []
        self._lock = threading.Lock()
        self._loop = None
        self._server = None
        self._thread = None
        self._ready = threading.Event()
        self._error = None

    # ------------------------------------------------------------ faults
    def corrupt_next(self, n=1):
        with self._lock:
            self._corrupt = n

    def _trace(self, sending, data):
        with self._lock:
            if not sending:
                self.heard.append(bytes(data))
                return data
            if self.silent:
                return b""
            if self._corrupt and len(data) > 3:
                self._corrupt -= 1
                data = bytearray(data)
                data[-3] ^= 0x01         # one bit of the last byte before the CRC
                data = bytes(data)
            self.said.append(data)
            return data

    async def _refresh(self, func_code, start_address, address, count, registers, values):
        # SimDevice action: runs before each request on unit 1; loads the
        # registers from the meter state (read-only registers, so a write
        # never gets here: pymodbus answers exception 02 first).
        regs = self.state.registers()
        registers[:len(regs)] = regs
        return None

    # ------------------------------------------------------------ lifecycle
    def start(self):
        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
        meter = SimDevice(METER_UNIT, simdata=[SimData(0, values=self.state.registers(),
                                                        datatype=DataType.REGISTERS, readonly=True)],
                          action=self._refresh)
        bank = SimDevice(BANK_UNIT, simdata=[SimData(0, count=BANK_SIZE, values=0, datatype=DataType.REGISTERS)])
        self._thread = threading.Thread(target=self._run, args=([meter, bank],), daemon=True,
                                        name="modbus-meter")
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("modbus meter did not start")
        if self._error:
            raise self._error
        return self

    def _run(self, devices):
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)

        async def main():
            try:
                self._server = ModbusSerialServer(
                    devices, framer=FramerType.RTU, port=self.port, baudrate=self.baudrate,
                    ignore_missing_devices=True, trace_packet=self._trace)
                await self._server.serve_forever(background=True)
            except Exception as e:  # handed to start()
                self._error = e
            self._ready.set()
            if self._server is not None:
                await self._server.serving
        try:
            loop.run_until_complete(main())
        finally:
            loop.close()

    def stop(self):
        if self._loop is None or self._server is None:
            return
        fut = asyncio.run_coroutine_threadsafe(self._server.shutdown(), self._loop)
        try:
            fut.result(5)
        except Exception:
            pass
        self._thread.join(5)
        self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def wait_heard(self, n, timeout=10.0):
        """Wait until n requests have been heard."""
        end = time.monotonic() + timeout
        while len(self.heard) < n and time.monotonic() < end:
            time.sleep(0.01)
        return len(self.heard) >= n
