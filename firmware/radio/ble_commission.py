# The GATT commissioning service a technician's laptop or phone talks to:
# read the status and the last frames, write config, trigger a status frame.
#
# Every write is authenticated with the device key (config "device_key"), so
# a passer-by cannot reconfigure a board:
#   1. the central reads CHALLENGE: 16 random bytes, replaced after every
#      write attempt, good or bad, and on every connection;
#   2. it writes a sealed frame (protocols/seal.py) to CONFIG or COMMAND:
#      seal(device_key, dev_eui, counter, challenge + CBOR payload);
#   3. the board checks the seal (tag under its key, its own DevEUI, a counter
#      above the ones seen since boot) and that the frame starts with the
#      current challenge, then acts and puts the outcome in RESULT (read, and
#      notified to the writer: "ok ..." or "refused: ...").
# A replayed write carries a used challenge and is refused.
# CONFIG payload: a CBOR map of settings (runtime/config.py SETTINGS names);
# identity fields and keys cannot be changed over the air. Applied through
# runtime/config.py save(), which checks every field first.
# COMMAND payload: the CBOR text "status": a status frame is made now.
import gc
import os

import bluetooth
from micropython import const

from protocols import cbor
from protocols import seal

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)

_F_READ = const(0x0002)
_F_WRITE = const(0x0008)
_F_NOTIFY = const(0x0010)
_CHALLENGE_LEN = const(16)
_MAX_FRAMES = const(8)
_FRAMES_BYTES = const(480)    # what one long read returns comfortably (512 max)

# 128-bit UUIDs of the service and its characteristics: base c1f7xxxx-...
_BASE = "c1f7%04x-5d2e-4c1f-8e6b-636974796631"
SERVICE = bluetooth.UUID(_BASE % 0)
STATUS = bluetooth.UUID(_BASE % 1)
FRAMES = bluetooth.UUID(_BASE % 2)
CHALLENGE = bluetooth.UUID(_BASE % 3)
CONFIG = bluetooth.UUID(_BASE % 4)
COMMAND = bluetooth.UUID(_BASE % 5)
RESULT = bluetooth.UUID(_BASE % 6)


