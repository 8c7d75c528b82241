# Settings a `setting` downlink changes on a device, by index into SETTINGS:
# config.json's own intervals, the pair a config downlink sets ("high" and
# "low"), then every threshold of every profile, by the names of the DEFAULTS
# in firmware/apps/ (tests/firmware/test_settings.py checks each one is here).
#
# Append only: a name's index never changes, a new threshold is added at the
# end (up to 256 names keep the frame at 11 bytes). Which names a device takes
# is its profile's business; one it does not use, or an index beyond its
# firmware's table, is answered config_ack "invalid".
#
# Heap: a device imports this module only when a setting downlink arrives (the
# names are ~3.5 KB of heap on the MicroPython unix port), never at boot.
from protocols import frames

SETTINGS = (
    "interval", "status_every", "high", "low",
    # parking_bay
    "dwell", "swap", "track", "calibrate", "keepalive_s",
    # rodent_station
    "window_s", "debounce_ms",
    # smart_toilet
    "h2s_high_ppb", "h2s_low_ppb", "nh3_zero_mv", "nh3_span_mv", "nh3_full_ppm", "h2s_zero_mv",
    "h2s_span_mv", "h2s_full_ppb", "full_mm", "empty_mm", "consumables_low", "consumables_ok",
    "leak_mv", "report_s", "radar_ms",
    # water_main
    "report_every_s", "sample_ms", "transient_kpa", "burst_drop_kpa", "burst_flow_cls",
    "night_start_min", "night_end_min", "tz_offset_min", "leak_night_cls", "shunt_ohm",
    "range_kpa", "pressure_channel", "adc_address", "meter_unit",
    # hiker_tracker
    "moving_every_s", "still_every_s", "move_m", "still_after", "sos_every_s", "sos_hold_ms",
    "gnss_wait_s", "gnss_nofix_epochs",
)

# The ranges every device holds a setting to (firmware/runtime/config.py's
# rules for config.json; tests/firmware/test_settings.py checks they agree):
# the config's own fields by name, every threshold a whole number >= 0.
RANGES = {"interval": (10, 86400), "status_every": (1, 1000)}
THRESHOLD_RANGE = (0, 2147483647)


class SettingError(ValueError):
    """A setting's name is not in SETTINGS or its value is outside its range; the message names it."""


def index_of(name):
    """The SETTINGS index of a setting name; SettingError for a name not in the table."""
    for i in range(len(SETTINGS)):
        if SETTINGS[i] == name:
            return i
    raise SettingError("unknown setting %r" % (name,))


def name_of(index):
    """The setting name at a SETTINGS index, or None for an index beyond this table."""
    if isinstance(index, int) and 0 <= index < len(SETTINGS):
        return SETTINGS[index]
    return None


def value_range(name):
    """(lowest, highest) whole number a device accepts for the named setting."""
    return RANGES.get(name, THRESHOLD_RANGE)


def check(name, value):
    """Raise SettingError unless name is in SETTINGS and value a whole number within its range."""
    index_of(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise SettingError("setting %s: %r is not a whole number" % (name, value))
    lo, hi = value_range(name)
    if not lo <= value <= hi:
        raise SettingError("setting %s: %d is outside %d..%d" % (name, value, lo, hi))


def setting_downlinks(values, seq_start=0):
    """Encoded `setting` downlink frames, one per entry of values ({name: int}).

    Frames go in the order values gives (a dict's insertion order on CPython;
    a list of (name, value) pairs is taken too); the seq of the first is
    seq_start and each next one counts up modulo 256, so the
    config_ack of each names its frame. Every name and value is checked
    before any frame is made: SettingError for a name not in SETTINGS or a
    value outside the range a device accepts (whether a given device's
    profile uses the name is the device's answer, config_ack "invalid").
    Returns a list of bytes, each at most 11 bytes.
    """
    pairs = values.items() if hasattr(values, "items") else values
    pairs = [(name, value) for name, value in pairs]
    if not isinstance(seq_start, int) or isinstance(seq_start, bool) or not 0 <= seq_start <= 255:
        raise SettingError("seq_start %r is not in 0..255" % (seq_start,))
    for name, value in pairs:
        check(name, value)
    out = []
    for i in range(len(pairs)):
        name, value = pairs[i]
        out.append(frames.encode("setting", {"seq": (seq_start + i) % 256, "setting": index_of(name),
                                             "value": value}))
    return out


def describe(fields):
    """A decoded setting downlink's fields with the setting's name: {"seq", "setting", "value"}.

    The setting is None when its index is beyond this table.
    """
    return {"seq": fields["seq"], "setting": name_of(fields["setting"]), "value": fields["value"]}
