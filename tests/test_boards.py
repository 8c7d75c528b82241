"""Board files: every one validates, the validator can fail, MicroPython can read them."""
import copy
import json
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.interpreters import micropython_binary
from tools import boards

REQUIRED = ("esp32-devkitc", "lilygo-t-beam", "heltec-wifi-lora-32-v3", "esp32-s3-rs485")
NAMES = boards.names()


def errors(board):
    return [p for p in boards.validate(board) if p.level == boards.ERROR]


def warnings(board):
    return [p for p in boards.validate(board) if p.level == boards.WARNING]


def test_the_required_boards_exist():
    assert set(REQUIRED) <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_board_validates_without_errors(name):
    board = boards.load(name)
    assert errors(board) == []
    assert board["name"] == name


@pytest.mark.parametrize("name", NAMES)
def test_board_keeps_to_the_shared_names(name):
    # A pin or bus outside the shared vocabulary is only a warning to the
    # validator; the boards in the repository use none.
    off = [p for p in warnings(boards.load(name)) if "vocabulary" in p.message]
    assert off == []


@pytest.mark.parametrize("name", NAMES)
def test_board_file_is_small_enough_for_the_board(name):
    # The firmware reads the whole file into a heap of about 100 KB.
    assert boards.path(name).stat().st_size <= 8192


def test_logical_names_mean_the_same_kind_of_thing_on_every_board():
    kinds = {}
    for name in NAMES:
        b = boards.load(name)
        for pin, spec in b["pins"].items():
            kinds.setdefault(("pin", pin), set()).add(spec["mode"])
        for bus, spec in b["buses"].items():
            kinds.setdefault(("bus", bus), set()).add(spec["type"])
    mixed = {k: v for k, v in kinds.items() if len(v) > 1}
    assert mixed == {}


def test_every_board_has_ble_and_a_lorawan_transport():
    for name in NAMES:
        b = boards.load(name)
        assert "ble" in b["radios"], name
        assert "lorawan_at" in b["radios"] and "lora_uart" in b["buses"], name


def test_strapping_pins_are_warnings_not_errors():
    # The T-Beam's GNSS TX (GPIO12) and LoRa SCK (GPIO5) are strapping pins.
    problems = boards.validate(boards.load("lilygo-t-beam"))
    flagged = {p.field for p in problems if "strapping" in p.message}
    assert flagged == {"buses.gnss_uart.tx", "buses.lora_spi.sck"}
    assert all(p.level == boards.WARNING for p in problems if "strapping" in p.message)


def test_unknown_board_is_an_error():
    with pytest.raises(boards.BoardNotFound):
        boards.load("no-such-board")
    with pytest.raises(boards.BoardNotFound):
        boards.load("../pyproject")


def test_main_reports_every_board(capsys):
    assert boards.main([]) == 0
    out = capsys.readouterr().out
    for name in NAMES:
        assert name + ": 0 errors" in out


