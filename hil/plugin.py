"""pytest plugin: one HIL suite for virtual and real boards.

    pytest --board virtual:esp32-devkitc            (the default; CI)
    pytest --board /dev/ttyUSB0 --board-type esp32-devkitc
    pytest --firmware-fs romfs                       (flash_firmware() into a ROMFS partition)

Fixtures:
- `board`: a connected `hil.board.Board` (on a virtual board: a
  `VirtualBoardHandle`, with power_cut() and friends), on a fresh flash for
  each test of a virtual board;
- `make_board(scenario=None, board_type=None, flash_dir=None)`: more boards, or
  one with a scenario; virtual boards only;
- `board_type`: the board file's name.

Marker: @pytest.mark.hardware("needs the SX1262 radio") skips a test on
virtual boards, with that reason. The console log of every board a test used
is attached to its report when it fails.
"""
import pytest

from hil.board import Board, VirtualBoardHandle

DEFAULT_BOARD = "virtual:esp32-devkitc"


def pytest_addoption(parser):
    group = parser.getgroup("hil", "hardware in the loop")
    group.addoption("--board", default=DEFAULT_BOARD,
                    help="virtual:<board> (default %s) or a serial port of a real board" % DEFAULT_BOARD)
    group.addoption("--board-type", default=None,
                    help="board file name of the real board on --board (e.g. esp32-devkitc)")
    group.addoption("--firmware-fs", default="littlefs", choices=("littlefs", "romfs"),
                    help="where board.flash_firmware() puts the build unless a test says: the "
                         "filesystem (littlefs, the default: the stock ESP32_GENERIC firmware) or a "
                         "ROMFS partition (a MicroPython build with ROMFS), bytecode run in place")


def pytest_configure(config):
    config.addinivalue_line("markers", "hardware(reason): needs hardware the virtual board lacks; "
                                       "skipped on virtual boards with the reason")


def _spec(config):
    b = config.getoption("--board")
    if b.startswith("virtual:"):
        return True, b.split(":", 1)[1]
    board_type = config.getoption("--board-type")
    if not board_type:
        raise pytest.UsageError("--board %s needs --board-type <board file name>" % b)
    return False, board_type


def pytest_runtest_setup(item):
    m = item.get_closest_marker("hardware")
    if m is not None and _spec(item.config)[0]:
        pytest.skip("needs hardware the virtual board lacks: %s" % (m.args[0] if m.args else m.kwargs.get("reason", "")))


@pytest.fixture
def board_type(request):
    return _spec(request.config)[1]


def default_heap(board_type):
    """The VM heap of a virtual board: 304 KB (the firmware's share of an
    ESP32's ~100 KB plus the virtual peripherals' models), or 2 MB on a board
    with PSRAM, whose ESP32_GENERIC-SPIRAM build has a heap of megabytes."""
    from hil import boards
    psram = boards.load(board_type).get("psram", "none")
    return "2048k" if psram and psram != "none" else "304k"


@pytest.fixture
def make_board(request, tmp_path):
    virtual, default_type = _spec(request.config)
    made = []
    request.node._hil_boards = made
    romfs = request.config.getoption("--firmware-fs") == "romfs"

    def make(scenario=None, board_type=None, flash_dir=None, heap=None):
        if not virtual:
            if made:
                pytest.skip("one real board only")
            b = Board(request.config.getoption("--board"), board_type or default_type).connect()
            b.romfs = romfs
            made.append(b)
            return b
        from hil.vboard import VirtualBoard
        flash_dir = flash_dir or tmp_path / ("flash%d" % len(made))
        kind = board_type or default_type
        vb = VirtualBoard(kind, scenario=scenario, flash_dir=flash_dir, heap=heap or default_heap(kind)).start()
        b = VirtualBoardHandle(vb)
        b.romfs = romfs
        made.append(b)
        vb.wait_for(rb">>> ", timeout=20)
        return b.connect()

    yield make
    for b in made:
        b.close()
        if b.virtual:
            b.vboard.stop()


@pytest.fixture
def board(make_board):
    return make_board()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "teardown" or not report.failed:
        return
    for i, b in enumerate(getattr(item, "_hil_boards", [])):
        log = b.supervisor_log() if b.virtual else b.log
        text = log[-20000:].decode("utf-8", "replace")
        report.sections.append(("console of board %d (%s)" % (i, b.board_type), text))
