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


def _hex(length):
    def check(v):
        if not isinstance(v, str) or len(v) != length:
            return "must be %d hex digits" % length
        try:
            int(v, 16)
        except ValueError:
            return "must be %d hex digits" % length
        return None
    return check


def _int(lo, hi):
    def check(v):
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            return "must be an integer in %d..%d" % (lo, hi)
        return None
    return check


def _one_of(names):
    def check(v):
        if v not in names:
            return "must be one of " + ", ".join(names)
        return None
    return check


def _thresholds(v):
    if not isinstance(v, dict):
        return "must be an object of name: integer"
    for k in v:
        if not isinstance(k, str) or not isinstance(v[k], int) or isinstance(v[k], bool):
            return "must be an object of name: integer"
    return None


# name, checker, built-in default (None: required, no default)
IDENTITY = (
    ("dev_eui", _hex(16), None),
    ("join_eui", _hex(16), None),
    ("app_key", _hex(32), None),
    ("device_key", _hex(64), None),
    ("profile", _one_of(PROFILES), None),
)
SETTINGS = (
    ("interval", _int(10, 86400), 900),
    ("status_every", _int(1, 1000), 24),
    ("region", _one_of(REGIONS), "AS923"),
    ("data_rate", _int(0, 7), 2),
    ("sleep", _one_of(SLEEP_MODES), "deep"),
    ("thresholds", _thresholds, {}),
    ("queue_segments", _int(2, 256), 16),
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
    for name, checker, default in FIELDS:
        if name not in raw:
            if default is None:
                provisioned = False
                problems.append(name + ": missing")
            continue
        why = checker(raw[name])
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
