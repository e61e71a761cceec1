"""The engine's risk desk: the pre-trade gate, the automatic triggers and the FLATTEN action.

The engine calls in at a few points only (``pre_trade`` and ``post_check`` for every order,
``on_event`` for every broker event, ``on_rejected``, ``on_heartbeat`` about once a second,
``on_resume``); everything that changes the trading state goes back through the engine's own
``kill`` / ``set_trading_state``, so the latch and its persistence stay in one place.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from engine.broker.base import BarEvent, BrokerEvent, ConnectionEvent, PriceEvent
from engine.config import RiskSettings
from engine.model import Order, TimeFrame
from engine.risk.flatten import Holding, closing_orders
from engine.risk.gate import RiskGate
from engine.risk.triggers import Triggers, Trip
from engine.runtime.logbook import incident
from engine.runtime.snapshot import StrategyState, TradingState

if TYPE_CHECKING:
    from engine.runtime.engine import Engine

log = logging.getLogger("avin.risk")


class RiskControl:
    def __init__(self, engine: Engine, settings: RiskSettings | None = None) -> None:
        self.engine = engine
        self.settings = settings or RiskSettings()
        self.gate = RiskGate(
            self.settings,
            engine.book,
            engine.instruments,
            state=lambda: engine.trading_state,
            market_open=self.market_open,
            budget=self._budget,
            fallback_price=self._chart_price,
        )
        self.triggers = Triggers(self.settings)
        self.trips: list[Trip] = []
        self.flattening = False

    # --- engine hooks ---------------------------------------------------------------------------

    def pre_trade(self, order: Order) -> str:
        rejection = self.gate.check(order)
        return "" if rejection is None else str(rejection)

    def post_check(self, order: Order) -> str:
        return self.gate.post_check(order)

    def on_event(self, event: BrokerEvent) -> None:
        if isinstance(event, PriceEvent):
            self.gate.mark(event.instrument, event.price)
            self.triggers.on_market_data()
        elif isinstance(event, BarEvent):
            if event.timeframe is TimeFrame.M1:
                self.gate.last_prices.setdefault(event.instrument, Decimal(str(event.bar.close)))
                self.triggers.on_market_data()
        elif isinstance(event, ConnectionEvent):
            self._fire(self.triggers.on_connection(event.connected, event.reason))

    def on_rejected(self, order: Order) -> None:
        self._fire(self.triggers.on_reject(order.reason))

    def on_heartbeat(self) -> None:
        market_ts = self.engine._market_ts
        self._fire(self.triggers.on_equity(self.equity(), market_ts.date() if market_ts else None))
        self._fire(self.triggers.check_stale(self.market_open(), bool(self.engine.charts)))

    def on_resume(self) -> None:
        self.triggers.rearm(self.equity())
        self.flattening = False

    def counters(self) -> dict[str, int]:
        out = {f"risk.{rule}": n for rule, n in self.gate.rejections.items()}
        out["risk.trips"] = len(self.trips)
        return out

    # --- numbers --------------------------------------------------------------------------------

    def equity(self) -> Decimal:
        """PnL of every account position: realised + unrealised - commission."""
        return sum((p.total_pnl() for p in list(self.engine.book.positions.values())), Decimal(0))

    def market_open(self) -> bool | None:
        market = getattr(self.engine.broker, "market", None)
        value = getattr(market, "is_open", None)
        return value if isinstance(value, bool) else None

    def _budget(self, strategy: str) -> Decimal | None:
        slot = self.engine.strategy(strategy)
        return getattr(slot.spec, "budget", None) if slot is not None else None

    def _chart_price(self, code: str) -> Decimal | None:
        charts = self.engine.charts.get(code)
        bars = charts.read(TimeFrame.M1, 1) if charts is not None else []
        return Decimal(str(bars[-1].close)) if bars else None

    # --- actions --------------------------------------------------------------------------------

    def _fire(self, trip: Trip | None) -> None:
        if trip is None:
            return
        self.trips.append(trip)
        action = self.settings.trigger_action
        log.critical("RISK TRIGGER %s -> %s", trip, action)
        incident(
            f"risk trigger: {trip.trigger}", message=trip.message, action=action, **trip.details
        )
        reason = f"{trip.trigger}: {trip.message}"
        if action == "halt":
            self.engine.kill(reason)
        elif action == "reduce":
            self.reduce(reason)
        else:
            self.flatten(reason)

    def reduce(self, reason: str) -> None:
        """REDUCING: only orders that reduce a position pass (strategies keep running)."""
        if self.engine.trading_state is TradingState.ACTIVE:
            self.engine.set_trading_state(TradingState.REDUCING, reason)

    def flatten(self, reason: str = "manual") -> None:
        """Cancel everything, then close every position with market orders (REDUCING after)."""
        engine = self.engine
        log.critical("FLATTEN (%s): cancelling open orders, then closing positions", reason)
        incident("flatten", reason=reason, open_orders=len(engine.book.open_orders()))
        self.flattening = True
        engine.set_trading_state(TradingState.REDUCING, f"flatten: {reason}")
        for slot in engine.slots:
            if slot.state is StrategyState.RUNNING:
                slot.state = StrategyState.PAUSED
        keys = [o.id for o in engine.book.open_orders()]
        engine._in_loop(lambda: self._start_flatten(keys))

    def _start_flatten(self, keys: list[str]) -> None:
        self.engine.router.cancel_all(keys)
        self.engine._spawn(self._close_positions(), "flatten")

    async def _close_positions(self) -> None:
        engine = self.engine
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.flatten_cancel_timeout
        while engine.book.open_orders() and loop.time() < deadline:
            await asyncio.sleep(0.01)
        left = engine.book.open_orders()
        if left:
            log.error(
                "flatten: %d order(s) still open after the cancels; closing anyway", len(left)
            )
        if engine.trading_state is TradingState.HALTED:
            log.warning("flatten: trading went HALTED meanwhile; positions are left open")
            return
        book = engine.book
        accounts = [Holding(acc, code, p.lots) for (acc, code), p in list(book.positions.items())]
        strategies = [
            Holding(p.account, p.instrument, p.lots, sid)
            for sid, p in list(book.strategy_positions.items())
        ]
        for order in closing_orders(accounts, strategies):
            order.created_ts = engine._market_ts
            result = engine.submit(order)
            log.warning(
                "flatten: %s %d %s on %s: %s%s",
                order.side.value,
                order.lots,
                order.instrument,
                order.account,
                result.status.value,
                f" ({result.reason})" if result.reason else "",
            )
        self.flattening = False

    def describe(self) -> dict[str, Any]:
        return {"trips": [str(t) for t in self.trips], "flattening": self.flattening}
