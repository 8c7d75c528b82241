"""Board files: load them and check them against what the chip can do.

A board file (boards/<name>.json) names every pin and bus by its logical name
(`i2c0`, `lora_uart`, `rs485_de`, `sos_button`, ...). The firmware reads the same
file with MicroPython's json, so it stays plain JSON: no comments, integers in
decimal, `null` for "none".

    names()            -> ["esp32-devkitc", ...]
    load(name)         -> the board as a dict
    validate(board)    -> [Problem(level, field, message), ...]

`validate` never raises on a malformed board; every fault is a problem with
level "error" (the board cannot work as written) or "warning" (it can, with a
caveat a technician should know, such as a strapping pin).
"""
import json
import sys
from collections import namedtuple
from pathlib import Path

BOARDS_DIR = Path(__file__).resolve().parent.parent / "boards"
MODELS = Path(__file__).resolve().parent.parent / "hil" / "virtual" / "models"

ERROR = "error"
WARNING = "warning"

Problem = namedtuple("Problem", "level field message")


class BoardNotFound(Exception):
    """No board file of that name"""


# What each chip has. Sources: Espressif's ESP32 and ESP32-S3 datasheets
# (pin lists, strapping pins, ADC channels, RTC GPIOs) and MicroPython's esp32
# port (peripheral ids).
CHIPS = {
    "esp32": {
        "mpy_arch": "xtensawin",
        "gpios": frozenset(list(range(0, 20)) + [21, 22, 23, 25, 26, 27] + list(range(32, 40))),
        # Wired to the SPI flash inside every ESP32 module.
        "flash": frozenset(range(6, 12)),
        # Used by the PSRAM of WROVER-class modules (T-Beam, ...).
        "psram": {"quad": frozenset((16, 17)), "octal": frozenset((16, 17))},
        "input_only": frozenset(range(34, 40)),
        # 34..39 have no internal pull-up or pull-down resistors.
        "no_pull": frozenset(range(34, 40)),
        "strapping": frozenset((0, 2, 5, 12, 15)),
        "adc1": frozenset(range(32, 40)),
        "adc2": frozenset((0, 2, 4, 12, 13, 14, 15, 25, 26, 27)),
        "rtc": frozenset((0, 2, 4, 12, 13, 14, 15, 25, 26, 27, 32, 33, 34, 35, 36, 37, 38, 39)),
        "usb": frozenset(),
        "ids": {"uart": (0, 1, 2), "i2c": (0, 1), "spi": (1, 2)},
    },
    "esp32s3": {
        "mpy_arch": "xtensawin",
        "gpios": frozenset(list(range(0, 22)) + list(range(26, 49))),
        # SPI flash (and quad PSRAM) inside ESP32-S3 modules and in-package flash.
        "flash": frozenset(range(26, 33)),
        # Octal flash or PSRAM (the R8/N8R8 parts) takes 33..37 as well.
        "psram": {"quad": frozenset(), "octal": frozenset(range(33, 38))},
        "input_only": frozenset(),
        "no_pull": frozenset(),
        "strapping": frozenset((0, 3, 45, 46)),
        "adc1": frozenset(range(1, 11)),
        "adc2": frozenset(range(11, 21)),
        "rtc": frozenset(range(0, 22)),
        # The native USB (USB-Serial-JTAG or TinyUSB CDC) D- and D+.
        "usb": frozenset((19, 20)),
        "ids": {"uart": (0, 1, 2), "i2c": (0, 1), "spi": (1, 2)},
    },
}

PIN_MODES = ("in", "out", "open_drain", "adc")
OUTPUT_MODES = ("out", "open_drain")
ATTENUATIONS = ("0db", "2.5db", "6db", "11db")

