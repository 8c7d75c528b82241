# The board definition (boards/<name>.json), copied to flash as board.json
# when the board is flashed. Firmware, tools and hil read the same file.
import json

PATH = "board.json"

# What of the board file the firmware reads. The rest is for people and for
# the host (citations, notes, flash layout, the virtual board's models); the
# board dict lives through the whole wake, so the rest is dropped on load
# (more than half of its heap).
_FIRMWARE_KEYS = ("name", "chip", "pins", "buses", "radios", "sensors", "defaults")


def load(path=PATH):
    # The board as a dict; {} when the file is missing or broken, so a board
    # flashed without it still boots (and says so in its log).
    try:
        with open(path) as f:
            board = json.load(f)
    except (OSError, ValueError):
        return {}
    if not isinstance(board, dict):
        return board
    board = {k: board[k] for k in _FIRMWARE_KEYS if k in board}
    for spec in board.get("pins", {}).values():
        if isinstance(spec, dict):
            spec.pop("note", None)
    return board


def pin(board, name):
    # The GPIO number of a logical pin ("batt_adc", "sos_button", ...), or None.
    spec = board.get("pins", {}).get(name)
    return spec.get("gpio") if spec else None


def bus(board, name):
    # The bus spec of a logical bus ("i2c0", "lora_uart", ...), or None.
    return board.get("buses", {}).get(name)
