# The board definition (boards/<name>.json), copied to flash as board.json
# when the board is flashed. Firmware, tools and hil read the same file.
import json

PATH = "board.json"

# What of the board file the firmware reads, section by section. The rest is
# for people and for the host (citations, notes, flash layout, pin modes, the
# virtual board's models), and the board dict lives through the whole wake:
# without the rest it holds less than half the heap (bench.census). A key the
# firmware starts to read goes in here.
_SECTIONS = (("pins", ("gpio", "pull", "active", "atten", "divider")),
             ("buses", ("id", "scl", "sda", "freq", "tx", "rx", "baudrate", "de")),
             ("sensors", ("role", "chip", "bus", "address")),
             ("defaults", None))


def load(path=PATH):
    # The board as a dict; {} when the file is missing or broken, so a board
    # flashed without it still boots (and says so in its log).
    try:
        with open(path) as f:
            raw = json.load(f)
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return raw
    board = {}
    for section, keys in _SECTIONS:
        specs = raw.get(section)
        if specs is None:
            continue
        board[section] = specs
        if keys is None:
            continue
        # pins and buses map names to specs; sensors is a list of them
        for spec in specs.values() if isinstance(specs, dict) else specs:
            if isinstance(spec, dict):
                for k in [k for k in spec if k not in keys]:
                    del spec[k]
    return board


def pin(board, name):
    # The GPIO number of a logical pin ("batt_adc", "sos_button", ...), or None.
    spec = board.get("pins", {}).get(name)
    return spec.get("gpio") if spec else None


def bus(board, name):
    # The bus spec of a logical bus ("i2c0", "lora_uart", ...), or None.
    return board.get("buses", {}).get(name)

