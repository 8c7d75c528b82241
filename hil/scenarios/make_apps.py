"""Writes the scenario library of the parking bay, rodent station and smart
toilet applications (hil/scenarios/{parking,rodent,toilet}_*.json):

    python -m hil.scenarios.make_apps

Each scenario is an ordinary scenario file (hil/scenario.py) plus the truth a
test scores the firmware against, under "expect" (ignored by the board):
parking: "changes" [[seconds after start, occupied]], rodent: "bursts",
"activity"; toilet: "alerts" and "people". Deterministic: no randomness here,
the models' noise comes from the scenario's seed.
"""
import json
import math
from pathlib import Path

HERE = Path(__file__).resolve().parent
START = "2026-11-23T00:00:00"
BASE = (12.0, -4.0, 42.0)           # uT, the empty bay's field where the sensor sits
CAR_A = (8.0, 5.0, 28.0)            # a hatchback over the sensor, |d| = 30 uT
CAR_B = (-10.0, 14.0, 22.0)         # an SUV, |d| = 28 uT, 21 uT from CAR_A
CAR_C = (3.0, -6.0, 19.0)           # a small car, |d| = 20.5 uT
NEXT_BAY = (2.0, 3.0, 3.0)          # a car in the next bay: 4.7 uT
BUS = (4.0, 4.5, 3.5)               # a bus stopped beside the bay: 7 uT
PASSING = (6.0, 9.0, 14.0)          # a car driving over the sensor: 17.7 uT for seconds


def _vec_add(a, b, k=1.0):
    return tuple(a[i] + k * b[i] for i in range(3))


def parking(name, hours, events, drift=None, temp=None, interval=60, sleep="light", grid_s=600, note=""):
    """events: [(start s, end s, delta, is_car_in_bay)]; drift(t) -> uT vector; temp(t) -> degC."""
    end = int(hours * 3600)
    times = {0, end}
    for a, b, _, _ in events:
        times.update((a, b))
    grid = set(range(0, end, grid_s)) if (drift or temp) else set()
    pts = sorted(times | grid)
    step_times = set()
    for a, b, _, _ in events:
        step_times.update((a, b))

    def field(t):
        v = BASE
        if drift:
            v = _vec_add(v, drift(t))
        for a, b, d, _ in events:
            if a <= t < b:
                v = _vec_add(v, d)
        return v
    tracks = {k: {"initial": round(field(0)[i], 3), "timeline": []} for i, k in enumerate("xyz")}
    tt = {"initial": round(temp(0), 2) if temp else 22.0, "timeline": []}
    for t in pts[1:]:
        v = field(t)
        ramp = t not in step_times
        for i, k in enumerate("xyz"):
            tracks[k]["timeline"].append({"at": "+%ds" % t, "value": round(v[i], 2), "ramp": ramp})
        if temp:
            tt["timeline"].append({"at": "+%ds" % t, "value": round(temp(t), 2), "ramp": True})
    tracks["temp"] = tt
    # truth: the bay's state changes (a car in this bay, not the neighbours or traffic)
    spans = sorted((a, b) for a, b, _, car in events if car)
    changes = []
    for a, b in spans:
        if changes and changes[-1][0] == a and changes[-1][1] is False:
            changes.append([a, True])     # a car arriving the moment the last one left
        else:
            changes.append([a, True])
        if b < end:
            changes.append([b, False])
    changes.sort(key=lambda c: (c[0], c[1]))
    return name, {
        "seed": 11, "start": START, "note": note,
        "adc": {"batt_adc": {"initial": 1.95, "noise": 0.002}},
        "i2c": {"i2c0": [{"model": "qmc5883l", "address": 13, "noise": 0.15, "tracks": tracks}]},
        "config": {"profile": "parking_bay", "interval": interval, "sleep": sleep, "status_every": 1000},
        "expect": {"end_s": end, "changes": changes},
    }


