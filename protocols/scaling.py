# Rounding to whole steps, shared by every encoder of scaled integers
# (frames, CayenneLPP): the same integer on CPython and on an ESP32.


def round_float(x):
    """x rounded half away from zero to an int; ValueError if x is not finite.

    Not int(x + 0.5): in single precision (an ESP32's floats) x + 0.5 is itself
    rounded once x passes 2**23, and can land on the wrong integer.
    """
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    n = int(x)
    r = x - n
    if r >= 0.5:
        n += 1
    elif r <= -0.5:
        n -= 1
    return n


def decimal_text(q, den):
    """q / den as an exact decimal string, den a power of ten ("6553.5", "-0.01").

    For messages and reports that must not depend on how either interpreter
    prints floats.
    """
    if den == 1:
        return str(q)
    sign = "-" if q < 0 else ""
    q = abs(q)
    frac = str(q % den)
    frac = "0" * (len(str(den)) - 1 - len(frac)) + frac
    while frac.endswith("0"):
        frac = frac[:-1]
    return sign + str(q // den) + ("." + frac if frac else "")
