"""Which frames raise an alarm on a device; the alarm latches until an operator clears it."""

# The alarm frame's names (protocols/schema.py ALARMS) as an operator reads them. A
# water main raises "leak" from its night flow, a toilet from its floor probe.
ALARM_TEXT = {
    "sos": "SOS",
    "leak": "water leak",
    "burst": "burst main",
    "rodent_burst": "rodent activity burst",
}
# A toilet's flags, most urgent first: one alarm text per device.
_TOILET_FLAGS = (("leak", "water leak"), ("cleaning", "cleaning needed"), ("consumables_low", "consumables low"))


def alarm_of(kind, values):
    """The alarm a frame raises, or None. Alarms latch until an operator clears them.

    An alarm frame raises its alarm while active; one saying the alarm is over
    (active false) raises nothing and leaves an open alarm for the operator.
    """
    if kind == "alarm":
        return ALARM_TEXT.get(values.get("alarm"), values.get("alarm")) if values.get("active") else None
    if kind == "rodent_station" and values.get("burst"):
        return ALARM_TEXT["rodent_burst"]
    if kind == "smart_toilet":
        for flag, text in _TOILET_FLAGS:
            if values.get(flag):
                return text
        return None
    if kind == "hiker_tracker" and values.get("sos"):
        return ALARM_TEXT["sos"]
    if kind == "water_main" and values.get("pressure") is not None and values["pressure"] < 100:
        return "low pressure"
    return None
