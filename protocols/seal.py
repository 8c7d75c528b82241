"""Sealed frames for links that give no integrity of their own (BLE, serial, HTTP relays).

A sealed frame is one CBOR array (protocols.cbor, preferred serialisation):

    [device_id, counter, frame, tag]

device_id is the board's 8-byte DevEUI, counter the device's frame counter
(0..2**32-1, never repeated under one key), frame the payload bytes, and tag
the first TAG_LEN bytes of

    HMAC-SHA256(key, b"cityfleet-seal-v1" + cbor.dumps([device_id, counter, frame]))

under the device's own key. The prefix keeps these tags from ever being valid
for another use of the same key. HMAC is written here over hashlib.sha256
(RFC 2104) because MicroPython has no hmac module.

Why the tag is 8 bytes. HMAC-SHA256 under a 256-bit key gives an attacker no
better forgery than guessing the tag, so each forged frame is accepted with
probability 2**-64 (about 5e-20). Every guess has to be sent to our server,
which rejects it with TamperedFrame: nothing can be tried offline.
- LoRaWAN uses a 4-byte MIC (2**-32 per attempt). That is enough there because
  airtime limits guesses to tens per second per channel, so 2**32 guesses take
  years. Our links are faster. An HTTP relay can be hit with 10**4 requests a
  second, and at that rate a 4-byte tag would be expected to fall in about five
  days (2**32 / 10**4 s). BLE and a 115200-baud serial line allow a few hundred
  frames a second.
- With 8 bytes, an attacker sending 10**4 guesses a second for a device's whole
  20-year life (about 6.3e12 guesses, 2**42.5) succeeds with probability
  about 3e-7. Even 10**6 a second, far beyond any of these links, gives about
  3e-5 over 20 years. Any such campaign shows up long before that as a flood of
  TamperedFrame rejections, which the fleet counts and alerts on.
- This is below RFC 2104's suggested 80 bits. That bound is for attackers who
  can test guesses cheaply. Ours cannot: every guess is a request to our
  server. NIST SP 800-107 allows short tags when attempts are limited like this.
  Truncation tells an attacker nothing about the 256-bit key.
- Every byte counts in a 31-byte BLE advertisement, so a 16-byte tag would cost
  more than it buys.

The counter must never repeat under one key. The device persists it to flash
before a frame goes out (e.g. by reserving blocks of counters, so flash is
written once per block and a reboot skips ahead, never back). The server
rejects a repeated counter as a replay. So a device that loses its counter,
or one that reaches 2**32-1, goes silent until it is given a new key.

Server side: Verifier(keys).verify(data) parses, looks up the key, checks the
tag in constant time and only then checks the counter against the device's
ReplayWindow, so a forged frame never moves the window. Errors are distinct
subclasses of SealError: MalformedSeal, UnknownKey, TamperedFrame, ReplayedFrame.
"""
import binascii
import hashlib

from protocols import cbor

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

TAG_LEN = const(8)              # bytes of HMAC-SHA256 kept; see the module docstring
DEVICE_ID_LEN = const(8)        # a DevEUI
MAX_COUNTER = const(0xFFFFFFFF)
WINDOW = const(64)              # counters the replay window remembers below the highest
_MASK = const(0xFFFFFFFFFFFFFFFF)
_SIGN = const(0x8000000000000000)
_BLOCK = const(64)              # SHA-256 block size
_DOMAIN = b"cityfleet-seal-v1"
_BYTES = (bytes, bytearray, memoryview)


class SealError(Exception):
    """Base class of every rejection of a sealed frame; device_id is set when known."""

    def __init__(self, message, device_id=None):
        super().__init__(message)
        self.device_id = device_id


class MalformedSeal(SealError):
    """The data is not a sealed frame: bad CBOR, wrong shape, types or lengths."""

    def __init__(self, message, device_id=None):
        super().__init__(message, device_id)


class UnknownKey(SealError):
    """No key is known for the frame's device_id."""

    def __init__(self, message, device_id=None):
        super().__init__(message, device_id)


class TamperedFrame(SealError):
    """The tag does not match: the frame was altered or sealed under another key."""

    def __init__(self, message, device_id=None):
        super().__init__(message, device_id)


