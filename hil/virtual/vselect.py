# The virtual board's `select` module: poll() over real file descriptors
# (UART ptys) and virtual UART objects, where waiting with nothing to wake it
# moves virtual time instead of the wall clock (so asyncio sleeps are virtual).
import select as _rs
import vclock

POLLIN = _rs.POLLIN
POLLOUT = _rs.POLLOUT
POLLERR = _rs.POLLERR
POLLHUP = _rs.POLLHUP


class _Poll:
    def __init__(self):
        self._objs = {}  # id(obj) -> [obj, mask]

    def register(self, obj, eventmask=POLLIN | POLLOUT):
        self._objs[id(obj)] = [obj, eventmask]

    def unregister(self, obj):
        self._objs.pop(id(obj), None)

    def modify(self, obj, eventmask):
        if id(obj) not in self._objs:
            raise OSError(2)
        self._objs[id(obj)][1] = eventmask

    def _ready(self):
        out = []
        real = None
        for obj, mask in self._objs.values():
            f = getattr(obj, "_vb_poll", None)
            if f is not None:
                ev = f(mask)  # virtual object: returns its ready events now
                if ev:
                    out.append((obj, ev))
            else:
                if real is None:
                    real = _rs.poll()
                real.register(obj, mask)
        if real is not None:
            out.extend(real.poll(0))
        return out

    def poll(self, timeout=-1):
        return list(self.ipoll(timeout))

    def ipoll(self, timeout=-1, flags=0):
        c = vclock.CLOCK
        c.run_due()
        ready = self._ready()
        if ready or timeout == 0:
            return ready
        if not self._objs:
            if timeout < 0:
                while True:
                    c.sleep_us(3600 * 1000000)
            c.sleep_us(timeout * 1000)
            return []
        # I/O registered: wait in real time while a peer may be answering,
        # then let the rest of a long timeout pass in virtual time.
        start = c.now_us()
        end = None if timeout < 0 else start + timeout * 1000
        real_budget = c.hot_max_us if c.io_hot() else c.realtime_us
        while True:
            ready = self._ready()
            if ready:
                return ready
            now = c.now_us()
            if end is not None and now >= end:
                return []
            if end is None or now - start < real_budget:
                c.sleep_us(1000)
            else:
                c.skip_to(end, wake_early=False)
                return self._ready()


def poll():
    return _Poll()


def select(rlist, wlist, xlist, timeout=None):
    p = _Poll()
    for o in rlist:
        p.register(o, POLLIN)
    for o in wlist:
        p.register(o, POLLOUT)
    res = p.poll(-1 if timeout is None else int(timeout * 1000))
    return ([o for o, e in res if e & POLLIN], [o for o, e in res if e & POLLOUT], [])
