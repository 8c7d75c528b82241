"""The flash queue and the config store keep what they committed through power cuts.

The firmware modules run on the real MicroPython VM over a littlefs2
filesystem whose block device loses power at a chosen write (the write in
progress lands only in part); the flash that remains is mounted again and
checked. Many cut points, each a different seed.
"""
import pytest

SIM = "tests.firmware.flashsim"


def test_queue_without_a_cut_keeps_everything_in_order(micropython):
    r = micropython.call(SIM, "queue_trial", 1, -1, frames=60, max_segments=64)
    assert not r["cut"]
    assert r["problems"] == []
    assert r["dropped"] == 0
    assert r["got_seqs"] == list(range(r["acked"] + 1, 60))


def test_queue_full_drops_oldest_and_counts_them(micropython):
    r = micropython.call(SIM, "queue_trial", 2, -1, frames=200, seg_bytes=300, max_segments=4, ack_every=1000)
    assert r["problems"] == []
    assert r["dropped"] > 0
    # Nothing was sent: every frame is either still queued or counted as dropped.
    assert r["dropped"] + len(r["got_seqs"]) == 200
    assert r["got_seqs"][-1] == 199


@pytest.fixture(scope="module")
def writes_per_run(micropython):
    # How many block writes one uncut run makes: the cut points cover them all.
    r = micropython.call(SIM, "queue_trial", 0, -1)
    assert r["problems"] == [] and r["writes"] > 100
    return r["writes"]


@pytest.mark.parametrize("block", range(6))
def test_queue_survives_a_power_cut_at_any_write(micropython, writes_per_run, block):
    # Every write of the run, in six blocks; each cut point is also its own seed
    # (how much of the interrupted write lands).
    size = writes_per_run // 6 + 1
    for cut in range(block * size, min((block + 1) * size, writes_per_run + 1)):
        r = micropython.call(SIM, "queue_trial", cut, cut)
        assert r["cut"] == (cut < writes_per_run)
        assert r["problems"] == [], (cut, r)


@pytest.mark.parametrize("cut", range(0, 120, 3))
def test_config_write_cut_leaves_old_or_new(micropython, cut):
    r = micropython.call(SIM, "config_trial", cut, cut)
    assert r["provisioned"] and r["problems"] == []
    allowed = {r["last_saved"]} | ({r["in_flight"]} if r["in_flight"] else set())
    assert r["interval"] in allowed


def test_torn_record_at_every_byte_is_skipped_and_the_rest_kept(micropython):
    # The cut can land on any byte of the record being appended.
    size = micropython.call(SIM, "torn_trial", 0)["record_len"]
    for cut in range(size + 1):
        for tail in (b"", b"\xff" * 7):
            r = micropython.call(SIM, "torn_trial", cut, tail)
            complete = cut == size
            assert r["frames_ok"], (cut, r)
            assert r["first"] == list(range(6 if complete else 5)), (cut, r)
            assert r["torn"] == (0 if cut == 0 and not tail or complete and not tail else 1), (cut, r)
            # New frames still go out after the survivors, in order, and are readable.
            assert r["after"] == r["first"] + [r["first"][-1] + 1] and r["last"] == b"next", (cut, r)
