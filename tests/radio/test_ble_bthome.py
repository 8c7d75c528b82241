"""BTHome v2 encoding (firmware/radio/bthome.py) on CPython and MicroPython,
against the examples of the bthome.io format tables (tests/vectors/bthome/)."""
import json
from pathlib import Path

import pytest

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "bthome" /
                      "bthome_io_format_examples.json").read_text())
B = "tests.radio.ble_cases"
ROWS = {(r["Object id"], r["Property"], r.get("Data type")): r for r in VECTORS["tables"]["sensor_data"]}


def row(oid, prop, dtype):
    return ROWS[(oid, prop, dtype)]


# (our reading, value in our unit, the bthome.io table row whose example it must give)
CASES = [
    ("pressure", 100.883, ("0x04", "pressure", "uint24 (3 bytes)")),         # kPa -> 1008.83 hPa
    ("temperature", 25.06, ("0x02", "temperature", "sint16 (2 bytes)")),
    ("humidity", 50.55, ("0x03", "humidity", "uint16 (2 bytes)")),
    ("battery_mv", 3074, ("0x0C", "voltage", "uint16 (2 bytes)")),             # 3.074 V
    ("changes", 24585, ("0x3D", "count", "uint16 (2 bytes)")),
    ("flow", 34.780 / 3.6, ("0x49", "volume flow rate", "uint16 (2 bytes)")),  # L/s -> 34.780 m3/h
]


@pytest.mark.parametrize("name,value,key", CASES, ids=[c[0] for c in CASES])
def test_objects_match_the_format_tables(interp, name, value, key):
    example = bytes.fromhex(row(*key)["Example"])
    sd = interp.call(B, "service_data", {name: value}, None, 9)
    assert sd == bytes.fromhex("d2fc40") + bytes.fromhex("0009") + example


def test_binary_sensors_battery_and_order(interp):
    sd = interp.call(B, "service_data", {"occupied": True, "leak": False, "pressure": 100.883}, 97, 1)
    # ascending object ids: packet id, battery, pressure, moisture, occupancy
    assert sd == bytes.fromhex("d2fc40" "0001" "0161" "04138a01" "2000" "2301")


def test_values_are_clamped_to_the_object_range(interp):
    sd = interp.call(B, "service_data", {"flow": -2.0, "temperature": 1000.0}, None, 300)
    assert sd == bytes.fromhex("d2fc40" "002c" "02ff7f" "490000")


def test_full_advertisement_like_the_format_page(interp):
    example = VECTORS["full_advertisement_example"]
    # The page's example: flags, the name "DIY-sensor", 25.00 C and 50.55 %, no packet id.
    adv = interp.call(B, "advertisement", {"temperature": 25.0, "humidity": 50.55}, None, 0, "DIY-sensor")
    page = bytes.fromhex(example["hex"])
    # Ours puts the service data before the name and always carries a packet id.
    assert adv == bytes.fromhex("020106") + bytes.fromhex("0c16d2fc40" "0000" "02c409" "03bf13") + bytes.fromhex("0b09") + b"DIY-sensor"
    assert page[3:15] == bytes.fromhex("0b09") + b"DIY-sensor"
    assert bytes.fromhex("02c40903bf13") in page and bytes.fromhex("02c40903bf13") in adv


def test_name_is_left_out_when_it_does_not_fit(interp):
    adv = interp.call(B, "advertisement", {"pressure": 350.0, "flow": 1.0, "battery_mv": 3700, "changes": 3},
                      50, 1, "a-very-long-board-name")
    assert len(adv) <= 31 and b"a-very" not in adv
