# The exceptions of the RAK3172 driver (radio/lorawan.py, which reads them
# from here through its __getattr__, and loads this module when a command
# fails). A module of their own: on MicroPython each class costs heap from
# its import on, and a wake whose module answers every command raises none.

# The error status lines of RUI3 (AT command manual); the driver takes any
# line starting "AT_" as one.
ERRORS = ("AT_ERROR", "AT_PARAM_ERROR", "AT_BUSY_ERROR", "AT_TEST_PARAM_OVERFLOW", "AT_NO_CLASSB_ENABLE",
          "AT_NO_NETWORK_JOINED", "AT_RX_ERROR", "AT_MODE_NO_SUPPORT", "AT_COMMAND_NOT_FOUND",
          "AT_UNSUPPORTED_BAND", "AT_DUTYCYCLE_RESTRICTED")


class ModemError(Exception):
    # The module answered a command with an error status (code is its name).
    def __init__(self, command, code):
        super().__init__("%s: %s" % (command, code))
        self.command = command
        self.code = code


class ModemTimeout(ModemError):
    # The module said nothing in time: unplugged, hung, or still busy.
    def __init__(self, command):
        super().__init__(command, "timeout")