class ReplayedFrame(SealError):
    """The counter was already accepted, or is older than the replay window."""

    def __init__(self, message, device_id=None):
        super().__init__(message, device_id)


def _hex(b):
    return binascii.hexlify(b).decode("ascii")


# ---------------------------------------------------------------- HMAC

def _hmac(key, parts):
    # RFC 2104 over the parts of the message in turn, so callers never join
    # them. A single 64-byte pad buffer serves as ipad and then as opad.
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    n = len(key)
    pad = bytearray(_BLOCK)
    for i in range(_BLOCK):
        pad[i] = (key[i] if i < n else 0) ^ 0x36
    inner = hashlib.sha256(pad)
    for part in parts:
        inner.update(part)
    digest = inner.digest()
    for i in range(_BLOCK):
        pad[i] ^= 0x36 ^ 0x5C
    outer = hashlib.sha256(pad)
    outer.update(digest)
    return outer.digest()


def hmac_sha256(key, msg):
    """Return HMAC-SHA256(key, msg) (RFC 2104; keys longer than 64 bytes are hashed first).

    key and msg are bytes, bytearray or memoryview; anything else raises ValueError.
    """
    if not isinstance(key, _BYTES):
        raise ValueError("key must be bytes")
    if not isinstance(msg, _BYTES):
        raise ValueError("msg must be bytes")
    return _hmac(key, (msg,))


def _tag(key, body):
    # body is cbor.dumps([device_id, counter, frame]).
    return _hmac(key, (_DOMAIN, body))[:TAG_LEN]


def _equal(a, b):
    # Constant time in the contents: every byte is compared whatever differs first.
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0


# ---------------------------------------------------------------- device side

def _check_key(key):
    if not isinstance(key, _BYTES) or len(key) == 0:
        raise ValueError("key must be non-empty bytes")


def _check_counter(counter):
    # bool is an int on CPython; a counter must be a real integer.
    if type(counter) is not int or counter < 0 or counter > MAX_COUNTER:
        raise ValueError("counter must be an int in 0..2**32-1")


def seal(key, device_id, counter, frame):
    """Return the sealed frame: CBOR [device_id, counter, frame, tag] (see the module docstring).

    key: the device's key (non-empty bytes). device_id: its 8-byte DevEUI.
    counter: int in 0..2**32-1, never used twice under one key. frame: bytes.
    Raises ValueError naming the first bad argument.
    """
    _check_key(key)
    if not isinstance(device_id, _BYTES) or len(device_id) != DEVICE_ID_LEN:
        raise ValueError("device_id must be 8 bytes")
    _check_counter(counter)
    if not isinstance(frame, _BYTES):
        raise ValueError("frame must be bytes")
    body = cbor.dumps([device_id, counter, frame])
    # The sealed array is the 3-item body with a 4th item: change the array
    # head 0x83 to 0x84 and append the tag as a byte string (0x40 | TAG_LEN).
    out = bytearray(body)
    out[0] = 0x84
    out.append(0x40 | TAG_LEN)
    out.extend(_tag(key, body))
    return bytes(out)


# ---------------------------------------------------------------- server side

def open_sealed(data):
    """Parse a sealed frame without verifying it; return (device_id, counter, frame, tag).

    Raises MalformedSeal unless data is exactly the preferred CBOR encoding of
    [8-byte device_id, counter in 0..2**32-1, frame bytes, TAG_LEN-byte tag].
    Requiring the one encoding seal() writes leaves no second byte string that
    parses to the same sealed frame.
    """
    if not isinstance(data, _BYTES):
        raise MalformedSeal("sealed frame must be bytes")
    data = bytes(data)
    try:
        item = cbor.loads(data)
    except cbor.CBORDecodeError as e:
        raise MalformedSeal("not CBOR: " + str(e))
    if type(item) is not list or len(item) != 4:
        raise MalformedSeal("sealed frame must be a 4-item array")
    device_id, counter, frame, tag = item
    if type(device_id) is not bytes or len(device_id) != DEVICE_ID_LEN:
        raise MalformedSeal("device_id must be 8 bytes")
    if type(counter) is not int or counter < 0 or counter > MAX_COUNTER:
        raise MalformedSeal("counter must be an int in 0..2**32-1", device_id)
    if type(frame) is not bytes:
        raise MalformedSeal("frame must be bytes", device_id)
    if type(tag) is not bytes or len(tag) != TAG_LEN:
        raise MalformedSeal("tag must be %d bytes" % TAG_LEN, device_id)
    if cbor.dumps(item) != data:
        raise MalformedSeal("sealed frame is not in preferred CBOR encoding", device_id)
    return device_id, counter, frame, tag


