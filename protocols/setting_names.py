# Settings a `setting` downlink changes on a device, by index into NAMES:
# config.json's own intervals, the pair a config downlink sets ("high" and
# "low"), then every threshold of every profile, by the names of the DEFAULTS
# in firmware/apps/ (tests/firmware/test_settings.py checks each one is here).
#
# Append only: a name's index never changes, a new threshold is added at the
# end (up to 256 names keep the frame at 11 bytes). Which names a device takes
# is its profile's business; one it does not use, or an index beyond its
# firmware's table, is answered config_ack "invalid".
#
# Heap: a device imports this module (and not protocols/settings.py, the
# fleet's side) only when a setting downlink arrives, never at boot. The names
# are one string, not a tuple of 48 strings: each string constant of a module
# becomes an interned name (a qstr) when it loads, and a MicroPython heap never
# frees those, so a light-sleep board would keep them all after its first
# setting downlink. Compiled by mpy-cross and imported on the unix port, the
# tuple keeps 3,776 B, the one string 896 B (tests/firmware/test_settings.py).
NAMES = (
    "interval status_every high low"
    # parking_bay
    " dwell swap track calibrate keepalive_s"
    # rodent_station
    " window_s debounce_ms"
    # smart_toilet
    " h2s_high_ppb h2s_low_ppb nh3_zero_mv nh3_span_mv nh3_full_ppm h2s_zero_mv"
    " h2s_span_mv h2s_full_ppb full_mm empty_mm consumables_low consumables_ok"
    " leak_mv report_s radar_ms"
    # water_main
    " report_every_s sample_ms transient_kpa burst_drop_kpa burst_flow_cls"
    " night_start_min night_end_min tz_offset_min leak_night_cls shunt_ohm"
    " range_kpa pressure_channel adc_address meter_unit"
    # hiker_tracker
    " moving_every_s still_every_s move_m still_after sos_every_s sos_hold_ms"
    " gnss_wait_s gnss_nofix_epochs"
)


def names():
    """Every setting name, as a tuple in index order (the index is the name's position)."""
    return tuple(NAMES.split())


class SettingError(ValueError):
    """A setting's name is not in the table or its value is outside its range; the message names it."""


def index_of(name):
    """The index of a setting name; SettingError for a name not in the table."""
    table = NAMES.split()
    for i in range(len(table)):
        if table[i] == name:
            return i
    raise SettingError("unknown setting %r" % (name,))


def name_of(index):
    """The setting name at an index, or None for an index beyond this table."""
    table = NAMES.split()
    if isinstance(index, int) and 0 <= index < len(table):
        return table[index]
    return None
