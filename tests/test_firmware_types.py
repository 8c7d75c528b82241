"""The fidelity guard: code for the board type-checks against the ESP32's own API.

mypy runs over firmware/ and protocols/ with MicroPython's ESP32 stubs (PyPI
micropython-esp32-esp32-generic-stubs) as the only standard library, so a call a
real ESP32 lacks fails here. See tools/firmware_types.py for the setup.
"""
import textwrap

import pytest

from tools import firmware_types as ft


@pytest.fixture(scope="session")
def typeshed(tmp_path_factory):
    return ft.build_typeshed(tmp_path_factory.mktemp("mpy") / "typeshed")


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("mypy-cache")


@pytest.fixture
def check_source(tmp_path, typeshed, cache_dir):
    # Type-check one module, written to a folder of its own, as board code.
    def run(source, name="app.py"):
        (tmp_path / name).write_text(textwrap.dedent(source))
        return ft.check([tmp_path], typeshed=typeshed, cache_dir=cache_dir, mypy_path=[tmp_path])
    return run


def _show(findings):
    return "\n".join("%s:%d: %s [%s]" % f for f in findings)


def test_the_stubs_form_a_typeshed(typeshed):
    std = typeshed / "stdlib"
    for name in ("machine.pyi", "micropython.pyi", "esp32.pyi", "builtins.pyi", "time.pyi"):
        assert (std / name).is_file(), name
    assert "machine: 3.0-" in (std / "VERSIONS").read_text()


def test_firmware_and_protocols_use_only_what_an_esp32_has(typeshed, cache_dir):
    files = ft.python_files([ft.ROOT / "firmware", ft.ROOT / "protocols"])
    assert any(p.parent.name == "protocols" for p in files)
    fidelity, _other = ft.check(typeshed=typeshed, cache_dir=cache_dir)
    assert fidelity == [], "calls a real ESP32 would fail on:\n" + _show(fidelity)


def test_the_guard_fails_on_what_an_esp32_lacks(check_source):
    fidelity, _ = check_source("""\
        import machine
        import time

        def wake():
            machine.Pin(4, machine.Pin.OUT).frobnicate()
            machine.nosuchthing()
            return time.monotonic()
        """)
    lines = sorted((f.line, f.code) for f in fidelity)
    assert lines == [(5, "attr-defined"), (6, "attr-defined"), (7, "attr-defined")], _show(fidelity)


def test_the_guard_fails_on_modules_an_esp32_lacks(check_source):
    fidelity, _ = check_source("""\
        import functools
        from typing import List
        from dataclasses import dataclass
        import enum
        """)
    assert sorted(f.line for f in fidelity) == [1, 2, 3, 4], _show(fidelity)
    assert {f.code for f in fidelity} == {"import-not-found"}


def test_the_guard_fails_on_a_wrong_signature(check_source):
    fidelity, _ = check_source("""\
        import machine
        machine.WDT(0, 5000, 1, 2)
        """)
    assert {(f.line, f.code) for f in fidelity} == {(2, "call-arg")}, _show(fidelity)


def test_the_guard_accepts_the_esp32_api_the_firmware_uses(check_source):
    fidelity, _ = check_source("""\
        import asyncio
        import gc
        import json
        import machine
        import os
        import struct
        import sys
        import time
        import binascii
        import hashlib
        import bluetooth
        import micropython
        import esp32
        from micropython import const

        _PERIOD = const(900)

        def cycle(board):
            i2c = machine.I2C(0, scl=machine.Pin(22), sda=machine.Pin(21), freq=400000)
            raw = i2c.readfrom_mem(0x44, 0, 2)
            uart = machine.UART(2, baudrate=115200, tx=17, rx=16, timeout=100)
            uart.write(b"AT\\r\\n")
            buf = bytearray(64)
            uart.readinto(buf)
            pin = machine.Pin(33, machine.Pin.IN, machine.Pin.PULL_UP)
            pin.irq(trigger=machine.Pin.IRQ_FALLING, handler=lambda p: None)
            adc = machine.ADC(machine.Pin(35), atten=machine.ADC.ATTN_11DB)
            mv = adc.read_uv() // 1000
            rtc = machine.RTC()
            rtc.memory(struct.pack("<I", 1))
            wdt = machine.WDT(timeout=30000)
            wdt.feed()
            cause = machine.reset_cause()
            woke = cause == machine.DEEPSLEEP_RESET
            uid = binascii.hexlify(machine.unique_id())
            t0 = time.ticks_ms()
            elapsed = time.ticks_diff(time.ticks_ms(), t0)
            gc.collect()
            free = gc.mem_free()
            micropython.mem_info()
            crc = binascii.crc32(raw)
            digest = hashlib.sha256(raw).digest()
            os.rename("a.new", "a")
            print(sys.implementation.name, machine.freq(), mv, woke, uid, elapsed, free, crc, digest)
            # The stubs take these positionally only (the C function also takes keywords).
            esp32.wake_on_ext0(pin, esp32.WAKEUP_ALL_LOW)
            machine.lightsleep(1000)
            machine.deepsleep(_PERIOD * 1000)

        async def main():
            await asyncio.sleep_ms(10)

        asyncio.run(main())
        """)
    assert fidelity == [], _show(fidelity)


def test_cpython_fallbacks_are_not_held_against_the_board(check_source):
    fidelity, _ = check_source("""\
        import sys
        try:
            from micropython import const
        except ImportError:
            import functools
            def const(x):
                return x
        if sys.implementation.name == "micropython":
            from collections import OrderedDict as Map
        else:
            import functools as Map
        import machine
        machine.frobnicate()
        """)
    # Only the line that runs on the board counts.
    assert [(f.line, f.code) for f in fidelity] == [(13, "attr-defined")], _show(fidelity)


def test_cpython_only_lines():
    source = textwrap.dedent("""\
        import sys
        try:
            import machine
        except ImportError:
            machine = None
        if sys.implementation.name != "micropython":
            x = 1
            y = 2
        else:
            x = 3
        """)
    assert ft.cpython_only_lines(source) == [(5, 5), (7, 8)]
