"""The lock file: every pin carries hashes, and a dependency missing from it is named."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "lock.txt"

spec = importlib.util.spec_from_file_location("lock_check", ROOT / "packaging" / "lock_check.py")
assert spec is not None and spec.loader is not None
lock_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lock_check)


def _entries(text: str) -> list[str]:
    """One string per requirement (its continuation lines joined)."""
    entries: list[str] = []
    for line in text.splitlines():
        if line.startswith((" ", "\t")) and entries:
            entries[-1] += line
        elif line and not line.startswith("#"):
            entries.append(line)
    return entries


def test_every_pin_of_the_lock_has_a_hash() -> None:
    entries = _entries(LOCK.read_text(encoding="utf-8"))
    assert len(entries) > 20
    for entry in entries:
        assert "==" in entry and "--hash=sha256:" in entry, entry


def test_the_lock_pins_the_runtime_and_the_binary_tools() -> None:
    pinned = lock_check.pinned(LOCK)
    for name in ("textual", "polars", "grpcio", "pytest", "ruff", "mypy", "pyinstaller"):
        assert name in pinned


def test_a_dependency_missing_from_the_lock_is_named(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "avin"\ndependencies = ["Textual>=1", "rich"]\n'
        '[project.optional-dependencies]\ndev = ["pytest_textual.snapshot>=1"]\n'
    )
    lock = tmp_path / "lock.txt"
    lock.write_text("textual==8.0 \\\n    --hash=sha256:00\nrich==13 \\\n    --hash=sha256:11\n")
    missing = lock_check.declared(pyproject) - lock_check.pinned(lock)
    assert missing == {"pytest-textual-snapshot"}
