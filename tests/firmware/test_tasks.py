"""runtime/tasks.py, the wake's cooperative tasks, on the MicroPython unix
port (real time, short sleeps): a wake's cycle beside the watchdog's feeder."""
INTERLEAVE = """
import time
from runtime import tasks

log = []

async def step(name, ms, n):
    for i in range(n):
        log.append((name, i))
        await tasks.sleep_ms(ms)
    return name

async def nested():
    first = await step("main", 30, 3)      # awaits through another coroutine
    await tasks.sleep_ms(0)
    return first + "!"

closed = []

async def feeder():
    try:
        while True:
            log.append(("feed",))
            await tasks.sleep_ms(20)
    finally:
        closed.append(True)

t0 = time.ticks_ms()
result = tasks.run(nested(), feeder())
print("result", result)
print("took", time.ticks_diff(time.ticks_ms(), t0))
print("log", log)
print("closed", closed)
"""


def test_main_runs_to_its_end_beside_a_background_task(micropython):
    out = micropython.run(INTERLEAVE)
    lines = dict(line.split(" ", 1) for line in out.strip().splitlines())
    assert lines["result"] == "main!"
    log = eval(lines["log"])
    assert [e for e in log if e[0] == "main"] == [("main", 0), ("main", 1), ("main", 2)]
    feeds = log.count(("feed",))
    assert 3 <= feeds <= 7            # every 20 ms through main's 90 ms
    assert log[0] == ("main", 0) and log[1] == ("feed",)   # both start at once, main first
    assert 85 <= int(lines["took"]) < 3000   # real time: a loaded host only makes it longer
    assert lines["closed"] == "[True]"   # the feeder is closed when main ends


def test_an_exception_ends_the_run_and_closes_the_others(micropython):
    out = micropython.run("""
from runtime import tasks
closed = []
async def bad():
    await tasks.sleep_ms(5)
    raise OSError(19)
async def other():
    try:
        while True:
            await tasks.sleep_ms(1)
    finally:
        closed.append(1)
try:
    tasks.run(bad(), other())
except OSError as e:
    print("raised", e.args[0], closed)
""")
    assert out.strip() == "raised 19 [1]"


def test_awaiting_anything_but_sleep_ms_is_refused_not_hung(micropython):
    # What an asyncio primitive does inside: yield None to its own loop.
    out = micropython.run("""
from runtime import tasks
class Foreign:
    def __iter__(self):
        yield None
async def main():
    await Foreign()
try:
    tasks.run(main())
except TypeError as e:
    print("TypeError", e)
""")
    assert out.strip() == "TypeError a task awaited something other than runtime.tasks.sleep_ms"


def test_a_wake_does_not_import_asyncio(micropython):
    out = micropython.run("""
import sys
import tests.apps.steps
import runtime.app, runtime.scheduler, runtime.watchdog, sensors.button
print(sorted(m for m in sys.modules if m.startswith('asyncio')))
""")
    assert out.strip() == "[]"


def test_a_negative_sleep_is_no_sleep(micropython):
    out = micropython.run("""
from runtime import tasks
async def main():
    await tasks.sleep_ms(-5)
    return 1
print(tasks.run(main()))
""")
    assert out.strip() == "1"


def test_a_main_that_ends_at_once_returns_without_a_sleep(micropython):
    out = micropython.run("""
import time
from runtime import tasks
async def main():
    return 42
t0 = time.ticks_ms()
print(tasks.run(main()), time.ticks_diff(time.ticks_ms(), t0) < 20)
""")
    assert out.strip() == "42 True"