def parking_set():
    h = 3600
    out = [
        parking("parking_ordinary_day", 6, [
            (20 * 60, 95 * 60, CAR_A, True),
            (140 * 60, 141 * 60 // 1, PASSING, False),
            (150 * 60, 240 * 60, CAR_C, True),
            (260 * 60, 260 * 60 + 20, PASSING, False),
            (280 * 60, 340 * 60, CAR_B, True),
        ], note="three cars in a morning, traffic driving over the empty bay"),
        parking("parking_bus_beside", 3, [
            (15 * 60, 35 * 60, BUS, False),           # a bus stops beside the empty bay
            (60 * 60, 150 * 60, CAR_A, True),
            (90 * 60, 110 * 60, BUS, False),          # and beside the parked car
        ], note="a bus stopping beside the bay, empty and occupied"),
        parking("parking_quick_swap", 3, [
            (10 * 60, 70 * 60, CAR_A, True),
            (70 * 60 + 20, 150 * 60, CAR_B, True),    # 20 s after the first left
        ], note="a car leaving and another arriving within seconds"),
        parking("parking_next_bay", 4, [
            (10 * 60, 200 * 60, NEXT_BAY, False),     # the neighbour parks for hours
            (40 * 60, 90 * 60, CAR_C, True),
            (120 * 60, 121 * 60, PASSING, False),
            (150 * 60, 230 * 60, CAR_A, True),        # neighbour leaves while our car is in
        ], note="a car in the next bay, before, during and after ours"),
    ]
    # a week: the day's temperature cycle moves the sensor's offset, the
    # local field drifts 3 uT; residents park overnight, shoppers by day
    week = []
    for d in range(7):
        week.append((d * 86400 + 8 * h, d * 86400 + 8 * h + 50 * 60, CAR_C, True))
        week.append((d * 86400 + 13 * h, d * 86400 + 14 * h + 10 * 60, CAR_B, True))
        week.append((d * 86400 + 19 * h, d * 86400 + 19 * h + 40 * 60, BUS, False))
        week.append((d * 86400 + 21 * h, d * 86400 + 24 * h + 6 * h + 30 * 60, CAR_A, True))

    def temp(t):
        return 24.0 + 9.0 * math.sin(2 * math.pi * (t / 86400.0 - 0.375))

    def drift(t):
        c = temp(t) - 24.0                 # tempco of the sensor's offset: 0.4 uT/degC on z
        return (0.1 * c + 1.5 * t / (7 * 86400), 0.05 * c, 0.4 * c + 3.0 * t / (7 * 86400))
    out.append(parking("parking_week_drift", 7 * 24, week, drift=drift, temp=temp, interval=600,
                       sleep="light", grid_s=21600,
                       note="a week of temperature and magnetic drift, cars day and night"))
    return out


def rodent_set():
    def pulses(t0, n, gap, width=3):
        tl = []
        for i in range(n):
            a = t0 + i * gap
            tl += [{"at": "+%ds" % a, "level": 1}, {"at": "+%ds" % (a + width), "level": 0}]
        return tl

    def beams(t0, n, gap):
        tl = []
        for i in range(n):
            a = t0 + i * gap
            tl += [{"at": "+%ds" % a, "level": 0}, {"at": "+%ds" % (a + 1), "level": 1}]
        return tl
    h = 3600
    quiet = {"seed": 5, "start": "2026-11-23T18:00:00",
             "adc": {"batt_adc": {"initial": 1.9, "noise": 0.002}},
             "pins": {"pir": {"initial": 0, "timeline": pulses(h + 600, 3, 900) + pulses(3 * h + 100, 2, 1200)},
                      "beam": {"initial": 1, "timeline": beams(h + 610, 1, 1)}},
             "config": {"profile": "rodent_station", "interval": 900, "sleep": "light", "status_every": 1000,
                        "thresholds": {"window_s": 3600}},
             "expect": {"end_s": 5 * h, "windows": [0, 4, 0, 2], "bursts": [],
                        "note": "light sleep: pin interrupts count the PIR and the beam while the board sleeps"}}
    # a burst: 14 PIR events 60 s apart and 4 beam breaks from 02:10 (+8h10m)
    t0 = 8 * h + 600
    burst = {"seed": 6, "start": "2026-11-23T18:00:00",
             "adc": {"batt_adc": {"initial": 1.9, "noise": 0.002}},
             "pins": {"pir": {"initial": 0, "timeline": pulses(h + 300, 1, 1) + pulses(t0, 14, 60) + pulses(t0 + 3 * h, 12, 60)},
                      "beam": {"initial": 1, "timeline": beams(t0 + 30, 4, 120)}},
             "config": {"profile": "rodent_station", "interval": 900, "sleep": "deep", "status_every": 1000,
                        "thresholds": {"window_s": 3600, "high": 10, "low": 2}},
             "expect": {"end_s": 12 * h + 1200, "bursts": [t0 + 9 * 60, t0 + 3 * h + 9 * 60], "burst_windows": [8, 11],
                        "note": "deep sleep: each PIR event wakes the board (ext0); the beam (GPIO18, no RTC) "
                                "sleeps unheard. The second cluster comes after a quiet window, so it alerts again; "
                                "one alert per cluster, not one per event past the threshold"}}
    return [("rodent_quiet_night", quiet), ("rodent_burst", burst)]


BOARD_TOILET = "esp32-devkitc-toilet"   # boards/: the radar on UART1, two beams


def toilet_set():
    h = 3600
    ads = {"model": "ads1115", "address": 72, "noise": 0.002, "tracks": {
        "ain0": {"initial": 0.50, "timeline": [
            {"at": "+3h", "value": 0.62, "ramp": True},       # 0.62 V: 13 ppm NH3, past high (10)
            {"at": "+210m", "value": 0.62},
            {"at": "+4h", "value": 0.44},                     # cleaned: 2 ppm
        ]},
        "ain1": {"initial": 0.43}}}
    tof = {"model": "vl53l0x", "address": 41, "noise": 1, "tracks": {
        "distance_mm": {"initial": 60, "timeline": [{"at": "+6h", "value": 150, "ramp": True}]}}}
    # six visitors: outer beam then inner (in), later inner then outer (out)
    outer, inner, reed = [], [], []
    visits = [(20 * 60, 300), (75 * 60, 200), (118 * 60, 300), (200 * 60, 240), (260 * 60, 180), (320 * 60, 400)]
    for a, stay in visits:
        outer += [{"at": "+%ds" % a, "level": 0}, {"at": "+%ds" % (a + 2), "level": 1}]
        inner += [{"at": "+%ds" % (a + 1), "level": 0}, {"at": "+%ds" % (a + 3), "level": 1}]
        reed += [{"at": "+%ds" % (a + 8), "level": 0}, {"at": "+%ds" % (a + stay), "level": 1}]
        b = a + stay + 5
        inner += [{"at": "+%ds" % b, "level": 0}, {"at": "+%ds" % (b + 2), "level": 1}]
        outer += [{"at": "+%ds" % (b + 1), "level": 0}, {"at": "+%ds" % (b + 3), "level": 1}]
    presence = [[a + 10, 2, 80] for a, _ in visits] + [[a + stay - 5, 0, 0] for a, stay in visits]
    day = {"board": BOARD_TOILET, "seed": 9, "start": "2026-11-23T08:00:00",
           "adc": {"batt_adc": {"initial": 1.9, "noise": 0.002},
                   "leak_probe": {"initial": 2.9, "noise": 0.01, "timeline": [
                       {"at": "+5h", "volts": 0.6}, {"at": "+340m", "volts": 2.9}]}},
           "pins": {"beam": {"initial": 1, "timeline": outer}, "beam_inner": {"initial": 1, "timeline": inner},
                    "door_reed": {"initial": 1, "timeline": reed}},
           "i2c": {"i2c0": [ads, tof]},
           "ld2410": sorted(presence),
           "config": {"profile": "smart_toilet", "interval": 600, "sleep": "light", "status_every": 1000,
                      "thresholds": {"report_s": 3600}},
           "expect": {"end_s": 6 * h + 700, "people": 6, "occupied_at": 7206, "cleaning_at": 3 * h, "cleaned_at": 4 * h,
                      "leak": [5 * h, 5 * h + 40 * 60], "consumables_low_after": 5 * h}}
    # gas hovering at the NH3 threshold and a cleaning cycle that wets the floor
    hover = []
    for i in range(36):
        hover.append({"at": "+%ds" % (h + i * 300), "value": 0.54 + (0.02 if i % 2 else -0.005)})
    gas = {"board": BOARD_TOILET, "seed": 10, "start": "2026-11-23T08:00:00",
           "adc": {"batt_adc": {"initial": 1.9, "noise": 0.002}, "leak_probe": {"initial": 2.9}},
           "pins": {"beam": {"initial": 1}, "beam_inner": {"initial": 1}, "door_reed": {"initial": 1}},
           "i2c": {"i2c0": [{"model": "ads1115", "address": 72, "noise": 0.003, "tracks": {
               "ain0": {"initial": 0.45, "timeline": hover + [{"at": "+4h", "value": 0.45}]},
               "ain1": {"initial": 0.40}}}, tof]},
           "ld2410": [[0, 0, 0]],
           "config": {"profile": "smart_toilet", "interval": 300, "sleep": "light", "status_every": 1000,
                      "thresholds": {"report_s": 3600}},
           "expect": {"end_s": 5 * h, "cleaning_alerts": 1}}
    return [("toilet_ordinary_day", day), ("toilet_gas_hover", gas)]


def main():
    for name, scn in parking_set() + rodent_set() + toilet_set():
        (HERE / (name + ".json")).write_text(json.dumps(scn, indent=1) + "\n")
        print("wrote", name)


if __name__ == "__main__":
    main()
