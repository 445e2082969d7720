"""The lower layers import nothing from the layers above them, so no cycle can form and none needs
a function-local import to hide it: ``files/`` and ``overrides.py`` at the bottom, then ``data/``
and ``models/``, then ``runs/``, ``training/``, ``sweeps/``, ``tools/`` and the entry points."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "loralab"
UPPER = ("runs", "training", "sweeps", "tools", "callbacks", "console_scripts", "api")
# Each lower layer, and the loralab modules it may not import.
FORBIDDEN = {
    "data": UPPER,
    "models": UPPER,
    "files": (*UPPER, "data", "models", "lora", "plugins", "instantiate", "configs"),
    "overrides.py": ("",),  # nothing of loralab at all
}


def _modules(layer: str) -> list[Path]:
    path = PACKAGE / layer
    return [path] if path.suffix == ".py" else sorted(path.rglob("*.py"))


def _loralab_imports(path: Path) -> list[tuple[ast.AST, str, bool]]:
    """Each ``loralab.*`` import of ``path``: the node, the module, and whether it is inside a function."""
    tree = ast.parse(path.read_text(), filename=str(path))
    inside = {
        id(node)
        for function in ast.walk(tree)
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
        for node in ast.walk(function)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [(node, name, id(node) in inside) for name in names if name.split(".")[0] == "loralab"]
    return found


def _layer_violations(layer: str) -> list[str]:
    bad = []
    for path in _modules(layer):
        seen = set()
        for node, module, local in _loralab_imports(path):
            parts = module.split(".")
            where = f"{path.relative_to(PACKAGE)}:{node.lineno}"
            if where in seen:
                continue
            if any(parts[1:2] == [word] or (word == "" and len(parts) > 1) for word in FORBIDDEN[layer]):
                bad.append(f"{where} imports {module}")
            elif local:
                bad.append(f"{where} imports {module} inside a function")
            else:
                continue
            seen.add(where)
    return bad


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_lower_layer_imports_nothing_above_it(layer):
    assert _modules(layer), f"no modules found for {layer}"
    assert _layer_violations(layer) == []


def test_the_check_sees_a_forbidden_import(tmp_path, monkeypatch):
    """The check itself: a module of data/ importing runs/ (even inside a function) is caught."""
    monkeypatch.setitem(globals(), "PACKAGE", tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "leaky.py").write_text(
        "def f():\n    from loralab.runs.resume import resume_arguments\n    import loralab.data.sources\n"
    )
    bad = _layer_violations("data")
    assert len(bad) == 2
    assert "loralab.runs.resume" in bad[0] and "inside a function" in bad[1]


@pytest.mark.integration
def test_the_lower_layers_import_first_in_a_fresh_interpreter():
    """Imported first, bottom layer up, each module loads: a cycle would fail on a partly
    initialised module. One interpreter: each layer's modules are new to it when its turn comes."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PACKAGE.parent), os.environ.get("PYTHONPATH", "")])}
    files = sorted(f"loralab.files.{path.stem}" for path in (PACKAGE / "files").glob("[!_]*.py"))
    modules = ["loralab.overrides", *files, "loralab.models", "loralab.data"]
    script = "import importlib, sys; [importlib.import_module(name) for name in sys.argv[1:]]"
    result = subprocess.run([sys.executable, "-c", script, *modules], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
