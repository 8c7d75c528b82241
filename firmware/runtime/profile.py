# An application is two parts, kept apart on purpose (see DESIGN.md):
#   Sensors  owns the buses and drivers named in the board file and turns them
#            into readings in SI units;
#   Profile  decides what is worth sending: it receives readings and returns
#            frames (kind, fields) of the shared schema, and owns no bus and no
#            radio, so it is tested with readings alone.
# The five sensor applications live in apps/<name>.py, each with a Sensors and
# a Profile class. Until one is installed the board sends status frames only,
# with the pair in runtime/status_only.py, whose methods say what each class
# of a pair does (read here as profile.Sensors and profile.Profile; a module
# of its own, as most wakes run an application and never need them).
# The module of an application's Profile declares its thresholds by name,
# with their defaults, in DEFAULTS: the names a setting downlink may change
# (besides config.json's interval and status_every), read from that one list
# by runtime/setting.py, which also asks the module's thresholds(), when it
# has one, which pair a config downlink's "high" and "low" stand for.


def __getattr__(name):
    # profile.Sensors, profile.Profile: the status-only pair (runtime/status_only.py), loaded now.
    if name in ("Sensors", "Profile"):
        from runtime import status_only
        return getattr(status_only, name)
    raise AttributeError(name)


def load(name, board, config, saved, log):
    # (sensors, profile) of the application called name from apps/, or the
    # status-only pair when it is not installed.
    try:
        module = __import__("apps." + name, None, None, ["Sensors", "Profile"])
    except ImportError as e:
        log.error("profile %s not installed (%s): status only" % (name, e))
        from runtime.status_only import Sensors, Profile
        return Sensors(board, config), Profile(config, saved)
    return module.Sensors(board, config), module.Profile(config, saved)


def thresholds(config, defaults, high, low):
    # The profile's thresholds: its defaults, overridden by whole numbers >= 0
    # named in config["thresholds"]; then "high" and "low" (written there by a
    # config downlink's threshold_high/low) set the profile's main pair, named
    # high and low here.
    t = dict(defaults)
    given = config.get("thresholds") or {}
    for k in defaults:
        v = given.get(k)
        if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
            t[k] = v
    for key, name in (("high", high), ("low", low)):
        v = given.get(key)
        if isinstance(v, int) and not isinstance(v, bool) and v > 0:
            t[name] = v
    return t
