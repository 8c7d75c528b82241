# The exceptions of the frame codec (protocols/frames.py, which reads them
# from here through its __getattr__). A module of their own: on MicroPython
# each class costs heap from its import on, and a device encodes its frames
# on every wake without ever raising one of these.


class FrameError(Exception):
    """A frame cannot be encoded or decoded."""


class MalformedFrame(FrameError):
    """The bytes are not a frame: not CBOR, not an array, or no kind id."""


class UnknownKind(FrameError):
    """The kind (by name or id) is not in the schema."""


class FieldError(FrameError):
    """A field is missing, of the wrong type or out of its range; the message names it."""

    def __init__(self, kind, field, message):
        super().__init__("%s.%s: %s" % (kind, field, message))
        self.kind = kind
        self.field = field
