"""The engine's risk desk: the pre-trade gate, the automatic triggers and the FLATTEN action.

The engine calls in at a few points only (``pre_trade`` and ``post_check`` for every order,
``on_event`` for every broker event, ``on_rejected``, ``on_start`` once recovery is done,
``on_heartbeat`` about once a second, ``on_resume``); everything that changes the trading state
goes back through the engine's own ``kill`` / ``set_trading_state``, so the latch and its
persistence stay in one place. The triggers' baselines travel in the engine's state snapshot
(``to_json`` / ``restore``, called by the state keeper and recovery).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from engine.broker.base import (
    BarEvent,
    BrokerEvent,
    ConnectionEvent,
    PriceEvent,
    TradingStatus,
    server_time,
    session_open,
)
from engine.config import RiskSettings
from engine.model import Order, TimeFrame
from engine.model.incidents import incident
from engine.risk.clock import ClockWatch, trading_day
from engine.risk.flatten import Holding, closing_orders
from engine.risk.gate import RiskGate
from engine.risk.switch import TradingChange
from engine.risk.triggers import Triggers, Trip

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
            market_status=self.market_status,
            budget=self._budget,
            fallback_price=self._chart_price,
        )
        self.triggers = Triggers(self.settings)
        self.clock = ClockWatch(self.settings.clock_skew_warning, self.settings.clock_skew_limit)
        self.trips: list[Trip] = []
        engine.switch.subscribe(self._on_trading)

    @property
    def flattening(self) -> bool:
        return self.engine.switch.flattening

    # --- engine hooks ---------------------------------------------------------------------------

    def pre_trade(self, order: Order) -> str:
        rejection = self.gate.check(order)
        return "" if rejection is None else str(rejection)

    def post_check(self, order: Order) -> str:
        return self.gate.post_check(order)

    def on_event(self, event: BrokerEvent) -> None:
        if isinstance(event, PriceEvent):
            self.gate.mark(event.instrument, event.price)
            self.triggers.on_market_data(event.ts)
        elif isinstance(event, BarEvent):
            if event.timeframe is TimeFrame.M1:
                self.gate.last_prices.setdefault(event.instrument, Decimal(str(event.bar.close)))
                self.triggers.on_market_data()
        elif isinstance(event, ConnectionEvent):
            self._fire(self.triggers.on_connection(event.connected, event.reason))

    def on_rejected(self, order: Order) -> None:
        self._fire(self.triggers.on_reject(order.reason))

    def on_start(self, rearm: bool = False) -> None:
        """Recovery is done, strategies have not traded: the run's starting equity per account;
        ``rearm``: a resume was asked for while no engine ran (``avin resume``)."""
        equities = self.equities()
        self.triggers.start(equities)
        if rearm:
            log.warning("resumed while no engine ran: triggers re-armed, drawdown peaks reset")
            self.triggers.rearm(equities)
        self._check_equity()
        if self.triggers.take_changed():
            self.engine._significant()

    def on_heartbeat(self) -> None:
        self._watch_clock()
        self._check_equity()
        self._fire(
            self.triggers.check_stale(
                self.session_open(), bool(self.engine.charts), self.server_now()
            )
        )
        if self.triggers.take_changed():  # a new trading day or peak: save it soon
            self.engine._significant()

    def _on_trading(self, change: TradingChange) -> None:
        """A resume of trading re-arms every trigger and resets the drawdown peaks."""
        if change.action == "resume":
            self.triggers.rearm(self.equities())

    def _check_equity(self) -> None:
        market_ts = self.engine._market_ts
        day = trading_day(market_ts) if market_ts is not None else None
        self._fire(self.triggers.on_equity(self.equities(), day))

    def _watch_clock(self) -> None:
        warning = self.clock.observe(server_time(self.engine.broker))
        skew = self.clock.skew
        if warning is not None and skew is not None:
            incident("clock skew", message=self.clock.describe(skew), action="warning", **warning)
        self._fire(self.triggers.on_clock_skew(skew, **self.clock.details()))

    def server_now(self) -> datetime | None:
        """The broker's server clock now, for brokers whose market has no clock of its own (the
        simulated market replays its own time: its data is not on any server's clock)."""
        if self.engine._market_clock() is not None:
            return None
        return self.clock.server_now()

    # --- persistence (the engine's state snapshot) ------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return self.triggers.to_json()

    def restore(self, data: Any, *, latched: bool) -> None:
        self.triggers.restore(data, latched=latched)

    def counters(self) -> dict[str, int]:
        out = {f"risk.{rule}": n for rule, n in self.gate.rejections.items()}
        out["risk.trips"] = len(self.trips)
        return out

    # --- numbers --------------------------------------------------------------------------------

    def equity(self) -> Decimal:
        """PnL of every account position: realised + unrealised - commission."""
        return sum((p.total_pnl() for p in list(self.engine.book.positions.values())), Decimal(0))

    def equities(self) -> dict[str, Decimal]:
        """The same per account (accounts with a position, open or flat)."""
        out: dict[str, Decimal] = {}
        for (account, _code), position in list(self.engine.book.positions.items()):
            out[account] = out.get(account, Decimal(0)) + position.total_pnl()
        return out

    def market_open(self) -> bool | None:
        """The broker's own session flag (:class:`engine.broker.base.SessionInfo`), else None."""
        return session_open(self.engine.broker)

    def session_open(self) -> bool | None:
        """Whether the session is open, for the stale-data trigger: the market's own flag (the
        simulated market), else the broker's trading status of the instruments the engine
        watches (T-Invest, whose market has no flag: open while one of them accepts orders);
        None when nothing says."""
        open_now = self.market_open()
        if open_now is not None:
            return open_now
        ask = getattr(self.engine.broker, "market_status", None)
        if not callable(ask):
            return None
        known = False
        for code in list(self.engine.charts):
            try:
                status = ask(code)
            except Exception:  # a broker that cannot tell says nothing
                continue
            if not isinstance(status, TradingStatus):
                continue
            if status.limit or status.market:
                return True
            known = known or status.limit is not None or status.market is not None
        return False if known else None

    def market_status(self, code: str) -> TradingStatus:
        """The broker's trading status of ``code`` (``Broker.market_status``: T-Invest's
        trading-status stream or GetTradingStatus, the simulated session); a broker that does
        not say falls back to the simulated market's open flag."""
        ask = getattr(self.engine.broker, "market_status", None)
        if callable(ask):
            try:
                status = ask(code)
            except Exception as exc:  # a broker that cannot tell must not block trading
                log.warning("trading status of %s: %s", code, exc)
                status = None
            if isinstance(status, TradingStatus) and (
                status.limit is not None or status.market is not None
            ):
                return status
        open_now = self.market_open()
        return TradingStatus(open_now, open_now)

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
        """REDUCING (from ACTIVE only): only orders that reduce a position pass (strategies
        keep running)."""
        self.engine.switch.reduce(reason, automatic=True)

    def flatten(self, reason: str = "manual") -> None:
        """Cancel everything, then close every position with market orders (REDUCING after)."""
        engine = self.engine
        log.critical("FLATTEN (%s): cancelling open orders, then closing positions", reason)
        incident("flatten", reason=reason, open_orders=len(engine.book.open_orders()))
        engine.switch.flatten(reason)  # holds the strategies until trading resumes
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
        if engine.switch.halted:
            log.warning("flatten: trading went HALTED meanwhile; positions are left open")
            engine.switch.flatten_done()
            return
        book = engine.book
        accounts = [Holding(acc, code, p.lots) for (acc, code), p in list(book.positions.items())]
        strategies = [
            Holding(p.account, p.instrument, p.lots, sid)
            for sid, p in list(book.strategy_positions.items())
        ]
        for order in closing_orders(accounts, strategies):
            order.created_ts = engine._market_ts
            if not order.strategy:  # one net order: it closes the strategies' rows as well
                book.allocate(
                    order.id,
                    [
                        h.strategy
                        for h in strategies
                        if h.lots and (h.account, h.instrument) == (order.account, order.instrument)
                    ],
                )
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
        engine.switch.flatten_done()

    def describe(self) -> dict[str, Any]:
        return {"trips": [str(t) for t in self.trips], "flattening": self.flattening}

    def status(self) -> dict[str, Any]:
        """The ``risk`` section of ``avin status --json``: per account the trading day, its
        baseline, the peak and where equity is now; the clock skew when the broker tells."""
        equities = self.equities()
        accounts: dict[str, Any] = {}
        for account, baseline in sorted(list(self.triggers.baselines.items())):
            equity = equities.get(account, Decimal(0))
            accounts[account] = {
                **baseline.to_json(),
                "equity": str(equity),
                "daily_loss": str(baseline.day_start - equity),
                "drawdown": str(baseline.peak - equity),
            }
        return {
            "accounts": accounts,
            "fired": sorted(self.triggers.fired),
            "clock": self.clock.to_json(),
        }
