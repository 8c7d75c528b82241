"""Setting downlinks on the virtual board over the emulated LoRaWAN modem: the
fleet's frames (protocols.settings.setting_downlinks) wait in the network
server's queue, the board takes one per receive window, applies each to the
real smart toilet profile, writes config.json and answers config_ack with the
frame's seq. The changed threshold is the H2S pair, which no config downlink
reaches, and the profile's decisions change with it, through a power cut too.
"""
import base64
import json
import re

from protocols import frames
from protocols.settings import setting_downlinks
from tests.radio.test_lorawan import CONFIG, collector, decoded, install, lora  # noqa: F401 (fixtures)

# The real smart toilet profile (apps/smart_toilet.mpy on the board) on fixed
# readings: 480 mV of H2S is 100 ppb, the default alert level (h2s_high_ppb
# 100); NH3 500 mV is 6 ppm, below its alert; a dry floor, a full holder.
TOILET_READINGS_APP = """
from apps.smart_toilet import Profile
from runtime.profile import Sensors as Base


class Sensors(Base):
    async def read(self, progress):
        return {"nh3_mv": 500, "h2s_mv": 480, "leak_mv": 2900, "level_mm": 60, "battery": 70,
                "door_closed": False}
"""


def toilet_frames(collector):
    return decoded(collector.ups(), "smart_toilet")


def test_setting_downlinks_change_the_h2s_pair_of_the_running_profile(lora, collector):
    board, modem = lora
    # threshold 300 ppb, clear at 150, report every 20 minutes; the last one again (a
    # re-delivery after a lost ack); and a parking threshold the toilet does not take.
    settings = setting_downlinks([("h2s_high_ppb", 300), ("h2s_low_ppb", 150), ("report_s", 1200)], 1)
    for data in settings + [settings[-1]] + setting_downlinks({"dwell": 3}, 4):
        assert len(data) <= 11
        modem.enqueue_downlink(2, data)
    # "parking_bay" is the profile named in config.json; its file runs the toilet profile on fixed readings
    install(board, dict(CONFIG, interval=600, thresholds={}), {"parking_bay": TOILET_READINGS_APP})

    collector.wait(lambda c: len(decoded(c.ups(), "config_ack")) >= 5 and
                   any(not f["cleaning"] for f in toilet_frames(c)))
    acks = decoded(collector.ups(), "config_ack")
    assert acks == [{"seq": 1, "result": "ok"}, {"seq": 2, "result": "ok"}, {"seq": 3, "result": "ok"},
                    {"seq": 3, "result": "ok"}, {"seq": 4, "result": "invalid"}]
    # At the defaults the first wake raised the cleaning alert (100 ppb >= 100); with the
    # pair at 300 / 150 the same 100 ppb is clean: the next wake sends "cleaned" at once.
    toilet = toilet_frames(collector)
    assert toilet[0]["cleaning"] is True and toilet[0]["h2s"] == 0.1
    assert toilet[1]["cleaning"] is False and toilet[1]["h2s"] == 0.1
    assert re.search(rb"smart_toilet: h2s at \d+", board.log)
    assert re.search(rb"smart_toilet: cleaned at \d+", board.log)
    assert b"setting h2s_high_ppb = 300" in board.log and b"setting h2s_low_ppb = 150" in board.log
    assert board.log.count(b"setting report_s = 1200") == 1                      # the repeat was not applied
    assert b"setting report_s (seq 3) applied before: not again" in board.log
    assert b"setting downlink refused: setting dwell: not a setting of this profile" in board.log

    # After a power cut (the profile's state gone, config.json read again) the same
    # readings raise no alert, and reports come every 20 minutes, not every hour.
    board.power_cut()
    start = board.now_ms()
    collector.wait(lambda c: len([u for u in modem.uplinks if u["at"] > start and
                                  frames.decode(u["data"])[0] == "smart_toilet"]) >= 2)
    after = [(u["at"], frames.decode(u["data"])[1]) for u in modem.uplinks
             if u["at"] > start and frames.decode(u["data"])[0] == "smart_toilet"]
    assert all(f["cleaning"] is False for _, f in after)
    gap_s = (after[1][0] - after[0][0]) / 1000
    assert 1100 <= gap_s <= 1300, gap_s
    board.interrupt()
    saved = json.loads(board.get("/config.json"))
    assert saved["thresholds"] == {"h2s_high_ppb": 300, "h2s_low_ppb": 150, "report_s": 1200}
    assert len(saved["recent_settings"]) == 3
    assert all(base64.b64decode(u["data"]) for u in collector.ups())
