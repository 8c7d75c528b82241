# Pure-Python stand-in for the `_asyncio` C module, installed so that asyncio's
# task queue keys come from the virtual `time.ticks_ms` (the C version reads the
# host's real ticks for tasks that are ready now, which would mix two clocks).
import sys


def _core():
    return sys.modules["asyncio.core"]


def _before(a, b):
    return _core().ticks_diff(a, b) < 0


class TaskQueue:
    # A list kept in key order; equal keys stay first-in first-out.
    def __init__(self):
        self._q = []

    def peek(self):
        return self._q[0] if self._q else None

    def push(self, v, key=None):
        v.data = None
        v.ph_key = key if key is not None else _core().ticks()
        q = self._q
        i = len(q)
        while i > 0 and _before(v.ph_key, q[i - 1].ph_key):
            i -= 1
        q.insert(i, v)

    def pop(self):
        return self._q.pop(0)

    def remove(self, v):
        for i in range(len(self._q)):
            if self._q[i] is v:
                del self._q[i]
                return


class Task:
    def __init__(self, coro, globals=None):
        self.coro = coro
        self.data = None  # the queue or task this one waits on, or its result
        self.state = True  # True: running; TaskQueue: awaited by others; None/False: done
        self.ph_key = 0

    def __iter__(self):
        if not self.state:
            self.state = False
        elif self.state is True:
            self.state = TaskQueue()
        elif type(self.state) is not TaskQueue:
            raise RuntimeError("can't wait")
        return self

    def __next__(self):
        if not self.state:
            raise self.data
        core = _core()
        self.state.push(core.cur_task)
        core.cur_task.data = self

    def done(self):
        return not self.state

    def cancel(self):
        core = _core()
        if not self.state:
            return False
        if self is core.cur_task:
            raise RuntimeError("can't cancel self")
        while isinstance(self.data, Task):
            self = self.data
        if hasattr(self.data, "remove"):
            self.data.remove(self)
            core._task_queue.push(self)
        elif core.ticks_diff(self.ph_key, core.ticks()) > 0:
            core._task_queue.remove(self)
            core._task_queue.push(self)
        self.data = core.CancelledError
        return True
