"""mpremote, the technicians' tool, against a virtual board started by the CLI.

`cityfleet vboard start` runs in a subprocess, as a technician would run it,
and every command is the real mpremote CLI on the console pty it printed.
"""
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def _mpremote(console, *args, timeout=30):
    done = subprocess.run([str(BIN / "mpremote"), "connect", console, *args],
                          capture_output=True, timeout=timeout)
    assert done.returncode == 0, (done.stdout + done.stderr).decode("utf-8", "replace")
    return done.stdout.decode("utf-8", "replace")


@pytest.fixture
def vboard_cli(tmp_path):
    proc = subprocess.Popen([str(BIN / "cityfleet"), "vboard", "start", "esp32-devkitc",
                             "--flash", str(tmp_path / "flash")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = {}
    while True:
        line = proc.stdout.readline().decode()
        assert line, proc.stderr.read().decode()
        key, _, value = line.strip().partition(": ")
        lines[key] = value
        if key == "ready":
            break
    yield lines
    proc.send_signal(signal.SIGINT)
    assert proc.wait(20) == 0


def test_cli_prints_console_and_uart_ptys_first(vboard_cli):
    assert re.fullmatch(r"/dev/pts/\d+", vboard_cli["console"])
    assert re.fullmatch(r"/dev/pts/\d+", vboard_cli["uart lora_uart"])
    assert re.fullmatch(r"/dev/pts/\d+", vboard_cli["uart rs485"])


def test_copy_exec_soft_reset_read_back(vboard_cli, tmp_path):
    console = vboard_cli["console"]
    src = tmp_path / "greet.py"
    src.write_text("def hello():\n    return 'hello from flash'\n")
    data = tmp_path / "blob.bin"
    data.write_bytes(bytes(range(256)) * 40)  # binary, bigger than a raw-paste window
    _mpremote(console, "fs", "mkdir", ":lib")
    _mpremote(console, "fs", "cp", str(src), ":lib/greet.py")
    _mpremote(console, "fs", "cp", str(data), ":blob.bin")
    assert "greet.py" in _mpremote(console, "fs", "ls", ":lib")
    assert "hello from flash" in _mpremote(console, "exec", "import greet; print(greet.hello())")
    _mpremote(console, "soft-reset")
    out = tmp_path / "back.bin"
    _mpremote(console, "fs", "cp", ":blob.bin", str(out))
    assert out.read_bytes() == data.read_bytes()
    assert "return 'hello from flash'" in _mpremote(console, "fs", "cat", ":lib/greet.py")
    # the filesystem is the board's: littlefs at /, ESP32-like sys.path
    assert _mpremote(console, "exec", "import sys, os; print(sys.path, os.getcwd())").strip() == \
        "['', '.frozen', '/lib'] /"


def test_run_and_soft_reset_keep_raw_repl_and_skip_main(vboard_cli, tmp_path):
    console = vboard_cli["console"]
    main = tmp_path / "main.py"
    main.write_text("print('main.py ran')\n")
    _mpremote(console, "fs", "cp", str(main), ":main.py")
    script = tmp_path / "script.py"
    script.write_text("import machine\nprint('cause', machine.reset_cause())\n")
    # after a raw-REPL soft reset the board stays in raw REPL and skips main.py, as an ESP32
    out = _mpremote(console, "soft-reset", "run", str(script))
    assert "cause 1" in out and "main.py ran" not in out


def test_repl_friendly_soft_reboot_runs_main(vboard_cli, tmp_path):
    console = vboard_cli["console"]
    main = tmp_path / "main.py"
    main.write_text("print('main.py ran')\n")
    _mpremote(console, "fs", "cp", str(main), ":main.py")
    # `repl` with --inject-code... drive the friendly REPL as a terminal would
    import serial
    with serial.Serial(console, 115200, timeout=0.2) as s:
        s.write(b"\r\x02")  # friendly REPL
        s.write(b"\x04")  # Ctrl-D: soft reboot
        buf = b""
        for _ in range(100):
            buf += s.read(4096)
            if b"main.py ran" in buf and buf.endswith(b">>> "):
                break
        assert b"MPY: soft reboot\r\n" in buf
        assert b"main.py ran\r\n" in buf
        assert b"Generic ESP32 module with ESP32\r\n" in buf
        s.write(b"6 * 7\r")
        buf = b""
        for _ in range(50):
            buf += s.read(4096)
            if b"42" in buf:
                break
        assert b"42\r\n" in buf


def test_ctrl_c_interrupts_a_running_main(vboard_cli, tmp_path):
    console = vboard_cli["console"]
    main = tmp_path / "main.py"
    main.write_text("import time\nprint('looping')\nwhile True:\n    time.sleep_ms(5)\n")
    _mpremote(console, "fs", "cp", str(main), ":main.py")
    import serial
    with serial.Serial(console, 115200, timeout=0.2) as s:
        s.write(b"\r\x02\x04")  # soft reboot into main.py, which never ends
        buf = b""
        for _ in range(50):
            buf += s.read(4096)
            if b"looping" in buf:
                break
        assert b"looping" in buf
    # mpremote interrupts it with Ctrl-C, as on a board
    assert _mpremote(console, "exec", "print(1 + 1)").strip() == "2"
