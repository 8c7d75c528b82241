"""runtime/board.py: the board dict a wake keeps holds what the firmware reads
of board.json, and nothing else (it lives through the whole wake)."""
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

LOAD = """
import json, sys
sys.path.insert(0, "firmware")
from runtime import board
with open(%r, "w") as f:
    json.dump(%r, f)
print("BOARD", json.dumps(board.load(%r)))
print("MISSING", json.dumps(board.load("no-such-board.json")))
"""


def test_the_board_keeps_what_firmware_reads_and_drops_the_rest(micropython, tmp_path):
    raw = json.loads((ROOT / "boards" / "lilygo-t-beam.json").read_text())   # pins, buses and a PMU
    path = str(tmp_path / "board.json")
    out = micropython.run(LOAD % (path, raw, path))
    got = json.loads(out.split("BOARD ")[1].splitlines()[0])
    assert json.loads(out.split("MISSING ")[1].splitlines()[0]) == {}
    assert set(got) <= {"pins", "buses", "sensors", "defaults"}
    for name, spec in raw["pins"].items():
        assert got["pins"][name] == {k: v for k, v in spec.items()
                                     if k in ("gpio", "pull", "active", "atten", "divider")}
    for name, spec in raw["buses"].items():
        assert got["buses"][name]["id"] == spec["id"] and "type" not in got["buses"][name]
    assert [s["chip"] for s in got["sensors"]] == [s["chip"] for s in raw["sensors"]]


# What firmware reads of a pin, bus or sensor spec: spec["key"], spec.get("key"),
# board["pins"]["batt_adc"].get("key").
_READ = re.compile(r"(?:\bp?spec|\[\"(?:pins|buses)\"\]\[\"\w+\"\])(?:\[|\.get\()\"(\w+)\"")


def test_every_key_the_firmware_reads_of_a_spec_is_kept():
    source = (ROOT / "firmware" / "runtime" / "board.py").read_text()
    kept = set(re.findall(r"\"(\w+)\"", source.split("_SECTIONS = ")[1].split("\n\n")[0]))
    read = set()
    for f in (ROOT / "firmware").rglob("*.py"):
        read |= set(_READ.findall(f.read_text()))
    assert read, "the pattern no longer finds the firmware's reads"
    assert read <= kept, "board.py drops keys the firmware reads: %s" % sorted(read - kept)