class Commissioning:
    # ble: bluetooth.BLE(), active; config: the device config (dict, updated
    # in place when a new one is applied); board: board.json as a dict (for
    # the config defaults); save: runtime.config.save (passed in so a test
    # can count writes); on_status(): returns a status frame (bytes) after
    # sending it, or None; on_config(config): called after a config is saved.
    def __init__(self, ble, config, board=None, save=None, on_status=None, on_config=None, log=None):
        self.ble = ble
        self.config = config
        self.board = board
        self.save = save
        self.on_status = on_status
        self.on_config = on_config
        self.log = log
        self.dev_eui = bytes.fromhex(config["dev_eui"])
        self.verifier = seal.Verifier({self.dev_eui: bytes.fromhex(config["device_key"])})
        self.frames = []
        self.conn = None
        self.adv = None
        self.applied = 0
        self.refused = 0
        ((self.h_status, self.h_frames, self.h_challenge, self.h_config, self.h_command, self.h_result),) = \
            ble.gatts_register_services(((SERVICE, (
                (STATUS, _F_READ | _F_NOTIFY),
                (FRAMES, _F_READ),
                (CHALLENGE, _F_READ),
                (CONFIG, _F_WRITE),
                (COMMAND, _F_WRITE),
                (RESULT, _F_READ | _F_NOTIFY),
            )),))
        ble.gatts_set_buffer(self.h_config, 256)   # NimBLE keeps 20 bytes unless told
        ble.gatts_set_buffer(self.h_command, 128)
        ble.gatts_set_buffer(self.h_frames, 512)
        ble.gatts_set_buffer(self.h_status, 64)
        ble.gatts_set_buffer(self.h_result, 100)
        self._new_challenge()
        ble.irq(self._irq)

    # ---------------------------------------------------------------- runtime side
    def advertise(self, adv_data, interval_ms=500):
        # Connectable advertising (e.g. the BTHome advertisement); restarted
        # after each connection, which stops advertising.
        self.adv = (interval_ms * 1000, adv_data)
        self.ble.gap_advertise(interval_ms * 1000, adv_data=adv_data, connectable=True)

    def record(self, frame, status=False):
        # An uplink frame (protocols.frames bytes) the board just sent.
        self.frames.append(bytes(frame))
        if len(self.frames) > _MAX_FRAMES:
            self.frames.pop(0)
        data = cbor.dumps(self.frames)
        while len(data) > _FRAMES_BYTES and len(self.frames) > 1:
            self.frames.pop(0)
            data = cbor.dumps(self.frames)
        self.ble.gatts_write(self.h_frames, data)
        if status:
            self.ble.gatts_write(self.h_status, frame, True)

    # ---------------------------------------------------------------- BLE side
    def _new_challenge(self):
        self.challenge = os.urandom(_CHALLENGE_LEN)
        self.ble.gatts_write(self.h_challenge, self.challenge)

    def _result(self, text, ok):
        if ok:
            self.applied += 1
        else:
            self.refused += 1
        if self.log is not None:
            self.log("ble: " + text)
        data = text.encode()
        self.ble.gatts_write(self.h_result, data)
        if self.conn is not None:
            try:
                self.ble.gatts_notify(self.conn, self.h_result, data)
            except OSError:
                pass

    def _irq(self, event, data):
        if event == _IRQ_CENTRAL_CONNECT:
            self.conn = data[0]
            self._new_challenge()
        elif event == _IRQ_CENTRAL_DISCONNECT:
            self.conn = None
            self._new_challenge()
            if self.adv is not None:
                self.ble.gap_advertise(self.adv[0], adv_data=self.adv[1], connectable=True)
        elif event == _IRQ_GATTS_WRITE:
            h = data[1]
            if h == self.h_config or h == self.h_command:
                self._write(h, self.ble.gatts_read(h))

    def _open(self, data):
        # The CBOR payload of an authenticated write, or raises ValueError
        # with the reason. The challenge is spent whatever the outcome.
        challenge = self.challenge
        self._new_challenge()
        try:
            device_id, _, frame = self.verifier.verify(data)
        except seal.SealError as e:
            raise ValueError(type(e).__name__)
        if device_id != self.dev_eui:
            raise ValueError("not this device")
        if frame[:_CHALLENGE_LEN] != challenge:
            raise ValueError("stale challenge")
        try:
            return cbor.loads(frame[_CHALLENGE_LEN:])
        except Exception:
            raise ValueError("payload not CBOR")

    def _write(self, h, data):
        try:
            payload = self._open(data)
        except ValueError as e:
            self._result("refused: " + str(e), False)
            return
        if h == self.h_command:
            self._command(payload)
        else:
            self._configure(payload)

    def _command(self, payload):
        if payload != "status":
            self._result("refused: unknown command", False)
            return
        frame = self.on_status() if self.on_status is not None else None
        if frame is None:
            self._result("refused: no status", False)
            return
        self.record(frame, True)
        self._result("ok status", True)

    def _configure(self, settings):
        from runtime import config as configfile
        if not isinstance(settings, dict) or not settings:
            self._result("refused: payload must be a map", False)
            return
        names = [f[0] for f in configfile.SETTINGS]
        new = dict(self.config)
        for k in settings:
            if k not in names:
                self._result("refused: " + str(k) + " cannot be set over BLE", False)
                return
            new[k] = settings[k]
        gc.collect()   # the file write needs a 4 KB block on a fragmented heap
        try:
            (self.save or configfile.save)(new, self.board)
        except configfile.ConfigError as e:
            self._result("refused: " + str(e), False)
            return
        except OSError as e:
            self._result("refused: flash error %s" % e, False)
            return
        self.config.update(new)
        self._result("ok config " + ",".join(sorted(settings)), True)
        if self.on_config is not None:
            self.on_config(self.config)
