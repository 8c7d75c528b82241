# The device's configuration: JSON on flash, checked field by field.
#
# Written atomically: the new file is written beside the old one and renamed
# over it (a rename is atomic on littlefs), so a power cut mid-write leaves the
# old or the new configuration, never a broken one. A stray "config.json.new"
# found at boot is a write that never finished and is ignored.
#
# Each field has a checker and a default. A field that fails its check takes
# the board's default (or the built-in one) and the problem is reported; the
# identity fields have no default, so a config without a valid identity is
# "unprovisioned" and the device boots into provisioning mode.
import json
import os

PATH = "config.json"

PROFILES = ("parking_bay", "rodent_station", "smart_toilet", "water_main", "hiker_tracker")
REGIONS = ("AS923", "EU868", "US915")
SLEEP_MODES = ("deep", "light")


class ConfigError(Exception):
    pass


# Each field's rule is data, (check, a, b), read by _why(): a closure per
# field would cost the heap a function object and its cells on every wake.
_HEX = 0        # a: number of hex digits
_INT = 1        # a..b, no bool
_ONE_OF = 2     # a: the allowed values
_THRESHOLDS = 3  # an object of name: integer


def _why(rule, v):
    # None if v passes the rule, else what is wrong with it.
    check, a, b = rule
    if check == _HEX:
        if isinstance(v, str) and len(v) == a:
            try:
                int(v, 16)
                return None
            except ValueError:
                pass
        return "must be %d hex digits" % a
    if check == _INT:
        if not isinstance(v, int) or isinstance(v, bool) or not a <= v <= b:
            return "must be an integer in %d..%d" % (a, b)
        return None
    if check == _ONE_OF:
        return None if v in a else "must be one of " + ", ".join(a)
    if isinstance(v, dict):
        for k in v:
            if not isinstance(k, str) or not isinstance(v[k], int) or isinstance(v[k], bool):
                break
        else:
            return None
    return "must be an object of name: integer"


# name, rule, built-in default (None: required, no default)
IDENTITY = (
    ("dev_eui", (_HEX, 16, 0), None),
    ("join_eui", (_HEX, 16, 0), None),
    ("app_key", (_HEX, 32, 0), None),
    ("device_key", (_HEX, 64, 0), None),
    ("profile", (_ONE_OF, PROFILES, 0), None),
)
SETTINGS = (
    ("interval", (_INT, 10, 86400), 900),
    ("status_every", (_INT, 1, 1000), 24),
    ("region", (_ONE_OF, REGIONS, 0), "AS923"),
    ("data_rate", (_INT, 0, 7), 2),
    ("sleep", (_ONE_OF, SLEEP_MODES, 0), "deep"),
    ("thresholds", (_THRESHOLDS, 0, 0), {}),
    ("queue_segments", (_INT, 2, 256), 16),
    # the last setting downlinks applied, {"seq:index:value": order} (runtime/setting.py)
    ("recent_settings", (_THRESHOLDS, 0, 0), {}),
)
FIELDS = IDENTITY + SETTINGS
SECRETS = ("app_key", "device_key")


def defaults(board):
    # Built-in defaults, overridden by the board file's "defaults" section.
    out = {}
    for name, _, default in SETTINGS:
        out[name] = default
    for name, value in (board or {}).get("defaults", {}).items():
        if name in out:
            out[name] = value
    return out


def check(raw, board=None):
    # Validate raw (a dict) field by field. Returns (config, problems,
    # provisioned): bad or missing settings fall back to defaults; the config
    # is provisioned only when every identity field is valid.
    problems = []
    config = defaults(board)
    if not isinstance(raw, dict):
        return config, ["must be a JSON object"], False
    provisioned = True
    for name, rule, default in FIELDS:
        if name not in raw:
            if default is None:
                provisioned = False
                problems.append(name + ": missing")
            continue
        why = _why(rule, raw[name])
        if why:
            problems.append(name + ": " + why)
            if default is None:
                provisioned = False
            continue
        config[name] = raw[name]
    for name in raw:
        if name not in config and not any(f[0] == name for f in FIELDS):
            problems.append(name + ": unknown field, ignored")
    return config, problems, provisioned


def load(board=None, path=PATH):
    # Read and check the config on flash; a missing or unreadable file is
    # reported as a problem, never raised, so boot always goes on.
    try:
        with open(path) as f:
            raw = json.load(f)
    except OSError:
        return check({}, board)[0], ["no " + path], False
    except ValueError:
        return check({}, board)[0], [path + " is not valid JSON"], False
    return check(raw, board)


def save(config, board=None, path=PATH):
    # Check, then write atomically. Raises ConfigError listing the problems
    # when a field is invalid, so a bad config never reaches flash.
    checked, problems, provisioned = check(config, board)
    bad = [p for p in problems if not p.endswith("ignored")]
    if bad:
        raise ConfigError("; ".join(bad))
    tmp = path + ".new"
    with open(tmp, "w") as f:
        json.dump(config, f)
    os.rename(tmp, path)
    return checked


def redacted(config):
    # The config as it may be printed or logged: secrets never leave the board.
    out = {}
    for name in config:
        out[name] = "***" if name in SECRETS else config[name]
    return out

