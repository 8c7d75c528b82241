# Tests of protocols/seal.py on CPython and on the MicroPython unix port.
#
# Verifier and ReplayWindow are stateful, and interp.call carries only plain
# values. The _drive_* functions below therefore run a whole scenario inside
# the interpreter under test and return plain results. The MicroPython test
# server imports this module for them, so everything else CPython-only is
# imported behind the check below, and the tests use no pytest decorators.
import sys

from protocols import seal as _seal

if sys.implementation.name != "micropython":
    import hashlib
    import hmac
    import random
    import sqlite3

    import cbor2
    import pytest

    from tests.interpreters import RemoteError


# ---------------------------------------------------------------- drivers (run on both interpreters)

def _drive_verify(keys, datas, windows=None, default_key=None):
    """Verify each sealed frame in turn with one Verifier.

    keys is a dict device_id -> key. With default_key, lookup goes through a
    callable that returns default_key for any device_id missing from keys.
    windows is an optional dict device_id -> (highest, bitmap). Returns
    (results, states). Each result is ("ok", device_id, counter, frame) or
    (error class name, error.device_id). states is device_id -> window state().
    """
    lookup = keys
    if default_key is not None:
        def lookup(device_id):
            return keys.get(device_id, default_key)
    start = None
    if windows is not None:
        start = {}
        for device_id, state in windows.items():
            start[device_id] = _seal.ReplayWindow(state[0], state[1])
    verifier = _seal.Verifier(lookup, start)
    results = []
    for data in datas:
        try:
            results.append(("ok",) + verifier.verify(data))
        except _seal.SealError as e:
            results.append((type(e).__name__, e.device_id))
    states = {}
    for device_id, window in verifier.windows.items():
        states[device_id] = window.state()
    return results, states


def _drive_window(state, counters):
    """Feed counters to ReplayWindow(*state); return ([accepted?], final state())."""
    window = _seal.ReplayWindow(state[0], state[1])
    accepted = []
    for counter in counters:
        try:
            window.accept(counter)
            accepted.append(True)
        except _seal.ReplayedFrame:
            accepted.append(False)
    return accepted, window.state()


def _drive_seal_buffers(key, device_id, counter, frame):
    """seal() with bytearray and memoryview arguments, as device code passes buffers."""
    return _seal.seal(bytearray(key), memoryview(bytearray(device_id)), counter, memoryview(frame))


def _drive_hierarchy():
    """For each error class: (name, subclass of SealError, subclass of Exception)."""
    out = []
    for cls in (_seal.MalformedSeal, _seal.UnknownKey, _seal.TamperedFrame, _seal.ReplayedFrame):
        out.append((cls.__name__, issubclass(cls, _seal.SealError), issubclass(cls, Exception)))
    return out


# ---------------------------------------------------------------- fixtures of data

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
D = bytes.fromhex("70b3d57ed0000001")
D2 = bytes.fromhex("70b3d57ed0000002")
FRAME = bytes.fromhex("82011901f4")


def _ok(device_id, counter, frame):
    return ("ok", device_id, counter, frame)


def _sealed(interp, counter, frame=FRAME, key=KEY, device_id=D):
    return interp.call("protocols.seal", "seal", key, device_id, counter, frame)


def _reference_seal(key, device_id, counter, frame):
    # Written from the spec with cbor2 and the standard library's hmac.
    tag = hmac.new(key, b"cityfleet-seal-v1" + cbor2.dumps([device_id, counter, frame]), hashlib.sha256).digest()[:8]
    return cbor2.dumps([device_id, counter, frame, tag])


def _raises(interp, name, module, func, *args):
    with pytest.raises(RemoteError) as info:
        interp.call(module, func, *args)
    assert info.value.name == name, (func, args, info.value)
    return info.value.message


# ---------------------------------------------------------------- HMAC-SHA256

