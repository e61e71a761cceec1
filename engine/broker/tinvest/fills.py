"""Fill booking of the T-Invest adapter: fills deduplicated by trade id and lots, commissions.

A fill's commission is the delta of the order's ``executed_commission`` (GetOrderState): the
order-state stream has none. Those lookups get a budget (``COMMISSION_LOOKUPS_PER_MINUTE``, and
only while OrdersService has half its burst spare); beyond it a fill carries its share of the
PostOrder ``initial_commission``.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from engine.broker.base import FillEvent, OrderUpdate
from engine.broker.tinvest.convert import order_from_state
from engine.broker.tinvest.errors import NotFound, TInvestError
from engine.broker.tinvest.market_data import MarketData
from engine.broker.tinvest.numbers import from_money
from engine.model import Fill, Instrument, Order

log = logging.getLogger("avin.tinvest")

_CENT = Decimal("0.01")


class FillBooking(MarketData):
    """Publishes order states and the fills not published yet (see :meth:`_publish`)."""

    # --- order events -----------------------------------------------------------------------

    def _publish(
        self,
        order: Order,
        fills: list[Fill],
        commission: Decimal | None,
        *,
        complete: bool = False,
    ) -> None:
        """Emit the fills not emitted yet, then the order if it changed.

        Fills are deduplicated by trade id and by executed lots: ``order.filled_lots`` is what
        the broker says has traded, and only lots beyond those already booked are emitted (a
        PostOrder answer books its lots before the stream brings the same trades). With
        ``complete`` (a PostOrder or GetOrderState answer: the broker's word on the whole
        order) lots the trades given do not cover are booked as one fill at the average price.

        ``commission``: the order's cumulative executed commission at the broker (None: not
        known); each new fill carries its share of what the fills emitted before do not have
        (the delta of the executed commission, split by value over the new fills).
        """
        key = order.id
        new = [f for f in fills if f.fill_id not in self._trade_ids]
        self._trade_ids.update(f.fill_id for f in new)
        lots, value = self._booked.get(key, (0, Decimal(0)))
        executed = order.filled_lots
        room = executed - lots if executed > 0 else sum(f.lots for f in new)
        new = _newest_lots(new, max(0, room))
        missing = room - sum(f.lots for f in new)
        if complete and missing > 0 and order.avg_fill_price:
            total = order.avg_fill_price * executed - value - sum(f.price * f.lots for f in new)
            price = total / missing if total > 0 else order.avg_fill_price
            new.append(
                Fill(
                    order_id=key,
                    instrument=order.instrument,
                    side=order.side,
                    lots=missing,
                    price=price,
                    commission=Decimal(0),
                    ts=order.updated_ts or datetime.now(UTC),
                    fill_id=f"{key}:executed:{executed}",
                    account=order.account,
                )
            )
        if new and commission is not None:
            done = self._commissions.get(key, Decimal(0))
            delta = max(commission - done, Decimal(0))
            for fill, share in zip(new, _split(delta, new), strict=True):
                fill.commission = share
            self._commissions[key] = done + delta
        for fill in new:
            lots += fill.lots
            value += fill.price * fill.lots
            self._emit(FillEvent(fill))
        self._booked[key] = (lots, value)
        seen = (order.status, order.filled_lots)
        before = self._seen.get(key)
        stale = before is not None and (
            order.filled_lots < before[1] or (order.is_open and not before[0].is_open)
        )
        if before != seen and not stale:
            self._seen[key] = seen
            self._emit(OrderUpdate(order, order.updated_ts or datetime.now(UTC)))
        if not order.is_open and lots >= order.filled_lots:
            # final, and every executed lot booked: nothing left to poll for
            self._tracked.pop(key, None)
            stop = self._stops.get(key)
            if stop is not None and stop.child:
                stop.finished = True

    async def _stream_commission(
        self, key: str, account: str, exchange_id: str, lots_executed: int
    ) -> Decimal | None:
        """The order's commission so far: exact (GetOrderState) while the lookup budget and the
        OrdersService limit have room, else the PostOrder estimate prorated to the lots traded
        (the stream never waits for a rate limit; the limit is kept for orders and recovery)."""
        bucket = self.transport.limiter.bucket("OrdersService", "GetOrderState")
        if bucket.spare() >= 1 + bucket.capacity / 2 and self._lookups.try_acquire():
            exact = await self._executed_commission(account, exchange_id, lots_executed)
            if exact is not None:
                return exact
        known = self._estimates.get(key)
        if known is None:
            return None
        estimate, requested = known
        share = estimate * min(lots_executed, requested) / requested
        return share.quantize(_CENT, rounding=ROUND_HALF_UP)

    async def _executed_commission(
        self, account: str, exchange_id: str, lots_executed: int
    ) -> Decimal | None:
        """The order's executed commission when ``lots_executed`` lots had traded.

        The order-state stream carries no commission (neither ``OrderStateStreamResponse.
        OrderState`` nor ``OrderTrade`` has one); ``OrderState.executed_commission`` from
        GetOrderState does. If the order has traded more since the stream message, the
        commission is prorated to the lots the message reports.
        """
        try:
            state = await self._order_state(account, exchange_id, exchange=True)
        except TInvestError as exc:
            log.warning("commission of order %s: %s", exchange_id, exc)
            return None
        total = from_money(state.executed_commission)
        done = int(state.lots_executed)
        if done > lots_executed > 0:
            total = (total * lots_executed / done).quantize(_CENT, rounding=ROUND_HALF_UP)
        return total

    async def _poll_key(self, key: str, account: str, inst: Instrument) -> None:
        """Publish the state and fills of the order under ``key`` (for a triggered stop order:
        of the order it became)."""
        stop = self._stops.get(key)
        child = stop.child if stop is not None else ""
        try:
            state = await self._order_state(account, child or key, exchange=bool(child))
        except NotFound:
            return
        order = order_from_state(state, instrument=inst, account=account, key=key)
        if stop is not None:
            order = self._stop_view(stop, order)
        fills = [
            Fill(
                order_id=key,
                instrument=inst.code,
                side=order.side,
                lots=int(stage.quantity),  # OrderStage.quantity is in lots
                price=from_money(stage.price),
                commission=Decimal(0),
                ts=stage.execution_time.ToDatetime(tzinfo=UTC),
                fill_id=stage.trade_id,
                account=account,
            )
            for stage in state.stages
        ]
        self._publish(order, fills, from_money(state.executed_commission), complete=True)


def _newest_lots(fills: list[Fill], room: int) -> list[Fill]:
    """The newest ``room`` lots of ``fills`` (the oldest are already booked), in order."""
    out: list[Fill] = []
    for fill in reversed(fills):
        if room <= 0:
            break
        if fill.lots > room:
            fill = replace(fill, lots=room)
        out.append(fill)
        room -= fill.lots
    out.reverse()
    return out


def _split(total: Decimal, fills: list[Fill]) -> list[Decimal]:
    """``total`` over ``fills`` in proportion to their value, to the kopeck; the last one gets
    what rounding leaves."""
    if len(fills) == 1:
        return [total]
    values = [f.price * f.lots for f in fills]
    whole = sum(values, Decimal(0))
    out: list[Decimal] = []
    left = total
    for value in values[:-1]:
        share = (total * value / whole).quantize(_CENT, rounding=ROUND_HALF_UP) if whole else left
        share = min(share, left)
        out.append(share)
        left -= share
    out.append(left)
    return out
