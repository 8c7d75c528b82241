"""House rules of fleet/: no SQL outside the storage layer; a docstring on every public function."""
import ast
import pathlib
import re

FLEET = pathlib.Path(__file__).resolve().parents[2] / "fleet"
SQL = re.compile(r"\b(SELECT\s+\S|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX)|PRAGMA)\b")


def _modules():
    return sorted(FLEET.rglob("*.py"))


def test_no_sql_outside_the_storage_layer():
    offenders = []
    for path in _modules():
        if "storage" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
                offenders.append("%s:%d" % (path.name, node.lineno))
    assert offenders == []


def test_every_public_function_and_class_has_a_docstring():
    missing = []
    for path in _modules():
        tree = ast.parse(path.read_text())
        nodes = list(tree.body)
        for cls in [n for n in tree.body if isinstance(n, ast.ClassDef)]:
            nodes.extend(cls.body)
        for node in nodes:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                if ast.get_docstring(node) is None:
                    missing.append("%s:%s" % (path.relative_to(FLEET), node.name))
    assert missing == []
