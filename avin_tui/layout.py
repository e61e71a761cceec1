"""The workspace: what the user set up in the TUI, and it comes back after a quit, a crash or an
upgrade.

It is one versioned record in the state store (:mod:`engine.state.workspace`: diskcache by
default, PostgreSQL when configured), written by the app about a second after each change and at
quit. :class:`UiState` is the layout (version ``VERSION``): the open screen, the focused pane,
the maximised pane and the pane sizes, the theme, the chart (instrument, timeframe, ZigZag terms,
zoom and scroll), each table's cursor row and sort, and the log view's state (level, filters,
search: the widget's own ``get_state()``), and what other panes keep with their ``get_state()``
(the chart's depth view).

Reading never fails: a missing record means the defaults silently; a damaged, foreign or unknown
version means the defaults and *one* notice (``problem``). Values of the right shape are kept
one by one, so a record from an older avin keeps what still makes sense (version 1, the old
``ui.json`` file in the state home, is read once and then removed: the record replaces it).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.model import TimeFrame
from engine.paths import homes
from engine.state.workspace import LoadedWorkspace, ValueStore, read_workspace, save_workspace

VERSION = 2
READABLE = (1, 2)  # 1: the layout of ``ui.json`` (focused, instrument, timeframe, terms, level)
PANES = ("strategies", "orders", "positions", "log", "chart")
TABLES = ("strategies", "orders", "positions")
SCREENS = ("main", "backtests", "log")  # "log": the full-screen log viewer
THEMES = ("dark", "light")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
ZOOM_LEVELS = (1, 2, 4, 8)  # bars per column (avin_tui.widgets.chart_view)
COLUMN_WEIGHTS = (1, 1)  # left (tables) and right (chart, log) columns
ROW_WEIGHTS = (1, 1, 1)
MAX_WEIGHT = 8


@dataclass(slots=True)
class TableState:
    cursor: str | None = None  # the key of the row under the cursor
    sort: str | None = None  # a column key
    descending: bool = False


@dataclass(slots=True)
class UiState:
    version: int = VERSION
    screen: str = "main"
    focused: str = "strategies"
    maximized: str | None = None
    theme: str | None = None  # None: the config's ``[ui] theme``
    columns: list[int] = field(default_factory=lambda: list(COLUMN_WEIGHTS))
    rows: list[int] = field(default_factory=lambda: list(ROW_WEIGHTS))
    instrument: str | None = None
    timeframe: str = TimeFrame.M1.code
    terms: list[int] = field(default_factory=lambda: [2, 3])
    zoom: int = 1
    scroll: int = 0  # bars scrolled back from the live edge
    tables: dict[str, TableState] = field(default_factory=dict)
    log: dict[str, Any] = field(default_factory=lambda: {"level": "INFO"})
    panes: dict[str, dict[str, Any]] = field(default_factory=dict)  # a pane's own get_state()

    @property
    def log_level(self) -> str:
        level = self.log.get("level")
        return level if isinstance(level, str) and level in LOG_LEVELS else "INFO"

    @property
    def resized(self) -> bool:
        return self.columns != list(COLUMN_WEIGHTS) or self.rows != list(ROW_WEIGHTS)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def legacy_path() -> Path:
    """Where avin before the workspace record kept the layout."""
    return homes().state / "ui.json"


class Workspace:
    """The workspace record of one store (None: kept in memory only, e.g. a test engine)."""

    def __init__(self, store: ValueStore | None) -> None:
        self.store = store if _is_value_store(store) else None
        self._memory: dict[str, Any] | None = None
        self.saves = 0

    @classmethod
    def of(cls, engine: Any) -> Workspace:
        return cls(getattr(engine, "store", None))

    def load(self) -> tuple[UiState, str | None]:
        """The saved layout, or the defaults and the reason they are used (None: nothing saved,
        or all was well)."""
        if self.store is None:
            loaded = (
                LoadedWorkspace(self._memory, VERSION) if self._memory else LoadedWorkspace(None)
            )
        else:
            loaded = read_workspace(self.store, READABLE)
            if loaded.data is None and loaded.problem is None:
                loaded = _read_legacy()
        if loaded.data is None:
            return UiState(), _with_defaults(loaded.problem)
        try:
            return parse(loaded.data, loaded.version or VERSION), None
        except (TypeError, ValueError, KeyError) as exc:
            return UiState(), _with_defaults(f"the saved workspace is damaged ({exc})")

    def save(self, state: UiState) -> None:
        data = state.to_json()
        if self.store is None:
            self._memory = data
        else:
            save_workspace(self.store, data, VERSION)
            legacy = legacy_path()
            if legacy.exists():  # the record replaces the old file: one place
                legacy.unlink(missing_ok=True)
        self.saves += 1


def _is_value_store(store: Any) -> bool:
    return callable(getattr(store, "get_text", None)) and callable(getattr(store, "put", None))


def _with_defaults(problem: str | None) -> str | None:
    return None if problem is None else f"{problem}; using the default layout"


def _read_legacy() -> LoadedWorkspace:
    path = legacy_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return LoadedWorkspace(None)
    except (OSError, ValueError) as exc:
        return LoadedWorkspace(None, problem=f"could not read {path} ({exc})")
    if not isinstance(raw, dict) or raw.get("version") != 1:
        return LoadedWorkspace(None, problem=f"ignored {path} (not a layout this avin knows)")
    return LoadedWorkspace(raw, 1)


def parse(raw: Any, version: int = VERSION) -> UiState:
    """A layout from its JSON. Wrong types of whole record raise; a single value that makes no
    sense any more (a pane or term that does not exist) is replaced by its default."""
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    state = UiState()
    focused = raw.get("focused")
    if focused in PANES:
        state.focused = focused
    instrument = raw.get("instrument")
    if isinstance(instrument, str) and instrument:
        state.instrument = instrument
    with contextlib.suppress(ValueError):
        state.timeframe = TimeFrame.from_code(str(raw.get("timeframe", state.timeframe))).code
    terms = raw.get("terms")
    if isinstance(terms, list) and all(isinstance(t, int) for t in terms):
        state.terms = sorted({t for t in terms if 1 <= t <= 5})
    if version == 1:
        level = str(raw.get("log_level", "INFO")).upper()
        state.log = {"level": level if level in LOG_LEVELS else "INFO"}
        return state
    if raw.get("screen") in SCREENS:
        state.screen = raw["screen"]
    if raw.get("maximized") in PANES:
        state.maximized = raw["maximized"]
    if raw.get("theme") in THEMES:
        state.theme = raw["theme"]
    state.columns = _weights(raw.get("columns"), COLUMN_WEIGHTS)
    state.rows = _weights(raw.get("rows"), ROW_WEIGHTS)
    if raw.get("zoom") in ZOOM_LEVELS:
        state.zoom = raw["zoom"]
    scroll = raw.get("scroll")
    if isinstance(scroll, int) and scroll >= 0:
        state.scroll = scroll
    tables = raw.get("tables")
    if isinstance(tables, dict):
        for name, value in tables.items():
            if name in TABLES and isinstance(value, dict):
                cursor, sort = value.get("cursor"), value.get("sort")
                state.tables[name] = TableState(
                    cursor if isinstance(cursor, str) else None,
                    sort if isinstance(sort, str) else None,
                    bool(value.get("descending", False)),
                )
    panes = raw.get("panes")
    if isinstance(panes, dict):
        state.panes = {k: dict(v) for k, v in panes.items() if k in PANES and isinstance(v, dict)}
    log = raw.get("log")
    if isinstance(log, dict):
        state.log = dict(log)
        level = str(log.get("level", "INFO")).upper()
        state.log["level"] = level if level in LOG_LEVELS else "INFO"
    return state


def _weights(value: Any, default: tuple[int, ...]) -> list[int]:
    if (
        isinstance(value, list)
        and len(value) == len(default)
        and all(isinstance(v, int) and 1 <= v <= MAX_WEIGHT for v in value)
    ):
        return list(value)
    return list(default)
