"""Run an application scenario (hil/scenarios/<name>.json) through the real
firmware on a virtual board and collect what came out.

    run = run_scenario(make_board, "parking_quick_swap")
    run.frames        # [(t s after start, kind, fields)] of every uplink
    run.events        # [(t s after start, text)] of the profiles' console lines
    run.scenario      # the scenario, with its "expect"

Times come from the profiles' own console lines ("parking_bay: ... at <time>",
virtual seconds since 2000): each uplink takes the time of the line before
it. A scenario names its board ("board", default: the plugin's board type);
the smart toilet runs on esp32-devkitc-toilet, whose LD2410 radar is a host
peer (hil/peers/ld2410.py) answering on the presence_uart pty.
"""
import json
import re
import time
from pathlib import Path

from hil import scenario as scn_mod
from protocols import frames

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
IDENTITY = {
    "dev_eui": "70b3d57ed0000001", "join_eui": "70b3d57ed0000000",
    "app_key": "00112233445566778899aabbccddeeff", "device_key": "ab" * 32,
}
_LINE = re.compile(rb"(?:(\w+): ([^\r\n]*) at (\d+)|uplink ([0-9a-f]+))\r?\n")


def load(name):
    return json.loads((HERE / (name + ".json")).read_text())


def board_json(board_type, profile):
    # The board file as flashed: without its LoRa modem's UART, so frames go
    # to the console transport where the run reads them (a bench board).
    b = json.loads((ROOT / "boards" / (board_type + ".json")).read_text())
    b["buses"].pop("lora_uart", None)
    b["radios"] = [r for r in b.get("radios", []) if r != "lorawan_at"]
    return b


class Run:
    def __init__(self, scenario, log, start_s):
        self.scenario = scenario
        self.log = log
        self.frames = []
        self.events = []
        # The board runs on while the host notices the end (far on, on a loaded
        # host): what comes after the scenario's end is not part of the run.
        end = scenario.get("expect", {}).get("end_s")
        t = None
        for m in _LINE.finditer(log):
            if m.group(4):
                kind, fields = frames.decode(bytes.fromhex(m.group(4).decode()))
                self.frames.append((t, kind, fields))
            else:
                t = int(m.group(3)) - start_s
                if end is not None and t > end:
                    break
                self.events.append((t, m.group(1).decode() + ": " + m.group(2).decode()))

    def of(self, kind):
        return [(t, f) for t, k, f in self.frames if k == kind]


def run_scenario(make_board, name, config=None, scenario=None, heap="304k", settle=None):
    """Run scenario `name` to its "expect"/"end_s" and return a Run."""
    scn = dict(scenario or load(name))
    cfg = dict(IDENTITY, **scn["config"])
    cfg.update(config or {})
    board = make_board(scenario=scn, board_type=scn.get("board"), heap=heap)
    start_ms = scn_mod.start_ms(scn)
    board.put("/board.json", json.dumps(board_json(board.board_type, cfg["profile"])))
    board.put("/config.json", json.dumps(cfg))
    peer = None
    if "ld2410" in scn:
        from hil.peers.ld2410 import LD2410Peer
        timeline = [(start_ms + int(s * 1000), st, cm) for s, st, cm in scn["ld2410"]]
        peer = LD2410Peer(board.uarts["presence_uart"], timeline, clock=board.now_ms).start()
    try:
        board.flash_firmware(mpy=True)
        end_ms = start_ms + scn["expect"]["end_s"] * 1000
        deadline = time.monotonic() + (settle or 120)
        while board.now_ms() < end_ms:
            if time.monotonic() > deadline:
                raise TimeoutError("scenario %s: virtual time reached %.0f of %d s" % (
                    name, (board.now_ms() - start_ms) / 1000, scn["expect"]["end_s"]))
            time.sleep(0.1)
        log = board.supervisor_log()
    finally:
        if peer is not None:
            peer.stop()
    return Run(scn, log, start_ms // 1000)


def parking_quality(run, max_lag_s=None):
    """(true changes, detected, false changes) of one parking run: each change
    the profile counted (an event line "N change(s), occupied|free at T")
    is matched to an unmatched true change no later than T and at most
    max_lag_s (default 5 intervals) earlier."""
    truth = [c[0] for c in run.scenario["expect"]["changes"]]
    interval = run.scenario["config"]["interval"]
    lag = max_lag_s if max_lag_s is not None else 5 * interval
    used = [False] * len(truth)
    false = 0
    for t, text in run.events:
        m = re.match(r"parking_bay: (\d) change", text)
        if not m:
            continue
        for _ in range(int(m.group(1))):
            for i, tt in enumerate(truth):
                if not used[i] and tt <= t <= tt + lag:
                    used[i] = True
                    break
            else:
                false += 1
    return len(truth), sum(used), false