# The keys a bus may have: pin roles, and whether the chip drives the pin.
# Everything else a bus holds is a setting (id, baudrate, ...).
BUS_PINS = {
    "uart": {"tx": "out", "rx": "in", "rts": "out", "cts": "in", "de": "out"},
    "i2c": {"scl": "out", "sda": "out"},
    # An SPI bus also names the control lines of the one chip on it (a LoRa
    # transceiver: reset, DIO interrupt lines, busy).
    "spi": {
        "sck": "out", "mosi": "out", "miso": "in", "cs": "out",
        "reset": "out", "irq": "in", "busy": "in", "dio1": "in", "dio2": "in",
    },
}
BUS_REQUIRED = {
    "uart": ("id", "tx", "rx", "baudrate"),
    "i2c": ("id", "scl", "sda", "freq"),
    "spi": ("id", "sck", "mosi", "miso", "cs"),
}
BUS_SETTINGS = {
    "uart": {"type": str, "id": int, "baudrate": int, "bits": int, "parity": (type(None), int),
             "stop": int, "level": str, "note": str},
    "i2c": {"type": str, "id": int, "freq": int, "note": str},
    "spi": {"type": str, "id": int, "baudrate": int, "polarity": int, "phase": int, "note": str},
}
UART_LEVELS = ("ttl", "rs232", "rs485")

CONSOLE_PINS = {"uart": ("tx", "rx"), "usb": ()}

RADIOS = ("ble", "wifi", "lorawan_at", "lora_sx127x", "lora_sx126x")
# A radio and the bus it needs.
RADIO_BUS = {"lorawan_at": "lora_uart", "lora_sx127x": "lora_spi", "lora_sx126x": "lora_spi"}

# The shared vocabulary of logical names. A name outside it is a warning, so
# that boards keep calling the same thing by the same name; a new name that is
# truly new goes here.
PIN_NAMES = frozenset((
    "sos_button", "user_button", "batt_adc", "batt_adc_ctrl", "led", "pir", "beam",
    "door_reed", "leak_probe", "pressure_adc", "rs485_de", "pmu_irq", "vext_ctrl",
    "oled_rst", "gnss_pps", "gnss_en", "beam_inner",
))
BUS_NAMES = frozenset(("i2c0", "i2c1", "lora_uart", "gnss_uart", "rs485", "lora_spi", "presence_uart"))

# Field: (type or types, required)
FIELDS = {
    "name": (str, True),
    "description": (str, True),
    "source": (list, True),
    "chip": (str, True),
    "module": (str, False),
    "micropython_board": (str, False),
    "mpy_arch": (str, True),
    "flash_size": (int, True),
    "fs_offset": (int, False),
    "fs_size": (int, True),
    "fs_block_size": (int, True),
    "psram": (str, True),
    "console": (dict, True),
    "pins": (dict, True),
    "buses": (dict, True),
    "radios": (list, True),
    "sensors": (list, False),
    "defaults": (dict, False),
    "virtual": (dict, False),
    "notes": (list, False),
}
PSRAM = ("none", "quad", "octal")

PIN_KEYS = {"gpio": int, "mode": str, "pull": (type(None), str), "active": str, "divider": (int, float),
            "atten": str, "driver": str, "wake": bool, "note": str}
SENSOR_KEYS = {"chip": str, "bus": str, "address": int, "role": str, "note": str}


def names():
    """The names of all board files, sorted."""
    return sorted(p.stem for p in BOARDS_DIR.glob("*.json"))


def path(name):
    return BOARDS_DIR / (name + ".json")


def load(name):
    """The board called `name`, as read from boards/<name>.json."""
    p = path(name)
    if "/" in name or "\\" in name or not p.is_file():
        raise BoardNotFound("%s: no such board (boards: %s)" % (name, ", ".join(names())))
    with open(p, encoding="utf-8") as f:
        return json.load(f)


def errors(board):
    return [p for p in validate(board) if p.level == ERROR]


def _is(value, types):
    # bool is an int to Python, never to a board file.
    types = types if isinstance(types, tuple) else (types,)
    if isinstance(value, bool):
        return bool in types
    return isinstance(value, types)


