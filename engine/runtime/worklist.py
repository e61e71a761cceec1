"""Which strategies run where: the configured rows, or the demo worklist when there are none."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class StrategySpec:
    name: str  # registry name (``sma_cross``) or ``package.module:ClassName``
    instrument: str  # ticker or code
    account: str = "sim-1"
    timeframe: str = "1M"
    params: dict[str, Any] = field(default_factory=dict)


DEMO_WORKLIST: tuple[StrategySpec, ...] = (
    StrategySpec("sma_cross", "SBER"),
    StrategySpec("sma_cross", "GAZP"),
    StrategySpec("sma_cross", "LKOH"),
)


class _Row(Protocol):
    name: str
    instrument: str
    account: str
    timeframe: str
    params: dict[str, Any]


def worklist_from_rows(rows: Iterable[_Row]) -> list[StrategySpec]:
    """The configured strategy rows, or the demo worklist when the list is empty."""
    specs = [
        StrategySpec(r.name, r.instrument, r.account, r.timeframe, dict(r.params)) for r in rows
    ]
    return specs or list(DEMO_WORKLIST)
