"""Status bar: mode, broker connection, engine heartbeat age, trading state, the simulated
market's time (SIM), Moscow time.

Each field is a Label whose look is set by CSS classes (``-live``, ``-halted``, ``-bad``...).
"""

from __future__ import annotations

from datetime import UTC, datetime

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.widgets import Label

from avin_tui.widgets._format import msk
from engine.model.snapshot import EngineSnapshot, TradingState

AUTO_WIDTH = frozenset({"st-engine"})  # the labels whose width follows their text
STALE_AFTER = 3.0  # seconds without an engine heartbeat before it is shown as stale


class StatusBar(Horizontal):
    DEFAULT_CSS = """
    StatusBar {
        dock: top;  /* on top in a maximised view too */
        height: 1;
        & > Label { padding: 0 1; }
        & > #st-spacer { width: 1fr; padding: 0; }
        /* fixed widths: the text changing every tick then never needs a new layout */
        & > #st-mode { width: 9; }
        & > #st-conn { width: 16; }
        & > #st-hb { width: 11; }
        & > #st-state { width: 10; }
        & > #st-clock { width: 14; }
        & > #st-market { width: 14; display: none; }
        & > #st-market.-sim { display: block; }
    }
    """

    def compose(self) -> ComposeResult:
        yield Label("avin", id="st-app")
        yield Label("MODE", id="st-mode")
        yield Label("broker ?", id="st-conn")
        yield Label("hb -", id="st-hb")
        yield Label("-", id="st-state")
        yield Label("", id="st-engine")
        yield Label("", id="st-spacer")
        yield Label("", id="st-market")
        yield Label("--:--:-- MSK", id="st-clock")

    def __init__(self) -> None:
        super().__init__()
        self._texts: dict[str, str] = {}

    def text_of(self, id: str) -> str:
        return self._texts.get(id, "")

    def _set(self, id: str, text: str, classes: dict[str, bool] | None = None) -> None:
        try:
            label = self.query_one(f"#{id}", Label)
        except NoMatches:  # not composed yet
            return
        if self._texts.get(id) != text:
            self._texts[id] = text
            label.update(text, layout=id in AUTO_WIDTH)  # a layout costs a whole-screen repaint
        for cls, on in (classes or {}).items():
            label.set_class(on, cls)

    def show(
        self, snap: EngineSnapshot | None, now: datetime | None = None, engine_note: str = ""
    ) -> None:
        now = now or datetime.now(UTC)
        self._set("st-clock", f"{msk(now)} MSK")
        self._set("st-engine", engine_note, {"-bad": bool(engine_note)})
        if snap is None:
            return
        mode = snap.mode.value.upper()
        # the simulated market keeps its own time: shown, labelled, next to the wall clock
        sim_time = mode == "SIM" and snap.market_ts is not None
        self._set("st-market", f"sim {msk(snap.market_ts)}" if sim_time else "", {"-sim": sim_time})
        self._set("st-mode", mode, {"-live": mode == "LIVE", "-sandbox": mode == "SANDBOX"})
        self._set(
            "st-conn",
            "● broker" if snap.connected else "○ broker down",
            {"-bad": not snap.connected},
        )
        if snap.heartbeat_ts is None:
            self._set("st-hb", "hb -", {"-stale": True})
        else:
            age = max(0.0, (now - snap.heartbeat_ts).total_seconds())
            text = f"hb {age:.1f}s" if age < 60 else f"hb {age / 60:.0f}m"
            self._set("st-hb", text, {"-stale": age >= STALE_AFTER or not snap.running})
        state = snap.trading_state
        self._set(
            "st-state",
            state.value,
            {"-halted": state is TradingState.HALTED, "-reducing": state is TradingState.REDUCING},
        )
