# The device's own health, as the "status" and "counters" frames of the shared
# schema (protocols/schema.py): firmware version, battery (runtime/battery.py),
# reset cause, uptime; boot count, queue depth, frames dropped.
from runtime import battery
from runtime.version import VERSION

# machine.reset_cause() values on the ESP32 port, named as the schema names them
_CAUSES = {
    1: "power_on",     # PWRON_RESET
    2: "hard",         # HARD_RESET
    3: "watchdog",     # WDT_RESET
    4: "deep_sleep",   # DEEPSLEEP_RESET
    5: "soft",         # SOFT_RESET
}


def reset_cause_name(cause):
    return _CAUSES.get(cause, "unknown")


def frames(board, cause, uptime_ms, boot_count, queue):
    # The two status frames as (kind, fields). Counters are sent modulo 2**16
    # (the fleet unwraps them as it does frame counters); levels (battery,
    # queue depth, uptime) stop at the top of their range.
    mv = min(battery.battery_mv(board), 5100)
    return [
        ("status", {"firmware": VERSION, "battery_mv": mv, "reset_cause": reset_cause_name(cause),
                    "uptime": min(uptime_ms // 1000, 235926000)}),
        ("counters", {"boot_count": boot_count & 0xFFFF, "queue_depth": min(queue.depth(), 0xFFFF),
                      "dropped": queue.dropped & 0xFFFF}),
    ]
