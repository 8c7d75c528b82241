"""A demo city: departments, users, about 1,000 devices and a week of readings, with the
water mains' night flows and the alarms the profiles raise (bursts, leaks, cleaning needed,
consumables low, SOS, rodent bursts).

Readings are frames encoded with protocols.frames, wrapped in ChirpStack v4 "up"
events and posted through the real /ingest/chirpstack endpoint (the Flask test
client), so they take exactly the path a network server's events take.
"""
import base64
import datetime
import random
import time
import uuid

from protocols import frames

from fleet import auth, registry
from fleet.crypto import SecretBox

PASSWORD = "cityfleet-demo"
DEPARTMENTS = (
    ("FEHD", "Food and Environmental Hygiene Department"),
    ("TD", "Transport Department"),
    ("WSD", "Water Supplies Department"),
    ("AFCD", "Agriculture, Fisheries and Conservation Department (country parks)"),
)
USERS = (
    ("admin", "admin", None),
    ("fehd", "operator", "FEHD"),
    ("td", "operator", "TD"),
    ("wsd", "viewer", "WSD"),
    ("afcd", "operator", "AFCD"),
    ("tech", "technician", None),
)
# (department, kind, board, how many)
FLEET = (
    ("TD", "parking_bay", "esp32-devkitc", 400),
    ("FEHD", "rodent_station", "heltec-wifi-lora-32-v3", 200),
    ("FEHD", "smart_toilet", "esp32-s3-rs485", 150),
    ("WSD", "water_main", "esp32-s3-rs485", 150),
    ("AFCD", "hiker_tracker", "lilygo-t-beam", 100),
)
DISTRICTS = (
    ("central-western", 22.2860, 114.1500), ("wan-chai", 22.2790, 114.1730), ("eastern", 22.2840, 114.2240),
    ("southern", 22.2470, 114.1580), ("yau-tsim-mong", 22.3110, 114.1700), ("sham-shui-po", 22.3300, 114.1620),
    ("kowloon-city", 22.3280, 114.1910), ("wong-tai-sin", 22.3420, 114.1950), ("kwun-tong", 22.3130, 114.2250),
    ("tsuen-wan", 22.3710, 114.1140), ("sha-tin", 22.3870, 114.1950), ("tai-po", 22.4500, 114.1690),
    ("yuen-long", 22.4450, 114.0220), ("tuen-mun", 22.3910, 113.9770), ("sai-kung", 22.3810, 114.2700),
)
PARKS = (("tai-mo-shan", 22.4100, 114.1240), ("sai-kung-east", 22.4000, 114.3500), ("lantau-south", 22.2450, 113.9200),
         ("ma-on-shan", 22.4050, 114.2500), ("shing-mun", 22.3900, 114.1500))
GATEWAYS = ["a84041ffff1f%04x" % i for i in range(24)]
DAY = 86400


def rfc3339(ts):
    """Epoch seconds as ChirpStack writes times (UTC, nanoseconds)."""
    dt = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%09d+00:00" % (dt.microsecond * 1000)


def _omit_defaults(obj):
    # ChirpStack's protobuf JSON leaves out false, zero and empty fields.
    if isinstance(obj, dict):
        return {k: _omit_defaults(v) for k, v in obj.items() if v not in (0, False, "", None, [], {}) or v is True}
    if isinstance(obj, list):
        return [_omit_defaults(v) for v in obj]
    return obj


