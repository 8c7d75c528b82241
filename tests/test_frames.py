"""Frame schemas and the frame codec, on CPython and MicroPython alike."""

import cbor2
import pytest

from protocols import schema as S
from protocols import sizes
from tests.interpreters import RemoteError
from tests.single_precision import Float32, f32

F = "protocols.frames"

# One realistic frame per kind: the values sent, the values read back (after
# scaling to each field's step) and the exact bytes, which pin the wire format.
EXAMPLES = [
    ("parking_bay", {"occupied": True, "changes": 12, "battery": 87},
     {"occupied": True, "changes": 12, "battery": 85}, "8401f50c11"),
    ("rodent_station", {"activity": 300, "burst": True, "battery": 100},
     {"activity": 300, "burst": True, "battery": 100}, "840219012cf514"),
    ("smart_toilet", {"occupied": True, "leak": False, "people": 42, "nh3": 12, "h2s": 0.35,
                      "consumables": 60, "battery": 95},
     {"occupied": True, "leak": False, "cleaning": False, "consumables_low": False, "people": 42, "nh3": 12,
      "h2s": 0.35, "consumables": 60, "battery": 95}, "870301182a0c18230c13"),
    # the flags appended later (cleaning, consumables_low): bits 2 and 3 of the same byte
    ("smart_toilet", {"occupied": True, "leak": False, "cleaning": True, "consumables_low": True, "people": 42,
                      "nh3": 12, "h2s": 0.35, "consumables": 15, "battery": 95},
     {"occupied": True, "leak": False, "cleaning": True, "consumables_low": True, "people": 42, "nh3": 12,
      "h2s": 0.35, "consumables": 15, "battery": 95}, "87030d182a0c18230313"),
    ("water_main", {"pressure": 512.3, "flow": -12.34, "pressure_min": 420.0, "pressure_max": 530.0,
                    "battery": 70},
     {"pressure": 512.3, "flow": -12.34, "pressure_min": 412.3, "pressure_max": 532.3, "battery": 70},
     "86041914033904d1 0a 02 0e"),
    ("hiker_tracker", {"latitude": 22.41234, "longitude": 114.26789, "fix": "gps", "sos": False,
                       "battery": 55},
     {"latitude": 22.41234, "longitude": 114.26789, "fix": "gps", "sos": False, "battery": 55},
     "860519185a192e0d01f40b"),
    ("hiker_tracker", {"latitude": None, "longitude": None, "fix": "none", "sos": True, "battery": 55},
     {"latitude": None, "longitude": None, "fix": "none", "sos": True, "battery": 55}, "8605f6f600f50b"),
    ("status", {"firmware": "1.4.2", "battery_mv": 3712, "reset_cause": "watchdog", "uptime": 259200},
     {"firmware": "1.4.2", "battery_mv": 3720, "reset_cause": "watchdog", "uptime": 259200},
     "850619090218ba031848"),
    ("counters", {"boot_count": 17, "queue_depth": 3, "dropped": 0},
     {"boot_count": 17, "queue_depth": 3, "dropped": 0}, "8407110300"),
    ("night_flow", {"flow": 1.37, "start": 120, "duration": 120, "samples": 24, "battery": 80},
     {"flow": 1.37, "start": 120, "duration": 120, "samples": 24, "battery": 80}, "860a18890808181810"),
    ("night_flow", {"flow": -0.53, "start": 1425, "duration": 0, "samples": 0, "battery": 0},
     {"flow": -0.53, "start": 1425, "duration": 0, "samples": 0, "battery": 0}, "860a3834185f000000"),
    ("alarm", {"alarm": "burst", "active": True, "repeat": 0, "battery": 80},
     {"alarm": "burst", "active": True, "repeat": 0, "battery": 80}, "850b02f50010"),
    ("alarm", {"alarm": "leak", "active": False, "repeat": 30, "battery": 100},
     {"alarm": "leak", "active": False, "repeat": 30, "battery": 100}, "850b01f4181e14"),
    ("config_ack", {"seq": 5, "result": "ok"}, {"seq": 5, "result": "ok"}, "83080500"),
    ("ota_ack", {"release": 7, "result": "installed"}, {"release": 7, "result": "installed"}, "83090702"),
    ("config", {"seq": 5, "interval": 300},
     {"seq": 5, "interval": 300, "threshold_high": None, "threshold_low": None}, "83100519012c"),
    ("config", {"seq": 6, "threshold_low": -40},
     {"seq": 6, "interval": None, "threshold_high": None, "threshold_low": -40}, "851006f6f63827"),
    ("time_sync", {"time": 1795392000}, {"time": 1795392000}, "82111a6b038200"),
    ("ota_notice", {"release": 7, "size": 123456, "hash_prefix": b"\x01\x02\x03\x04"},
     {"release": 7, "size": 123456, "hash_prefix": b"\x01\x02\x03\x04"}, "8412071a0001e2404401020304"),
    ("reboot", {}, {"delay": None}, "8113"),
    ("reboot", {"delay": 30}, {"delay": 30}, "8213181e"),
    ("status_request", {}, {}, "8114"),
    ("alarm_ack", {"alarm": "sos"}, {"alarm": "sos"}, "821500"),
    ("alarm_ack", {"alarm": "burst"}, {"alarm": "burst"}, "821502"),
    # setting 11 is h2s_high_ppb in protocols/setting_names.py NAMES
    ("setting", {"seq": 5, "setting": 11, "value": 300}, {"seq": 5, "setting": 11, "value": 300}, "8416050b19012c"),
    ("setting", {"seq": 255, "setting": 255, "value": -2147483648},
     {"seq": 255, "setting": 255, "value": -2147483648}, "841618ff18ff3a7fffffff"),
]

