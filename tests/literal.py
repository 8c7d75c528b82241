# A tiny literal format that carries test arguments and results between
# CPython and the MicroPython unix port, one line per message.
# Runs on both interpreters. Floats travel as their IEEE-754 bits and bytes
# as hex, so neither interpreter's float printing or parsing can change a value.
import struct
import binascii

import sys

try:
    from protocols.cbor import Tag, CBORSimpleValue, undefined
except ImportError:  # only while the codec itself is being bootstrapped
    Tag = CBORSimpleValue = undefined = None

if sys.implementation.name == "micropython":
    from collections import OrderedDict as _Map  # MicroPython's dict forgets key order
else:
    _Map = dict


def _m(pairs):
    return _Map(pairs)


def _f(hexbits):
    return struct.unpack(">d", binascii.unhexlify(hexbits))[0]


def _b(hexdata):
    return binascii.unhexlify(hexdata)


def dump(obj):
    """Return a one-line Python expression that rebuilds obj under NAMESPACE."""
    if obj is None or obj is True or obj is False:
        return repr(obj)
    if obj is undefined and undefined is not None:
        return "undefined"
    t = type(obj)
    if t is int:
        return repr(obj)
    if t is float:
        return "_f('" + binascii.hexlify(struct.pack(">d", obj)).decode("ascii") + "')"
    if t is bytes or t is bytearray:
        return "_b('" + binascii.hexlify(obj).decode("ascii") + "')"
    if t is str:
        return repr(obj)
    if t is list:
        return "[" + ",".join([dump(x) for x in obj]) + "]"
    if t is tuple:
        return "(" + "".join([dump(x) + "," for x in obj]) + ")"
    if isinstance(obj, dict):
        return "_m([" + ",".join(["(" + dump(k) + "," + dump(v) + ")" for k, v in obj.items()]) + "])"
    if Tag is not None and isinstance(obj, Tag):
        return "Tag(" + dump(obj.tag) + "," + dump(obj.value) + ")"
    if CBORSimpleValue is not None and isinstance(obj, CBORSimpleValue):
        return "CBORSimpleValue(" + repr(obj.value) + ")"
    raise TypeError("literal: cannot carry " + repr(t))


def namespace():
    return {
        "_f": _f,
        "_b": _b,
        "_m": _m,
        "Tag": Tag,
        "CBORSimpleValue": CBORSimpleValue,
        "undefined": undefined,
    }


def load(text):
    return eval(text, namespace())
