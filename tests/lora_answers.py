# Runs on both interpreters (tests/test_lora.py calls it through `interp`):
# every question a device asks protocols/lora_core.py before an uplink, put to
# lora_core and to protocols/lora.py, the checked API, side by side.
from protocols import lora, lora_core


def _ask(f, *args):
    # The answer, or the error as (class name, message).
    try:
        return f(*args)
    except ValueError as e:
        return ("ValueError", str(e))


def _answers(m, region, dr, dwell):
    out = [_ask(m.data_rate, region, dr), _ask(m.max_payload, region, dr, dwell)]
    out += [_ask(m.fits, n, region, dr, dwell) for n in range(256)]
    if type(out[0][0]) is int:
        sf, bw = out[0]
        out += [m.uplink_airtime_ms(n, sf, bw) for n in range(243)]
    return out


def side_by_side(region, dwell):
    # [(dr, lora's answers, lora_core's)] for DR0..DR15 of region, the
    # unknown and non-LoRa data rates among them.
    return [(dr, _answers(lora, region, dr, dwell), _answers(lora_core, region, dr, dwell)) for dr in range(16)]
