"""The virtual board's supervisor: one ESP32 as the host sees it over USB.

It owns the console pty (the board's USB serial port, which mpremote drives)
and one pty per UART of the board, and runs the MicroPython unix port (the VM)
behind them on a pty of its own. The VM runs hil/virtual/_vboot.py, which
installs the virtual `machine`, mounts the flash image and runs boot.py and
main.py, then the REPL.

The supervisor restarts the VM where an ESP32 restarts: a soft reset (Ctrl-D,
machine.soft_reset(), SystemExit) prints "MPY: soft reboot" and comes back in
the REPL mode it left (raw REPL stays raw, and main.py is skipped there, as on
the board); machine.reset(), watchdog expiry, deep-sleep wake-up and power-on
print the ROM's "rst:0x.. (...)" lines and boot from scratch. Between VM runs it
keeps what an ESP32 keeps: RTC memory and the RTC (not across power loss), the
virtual clock, the flash.

The VM talks back in-band on its console with escape sequences
ESC ] vb; <message> BEL, which the supervisor strips (see _message).
"""
import json
import mmap
import os
import pty
import queue
import random
import re
import select
import signal
import subprocess
import tempfile
import termios
import threading
import time
import tty
from pathlib import Path

from hil import boards, scenario as scenario_mod, vm, vm32
from hil.flash import FlashImage

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5
CAUSE_NAMES = {1: "PWRON_RESET", 2: "HARD_RESET", 3: "WDT_RESET", 4: "DEEPSLEEP_RESET", 5: "SOFT_RESET"}

MP_VERSION = "v1.29.0"
# The ROM partition of a ROMFS build: MicroPython's ports/esp32/partitions-4MiB-romfs.csv
# (factory app 0x10000-0x1e0000, romfs 0x1e0000-0x200000, the filesystem above),
# kept in the flash folder as romfs.img. Its filesystem starts at 0x200000, below
# the boards' fs_offset, so every board file's fs_size still fits.
ROMFS_SIZE = 0x20000
_CTL_START = b"\x1b]vb;"
_CTL_END = b"\x07"
_RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
_UNIX_BANNER = re.compile(rb"MicroPython \S+ on (\S+); linux[^\r\n]*\r\n")
_FRIENDLY = b'Type "help()" for more information.\r\n'
_LONE_LF = re.compile(rb"(?<!\r)\n")
_VM_FRAME = re.compile(rb'  File "' + re.escape(str(vm.VM_DIR).encode()) + rb'/[^"]*", line \d+, in [^\n]*\n')

# What the ESP32's ROM prints on a reset, by chip and cause.
_ROM = {
    "esp32": ("ets Jul 29 2019 12:21:46\r\n\r\nrst:{rst},boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n"
              "configsip: 0, SPIWP:0xee\r\n"
              "clk_drv:0x00,q_drv:0x00,d_drv:0x00,cs0_drv:0x00,hd_drv:0x00,wp_drv:0x00\r\n"
              "mode:DIO, clock div:2\r\nload:0x3fff0030,len:4728\r\nload:0x40078000,len:14888\r\n"
              "load:0x40080400,len:3368\r\nentry 0x400805cc\r\n"),
    "esp32s3": ("ESP-ROM:esp32s3-20210327\r\nBuild:Mar 27 2021\r\nrst:{rst},boot:0x8 (SPI_FAST_FLASH_BOOT)\r\n"
                "SPIWP:0xee\r\nmode:DIO, clock div:1\r\nload:0x3fce3818,len:0x109c\r\n"
                "load:0x403c9700,len:0x4\r\nload:0x403c9704,len:0xbf0\r\nload:0x403cc700,len:0x2f10\r\n"
                "entry 0x403c9958\r\n"),
}
_RST = {
    "esp32": {PWRON_RESET: "0x1 (POWERON_RESET)", SOFT_RESET: "0xc (SW_CPU_RESET)",
              WDT_RESET: "0x8 (TG1WDT_SYS_RESET)", DEEPSLEEP_RESET: "0x5 (DEEPSLEEP_RESET)"},
    "esp32s3": {PWRON_RESET: "0x1 (POWERON)", SOFT_RESET: "0xc (RTC_SW_CPU_RST)",
                WDT_RESET: "0x8 (TG1WDT_SYS_RST)", DEEPSLEEP_RESET: "0x5 (DSLEEP)"},
}


