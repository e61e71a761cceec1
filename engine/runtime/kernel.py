"""The engine's synchronous core: one broker event in, charts, positions, hooks and orders out.

:class:`Kernel` handles each event the loop takes from ``broker.events()`` (bars into the charts
and ``on_bar``, prices into the positions, fills and order updates into the order book,
``on_fill`` / ``on_order``, connection changes), and owns the order flow: the strategy host
(hooks, their intents, the pre-trade gate) and the order router (post, cancel, resolve). A hook
that raises fails its strategy; an error storm (strategy or engine errors, counted on the risk
desk's window clock: market seconds on the simulated market) halts trading through the ``kill``
it is given. It is given the engine's parts and callables, never the engine; the
risk desk is attached once built (it needs the kernel's ``submit``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from engine.broker.base import (
    BarEvent,
    BrokerEvent,
    ConnectionEvent,
    FillEvent,
    OrderUpdate,
    PriceEvent,
)
from engine.model import Fill, Order, OrderStatus, TimeFrame
from engine.model.incidents import incident
from engine.model.snapshot import StrategyState
from engine.risk.checks import Rejection
from engine.risk.control import RiskControl
from engine.runtime.guards import ErrorStorm
from engine.runtime.keeper import StateKeeper
from engine.runtime.market_feed import MarketFeed
from engine.runtime.netting import NettingDesk
from engine.runtime.parts import EngineParts
from engine.runtime.recovery import book_missed_fill
from engine.runtime.router import OrderRouter
from engine.runtime.slots import StrategySlot
from engine.runtime.tasks import TaskRunner
from engine.strategy.host import StrategyHost

log = logging.getLogger("avin.engine")


class Kernel:
    def __init__(
        self,
        parts: EngineParts,
        keeper: StateKeeper,
        feed: MarketFeed,
        tasks: TaskRunner,
        *,
        kill: Callable[[str], None],
        touch: Callable[[], None],
    ) -> None:
        self.parts = parts
        self.book = parts.book
        self.market = parts.market
        self.counters = parts.counters
        self.keeper = keeper
        self.feed = feed
        self._kill = kill  # HALTED and every open order cancelled
        self._touch = touch  # a change readers should see (not worth a save by itself)
        self._changed = parts.changed  # a change worth saving at once
        self.connected = False
        self.last_event_ts: datetime | None = None
        options = parts.options
        self._storm = ErrorStorm(options.error_storm, options.error_window)
        self._engine_storm = ErrorStorm(options.error_storm, options.error_window)
        self._risk: RiskControl | None = None  # attached once built (it submits through us)
        self.router = OrderRouter(
            parts.broker,
            self.book,
            spawn=tasks.spawn,
            clock=self.market,
            changed=self.order_changed,
            reject=self.reject_local,
            counters=self.counters,
            blocked=lambda order: self.risk.post_check(order),
            journal=keeper.journal,
            settle=lambda order, view: book_missed_fill(
                keeper, order, view, now=self.market.now, on_fill=self.on_fill
            ),
        )
        # a turn's market orders of one account and instrument, crossed (engine.runtime.netting)
        self.netting = NettingDesk(
            self.book,
            send=self.router.post,
            on_fill=self.on_fill,
            journal_order=keeper.order_changed,
            journal_net=keeper.net,
            price=lambda code: self.risk.gate.last_price(code),
            clock=self.market,
            counters=self.counters,
            refuse=self._refuse,
            self_trade=lambda: self.risk.settings.prevent_self_trade,
        )
        # strategy hooks, their intents, the pre-trade rules and posting (engine.strategy.host)
        self.host: StrategyHost[StrategySlot] = StrategyHost(
            post=self._post,
            reject=self.reject_local,
            cancel=self.router.cancel,
            failed=self.fail,
            clock=self.market,
            gate=lambda order: self.risk.pre_trade(order),
            admit=_admit,
        )

    @property
    def risk(self) -> RiskControl:
        assert self._risk is not None, "the risk desk is attached before the engine runs"
        return self._risk

    @risk.setter
    def risk(self, risk: RiskControl) -> None:
        self._risk = risk
        risk.gate.nets = self.netting.pairs  # orders netted together do not self-trade

    # --- events ---------------------------------------------------------------------------------

    def handle(self, event: BrokerEvent) -> None:
        self.risk.on_event(event)
        if isinstance(event, BarEvent):
            self._on_bar_event(event)
        elif isinstance(event, PriceEvent):
            self.market.advance(event.ts)
            self.book.mark(event.instrument, event.price)
        elif isinstance(event, FillEvent):
            self.on_fill(event.fill)
        elif isinstance(event, OrderUpdate):
            self.market.advance(event.ts)
            changed = self.book.apply_update(event.order, event.ts)
            if changed is not None:
                self.order_changed(changed)
        elif isinstance(event, ConnectionEvent):
            if self.connected and not event.connected:
                self.counters["disconnects"] = self.counters.get("disconnects", 0) + 1
            self.connected = event.connected
            level = logging.INFO if event.connected else logging.WARNING
            state = "connected" if event.connected else "disconnected"
            log.log(level, "broker %s %s", state, event.reason)
            self._changed()
        else:
            self.feed.on_event(event)  # order books and the tape

    def _on_bar_event(self, event: BarEvent) -> None:
        if event.timeframe is not TimeFrame.M1:
            return  # the engine aggregates every other timeframe itself
        code = self.parts.aliases.get(event.instrument.upper(), event.instrument)
        charts = self.parts.charts.get(code)
        if charts is None:
            return
        bar = event.bar
        self.market.advance(bar.ts + timedelta(minutes=1) if event.closed else bar.ts)
        self.book.mark(code, Decimal(str(bar.close)))
        closed = charts.update(bar, event.closed)
        if not closed:
            return
        self._touch()
        with self.netting.turn():  # the market orders of this bar are netted when all have run
            for slot in self.parts.slots.all:
                if slot.state is not StrategyState.RUNNING or slot.instrument_code != code:
                    continue
                strategy = slot.strategy
                assert strategy is not None
                for timeframe, done in closed:
                    if timeframe in strategy.timeframes and slot.state is StrategyState.RUNNING:
                        self.host.dispatch(slot, "on_bar", timeframe, done)

    def on_fill(self, fill: Fill) -> None:
        if self.keeper.absorb(fill):  # already booked by recovery
            return
        result = self.book.apply_fill(fill)
        if result.duplicate:
            return
        self.keeper.fill(fill)
        self.counters["fills"] += 1
        self.market.advance(fill.ts)
        order = result.order
        log.info(
            "fill: %s %s %d lot(s) @ %s on %s (order %s%s)",
            fill.instrument,
            fill.side.value,
            fill.lots,
            fill.price,
            fill.account or (order.account if order else "?"),
            fill.order_id[:8],
            f", strategy {order.strategy}" if order is not None and order.strategy else "",
        )
        self._changed()
        for share in result.allocated:  # a net order's fill: each strategy's share of it
            self.keeper.fill(share)
        if order is None:
            return
        slot = self.parts.slots.get(order.strategy)
        if slot is not None and slot.active:
            self.host.dispatch(slot, "on_fill", fill)
        self.order_changed(order)
        for share in result.allocated:
            child = self.book.get(share.order_id)
            if child is None:
                continue
            slot = self.parts.slots.get(child.strategy)
            if slot is not None and slot.active:
                self.host.dispatch(slot, "on_fill", share)
            self.order_changed(child)

    def order_changed(self, order: Order, *, refused_here: bool = False) -> None:
        """``order`` changed; ``refused_here``: rejected by the engine's own rules (a pre-trade
        check, the trading or strategy state, the journal), not by the broker: it does not feed
        the rejections trigger, which watches the broker."""
        self.keeper.order_changed(order)
        level = logging.WARNING if order.status is OrderStatus.REJECTED else logging.INFO
        price = order.avg_fill_price if order.avg_fill_price is not None else order.price
        log.log(
            level,
            "order %s %s: %s %s %d/%d lot(s)%s%s",
            order.id[:8],
            order.status.value,
            order.instrument,
            order.side.value,
            order.filled_lots,
            order.lots,
            f" @ {price.normalize():f}" if price is not None else "",
            f" ({order.reason})" if order.reason else "",
        )
        self._changed()
        if order.status is OrderStatus.REJECTED and not refused_here:
            self.risk.on_rejected(order)
        slot = self.parts.slots.get(order.strategy)
        if slot is not None and slot.active:
            self.host.dispatch(slot, "on_order", order)
        if order.status.is_terminal and order.id in self.book.net_shares:
            for child in self.book.finish_net(order):  # a net order that did not fill whole
                self.order_changed(child, refused_here=True)  # the net order counted once
        self.netting.release(order)  # orders waiting for this one to finish go now

    # --- failures -------------------------------------------------------------------------------

    def fail(self, slot: StrategySlot, hook: str, exc: BaseException, dropped: int = 0) -> None:
        """A hook of ``slot`` raised (the host's ``failed``): FAILED, counted, logged; an error
        storm halts trading."""
        slot.state = StrategyState.FAILED
        slot.errors += 1
        slot.error = f"{hook}: {type(exc).__name__}: {exc}"
        self.counters["strategy_errors"] += 1
        log.error(
            "strategy %s FAILED in %s: %s%s",
            slot.id,
            hook,
            slot.error,
            f" ({dropped} queued order(s) dropped)" if dropped else "",
            exc_info=exc,
        )
        self._changed()
        if self._storm.record(self.risk.window_clock()) and not self.parts.switch.halted:
            self._kill(
                f"error storm: {self._storm.recent} strategy errors within "
                f"{self.parts.options.error_window:.0f} s"
            )

    def engine_error(self, event: BrokerEvent, exc: Exception) -> None:
        """Handling ``event`` raised (an engine bug): counted, logged, an incident; a storm of
        them halts trading. The loop goes on."""
        self.counters["engine_errors"] = self.counters.get("engine_errors", 0) + 1
        log.error("the engine failed on %s: %s", type(event).__name__, exc, exc_info=exc)
        incident("engine error", event=type(event).__name__, error=f"{type(exc).__name__}: {exc}")
        if self._engine_storm.record(self.risk.window_clock()):
            self._kill(f"engine errors: {self._engine_storm.recent} within a minute")
        self._changed()

    # --- orders: the strategy host's gate, post and reject --------------------------------------

    def submit(self, order: Order) -> Order:
        """Record ``order`` and schedule its sending (on the engine loop), unless the pre-trade
        rules (the trading state first) reject it (then it is recorded as rejected)."""
        return self.host.submit(order)

    def _post(self, order: Order) -> None:
        self.book.record(order)
        self._changed()
        if not self.netting.hold(order):  # a market order in a turn waits for the netting
            self.router.post(order)

    def _refuse(self, order: Order, rejection: Rejection) -> None:
        """The netting desk's refusal of what a turn left for the broker (a pre-trade rule's:
        counted per rule, never toward the rejections trigger); an order partly crossed inside
        is CANCELLED for the rest."""
        rejections = self.risk.gate.rejections
        rejections[rejection.rule] = rejections.get(rejection.rule, 0) + 1
        if order.can_transition(OrderStatus.REJECTED):
            self.reject_local(order, str(rejection))
            return
        self.counters["orders_rejected"] += 1
        order.transition(OrderStatus.CANCELLED, self.market.now, str(rejection))
        self.book.version += 1
        self.order_changed(order, refused_here=True)

    def reject_local(self, order: Order, reason: str) -> Order:
        self.counters["orders_rejected"] += 1
        self.book.reject_local(order, reason, self.market.now)
        self.order_changed(order, refused_here=True)
        return order


def _admit(slot: StrategySlot) -> str:
    """Why ``slot``'s strategy may not place orders now ("" while it runs)."""
    if slot.state is StrategyState.RUNNING:
        return ""
    return f"strategy is {slot.state.value}"
