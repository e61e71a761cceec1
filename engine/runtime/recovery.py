"""Start-up recovery: last snapshot + journal replay + reconciliation with the broker.

Runs on every start with a journalled store (after instruments and history, before strategies):

1. load the newest valid state snapshot (damaged ones are skipped and reported);
2. replay the journal events after it (intents, order changes, fills; fills deduplicated by id);
3. reconcile with the broker: each open or in-flight order is looked up by its key
   (``get_order``): fills the broker has and the journal lacks are booked as synthesized fills,
   the broker's status is applied, a key the broker never saw is REJECTED when it was in flight;
   broker orders the journal does not know are adopted as external; positions are compared;
4. anything that cannot be explained (a known working order missing at the broker, more fills in
   the journal than at the broker, positions that still differ, a damaged journal) starts trading
   HALTED with an incident, never a guess.

Stop orders the broker adapter keeps itself (the sandbox's local stops) are held while this runs
(``hold_local_stops``/``release_local_stops``): one re-armed here must not sell in the middle of
the position comparison; the newest price is checked against them once it is done.

The simulated market keeps its orders and account in memory: a fresh one is a new market
(:mod:`engine.runtime.sim_restart`): open orders of the previous run are marked CANCELLED and the
positions are taken from the journal without comparing, and handed to the new market.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from engine.broker.base import BrokerError, LocalStopHolder
from engine.model import Fill, Order, OrderStatus, Position
from engine.model.incidents import incident
from engine.model.snapshot import StrategyState, TradingState
from engine.orders.journal import STOP_TYPES
from engine.runtime.keeper import StateKeeper
from engine.runtime.parts import EngineParts
from engine.runtime.sim_restart import carry_over, fresh_simulated
from engine.runtime.slots import can_move
from engine.state.base import JournalEvent, StateSnapshot
from engine.state.codec import decode_fill, decode_order, decode_position

log = logging.getLogger("avin.recovery")

_IN_FLIGHT = (OrderStatus.NEW, OrderStatus.SUBMITTED)
# An in-flight key the broker does not know yet is asked for again after these pauses (seconds):
# the dead process's request may still be in the broker's hands and placed a moment later.
IN_FLIGHT_LOOKUP_PAUSES = (0.2, 0.5, 1.0)


@dataclass(slots=True)
class RecoveryReport:
    crashed: bool
    snapshot_seq: int = 0
    snapshot_ts: str = ""
    replayed: int = 0
    resolved: list[str] = field(default_factory=list)
    synthesized_fills: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    fresh_broker: bool = False
    problems: list[str] = field(default_factory=list)
    damage: list[str] = field(default_factory=list)
    hint: str = ""
    halted: bool = False
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "crashed": self.crashed,
            "snapshot_seq": self.snapshot_seq,
            "snapshot_ts": self.snapshot_ts,
            "replayed_events": self.replayed,
            "resolved": self.resolved,
            "synthesized_fills": self.synthesized_fills,
            "adopted_external": self.adopted,
            "cancelled": self.cancelled,
            "fresh_broker": self.fresh_broker,
            "problems": self.problems,
            "damage": self.damage,
            "hint": self.hint,
            "halted": self.halted,
            "seconds": round(self.seconds, 3),
        }


async def restore(parts: EngineParts, keeper: StateKeeper, crashed: bool) -> None:
    """Load the state, replay the journal, reconcile with the broker (before strategies run);
    nothing without a journalled store. The report stays with the keeper (``avin status``)."""
    if keeper.store is not None:
        keeper.report = await recover(parts, keeper, crashed)


async def recover(parts: EngineParts, keeper: StateKeeper, crashed: bool) -> RecoveryReport:
    start = time.monotonic()
    store = keeper.store
    assert store is not None and keeper.journal is not None
    report = RecoveryReport(crashed=crashed)
    snap = store.load_state()
    events = store.events(after=snap.journal_seq if snap else 0)
    if snap is not None:
        report.snapshot_seq, report.snapshot_ts = snap.seq, snap.saved_ts
        _load_snapshot(parts, keeper, snap)
    keeper.load_workspace(snap.data.get("workspace") if snap else None)
    report.replayed = _replay(parts, events)
    keeper.journal.adopt_keys(list(parts.book.orders.values()))
    report.damage = list(store.damage.problems)
    report.hint = store.damage.hint
    if store.damage.fatal:
        report.problems.append("the stored state is damaged and may be incomplete")
    elif store.damage:
        log.warning("state store: %s", "; ".join(store.damage.problems))
    # a broker that keeps stop orders itself holds them while the positions are compared
    holder = parts.broker if isinstance(parts.broker, LocalStopHolder) else None
    if holder is not None:
        holder.hold_local_stops()
    try:
        await _reconcile(parts, keeper, report)
    except Exception as exc:
        report.problems.append(f"reconciliation with the broker failed: {exc}")
    finally:
        if holder is not None:
            holder.release_local_stops()
    _settle_net(parts, keeper, report)
    report.seconds = time.monotonic() - start
    if report.problems:
        _halt(parts, report)
    elif crashed or report.replayed:
        log.warning(
            "recovered: snapshot %d, %d journal event(s) replayed, %d resolved, %d fill(s) "
            "synthesized, %d external order(s) adopted, %d cancelled (%.2f s)",
            report.snapshot_seq,
            report.replayed,
            len(report.resolved),
            len(report.synthesized_fills),
            len(report.adopted),
            len(report.cancelled),
            report.seconds,
        )
    parts.changed()
    return report


# --- snapshot and replay ------------------------------------------------------------------------


def _load_snapshot(parts: EngineParts, keeper: StateKeeper, snap: StateSnapshot) -> None:
    data = snap.data
    book = parts.book
    for raw in data.get("orders", []):
        order = decode_order(raw)
        book.orders[order.id] = order
    for raw in data.get("positions", []):
        pos = decode_position(raw)
        book.positions[(pos.account, pos.instrument)] = pos
    for sid, raw in dict(data.get("strategy_positions", {})).items():
        book.strategy_positions[sid] = decode_position(raw)
    keeper.restored_fill_ids = [str(x) for x in data.get("fill_ids", [])]
    book.remember_fills(keeper.restored_fill_ids)
    for name, value in dict(data.get("counters", {})).items():
        if isinstance(value, int):
            parts.counters[name] = value
    keeper.credits.update({str(k): int(v) for k, v in dict(data.get("credits", {})).items()})
    for key, shares in dict(data.get("net_shares", {})).items():
        book.adopt_net(str(key), {str(k): int(v) for k, v in dict(shares).items()})
    strategies = dict(data.get("strategies", {}))
    keeper.strategy_states = {str(k): dict(v) for k, v in strategies.items()}
    for slot in parts.slots.all:
        saved = keeper.strategy_states.get(slot.id)
        if saved is None or slot.state is StrategyState.FAILED:
            continue
        if saved.get("state") == StrategyState.PAUSED.value:  # by hand: it stays paused
            if can_move(slot.state, StrategyState.PAUSED):  # a row stopped since stays stopped
                slot.state = StrategyState.PAUSED
        elif saved.get("state") == StrategyState.FAILED.value:
            slot.state = StrategyState.FAILED
            slot.error = str(saved.get("error", "")) or "failed before the restart"
    market = data.get("market_ts")
    if market and parts.own_clock() is None:  # a market with its own clock tells it
        parts.market.advance(datetime.fromisoformat(market))
    # the daily-loss and drawdown baselines; fired triggers only while the switch is latched
    if parts.risk is not None:
        latched = parts.switch.state is not TradingState.ACTIVE
        parts.risk.restore(data.get("risk"), latched=latched)
    book.version += 1


def _replay(parts: EngineParts, events: list[JournalEvent]) -> int:
    book = parts.book
    for event in events:
        if event.kind in ("intent", "order", "external"):
            order = decode_order(event.data)
            current = book.orders.get(order.id)
            if event.kind == "intent" and current is not None:
                continue
            book.orders[order.id] = order
        elif event.kind == "fill":
            fill = decode_fill(event.data)
            if not book.knows_fill(fill.fill_id):
                book.apply_fill(fill)
                parts.counters["fills"] = parts.counters.get("fills", 0) + 1
        elif event.kind == "net" and event.data.get("shares"):
            shares = {str(k): int(v) for k, v in dict(event.data["shares"]).items()}
            book.adopt_net(str(event.data.get("net", event.key)), shares)
        elif event.kind == "resolve" and event.data.get("order"):
            order = decode_order(event.data["order"])
            current = book.orders.get(order.id)
            if current is None or current.status in _IN_FLIGHT:
                book.orders[order.id] = order
    book.version += 1
    return len(events)


# --- reconciliation -----------------------------------------------------------------------------


async def _reconcile(parts: EngineParts, keeper: StateKeeper, report: RecoveryReport) -> None:
    broker = parts.broker
    book = parts.book
    # internal orders (netting) are not at the broker: their net orders are, and settle them
    open_orders = [o for o in book.orders.values() if o.is_open and not o.internal]
    accounts = sorted(
        {s.spec.account for s in parts.slots.all}
        | {o.account for o in open_orders}
        | {a for a, _ in book.positions}
    )
    if await fresh_simulated(parts, open_orders, accounts):
        report.fresh_broker = True
        for order in open_orders:
            _finish(parts, keeper, order, OrderStatus.CANCELLED, "the simulated market restarted")
            report.cancelled.append(order.id)
        carry_over(parts, accounts)
        return
    for order in open_orders:
        try:
            view = await broker.get_order(order.account, order.id)
        except BrokerError as exc:
            if order.type not in STOP_TYPES:
                raise
            # a stop order the broker cannot tell us about: it may have triggered unseen
            report.problems.append(
                f"stop order {order.id} cannot be verified at the broker ({exc}); check it in "
                "the broker's app, cancel it there if it is not wanted, then `avin resume`"
            )
            continue
        if view is None and order.status in _IN_FLIGHT:
            view = await _look_again(broker, order)
        if view is None:
            if order.status in _IN_FLIGHT:
                _finish(parts, keeper, order, OrderStatus.REJECTED, "never reached the broker")
                report.resolved.append(order.id)
            else:
                report.problems.append(
                    f"order {order.id} is {order.status.value} in the journal but unknown to the "
                    "broker"
                )
            continue
        _catch_up_fills(parts, keeper, order, view, report)
        changed = book.apply_update(view, view.updated_ts or parts.market.now)
        if changed is not None and keeper.journal is not None:
            keeper.journal.order(changed)
        if order.status not in _IN_FLIGHT:
            report.resolved.append(order.id)
    for account in accounts:
        for view in await _open_orders(broker, account):
            if view.id not in book.orders:
                adopted = Order(
                    instrument=view.instrument,
                    side=view.side,
                    type=view.type,
                    lots=view.lots,
                    account=view.account or account,
                    price=view.price,
                    stop_price=view.stop_price,
                    id=view.id,
                    status=view.status,
                    filled_lots=view.filled_lots,
                    avg_fill_price=view.avg_fill_price,
                    broker_id=view.broker_id,
                    reason="external: placed outside this robot",
                    created_ts=view.created_ts,
                )
                book.orders[adopted.id] = adopted
                if keeper.journal is not None:
                    keeper.journal.order(adopted, "external")
                report.adopted.append(adopted.id)
                incident("external order adopted", order=adopted.id, account=account)
        _compare_positions(book.positions, await broker.positions(account), account, report)
    book.version += 1


def _settle_net(parts: EngineParts, keeper: StateKeeper, report: RecoveryReport) -> None:
    """Internal orders (netting) whose net order ended (or was never sent: the crash came
    between the netting and its intent) end the same way for the lots they did not get."""
    book = parts.book
    for key in list(book.net_shares):
        parent = book.orders.get(key)
        if parent is None:
            for child_key in book.net_shares.pop(key):
                book.net_parent.pop(child_key, None)
                child = book.orders.get(child_key)
                if child is not None and child.is_open:  # partly crossed: CANCELLED for the rest
                    status = OrderStatus.REJECTED
                    if not child.can_transition(status):
                        status = OrderStatus.CANCELLED
                    _finish(parts, keeper, child, status, "net order never sent")
                    report.resolved.append(child.id)
            continue
        for child in book.finish_net(parent):
            if keeper.journal is not None:
                keeper.journal.order(child)
            report.resolved.append(child.id)


async def _look_again(broker: Any, order: Order) -> Order | None:
    """Ask for an in-flight key again before calling it never sent (None: still unknown)."""
    for pause in IN_FLIGHT_LOOKUP_PAUSES:
        await asyncio.sleep(pause)
        try:
            view = await broker.get_order(order.account, order.id)
        except BrokerError as exc:  # no better answer than the first one: unknown
            log.warning("order %s: asking again failed: %s", order.id, exc)
            return None
        if view is not None:
            log.info("order %s reached the broker after all", order.id)
            return view
    return None


async def _open_orders(broker: Any, account: str) -> list[Order]:
    """The broker's open orders of ``account``. A broker whose stop-order listing fails gives
    the regular orders it could list (``BrokerError.orders``): that is an incident, not a halt;
    the stop orders the journal holds were verified one by one above."""
    try:
        return list(await broker.open_orders(account))
    except BrokerError as exc:
        partial = getattr(exc, "orders", None)
        if partial is None:
            raise
        log.error("recovery: %s. %s", exc.message, exc.hint)
        incident(
            "stop orders cannot be listed at the broker",
            account=account,
            error=str(exc),
            hint=exc.hint,
        )
        return list(partial)


def _finish(
    parts: EngineParts, keeper: StateKeeper, order: Order, status: OrderStatus, reason: str
) -> None:
    if order.status is OrderStatus.NEW and status is not OrderStatus.REJECTED:
        if order.can_transition(status):
            order.transition(status, parts.market.now, reason)
    elif order.can_transition(status):
        order.transition(status, parts.market.now, reason)
    if keeper.journal is not None:
        keeper.journal.order(order)


def missed_fill(order: Order, view: Order, now: datetime | None) -> Fill | None:
    """The fill the broker's view of ``order`` has and ours lacks (lots, average price and
    commission of the difference), or None when nothing is missing."""
    missing = view.filled_lots - order.filled_lots
    if missing <= 0:
        return None
    total = (view.avg_fill_price or Decimal(0)) * view.filled_lots
    ours = (order.avg_fill_price or Decimal(0)) * order.filled_lots
    price = (total - ours) / missing if total else (view.price or Decimal(0))
    return Fill(
        order_id=order.id,
        instrument=order.instrument,
        side=order.side,
        lots=missing,
        price=price,
        commission=max(view.commission - order.commission, Decimal(0)),
        ts=view.updated_ts or now or datetime.now(UTC),
        fill_id=f"recovered:{order.id}:{view.filled_lots}",
        account=order.account,
    )


def book_missed_fill(
    keeper: StateKeeper,
    order: Order,
    view: Order,
    *,
    now: datetime | None,
    on_fill: Callable[[Fill], None],
) -> None:
    """While trading: the broker finished ``order`` with fills the engine never received (the
    answer to a cancel says so). Book them the usual way (``on_fill``: journal, strategy
    ``on_fill``, log); the broker's own fill events, should they still come, are then absorbed
    by the credit."""
    fill = missed_fill(order, view, now)
    if fill is None:
        return
    on_fill(fill)
    keeper.credits[order.id] = keeper.credits.get(order.id, 0) + fill.lots


def _catch_up_fills(
    parts: EngineParts, keeper: StateKeeper, order: Order, view: Order, report: RecoveryReport
) -> None:
    if view.filled_lots < order.filled_lots:
        report.problems.append(
            f"order {order.id}: the journal has {order.filled_lots} lot(s) filled, the broker "
            f"{view.filled_lots}"
        )
        return
    fill = missed_fill(order, view, parts.market.now)
    if fill is None:
        return
    parts.book.apply_fill(fill)
    parts.counters["fills"] = parts.counters.get("fills", 0) + 1
    keeper.credits[order.id] = keeper.credits.get(order.id, 0) + fill.lots
    if keeper.journal is not None:
        keeper.journal.fill(fill)
    report.synthesized_fills.append(fill.fill_id)


def _compare_positions(
    ours: dict[tuple[str, str], Position],
    theirs: list[Position],
    account: str,
    report: RecoveryReport,
) -> None:
    broker_lots = {p.instrument: p.lots for p in theirs}
    journal_lots = {inst: p.lots for (acc, inst), p in ours.items() if acc == account}
    for inst in sorted(set(broker_lots) | set(journal_lots)):
        b, j = broker_lots.get(inst, 0), journal_lots.get(inst, 0)
        if b != j:
            report.problems.append(
                f"position {account} {inst}: the broker holds {b} lot(s), the journal {j}"
            )


def _halt(parts: EngineParts, report: RecoveryReport) -> None:
    report.halted = True
    parts.switch.halt("recovery: " + "; ".join(report.problems[:3]))  # holds the strategies
    how = report.hint or (
        "check the orders and positions at the broker; when they are right, `avin resume` "
        "trades again"
    )
    log.critical("trading HALTED after recovery: %s. %s", "; ".join(report.problems), how)
    for problem in report.damage:
        log.critical("damaged state: %s", problem)
    incident(
        "recovery could not reconcile: trading halted",
        problems=report.problems,
        damage=report.damage,
        hint=how,
    )


async def settle_open_orders(parts: EngineParts, keeper: StateKeeper, timeout: float = 2.0) -> int:
    """At a clean stop, ask the broker once more about every open order and book the fills that
    raced the shutdown, so the journal and the status match the broker. Returns the fills booked;
    a broker that does not answer in ``timeout`` leaves the rest to the next start's recovery."""
    report = RecoveryReport(crashed=False)

    async def settle() -> None:
        for order in [o for o in parts.book.orders.values() if o.is_open]:
            view = await parts.broker.get_order(order.account, order.id)
            if view is None:
                continue
            _catch_up_fills(parts, keeper, order, view, report)
            changed = parts.book.apply_update(view, view.updated_ts or parts.market.now)
            if changed is not None and keeper.journal is not None:
                keeper.journal.order(changed)

    try:
        await asyncio.wait_for(settle(), timeout)
    except Exception as exc:  # the next start reconciles whatever is left
        log.warning("settling open orders at stop failed: %s", exc)
    if report.synthesized_fills:
        log.info("%d fill(s) that raced the stop booked", len(report.synthesized_fills))
    return len(report.synthesized_fills)