def chirpstack_up(dev_eui, name, f_cnt, at, payload, rng, sf=9):
    """A ChirpStack v4 "up" event as the HTTP integration posts it."""
    rx = []
    for gw in rng.sample(GATEWAYS, rng.choice((1, 1, 2, 3))):
        rx.append({"gatewayId": gw, "uplinkId": rng.randrange(1, 2 ** 32), "nsTime": rfc3339(at),
                   "rssi": rng.randint(-120, -60), "snr": round(rng.uniform(-12, 11), 1), "channel": rng.randrange(8),
                   "rfChain": rng.randrange(2), "context": base64.b64encode(rng.randbytes(4)).decode(),
                   "crcStatus": "CRC_OK", "location": {}})
    return _omit_defaults({
        "deduplicationId": str(uuid.UUID(int=rng.getrandbits(128))), "time": rfc3339(at),
        "deviceInfo": {"tenantId": "52f14cd4-c6f1-4fbd-8f87-4025e1d49242", "tenantName": "GWIN",
                       "applicationId": "0b9b2a2c-1c27-4b3b-9a1c-3c2d1b6a7f10", "applicationName": "cityfleet",
                       "deviceProfileId": "1d1c0a4f-4d6e-4c31-8f4a-6d9e8f0a1b2c", "deviceProfileName": "cityfleet-cbor",
                       "deviceName": name, "devEui": dev_eui.lower(), "deviceClassEnabled": "CLASS_A", "tags": {}},
        "devAddr": "%08x" % rng.getrandbits(32), "adr": True, "dr": 12 - sf, "fCnt": f_cnt, "fPort": 2,
        "confirmed": False, "data": base64.b64encode(payload).decode(), "rxInfo": rx,
        "txInfo": {"frequency": rng.choice((923200000, 923400000, 922200000, 922400000)),
                   "modulation": {"lora": {"bandwidth": 125000, "spreadingFactor": sf, "codeRate": "CR_4_5"}}},
    })


def reading(kind, rng, battery, alarm=False):
    """Field values of one plausible reading of a kind, in SI units.

    alarm: False, True, or the name of what the reading shows (toilet: "leak",
    "cleaning" or "consumables_low"; water main: "burst" or "low_pressure").
    """
    if kind == "parking_bay":
        return {"occupied": rng.random() < 0.6, "changes": rng.randrange(0, 40), "battery": battery}
    if kind == "rodent_station":
        return {"activity": rng.randrange(0, 30) + (200 if alarm else 0), "burst": bool(alarm), "battery": battery}
    if kind == "smart_toilet":
        what = "leak" if alarm is True else alarm
        return {"occupied": rng.random() < 0.3, "leak": what == "leak", "people": rng.randrange(0, 120),
                "nh3": rng.randrange(12, 30) if what == "cleaning" else rng.randrange(0, 10),
                "h2s": round(rng.uniform(0, 0.4), 2), "cleaning": what == "cleaning",
                "consumables": rng.randrange(0, 21, 5) if what == "consumables_low" else rng.randrange(25, 101, 5),
                "consumables_low": what == "consumables_low", "battery": battery}
    if kind == "water_main":
        what = "low_pressure" if alarm is True else alarm
        lo, hi, flow = {"low_pressure": (60, 90, 35), "burst": (150, 200, 45)}.get(what, (280, 420, 35))
        p = round(rng.uniform(lo, hi), 1)
        return {"pressure": p, "flow": round(rng.uniform(30 if what == "burst" else 0, flow), 2),
                "pressure_min": p - rng.randrange(0, 60), "pressure_max": p + rng.randrange(0, 60), "battery": battery}
    lat, lon = PARKS[rng.randrange(len(PARKS))][1:]
    return {"latitude": round(lat + rng.uniform(-0.02, 0.02), 5), "longitude": round(lon + rng.uniform(-0.02, 0.02), 5),
            "fix": "gps", "sos": bool(alarm), "battery": battery}


# What a device with an alarm shows, by kind (the others: True).
ALARM_CHOICES = {"smart_toilet": ("leak", "cleaning", "consumables_low"), "water_main": ("burst", "low_pressure")}
# The first devices of a kind always show these, so that every alarm is in the demo:
# (kind, index within the kind) -> the alarm ("leaky": a water main leaking at night).
SHOWCASE = {("smart_toilet", 0): "leak", ("smart_toilet", 1): "cleaning", ("smart_toilet", 2): "consumables_low",
            ("water_main", 0): "burst", ("water_main", 1): "low_pressure", ("water_main", 2): "leaky",
            ("rodent_station", 0): True, ("hiker_tracker", 0): True}


