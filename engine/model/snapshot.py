"""What the engine shows the outside world: immutable state snapshots and the command interface.

The TUI, headless mode and ``avin status`` use only this: commands in, snapshots out. It is
process-agnostic (plain data), so the engine may later run in its own process with the TUI
attaching to it. Readers pull the latest snapshot on a timer; the engine never pushes per event.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol

from engine.model import Bar, Mode, TimeFrame


class TradingState(Enum):
    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"  # only orders that reduce a position
    HALTED = "HALTED"  # nothing new; open orders cancelled


class StrategyState(Enum):
    RUNNING = "running"
    PAUSED = "paused"  # by hand: stays paused until resumed by hand (also across restarts)
    HELD = "held"  # would run; held by the trading state (HALTED, a flatten) until trading resumes
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class StrategyRow:
    id: str
    name: str
    instrument: str
    account: str
    state: str
    position: int  # signed lots
    pnl: Decimal  # net: realised + unrealised - commission
    error: str = ""
    held_by: str = ""  # state "held": what holds it ("halt", "reduce")
    commission: Decimal = Decimal(0)

    @property
    def state_text(self) -> str:
        """The state as shown: ``held (halt)`` names what holds the strategy."""
        return f"{self.state} ({self.held_by})" if self.held_by else self.state


@dataclass(frozen=True, slots=True)
class OrderRow:
    key: str
    instrument: str
    side: str
    type: str
    lots: int
    filled: int
    price: Decimal | None
    status: str
    ts: datetime | None
    strategy: str = ""
    account: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class PositionRow:
    account: str
    instrument: str
    lots: int
    avg_price: Decimal
    last_price: Decimal | None
    unrealized: Decimal  # before commission
    realized: Decimal  # before commission
    commission: Decimal
    pnl: Decimal = Decimal(0)  # the P&L: realised + unrealised - commission (as strategies')


@dataclass(frozen=True, slots=True)
class BudgetRow:
    """One worklist row in the account view: its capital budget and what of it is used."""

    strategy: str
    account: str
    instrument: str
    budget: str  # as configured: "100000", "10%", "100000 (default)"; "" without one
    limit: Decimal | None  # the budget in RUB now (a share: of the day's equity); None: none
    used: Decimal  # worst-case value of the row's position and open orders, at the last price
    free: Decimal | None  # limit - used (negative: over budget); None without a budget
    equity: Decimal | None  # the account's equity the shares were taken from; None: not known
    equity_day: str = ""  # the trading day (YYYY-MM-DD) that equity was taken for
    share: Decimal | None = None  # used as a percentage of that equity


@dataclass(frozen=True, slots=True)
class EngineSnapshot:
    version: int  # increases with every change; readers skip work when it did not move
    mode: Mode
    trading_state: TradingState
    running: bool
    connected: bool
    pid: int
    recovered: bool
    heartbeat_ts: datetime | None  # wall clock of the engine's last loop turn
    market_ts: datetime | None  # the market's clock (simulated time on SIM)
    last_event_ts: datetime | None
    strategies: tuple[StrategyRow, ...] = ()
    orders: tuple[OrderRow, ...] = ()
    positions: tuple[PositionRow, ...] = ()
    instruments: tuple[str, ...] = ()
    started: bool = True  # start-up is over: ``instruments`` is the whole list, not a part
    counters: dict[str, int] = field(default_factory=dict)
    halt_reason: str = ""  # why trading is HALTED (or REDUCING), empty when ACTIVE
    risk: dict[str, Any] = field(default_factory=dict)  # RiskControl.status(): baselines, clock
    budgets: tuple[BudgetRow, ...] = ()  # the account view: per row, its budget and its use

    @property
    def pnl(self) -> Decimal:
        """The P&L of every position, net of commission (the strategies' P&L adds up to it
        when every fill is a strategy's)."""
        return sum((p.pnl for p in self.positions), Decimal(0))

    @property
    def commission(self) -> Decimal:
        return sum((p.commission for p in self.positions), Decimal(0))

    @property
    def open_orders(self) -> tuple[OrderRow, ...]:
        open_states = {"new", "submitted", "accepted", "partially_filled"}
        return tuple(o for o in self.orders if o.status in open_states)

    def to_json(self) -> dict[str, Any]:
        """The ``avin status --json`` object (stable key names: scripts rely on them)."""
        return {
            "version": self.version,
            "mode": self.mode.value,
            "trading_state": self.trading_state.value,
            "halt_reason": self.halt_reason,
            "running": self.running,
            "connected": self.connected,
            "pid": self.pid,
            "recovered": self.recovered,
            "heartbeat_ts": _iso(self.heartbeat_ts),
            "market_ts": _iso(self.market_ts),
            "last_event_ts": _iso(self.last_event_ts),
            "strategies": [_plain(asdict(s)) for s in self.strategies],
            "positions": [_plain(asdict(p)) for p in self.positions],
            "pnl": str(self.pnl),
            "commission": str(self.commission),
            "open_orders": [_plain(asdict(o)) for o in self.open_orders],
            "orders": [_plain(asdict(o)) for o in self.orders],
            "counters": dict(self.counters),
            "risk": _plain(self.risk),
            "budgets": [_plain(asdict(b)) for b in self.budgets],
            "instruments": list(self.instruments),
            "started": self.started,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EngineSnapshot:
        """The snapshot back from :meth:`to_json` (a control API client, ``avin attach``).

        Decimals, times and enums come back as they were; ``risk`` stays plain JSON (its
        decimals and times as strings). Keys an older robot did not write take their defaults;
        a value of the wrong type raises ValueError (or KeyError for a missing required key).
        """
        return cls(
            version=int(data.get("version", 0)),
            mode=Mode(data["mode"]),
            trading_state=TradingState(data["trading_state"]),
            running=bool(data["running"]),
            connected=bool(data["connected"]),
            pid=int(data["pid"]),
            recovered=bool(data["recovered"]),
            heartbeat_ts=_time(data.get("heartbeat_ts")),
            market_ts=_time(data.get("market_ts")),
            last_event_ts=_time(data.get("last_event_ts")),
            strategies=tuple(_strategy(s) for s in data.get("strategies", ())),
            orders=tuple(_order(o) for o in data.get("orders", ())),
            positions=tuple(_position(p) for p in data.get("positions", ())),
            instruments=tuple(str(i) for i in data.get("instruments", ())),
            started=bool(data.get("started", True)),
            counters={str(k): int(v) for k, v in dict(data.get("counters", {})).items()},
            halt_reason=str(data.get("halt_reason", "")),
            risk=dict(data.get("risk", {})),
            budgets=tuple(_budget(b) for b in data.get("budgets", ())),
        )


class EngineControl(Protocol):
    """Commands the UI (or another shell) sends; each returns at once and never blocks on I/O."""

    def snapshot(self) -> EngineSnapshot: ...

    def chart(self, instrument: str, timeframe: TimeFrame, count: int) -> list[Bar]:
        """The newest ``count`` bars (the last one may be in progress), oldest first."""
        ...

    def pause_strategy(self, strategy_id: str) -> None: ...

    def resume_strategy(self, strategy_id: str) -> None: ...

    def cancel_order(self, order_key: str) -> None: ...

    def kill(self, reason: str = "manual") -> None:
        """Halt: trading state HALTED, every strategy paused, every open order cancelled."""
        ...


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.isoformat().replace("+00:00", "Z")


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def _dec(text: Any) -> Decimal:
    return Decimal(str(text))


def _strategy(d: dict[str, Any]) -> StrategyRow:
    return StrategyRow(
        id=str(d["id"]),
        name=str(d["name"]),
        instrument=str(d["instrument"]),
        account=str(d["account"]),
        state=str(d["state"]),
        position=int(d["position"]),
        pnl=_dec(d["pnl"]),
        error=str(d.get("error", "")),
        held_by=str(d.get("held_by", "")),
        commission=_dec(d.get("commission", "0")),
    )


def _order(d: dict[str, Any]) -> OrderRow:
    price = d.get("price")
    return OrderRow(
        key=str(d["key"]),
        instrument=str(d["instrument"]),
        side=str(d["side"]),
        type=str(d["type"]),
        lots=int(d["lots"]),
        filled=int(d["filled"]),
        price=None if price is None else _dec(price),
        status=str(d["status"]),
        ts=_time(d.get("ts")),
        strategy=str(d.get("strategy", "")),
        account=str(d.get("account", "")),
        reason=str(d.get("reason", "")),
    )


def _position(d: dict[str, Any]) -> PositionRow:
    last = d.get("last_price")
    return PositionRow(
        account=str(d["account"]),
        instrument=str(d["instrument"]),
        lots=int(d["lots"]),
        avg_price=_dec(d["avg_price"]),
        last_price=None if last is None else _dec(last),
        unrealized=_dec(d["unrealized"]),
        realized=_dec(d["realized"]),
        commission=_dec(d["commission"]),
        pnl=_dec(d.get("pnl", "0")),
    )


def _budget(d: dict[str, Any]) -> BudgetRow:
    def maybe(key: str) -> Decimal | None:
        value = d.get(key)
        return None if value is None else _dec(value)

    return BudgetRow(
        strategy=str(d["strategy"]),
        account=str(d["account"]),
        instrument=str(d.get("instrument", "")),
        budget=str(d.get("budget", "")),
        limit=maybe("limit"),
        used=_dec(d.get("used", "0")),
        free=maybe("free"),
        equity=maybe("equity"),
        equity_day=str(d.get("equity_day", "")),
        share=maybe("share"),
    )


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, Enum):
        return value.value
    return value
