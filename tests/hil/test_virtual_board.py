"""The virtual board behaves as an ESP32 where the firmware can see it:
resets and their causes, deep sleep, the watchdog, power cuts, virtual time,
and peripherals driven by a scenario."""
import re
import time

import pytest
import serial

from hil.board import BoardError


def _boot_main(board, source):
    """Install main.py and soft-reboot into it (boot.py, then main.py)."""
    board.put("/main.py", source)
    board.reboot()


def test_deepsleep_keeps_rtc_memory_and_a_day_passes_in_seconds(board):
    _boot_main(board, """
import machine, time
rtc = machine.RTC()
n = int(rtc.memory() or b"0")
print("wake %d cause %d reason %d t %d" % (n, machine.reset_cause(), machine.wake_reason(), time.time()))
if n < 24:
    rtc.memory(b"%d" % (n + 1))
    machine.deepsleep(3600 * 1000)
print("done %d" % time.time())
""")
    wall = time.monotonic()
    t = int(board.expect(rb"done (\d+)", timeout=60).group(1))
    assert time.monotonic() - wall < 20
    log = board.console_text()
    wakes = re.findall(r"wake (\d+) cause (\d+) reason (\d+) t (\d+)", log)
    assert [int(w[0]) for w in wakes[-25:]] == list(range(25))
    assert all(w[1:3] == ("4", "4") for w in wakes[-24:])  # DEEPSLEEP_RESET, TIMER_WAKE
    assert 24 * 3600 <= t < 24 * 3600 + 60
    assert log.count("rst:0x5 (DEEPSLEEP_RESET)") >= 24


@pytest.mark.parametrize("hang", ["while True:\n        pass", "time.sleep(30)"])
def test_watchdog_resets_a_hung_program(board, hang):
    _boot_main(board, """
import machine, time
print("cause %%d" %% machine.reset_cause())
if machine.reset_cause() != machine.WDT_RESET:
    wdt = machine.WDT(timeout=1000)
    for i in range(5):
        time.sleep_ms(500)
        wdt.feed()
    print("hanging")
    %s
""" % hang)
    board.expect(rb"hanging", timeout=10)
    board.expect(rb"rst:0x8 \(TG1WDT_SYS_RESET\)", timeout=10)
    board.expect(rb"cause 3\r\n", timeout=10)
    assert board.vboard.reset_cause == 3


def test_machine_reset_restarts_like_esp_restart(board):
    # On an ESP32, machine.reset() is esp_restart(): reset_cause() is SOFT_RESET
    # (ESP_RST_SW), and the ROM prints SW_CPU_RESET.
    board.exec("import machine; machine.RTC().memory(b'kept')")
    board.reset()
    board.expect(rb"rst:0xc \(SW_CPU_RESET\)", timeout=10)
    board.expect(rb">>> ", timeout=10)
    assert board.eval("__import__('machine').reset_cause()") == 5
    assert board.eval("__import__('machine').RTC().memory()") == b"kept"


def test_soft_reset_keeps_the_reset_cause(board):
    board.soft_reset()
    assert board.eval("__import__('machine').reset_cause()") == 1  # still PWRON_RESET, as on an ESP32


def test_power_cut_gives_pwron_reset_and_keeps_the_flash(board):
    board.put("/data.txt", b"committed")
    board.exec("import machine; machine.RTC().memory(b'lost on power loss')")
    board.start("import time\nwhile True:\n    time.sleep_ms(1)")
    board.power_cut()
    board.expect(rb"rst:0x1 \(POWERON_RESET\)", timeout=10)
    assert board.eval("__import__('machine').reset_cause()") == 1
    assert board.eval("__import__('machine').RTC().memory()") == b""
    assert board.get("/data.txt") == b"committed"


