"""Type-check the code that goes onto a board against MicroPython's ESP32 stubs.

The fidelity guard: firmware/ and protocols/ are checked by mypy with the
micropython-stubs project's ESP32 stubs (PyPI micropython-esp32-esp32-generic-stubs
and the micropython-stdlib-stubs it depends on) as the *only* standard library,
so a call that a real ESP32 lacks (`machine.Pin.frobnicate`, `functools`,
`time.monotonic`) is an error here rather than an AttributeError in the field.

The stub packages install into site-packages as loose .pyi files; mypy only
accepts a replacement standard library as a typeshed directory, so
`build_typeshed` lays the installed stubs out as one (stdlib/ plus VERSIONS)
and mypy runs with --custom-typeshed-dir on it and --no-site-packages.

Only findings that mean "the board does not have this" fail the guard
(FIDELITY_CODES); the rest is mypy's inference about unannotated code
(`Need type annotation`, the `const` fallback's differing signature, ...),
reported but not failing. Findings inside CPython-only branches (the body of
`except ImportError:` and the non-MicroPython side of a
`sys.implementation.name == "micropython"` test) are left out: those lines do
not run on a board that has the module.

    python -m tools.firmware_types [PATH...]    # default: firmware/ protocols/
"""
import ast
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import namedtuple
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

STUBS = "micropython-esp32-esp32-generic-stubs"
STDLIB_STUBS = "micropython-stdlib-stubs"

# The mypy error codes that mean the board lacks a module, a name or an
# attribute, or that a call does not match the board's signature.
FIDELITY_CODES = frozenset(("attr-defined", "name-defined", "import-not-found", "import",
                            "call-arg", "call-overload"))

# The modules of micropython-stdlib-stubs that MicroPython on an ESP32 really
# has. Its other modules (typing, enum, abc, types, __future__, ...) are there
# for the stubs' own sake; importing one on a board fails.
MICROPYTHON_STDLIB = frozenset(("_asyncio", "array", "asyncio", "builtins", "collections", "io",
                                "json", "os", "re", "ssl", "struct", "sys"))

Finding = namedtuple("Finding", "path line code message")

_LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+): error: (?P<message>.*?)(?:  \[(?P<code>[a-z0-9-]+)\])?$")


class StubsMissing(Exception):
    """The MicroPython ESP32 stubs are not installed (pip install -e '.[dev]')"""


def _files(dist_name):
    try:
        dist = importlib.metadata.distribution(dist_name)
    except importlib.metadata.PackageNotFoundError:
        raise StubsMissing("%s is not installed: pip install -e '.[dev]'" % dist_name) from None
    return dist, [f for f in (dist.files or []) if str(f).endswith((".pyi", "VERSIONS"))]


def stub_versions():
    return {name: importlib.metadata.version(name) for name in (STUBS, STDLIB_STUBS)}


def board_modules():
    """Top-level module names the ESP32 stubs offer as real board modules."""
    _, files = _files(STUBS)
    names = {str(f).split("/")[0].removesuffix(".pyi") for f in files}
    return frozenset(n for n in names if not n.startswith("__")) | MICROPYTHON_STDLIB


def stub_only_modules():
    """Modules the stubs carry only for type-checking: no board has them."""
    _, files = _files(STDLIB_STUBS)
    names = set()
    for f in files:
        parts = str(f).split("/")
        if parts[0] == "stdlib" and len(parts) > 1 and parts[1] != "VERSIONS":
            names.add(parts[1].removesuffix(".pyi"))
    return frozenset(names - board_modules())


def build_typeshed(dest):
    """Lay the installed stubs out as a typeshed directory at `dest`; return it."""
    dest = Path(dest)
    std = dest / "stdlib"
    if dest.exists():
        shutil.rmtree(dest)
    std.mkdir(parents=True)
    added = set()
    for dist_name in (STDLIB_STUBS, STUBS):
        dist, files = _files(dist_name)
        for f in files:
            rel = str(f)
            if rel.startswith("stdlib/"):
                target = std / rel[len("stdlib/"):]
            elif rel.startswith("stubs/"):
                target = dest / rel  # mypy_extensions, which mypy itself wants
            else:
                target = std / rel  # _mpy_shed and the board modules
                added.add(rel.split("/")[0].removesuffix(".pyi"))
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(dist.locate_file(f), target)
    versions = std / "VERSIONS"
    listed = {line.split(":")[0].strip() for line in versions.read_text().splitlines()
              if ":" in line and not line.startswith("#")}
    with open(versions, "a") as out:
        out.write("\n# MicroPython ESP32 modules, added by tools/firmware_types.py\n")
        for name in sorted(added - listed):
            out.write("%s: 3.0-\n" % name)
    return dest


def python_files(roots):
    out = []
    for root in map(Path, roots):
        if root.is_file():
            out.append(root)
        else:
            out.extend(p for p in sorted(root.rglob("*.py")) if "__pycache__" not in p.parts)
    return out


