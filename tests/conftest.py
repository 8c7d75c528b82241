import pytest

from tests.interpreters import CPython, MicroPython

pytest_plugins = ["hil.plugin"]  # --board, the `board` fixture, @pytest.mark.hardware

_interpreters = {}


def _get(name):
    if name not in _interpreters:
        _interpreters[name] = CPython() if name == "cpython" else MicroPython()
    return _interpreters[name]


@pytest.fixture(params=["cpython", "micropython"])
def interp(request):
    """The interpreter a protocols/ test runs its code on; every such test runs on both."""
    return _get(request.param)


@pytest.fixture(scope="session")
def micropython():
    return _get("micropython")


def pytest_sessionfinish(session):
    for it in _interpreters.values():
        it.close()
