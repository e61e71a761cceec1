"""UI state that survives a restart: focused pane, chart instrument/timeframe/terms, log level.

A small versioned JSON record in the state home (``ui.json``), written atomically (temp file +
rename) and debounced by the app. A missing file means defaults; an unreadable or foreign one also
means defaults, and :func:`load_ui_state` says why so the app can tell the user.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.model import TimeFrame
from engine.paths import homes

VERSION = 1
PANES = ("strategies", "orders", "positions", "log", "chart")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(slots=True)
class UiState:
    version: int = VERSION
    focused: str = "strategies"
    instrument: str | None = None
    timeframe: str = TimeFrame.M1.code
    terms: list[int] = field(default_factory=lambda: [2, 3])
    log_level: str = "INFO"


def ui_state_path() -> Path:
    return homes().state / "ui.json"


def load_ui_state(path: Path | None = None) -> tuple[UiState, str | None]:
    """The saved state, or defaults and the reason they are used (None when nothing was saved)."""
    path = path or ui_state_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return UiState(), None
    except (OSError, ValueError) as exc:
        return UiState(), f"could not read {path} ({exc}); using the default layout"
    try:
        return _parse(raw), None
    except (TypeError, ValueError, KeyError) as exc:
        return UiState(), f"ignored {path}: {exc}; using the default layout"


def _parse(raw: Any) -> UiState:
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    if raw.get("version") != VERSION:
        raise ValueError(f"version {raw.get('version')!r}, expected {VERSION}")
    state = UiState()
    focused = raw.get("focused", state.focused)
    if focused not in PANES:
        raise ValueError(f"unknown pane {focused!r}")
    instrument = raw.get("instrument")
    if instrument is not None and not isinstance(instrument, str):
        raise ValueError("instrument must be a string")
    timeframe = TimeFrame.from_code(str(raw.get("timeframe", state.timeframe))).code
    terms = [int(t) for t in raw.get("terms", state.terms)]
    if any(not 1 <= t <= 5 for t in terms):
        raise ValueError(f"terms must be 1..5, got {terms}")
    level = str(raw.get("log_level", state.log_level)).upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"unknown log level {level!r}")
    return UiState(VERSION, focused, instrument, timeframe, sorted(set(terms)), level)


def save_ui_state(state: UiState, path: Path | None = None) -> None:
    """Write atomically: a reader (or a crash) sees the old record or the new one, never half."""
    path = path or ui_state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".ui.", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(asdict(state), f, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
