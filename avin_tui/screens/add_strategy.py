"""A small form for a new worklist row: strategy, instrument, account, parameters, budget.

On Add the row is checked by the engine (``check_strategy``: the strategy builds with its
parameters, the broker knows the instrument and the account, no identical row exists) in a
worker thread, so a slow broker never freezes the screen; then the engine adds it
(``add_strategy``). Every problem shows in the form itself; a warning (the same strategy already
runs on that instrument and account with other parameters) needs a second Add to go ahead. The
form closes with the added row's id.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from engine.model.budget import Budget
from engine.runtime.worklist import SpecCheck, StrategySpec

FIELDS = (
    ("name", "Strategy", "sma_cross"),
    ("instrument", "Instrument", "SBER"),
    ("account", "Account", "sim-1"),
    ("timeframe", "Timeframe", "1M"),
    ("params", "Params (JSON)", '{"fast": 5, "slow": 20, "lots": 1}'),
    ("budget", "Budget: RUB, N% or empty", ""),
)


def parse_spec(values: dict[str, str]) -> StrategySpec:
    """The row from the form's text, or ValueError saying which field is wrong."""
    name = values.get("name", "").strip()
    instrument = values.get("instrument", "").strip()
    if not name or not instrument:
        raise ValueError("strategy and instrument are required")
    raw = values.get("params", "").strip() or "{}"
    try:
        params: Any = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"params: not JSON ({exc})") from None
    if not isinstance(params, dict):
        raise ValueError('params: a JSON object, e.g. {"lots": 1}')
    budget_text = values.get("budget", "").strip()
    try:
        budget = Budget.parse(budget_text) if budget_text else None
    except ValueError as exc:
        raise ValueError(f"budget: {exc}") from None
    return StrategySpec(
        name,
        instrument,
        values.get("account", "").strip() or "sim-1",
        values.get("timeframe", "").strip() or "1M",
        params,
        budget,
    )


class AddStrategyScreen(ModalScreen[str | None]):
    """Dismissed with the new row's id, or None when cancelled."""

    DEFAULT_CSS = """
    AddStrategyScreen {
        align: center middle;
        & > Vertical {
            width: 72;
            max-width: 100%;
            height: auto;
            max-height: 100%;
            border: thick $accent;
            background: $surface;
            padding: 0 1;
        }
        & Input { width: 1fr; }
        & Label { width: 26; }
        & Horizontal { height: auto; }
        & #add-buttons { margin: 1 0 0 0; }
        & Button { min-width: 10; margin: 0 1 0 0; }
        & #add-error { color: $error; }
        & #add-warning { color: $warning; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, engine: Any = None) -> None:
        super().__init__()
        self.check: Callable[[StrategySpec], SpecCheck] | None = getattr(
            engine, "check_strategy", None
        )
        self.add: Callable[[StrategySpec], str] | None = getattr(engine, "add_strategy", None)
        self.busy = False
        # the row last warned about: Add again on the very same row goes ahead
        self._confirmed: StrategySpec | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("[b]Add a worklist row[/b] (enter: add, escape: cancel)")
            for key, label, default in FIELDS:
                with Horizontal():
                    yield Label(label)
                    yield Input(value=default, id=f"add-{key}", compact=True)
            yield Static("", id="add-error")
            yield Static("", id="add-warning")
            with Horizontal(id="add-buttons"):
                yield Button("Add", id="add", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def values(self) -> dict[str, str]:
        return {key: self.query_one(f"#add-{key}", Input).value for key, _, _ in FIELDS}

    def show(self, error: str = "", warning: str = "") -> None:
        self.query_one("#add-error", Static).update(error)
        self.query_one("#add-warning", Static).update(warning)

    def submit(self) -> None:
        if self.busy:
            return
        try:
            spec = parse_spec(self.values())
        except ValueError as exc:
            self.show(str(exc))
            return
        if self.add is None:
            self.show("the engine cannot add strategies")
            return
        self.busy = True
        self.query_one("#add", Button).disabled = True
        self.show("", "checking with the broker...")
        self.check_and_add(spec, confirmed=spec == self._confirmed)

    @work(thread=True, exclusive=True, group="add-strategy", exit_on_error=False)
    def check_and_add(self, spec: StrategySpec, confirmed: bool) -> None:
        """Off the UI thread: the engine's check (it may ask the broker), then the add."""
        try:
            checked = self.check(spec) if self.check is not None else SpecCheck(spec)
            if checked.errors:
                self.app.call_from_thread(self._refused, checked.errors, checked.warnings)
                return
            if checked.warnings and not confirmed:
                self.app.call_from_thread(self._warned, spec, checked.warnings)
                return
            assert self.add is not None
            new_id = self.add(spec)
        except Exception as exc:  # the engine refused it after all (a race): say why here
            self.app.call_from_thread(self._refused, (str(exc),), ())
            return
        self.app.call_from_thread(self.dismiss, new_id)

    def _ready(self) -> None:
        self.busy = False
        self.query_one("#add", Button).disabled = False

    def _refused(self, errors: tuple[str, ...], warnings: tuple[str, ...]) -> None:
        self._ready()
        self._confirmed = None
        self.show("\n".join(f"✗ {e}" for e in errors), "\n".join(f"! {w}" for w in warnings))

    def _warned(self, spec: StrategySpec, warnings: tuple[str, ...]) -> None:
        self._ready()
        self._confirmed = spec
        text = "\n".join(f"! {w}" for w in warnings)
        self.show("", f"{text}\n[b]Add again[/b] to add it anyway, or change the row.")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "add":
            self.submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
