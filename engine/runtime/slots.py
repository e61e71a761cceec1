"""One configured strategy inside the engine: its instance, context, state and last error."""

from __future__ import annotations

from dataclasses import dataclass

from engine.model import Instrument
from engine.model.snapshot import StrategyState
from engine.runtime.worklist import StrategySpec
from engine.strategy.base import Strategy
from engine.strategy.context import StrategyContext


@dataclass(slots=True)
class StrategySlot:
    id: str
    spec: StrategySpec
    strategy: Strategy | None = None  # None when it could not be built
    ctx: StrategyContext | None = None  # set once the instrument is resolved
    instrument: Instrument | None = None
    state: StrategyState = StrategyState.RUNNING
    error: str = ""
    errors: int = 0
    started: bool = False

    @property
    def instrument_code(self) -> str:
        return self.instrument.code if self.instrument else self.spec.instrument.upper()

    @property
    def active(self) -> bool:
        """Receives order and fill notifications (running or paused)."""
        return self.ctx is not None and self.state in _ACTIVE


_ACTIVE = (StrategyState.RUNNING, StrategyState.PAUSED, StrategyState.HELD)


def slot_ids(specs: list[StrategySpec]) -> list[str]:
    """Stable, readable ids: ``sma_cross:SBER:sim-1`` (``#2`` etc. for repeats)."""
    ids: list[str] = []
    seen: dict[str, int] = {}
    for spec in specs:
        base = f"{spec.name}:{spec.instrument.upper()}:{spec.account}"
        n = seen.get(base, 0) + 1
        seen[base] = n
        ids.append(base if n == 1 else f"{base}#{n}")
    return ids
