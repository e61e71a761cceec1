"""One concept per module: no hand-written source module of the engine or the TUI over 500 lines
(the generated protobuf code aside). A module that grows past it is split by role, not trimmed."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 500


def _sources() -> list[Path]:
    files = [*ROOT.joinpath("engine").rglob("*.py"), *ROOT.joinpath("avin_tui").rglob("*.py")]
    return [p for p in files if "_pb2" not in p.name]


def test_no_source_module_is_over_the_limit() -> None:
    sources = _sources()
    assert len(sources) > 100, "the source walk found too little: wrong root?"
    long = {
        str(p.relative_to(ROOT)): n
        for p in sources
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > LIMIT
    }
    assert long == {}, f"split these by role (one concept per module, at most {LIMIT} lines)"
