"""The ROM partition of the virtual board (a MicroPython build with ROMFS):
flash_firmware(romfs=True) puts the build in a ROMFS image mounted at /rom,
whose bytecode runs in place, and leaves the filesystem to boot.py, main.py,
the board and config files and data."""
import json
from pathlib import Path

from hil.board import build_romfs
from hil.vboard import ROMFS_SIZE
from protocols import frames

ROOT = Path(__file__).resolve().parents[2]
CONFIG = {
    "dev_eui": "70b3d57ed0000001", "join_eui": "70b3d57ed0000000",
    "app_key": "00112233445566778899aabbccddeeff", "device_key": "ab" * 32,
    "profile": "parking_bay", "interval": 900, "status_every": 1,
    "sleep": "light",   # one VM run: Ctrl-C lands in a light sleep, not between boots
}
# The status and counters frames of one cycle.
CYCLE = rb"uplink (85[0-9a-f]+)\r?\nuplink (84[0-9a-f]+)\r?\n"


def test_romfs_image_holds_the_build_and_fits_the_partition():
    image, files, stale = build_romfs()
    assert image.startswith(b"\xd2\xcd\x31")          # the ROMFS header mpremote writes
    assert len(image) <= ROMFS_SIZE
    assert sorted(name for name, _ in files) == ["/boot.py", "/main.py"]
    assert "/runtime" in stale and "/lib/protocols" in stale


def _boot(board, romfs):
    # The board file without its modem: frames go to the console transport.
    b = json.loads((ROOT / "boards" / (board.board_type + ".json")).read_text())
    b["buses"].pop("lora_uart", None)
    board.put("/board.json", json.dumps(b))
    board.put("/config.json", json.dumps(CONFIG))
    board.flash_firmware(mpy=True, romfs=romfs)


def _stop(board):
    board.interrupt()
    board.expect(rb">>> ", timeout=10)


def test_firmware_runs_from_rom_with_only_boot_and_main_on_the_filesystem(board):
    _boot(board, romfs=False)      # a littlefs flash first: its modules must go
    board.expect(CYCLE, timeout=30)
    _stop(board)
    _boot(board, romfs=True)
    m = board.expect(CYCLE, timeout=30)
    assert [frames.decode(bytes.fromhex(x.decode()))[0] for x in m.groups()] == ["status", "counters"]
    board.interrupt()
    board.expect(rb">>> ", timeout=10)
    assert board.eval("__import__('runtime.app').app.__file__") == "/rom/runtime/app.mpy"
    assert board.eval("__import__('protocols.frames').frames.__file__") == "/rom/lib/protocols/frames.mpy"
    path = board.eval("__import__('sys').path")
    assert path.index("/rom") < path.index("/lib")
    assert "runtime" not in board.listdir("/") and "protocols" not in board.listdir("/lib")
    assert {"boot.py", "main.py", "board.json", "config.json"} <= set(board.listdir("/"))


def test_littlefs_flash_erases_the_rom_partition(board):
    _boot(board, romfs=True)
    board.expect(CYCLE, timeout=30)
    _stop(board)
    _boot(board, romfs=False)
    board.expect(CYCLE, timeout=30)
    board.interrupt()
    board.expect(rb">>> ", timeout=10)
    assert board.eval("__import__('runtime.app').app.__file__") == "runtime/app.mpy"
    assert "/rom" not in board.eval("__import__('sys').path")