def _catches_import_error(t):
    if t is None:
        return False
    names = t.elts if isinstance(t, ast.Tuple) else [t]
    return any(isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError") for n in names)


def _micropython_test(test):
    # True for `sys.implementation.name == "micropython"`, False for `!=`,
    # None for any other condition.
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return None
    sides = [test.left, test.comparators[0]]
    if not any(isinstance(s, ast.Constant) and s.value == "micropython" for s in sides):
        return None
    if not any(isinstance(s, ast.Attribute) and s.attr == "name" for s in sides):
        return None
    if isinstance(test.ops[0], ast.Eq):
        return True
    if isinstance(test.ops[0], ast.NotEq):
        return False
    return None


def _span(body):
    return (body[0].lineno, max(getattr(n, "end_lineno", n.lineno) for n in body))


def cpython_only_lines(source):
    """The (first, last) line ranges of `source` that do not run on a board."""
    spans = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Try):
            spans.extend(_span(h.body) for h in node.handlers if _catches_import_error(h.type))
        elif isinstance(node, ast.If):
            side = _micropython_test(node.test)
            if side is True and node.orelse:
                spans.append(_span(node.orelse))
            elif side is False:
                spans.append(_span(node.body))
    return spans


def stub_only_imports(path):
    """Findings for imports of modules that exist only as type-checking helpers."""
    helpers = stub_only_modules()
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    guarded = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(_catches_import_error(h.type) for h in node.handlers):
            for child in node.body:
                guarded.update(id(n) for n in ast.walk(child))
    out = []
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Import):
            mods = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            mods = [node.module]
        else:
            continue
        for mod in mods:
            if mod.split(".")[0] in helpers:
                out.append(Finding(str(path), node.lineno, "import-not-found",
                                   'MicroPython on an ESP32 has no module "%s"' % mod))
    return out


def mypy_command(files, typeshed, cache_dir):
    return [sys.executable, "-m", "mypy",
            "--custom-typeshed-dir", str(typeshed),
            "--no-site-packages",
            "--python-version", "3.11",
            "--check-untyped-defs",
            "--explicit-package-bases",
            "--show-error-codes", "--no-error-summary", "--no-pretty", "--no-color-output",
            "--show-absolute-path",
            "--cache-dir", str(cache_dir)] + [str(f) for f in files]


def check(roots=None, typeshed=None, cache_dir=None, mypy_path=None):
    """Type-check `roots` (default firmware/ and protocols/).

    Returns (fidelity, other): lists of Finding. `fidelity` is what fails the
    guard; `other` is mypy's remaining opinion, for information. `mypy_path`
    is where imports resolve: by default firmware/ (the board's flash root, so
    `from runtime import queue` works) and the repository (for `protocols`).
    """
    if roots is None:
        roots = [ROOT / "firmware", ROOT / "protocols"]
    if mypy_path is None:
        mypy_path = [ROOT / "firmware", ROOT]
    files = python_files(roots)
    if not files:
        return [], []
    with tempfile.TemporaryDirectory(prefix="cityfleet-mpy-") as scratch:
        if typeshed is None:
            typeshed = build_typeshed(Path(scratch) / "typeshed")
        if cache_dir is None:
            cache_dir = Path(scratch) / "cache"
        env = dict(os.environ, MYPYPATH=os.pathsep.join(str(p) for p in mypy_path))
        env.pop("MYPY_CACHE_DIR", None)
        done = subprocess.run(mypy_command(files, typeshed, cache_dir), capture_output=True,
                              text=True, cwd=str(ROOT), env=env)
    if done.returncode not in (0, 1):
        raise RuntimeError("mypy failed to run:\n" + done.stdout + done.stderr)
    findings = []
    for line in done.stdout.splitlines():
        m = _LINE.match(line)
        if m:
            findings.append(Finding(m["path"], int(m["line"]), m["code"] or "", m["message"]))
    for f in files:
        findings.extend(stub_only_imports(f))
    skip = {}
    fidelity, other = [], []
    for f in findings:
        if f.path not in skip:
            try:
                skip[f.path] = cpython_only_lines(Path(f.path).read_text(encoding="utf-8"))
            except (OSError, SyntaxError):
                skip[f.path] = []
        if any(a <= f.line <= b for a, b in skip[f.path]):
            continue
        (fidelity if f.code in FIDELITY_CODES else other).append(f)
    return fidelity, other


def _show(f):
    try:
        path = Path(f.path).relative_to(ROOT)
    except ValueError:
        path = f.path
    return "%s:%d: %s  [%s]" % (path, f.line, f.message, f.code)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    fidelity, other = check(argv or None)
    for f in other:
        print("note   " + _show(f))
    for f in fidelity:
        print("ERROR  " + _show(f))
    print("%d finding(s) a real ESP32 would fail on, %d other mypy finding(s); stubs: %s" % (
        len(fidelity), len(other), ", ".join("%s %s" % kv for kv in stub_versions().items())))
    return 1 if fidelity else 0


if __name__ == "__main__":
    sys.exit(main())
