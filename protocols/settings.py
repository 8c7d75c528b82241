# The fleet's side of the setting downlink: check a setting against the range
# every device holds it to, and make the frames. The names and their indexes
# are protocols/setting_names.py (what a device imports), re-exported here.
from protocols import frames
from protocols.setting_names import NAMES, SettingError, index_of, name_of, names  # noqa: F401 (the API)

# The ranges every device holds a setting to (firmware/runtime/config.py's
# rules for config.json; tests/firmware/test_settings.py checks they agree):
# the config's own fields by name, every threshold a whole number >= 0.
RANGES = {"interval": (10, 86400), "status_every": (1, 1000)}
THRESHOLD_RANGE = (0, 2147483647)


def value_range(name):
    """(lowest, highest) whole number a device accepts for the named setting."""
    return RANGES.get(name, THRESHOLD_RANGE)


def check(name, value):
    """Raise SettingError unless name is in the table and value a whole number within its range."""
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
    before any frame is made: SettingError for a name not in the table or a
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
