"""A small form for a new worklist row: strategy, instrument, account, parameters, budget."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from engine.runtime.worklist import StrategySpec

FIELDS = (
    ("name", "Strategy", "sma_cross"),
    ("instrument", "Instrument", "SBER"),
    ("account", "Account", "sim-1"),
    ("timeframe", "Timeframe", "1M"),
    ("params", "Params (JSON)", '{"fast": 5, "slow": 20, "lots": 1}'),
    ("budget", "Budget, RUB (empty: none)", ""),
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
    budget_text = values.get("budget", "").strip().replace(",", "").replace("_", "")
    try:
        budget = Decimal(budget_text) if budget_text else None
    except InvalidOperation:
        raise ValueError(f"budget: {budget_text!r} is not a number") from None
    if budget is not None and budget <= 0:
        raise ValueError("budget: must be positive")
    return StrategySpec(
        name,
        instrument,
        values.get("account", "").strip() or "sim-1",
        values.get("timeframe", "").strip() or "1M",
        params,
        budget,
    )


class AddStrategyScreen(ModalScreen[StrategySpec | None]):
    DEFAULT_CSS = """
    AddStrategyScreen {
        align: center middle;
        & > Vertical {
            width: 72;
            max-width: 100%;
            height: auto;
            border: thick $accent;
            background: $surface;
            padding: 0 1;
        }
        & Input { width: 1fr; }
        & Label { width: 26; padding: 1 0 0 0; }
        & Horizontal { height: auto; }
        & #add-error { color: $error; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("[b]Add a worklist row[/b] (enter: add, escape: cancel)")
            for key, label, default in FIELDS:
                with Horizontal():
                    yield Label(label)
                    yield Input(value=default, id=f"add-{key}")
            yield Static("", id="add-error")
            with Horizontal():
                yield Button("Add", id="add", variant="primary")
                yield Button("Cancel", id="cancel")

    def values(self) -> dict[str, str]:
        return {key: self.query_one(f"#add-{key}", Input).value for key, _, _ in FIELDS}

    def submit(self) -> None:
        try:
            spec = parse_spec(self.values())
        except ValueError as exc:
            self.query_one("#add-error", Static).update(str(exc))
            return
        self.dismiss(spec)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "add":
            self.submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
