"""The engine's risk desk: the pre-trade gate, the automatic triggers and the FLATTEN action.

The engine calls in at a few points only (``pre_trade`` and ``post_check`` for every order,
``on_event`` for every broker event, ``on_rejected``, ``on_start`` once recovery is done,
``on_heartbeat`` about once a second); everything that changes the trading state goes through
the :class:`~engine.risk.switch.TradingSwitch` (a halt through the ``kill`` it is given, which
also cancels the open orders), and a resume of trading reaches it as the switch's decision. The
triggers' baselines travel in the engine's state snapshot (``to_json`` / ``restore``, called by
the state keeper and recovery). It is given the parts it reads and the actions it may take
(callables), never the engine.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import datetime
from decimal import Decimal
from typing import Any

from engine.broker.base import (
    BarEvent,
    Broker,
    BrokerEvent,
    ConnectionEvent,
    PriceEvent,
    TradingStatus,
    server_time,
    session_open,
)
from engine.config import RiskSettings
from engine.model import Instrument, Order, TimeFrame
from engine.model.incidents import incident
from engine.model.order_book import OrderManager
from engine.risk.clock import ClockWatch, trading_day
from engine.risk.flatten import Holding, closing_orders
from engine.risk.gate import RiskGate
from engine.risk.switch import TradingChange, TradingSwitch
from engine.risk.triggers import Triggers, Trip

log = logging.getLogger("avin.risk")

Spawn = Callable[[Coroutine[Any, Any, Any], str], Any]


class RiskControl:
    def __init__(
        self,
        settings: RiskSettings | None,
        *,
        switch: TradingSwitch,
        book: OrderManager,
        instruments: dict[str, Instrument],
        broker: Broker,
        charted: Callable[[], list[str]],
        last_close: Callable[[str], Decimal | None],
        market_time: Callable[[], datetime | None],
        own_clock: Callable[[], datetime | None],
        budget: Callable[[str], Decimal | None],
        changed: Callable[[], None],
        kill: Callable[[str], None],
        cancel_all: Callable[[list[str]], None],
        submit: Callable[[Order], Order],
        spawn: Spawn,
        in_loop: Callable[[Callable[[], None]], None],
    ) -> None:
        self.settings = settings or RiskSettings()
        self.switch = switch
        self.book = book
        self.broker = broker
        self._charted = charted  # the codes of the instruments the engine charts
        self._last_close = last_close  # the last closed 1-minute bar of a code, or None
        self._market_time = market_time
        self._own_clock = own_clock  # the market's own clock (the simulated market), or None
        self._budget = budget  # a strategy row's capital budget, or None
        self._changed = changed  # save soon (a new trading day, a peak)
        self._kill = kill  # HALTED and every open order cancelled
        self._cancel_all = cancel_all
        self._submit = submit  # the pre-trade rules, then sent
        self._spawn = spawn
        self._in_loop = in_loop  # run on the engine loop (thread-safe)
        self.gate = RiskGate(
            self.settings,
            book,
            instruments,
            state=lambda: switch.state,
            market_status=self.market_status,
            budget=budget,
            fallback_price=last_close,
            clock=self.window_clock,
        )
        self.triggers = Triggers(self.settings, window_clock=self.window_clock)
        self.clock = ClockWatch(self.settings.clock_skew_warning, self.settings.clock_skew_limit)
        self.trips: list[Trip] = []
        switch.subscribe(self._on_trading)

    @property
    def flattening(self) -> bool:
        return self.switch.flattening

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
        """The broker rejected ``order`` (the engine's own refusals do not come here)."""
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
            self._changed()

    def on_heartbeat(self) -> None:
        self._watch_clock()
        self._check_equity()
        self._fire(
            self.triggers.check_stale(self.session_open(), bool(self._charted()), self.server_now())
        )
        if self.triggers.take_changed():  # a new trading day or peak: save it soon
            self._changed()

    def _on_trading(self, change: TradingChange) -> None:
        """A resume of trading re-arms every trigger and resets the drawdown peaks."""
        if change.action == "resume":
            self.triggers.rearm(self.equities())

    def _check_equity(self) -> None:
        market_ts = self._market_time()
        day = trading_day(market_ts) if market_ts is not None else None
        self._fire(self.triggers.on_equity(self.equities(), day))

    def _watch_clock(self) -> None:
        warning = self.clock.observe(server_time(self.broker))
        skew = self.clock.skew
        if warning is not None and skew is not None:
            incident("clock skew", message=self.clock.describe(skew), action="warning", **warning)
        self._fire(self.triggers.on_clock_skew(skew, **self.clock.details()))

    def window_clock(self) -> float:
        """Seconds on the clock every counting window counts in (the order rates, the
        rejections and disconnects triggers, the engine's error storms): the market's own clock
        where it keeps one (the simulated market at ``--speed 3000`` lives 3000 market minutes
        per wall minute: its orders per minute are market minutes), the monotonic clock against
        a real broker."""
        own = self._own_clock()
        return own.timestamp() if own is not None else time.monotonic()

    def server_now(self) -> datetime | None:
        """The broker's server clock now, for brokers whose market has no clock of its own (the
        simulated market replays its own time: its data is not on any server's clock)."""
        if self._own_clock() is not None:
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
        return sum((p.total_pnl() for p in list(self.book.positions.values())), Decimal(0))

    def equities(self) -> dict[str, Decimal]:
        """The same per account (accounts with a position, open or flat)."""
        out: dict[str, Decimal] = {}
        for (account, _code), position in list(self.book.positions.items()):
            out[account] = out.get(account, Decimal(0)) + position.total_pnl()
        return out

    def market_open(self) -> bool | None:
        """The broker's own session flag (:class:`engine.broker.base.SessionInfo`), else None."""
        return session_open(self.broker)

    def session_open(self) -> bool | None:
        """Whether the session is open, for the stale-data trigger: the market's own flag (the
        simulated market), else the broker's trading status of the instruments the engine
        watches (T-Invest, whose market has no flag: open while one of them accepts orders);
        None when nothing says."""
        open_now = self.market_open()
        if open_now is not None:
            return open_now
        ask = getattr(self.broker, "market_status", None)
        if not callable(ask):
            return None
        known = False
        for code in list(self._charted()):
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
        ask = getattr(self.broker, "market_status", None)
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
            self._kill(reason)
        elif action == "reduce":
            self.reduce(reason)
        else:
            self.flatten(reason)

    def reduce(self, reason: str) -> None:
        """REDUCING (from ACTIVE only): only orders that reduce a position pass (strategies
        keep running)."""
        self.switch.reduce(reason, automatic=True)

    def flatten(self, reason: str = "manual") -> None:
        """Cancel everything, then close every position with market orders (REDUCING after)."""
        log.critical("FLATTEN (%s): cancelling open orders, then closing positions", reason)
        incident("flatten", reason=reason, open_orders=len(self.book.open_orders()))
        self.switch.flatten(reason)  # holds the strategies until trading resumes
        keys = [o.id for o in self.book.open_orders()]
        self._in_loop(lambda: self._start_flatten(keys))

    def _start_flatten(self, keys: list[str]) -> None:
        self._cancel_all(keys)
        self._spawn(self._close_positions(), "flatten")

    async def _close_positions(self) -> None:
        book = self.book
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.flatten_cancel_timeout
        while book.open_orders() and loop.time() < deadline:
            await asyncio.sleep(0.01)
        left = book.open_orders()
        if left:
            log.error(
                "flatten: %d order(s) still open after the cancels; closing anyway", len(left)
            )
        if self.switch.halted:
            log.warning("flatten: trading went HALTED meanwhile; positions are left open")
            self.switch.flatten_done()
            return
        accounts = [Holding(acc, code, p.lots) for (acc, code), p in list(book.positions.items())]
        strategies = [
            Holding(p.account, p.instrument, p.lots, sid)
            for sid, p in list(book.strategy_positions.items())
        ]
        for order in closing_orders(accounts, strategies):
            order.created_ts = self._market_time()
            if not order.strategy:  # one net order: it closes the strategies' rows as well
                book.allocate(
                    order.id,
                    [
                        h.strategy
                        for h in strategies
                        if h.lots and (h.account, h.instrument) == (order.account, order.instrument)
                    ],
                )
            result = self._submit(order)
            log.warning(
                "flatten: %s %d %s on %s: %s%s",
                order.side.value,
                order.lots,
                order.instrument,
                order.account,
                result.status.value,
                f" ({result.reason})" if result.reason else "",
            )
        self.switch.flatten_done()

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