@pytest.mark.parametrize("seed", range(6))
def test_armed_power_cut_tears_one_flash_write_and_littlefs_recovers(board, seed):
    board.put("/old.txt", b"old " * 300)
    board.arm_power_cut(after_writes=1 + seed, seed=seed)
    mark = len(board.supervisor_log())
    board.start("""
for i in range(20):
    with open('/new%d.txt' % i, 'w') as f:
        f.write('x' * 1500)
    with open('/old.txt', 'w') as f:
        f.write('new ' * 300)
""")
    board.vboard.wait_for(rb"rst:0x1 \(POWERON_RESET\)", timeout=20, start=mark)
    assert board.eval("__import__('machine').reset_cause()") == 1
    assert board.get("/old.txt") in (b"old " * 300, b"new " * 300)
    for name in board.listdir("/"):
        if name.startswith("new"):
            assert board.get("/" + name) in (b"", b"x" * 1500)


def test_time_sleep_of_a_day_takes_no_real_time(board):
    wall = time.monotonic()
    out = board.exec("""
import time
t, k = time.time(), time.ticks_ms()
time.sleep(86400)
print(time.time() - t, time.ticks_diff(time.ticks_ms(), k))
""")
    secs, ms = map(int, out.split())
    assert 86400 <= secs <= 86402 and 86400000 <= ms < 86402000
    assert time.monotonic() - wall < 5


def test_asyncio_sleeps_in_virtual_time(board):
    out = board.exec("""
import asyncio, time
async def tick(name, period, n, seen):
    for i in range(n):
        await asyncio.sleep(period)
        seen.append((time.time(), name))
async def main():
    seen = []
    await asyncio.gather(tick("a", 3600, 24, seen), tick("b", 7200, 12, seen))
    return seen
t0 = time.time()
seen = asyncio.run(main())
print(len(seen), seen[-1][0] - t0)
""", timeout=20)
    n, elapsed = map(int, out.split())
    assert n == 36 and 86400 <= elapsed <= 86405


def test_scenario_pin_change_at_0800_fires_the_irq(make_board):
    board = make_board(scenario={
        "start": "2025-03-03T07:55:00",
        "pins": {"sos_button": {"initial": 1, "timeline": [{"at": "08:00", "level": 0},
                                                           {"at": "08:00:02", "level": 1}]}},
    })
    out = board.exec("""
import machine, time
seen = []
p = machine.Pin(33, machine.Pin.IN, machine.Pin.PULL_UP)
p.irq(lambda pin: seen.append((time.localtime()[3:6], pin.value())), machine.Pin.IRQ_FALLING | machine.Pin.IRQ_RISING)
print(p.value())
time.sleep(600)
print(seen, p.value())
""")
    assert out.split("\r\n")[:2] == ["1", "[((8, 0, 0), 0), ((8, 0, 2), 1)] 1"]


def test_scenario_adc_ramps_and_i2c_register_model(make_board):
    board = make_board(scenario={
        "start": "2025-03-03T00:00:00",
        "adc": {"batt_adc": {"initial": 2.0, "timeline": [{"at": "+10h", "volts": 1.0, "ramp": True}]}},
        "i2c": {"i2c0": [{"model": "regmap", "address": 30, "registers": {"0x0d": "ff", "0x00": [1, 2, 3]},
                          "timeline": [{"at": "04:00", "registers": {"0x0d": "10"}}]}]},
    })
    out = board.exec("""
import machine, time
adc = machine.ADC(machine.Pin(35), atten=machine.ADC.ATTN_11DB)
i2c = machine.I2C(0, scl=machine.Pin(22), sda=machine.Pin(21))
print(adc.read_uv(), i2c.scan(), i2c.readfrom_mem(30, 0x0d, 1), i2c.readfrom_mem(30, 0, 3))
time.sleep(5 * 3600)
print(adc.read_uv(), i2c.readfrom_mem(30, 0x0d, 1))
i2c.writeto_mem(30, 0x20, b'\\x07')
print(i2c.readfrom_mem(30, 0x20, 1))
try:
    i2c.readfrom(31, 1)
except OSError as e:
    print('OSError', e.errno)
""")
    lines = out.split("\r\n")
    uv0, rest = lines[0].split(" ", 1)
    assert abs(int(uv0) - 2000000) < 2000 and rest == "[30] b'\\xff' b'\\x01\\x02\\x03'"
    uv1, reg = lines[1].split(" ")
    assert abs(int(uv1) - 1500000) < 2000 and reg == "b'\\x10'"
    assert lines[2:4] == ["b'\\x07'", "OSError 19"]


