# A plain register map: fixed registers from the scenario ("registers":
# {"0x0d": "ff"}), optionally changing over time ("timeline": [{"at": ms,
# "registers": {...}}], already resolved to absolute ms by the host).
from i2cbase import RegisterDevice


class Device(RegisterDevice):
    def __init__(self, spec, world):
        super().__init__(spec, world)
        self.timeline = spec.get("timeline", [])
        self.applied = 0

    def update(self, now_ms):
        while self.applied < len(self.timeline) and self.timeline[self.applied]["at"] <= now_ms:
            for k, v in self.timeline[self.applied]["registers"].items():
                reg = int(k, 0)
                data = bytes.fromhex(v) if isinstance(v, str) else bytes(v if isinstance(v, list) else [v])
                self.regs[reg:reg + len(data)] = data
            self.applied += 1