def test_micropython_reads_every_board_file():
    # The firmware reads the same files with MicroPython's json: what it
    # reads must be what CPython reads.
    paths = [str(boards.path(n)) for n in NAMES]
    code = (
        "import json\n"
        "for p in %r:\n"
        "    with open(p) as f:\n"
        "        print(json.dumps(json.load(f)))\n" % (paths,)
    )
    done = subprocess.run([micropython_binary(), "-c", code], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == len(NAMES)
    for name, line in zip(NAMES, lines):
        assert json.loads(line) == boards.load(name), name


# -- broken boards: each must produce the error it is built to produce --------

def _set(path, value):
    def mutate(b):
        *head, last = path.split(".")
        node = b
        for key in head:
            node = node[key]
        node[last] = value
    return mutate


def _del(path):
    def mutate(b):
        *head, last = path.split(".")
        node = b
        for key in head:
            node = node[key]
        del node[last]
    return mutate


def _all(*mutations):
    def mutate(b):
        for m in mutations:
            m(b)
    return mutate


# (base board, mutation, field of the expected error, words in its message)
BROKEN = {
    "gpio used twice by two pins": (
        "esp32-devkitc", _set("pins.door_reed.gpio", 4), "pins.door_reed", "already used by pins.led"),
    "gpio used by a pin and a bus": (
        "esp32-devkitc", _set("buses.i2c0.scl", 33), "buses.i2c0.scl", "already used by pins.sos_button"),
    "gpio used by two buses": (
        "esp32-devkitc", _set("buses.rs485.rx", 16), "buses.rs485.rx", "already used by buses.lora_uart.rx"),
    "gpio used by the console": (
        "esp32-devkitc", _set("pins.led.gpio", 1), "pins.led", "already used by console.tx"),
    "gpio missing on esp32": (
        "esp32-devkitc", _set("pins.led.gpio", 24), "pins.led", "does not exist on esp32"),
    "gpio missing on esp32s3": (
        "heltec-wifi-lora-32-v3", _set("pins.led.gpio", 22), "pins.led", "does not exist on esp32s3"),
    "gpio beyond the chip": (
        "esp32-devkitc", _set("pins.led.gpio", 40), "pins.led", "does not exist"),
    "esp32 flash pin": (
        "esp32-devkitc", _set("pins.led.gpio", 6), "pins.led", "SPI flash"),
    "esp32s3 flash pin": (
        "heltec-wifi-lora-32-v3", _set("pins.led.gpio", 30), "pins.led", "SPI flash"),
    "esp32 psram pins": (
        "esp32-devkitc", _set("psram", "quad"), "buses.lora_uart.tx", "PSRAM"),
    "esp32s3 octal psram pins": (
        "heltec-wifi-lora-32-v3", _set("psram", "octal"), "pins.led", "PSRAM"),
    "input-only pin driven as an output": (
        "esp32-devkitc", _set("pins.led.gpio", 37), "pins.led", "input-only"),
    "input-only pin as open drain": (
        "esp32-devkitc", _set("pins.led", {"gpio": 38, "mode": "open_drain"}), "pins.led", "input-only"),
    "input-only pin as uart tx": (
        "esp32-devkitc", _set("buses.lora_uart.tx", 39), "buses.lora_uart.tx", "input-only"),
    "input-only pin as i2c sda": (
        "esp32-devkitc", _set("buses.i2c0.sda", 38), "buses.i2c0.sda", "input-only"),
    "input-only pin as spi cs": (
        "lilygo-t-beam", _set("buses.lora_spi.cs", 37), "buses.lora_spi.cs", "input-only"),
    "input-only pin as rs485 de": (
        "esp32-devkitc", _all(_set("pins.rs485_de.gpio", 37), _set("buses.rs485.de", 37)),
        "pins.rs485_de", "input-only"),
    "de differs from pins.rs485_de": (
        "esp32-devkitc", _set("buses.rs485.de", 13), "buses.rs485.de", "differs from pins.rs485_de"),
    "pull-up on a pin without one": (
        "esp32-devkitc", _set("pins.pir.pull", "up"), "pins.pir.pull", "no internal pull"),
    "pull on an output": (
        "esp32-devkitc", _set("pins.led.pull", "up"), "pins.led.pull", "only means something on an input"),
    "adc on a pin without adc": (
        "esp32-devkitc", _set("pins.batt_adc.gpio", 23), "pins.batt_adc", "no ADC channel"),
    "adc on an esp32s3 pin without adc": (
        "heltec-wifi-lora-32-v3", _set("pins.batt_adc.gpio", 38), "pins.batt_adc", "no ADC channel"),
    "divider on a digital pin": (
        "esp32-devkitc", _set("pins.led.divider", 2.0), "pins.led.divider", "only an adc pin"),
    "bad attenuation": (
        "esp32-devkitc", _set("pins.batt_adc.atten", "12db"), "pins.batt_adc.atten", "must be one of"),
    "wake on a pin that is not rtc": (
        "esp32-devkitc", _set("pins.beam.wake", True), "pins.beam.wake", "not an RTC GPIO"),
    "unknown pin mode": (
        "esp32-devkitc", _set("pins.led.mode", "pwm"), "pins.led.mode", "must be one of"),
    "unknown pin field": (
        "esp32-devkitc", _set("pins.led.colour", "red"), "pins.led.colour", "unknown pin field"),
    "pin without gpio": (
        "esp32-devkitc", _del("pins.led.gpio"), "pins.led.gpio", "missing"),
    "fs as big as the flash": (
        "esp32-devkitc", _set("fs_size", 4194304), "fs_size", "smaller than the flash"),
    "fs past the end of the flash": (
        "esp32-devkitc", _set("fs_offset", 3145728), "fs_offset", "past the end"),
    "fs block size not a power of two": (
        "esp32-devkitc", _set("fs_block_size", 3000), "fs_block_size", "power of two"),
    "fs not whole blocks": (
        "esp32-devkitc", _set("fs_size", 1966081), "fs_size", "whole number"),
    "missing chip": (
        "esp32-devkitc", _del("chip"), "chip", "missing"),
    "missing flash size": (
        "esp32-devkitc", _del("flash_size"), "flash_size", "missing"),
    "missing source": (
        "esp32-devkitc", _del("source"), "source", "missing"),
    "empty source": (
        "esp32-devkitc", _set("source", []), "source", "cite at least one"),
    "flash size as text": (
        "esp32-devkitc", _set("flash_size", "4MB"), "flash_size", "must be int"),
    "flash size as a bool": (
        "esp32-devkitc", _set("flash_size", True), "flash_size", "must be int"),
    "gpio as text": (
        "esp32-devkitc", _set("pins.led.gpio", "4"), "pins.led.gpio", "must be int"),
    "unknown chip": (
        "esp32-devkitc", _set("chip", "esp8266"), "chip", "must be one of"),
    "wrong mpy arch": (
        "esp32-devkitc", _set("mpy_arch", "armv7m"), "mpy_arch", "xtensawin"),
    "unknown psram": (
        "esp32-devkitc", _set("psram", "lots"), "psram", "must be one of"),
    "unknown top-level field": (
        "esp32-devkitc", _set("colour", "blue"), "colour", "unknown field"),
    "usb console on a chip without usb": (
        "esp32-devkitc", _set("console", {"type": "usb"}), "console.type", "no native USB"),
    "pin on the usb console's lines": (
        "esp32-s3-rs485", _set("pins.led.gpio", 19), "pins.led", "already used by console.usb"),
    "uart id used twice": (
        "esp32-devkitc", _set("buses.rs485.id", 2), "buses.rs485.id", "already used by buses.lora_uart"),
    "uart id of the console": (
        "esp32-devkitc", _set("buses.rs485.id", 0), "buses.rs485.id", "already used by console"),
    "i2c id that does not exist": (
        "esp32-devkitc", _set("buses.i2c0.id", 2), "buses.i2c0.id", "no I2C 2"),
    "spi id that does not exist": (
        "lilygo-t-beam", _set("buses.lora_spi.id", 0), "buses.lora_spi.id", "no SPI 0"),
    "unknown bus type": (
        "esp32-devkitc", _set("buses.i2c0.type", "can"), "buses.i2c0.type", "must be one of"),
    "unknown bus field": (
        "esp32-devkitc", _set("buses.i2c0.clk", 18), "buses.i2c0.clk", "unknown i2c bus field"),
    "uart without baudrate": (
        "esp32-devkitc", _del("buses.lora_uart.baudrate"), "buses.lora_uart.baudrate", "missing"),
    "uart with a bad level": (
        "esp32-devkitc", _set("buses.rs485.level", "rs422"), "buses.rs485.level", "must be one of"),
    "i2c too fast": (
        "esp32-devkitc", _set("buses.i2c0.freq", 5000000), "buses.i2c0.freq", "out of range"),
    "a pin and a bus of one name": (
        "esp32-devkitc", _set("pins.i2c0", {"gpio": 13, "mode": "in"}), "pins.i2c0", "also the name of a bus"),
    "lorawan radio without its uart": (
        "esp32-devkitc", _del("buses.lora_uart"), "radios[0]", "needs a lora_uart bus"),
    "sx127x radio without its spi": (
        "lilygo-t-beam", _del("buses.lora_spi"), "radios[1]", "needs a lora_spi bus"),
    "unknown radio": (
        "esp32-devkitc", _set("radios", ["lorawan_at", "ble", "zigbee"]), "radios[2]", "must be one of"),
    "virtual chip on a missing bus": (
        "lilygo-t-beam", _set("virtual.i2c", {"i2c9": [{"model": "axp192"}]}), "virtual.i2c.i2c9", "no I2C bus"),
    "virtual chip with no model file": (
        "lilygo-t-beam", _set("virtual.i2c", {"i2c0": [{"model": "axp2101"}]}), "virtual.i2c.i2c0", "lacks"),
    "virtual chip without a model": (
        "lilygo-t-beam", _set("virtual.i2c", {"i2c0": [{"address": 52}]}), "virtual.i2c.i2c0", "naming a model"),
    "sensor on a missing bus": (
        "esp32-devkitc", _set("sensors", [{"chip": "bme280", "bus": "i2c9", "address": 118}]),
        "sensors[0].bus", "no bus called i2c9"),
    "i2c sensor without an address": (
        "esp32-devkitc", _set("sensors", [{"chip": "bme280", "bus": "i2c0"}]), "sensors[0].address", "7-bit"),
    "i2c sensor at a reserved address": (
        "esp32-devkitc", _set("sensors", [{"chip": "bme280", "bus": "i2c0", "address": 0x78}]),
        "sensors[0].address", "not a usable"),
    "two sensors at one address": (
        "lilygo-t-beam", _set("sensors", [{"chip": "axp192", "bus": "i2c0", "address": 52},
                                          {"chip": "bme280", "bus": "i2c0", "address": 52}]),
        "sensors[1].address", "already sensors[0]"),
    "virtual model on a missing pin": (
        "esp32-devkitc", _set("virtual.attach.gnss_uart", "gnss_feeder"), "virtual.attach.gnss_uart",
        "no pin or bus"),
    "board is not an object": (
        "esp32-devkitc", None, "", "JSON object"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_board_is_caught(case):
    base, mutate, field, words = BROKEN[case]
    board = copy.deepcopy(boards.load(base))
    if mutate is None:
        board = [board]
    else:
        mutate(board)
    found = [p for p in errors(board) if p.field == field and words in p.message]
    assert found, "expected an error at %r saying %r; got:\n%s" % (
        field, words, "\n".join("%s %s: %s" % p for p in boards.validate(board)))


WARNED = {
    "strapping pin on esp32": ("esp32-devkitc", _set("pins.led.gpio", 2), "pins.led", "strapping"),
    "strapping pin on esp32s3": ("heltec-wifi-lora-32-v3", _set("pins.led.gpio", 46), "pins.led", "strapping"),
    "adc2 pin": ("esp32-devkitc", _set("pins.batt_adc.gpio", 13), "pins.batt_adc", "ADC2"),
    "usb data line": ("heltec-wifi-lora-32-v3", _set("pins.led.gpio", 20), "pins.led", "USB"),
    "name outside the vocabulary": (
        "esp32-devkitc", _set("pins.flux_capacitor", {"gpio": 13, "mode": "in"}), "pins.flux_capacitor",
        "vocabulary"),
    "no ble": ("esp32-devkitc", _set("radios", ["lorawan_at"]), "radios", "BLE"),
}


@pytest.mark.parametrize("case", sorted(WARNED))
def test_caveat_is_a_warning_only(case):
    base, mutate, field, words = WARNED[case]
    board = copy.deepcopy(boards.load(base))
    mutate(board)
    assert [p for p in warnings(board) if p.field == field and words in p.message]
    assert errors(board) == []


# -- the validator reports, it never raises ------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 70) | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(NAMES), pick=st.integers(min_value=0), value=_json)
def test_validator_never_raises(name, pick, value):
    board = copy.deepcopy(boards.load(name))
    paths = [p for p in _paths(board) if p]
    path = paths[pick % len(paths)]
    node = board
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    problems = boards.validate(board)
    assert all(p.level in (boards.ERROR, boards.WARNING) for p in problems)


@given(value=_json)
def test_validator_never_raises_on_anything(value):
    assert isinstance(boards.validate(value), list)
