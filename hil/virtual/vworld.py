# The physical world around the virtual board, from the scenario the host
# normalised (all times are absolute virtual ms since 2000-01-01): pin levels
# and ADC voltages over time, I2C peripheral models per bus, seeded noise.
import vclock


class Rng:
    # xorshift32: deterministic per (scenario seed, stream name)
    def __init__(self, seed, name=""):
        s = (seed * 2654435761) & 0xFFFFFFFF
        for ch in name:
            s = ((s ^ ord(ch)) * 16777619) & 0xFFFFFFFF
        self.s = s or 0x9E3779B9

    def next(self):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return s

    def uniform(self, lo, hi):
        return lo + (hi - lo) * (self.next() / 4294967296)


class Track:
    # A value over time: steps, or linear ramps into points marked ramp.
    def __init__(self, initial, points):
        self.initial = initial
        self.points = points  # [[t_ms, value, ramp], ...] sorted

    def at(self, t_ms):
        prev_t = None
        prev_v = self.initial
        for p in self.points:
            if p[0] > t_ms:
                if len(p) > 2 and p[2] and prev_t is not None and prev_v is not None:
                    return prev_v + (p[1] - prev_v) * (t_ms - prev_t) / (p[0] - prev_t)
                return prev_v
            prev_t, prev_v = p[0], p[1]
        return prev_v


class World:
    def __init__(self, cfg, clock):
        self.clock = clock
        self.seed = cfg.get("seed", 0)
        self.pins = {}
        events = []
        for gpio, spec in cfg.get("pins", {}).items():
            g = int(gpio)
            self.pins[g] = Track(spec.get("initial"), [[p[0], p[1]] for p in spec.get("points", [])])
            for p in spec.get("points", []):
                events.append((p[0] * 1000, g))
        events.sort()
        self.events = events
        self.cursor = 0
        now = clock.now_us()
        while self.cursor < len(events) and events[self.cursor][0] <= now:
            self.cursor += 1
        self.adcs = {}
        for gpio, spec in cfg.get("adc", {}).items():
            self.adcs[int(gpio)] = (Track(spec.get("initial", 0.0), spec.get("points", [])),
                                    spec.get("noise", 0.0), Rng(self.seed, "adc" + gpio))
        self.i2c = {}
        self.i2c_specs = cfg.get("i2c", {})
        self.listeners = []  # callables (gpio) on a level change from the world
        clock.add_source(self)

    # -- clock source: pin level changes
    def _vb_due(self):
        if self.cursor < len(self.events):
            return self.events[self.cursor][0]
        return None

    def _vb_fire(self, t_us):
        changed = []
        while self.cursor < len(self.events) and self.events[self.cursor][0] <= t_us:
            changed.append(self.events[self.cursor][1])
            self.cursor += 1
        for g in changed:
            for f in self.listeners:
                f(g)

    def pin_level(self, gpio):
        t = self.pin_track(gpio)
        return None if t is None else t.at(self.clock.now_ms())

    def pin_track(self, gpio):
        return self.pins.get(gpio)

    def adc_volts(self, gpio):
        a = self.adcs.get(gpio)
        if a is None:
            return 0.0
        v = a[0].at(self.clock.now_ms()) or 0.0
        if a[1]:
            v += a[2].uniform(-a[1], a[1])
        return v

    def first_level_after(self, gpio, level, after_ms, until_ms):
        # When the world next drives `gpio` to `level` (for pin wake-up), or None.
        t = self.pins.get(gpio)
        if t is None:
            return None
        if t.at(after_ms) == level:
            return after_ms
        for p in t.points:
            if after_ms < p[0] and (until_ms is None or p[0] <= until_ms) and p[1] == level:
                return p[0]
        return None

    # -- I2C peripherals, created on first use of a bus
    def i2c_bus(self, bus_id):
        key = str(bus_id)
        if key not in self.i2c:
            devs = {}
            for spec in self.i2c_specs.get(key, []):
                dev = make_model(spec, self)
                devs[dev.address] = dev
            self.i2c[key] = devs
        return self.i2c[key]


def make_model(spec, world):
    name = spec.get("model", "regmap")
    mod_name, _, cls_name = name.partition(":")
    mod = __import__(mod_name)
    cls = getattr(mod, cls_name or "Device")
    return cls(spec, world)


WORLD = None
