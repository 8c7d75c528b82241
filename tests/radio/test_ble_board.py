"""BLE on a virtual board (the team's default VM heap; the heap the BLE
modules take is printed by the board and measured in bench/radio). The same
firmware code as on a real board, through the VM's simulated `bluetooth`
module (hil/virtual/vbluetooth.py); the test is the phone, through
hil/peers/ble_central.py.

- the advertisement decodes with Home Assistant's BTHome parser (bthome-ble);
- the commissioning service refuses unauthenticated and replayed writes,
  applies an authenticated config through runtime/config.py save(), and
  makes a status frame on an authenticated command.
"""
import json
from pathlib import Path

import cbor2
import pytest
from bthome_ble import BTHomeBluetoothDeviceData
from habluetooth import BluetoothServiceInfoBleak

from hil.peers.ble_central import VirtualCentral, ad_structures
from protocols import frames, seal

ROOT = Path(__file__).resolve().parents[2]
BTHOME_UUID = "0000fcd2-0000-1000-8000-00805f9b34fb"
BASE = "c1f7%04x-5d2e-4c1f-8e6b-636974796631"
STATUS, FRAMES, CHALLENGE, CONFIG, COMMAND, RESULT = (BASE % i for i in range(1, 7))

PROVISIONED = {
    "dev_eui": "70b3d57ed0000042", "join_eui": "70b3d57ed0000000",
    "app_key": "00112233445566778899aabbccddeeff", "device_key": "5a" * 32,
    "profile": "water_main", "interval": 900,
}
KEY = bytes.fromhex(PROVISIONED["device_key"])
DEV = bytes.fromhex(PROVISIONED["dev_eui"])
STATUS_FRAME = frames.encode("status", {"firmware": "0.1.0", "battery_mv": 3700, "reset_cause": "power_on",
                                        "uptime": 7200})
READINGS = {"pressure": 350.2, "flow": 2.5, "battery_mv": 3712}

# Runs on the board: the firmware modules, set up as the runtime would.
ON_BOARD = """
import json, time, bluetooth, gc
gc.collect()
free0 = gc.mem_free()
from radio import bthome
from radio.ble_commission import Commissioning
from runtime import config as configfile
board = json.load(open('board.json'))
cfg, problems, ok = configfile.load(board)
ble = bluetooth.BLE()
ble.active(True)
def status():
    return bytes.fromhex(%r)
c = Commissioning(ble, cfg, board, on_status=status, log=print)
c.record(bytes.fromhex('8407010000'))
c.advertise(bthome.advertisement(%r, battery=85, packet_id=7, name='cf-0042'))
gc.collect()
print('ble ready, BLE modules and service take', free0 - gc.mem_free(), 'bytes')
while True:
    time.sleep_ms(50)
"""


@pytest.fixture
def ble_board(make_board):
    board = make_board()
    board.put("/board.json", (ROOT / "boards" / (board.board_type + ".json")).read_bytes())
    board.flash_firmware(mpy=True)
    board.expect(rb"unprovisioned: waiting for provisioning", timeout=30)
    board.put("/config.json", json.dumps(PROVISIONED))
    board.start(ON_BOARD % (STATUS_FRAME.hex(), READINGS))
    board.expect(rb"ble ready", timeout=30)
    central = VirtualCentral(board)
    yield board, central
    central.close()


def sealed(challenge, payload, counter):
    return seal.seal(KEY, DEV, counter, challenge + cbor2.dumps(payload))


def result_after(central, uuid, data):
    n = len(central.notifications)
    central.write(uuid, data)
    return central.wait_notify(RESULT, start=n).decode()


def board_config(board):
    # Straight from the flash image with the board off (code started in the
    # unix port's raw REPL does not take Ctrl-C).
    return json.loads(board.vboard.offline(lambda image: image.get("/config.json")))


