"""A host-side model of an ESP32's single-precision floats, for the tests that
check scaled integers come out the same under float32."""
import struct


def f32(x):
    """x rounded to the nearest single-precision float."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


class Float32(float):
    """A float whose arithmetic rounds every result to single precision, as an ESP32's does."""

    def _wrap(op):
        def method(self, other):
            return Float32(f32(getattr(float, op)(self, float(other))))
        return method

    __mul__ = _wrap("__mul__")
    __rmul__ = _wrap("__rmul__")
    __truediv__ = _wrap("__truediv__")
    __rtruediv__ = _wrap("__rtruediv__")
    __sub__ = _wrap("__sub__")
    __rsub__ = _wrap("__rsub__")
    __add__ = _wrap("__add__")
    __radd__ = _wrap("__radd__")