def test_uart_is_bridged_byte_for_byte_to_a_host_pty(board):
    with serial.Serial(board.uarts["lora_uart"], 115200, timeout=5) as peer:
        board.start("""
import machine, time
u = machine.UART(2, 115200, tx=17, rx=16, timeout=2000)
u.write(b'AT+VER?\\r\\n')
print('reply', u.readline())
""")
        assert peer.read_until(b"\r\n") == b"AT+VER?\r\n"
        peer.write(b"+VER:1.0\r\n")
        board.expect(rb"reply b'\+VER:1\.0\\r\\n'", timeout=10)


def test_flash_is_the_boards_size(board):
    out = board.exec("""
import os
print(os.statvfs('/')[0] * os.statvfs('/')[2])
try:
    with open('/big.bin', 'wb') as f:
        for i in range(1000):
            f.write(bytes(4096))
except OSError as e:
    print('OSError', e.errno)
""", timeout=30)
    size, err = out.split("\r\n")[:2]
    assert int(size) == board.vboard.image.size and err == "OSError 28"


def test_exceptions_come_back_as_board_errors(board):
    with pytest.raises(BoardError, match="ZeroDivisionError"):
        board.exec("1/0")
    with pytest.raises(BoardError, match="invalid pin"):
        board.exec("import machine; machine.Pin(24)")  # no GPIO24 on an ESP32


def test_two_boards_run_side_by_side(make_board):
    a, b = make_board(), make_board()
    assert a.port != b.port
    a.put("/who.txt", b"a")
    b.put("/who.txt", b"b")
    assert (a.get("/who.txt"), b.get("/who.txt")) == (b"a", b"b")


@pytest.mark.hardware("needs the SX1262 radio on the air")
def test_marked_hardware_tests_are_skipped_on_virtual_boards(board):
    raise AssertionError("a virtual board has no radio")


def test_flash_image_is_written_and_read_without_a_running_board(make_board, tmp_path):
    from hil import boards
    from hil.flash import FlashImage
    image = FlashImage(tmp_path / "fl" / "flash.img", boards.fs_size(boards.load("esp32-devkitc")))
    image.format()
    image.put("/lib/settings.py", "VALUE = 42\n")
    assert image.listdir("/lib") == ["settings.py"]
    board = make_board(flash_dir=tmp_path / "fl")
    assert board.eval("__import__('settings').VALUE") == 42
    board.put("/from_board.txt", b"written by the board")
    board.vboard.stop()
    assert image.get("/from_board.txt") == b"written by the board"


def test_ctrl_c_while_the_garbage_collector_runs_leaves_a_working_vm(board):
    # The unix port raises KeyboardInterrupt from its SIGINT handler wherever it
    # is; one that landed inside a collection left the heap locked and the VM
    # dead ("heap is locked", "FATAL: uncaught NLR"). The virtual board takes a
    # Ctrl-C at a safe point instead, as an ESP32 does (hil/README.md, VM).
    board.put("/main.py", "import gc, time\n"
                          "print('churning')\n"
                          "while True:\n"
                          "    junk = [bytearray(48) for _ in range(64)]\n"
                          "    gc.collect()\n"
                          "    time.ticks_ms()\n")
    for i in range(10):
        board.reboot()
        board.expect(rb"churning", timeout=10)
        time.sleep(0.02 * (i % 5))
        board.interrupt()
        board.expect(rb"KeyboardInterrupt", timeout=10)
        assert board.exec("print(6 * 7)").strip() == "42"
    log = board.console_text()
    assert "heap is locked" not in log and "FATAL" not in log
