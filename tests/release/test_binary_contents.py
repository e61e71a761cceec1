"""What the binary leaves out must stay unused: packaging/avin.spec excludes pyarrow, numba (and
llvmlite) and psycopg, so the code the CLI runs may import them only where a fallback exists."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "packaging" / "avin.spec"

# module -> where it may be imported without a fallback (an import inside a ``try`` that catches
# ImportError is always fine: that is the fallback)
ALLOWED_IMPORTS = {
    # polars reads and writes Parquet itself; the data service (Arrow Flight) is reached only
    # through imports guarded in the CLI and the source registry (a plain error in the binary)
    "pyarrow": {"engine/data/service.py", "engine/data/remote.py"},
    "numba": {
        "engine/data/_segments_jit.py",  # imported by timeframes.py under try/except ImportError
        "engine/backtest/vector.py",  # the vectorised rule runner: tests and bench only
    },
    "llvmlite": set(),
    "psycopg": set(),
}


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    names = {n.id for n in ast.walk(handler.type) if isinstance(n, ast.Name)}
    return bool(names & {"ImportError", "ModuleNotFoundError", "Exception"})


def _imports(path: Path) -> set[str]:
    """Dotted names of the modules ``path`` imports outside a try/except ImportError."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(_catches_import_error(h) for h in node.handlers):
            for statement in node.body:
                guarded |= {id(n) for n in ast.walk(statement)}
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def _imported_modules(path: Path) -> set[str]:
    """Top-level names of the modules ``path`` imports outside a try/except ImportError."""
    return {name.split(".")[0] for name in _imports(path)}


def test_excluded_packages_are_imported_only_where_allowed() -> None:
    problems = []
    for package in ("engine", "avin_tui"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            for module in _imported_modules(path) & ALLOWED_IMPORTS.keys():
                if rel not in ALLOWED_IMPORTS[module]:
                    problems.append(f"{rel} imports {module}, which the binary leaves out")
    assert not problems, "\n".join(problems)


def test_the_spec_excludes_them() -> None:
    text = SPEC.read_text(encoding="utf-8")
    for module in ALLOWED_IMPORTS:
        assert f'"{module}"' in text, module


def test_nothing_imports_the_vectorised_runner_outside_tests() -> None:
    """The vectorised runner needs numba (left out of the binary): only the vectorised sweep uses
    it, and the command line reaches that through an import guarded by ImportError."""
    allowed = {"engine/backtest/vector_sweep.py"}
    for package in ("engine", "avin_tui"):
        for path in (ROOT / package).rglob("*.py"):
            if path.relative_to(ROOT).as_posix() in allowed:
                continue
            source = path.read_text(encoding="utf-8")
            assert "import vector" not in source and "backtest.vector import" not in source, path
    for path in (ROOT / "avin_tui").rglob("*.py"):
        if "engine.backtest.vector_sweep" in _imports(path):
            raise AssertionError(f"{path} imports the vectorised sweep outside a guarded import")


def test_rules_compute_without_numba(monkeypatch: pytest.MonkeyPatch) -> None:
    """The binary has no numba: the rule layer's window mean falls back to the same Python loop."""
    import builtins

    import numpy as np

    from engine.strategy import rules

    real_import = builtins.__import__

    def no_numba(name: str, *args: object, **kwargs: object) -> object:
        if name.split(".")[0] == "numba":
            raise ModuleNotFoundError("No module named 'numba'")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(rules, "_KERNELS", {})
    monkeypatch.setattr(builtins, "__import__", no_numba)
    out = rules.window_mean(np.array([1.0, 2.0, 3.0, 4.0]), 2)
    assert np.isnan(out[0]) and list(out[1:]) == [1.5, 2.5, 3.5]
