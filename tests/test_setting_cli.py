"""`cityfleet frame` and the setting downlink: names in, names out, the table listed."""
import json

from click.testing import CliRunner

from protocols.settings import index_of, names
from tools.cli import main


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_a_setting_is_encoded_by_name_and_decoded_with_it():
    result = run("frame", "encode", "setting", "seq=3", "setting=h2s_high_ppb", "value=300")
    assert result.exit_code == 0, result.output
    hexdata = result.output.strip()
    assert hexdata == "8416030b19012c" and index_of("h2s_high_ppb") == 11
    assert run("frame", "encode", "setting", "seq=3", "setting=11", "value=300").output.strip() == hexdata
    out = json.loads(run("frame", "decode", hexdata).output)
    assert out == {"kind": "setting", "fields": {"seq": 3, "setting": 11, "value": 300},
                   "setting_name": "h2s_high_ppb"}


def test_an_index_beyond_the_table_decodes_with_no_name_and_an_unknown_name_is_refused():
    out = json.loads(run("frame", "decode", "841601" + "18ff" + "01").output)
    assert out["fields"]["setting"] == 255 and out["setting_name"] is None
    result = run("frame", "encode", "setting", "seq=3", "setting=warp_factor", "value=1")
    assert result.exit_code != 0 and "unknown setting 'warp_factor'" in result.output


def test_the_settings_table_is_listed_with_ranges():
    lines = run("frame", "settings").output.splitlines()
    assert len(lines) == len(names())
    assert lines[0].split() == ["0", "interval", "10..86400"]
    assert lines[index_of("tz_offset_min")].split() == [str(index_of("tz_offset_min")), "tz_offset_min",
                                                         "0..2147483647"]


def test_the_setting_kind_fits_the_dwell_limit_in_the_size_table():
    table = json.loads(run("frame", "sizes", "--json").output)
    assert table["setting"]["worst_case_bytes"] == 11 and table["setting"]["fits_as923_dr2_dwell"]
    assert table["config"]["worst_case_bytes"] == 19 and not table["config"]["fits_as923_dr2_dwell"]
