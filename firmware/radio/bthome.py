# Sensor advertisements in BTHome v2 (https://bthome.io/format): the readings
# any phone app or gateway with a BTHome parser (Home Assistant, Theengs,
# Shelly) can show without our software.
#
# Format followed (bthome.io "BTHome format", v2, unencrypted):
#   AD 0x01 flags 0x06 (LE general discoverable, BR/EDR not supported);
#   AD 0x16 service data, UUID 0xFCD2 little-endian (D2 FC), device
#   information byte 0x40 (bit 0 no encryption, bit 2 regular interval,
#   bits 5-7 version 2), then objects: object id, value little-endian,
#   in ascending object id (multiple objects of one id allowed);
#   AD 0x09 complete local name, when it fits in the 31 bytes.
# Objects used, from the format's tables (id, bytes, signed, factor):
#   0x00 packet id uint8; 0x01 battery % uint8; 0x02 temperature sint16 0.01;
#   0x03 humidity uint16 0.01; 0x04 pressure uint24 0.01 hPa;
#   0x0C voltage uint16 0.001 V; 0x3D count uint16; 0x49 volume flow rate
#   uint16 0.001 m3/h; binary: 0x20 moisture (wet), 0x23 occupancy, 0x26 problem.
import struct

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_UUID = const(0xFCD2)
_INFO = const(0x40)          # v2, unencrypted, regular interval
_MAX_ADV = const(31)         # legacy advertising payload

# reading name -> (object id, bytes, signed, scale from our unit to BTHome's integer)
# Scales: pressure kPa -> 0.01 hPa is x1000; flow L/s -> 0.001 m3/h is x3600.
OBJECTS = {
    "temperature": (0x02, 2, True, 100),
    "humidity": (0x03, 2, False, 100),
    "pressure": (0x04, 3, False, 1000),
    "battery_mv": (0x0C, 2, False, 1),      # mV is BTHome's 0.001 V
    "changes": (0x3D, 2, False, 1),
    "activity": (0x3D, 2, False, 1),
    "people": (0x3D, 2, False, 1),
    "flow": (0x49, 2, False, 3600),
    "leak": (0x20, 1, False, 1),
    "occupied": (0x23, 1, False, 1),
    "burst": (0x26, 1, False, 1),
}


def _put(out, oid, size, signed, value):
    # value: an int already scaled; clamped to the object's range
    if signed:
        lo = -(1 << (8 * size - 1))
        hi = (1 << (8 * size - 1)) - 1
    else:
        lo = 0
        hi = (1 << (8 * size)) - 1
    if value < lo:
        value = lo
    elif value > hi:
        value = hi
    if value < 0:
        value += 1 << (8 * size)
    out.append(oid)
    for _ in range(size):
        out.append(value & 0xFF)
        value >>= 8


def service_data(readings, battery=None, packet_id=0):
    # The BTHome service data (from the UUID on) for a dict of readings
    # (profile field names; unknown names are left out), the battery in %
    # and the packet id (0..255; receivers drop a repeated one).
    objs = []
    for name in readings:
        spec = OBJECTS.get(name)
        v = readings[name]
        if spec is None or v is None:
            continue
        if isinstance(v, bool):
            v = 1 if v else 0
        oid, size, signed, scale = spec
        objs.append((oid, len(objs), size, signed, int(round(v * scale))))
    if battery is not None:
        objs.append((0x01, len(objs), 1, False, int(battery)))
    objs.sort()    # by object id; repeated ids keep their order (the index breaks ties)
    out = bytearray(struct.pack("<HB", _UUID, _INFO))
    _put(out, 0x00, 1, False, packet_id & 0xFF)
    for oid, _, size, signed, v in objs:
        _put(out, oid, size, signed, v)
    return bytes(out)


def advertisement(readings, battery=None, packet_id=0, name=None):
    # The whole advertising payload: flags, service data, and the local name
    # when it fits. Raises ValueError if the readings alone do not fit.
    sd = service_data(readings, battery, packet_id)
    adv = bytearray(b"\x02\x01\x06")
    adv.append(len(sd) + 1)
    adv.append(0x16)
    adv.extend(sd)
    if len(adv) > _MAX_ADV:
        raise ValueError("advertisement too long")
    if name:
        n = name.encode("utf-8") if isinstance(name, str) else name
        if len(adv) + 2 + len(n) <= _MAX_ADV:
            adv.append(len(n) + 1)
            adv.append(0x09)
            adv.extend(n)
    return bytes(adv)


class Advertiser:
    # Keeps the advertisement up to date on a bluetooth.BLE (passed in):
    # update() with the latest readings bumps the packet id and re-advertises.
    def __init__(self, ble, name=None, interval_ms=1000, connectable=False):
        self.ble = ble
        self.name = name
        self.interval_us = interval_ms * 1000
        self.connectable = connectable
        self.packet_id = 0

    def update(self, readings, battery=None):
        self.packet_id = (self.packet_id + 1) & 0xFF
        adv = advertisement(readings, battery, self.packet_id, self.name)
        self.ble.gap_advertise(self.interval_us, adv_data=adv, connectable=self.connectable)
        return adv

    def stop(self):
        self.ble.gap_advertise(None)
