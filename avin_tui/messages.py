"""Messages the panes post to the app. The app alone talks to the engine."""

from __future__ import annotations

from textual.message import Message


class StrategyToggleRequested(Message):
    """Pause a running strategy or resume a paused one."""

    def __init__(self, strategy_id: str, state: str) -> None:
        super().__init__()
        self.strategy_id = strategy_id
        self.state = state


class OrderCancelRequested(Message):
    """Cancel one order."""

    def __init__(self, order_key: str, status: str) -> None:
        super().__init__()
        self.order_key = order_key
        self.status = status


class InstrumentSelected(Message):
    """A row naming an instrument was highlighted: the chart follows it."""

    def __init__(self, instrument: str) -> None:
        super().__init__()
        self.instrument = instrument


class StrategyAddRequested(Message):
    """Open the form for a new worklist row."""


class StrategyRemoveRequested(Message):
    """Remove a worklist row (after a confirmation)."""

    def __init__(self, strategy_id: str) -> None:
        super().__init__()
        self.strategy_id = strategy_id


class StrategyStopRequested(Message):
    """Stop a worklist row (its orders are cancelled; space starts it again)."""

    def __init__(self, strategy_id: str) -> None:
        super().__init__()
        self.strategy_id = strategy_id


class StrategyCloseRequested(Message):
    """Close one worklist row's position at market (after a confirmation)."""

    def __init__(self, strategy_id: str) -> None:
        super().__init__()
        self.strategy_id = strategy_id
