"""Which readings raise an alarm on a device; the alarm latches until an operator clears it."""


def alarm_of(kind, values):
    """The alarm a reading raises, or None. Alarms latch until an operator clears them."""
    if kind == "rodent_station" and values.get("burst"):
        return "rodent activity burst"
    if kind == "smart_toilet" and values.get("leak"):
        return "water leak"
    if kind == "hiker_tracker" and values.get("sos"):
        return "SOS"
    if kind == "water_main" and values.get("pressure") is not None and values["pressure"] < 100:
        return "low pressure"
    return None
