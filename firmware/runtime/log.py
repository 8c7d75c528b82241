# A small log on flash: two files used as a ring, so the newest lines survive
# a reset and the log never outgrows its share of the filesystem. Every line
# is also printed on the console.
import os
import time

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_MAX_BYTES = const(2048)   # per file; the log keeps at most two files
PATH = "log.txt"
OLD = "log.old"


class Log:
    def __init__(self, path=PATH, old=OLD, max_bytes=_MAX_BYTES):
        self.path = path
        self.old = old
        self.max_bytes = max_bytes
        try:
            self.size = os.stat(path)[6]
        except OSError:
            self.size = 0

    def write(self, level, message):
        line = "%d %s %s\n" % (time.time(), level, message)
        print(line, end="")
        if self.size + len(line) > self.max_bytes:
            self._rotate()
        try:
            with open(self.path, "a") as f:
                f.write(line)
            self.size += len(line)
        except OSError:
            pass  # a full or failing flash must not stop the application

    def _rotate(self):
        try:
            os.rename(self.path, self.old)
        except OSError:
            pass
        self.size = 0

    def info(self, message):
        self.write("I", message)

    def error(self, message):
        self.write("E", message)

    def lines(self):
        # The log, oldest line first.
        out = []
        for name in (self.old, self.path):
            try:
                with open(name) as f:
                    out.extend(f.read().splitlines())
            except OSError:
                pass
        return out
