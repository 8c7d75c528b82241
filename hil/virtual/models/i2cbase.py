# Base classes for I2C peripheral models of the virtual board. A model sees
# whole transactions: write(data) for a write to its address, read(n) for a
# read; the register-map base turns those into register reads and writes with
# an auto-incrementing register pointer, as most sensor chips do.
#
#   class MyChip(RegisterDevice):
#       ADDRESS = 0x0D
#       def update(self, now_ms):        # refresh measurement registers
#           x = self.track("x", 0.0)     # scenario value at this instant
#           self.regs[0] = ...
#
# A scenario names a model as "module" (class Device) or "module:Class"; the
# module lives in hil/virtual/models/. spec holds the scenario's entry for it.
import vworld


class I2CDevice:
    ADDRESS = None

    def __init__(self, spec, world):
        self.spec = spec
        self.world = world
        addr = spec.get("address", self.ADDRESS)
        if addr is None:
            raise ValueError("I2C model needs an address")
        self.address = int(addr)
        self.rng = vworld.Rng(world.seed, "i2c%d" % self.address)
        self._tracks = {}
        for name, tspec in spec.get("tracks", {}).items():
            self._tracks[name] = vworld.Track(tspec.get("initial"), tspec.get("points", []))

    def now_ms(self):
        return self.world.clock.now_ms()

    def track(self, name, default=None):
        # The scenario's value for `name` now (spec "tracks": {name: {initial, points}}).
        t = self._tracks.get(name)
        if t is None:
            return self.spec.get(name, default)
        v = t.at(self.now_ms())
        return default if v is None else v

    def absent(self):
        # Off the bus now: the scenario's "missing" track (or value) is 1.
        return bool(self.track("missing", 0))

    def write(self, data):
        pass

    def read(self, n):
        return bytes(n)


class RegisterDevice(I2CDevice):
    NREGS = 256

    def __init__(self, spec, world):
        super().__init__(spec, world)
        self.regs = bytearray(self.NREGS)
        self.pointer = 0
        for k, v in spec.get("registers", {}).items():
            reg = int(k, 0) if isinstance(k, str) else k
            data = bytes.fromhex(v) if isinstance(v, str) else bytes(v if isinstance(v, list) else [v])
            self.regs[reg:reg + len(data)] = data

    def update(self, now_ms):
        pass

    def read_reg(self, reg):
        return self.regs[reg % self.NREGS]

    def write_reg(self, reg, value):
        self.regs[reg % self.NREGS] = value

    def write(self, data):
        if not data:
            return
        self.pointer = data[0]
        for b in data[1:]:
            self.write_reg(self.pointer, b)
            self.pointer = (self.pointer + 1) % self.NREGS

    def read(self, n):
        self.update(self.now_ms())
        out = bytearray(n)
        for i in range(n):
            out[i] = self.read_reg(self.pointer)
            self.pointer = (self.pointer + 1) % self.NREGS
        return bytes(out)
