"""Flash images of virtual boards, read and written without a running board.

Every operation runs the real MicroPython unix port on the image
(hil/virtual/lfstool.py), so what lands on the image is littlefs as the board
writes it, and a full filesystem fails as on the board.
"""
import os
import subprocess
import tempfile
from pathlib import Path

from hil import vm

BLOCK = 4096


class FlashError(Exception):
    """A flash image operation failed"""


class FlashImage:
    def __init__(self, path, size):
        self.path = Path(path)
        self.size = int(size) // BLOCK * BLOCK
        self.blocks = self.size // BLOCK

    def exists(self):
        return self.path.exists()

    def erase(self):
        """A blank chip: all 0xff, formatted by the board on first boot."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "wb") as f:
            f.write(b"\xff" * self.size)

    def _run(self, *args):
        if not self.exists():
            self.erase()
        done = subprocess.run(vm.command(str(vm.VM_DIR / "lfstool.py"), str(self.path), str(self.blocks), *args),
                              capture_output=True, cwd=str(vm.VM_DIR), env=vm.env(), timeout=60)
        if done.returncode != 0:
            raise FlashError((done.stdout + done.stderr).decode("utf-8", "replace").strip())
        return done.stdout.decode("utf-8", "replace")

    def format(self):
        self.erase()
        self._run("mkfs")

    def put(self, remote, data):
        """Write bytes (or a host file's content, given a Path) to `remote`."""
        if isinstance(data, Path):
            return self._run("put", str(data), remote)
        with tempfile.NamedTemporaryFile(delete=False) as f:
            f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
        try:
            self._run("put", f.name, remote)
        finally:
            os.unlink(f.name)

    def put_tree(self, local_dir, remote_dir="/"):
        self._run("tree", str(local_dir), remote_dir)

    def get(self, remote):
        with tempfile.NamedTemporaryFile(delete=False) as f:
            pass
        try:
            self._run("get", remote, f.name)
            return Path(f.name).read_bytes()
        finally:
            os.unlink(f.name)

    def listdir(self, remote="/"):
        return [line.split(" ")[1] for line in self._run("ls", remote).splitlines() if line]

    def remove(self, remote):
        self._run("rm", remote)

    def remove_tree(self, remote):
        """Remove a file or a directory with all in it; nothing if absent."""
        self._run("rmtree", remote)