class _Checker:
    def __init__(self, board):
        self.board = board
        self.problems = []
        self.used = {}  # gpio -> the field that uses it

    def error(self, field, message):
        self.problems.append(Problem(ERROR, field, message))

    def warn(self, field, message):
        self.problems.append(Problem(WARNING, field, message))

    def typed(self, field, mapping, key, types, required=True):
        # The value at mapping[key] if it has the right type, else None.
        if key not in mapping:
            if required:
                self.error(field, "missing")
            return None
        value = mapping[key]
        if not _is(value, types):
            self.error(field, "must be %s, not %s" % (_type_name(types), type(value).__name__))
            return None
        return value

    # -- the whole board ------------------------------------------------------

    def run(self):
        b = self.board
        if not isinstance(b, dict):
            self.error("", "a board is a JSON object")
            return self.problems
        for key, (types, required) in FIELDS.items():
            self.typed(key, b, key, types, required)
        for key in b:
            if key not in FIELDS:
                self.error(key, "unknown field")

        chip = b.get("chip")
        if isinstance(chip, str) and chip not in CHIPS:
            self.error("chip", "must be one of %s" % ", ".join(sorted(CHIPS)))
            return self.problems
        if not isinstance(chip, str):
            return self.problems
        self.chip = CHIPS[chip]

        self.check_text()
        self.check_flash()
        self.check_console()
        self.check_pins()
        self.check_buses()
        self.check_names()
        self.check_radios()
        self.check_sensors()
        self.check_virtual()
        return self.problems

    def check_text(self):
        b = self.board
        source = b.get("source")
        if isinstance(source, list):
            if not source:
                self.error("source", "cite at least one source for the pinout")
            for i, s in enumerate(source):
                if not isinstance(s, str) or not s.strip():
                    self.error("source[%d]" % i, "must be a non-empty string")
        for key in ("name", "description"):
            if isinstance(b.get(key), str) and not b[key].strip():
                self.error(key, "must not be empty")
        notes = b.get("notes")
        if isinstance(notes, list):
            for i, s in enumerate(notes):
                if not isinstance(s, str):
                    self.error("notes[%d]" % i, "must be a string")

    def check_flash(self):
        b = self.board
        arch = b.get("mpy_arch")
        if isinstance(arch, str) and arch != self.chip["mpy_arch"]:
            self.error("mpy_arch", "%s needs mpy-cross -march=%s, not %s" % (b["chip"], self.chip["mpy_arch"], arch))
        psram = b.get("psram")
        if isinstance(psram, str) and psram not in PSRAM:
            self.error("psram", "must be one of %s" % ", ".join(PSRAM))
        flash, fs, block = b.get("flash_size"), b.get("fs_size"), b.get("fs_block_size")
        offset = b.get("fs_offset")
        ints = [v for v in (flash, fs, block) if _is(v, int)]
        if len(ints) < 3:
            return
        for key, v in (("flash_size", flash), ("fs_size", fs), ("fs_block_size", block)):
            if v <= 0:
                self.error(key, "must be positive")
                return
        if block & (block - 1):
            self.error("fs_block_size", "must be a power of two")
        elif fs % block:
            self.error("fs_size", "must be a whole number of %d-byte blocks" % block)
        if fs >= flash:
            self.error("fs_size", "the filesystem (%d) must be smaller than the flash (%d)" % (fs, flash))
        if _is(offset, int):
            if offset % block:
                self.error("fs_offset", "must be aligned to fs_block_size")
            if offset + fs > flash:
                self.error("fs_offset", "fs_offset + fs_size (%d) runs past the end of the flash (%d)"
                           % (offset + fs, flash))

    def check_console(self):
        con = self.board.get("console")
        if not isinstance(con, dict):
            return
        kind = self.typed("console.type", con, "type", str)
        if kind is None:
            return
        if kind not in CONSOLE_PINS:
            self.error("console.type", "must be one of %s" % ", ".join(CONSOLE_PINS))
            return
        if kind == "usb":
            if not self.chip["usb"]:
                self.error("console.type", "%s has no native USB" % self.board["chip"])
            for g in sorted(self.chip["usb"]):
                self.use(g, "console.usb", "out")
            return
        uid = self.typed("console.id", con, "id", int)
        if uid is not None and uid not in self.chip["ids"]["uart"]:
            self.error("console.id", "no UART %d on %s" % (uid, self.board["chip"]))
        for role in CONSOLE_PINS["uart"]:
            g = self.typed("console." + role, con, role, int)
            if g is not None:
                self.use(g, "console." + role, BUS_PINS["uart"][role])

    # -- GPIOs ----------------------------------------------------------------

    def use(self, gpio, field, direction):
        # One GPIO taken by `field`; direction "out" if the chip drives it.
        c = self.chip
        if gpio not in c["gpios"]:
            self.error(field, "GPIO%d does not exist on %s" % (gpio, self.board["chip"]))
            return
        if gpio in self.used:
            self.error(field, "GPIO%d is already used by %s" % (gpio, self.used[gpio]))
        else:
            self.used[gpio] = field
        if gpio in c["flash"]:
            self.error(field, "GPIO%d is wired to the module's SPI flash" % gpio)
        psram = self.board.get("psram")
        if isinstance(psram, str) and psram in c["psram"] and gpio in c["psram"][psram]:
            self.error(field, "GPIO%d is taken by the %s PSRAM" % (gpio, psram))
        if direction == "out" and gpio in c["input_only"]:
            self.error(field, "GPIO%d is input-only on %s and cannot be driven" % (gpio, self.board["chip"]))
        if gpio in c["strapping"]:
            self.warn(field, "GPIO%d is a strapping pin: what is attached must not pull it "
                             "the wrong way at reset" % gpio)
        if gpio in c["usb"] and not field.startswith("console"):
            self.warn(field, "GPIO%d is a native USB data line" % gpio)

    def check_pins(self):
        pins = self.board.get("pins")
        if not isinstance(pins, dict):
            return
        for name, pin in pins.items():
            f = "pins." + name
            if not isinstance(pin, dict):
                self.error(f, "a pin is an object with at least gpio and mode")
                continue
            for key in pin:
                if key not in PIN_KEYS:
                    self.error(f + "." + key, "unknown pin field")
            for key, types in PIN_KEYS.items():
                self.typed(f + "." + key, pin, key, types, key in ("gpio", "mode"))
            gpio, mode = pin.get("gpio"), pin.get("mode")
            if not _is(gpio, int) or not isinstance(mode, str):
                continue
            if mode not in PIN_MODES:
                self.error(f + ".mode", "must be one of %s" % ", ".join(PIN_MODES))
                continue
            self.use(gpio, f, "out" if mode in OUTPUT_MODES else "in")
            self.check_pin_detail(f, pin, gpio, mode)

    def check_pin_detail(self, f, pin, gpio, mode):
        c = self.chip
        pull = pin.get("pull")
        if pull is not None and isinstance(pull, str):
            if pull not in ("up", "down"):
                self.error(f + ".pull", "must be up, down or null")
            elif gpio in c["no_pull"]:
                self.error(f + ".pull", "GPIO%d has no internal pull resistor: fit an external one "
                                        "and set pull to null" % gpio)
            elif mode not in ("in", "open_drain"):
                self.error(f + ".pull", "a pull resistor only means something on an input")
        active = pin.get("active")
        if isinstance(active, str) and active not in ("high", "low"):
            self.error(f + ".active", "must be high or low")
        if mode == "adc":
            if gpio in c["adc2"]:
                self.warn(f, "GPIO%d is on ADC2, which cannot be read while Wi-Fi is on" % gpio)
            elif gpio not in c["adc1"]:
                self.error(f, "GPIO%d has no ADC channel" % gpio)
            divider = pin.get("divider")
            if _is(divider, (int, float)) and divider < 1:
                self.error(f + ".divider", "a divider is the ratio input/pin, at least 1")
            atten = pin.get("atten")
            if isinstance(atten, str) and atten not in ATTENUATIONS:
                self.error(f + ".atten", "must be one of %s" % ", ".join(ATTENUATIONS))
        else:
            for key in ("divider", "atten"):
                if key in pin:
                    self.error(f + "." + key, "only an adc pin has %s" % key)
        if pin.get("wake") is True and gpio not in c["rtc"]:
            self.error(f + ".wake", "GPIO%d is not an RTC GPIO and cannot wake %s from deep sleep"
                       % (gpio, self.board["chip"]))

    def check_buses(self):
        buses = self.board.get("buses")
        if not isinstance(buses, dict):
            return
        ids = {}
        con = self.board.get("console")
        if isinstance(con, dict) and con.get("type") == "uart" and _is(con.get("id"), int):
            ids[("uart", con["id"])] = "console"
        for name, bus in buses.items():
            f = "buses." + name
            if not isinstance(bus, dict):
                self.error(f, "a bus is an object with at least type and id")
                continue
            kind = self.typed(f + ".type", bus, "type", str)
            if kind is None:
                continue
            if kind not in BUS_PINS:
                self.error(f + ".type", "must be one of %s" % ", ".join(BUS_PINS))
                continue
            roles, settings = BUS_PINS[kind], BUS_SETTINGS[kind]
            for key in BUS_REQUIRED[kind]:
                if key not in bus:
                    self.error(f + "." + key, "missing")
            for key, value in bus.items():
                if key in roles:
                    if self.typed(f + "." + key, bus, key, int) is not None:
                        self.use_bus_pin(name, key, value, roles[key])
                elif key in settings:
                    self.typed(f + "." + key, bus, key, settings[key])
                else:
                    self.error(f + "." + key, "unknown %s bus field" % kind)
            bid = bus.get("id")
            if _is(bid, int):
                if bid not in self.chip["ids"][kind]:
                    self.error(f + ".id", "no %s %d on %s (ids: %s)" % (
                        kind.upper(), bid, self.board["chip"], ", ".join(map(str, self.chip["ids"][kind]))))
                elif (kind, bid) in ids:
                    self.error(f + ".id", "%s %d is already used by %s" % (kind.upper(), bid, ids[(kind, bid)]))
                else:
                    ids[(kind, bid)] = f
            if kind == "uart" and isinstance(bus.get("level"), str) and bus["level"] not in UART_LEVELS:
                self.error(f + ".level", "must be one of %s" % ", ".join(UART_LEVELS))
            if kind == "uart" and _is(bus.get("baudrate"), int) and not 300 <= bus["baudrate"] <= 5000000:
                self.error(f + ".baudrate", "out of range")
            if kind == "i2c" and _is(bus.get("freq"), int) and not 1000 <= bus["freq"] <= 1000000:
                self.error(f + ".freq", "out of range")

    def use_bus_pin(self, bus_name, role, gpio, direction):
        f = "buses.%s.%s" % (bus_name, role)
        # A control line may also be listed as a pin of its own under
        # <bus>_<role> (rs485.de and pins.rs485_de): the same GPIO, one use.
        alias = self.board.get("pins", {}).get("%s_%s" % (bus_name, role)) if isinstance(
            self.board.get("pins"), dict) else None
        if isinstance(alias, dict) and "gpio" in alias:
            if alias["gpio"] != gpio:
                self.error(f, "GPIO%s differs from pins.%s_%s (GPIO%s)" % (gpio, bus_name, role, alias["gpio"]))
            return
        self.use(gpio, f, direction)

    # -- names, radios, sensors, virtual ---------------------------------------

    def check_names(self):
        pins, buses = self.board.get("pins"), self.board.get("buses")
        if not isinstance(pins, dict) or not isinstance(buses, dict):
            return
        for name in pins:
            if name in buses:
                self.error("pins." + name, "also the name of a bus")
            if name not in PIN_NAMES:
                self.warn("pins." + name, "not in the shared vocabulary of pin names")
        for name in buses:
            if name not in BUS_NAMES:
                self.warn("buses." + name, "not in the shared vocabulary of bus names")

    def check_radios(self):
        radios = self.board.get("radios")
        if not isinstance(radios, list):
            return
        buses = self.board.get("buses") if isinstance(self.board.get("buses"), dict) else {}
        for i, r in enumerate(radios):
            if r not in RADIOS:
                self.error("radios[%d]" % i, "must be one of %s" % ", ".join(RADIOS))
            elif r in RADIO_BUS and RADIO_BUS[r] not in buses:
                self.error("radios[%d]" % i, "%s needs a %s bus" % (r, RADIO_BUS[r]))
        if len(set(map(str, radios))) != len(radios):
            self.error("radios", "listed twice")
        if "ble" not in radios:
            self.warn("radios", "every ESP32 has BLE")
        if "lora_uart" in buses and "lorawan_at" not in radios:
            self.warn("radios", "there is a lora_uart but no lorawan_at radio")

    def check_sensors(self):
        sensors = self.board.get("sensors")
        if not isinstance(sensors, list):
            return
        buses = self.board.get("buses") if isinstance(self.board.get("buses"), dict) else {}
        seen = {}
        for i, s in enumerate(sensors):
            f = "sensors[%d]" % i
            if not isinstance(s, dict):
                self.error(f, "a sensor is an object with chip and bus")
                continue
            for key in s:
                if key not in SENSOR_KEYS:
                    self.error(f + "." + key, "unknown sensor field")
            for key, types in SENSOR_KEYS.items():
                self.typed(f + "." + key, s, key, types, key in ("chip", "bus"))
            bus = buses.get(s.get("bus")) if isinstance(s.get("bus"), str) else None
            if isinstance(s.get("bus"), str) and bus is None:
                self.error(f + ".bus", "no bus called %s" % s["bus"])
            if not isinstance(bus, dict):
                continue
            if bus.get("type") == "i2c":
                addr = s.get("address")
                if not _is(addr, int):
                    self.error(f + ".address", "an I2C sensor needs its 7-bit address")
                elif not 0x08 <= addr <= 0x77:
                    self.error(f + ".address", "0x%02x is not a usable 7-bit I2C address" % addr)
                elif (s["bus"], addr) in seen:
                    self.error(f + ".address", "0x%02x on %s is already %s" % (addr, s["bus"], seen[(s["bus"], addr)]))
                else:
                    seen[(s["bus"], addr)] = f

    def check_virtual(self):
        v = self.board.get("virtual")
        if not isinstance(v, dict):
            return
        for key in v:
            if key not in ("attach", "i2c"):
                self.error("virtual." + key, "unknown field")
        self.check_virtual_i2c(v.get("i2c", {}))
        attach = v.get("attach", {})
        if not isinstance(attach, dict):
            self.error("virtual.attach", "must be an object of logical name: model")
            return
        pins = self.board.get("pins") if isinstance(self.board.get("pins"), dict) else {}
        buses = self.board.get("buses") if isinstance(self.board.get("buses"), dict) else {}
        for name, model in attach.items():
            if name not in pins and name not in buses:
                self.error("virtual.attach." + name, "no pin or bus called %s" % name)
            if not isinstance(model, str) or not model:
                self.error("virtual.attach." + name, "must name a model")

    def check_virtual_i2c(self, i2c):
        # Chip models every virtual copy of the board carries: {bus: [model spec]}.
        buses = self.board.get("buses") if isinstance(self.board.get("buses"), dict) else {}
        if not isinstance(i2c, dict):
            self.error("virtual.i2c", "must be an object of I2C bus: [model, ...]")
            return
        for bus, models in i2c.items():
            f = "virtual.i2c." + bus
            if not isinstance(buses.get(bus), dict) or buses[bus].get("type") != "i2c":
                self.error(f, "no I2C bus called %s" % bus)
            if not isinstance(models, list) or not all(isinstance(m, dict) and isinstance(m.get("model"), str) and m["model"] for m in models):
                self.error(f, "must be a list of objects naming a model")
            elif any(not (MODELS / (m["model"].split(":")[0] + ".py")).is_file() for m in models):
                self.error(f, "names a model hil/virtual/models lacks")


def _type_name(types):
    if isinstance(types, tuple):
        return " or ".join("null" if t is type(None) else t.__name__ for t in types)
    return types.__name__


def validate(board):
    """Every problem with `board`, as (level, field, message); empty when clean."""
    return _Checker(board).run()


def main(argv=None):
    # python -m tools.boards [NAME...]: print each board's problems; exit 1 on errors.
    argv = sys.argv[1:] if argv is None else argv
    failed = False
    for name in argv or names():
        try:
            problems = validate(load(name))
        except (BoardNotFound, ValueError) as e:
            print("%s: %s" % (name, e))
            failed = True
            continue
        print("%s: %d errors, %d warnings" % (
            name, sum(p.level == ERROR for p in problems), sum(p.level == WARNING for p in problems)))
        for p in problems:
            print("  %-7s %s: %s" % (p.level, p.field, p.message))
        failed = failed or any(p.level == ERROR for p in problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
