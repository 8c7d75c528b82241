# The exceptions of the CBOR codec (protocols/cbor.py, which reads them from
# here through its __getattr__). A module of their own: on MicroPython each
# class costs heap from its import on, and a device encodes its frames on
# every wake without ever raising one of these.


class CBORError(Exception):
    """Base class of every error this codec raises."""


class CBORDecodeError(CBORError):
    """The input is not well-formed CBOR, or exceeds a decoding limit; the message names the byte offset."""


class CBOREncodeError(CBORError):
    """The value cannot be written as CBOR."""