# RFC 4231 "Identifiers and Test Vectors for HMAC-SHA-224, HMAC-SHA-256,
# HMAC-SHA-384, and HMAC-SHA-512", section 4, test cases 1-7, HMAC-SHA-256.
# Test case 5 gives only the first 128 bits of the output.
RFC4231 = [
    (1, b"\x0b" * 20, b"Hi There",
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (2, b"Jefe", b"what do ya want for nothing?",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    (3, b"\xaa" * 20, b"\xdd" * 50,
     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
    (4, bytes(range(1, 26)), b"\xcd" * 50,
     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
    (5, b"\x0c" * 20, b"Test With Truncation",
     "a3b6167473100ee06e0c796c2955552b"),
    (6, b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    (7, b"\xaa" * 131,
     b"This is a test using a larger than block-size key and a larger than block-size data."
     b" The key needs to be hashed before being used by the HMAC algorithm.",
     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
]


def test_hmac_rfc4231_vectors(interp):
    for case, key, msg, expected in RFC4231:
        got = interp.call("protocols.seal", "hmac_sha256", key, msg)
        assert got[:len(expected) // 2].hex() == expected, "RFC 4231 test case %d" % case


def test_hmac_matches_cpython_hmac_on_random_inputs(interp):
    rng = random.Random(2104)
    edges = [0, 1, 31, 32, 55, 56, 63, 64, 65, 127, 128, 129, 200]
    for i in range(120):
        key_len = edges[i % len(edges)] if i < 2 * len(edges) else rng.randrange(0, 300)
        msg_len = edges[(i * 7) % len(edges)] if i < 2 * len(edges) else rng.randrange(0, 600)
        key = rng.randbytes(key_len)
        msg = rng.randbytes(msg_len)
        got = interp.call("protocols.seal", "hmac_sha256", key, msg)
        assert got == hmac.new(key, msg, hashlib.sha256).digest(), (key.hex(), msg.hex())


def test_hmac_rejects_non_bytes(interp):
    assert "key" in _raises(interp, "ValueError", "protocols.seal", "hmac_sha256", "key", b"msg")
    assert "msg" in _raises(interp, "ValueError", "protocols.seal", "hmac_sha256", b"key", None)


# ---------------------------------------------------------------- sealing and the wire format

GOLDEN = bytes.fromhex("844870b3d57ed00000011903e84582011901f448ac9bb1dde77284aa")


def test_seal_golden_bytes(interp):
    # 84 array(4) | 48 + DevEUI | 19 03e8 counter 1000 | 45 + frame | 48 + tag
    assert _sealed(interp, 1000) == GOLDEN
    assert _reference_seal(KEY, D, 1000, FRAME) == GOLDEN


def test_seal_matches_reference_and_round_trips(interp):
    rng = random.Random(8949)
    cases = [(0, b""), (23, b"\x00"), (24, bytes(23)), (255, bytes(24)), (256, bytes(255)),
             (65535, bytes(256)), (65536, b"x" * 1000), (2**32 - 1, FRAME)]
    cases += [(rng.randrange(2**32), rng.randbytes(rng.randrange(64))) for _ in range(12)]
    cases.sort()
    datas = []
    for counter, frame in cases:
        data = _sealed(interp, counter, frame)
        assert data == _reference_seal(KEY, D, counter, frame), counter
        tag = data[-8:]
        assert interp.call("protocols.seal", "open_sealed", data) == (D, counter, frame, tag)
        datas.append(data)
    results, states = interp.call("tests.test_seal", "_drive_verify", {D: KEY}, datas)
    assert results == [_ok(D, c, f) for c, f in cases]
    assert states[D][0] == 2**32 - 1


def test_seal_accepts_buffers(interp):
    data = interp.call("tests.test_seal", "_drive_seal_buffers", KEY, D, 1000, FRAME)
    assert data == GOLDEN


def test_seal_argument_validation(interp):
    bad = [
        ("key", ("not bytes", D, 1, FRAME)),
        ("key", (b"", D, 1, FRAME)),
        ("key", (None, D, 1, FRAME)),
        ("device_id", (KEY, D[:7], 1, FRAME)),
        ("device_id", (KEY, D + b"\x00", 1, FRAME)),
        ("device_id", (KEY, "70b3d57e", 1, FRAME)),
        ("device_id", (KEY, None, 1, FRAME)),
        ("counter", (KEY, D, -1, FRAME)),
        ("counter", (KEY, D, 2**32, FRAME)),
        ("counter", (KEY, D, True, FRAME)),
        ("counter", (KEY, D, 1.0, FRAME)),
        ("counter", (KEY, D, "1", FRAME)),
        ("counter", (KEY, D, None, FRAME)),
        ("frame", (KEY, D, 1, "text")),
        ("frame", (KEY, D, 1, None)),
        ("frame", (KEY, D, 1, [1, 2])),
    ]
    for name, args in bad:
        message = _raises(interp, "ValueError", "protocols.seal", "seal", *args)
        assert message.startswith(name + " "), (name, args, message)


# ---------------------------------------------------------------- parsing

def _malformed_inputs():
    tag = GOLDEN[-8:]
    good = [D, 1000, FRAME, tag]
    out = [b"", b"\xff", b"\x84", "not bytes", None, GOLDEN + b"\x00"]
    out += [GOLDEN[:n] for n in range(1, len(GOLDEN))]
    shapes = [
        [D, 1000, FRAME],
        good + [b""],
        {"device_id": D},
        b"".join([D, FRAME, tag]),
        [D[:7], 1000, FRAME, tag],
        [D + b"\x00", 1000, FRAME, tag],
        [D.hex(), 1000, FRAME, tag],
        [D, -1, FRAME, tag],
        [D, 2**32, FRAME, tag],
        [D, True, FRAME, tag],
        [D, 1000.0, FRAME, tag],
        [D, None, FRAME, tag],
        [D, "1000", FRAME, tag],
        [D, 1000, FRAME.hex(), tag],
        [D, 1000, None, tag],
        [D, 1000, [1], tag],
        [D, 1000, FRAME, tag[:7]],
        [D, 1000, FRAME, tag + b"\x00"],
        [D, 1000, FRAME, tag.hex()],
        cbor2.CBORTag(24, good),
    ]
    out += [cbor2.dumps(s) for s in shapes]
    # Well-formed CBOR of the right values, but not the one encoding seal() writes.
    out.append(b"\x84\x48" + D + b"\x1a\x00\x00\x03\xe8\x45" + FRAME + b"\x48" + tag)   # long counter head
    out.append(b"\x9f\x48" + D + b"\x19\x03\xe8\x45" + FRAME + b"\x48" + tag + b"\xff")  # indefinite array
    out.append(b"\x84\x48" + D + b"\x19\x03\xe8\x5f\x45" + FRAME + b"\xff\x48" + tag)     # chunked frame
    return out


def test_open_sealed_rejects_malformed(interp):
    for data in _malformed_inputs():
        _raises(interp, "MalformedSeal", "protocols.seal", "open_sealed", data)


def test_verify_rejects_malformed_without_touching_windows(interp):
    datas = [d for d in _malformed_inputs() if isinstance(d, bytes)]
    results, states = interp.call("tests.test_seal", "_drive_verify", {D: KEY}, datas + [GOLDEN])
    assert [r[0] for r in results[:-1]] == ["MalformedSeal"] * len(datas)
    assert results[-1] == _ok(D, 1000, FRAME)
    assert states == {D: (1000, 1)}


# ---------------------------------------------------------------- tampering and keys

def test_every_bit_flip_is_rejected(interp):
    sealed = _sealed(interp, 1000, b"twelve bytes")
    n = len(sealed)
    flipped = []
    for i in range(n * 8):
        b = bytearray(sealed)
        b[i // 8] ^= 0x80 >> (i % 8)
        flipped.append(bytes(b))
    # default_key gives every device_id the key, so a changed DevEUI has to be
    # caught by the tag rather than by the key lookup.
    results, states = interp.call("tests.test_seal", "_drive_verify", {}, flipped + [sealed], None, KEY)
    for i, result in enumerate(results[:-1]):
        assert result[0] in ("TamperedFrame", "MalformedSeal"), (i, result)
    # Flips inside the DevEUI, the frame bytes or the tag are well-formed and
    # must fail on the tag.
    content = set(range(2, 10)) | set(range(n - 9 - 12, n - 9)) | set(range(n - 8, n))
    for byte in content:
        for bit in range(8):
            assert results[byte * 8 + bit][0] == "TamperedFrame", (byte, bit)
    assert results[-1] == _ok(D, 1000, b"twelve bytes")
    assert states == {D: (1000, 1)}


def test_unknown_device(interp):
    results, states = interp.call("tests.test_seal", "_drive_verify", {D2: KEY}, [GOLDEN])
    assert results == [("UnknownKey", D)]
    assert states == {}


def test_unknown_device_checked_before_tag(interp):
    forged = GOLDEN[:-8] + bytes(8)
    results, _ = interp.call("tests.test_seal", "_drive_verify", {}, [forged])
    assert results == [("UnknownKey", D)]


def test_wrong_key_is_tampered(interp):
    results, states = interp.call("tests.test_seal", "_drive_verify", {D: OTHER_KEY}, [GOLDEN])
    assert results == [("TamperedFrame", D)]
    assert states == {}


def test_keys_callable_and_several_devices(interp):
    a = _sealed(interp, 5)
    b = _sealed(interp, 5, key=OTHER_KEY, device_id=D2)
    # With default_key the lookup is a callable: D's key comes from the dict, D2's is the default.
    results, _ = interp.call("tests.test_seal", "_drive_verify", {D: KEY}, [a, b, b], None, OTHER_KEY)
    assert results == [_ok(D, 5, FRAME), _ok(D2, 5, FRAME), ("ReplayedFrame", D2)]


def test_error_classes_are_distinct_seal_errors(interp):
    found = interp.call("tests.test_seal", "_drive_hierarchy")
    assert found == [(name, True, True) for name in ("MalformedSeal", "UnknownKey", "TamperedFrame", "ReplayedFrame")]


# ---------------------------------------------------------------- replay window

def test_replay_of_the_same_frame(interp):
    results, _ = interp.call("tests.test_seal", "_drive_verify", {D: KEY}, [GOLDEN, GOLDEN])
    assert results == [_ok(D, 1000, FRAME), ("ReplayedFrame", D)]


def test_out_of_order_within_window_accepted_once(interp):
    counters = [100, 90, 99, 37, 90, 99, 37, 36, 101, 37, 38]
    expected = [True, True, True, True, False, False, False, False, True, False, True]
    datas = [_sealed(interp, c) for c in counters]
    results, _ = interp.call("tests.test_seal", "_drive_verify", {D: KEY}, datas)
    assert [r[0] == "ok" for r in results] == expected
    assert {r[0] for r in results if r[0] != "ok"} == {"ReplayedFrame"}


def test_window_edges(interp):
    call = lambda state, counters: interp.call("tests.test_seal", "_drive_window", state, counters)
    # The fresh window takes counter 0 once.
    assert call((0, 0), [0, 0, 1, 0]) == ([True, False, True, False], (1, 3))
    # 63 below the highest is inside the window; 64 below is not.
    assert call((0, 0), [1000, 937, 936, 937]) == ([True, True, False, False], (1000, 1 - 2**63))
    # A jump of 64 or more forgets everything below; the counters skipped are still new.
    assert call((0, 0), [5, 69, 6, 5, 68]) == ([True, True, True, False, True], (69, 3 - 2**63))
    # Counters up to 2**32-1, then nothing above.
    assert call((2**32 - 2, 1), [2**32 - 1, 2**32 - 1]) == ([True, False], (2**32 - 1, 3))
    # Argument checks.
    assert "counter" in _raises(interp, "ValueError", "tests.test_seal", "_drive_window", (0, 0), [2**32])
    assert "counter" in _raises(interp, "ValueError", "tests.test_seal", "_drive_window", (0, 0), [-1])


def test_window_steady_state_bitmap(interp):
    accepted, state = interp.call("tests.test_seal", "_drive_window", (0, 0), list(range(200)))
    assert all(accepted)
    assert state == (199, -1)         # all 64 bits set, as a signed 64-bit int


def test_window_state_validation(interp):
    for state in [(-1, 0), (2**32, 0), (True, 0), (0, 2**64), (0, -2**63 - 1), (0, 1.0),
                  (0, 2), (62, 2**64 - 1), (62, -1)]:
        _raises(interp, "ValueError", "tests.test_seal", "_drive_window", state, [])
    # The highest may be any counter; its bitmap may mark it and the 63 below.
    assert interp.call("tests.test_seal", "_drive_window", (63, 2**64 - 1), []) == ([], (63, -1))
    assert interp.call("tests.test_seal", "_drive_window", (63, -1), []) == ([], (63, -1))


def test_tampered_frame_does_not_advance_window(interp):
    ten = _sealed(interp, 10)
    big = bytearray(_sealed(interp, 1000))
    big[-1] ^= 1
    five = _sealed(interp, 5)
    stale_tampered = bytearray(ten)
    stale_tampered[-1] ^= 1
    results, states = interp.call("tests.test_seal", "_drive_verify", {D: KEY},
                                  [ten, bytes(big), five, bytes(stale_tampered), ten])
    # Counter 5 would be outside the window had the forged 1000 moved it. A
    # frame both tampered and replayed reports the tampering (tag before replay).
    assert [r[0] for r in results] == ["ok", "TamperedFrame", "ok", "TamperedFrame", "ReplayedFrame"]
    assert states == {D: (10, 1 | (1 << 5))}


def test_window_state_survives_export_and_sqlite(interp):
    first = [_sealed(interp, c) for c in range(1, 80)]
    results, states = interp.call("tests.test_seal", "_drive_verify", {D: KEY}, first)
    assert all(r[0] == "ok" for r in results)
    assert states == {D: (79, -1)}

    # Through SQLite, whose INTEGER is signed 64-bit.
    db = sqlite3.connect(":memory:")
    db.execute("create table windows (device_id blob primary key, highest integer, bitmap integer)")
    for device_id, (highest, bitmap) in states.items():
        db.execute("insert into windows values (?, ?, ?)", (device_id, highest, bitmap))
    stored = {row[0]: (row[1], row[2]) for row in db.execute("select * from windows")}
    assert stored == states

    replays = [first[-1], first[20], first[-64]]
    fresh = [_sealed(interp, c) for c in (80, 200, 150)]
    results, after = interp.call("tests.test_seal", "_drive_verify", {D: KEY}, replays + fresh, stored)
    assert [r[0] for r in results] == ["ReplayedFrame"] * 3 + ["ok"] * 3
    assert after == {D: (200, 1 | (1 << 50))}


# ---------------------------------------------------------------- device-side heap

def test_seal_allocates_little_on_micropython(micropython):
    # Bytes allocated by one seal() of a 32-byte frame, after imports. Measured
    # at about 1.5 KB on MicroPython 1.28 (unix, 64-bit); the bound catches a
    # regression to per-byte copies or large buffers.
    out = micropython.run(
        "import gc\n"
        "from protocols import seal\n"
        "k = bytes(32); d = bytes(8); f = bytes(32)\n"
        "seal.seal(k, d, 1, f)\n"
        "gc.collect(); gc.disable()\n"
        "a = gc.mem_alloc(); seal.seal(k, d, 1000, f); b = gc.mem_alloc()\n"
        "print(b - a)\n"
    )
    assert int(out) < 2500
