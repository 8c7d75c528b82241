# The status-only pair: what a board runs without an application (none
# installed, or safe mode), sending its status frames only. Its methods are
# the interface of every application's Sensors and Profile (runtime/profile.py).


class Sensors:
    def __init__(self, board, config):
        self.board = board
        self.config = config

    async def read(self, progress):
        # Readings in SI units. Call progress(step) while a slow read goes on,
        # or the watchdog resets the board.
        return {}


class Profile:
    name = "status_only"

    def __init__(self, config, saved=None):
        # saved: what save() returned before the last deep sleep, or None after a reset.
        self.config = config

    def decide(self, readings, now_s):
        # Frames worth sending for these readings, as [(kind, fields)], or
        # (kind, fields, True) when the numbers are already whole steps of each
        # field (protocols.frames.encode's raw mode: no float on the way).
        return []

    def save(self):
        # State to keep through deep sleep (JSON-encodable: lists, dicts with
        # text keys, numbers, booleans, None; small: RTC memory
        # holds 2 KB in all), or None.
        return None

    def downlink(self, kind, fields):
        # A downlink for this profile (e.g. an acknowledgement of an SOS); frames to send in answer.
        return []