class VBoardError(Exception):
    """The virtual board could not do what was asked"""


def _raw_pty(vmin=1):
    m, s = pty.openpty()
    tty.setraw(s)
    a = termios.tcgetattr(s)
    a[6][termios.VMIN] = vmin
    a[6][termios.VTIME] = 0
    termios.tcsetattr(s, termios.TCSANOW, a)
    os.set_blocking(m, False)
    return m, s


_KBD_POLL_S = 0.005   # how often the supervisor looks whether the VM took a Ctrl-C
_KBD_WAIT_S = 1.0     # after which the Ctrl-C goes as a SIGINT after all

class VirtualBoard:
    """One virtual board. `start()` it, then drive `console` (a pty path) as a
    USB serial port; `uarts` maps each UART's logical name to its host pty."""

    def __init__(self, board="esp32-devkitc", scenario=None, flash_dir=None, heap="304k",
                 echo=None, hold_deepsleep=False, free_heap=None, vm_kind=None):
        # Which build of the unix port runs the firmware: "unix" (64-bit,
        # native) or "wasm32" (32-bit, as an ESP32: hil/vm32.py); VBOARD_VM
        # chooses for every board of a run.
        self.vm_kind = vm_kind or os.environ.get("VBOARD_VM", "unix")
        if self.vm_kind not in ("unix", "wasm32"):
            raise ValueError("no VM %r: unix or wasm32" % self.vm_kind)
        self.board_name = board
        self.board = boards.load(board)
        self.chip = boards.chip(self.board)
        self.scenario = scenario_mod.load(scenario)
        self.world = scenario_mod.normalise(self.scenario, self.board)
        self._tmp = None
        if flash_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="vboard-")
            flash_dir = self._tmp.name
        self.flash_dir = Path(flash_dir)
        self.flash_dir.mkdir(parents=True, exist_ok=True)
        self.image = FlashImage(self.flash_dir / "flash.img", boards.fs_size(self.board))
        self.rom_path = self.flash_dir / "romfs.img"   # the ROM partition; absent: erased
        self.heap = heap
        self.echo = echo  # callable(bytes) that sees the console output too
        # Stop at each deep sleep instead of waking: the flash folder is then
        # the board asleep (a snapshot to copy); wake_up() goes on, and a new
        # VirtualBoard on a copy starts there with start(DEEPSLEEP_RESET).
        self.hold_deepsleep = hold_deepsleep
        self._held = False
        # The heap the firmware gets: with free_heap, the bootstrap holds the
        # rest of `heap` so boot.py starts with that many bytes free
        # (bench.apps measures a wake's heap with it); free_at_boot is what
        # the last boot had.
        self.free_heap = free_heap
        self.free_at_boot = None
        self.log = bytearray()
        self.events = []  # [(virtual ms, what, detail)]: resets, sleeps, power cuts
        self.pin_history = []  # [(virtual ms, gpio, level)] of output pins
        self.console = None
        self.uarts = {}
        self._cond = threading.Condition()
        self._cmds = queue.Queue()
        self._thread = None
        self._running = False
        self._proc = None
        self._vm_m = None
        # The VM's Ctrl-C flag (hil/vm.py _KBD_MAP), and since when a Ctrl-C
        # at the head of the console input waits in it for the VM to take it.
        self._kbd_path = self.flash_dir / "kbd.flag"
        self._kbd = None
        self._kbd_since = None
        self._state = self._load_state()

    # ------------------------------------------------------------ state on flash dir
    def _load_state(self):
        path = self.flash_dir / "state.json"
        if path.exists():
            return json.loads(path.read_text())
        return {"world_ms": scenario_mod.start_ms(self.scenario), "rtc_offset_ms": 0, "rtc_memory": "",
                "reset_cause": PWRON_RESET, "wake_reason": 0, "boots": 0}

    def _save_state(self):
        path = self.flash_dir / "state.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._state))
        os.replace(tmp, path)

    @property
    def reset_cause(self):
        return self._state["reset_cause"]

    @property
    def boots(self):
        return self._state["boots"]

    def now_ms(self):
        """The virtual clock now (ms since 2000-01-01), as far as the host knows."""
        with self._cond:
            return self._world_now()

    def _world_now(self):
        if self._proc is not None and self._anchor is not None:
            t, ms = self._anchor
            return int(ms + (time.monotonic() - t) * 1000 + self._skipped)
        return self._state["world_ms"]

    # ------------------------------------------------------------ lifecycle
    def start(self, cause=PWRON_RESET):
        """Power on; with cause=DEEPSLEEP_RESET, wake instead from the deep
        sleep the flash folder's state holds (a held board's snapshot)."""
        if self._thread is not None:
            return self
        self._console_m, self._console_s = _raw_pty()
        self.console = os.ttyname(self._console_s)
        self._uart = {}
        for name, bus in sorted(boards.buses(self.board, "uart").items()):
            hm, hs = _raw_pty()
            vmm, vms = _raw_pty(vmin=0)
            self._uart[name] = {"id": bus.get("id"), "host_m": hm, "host_s": hs, "vm_m": vmm, "vm_s": vms,
                                "vm_path": os.ttyname(vms)}
            self.uarts[name] = os.ttyname(hs)
        self._inbuf = bytearray()
        self._out = _OutputFilter(self)
        self._anchor = None
        self._skipped = 0
        self._wdt_deadline = None
        self._asleep_until = None
        self._reached_repl = False
        self._vm_ready = False
        self._quick_exits = 0
        self._running = True
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._thread = threading.Thread(target=self._loop, name="vboard-" + self.board_name, daemon=True)
        self._thread.start()
        self._held = False
        self._call(lambda: self._boot(cause, hard=True))
        return self

    def stop(self):
        if self._thread is None:
            return
        self._call(self._shutdown)
        self._running = False
        os.write(self._wake_w, b"x")
        self._thread.join(10)
        self._thread = None
        if self._kbd is not None:
            self._kbd.close()
            self._kbd = None
        for fd in [self._console_m, self._console_s, self._wake_r, self._wake_w] + \
                [u[k] for u in self._uart.values() for k in ("host_m", "host_s", "vm_m", "vm_s")]:
            try:
                os.close(fd)
            except OSError:
                pass
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------ API (any thread)
    def power_cut(self, off_ms=0):
        """Cut the power now (SIGKILL the VM wherever it is), keep it off for
        `off_ms` of virtual time, and power on: PWRON_RESET, RTC memory lost.
        Returns the virtual ms of the cut."""
        return self._call(lambda: self._power_cut(off_ms))

    def power_cut_after(self, seconds, off_ms=0):
        """Cut the power after `seconds` of real time (from a timer thread)."""
        timer = threading.Timer(seconds, lambda: self._running and self.power_cut(off_ms))
        timer.daemon = True
        timer.start()
        return timer

    def power_cut_random(self, seed, low=0.0, high=1.0, off_ms=0):
        """Cut the power at a moment drawn from `seed` in [low, high) s from now."""
        delay = random.Random(seed).uniform(low, high)
        time.sleep(delay)
        return self.power_cut(off_ms)

    def reset_button(self):
        """Press EN: the ESP32 restarts from power-on (ROM: POWERON_RESET)."""
        return self._call(lambda: self._power_cut(0, what="reset button"))

    def offline(self, fn):
        """Power off, call fn(image) (a FlashImage), power on (PWRON_RESET)."""
        def do():
            self._kill()
            self._event("power off", "offline")
            try:
                return fn(self.image)
            finally:
                self._boot(PWRON_RESET)
        return self._call(do)

    def write_rom(self, image):
        """Write a ROMFS image to the ROM partition (None erases it); with the
        board off (in offline()), or it takes effect at the next boot."""
        if image is None:
            if self.rom_path.exists():
                self.rom_path.unlink()
            return
        if len(image) > ROMFS_SIZE:
            raise VBoardError("ROMFS image of %d bytes does not fit the %d-byte ROM partition"
                              % (len(image), ROMFS_SIZE))
        tmp = self.rom_path.with_suffix(".tmp")
        tmp.write_bytes(image)
        os.replace(tmp, self.rom_path)

    def advance(self, ms):
        """While the board sleeps with no wake-up (deepsleep() with no timer), let
        `ms` of virtual time pass; no effect on a running board."""
        def do():
            if self._proc is None and self._asleep_until is None:
                self._state["world_ms"] += ms
                self._save_state()
        self._call(do)

    def wait_asleep(self, timeout=10.0):
        """With hold_deepsleep: wait until the board has gone into deep sleep
        and is held there. Raises TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._held:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("the board did not go to deep sleep within %.1f s" % timeout)
                self._cond.wait(left)

    def wake_up(self):
        """Wake a board held in deep sleep (its timer or pin fired)."""
        def do():
            if self._held:
                self._held = False
                self._boot(DEEPSLEEP_RESET)
        self._call(do)

    def wait_for(self, pattern, timeout=10.0, start=0):
        """Wait until the console output from byte `start` matches `pattern`
        (bytes or str regex); return the match. Raises TimeoutError."""
        rx = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = rx.search(self.log, start)
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no %r on the console within %.1f s" % (rx.pattern, timeout))
                self._cond.wait(left)

    def _call(self, fn):
        if threading.current_thread() is self._thread:
            return fn()
        done = threading.Event()
        box = []

        def run():
            try:
                box.append((True, fn()))
            except BaseException as e:  # handed to the caller
                box.append((False, e))
            done.set()
        self._cmds.put(run)
        os.write(self._wake_w, b"x")
        if not done.wait(120):
            raise VBoardError("supervisor did not answer")
        ok, value = box[0]
        if not ok:
            raise value
        return value

    # ------------------------------------------------------------ the loop
    def _loop(self):
        while self._running:
            rfds = [self._wake_r, self._console_m]
            wfds = []
            if self._vm_m is not None:
                rfds.append(self._vm_m)
                if self._inbuf and self._vm_ready and self._kbd_since is None:
                    wfds.append(self._vm_m)
            for u in self._uart.values():
                rfds += [u["host_m"], u["vm_m"]]
            timeout = None
            now = time.monotonic()
            for t in (self._wdt_deadline, self._out.flush_at, self._kbd_since and now + _KBD_POLL_S):
                if t is not None:
                    timeout = max(0.0, t - now) if timeout is None else min(timeout, max(0.0, t - now))
            try:
                r, w, _ = select.select(rfds, wfds, [], timeout)
            except (OSError, ValueError):
                r, w = [], []
            if self._wake_r in r:
                try:
                    os.read(self._wake_r, 512)
                except OSError:
                    pass
                while True:
                    try:
                        self._cmds.get_nowait()()
                    except queue.Empty:
                        break
            if not self._running:
                break
            if self._console_m in r:
                data = _read(self._console_m)
                if data and self._proc is not None:
                    self._inbuf += data
            if self._vm_m is not None and self._inbuf and self._vm_ready and (self._vm_m in w or self._kbd_since):
                self._write_console()
            if self._vm_m is not None and self._vm_m in r:
                data = _read(self._vm_m, eof_ok=True)
                if data is None:
                    self._vm_exited()
                elif data:
                    self._out.feed(data)
            for name, u in self._uart.items():
                if u["host_m"] in r:
                    data = _read(u["host_m"])
                    if data and self._proc is not None:
                        _write_all(u["vm_m"], data)
                if u["vm_m"] in r:
                    data = _read(u["vm_m"])
                    if data:
                        _write_all(u["host_m"], data)
            self._out.tick()
            if self._wdt_deadline is not None and time.monotonic() >= self._wdt_deadline:
                self._kill()
                self._event("WDT expired", "hung")
                self._hard_boot(WDT_RESET)

    def _write_console(self):
        # Console input to the VM. A Ctrl-C while the VM runs code (its tty
        # has ISIG on; the port's REPL turns it off while it reads a line) is
        # set as the VM's Ctrl-C flag rather than sent as a SIGINT (hil/vm.py
        # _KBD_MAP says why), and what follows it waits until the VM took it.
        # A VM back at its REPL first gets the Ctrl-C as a byte; one that does
        # not take it within _KBD_WAIT_S (in a C call that never reaches a
        # safe point) gets the SIGINT after all.
        data = bytes(self._inbuf)
        i = data.find(b"\x03")
        if i != 0:
            self._send_console(data if i < 0 else data[:i])
            return
        if self._kbd_since is not None:
            if self._kbd[0] == 0:   # taken
                self._kbd_since = None
                del self._inbuf[:1]
            elif not self._vm_isig() or time.monotonic() - self._kbd_since > _KBD_WAIT_S:
                self._kbd[0] = 0
                self._kbd_since = None
                self._send_console(b"\x03")
            return
        if self._kbd is not None and self._vm_isig():
            self._kbd[0] = 1
            self._kbd_since = time.monotonic()
            return
        self._send_console(b"\x03")

    def _send_console(self, data):
        try:
            n = os.write(self._vm_m, data)
            del self._inbuf[:n]
        except OSError:   # BlockingIOError included: the rest goes next time
            pass

    def _vm_isig(self):
        try:
            return bool(termios.tcgetattr(self._vm_m)[3] & termios.ISIG)
        except (OSError, termios.error):
            return False

    def _shutdown(self):
        self._kill()
        self._state["world_ms"] = self._world_now()
        self._save_state()

    # ------------------------------------------------------------ VM processes
    def _vm_config(self, raw_repl):
        st = self._state
        return {
            "vm_dir": str(vm.VM_DIR),
            "image": str(self.image.path),
            "blocks": self.image.blocks,
            "chip": self.chip,
            "board": self.board_name,
            "world_ms": st["world_ms"],
            "rtc_offset_ms": st["rtc_offset_ms"],
            "rtc_memory": st["rtc_memory"],
            "reset_cause": st["reset_cause"],
            "wake_reason": st["wake_reason"],
            "raw_repl": raw_repl,
            "mac": self._mac(),
            "realtime_ms": int(self.scenario.get("realtime_ms", 10)),
            "io_hot_ms": int(self.scenario.get("io_hot_ms", 2000)),
            "io_hot_sleep_ms": int(self.scenario.get("io_hot_sleep_ms", 1000)),
            "world": self.world,
            "i2c_buses": [dict(b, key=n) for n, b in boards.buses(self.board, "i2c").items()],
            "uarts": [{"name": n, "id": u["id"], "vm_path": u["vm_path"]} for n, u in self._uart.items()],
            "rom": str(self.rom_path) if self.rom_path.exists() else None,
            "free_heap": self.free_heap,
        }

    def _mac(self):
        if self.scenario.get("mac"):
            return self.scenario["mac"].replace(":", "").lower()
        h = 0
        for ch in self.board_name + str(self.world.get("seed", 0)):
            h = (h * 131 + ord(ch)) & 0xFFFFFF
        return "240ac4%06x" % h

    def _spawn(self, raw_repl):
        if not self.image.exists():
            self.image.erase()
        cfg_path = self.flash_dir / "vm-config.json"
        cfg_path.write_text(json.dumps(self._vm_config(raw_repl)))
        m, s = pty.openpty()
        a = termios.tcgetattr(s)
        # no echo, no line editing, no output translation; ISIG so that Ctrl-C
        # raises SIGINT in the VM while it runs code (the port's REPL switches
        # ISIG off itself while it reads a line)
        a[0] = 0
        a[1] = 0
        a[2] = (a[2] & ~(termios.CSIZE | termios.PARENB)) | termios.CS8 | termios.CREAD
        # (the 32-bit VM has no signal handler of its own: there Ctrl-C stays
        # a byte, which its REPL reads; running code cannot be interrupted)
        a[3] = termios.ISIG if self.vm_kind == "unix" else 0
        a[6][termios.VMIN] = 1
        a[6][termios.VTIME] = 0
        termios.tcsetattr(s, termios.TCSANOW, a)
        for u in self._uart.values():
            termios.tcflush(u["vm_s"], termios.TCIOFLUSH)  # a reset empties the UART FIFOs
        args = ["-X", "heapsize=" + str(self.heap), "-i", str(vm.VM_DIR / "_vboot.py")]
        self._kbd_flag_reset()
        rom = self.rom_path if self.rom_path.exists() else None
        if self.vm_kind == "unix":
            argv, extra = vm.command(*args, ctty=os.ttyname(s), rom=rom, kbd=self._kbd_path), {}
        else:
            argv, extra = vm32.command(*args, rom=rom, ttys=[u["vm_path"] for u in self._uart.values()],
                                       mounts=[self.flash_dir.resolve(), vm.VM_DIR])
        self._proc = subprocess.Popen(
            argv, stdin=s, stdout=s, stderr=s, close_fds=True, start_new_session=True,
            cwd=str(self.flash_dir), env=vm.env(VBOARD_CONFIG=str(cfg_path), **extra))
        os.close(s)
        os.set_blocking(m, False)
        self._vm_m = m
        self._anchor = (time.monotonic(), self._state["world_ms"])
        self._reached_repl = False
        # Console input waits until the bootstrap runs: before that the VM is
        # CPython starting up, and a Ctrl-C (SIGINT) would end it.
        self._vm_ready = False
        self._skipped = 0
        self._wdt_deadline = None
        self._asleep_until = None
        self._out.reset(raw_restart=raw_repl)
        if raw_repl:
            self._inbuf[:0] = b"\x01"  # the REPL starts friendly; ask it for raw mode
        self._state["boots"] += 1
        self._save_state()

    def _kbd_flag_reset(self):
        # A new VM starts with no Ctrl-C pending (one sent to the last VM died with it).
        if self._kbd is None:
            self._kbd_path.write_bytes(b"\0")
            with open(self._kbd_path, "r+b") as f:
                self._kbd = mmap.mmap(f.fileno(), 1)
        self._kbd[0] = 0
        self._kbd_since = None

    def _kill(self):
        """Stop the VM at once (SIGKILL) and note the virtual time."""
        if self._proc is None:
            return
        self._state["world_ms"] = self._world_now()
        try:
            self._proc.kill()
        except ProcessLookupError:
            pass
        self._proc.wait()
        self._proc = None
        if self._vm_m is not None:
            try:
                self._out.feed(_read(self._vm_m, eof_ok=True) or b"")
            except OSError:
                pass
            os.close(self._vm_m)
            self._vm_m = None
        self._out.flush()
        self._anchor = None
        self._wdt_deadline = None
        self._save_state()

    def _vm_exited(self):
        # The VM ended by itself: Ctrl-D at the REPL, SystemExit at the REPL.
        # (before reaching its REPL: a broken VM, not a Ctrl-D)
        self._quick_exits = 0 if self._reached_repl else self._quick_exits + 1
        self._kill()
        if self._quick_exits >= 5:
            self._console(b"\r\nvboard: the VM exits as soon as it starts; not restarting it\r\n")
            self._event("crash loop", "")
            return
        self._soft_reboot()

    def _soft_reboot(self):
        self._kill()
        self._console(b"MPY: soft reboot\r\n")
        self._event("soft reboot", "")
        self._spawn(raw_repl=self._out.raw_mode)

    def _boot(self, cause, hard=True):
        self._state["reset_cause"] = cause
        if cause == PWRON_RESET:
            self._state["rtc_memory"] = ""
            self._state["wake_reason"] = 0
            if self.scenario.get("rtc_at_power_on") == "epoch":
                self._state["rtc_offset_ms"] = -self._state["world_ms"]
            else:
                self._state["rtc_offset_ms"] = 0
        elif cause != DEEPSLEEP_RESET:
            self._state["wake_reason"] = 0
        rom = _ROM.get(self.chip, _ROM["esp32"])
        rst = _RST.get(self.chip, _RST["esp32"])[cause]
        self._event("boot", CAUSE_NAMES[cause])
        self._console(rom.format(rst=rst).encode())
        self._out.raw_mode = False
        self._spawn(raw_repl=False)

    def _hard_boot(self, cause):
        self._kill()
        self._boot(cause)

    def _power_cut(self, off_ms, what="power cut"):
        at = self._world_now()
        self._kill()
        self._inbuf.clear()
        self._event(what, "")
        self._state["world_ms"] += int(off_ms)
        self._boot(PWRON_RESET)
        return at

    def _event(self, what, detail):
        self.events.append((self._world_now(), what, detail))

    # ------------------------------------------------------------ console output
    def _console(self, data):
        if not data:
            return
        with self._cond:
            self.log += data
            self._cond.notify_all()
        if self.echo is not None:
            self.echo(data)
        _write_all(self._console_m, data)

    def _message(self, msg):
        parts = msg.split(" ")
        kind = parts[0]
        st = self._state
        if kind == "booted":
            self._vm_ready = True
            self._anchor = (time.monotonic(), int(parts[1]))
            self._skipped = 0
        elif kind == "skip":
            self._skipped += int(parts[1])
        elif kind == "rtcoff":
            st["rtc_offset_ms"] = int(parts[1])
        elif kind == "rtcmem":
            st["rtc_memory"] = parts[1] if len(parts) > 1 else ""
        elif kind == "wdtdue":
            remaining, timeout = int(parts[1]), int(parts[2])
            self._wdt_deadline = time.monotonic() + max(0, remaining) / 1000 + timeout / 16000 + 0.02
        elif kind == "wdt":
            self._kill()
            st["world_ms"] = int(parts[1])
            self._event("WDT expired", "")
            self._boot(WDT_RESET)
        elif kind == "reset":
            self._kill()
            st["world_ms"] = int(parts[1])
            self._boot(SOFT_RESET)  # machine.reset(): esp_restart(), ESP_RST_SW
        elif kind == "softreset":
            self._soft_reboot()
        elif kind == "deepsleep":
            now, delay, reason = int(parts[1]), int(parts[2]), int(parts[3])
            self._kill()
            st["world_ms"] = now
            self._event("deepsleep", "%d ms" % delay)
            if delay < 0:
                self._save_state()
                return  # asleep until power is cycled
            st["world_ms"] = now + delay
            st["wake_reason"] = reason
            if self.hold_deepsleep:
                st["reset_cause"] = DEEPSLEEP_RESET
                self._save_state()
                with self._cond:
                    self._held = True
                    self._cond.notify_all()
                return
            self._boot(DEEPSLEEP_RESET)
        elif kind == "powercut":
            self._kill()
            st["world_ms"] = int(parts[1])
            self._event("power cut", "armed")
            self._boot(PWRON_RESET)
        elif kind == "pin":
            self.pin_history.append((int(parts[3]), int(parts[1]), int(parts[2])))
        elif kind == "heapfree":
            self.free_at_boot = int(parts[1])
        elif kind == "repl":
            self._reached_repl = True
            self._out.at_repl()
        if kind in ("rtcoff", "rtcmem"):
            self._save_state()


class _OutputFilter:
    """VM output -> console: strips control messages, turns LF into CRLF as the
    ESP32's stdout does, shows the ESP32's banner for the unix port's, and after
    a soft reset in raw REPL hides the friendly prompt the port starts with."""

    def __init__(self, sup):
        self.sup = sup
        self.buf = b""
        self.hold = b""
        self.flush_at = None
        self.last = b""
        self.raw_mode = False
        self.raw_restart = False
        self.swallow = None

    def reset(self, raw_restart):
        self.buf = b""
        self.hold = b""
        self.flush_at = None
        self.raw_restart = raw_restart
        self.swallow = None

    def at_repl(self):
        if self.raw_restart:
            self.swallow = b""

    def feed(self, data):
        self.buf += data
        while self.buf:
            i = self.buf.find(_CTL_START)
            if i < 0:
                # keep a possible start of a control sequence for the next read
                keep = 0
                for n in range(min(len(_CTL_START) - 1, len(self.buf)), 0, -1):
                    if _CTL_START.startswith(self.buf[-n:]):
                        keep = n
                        break
                text, self.buf = self.buf[:len(self.buf) - keep], self.buf[len(self.buf) - keep:]
                self._text(text)
                return
            j = self.buf.find(_CTL_END, i)
            if j < 0:
                self._text(self.buf[:i])
                self.buf = self.buf[i:]
                return
            self._text(self.buf[:i])
            msg = self.buf[i + len(_CTL_START):j].decode("ascii", "replace")
            self.buf = self.buf[j + 1:]
            self._flush_hold()
            if self.sup._proc is None:
                continue  # output of a VM already killed: drain only
            self.sup._message(msg)
            if self.sup._proc is None:
                self.buf = b""
                return

    def _text(self, text):
        if not text:
            return
        if self.swallow is not None:
            self.swallow += text
            k = self.swallow.find(_RAW_BANNER)
            if k < 0:
                return
            text = _RAW_BANNER + self.swallow[k + len(_RAW_BANNER):]
            self.swallow = None
        text = self.hold + text
        self.hold = b""
        # hold an incomplete banner or traceback line until its end arrives
        for key in (b"MicroPython ", b'  File "'):
            k = text.rfind(key)
            if k >= 0 and b"\n" not in text[k:] and len(text) - k < 300:
                self.hold = text[k:]
                text = text[:k]
                self.flush_at = time.monotonic() + 0.2
        m = _UNIX_BANNER.search(text)
        if m:
            chip = "ESP32S3" if self.sup.chip == "esp32s3" else "ESP32"
            esp = ("MicroPython %s on %s; Generic %s module with %s\r\n"
                   % (MP_VERSION, m.group(1).decode(), chip, chip)).encode()
            text = text[:m.start()] + esp + text[m.end():]
        # the bootstrap's and the virtual modules' frames are C on an ESP32
        text = _VM_FRAME.sub(b"", text)
        self._emit(text)

    def _emit(self, text):
        if not text:
            return
        if self.last == b"\r" and text.startswith(b"\n"):
            out = b"\n" + _LONE_LF.sub(b"\r\n", text[1:])
        else:
            out = _LONE_LF.sub(b"\r\n", text)
        self.last = text[-1:]
        r, f = out.rfind(_RAW_BANNER), out.rfind(_FRIENDLY)
        if r != f:
            self.raw_mode = r > f
        self.sup._console(out)

    def _flush_hold(self):
        if self.hold:
            h, self.hold = self.hold, b""
            self.flush_at = None
            self._emit(h)

    def tick(self):
        if self.flush_at is not None and time.monotonic() >= self.flush_at:
            self.flush_at = None
            self._flush_hold()

    def flush(self):
        self._flush_hold()
        if self.buf and not self.buf.startswith(_CTL_START):
            self._text(self.buf)
        self.buf = b""


def _read(fd, eof_ok=False):
    try:
        data = os.read(fd, 65536)
    except BlockingIOError:
        return b""
    except OSError:
        return None if eof_ok else b""
    if not data:
        return None if eof_ok else b""
    return data


def _write_all(fd, data):
    # Non-blocking: what nobody reads is lost, as on a UART with no listener.
    try:
        os.write(fd, data)
    except (BlockingIOError, OSError):
        pass
