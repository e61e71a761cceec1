"""Stop orders of the T-Invest adapter: at the broker (PostStopOrder) or kept by avin.

A stop order becomes an exchange order of its own when its price is crossed; the adapter reports
that order's states and fills under the stop order's key (linked by ``StopOrder.exchange_order_id``,
found from the order-state stream or by polling GetStopOrders), and the journal keeps key -> stop
order id across restarts. Where the broker has no stop orders (the sandbox) avin keeps them itself
(:mod:`engine.broker.local_stops`) and sends the order a stop becomes when a last price reaches it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from decimal import Decimal
from typing import Any

from engine.broker import local_stops
from engine.broker.base import BrokerEvent, PriceEvent
from engine.broker.tinvest.channel import Retry, backoff_delay
from engine.broker.tinvest.convert import (
    STOP_DIRECTION,
    STOP_TYPE,
    order_from_state,
    stop_order_to_model,
)
from engine.broker.tinvest.core import TrackedStop
from engine.broker.tinvest.errors import (
    NotFound,
    RateLimited,
    TInvestError,
    TInvestOrderRejected,
    Unavailable,
)
from engine.broker.tinvest.fills import FillBooking
from engine.broker.tinvest.numbers import from_money, quotation
from engine.broker.tinvest.order_requests import (
    DEFINITE_REJECTIONS,
    OrderOutcomeUnknown,
    post_request,
    step_hint,
    with_hint,
)
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.model import Instrument, Order, OrderStatus, OrderType

log = logging.getLogger("avin.tinvest")


class StopOrders(FillBooking):
    """Places, watches and triggers stop orders (see the module docstring)."""

    def _emit(self, event: BrokerEvent) -> None:
        super()._emit(event)
        if isinstance(event, PriceEvent):
            self._check_local_stops(event.instrument, event.price)

    async def _post_stop(self, order: Order, inst: Instrument) -> Order:
        assert order.stop_price is not None
        if self.local_stops:
            return await self._arm_local(local_stops.accepted(order), inst)
        request = pb.PostStopOrderRequest(
            quantity=order.lots,
            stop_price=quotation(order.stop_price),
            direction=STOP_DIRECTION[order.side],
            account_id=order.account,
            expiration_type=pb.STOP_ORDER_EXPIRATION_TYPE_GOOD_TILL_CANCEL,
            stop_order_type=STOP_TYPE[order.type],
            instrument_id=inst.uid,
            exchange_order_type=(
                pb.EXCHANGE_ORDER_TYPE_LIMIT
                if order.type is OrderType.STOP_LIMIT
                else pb.EXCHANGE_ORDER_TYPE_MARKET
            ),
            order_id=order.id,
        )
        if order.type is OrderType.STOP_LIMIT and order.price is not None:
            request.price.CopyFrom(quotation(order.price))
        hint = step_hint(order, inst)
        resp = None
        last: TInvestError | None = None
        for attempt in range(max(1, self.resolve_attempts)):
            try:
                resp = await self._call(
                    "StopOrdersService", "PostStopOrder", request, retry=Retry.WRITE
                )
                break
            except DEFINITE_REJECTIONS as exc:
                self.journal.resolve(order.id, None)
                self._tracked.pop(order.id, None)
                raise TInvestOrderRejected(order.id, with_hint(exc, hint)) from None
            except Unavailable as exc:
                # GetStopOrders cannot find a stop order by its key, but the key makes
                # PostStopOrder idempotent: the same request (same key) answers with the stop
                # order the broker may already have.
                last = exc
                log.warning(
                    "stop order %s: ambiguous outcome (%s); sending it again with the same key",
                    order.id,
                    exc.status,
                )
                await asyncio.sleep(backoff_delay(attempt, self.config.backoff_base, 2.0))
        if resp is None:
            assert last is not None
            raise OrderOutcomeUnknown(
                f"stop order {order.id}: the outcome is unknown after {self.resolve_attempts} "
                "attempts",
                status=last.status,
                api_code=last.api_code,
                tracking_id=last.tracking_id,
                explanation="the broker may or may not have the stop order",
                action="it stays in flight under its key; it is only ever sent with that key",
            )
        accepted = Order(
            instrument=order.instrument,
            side=order.side,
            type=order.type,
            lots=order.lots,
            account=order.account,
            price=order.price,
            stop_price=order.stop_price,
            strategy=order.strategy,
            id=order.id,
            status=OrderStatus.ACCEPTED,
            broker_id=resp.stop_order_id,
            created_ts=order.created_ts,
        )
        self._stops[order.id] = TrackedStop(order.id, order.account, resp.stop_order_id, accepted)
        # The journal keeps key -> stop order id (the broker_id of a resolved stop order).
        self.journal.resolve(order.id, accepted)
        self._watch_stops()
        return accepted

    # --- stop orders: from the stop to the order it becomes ---------------------------------

    def _watch_stops(self) -> None:
        """Poll GetStopOrders while a stop order waits for its price (the fallback that does
        not depend on the order-state stream reporting the order a stop becomes)."""
        if self._stop_watch is None or self._stop_watch.done():
            self._stop_watch = asyncio.get_running_loop().create_task(
                self._stop_watch_loop(), name="tinvest-stops"
            )

    async def _stop_watch_loop(self) -> None:
        while any((s.armed if s.local else True) and s.waiting for s in self._stops.values()):
            await asyncio.sleep(self.stop_poll_interval)
            try:
                if any(s.waiting and not s.local for s in self._stops.values()):
                    await self._poll_stops()
                if not self.market.connected.is_set():
                    await self._poll_local_prices()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep watching whatever one round did
                log.error(
                    "stop orders cannot be checked at the broker (%s); avin keeps asking and the "
                    "order stream still reports what they become. Check them in the T-Invest app",
                    exc,
                )

    async def _poll_stops(self, account: str | None = None, *, follow: bool = True) -> None:
        """Ask for the stop orders still waiting; a triggered one is linked to its order (and,
        with ``follow``, that order's state and fills are published)."""
        waiting = [
            s
            for s in list(self._stops.values())
            if not s.child
            and not s.finished
            and not s.local
            and (account is None or s.account == account)
        ]
        for acc in sorted({s.account for s in waiting}):
            resp = await self._call(
                "StopOrdersService",
                "GetStopOrders",
                pb.GetStopOrdersRequest(account_id=acc, status=pb.STOP_ORDER_STATUS_ALL),
            )
            by_id = {st.stop_order_id: st for st in resp.stop_orders}
            for stop in [s for s in waiting if s.account == acc]:
                found = by_id.get(stop.stop_id)
                if found is not None and not stop.child and not stop.finished:
                    await self._stop_changed(stop, found, follow=follow)

    async def _stop_changed(self, stop: TrackedStop, state: pb.StopOrder, *, follow: bool) -> None:
        if state.status == pb.STOP_ORDER_STATUS_ACTIVE:
            return
        inst = await self._instrument_by_uid(state.instrument_uid, state.figi)
        if inst is None:
            return
        model = stop_order_to_model(state, instrument=inst, account=stop.account, key=stop.key)
        if stop.order is None:
            stop.order = model
        if state.status == pb.STOP_ORDER_STATUS_EXECUTED:
            if state.HasField("exchange_order_id") and state.exchange_order_id:
                self._link(stop, state.exchange_order_id, inst)
                if follow:
                    await self._poll_key(stop.key, stop.account, inst)
            return  # executed without the order's id yet: asked again next round
        stop.finished = True  # cancelled or expired
        self._publish(replace(model, strategy=stop.order.strategy), [], None)

    async def _stop_for_child(self, account: str, order_id: str) -> TrackedStop | None:
        """An order state without a key: the order a stop order of ``account`` became?"""
        if not any(
            s.account == account and not s.child and not s.finished and not s.local
            for s in self._stops.values()
        ):
            return None
        try:
            await self._poll_stops(account, follow=False)
        except TInvestError as exc:
            log.warning("order %s: cannot ask for the stop orders: %s", order_id, exc)
            return None
        key = self._exchange_key.get(order_id)
        return self._stops.get(key) if key else None

    # --- local stops: kept by avin where the broker has none (the sandbox) -------------------

    async def _arm_local(
        self, stop_order: Order, inst: Instrument, *, journal: bool = True
    ) -> Order:
        """Keep a stop order locally (journalled with the local marker) and watch its prices."""
        stop = self._stops.get(stop_order.id)
        if stop is None:
            stop = TrackedStop(stop_order.id, stop_order.account, local_stops.LOCAL_STOP_ID)
            self._stops[stop_order.id] = stop
        stop.order = stop_order
        stop.armed = True
        if journal:
            self.journal.resolve(stop_order.id, stop_order)
        self._tracked.pop(stop_order.id, None)  # nothing to poll at the broker until it triggers
        self._remember(inst)
        await self.market.subscribe_prices(inst)
        self._watch_stops()
        log.info(
            "stop order %s kept locally: %s %d lot(s) of %s at %s",
            stop_order.id[:8],
            stop_order.side.value,
            stop_order.lots,
            stop_order.instrument,
            stop_order.stop_price,
        )
        return stop_order

    def hold_local_stops(self) -> None:
        """Recovery is comparing the journal's orders and positions with the broker's: the local
        stops it re-arms wait (an order one of them sent now would change the position being
        compared, and recovery would halt on a difference it caused). The newest price of each
        instrument is kept for :meth:`release_local_stops`."""
        if self._held_prices is None:
            self._held_prices = {}

    def release_local_stops(self) -> None:
        """Recovery is done: every armed local stop is checked against the newest price heard
        while held (a level, not a crossing: a stop passed meanwhile triggers now)."""
        held, self._held_prices = self._held_prices, None
        for code, price in (held or {}).items():
            self._check_local_stops(code, price)

    def _check_local_stops(self, code: str, price: Decimal) -> None:
        """A last price: trigger every waiting local stop of ``code`` that it reaches."""
        if self._held_prices is not None:
            self._held_prices[code] = price
            return
        for stop in list(self._stops.values()):
            order = stop.order
            if not (stop.local and stop.armed and stop.waiting and order is not None):
                continue  # only stops armed in this run (open ones: placed, or re-armed)
            if order.instrument != code or not order.is_open:
                continue
            if local_stops.reached(order, price):
                log.info("local stop %s reached at %s", stop.key[:8], price)
                stop.trigger = asyncio.get_running_loop().create_task(
                    self._trigger_local(stop, price), name="tinvest-local-stop"
                )

    async def _trigger_local(self, stop: TrackedStop, price: Decimal) -> None:
        """Send the order the local stop becomes (its key derived from the stop's, so a lookup
        after an ambiguous answer or a restart finds it) and follow it under the stop's key."""
        assert stop.order is not None
        child = local_stops.triggered_order(stop.order)
        self._alias[child.id] = stop.key
        try:
            inst = await self._instrument_by_code(child.instrument)
            request = post_request(child, inst)
            resp: Any = None
            for attempt in range(max(1, self.resolve_attempts)):
                try:
                    resp = await self._call(
                        "OrdersService", "PostOrder", request, retry=Retry.WRITE
                    )
                    break
                except Unavailable as exc:
                    log.warning("local stop %s: %s; looking its order up", stop.key[:8], exc)
                    with contextlib.suppress(NotFound):
                        resp = await self._order_state(stop.account, child.id, exchange=False)
                        break
                    await asyncio.sleep(backoff_delay(attempt, self.config.backoff_base, 2.0))
            if resp is None:
                raise Unavailable(f"local stop {stop.key}: its order could not be sent")
        except TInvestError as exc:
            if isinstance(exc, Unavailable | RateLimited):
                log.error("local stop %s: %s; it waits for the next price", stop.key[:8], exc)
                self._alias.pop(child.id, None)
                stop.trigger = None
                return
            log.error("local stop %s: the order it became was refused: %s", stop.key[:8], exc)
            stop.finished = True
            reason = f"triggered, but its order was refused: {exc}"
            cancelled = replace(stop.order, status=OrderStatus.CANCELLED, reason=reason)
            stop.order = cancelled
            self.journal.resolve(stop.key, cancelled)
            self._publish(cancelled, [], None)
            return
        state = order_from_state(resp, instrument=inst, account=stop.account, key=stop.key)
        self._link(stop, str(resp.order_id), inst)
        estimate = from_money(resp.initial_commission)
        if estimate > 0 and resp.lots_requested > 0:
            self._estimates[stop.key] = (estimate, int(resp.lots_requested))
        self._publish(self._stop_view(stop, state), [], state.commission, complete=True)

    async def _poll_local_prices(self) -> None:
        """The market-data stream is down: local stops are checked against GetLastPrices."""
        codes = {
            self._stop_code(s) for s in self._stops.values() if s.local and s.armed and s.waiting
        }
        instruments = [self._by_code[c] for c in sorted(codes) if c in self._by_code]
        if not instruments:
            return
        for code, price in (await self.last_prices(instruments)).items():
            self._check_local_stops(code, price)

    async def _local_stop_state(self, stop: TrackedStop, account: str) -> Order | None:
        """A local stop by its key: waiting (re-armed after a restart), or the state of the order
        it became under the stop's key."""
        if stop.order is None:
            stop.order = self._journal_stop_order(stop.key)
        if stop.order is None:
            return None
        inst = await self._instrument_by_code(stop.order.instrument)
        if stop.trigger is not None and not stop.trigger.done():
            await asyncio.shield(stop.trigger)
        try:
            if stop.child:
                state = await self._order_state(account, stop.child, exchange=True)
            else:
                key = local_stops.triggered_key(stop.key)
                state = await self._order_state(account, key, exchange=False)
                self._alias[key] = stop.key
                self._link(stop, str(state.order_id), inst)
        except NotFound:
            if stop.child:
                return None
            if stop.order.is_open and not stop.finished and not stop.armed:
                await self._arm_local(stop.order, inst, journal=False)  # after a restart
            return stop.order
        view = self._stop_view(
            stop, order_from_state(state, instrument=inst, account=account, key=stop.key)
        )
        if not view.is_open:
            stop.finished = True
        return view
