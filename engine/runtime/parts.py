"""The engine's options and the parts of its state its components share.

:class:`EngineParts` is what start-up, recovery and the state keeper are given instead of the
engine: the broker and the store, the order book, the strategy slots, the charts and
instruments, the counters, the market time and the kill switch, plus the few callables they need
(the market's clocks, "save soon", the risk desk's persisted baselines). Each part is public and
owned by its own class; nothing here reaches into the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from engine.broker.base import Broker
from engine.model import Instrument, Mode, TimeFrame
from engine.model.order_book import OrderManager
from engine.risk.switch import TradingSwitch
from engine.runtime.market_time import MarketTime
from engine.runtime.slots import SlotTable
from engine.state.status_store import StatusStore
from engine.strategy.chart import DEFAULT_DEPTH, InstrumentCharts


@dataclass(slots=True)
class EngineOptions:
    mode: Mode = Mode.SIM
    snapshot_interval: float = 5.0  # seconds between status saves (and on every significant change)
    history_days: int = 3  # sessions of 1-minute history loaded per instrument on start
    history_from_store: bool = False  # stored bars first (not on the simulated market)
    error_storm: int = 5  # strategy errors within ``error_window`` seconds that halt trading
    error_window: float = 60.0
    chart_depth: int = DEFAULT_DEPTH
    record_ticks: bool = False  # the tape of every charted instrument into the tick store
    persist_min_gap: float = 0.2  # at most this often on bursts of significant changes
    heartbeat_interval: float = 1.0
    stop_grace: float = 2.0  # seconds order requests get to finish at shutdown
    control: Any = None  # engine.config.ControlSettings: the control API over TCP (engine.control)


class RiskState(Protocol):
    """The risk desk's state that travels in the engine's state snapshot."""

    def to_json(self) -> dict[str, Any]: ...

    def restore(self, data: Any, *, latched: bool) -> None: ...


def _nothing() -> None:
    return None


def _no_clock() -> datetime | None:
    return None


@dataclass(slots=True)
class EngineParts:
    broker: Broker
    store: StatusStore | None
    options: EngineOptions
    book: OrderManager
    slots: SlotTable
    switch: TradingSwitch
    market: MarketTime = field(default_factory=MarketTime)
    charts: dict[str, InstrumentCharts] = field(default_factory=dict)
    instruments: dict[str, Instrument] = field(default_factory=dict)  # by code
    aliases: dict[str, str] = field(default_factory=dict)  # ticker / code / uid / figi -> code
    counters: dict[str, int] = field(default_factory=dict)
    risk: RiskState | None = None  # the risk desk (set once it is built)
    changed: Callable[[], None] = _nothing  # a change worth saving at once
    own_clock: Callable[[], datetime | None] = _no_clock  # the market's own clock (simulated)
    broker_clock: Callable[[], datetime | None] = _no_clock  # own clock, else the server's

    def code_of(self, name: str) -> str | None:
        """The instrument code a ticker, code, uid or figi stands for (resolved ones only)."""
        return self.aliases.get(name.strip().upper())

    def lot_size(self, code: str) -> int:
        instrument = self.instruments.get(code)
        return instrument.lot if instrument else 1

    def last_close(self, code: str) -> Decimal | None:
        """The close of the newest 1-minute bar charted for ``code``, or None."""
        charts = self.charts.get(code)
        bars = charts.read(TimeFrame.M1, 1) if charts is not None else []
        return Decimal(str(bars[-1].close)) if bars else None