class ReplayWindow:
    """One device's anti-replay state, as in IPsec (RFC 4303 section 3.4.3).

    highest is the highest counter accepted; bit i of the 64-bit bitmap is set
    when counter highest - i has been accepted. The fresh state (0, 0) has
    accepted nothing. state() and ReplayWindow(*state) carry it as two plain
    ints that fit SQLite's INTEGER (signed 64-bit): see state().
    """

    def __init__(self, highest=0, bitmap=0):
        if type(highest) is not int or highest < 0 or highest > MAX_COUNTER:
            raise ValueError("highest must be an int in 0..2**32-1")
        if type(bitmap) is not int or bitmap < -_SIGN or bitmap > _MASK:
            raise ValueError("bitmap must be a 64-bit int, signed or unsigned")
        if bitmap < 0:
            bitmap += _MASK + 1
        if bitmap >> (highest + 1):
            raise ValueError("bitmap marks counters below 0")
        self.highest = highest
        self.bitmap = bitmap

    def state(self):
        """Return (highest, bitmap) as plain ints; ReplayWindow(highest, bitmap) restores it.

        The bitmap comes back as a signed 64-bit int (bit 63 is the sign) so it
        fits SQLite's INTEGER. A window that has seen 64 counters in a row has
        every bit set, which as an unsigned int would not fit. The constructor
        takes either form.
        """
        b = self.bitmap
        return self.highest, (b - _MASK - 1 if b & _SIGN else b)

    def accept(self, counter):
        """Record counter as seen, or raise ReplayedFrame if it was seen or is older than the window.

        A counter above the highest slides the window up; one of the 63 below
        it is accepted once; anything older is refused.
        """
        _check_counter(counter)
        top = self.highest
        if counter > top:
            shift = counter - top
            self.bitmap = 1 if shift >= WINDOW else ((self.bitmap << shift) | 1) & _MASK
            self.highest = counter
            return
        offset = top - counter
        if offset >= WINDOW:
            raise ReplayedFrame("counter %d is older than the replay window (highest %d)" % (counter, top))
        bit = 1 << offset
        if self.bitmap & bit:
            raise ReplayedFrame("counter %d was already accepted" % counter)
        self.bitmap |= bit


class Verifier:
    """Verifies sealed frames from many devices and keeps a ReplayWindow for each.

    keys: a dict or a callable mapping a device_id (8 bytes) to its key, or to
    None for an unknown device. windows: optional dict (or any object with get
    and item assignment) of device_id -> ReplayWindow to start from. It is
    updated in place, so the caller can store each window's state() after a
    frame is accepted. A window is created only for a frame whose tag checks,
    so forged device ids cost no memory.
    """

    def __init__(self, keys, windows=None):
        self._lookup = keys if callable(keys) else keys.get
        self.windows = {} if windows is None else windows

    def window(self, device_id):
        """Return device_id's ReplayWindow, creating an empty one on first use."""
        w = self.windows.get(device_id)
        if w is None:
            w = ReplayWindow()
            self.windows[device_id] = w
        return w

    def verify(self, data):
        """Check one sealed frame; return (device_id, counter, frame) once it is accepted.

        Checks in order: parse (MalformedSeal), key lookup (UnknownKey), tag in
        constant time (TamperedFrame), then the replay window (ReplayedFrame).
        The window advances only for a frame that passes every check.
        """
        device_id, counter, frame, tag = open_sealed(data)
        key = self._lookup(device_id)
        if key is None:
            raise UnknownKey("no key for device " + _hex(device_id), device_id)
        _check_key(key)
        if not _equal(_tag(key, cbor.dumps([device_id, counter, frame])), tag):
            raise TamperedFrame("tag mismatch for device " + _hex(device_id), device_id)
        try:
            self.window(device_id).accept(counter)
        except ReplayedFrame as e:
            raise ReplayedFrame("device " + _hex(device_id) + ": " + str(e), device_id)
        return device_id, counter, frame
