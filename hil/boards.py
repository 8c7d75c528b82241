"""Board definitions as the virtual board needs them.

Reads boards/<name>.json through tools.boards when present, else directly, and
tolerates a minimal file: {"chip": "esp32", "fs_size": ..., "pins": {...},
"buses": {...}}.
"""
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOARDS_DIR = ROOT / "boards"

DEFAULT_FS_SIZE = 0x200000  # ESP32_GENERIC's vfs partition
_CHIPS = {"esp32": "esp32", "esp32s3": "esp32s3", "esp32-s3": "esp32s3"}
_MPY_ARCH = {"esp32": "xtensawin", "esp32s3": "xtensawin"}


class BoardNotFound(Exception):
    """No board file of that name"""


def load(name):
    """The board file as a dict."""
    try:
        from tools import boards as tools_boards
        try:
            return tools_boards.load(name)
        except Exception as e:
            if type(e).__name__ == "BoardNotFound":
                raise BoardNotFound(name) from None
            raise
    except ImportError:
        pass
    path = BOARDS_DIR / (name + ".json")
    if not path.exists():
        raise BoardNotFound(name)
    return json.loads(path.read_text())


def chip(board):
    c = str(board.get("chip") or board.get("mcu") or "esp32").lower()
    return _CHIPS.get(c, c)


def mpy_arch(board):
    return board.get("mpy_arch") or _MPY_ARCH.get(chip(board), "xtensawin")


def fs_size(board):
    for key in ("fs_size", "filesystem_size"):
        if board.get(key):
            return int(board[key])
    flash = board.get("flash")
    if isinstance(flash, dict):
        for key in ("fs_size", "fs", "filesystem"):
            if flash.get(key):
                return int(flash[key])
    return DEFAULT_FS_SIZE


def pin_gpio(board, name):
    """GPIO number of a logical pin name, "gpio12", "12" or 12."""
    if isinstance(name, int):
        return name
    pins = board.get("pins", {})
    if name in pins:
        p = pins[name]
        return int(p["gpio"] if isinstance(p, dict) else p)
    s = str(name).lower()
    if s.startswith("gpio"):
        s = s[4:]
    if s.isdigit():
        return int(s)
    raise KeyError("board %s has no pin %r" % (board.get("name", "?"), name))


def buses(board, kind):
    """{logical name: bus dict} of one type ("i2c", "uart")."""
    return {n: b for n, b in board.get("buses", {}).items() if b.get("type") == kind}
