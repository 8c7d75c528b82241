"""Shared pieces of the application tests: installing the firmware with a
profile's config on a virtual board, reading frames off the console."""
import json
from pathlib import Path

from protocols import frames

ROOT = Path(__file__).resolve().parents[2]
UPLINK = rb"uplink ([0-9a-f]+)\r?\n"
IDENTITY = {
    "dev_eui": "70b3d57ed0000001", "join_eui": "70b3d57ed0000000",
    "app_key": "00112233445566778899aabbccddeeff", "device_key": "ab" * 32,
}
# Drivers only (and runtime/tasks.py, which a driver that waits awaits), no
# main.py: the board stays at the REPL for board.exec.
DRIVERS = {"firmware/sensors": "/sensors", "firmware/runtime": "/runtime", "protocols": "/lib/protocols"}


def config(profile, **settings):
    return dict(IDENTITY, profile=profile, **settings)


def board_file(board_type="esp32-devkitc"):
    """The board file as the firmware reads it from flash."""
    return json.loads((ROOT / "boards" / (board_type + ".json")).read_text())


def install(board, cfg, board_json=None):
    board.put("/board.json", json.dumps(board_json or board_file(board.board_type)))
    board.put("/config.json", json.dumps(cfg))
    board.flash_firmware(mpy=True)


def install_drivers(board):
    board.flash_firmware(layout=DRIVERS, mpy=True)


def decode_log(log):
    """[(kind, fields)] of every uplink in a console log, in order."""
    import re
    return [frames.decode(bytes.fromhex(m.group(1).decode())) for m in re.finditer(UPLINK, log)]


def next_frame(board, kinds=None, timeout=60):
    while True:
        m = board.expect(UPLINK, timeout=timeout)
        kind, fields = frames.decode(bytes.fromhex(m.group(1).decode()))
        if kinds is None or kind in kinds:
            return kind, fields
