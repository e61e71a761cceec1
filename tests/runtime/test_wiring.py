"""The engine is a kernel plus a loop; its components are given parts and callables, never the
engine: no module of the runtime but the engine itself and the launcher imports it (not even for
type checking), the risk package imports nothing of the runtime, and the components reach into
no private attribute of another object's."""

from __future__ import annotations

import ast
from pathlib import Path

import engine

ROOT = Path(engine.__file__).parent
ALLOWED = {"engine.py", "launch.py"}  # the engine, and what builds it from the settings


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_runtime_component_imports_the_engine() -> None:
    holders = [
        p.name
        for p in sorted((ROOT / "runtime").glob("*.py"))
        if p.name not in ALLOWED and "engine.runtime.engine" in _imports(p)
    ]
    assert holders == []


def test_the_risk_package_does_not_import_the_runtime() -> None:
    upward = {
        p.name: sorted(m for m in _imports(p) if m.startswith("engine.runtime"))
        for p in sorted((ROOT / "risk").glob("*.py"))
    }
    assert {name: mods for name, mods in upward.items() if mods} == {}


def test_components_use_no_private_attribute_of_the_engine_or_the_book() -> None:
    """``engine._x`` / ``parts._x`` / ``book._x`` outside the owner's own module."""
    offenders: list[str] = []
    for path in sorted((ROOT / "runtime").glob("*.py")) + sorted((ROOT / "risk").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name)
                and node.value.id in ("engine", "parts", "book")
            ):
                offenders.append(f"{path.name}:{node.lineno} {node.value.id}.{node.attr}")
    assert offenders == []
