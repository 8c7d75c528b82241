"""The virtual board offers nothing a real ESP32 lacks.

The virtual board (hil/) replaces `machine` (and `time`, `esp32`, `select`) on
the MicroPython unix port with models. If a virtual module offered a function,
class, constant or method that the ESP32 port does not have, firmware could use
it and pass every HIL test, then fail on a real board. So each public name of
each virtual module, and of each of its classes, must be in MicroPython's ESP32
stubs (PyPI micropython-esp32-esp32-generic-stubs), read here with ast.

The virtual modules are found by file name under hil/, wherever they live.
"""
import ast
import importlib.metadata
from pathlib import Path

import pytest

from tools import firmware_types

ROOT = Path(__file__).resolve().parent.parent
HIL = ROOT / "hil"

# stub module -> file names the virtual board may give its stand-in, and
# whether the virtual board must have one.
MODULES = {
    "machine": (("machine.py", "vmachine.py"), True),
    "time": (("vtime.py",), False),
    "esp32": (("vesp32.py",), False),
    "select": (("vselect.py",), False),
}

# Names a virtual module may offer beyond the stubs, each with the reason.
ALLOWED = {
    # MicroPython's stream protocol: select.poll() calls ioctl() on a Python
    # object; a real UART has the same hook in C, where the stubs do not see it.
    ("machine", "UART.ioctl"),
}


def _stub_file(module):
    dist = importlib.metadata.distribution(firmware_types.STUBS)
    for f in dist.files or []:
        if str(f) in (module + ".pyi", module + "/__init__.pyi"):
            return Path(dist.locate_file(f))
    raise AssertionError("the ESP32 stubs have no module %s" % module)


def _virtual_file(names):
    found = []
    for name in names:
        found.extend(p for p in HIL.rglob(name) if "__pycache__" not in p.parts)
    return sorted(found)


def _public(name):
    return not name.startswith("_")


def _bound_names(body, imports):
    # Names a module or class body binds: defs, classes, assignments, and
    # (when `imports`) names bound by `from x import y` (a module bound by
    # `import x` is not API).
    out = set()
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name):
                        out.add(n.id)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
            out.add(node.target.id)
        elif imports and isinstance(node, ast.ImportFrom):
            out.update(a.asname or a.name for a in node.names if a.name != "*")
        elif isinstance(node, (ast.If, ast.Try)):
            # Conditional definitions (feature detection) count as well.
            for part in (node.body, getattr(node, "orelse", []), getattr(node, "finalbody", [])):
                out |= _bound_names(part, imports)
            for h in getattr(node, "handlers", []):
                out |= _bound_names(h.body, imports)
    return out


def _instance_attrs(cls):
    out = set()
    for node in ast.walk(cls):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                    out.add(t.attr)
    return out


def _classes(tree):
    return {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}


def _members(classes, name, instance, seen=()):
    # The names a class offers, with those of its bases in the same module.
    cls = classes[name]
    out = _bound_names(cls.body, imports=False)
    if instance:
        out |= _instance_attrs(cls)
    for base in cls.bases:
        if isinstance(base, ast.Name) and base.id in classes and base.id not in seen:
            out |= _members(classes, base.id, instance, seen + (name,))
    return out


def extras(stub_source, virtual_source, module):
    """The public names the virtual module offers and the stub does not."""
    stub, virtual = ast.parse(stub_source), ast.parse(virtual_source)
    stub_names = {n for n in _bound_names(stub.body, imports=False)}
    stub_classes, virtual_classes = _classes(stub), _classes(virtual)
    out = []
    for name in sorted(filter(_public, _bound_names(virtual.body, imports=True))):
        if name not in stub_names:
            out.append(name)
    for name in sorted(filter(_public, virtual_classes)):
        if name not in stub_classes:
            continue  # reported above, unless the stub binds it otherwise
        have = _members(stub_classes, name, instance=False)
        for member in sorted(filter(_public, _members(virtual_classes, name, instance=True))):
            if member not in have:
                out.append(name + "." + member)
    return [n for n in out if (module, n) not in ALLOWED]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_virtual_module_offers_nothing_the_esp32_lacks(module):
    names, required = MODULES[module]
    files = _virtual_file(names)
    if not files:
        if required:
            pytest.fail("no virtual %s module under hil/ (looked for %s)" % (module, ", ".join(names)))
        pytest.skip("the virtual board has no %s module" % module)
    stub = _stub_file(module).read_text(encoding="utf-8")
    problems = {}
    for path in files:
        found = extras(stub, path.read_text(encoding="utf-8"), module)
        if found:
            problems[str(path.relative_to(ROOT))] = found
    assert problems == {}, (
        "the virtual board offers what a real ESP32's %s module does not have "
        "(make it private with a leading underscore, or remove it):\n%s"
        % (module, "\n".join("%s: %s" % (p, ", ".join(n)) for p, n in problems.items())))


# -- the comparison itself can fail -------------------------------------------

STUB = '''
from typing import overload
RESET: int
class Pin:
    OUT: int
    def value(self) -> int: ...
class Signal(Pin):
    def on(self) -> None: ...
def reset() -> None: ...
'''


def test_extras_finds_a_function_a_class_and_a_method_the_stub_lacks():
    virtual = '''
import sys
from vclock import emit
RESET = 1
_private = 2
class Pin:
    OUT = 1
    def __init__(self, id):
        self.id = id
        self._level = 0
    def value(self):
        return self._level
    def frobnicate(self):
        pass
class Signal(Pin):
    def on(self):
        pass
class Magic:
    pass
def reset():
    pass
def nosuchthing():
    pass
'''
    assert extras(STUB, virtual, "machine") == [
        "Magic", "emit", "nosuchthing", "Pin.frobnicate", "Pin.id", "Signal.frobnicate", "Signal.id"]


def test_extras_accepts_a_faithful_module():
    virtual = '''
import sys
RESET = 1
class Pin:
    OUT = 1
    def value(self):
        return 0
class Signal(Pin):
    def on(self):
        self.value()
def reset():
    pass
'''
    assert extras(STUB, virtual, "machine") == []
