"""The `cityfleet` command."""
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from protocols import frames, sizes
from protocols import schema as S
from tools.cli import main


def _commands(group, prefix=()):
    for name, cmd in group.commands.items():
        yield prefix + (name,), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))


@pytest.mark.parametrize("path,cmd", list(_commands(main)), ids=lambda x: " ".join(x) if isinstance(x, tuple) else "")
def test_every_command_has_help(path, cmd):
    assert cmd.help and cmd.help.strip()
    result = CliRunner().invoke(main, list(path) + ["--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_frame_encode_prints_hex():
    result = run("frame", "encode", "water_main", "pressure=512.3", "flow=-12.34", "pressure_min=420",
                 "pressure_max=530", "battery=70")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "86041914033904d10a020e"


def test_frame_encode_reads_each_field_type():
    result = run("frame", "encode", "smart_toilet", "occupied=true", "leak=false", "people=42", "nh3=12",
                 "h2s=0.35", "consumables=60", "battery=95")
    assert result.output.strip() == "870301182a0c18230c13"
    result = run("frame", "encode", "status", "firmware=1.4.2", "battery_mv=3712", "reset_cause=watchdog",
                 "uptime=259200")
    assert result.output.strip() == "850619090218ba031848"
    result = run("frame", "encode", "ota_notice", "release=7", "size=123456", "hash_prefix=01020304")
    assert result.output.strip() == "8412071a0001e2404401020304"
    result = run("frame", "encode", "hiker_tracker", "latitude=null", "longitude=null", "fix=none", "sos=true",
                 "battery=55")
    assert result.output.strip() == "8605f6f600f50b"


def test_frame_decode_prints_kind_and_fields_as_json():
    result = run("frame", "decode", "8412071a0001e2404401020304")
    assert result.exit_code == 0
    assert json.loads(result.output) == {"kind": "ota_notice",
                                         "fields": {"release": 7, "size": 123456, "hash_prefix": "01020304"}}


@pytest.mark.parametrize("args,message", [
    (("frame", "encode", "parking_bay", "occupied=true", "changes=70000", "battery=3"),
     "parking_bay.changes: 70000 is outside 0..65535"),
    (("frame", "encode", "parking_bay", "occupied=true", "battery=3"), "parking_bay.changes: missing"),
    (("frame", "encode", "parking_bay", "colour=red"), "parking_bay has no field 'colour'"),
    (("frame", "encode", "parking_bay", "occupied"), "expected name=value"),
    (("frame", "decode", "zz"), "not hex"),
    (("frame", "decode", "8117"), "unknown frame kind id 23"),
    (("frame", "decode", "8401f50c18c8"), "parking_bay.battery: 1000 is outside 0..100 %"),
])
def test_bad_input_gives_a_clear_error(args, message):
    result = run(*args)
    assert result.exit_code != 0
    assert message in result.output


def test_frame_sizes_json():
    result = run("frame", "sizes", "--json")
    table = json.loads(result.output)
    assert set(table) == set(frames.kind_names())
    for k in S.KINDS:
        row = table[k[S.KIND_NAME]]
        assert row["worst_case_bytes"] == sizes.worst_case_bytes(k[S.KIND_NAME])
        if k[S.DIRECTION] == S.UP:
            assert row["worst_case_bytes"] <= 11 and row["fits_as923_dr2_dwell"]
            assert row["worst_case_bytes"] < row["cayennelpp_bytes"]
            assert row["worst_case_bytes"] < row["json_bytes"]


def test_frame_sizes_table_and_demo():
    result = run("frame", "sizes")
    assert result.exit_code == 0 and "water_main" in result.output and "cayennelpp" in result.output
    result = run("frame", "demo")
    assert result.exit_code == 0
    for k in S.KINDS:
        if k[S.DIRECTION] == S.UP:
            assert k[S.KIND_NAME] in result.output


def test_console_script_is_installed():
    exe = Path(sys.executable).parent / "cityfleet"
    done = subprocess.run([str(exe), "frame", "decode", "8401f50c11"], capture_output=True, text=True)
    assert done.returncode == 0
    assert json.loads(done.stdout)["fields"] == {"occupied": True, "changes": 12, "battery": 85}
