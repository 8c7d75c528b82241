# Drivers for the chips the sensor applications read. Each driver gets its bus
# (Driver(i2c, address=...)), follows its chip's datasheet, returns SI units,
# and reports a missing or failing chip as a SensorError that names the chip,
# so the application can log it and carry on with the sensors that answer.


class SensorError(Exception):
    # chip: the part ("ads1115"); reason: a short word ("missing", "timeout",
    # "bad id", "bus error 5", "no frame") the log and the status can carry.
    def __init__(self, chip, reason):
        super().__init__("%s: %s" % (chip, reason))
        self.chip = chip
        self.reason = reason


def bus_error(chip, e):
    # The SensorError for an OSError from the bus. ENODEV (19) is what the
    # ESP32 port raises when no chip acknowledges its address; ETIMEDOUT
    # (110/116) a bus held low.
    code = e.args[0] if e.args else 0
    if code == 19:
        return SensorError(chip, "missing")
    if code in (110, 116):
        return SensorError(chip, "bus timeout")
    return SensorError(chip, "bus error %s" % code)


_ARMED = []   # pins whose interrupt a driver set (arm), until disarm()


def arm(pin, handler, trigger):
    # pin.irq, remembered: under deep sleep the runtime takes every such
    # interrupt off once the profile has decided (App.release_profile), for a
    # pin keeps its handler, and through it the driver that set it, module
    # and all, through the send.
    pin.irq(handler=handler, trigger=trigger)
    _ARMED.append(pin)


def disarm():
    # Takes off every interrupt arm() set.
    while _ARMED:
        _ARMED.pop().irq(handler=None)


def limits(config, defaults):
    # config["thresholds"] over an application's defaults, integers only.
    given = config.get("thresholds") or {}
    out = {}
    for k in defaults:
        v = given.get(k)
        out[k] = v if isinstance(v, int) and not isinstance(v, bool) else defaults[k]
    return out


def forget(name):
    # runtime.modules.forget, under the applications' name: a driver done with
    # goes (imported at the call, so the drivers run without the runtime).
    from runtime.modules import forget as drop
    drop(name)
