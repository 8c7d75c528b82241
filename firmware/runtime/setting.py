# A setting downlink: one interval or threshold, by its index in the shared
# table (protocols/setting_names.py), applied as a config downlink is. Imported
# only when one arrives, so neither this code nor the ~50 setting names cost
# the heap of an ordinary wake.
#
# The rules are config.json's: interval and status_every are held to their
# ranges by config.save(); a threshold must be one of the running profile's
# (the names of its module's DEFAULTS, apps/<name>.py) and a whole number
# >= 0, as runtime.profile.thresholds() reads them. The new config.json is
# written atomically together with the downlink's "seq:index:value" among the
# last _RECENT applied ("recent_settings"), so a downlink delivered again (the
# network did not see our config_ack) is acknowledged again and not applied
# again, even after a power cut, and cannot undo a later change.
import json
import sys

from protocols import setting_names
from runtime import config as configfile

_TOP = ("interval", "status_every")
_RECENT = 4
_PROBE = 0x3FFFFFF0   # no threshold's value: a small int on a 32-bit port


def with_setting(raw, name, value, accepted, main):
    # raw (config.json's object) with the setting in place, for config.save()
    # to check and write; ConfigError for a name the profile does not take.
    out = dict(raw)
    if name in _TOP:
        out[name] = value
        return out
    if name is None:
        raise configfile.ConfigError("setting: an index beyond this firmware's table")
    if name not in accepted:
        raise configfile.ConfigError("setting %s: not a setting of this profile" % name)
    if value < 0:
        raise configfile.ConfigError("setting %s: must be an integer >= 0" % name)
    limits = raw.get("thresholds")
    limits = dict(limits) if isinstance(limits, dict) else {}
    limits[name] = value
    # A config downlink's "high"/"low" override the pair they name (main):
    # the newer value wins, so the older alias goes.
    for alias, target in (("high", main[0]), ("low", main[1])):
        if target == name and alias != name:
            limits.pop(alias, None)
    out["thresholds"] = limits
    return out


def main_pair(module):
    # The thresholds a config downlink's "high" and "low" set in this profile,
    # asked of the one place that says: its thresholds(config), when it has
    # one (runtime.profile.thresholds); else they are "high" and "low".
    find = getattr(module, "thresholds", None)
    if find is None:
        return ("high", "low")
    got = find({"thresholds": {"high": _PROBE, "low": _PROBE + 1}})
    pair = ["high", "low"]
    for name in got:
        if got[name] == _PROBE:
            pair[0] = name
        elif got[name] == _PROBE + 1:
            pair[1] = name
    return pair


def _remember(recent, key):
    # recent ({key: order}) with key as the newest, the oldest beyond _RECENT gone.
    newest = max(recent.values()) + 1 if recent else 1
    recent[key] = newest
    while len(recent) > _RECENT:
        oldest = min(recent, key=recent.get)
        del recent[oldest]
    return recent


def apply(ctx, fields):
    # Check, write and apply one setting downlink: "ok" or "invalid".
    index, value = fields["setting"], fields["value"]
    name = setting_names.name_of(index)
    key = "%d:%d:%d" % (fields["seq"], index, value)
    try:
        with open(configfile.PATH) as f:
            raw = json.load(f)
    except (OSError, ValueError):
        return "invalid"
    recent = raw.get("recent_settings")
    recent = dict(recent) if isinstance(recent, dict) else {}
    if key in recent:
        ctx.log.info("setting %s (seq %d) applied before: not again" % (name, fields["seq"]))
        return "ok"
    # The running profile's module declares its settings (runtime/profile.py);
    # the status-only profile of safe mode declares none, nor does no profile at all.
    module = sys.modules.get(getattr(type(ctx.profile), "__module__", None))
    accepted = getattr(module, "DEFAULTS", None) or {}
    main = main_pair(module) if accepted else ("high", "low")
    try:
        raw = with_setting(raw, name, value, accepted, main)
        raw["recent_settings"] = _remember(recent, key)
        checked = configfile.save(raw, ctx.board)
    except configfile.ConfigError as e:
        ctx.log.error("setting downlink refused: %s" % e)
        return "invalid"
    config = ctx.config
    for top in _TOP:
        config[top] = checked[top]
    # The profiles read config["thresholds"] at every decision: a new dict in
    # its place takes effect from the next one.
    config["thresholds"] = checked["thresholds"]
    config["recent_settings"] = raw["recent_settings"]
    ctx.log.info("setting %s = %d" % (name, value))
    return "ok"
