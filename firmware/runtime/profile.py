# A profile decides what is worth sending: it receives readings and returns
# frames (kind, fields) of the shared schema. It owns no bus and no radio.
# The five sensor profiles live in apps/<name>.py, each with a class Profile;
# until one is installed the board sends its status frames only.


class Profile:
    name = "status_only"

    def __init__(self, config, board, progress):
        self.config = config
        self.board = board
        self.progress = progress   # call while a long step is still making progress

    async def sample(self):
        # Read the sensors; return readings in SI units.
        return {}

    def decide(self, readings, now_s):
        # Frames worth sending for these readings, as [(kind, fields)].
        return []


def load(name, config, board, progress, log):
    # The profile called name from apps/, or the status-only profile when it is not installed.
    try:
        module = __import__("apps." + name, None, None, ["Profile"])
    except ImportError as e:
        log.error("profile %s not installed (%s): status only" % (name, e))
        return Profile(config, board, progress)
    return module.Profile(config, board, progress)