UPLINKS = [k[S.KIND_NAME] for k in S.KINDS if k[S.DIRECTION] == S.UP]
ALL_KINDS = [k[S.KIND_NAME] for k in S.KINDS]
NUMERIC = (S.T_NUM, S.T_DELTA)


def _hex(text):
    return bytes.fromhex(text.replace(" ", ""))


@pytest.mark.parametrize("kind,sent,read,golden", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example_frames_encode_to_pinned_bytes_and_back(interp, kind, sent, read, golden):
    data = interp.call(F, "encode", kind, sent)
    assert data == _hex(golden)
    assert interp.call(F, "decode", data) == (kind, read)


def test_every_kind_has_an_example():
    assert {e[0] for e in EXAMPLES} == set(ALL_KINDS)


def test_frames_are_plain_cbor_arrays_any_tool_reads():
    for kind, sent, _, golden in EXAMPLES:
        items = cbor2.loads(_hex(golden))
        assert isinstance(items, list)
        assert items[0] == S.KINDS[ALL_KINDS.index(kind)][S.KIND_ID]
        assert all(isinstance(x, (int, bool, bytes)) or x is None for x in items)


def test_kind_ids_and_names_are_unique_and_one_byte():
    ids = [k[S.KIND_ID] for k in S.KINDS]
    assert len(set(ids)) == len(ids) and len(set(ALL_KINDS)) == len(ALL_KINDS)
    assert all(0 <= i < 24 for i in ids)


@pytest.mark.parametrize("kind", UPLINKS)
def test_uplink_worst_case_fits_as923_dr2_dwell(interp, kind):
    # Every field at the extreme of its range that takes the most bytes.
    values = sizes.worst_case_values(kind)
    data = interp.call(F, "encode", kind, values)
    assert data == sizes.worst_case_frame(kind)
    assert len(data) == sizes.worst_case_bytes(kind) <= 11
    cbor2.loads(data)  # valid CBOR to an independent decoder
    assert interp.call(F, "decode", data) == (kind, values)


@pytest.mark.parametrize("kind", UPLINKS)
def test_worst_case_is_really_the_largest(kind):
    # Both ends of every range: no combination is larger than the computed worst case.
    k = S.KINDS[ALL_KINDS.index(kind)]
    for f in k[S.FIELDS]:
        if f[S.TYPE] in (S.T_BOOL, S.T_BYTES):
            continue
        for end in (f[S.LO], f[S.HI]):
            assert sizes.int_size(end) <= sizes.field_worst_bytes(f)


def _field(kind, name):
    for f in S.KINDS[ALL_KINDS.index(kind)][S.FIELDS]:
        if f[S.NAME] == name:
            return f
    raise KeyError(name)


def _outside_cases():
    cases = []
    for k in S.KINDS:
        for f in k[S.FIELDS]:
            if f[S.TYPE] != S.T_NUM:
                continue
            step = f[S.NUM] / f[S.DEN]
            lo = (f[S.LO] + f[S.ORIGIN]) * f[S.NUM] / f[S.DEN]
            hi = (f[S.HI] + f[S.ORIGIN]) * f[S.NUM] / f[S.DEN]
            cases.append((k[S.KIND_NAME], f[S.NAME], lo - step))
            cases.append((k[S.KIND_NAME], f[S.NAME], hi + step))
    return cases


@pytest.mark.parametrize("kind,field,value", _outside_cases())
def test_out_of_range_field_is_an_error_naming_it(interp, kind, field, value):
    values = dict(sizes.worst_case_values(kind))
    values[field] = value
    with pytest.raises(RemoteError) as e:
        interp.call(F, "encode", kind, values)
    assert e.value.name == "FieldError"
    assert "%s.%s" % (kind, field) in e.value.message


@pytest.mark.parametrize("kind", [k for k in ALL_KINDS if k != "status_request"])
def test_missing_required_field_is_an_error_naming_it(interp, kind):
    values = sizes.worst_case_values(kind)
    required = [f for f in S.KINDS[ALL_KINDS.index(kind)][S.FIELDS]
                if not f[S.FLAGS] & (S.OPTIONAL | S.NULLABLE)]
    for f in required:
        names = f[S.EXTRA] if f[S.TYPE] == S.T_BITS else (f[S.NAME],)
        partial = {k: v for k, v in values.items() if k != names[0]}
        with pytest.raises(RemoteError) as e:
            interp.call(F, "encode", kind, partial)
        assert e.value.name == "FieldError" and "%s.%s: missing" % (kind, names[0]) in e.value.message


@pytest.mark.parametrize("kind,field,value", [
    ("parking_bay", "occupied", 1),
    ("parking_bay", "changes", True),
    ("parking_bay", "changes", "12"),
    ("water_main", "pressure", float("nan")),
    ("water_main", "pressure", float("inf")),
    ("status", "reset_cause", "exploded"),
    ("status", "firmware", "1.2"),
    ("status", "firmware", "32.0.0"),
    ("ota_notice", "hash_prefix", b"\x01\x02"),
    ("water_main", "pressure_min", 9000.0),     # window minimum above the reading
])
def test_wrong_value_is_an_error_naming_the_field(interp, kind, field, value):
    values = dict(sizes.worst_case_values(kind))
    values[field] = value
    with pytest.raises(RemoteError) as e:
        interp.call(F, "encode", kind, values)
    assert e.value.name == "FieldError" and "%s.%s" % (kind, field) in e.value.message


def test_unknown_kind_is_an_error(interp):
    with pytest.raises(RemoteError) as e:
        interp.call(F, "encode", "weather_station", {})
    assert e.value.name == "UnknownKind"


@pytest.mark.parametrize("data,error", [
    ("", "MalformedFrame"),
    ("ff", "MalformedFrame"),                 # not CBOR
    ("8401f50c", "MalformedFrame"),           # truncated array
    ("01", "MalformedFrame"),                 # not an array
    ("80", "MalformedFrame"),                 # empty array
    ("81f5", "MalformedFrame"),               # kind id is not an integer
    ("8117", "UnknownKind"),                  # kind 23 is not defined
    ("8301f50c", "FieldError"),               # battery missing
    ("8401f50c18c8", "FieldError"),           # battery 200 steps = 1000 %
    ("840101 0c11", "FieldError"),            # occupied is 1, not a boolean
    ("8401f5 6131 11", "FieldError"),         # changes is text
    ("8401f5 20 11", "FieldError"),           # changes negative
    ("8401f6 0c11", "FieldError"),            # required field null
    ("85 06 190902 18ba 08 1848", "FieldError"),  # reset cause 8 does not exist
    ("8401f5c249010000000000000000 11", "FieldError"),  # a bignum count
])
def test_malformed_frames_are_rejected_with_a_reason(interp, data, error):
    with pytest.raises(RemoteError) as e:
        interp.call(F, "decode", _hex(data))
    assert e.value.name == error
    assert e.value.message


def test_frames_longer_than_any_lorawan_payload_are_rejected(interp):
    with pytest.raises(RemoteError) as e:
        interp.call(F, "decode", b"\x98\xff" + b"\x00" * 255)
    assert e.value.name == "MalformedFrame"


# ---- evolution: appended optional fields, read both ways

def _newer_schema():
    # parking_bay gains a temperature field and a third alarm bit in a later release.
    newer = []
    for k in S.KINDS:
        fields = k[S.FIELDS]
        if k[S.KIND_NAME] == "parking_bay":
            fields = fields + (S.number("temperature", "Cel", "0.5", "-40", "85", "0", S.OPTIONAL),)
        if k[S.KIND_NAME] == "smart_toilet":
            fields = (S.bits("alarms", ("occupied", "leak", "cleaning", "consumables_low", "tamper"), required=2),) \
                + fields[1:]
        newer.append((k[S.KIND_ID], k[S.KIND_NAME], k[S.DIRECTION], fields))
    return tuple(newer)


def test_newer_schema_reads_an_older_frame(interp):
    old = interp.call(F, "encode", "parking_bay", {"occupied": False, "changes": 3, "battery": 40})
    kind, values = interp.call(F, "decode", old, _newer_schema())
    assert kind == "parking_bay"
    assert values == {"occupied": False, "changes": 3, "battery": 40, "temperature": None}


def test_older_schema_reads_a_newer_frame(interp):
    new = interp.call(F, "encode", "parking_bay",
                      {"occupied": True, "changes": 3, "battery": 40, "temperature": 21.5},
                      kinds=_newer_schema())
    assert new == _hex("8501f50308182b")
    assert interp.call(F, "decode", new) == ("parking_bay", {"occupied": True, "changes": 3, "battery": 40})
    toilet = dict(sizes.worst_case_values("smart_toilet"), tamper=True)
    new = interp.call(F, "encode", "smart_toilet", toilet, kinds=_newer_schema())
    kind, values = interp.call(F, "decode", new)
    assert values["occupied"] is True and values["leak"] is True and "tamper" not in values
    assert values["cleaning"] is True and values["consumables_low"] is True


def _schema_before_issue_6():
    # The schema as it was before the toilet's cleaning/consumables flags and the
    # night_flow and alarm kinds: what a fleet or a board not yet updated reads with.
    older = []
    for k in S.KINDS:
        if k[S.KIND_NAME] in ("night_flow", "alarm"):
            continue
        fields = k[S.FIELDS]
        if k[S.KIND_NAME] == "smart_toilet":
            fields = (S.bits("alarms", ("occupied", "leak")),) + fields[1:]
        older.append((k[S.KIND_ID], k[S.KIND_NAME], k[S.DIRECTION], fields))
    return tuple(older)


TOILET = {"occupied": False, "leak": True, "people": 7, "nh3": 30, "h2s": 1.2, "consumables": 10, "battery": 50}


def test_toilet_flags_appended_later_read_both_ways(interp):
    # an older toilet's frame: the new flags read as clear
    old = interp.call(F, "encode", "smart_toilet", TOILET, kinds=_schema_before_issue_6())
    kind, values = interp.call(F, "decode", old)
    assert values == dict(TOILET, cleaning=False, consumables_low=False)
    # an encoder not given them sends the same bytes as before
    assert interp.call(F, "encode", "smart_toilet", TOILET) == old
    # a newer toilet's frame read by an older decoder: the flags it knows, the rest ignored
    new = interp.call(F, "encode", "smart_toilet", dict(TOILET, cleaning=True, consumables_low=True))
    assert len(new) == len(old)
    assert interp.call(F, "decode", new, _schema_before_issue_6()) == ("smart_toilet", TOILET)


def test_the_first_flags_stay_required(interp):
    with pytest.raises(RemoteError) as e:
        interp.call(F, "encode", "smart_toilet", {k: v for k, v in TOILET.items() if k != "leak"})
    assert e.value.name == "FieldError" and "smart_toilet.leak: missing" in e.value.message


def test_new_kinds_are_unknown_to_an_older_decoder_not_misread(interp):
    # A new kind id is how a figure with a new meaning is added: an older fleet
    # refuses it as unknown (and keeps it to replay), it never reads it as another kind.
    for kind in ("night_flow", "alarm"):
        data = interp.call(F, "encode", kind, sizes.worst_case_values(kind))
        with pytest.raises(RemoteError) as e:
            interp.call(F, "decode", data, _schema_before_issue_6())
        assert e.value.name == "UnknownKind"


def test_alarm_names_are_those_alarm_ack_acknowledges():
    assert _field("alarm", "alarm")[S.EXTRA] == _field("alarm_ack", "alarm")[S.EXTRA] == S.ALARMS


@pytest.mark.parametrize("kind,worst", [("smart_toilet", 11), ("water_main", 11), ("night_flow", 11), ("alarm", 7)])
def test_worst_case_sizes_of_the_kinds_issue_6_touched(kind, worst):
    assert sizes.worst_case_bytes(kind) == worst


# ---- single precision: an ESP32 holds floats in 32 bits



SINGLE = [e for e in EXAMPLES if any(isinstance(v, float) for v in e[1].values())]


@pytest.mark.parametrize("kind,sent,read,golden", SINGLE, ids=[e[0] for e in SINGLE])
def test_float32_rounded_inputs_give_the_same_bytes(interp, kind, sent, read, golden):
    rounded = {k: f32(v) if isinstance(v, float) else v for k, v in sent.items()}
    assert rounded != sent  # the inputs really changed
    assert interp.call(F, "encode", kind, rounded) == _hex(golden)


@pytest.mark.parametrize("kind,sent,read,golden", SINGLE, ids=[e[0] for e in SINGLE])
def test_single_precision_arithmetic_gives_the_same_bytes(kind, sent, read, golden):
    from protocols import frames
    single = {k: Float32(f32(v)) if isinstance(v, float) else v for k, v in sent.items()}
    assert frames.encode(kind, single) == _hex(golden)


def test_float32_positions_across_hong_kong_give_the_same_bytes(interp):
    # Every 1e-5 degree step is not representable in single precision at
    # 114 degrees (spacing 7.6e-6): the rounding to steps must still land right.
    cases = []
    for i in range(0, 60000, 997):
        lat = round(22.15 + i * 0.00001, 5)
        lon = round(113.83 + i * 0.00001, 5)
        cases.append((lat, lon))
    for lat, lon in cases:
        values = {"latitude": lat, "longitude": lon, "fix": "gps", "sos": False, "battery": 50}
        single = dict(values, latitude=f32(lat), longitude=f32(lon))
        expected = interp.call(F, "encode", "hiker_tracker", values)
        assert interp.call(F, "encode", "hiker_tracker", single) == expected
        from protocols import frames
        arith = dict(values, latitude=Float32(f32(lat)), longitude=Float32(f32(lon)))
        assert frames.encode("hiker_tracker", arith) == expected


def test_raw_steps_encode_like_si_values(interp):
    si = {"latitude": 22.41234, "longitude": 114.26789, "fix": "gps", "sos": False, "battery": 55}
    raw = {"latitude": 2241234, "longitude": 11426789, "fix": "gps", "sos": False, "battery": 11}
    assert interp.call(F, "encode", "hiker_tracker", raw, raw=True) == interp.call(F, "encode", "hiker_tracker", si)
    water = {"pressure": 5123, "flow": -1234, "pressure_min": 4200, "pressure_max": 5300, "battery": 14}
    golden = [e[3] for e in EXAMPLES if e[0] == "water_main"][0]
    assert interp.call(F, "encode", "water_main", water, raw=True) == _hex(golden)


def test_pressure_window_is_rounded_outward(interp):
    # The window sent always contains the true minimum and maximum.
    for low, high in ((420.0, 530.0), (512.3, 512.3), (500.01, 522.29), (282.3, 742.3)):
        data = interp.call(F, "encode", "water_main", {"pressure": 512.3, "flow": 0, "pressure_min": low,
                                                       "pressure_max": high, "battery": 5})
        _, v = interp.call(F, "decode", data)
        assert v["pressure_min"] <= low and v["pressure_max"] >= high
        assert low - v["pressure_min"] < 10 and v["pressure_max"] - high < 10


# ---- the setting downlink: any interval or threshold, within the 11-byte budget

ST = "protocols.settings"


def test_setting_downlink_worst_case_fits_as923_dr2_dwell(interp):
    values = sizes.worst_case_values("setting")
    data = interp.call(F, "encode", "setting", values)
    assert data == sizes.worst_case_frame("setting")
    assert len(data) == sizes.worst_case_bytes("setting") == 11
    for value in (-2147483648, 2147483647):
        data = interp.call(F, "encode", "setting", {"seq": 255, "setting": 255, "value": value})
        assert len(data) == 11 and cbor2.loads(data) == [22, 255, 255, value]
        assert interp.call(F, "decode", data) == ("setting", {"seq": 255, "setting": 255, "value": value})


@pytest.mark.parametrize("field,value", [("seq", 256), ("setting", 256), ("value", 2147483648),
                                         ("value", -2147483649), ("seq", -1)])
def test_setting_downlink_out_of_range_is_an_error_naming_the_field(interp, field, value):
    with pytest.raises(RemoteError) as e:
        interp.call(F, "encode", "setting", dict({"seq": 1, "setting": 2, "value": 3}, **{field: value}))
    assert e.value.name == "FieldError" and "setting." + field in e.value.message


def test_setting_downlinks_by_name_round_trip_with_counting_seq(interp):
    pairs = [("h2s_high_ppb", 300), ("interval", 600), ("report_s", 1800), ("tz_offset_min", 0),
             ("gnss_nofix_epochs", 2147483647), ("status_every", 1000), ("high", 0)]
    data = interp.call(ST, "setting_downlinks", pairs, 253)
    assert all(len(d) <= 11 for d in data)
    got = [interp.call(ST, "describe", interp.call(F, "decode", d)[1]) for d in data]
    assert got == [{"seq": (253 + i) % 256, "setting": n, "value": v} for i, (n, v) in enumerate(pairs)]
    # a dict is taken too; one frame per entry
    assert len(interp.call(ST, "setting_downlinks", {"dwell": 3}, 0)) == 1


@pytest.mark.parametrize("values,message", [
    ([("warp_factor", 9)], "unknown setting 'warp_factor'"),
    ([("interval", 5)], "setting interval: 5 is outside 10..86400"),
    ([("interval", 86401)], "setting interval: 86401 is outside 10..86400"),
    ([("status_every", 0)], "setting status_every: 0 is outside 1..1000"),
    ([("dwell", -1)], "setting dwell: -1 is outside 0..2147483647"),
    ([("dwell", 2147483648)], "setting dwell: 2147483648 is outside 0..2147483647"),
    ([("dwell", 2.5)], "setting dwell: 2.5 is not a whole number"),
    ([("dwell", True)], "setting dwell: True is not a whole number"),
    ([("dwell", 3), ("nope", 1)], "unknown setting 'nope'"),   # checked before any frame is made
])
def test_setting_downlinks_refuse_unknown_names_and_values_out_of_range(interp, values, message):
    with pytest.raises(RemoteError) as e:
        interp.call(ST, "setting_downlinks", values, 0)
    assert e.value.name == "SettingError" and message in e.value.message


def test_setting_downlinks_refuse_a_seq_out_of_range(interp):
    with pytest.raises(RemoteError) as e:
        interp.call(ST, "setting_downlinks", [("dwell", 3)], 256)
    assert e.value.name == "SettingError"


def test_setting_names_are_unique_and_fit_the_index(interp):
    names = interp.call(ST, "index_of", "interval"), interp.call(ST, "name_of", 255)
    assert names == (0, None)
    table = interp.call(ST, "names")
    assert len(set(table)) == len(table) <= 256
    assert [interp.call(ST, "index_of", n) for n in table] == list(range(len(table)))
    assert [interp.call(ST, "name_of", i) for i in range(len(table))] == list(table)

