"""The architecture: imports point one way, light packages stay light, one method table each."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import hybrid
import solvers
from solvers.registry import Registry, method

ROOT = Path(__file__).resolve().parents[1]


def _imports(package: str) -> set[tuple[str, str]]:
    """(file, imported top-level module path) for every import in ``package``."""
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {(str(path.relative_to(ROOT)), a.name) for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((str(path.relative_to(ROOT)), node.module))
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("problems", ("solvers", "hybrid")),
        ("solvers", ("hybrid",)),
        ("hybrid", ("hybrid.app",)),  # the algorithms never reach up into the app
    ],
)
def test_imports_point_one_way(package, forbidden):
    bad = sorted(
        (f, m)
        for f, m in _imports(package)
        if any(m == x or m.startswith(x + ".") for x in forbidden)
        and not f.startswith("hybrid/app/")
        and f != "hybrid/__main__.py"  # `python -m hybrid` starts the app
    )
    assert not bad, bad


@pytest.mark.parametrize("module", ["problems", "solvers", "solvers.multigrid", "hybrid"])
def test_importing_a_layer_loads_neither_torch_nor_matplotlib(module):
    code = (
        f"import sys, {module}; "
        "print(sorted(m for m in ('torch', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_a_method_name_given_twice_is_an_error():
    m = method("a stub")(lambda problem, settings: None)
    with pytest.raises(ValueError, match="'jacobi' is given twice"):
        Registry({"jacobi": m}, parent=solvers.REGISTRY)
    with pytest.raises(ValueError, match="'x' is given twice"):
        Registry([("x", m), ("x", m)])


def test_every_method_has_one_table_entry_and_its_own_name():
    own = set(hybrid.REGISTRY._methods)
    below = set(solvers.REGISTRY.names())
    assert not own & below
    assert set(hybrid.methods()) == own | below
    for name in hybrid.methods():
        assert hybrid.REGISTRY.get(name).name == name