def test_advertisement_decodes_with_bthome_ble(ble_board):
    board, central = ble_board
    adv = central.scan()
    assert adv.connectable
    ads = dict(ad_structures(adv.adv))
    assert ads[0x01] == b"\x06"
    assert ads[0x09] == b"cf-0042"
    service = ads[0x16]
    assert service[:2] == b"\xd2\xfc"
    info = BluetoothServiceInfoBleak(
        name="cf-0042", address="24:0A:C4:00:00:42", rssi=-70, manufacturer_data={},
        service_data={BTHOME_UUID: service[2:]}, service_uuids=[BTHOME_UUID], source="test",
        device=None, advertisement=None, connectable=True, time=0.0, tx_power=None)
    update = BTHomeBluetoothDeviceData().update(info)
    values = {k.key: v.native_value for k, v in update.entity_values.items()}
    assert values["packet_id"] == 7
    assert values["battery"] == 85
    assert values["pressure"] == pytest.approx(3502.0)           # hPa: 350.2 kPa
    assert values["volume_flow_rate"] == pytest.approx(9.0)      # m3/h: 2.5 L/s
    assert values["voltage"] == pytest.approx(3.712)


def test_unauthenticated_and_replayed_config_writes_are_refused(ble_board):
    board, central = ble_board
    central.connect(mtu=185)
    # Plain bytes, a config sealed under another key, and one for another device.
    assert result_after(central, CONFIG, cbor2.dumps({"interval": 60})).startswith("refused: MalformedSeal")
    challenge = central.read(CHALLENGE)
    forged = seal.seal(b"\x11" * 32, DEV, 1, challenge + cbor2.dumps({"interval": 60}))
    assert result_after(central, CONFIG, forged) == "refused: TamperedFrame"
    other = seal.seal(KEY, bytes(8), 1, central.read(CHALLENGE) + cbor2.dumps({"interval": 60}))
    assert result_after(central, CONFIG, other) == "refused: UnknownKey"
    # A good seal over a challenge that is not the current one.
    assert result_after(central, CONFIG, sealed(b"\x00" * 16, {"interval": 60}, 5)) == "refused: stale challenge"
    # An authenticated write, then the same bytes again (a replay), then the
    # same payload with a fresh counter but the spent challenge.
    challenge = central.read(CHALLENGE)
    good = sealed(challenge, {"interval": 600}, 10)
    assert result_after(central, CONFIG, good) == "ok config interval"
    assert result_after(central, CONFIG, good) == "refused: ReplayedFrame"
    assert result_after(central, CONFIG, sealed(challenge, {"interval": 60}, 11)) == "refused: stale challenge"
    # Identity and keys cannot be set over the air, and save() checks values.
    bad = sealed(central.read(CHALLENGE), {"device_key": "00" * 32}, 12)
    assert result_after(central, CONFIG, bad) == "refused: device_key cannot be set over BLE"
    out = sealed(central.read(CHALLENGE), {"interval": 3}, 13)
    assert result_after(central, CONFIG, out).startswith("refused: interval: must be an integer")
    assert board_config(board)["interval"] == 600


def test_authenticated_config_applies_and_status_on_command(ble_board):
    board, central = ble_board
    central.connect(mtu=185)
    assert central.read(STATUS) == b""
    assert cbor2.loads(central.read(FRAMES)) == [bytes.fromhex("8407010000")]
    challenge = central.read(CHALLENGE)
    assert len(challenge) == 16
    r = result_after(central, CONFIG, sealed(challenge, {"interval": 300, "thresholds": {"burst_kpa": 80}}, 1))
    assert r == "ok config interval,thresholds"
    assert central.read(RESULT) == r.encode()
    central.subscribe(STATUS)          # the CCCD: status updates are notified to subscribers only
    n = len(central.notifications)
    assert result_after(central, COMMAND, sealed(central.read(CHALLENGE), "status", 2)) == "ok status"
    assert central.wait_notify(STATUS, start=n) == STATUS_FRAME
    assert frames.decode(central.read(STATUS))[0] == "status"
    assert cbor2.loads(central.read(FRAMES))[-1] == STATUS_FRAME
    # Each connection gets a new challenge; the board advertises again after a disconnect.
    central.disconnect()
    old = challenge
    central.connect()
    assert central.read(CHALLENGE) not in (old, b"")
    config = board_config(board)
    assert config["interval"] == 300 and config["thresholds"] == {"burst_kpa": 80}
    assert config["device_key"] == PROVISIONED["device_key"]