def _alarm_frame(name, active, repeat, battery):
    return frames.encode("alarm", {"alarm": name, "active": active, "repeat": repeat, "battery": battery})


def _nights(rng, start, end, battery, leaky):
    # A water main's night_flow frames, one a day at 04:05 Hong Kong time (20:05 UTC), the
    # lowest flow of 02:00..04:00 over 24 readings; a leaking main's nights stay high, and its
    # profile (leak_night_cls set to 2.5 L/s) raises a leak alarm beside each, unacknowledged.
    out = []
    t = start - start % DAY + 20 * 3600 + 300
    while t < end:
        if t >= start:
            flow = rng.uniform(3.0, 4.5) if leaky else rng.uniform(0.8, 2.0)
            out.append((t, frames.encode("night_flow", {"flow": round(flow, 2), "start": 120, "duration": 120,
                                                        "samples": 24, "battery": battery})))
            if leaky:
                out.append((t + 1, _alarm_frame("leak", True, len(out) // 2, battery)))
        t += DAY
    return out


def _burst(t, battery):
    # A burst main's alarm frames: at once, repeated at the next two wakes (no one has
    # acknowledged yet), and over (the pressure back) at the next reading, 6 h on.
    return [(t - 1 + 300 * i, _alarm_frame("burst", True, i, battery)) for i in range(3)] + [
        (t + 6 * 3600 - 1, _alarm_frame("burst", False, 72, battery))]


def _place(kind, n, rng):
    if kind == "hiker_tracker":
        name, lat, lon = PARKS[n % len(PARKS)]
        return name, lat, lon, ["park:" + name]
    name, lat, lon = DISTRICTS[n % len(DISTRICTS)]
    tags = ["district:" + name] + (["pilot"] if rng.random() < 0.1 else [])
    return name, round(lat + rng.uniform(-0.01, 0.01), 5), round(lon + rng.uniform(-0.01, 0.01), 5), tags


def _devices():
    rng = random.Random(5)
    items = []
    for department, kind, board, count in FLEET:
        for n in range(count):
            place, lat, lon, tags = _place(kind, n, rng)
            items.append({"kind": kind, "board": board, "department": department,
                          "name": "%s-%s-%03d" % (kind.replace("_", "-"), place, n + 1),
                          "location": place.replace("-", " ").title(), "latitude": lat, "longitude": lon,
                          "tags": tags})
    return items


def _device_events(d, rng, now, days, showcase=None):
    # One device's week: readings every 6 h (silent devices stop early), a status frame a day,
    # and for water mains a night_flow frame a day; alarm frames where the profile sends them.
    silent = rng.random() < 0.04 and showcase is None
    end = now - (rng.uniform(2, 4) * DAY if silent else rng.uniform(0, 3 * 3600))
    battery = 15 if rng.random() < 0.05 else rng.randrange(40, 101, 5)
    alarm_at = rng.randrange(days * 4) if rng.random() < 0.02 else None
    alarm = rng.choice(ALARM_CHOICES.get(d["kind"], (True,)))
    leaky = rng.random() < 0.05 or showcase == "leaky"
    if showcase is not None and showcase != "leaky":
        alarm, alarm_at = showcase, 0
    sf = rng.choice((7, 8, 9, 9, 10, 11))
    firmware = rng.choice(("1.4.2", "1.4.2", "1.4.2", "1.3.9"))
    start = t = now - days * DAY + rng.uniform(0, 6 * 3600)
    timed, n = [], 0
    while t < end:
        level = max(5, battery - 5 * (n // 10))             # batteries drain a step every 2.5 days
        timed.append((t, frames.encode(d["kind"], reading(d["kind"], rng, level, alarm=alarm if n == alarm_at else False))))
        if n == alarm_at and alarm == "burst":
            timed += _burst(t, level)
        n += 1
        if n % 4 == 0:
            status = {"firmware": firmware, "battery_mv": 3000 + level * 10,
                      "reset_cause": "deep_sleep", "uptime": 3600 * n * 6}
            timed.append((t + 60, frames.encode("status", status)))
        t += 6 * 3600 + rng.uniform(-600, 600)
    if d["kind"] == "water_main":
        timed += _nights(rng, start, end, battery, leaky)
    timed = sorted(e for e in timed if e[0] < now)
    return [chirpstack_up(d["dev_eui"], d["name"], f_cnt, at, payload, rng, sf)
            for f_cnt, (at, payload) in enumerate(timed, start=1)]


def _post(client, token, events, kind="up", batch=500):
    results = []
    for i in range(0, len(events), batch):
        r = client.post("/ingest/chirpstack?event=" + kind, json=events[i:i + batch],
                        headers={"Authorization": "Bearer " + token})
        if r.status_code != 200:
            raise RuntimeError("ingest answered %d: %s" % (r.status_code, r.get_data(as_text=True)[:300]))
        results.extend(r.get_json()["results"])
    return results


def _quarantine_examples(client, token, devices, rng, now):
    # A few events that land in quarantine: unknown device, bad bytes, a decommissioned device.
    unknown = chirpstack_up("70B3D57ED0000001", "stray", 3, now - 3600, frames.encode("parking_bay", {
        "occupied": True, "changes": 1, "battery": 90}), rng)
    garbage = chirpstack_up(devices[0]["dev_eui"], devices[0]["name"], 9999, now - 7200, b"\xff\x00garbage", rng)
    _post(client, token, [unknown, garbage])


def seed(app, days=7, log=print):
    """Fill an empty database with the demo city; returns counts. Uplinks go through ingest."""
    started = time.time()
    with app.app_context():
        from fleet.db import get_store
        store = get_store()
        if store.departments():
            raise RuntimeError("the database is not empty; seed a new one")
        for code, name in DEPARTMENTS:
            store.add_department(code, name)
        for username, role, department in USERS:
            auth.create_user(store, username, PASSWORD, role, department, actor="demo")
        _, token = auth.create_token(store, "demo-chirpstack", auth.INTEGRATION, None, actor="demo")
        ident = auth.Identity("user", 0, "demo", auth.ADMIN, None)
        boards = registry.board_names(app.config["BOARDS_DIR"])
        items = [dict(d, board=d["board"] if d["board"] in boards else boards[0]) for d in _devices()]
        bundles = registry.register(store, SecretBox(app.config["DATA_KEY"]), ident, items, boards)
        devices = [dict(b["device"], dev_eui=b["lorawan"]["dev_eui"]) for b in bundles]
    log("registered %d devices in %.1f s" % (len(devices), time.time() - started))
    rng, now = random.Random(7), time.time()
    index = {}
    events = []
    for d in devices:
        n = index[d["kind"]] = index.get(d["kind"], -1) + 1
        events += _device_events(d, rng, now, days, SHOWCASE.get((d["kind"], n)))
    events.sort(key=lambda e: e["time"])
    client = app.test_client()
    results = _post(client, token, events)
    _quarantine_examples(client, token, devices, rng, now)
    stored = sum(1 for r in results if r["status"] == "stored")
    log("ingested %d ChirpStack up events (%d stored) in %.1f s" % (len(events), stored, time.time() - started))
    with app.app_context():
        from fleet.db import get_store
        d = devices[-1]
        registry.decommission(get_store(), ident, get_store().device(d["id"]))
    _post(client, token, [chirpstack_up(d["dev_eui"], d["name"], 100000, now - 60, frames.encode(
        d["kind"], reading(d["kind"], rng, 80)), rng)])
    return {"devices": len(devices), "events": len(events), "stored": stored, "seconds": time.time() - started}
