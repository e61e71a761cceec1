"""Orders of the T-Invest adapter: post (idempotent by key), look up, cancel, list, follow.

Orders carry the engine's client key as ``PostOrderRequest.order_id`` (the broker's idempotency
key). When the outcome is ambiguous (timeout, 70xxx, a dropped connection) the order is looked up
by that key (``GetOrderState`` with ``ORDER_ID_TYPE_REQUEST``, then ``GetOrders``); only when the
broker has never seen it is the *same* request sent again with the *same* key. A new key is never
used.

The intent is journalled by the engine's order router before ``post_order`` is called; the
adapter writes only what it learns of the key (``IntentJournal.resolve``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from datetime import UTC
from decimal import Decimal

from engine.broker.base import BrokerError
from engine.broker.tinvest.channel import Retry, backoff_delay
from engine.broker.tinvest.convert import order_from_state, order_from_stream, stop_order_to_model
from engine.broker.tinvest.core import TrackedStop
from engine.broker.tinvest.errors import (
    AuthenticationError,
    NotFound,
    RateLimited,
    RequestRejected,
    TInvestError,
    TInvestOrderRejected,
    Unavailable,
)
from engine.broker.tinvest.numbers import from_money, from_quotation
from engine.broker.tinvest.order_requests import (
    DEFINITE_REJECTIONS,
    OrderOutcomeUnknown,
    StopOrdersUnavailable,
    post_request,
    step_hint,
    with_hint,
    without_fills,
)
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.broker.tinvest.stops import StopOrders
from engine.model import Fill, Instrument, Order, OrderStatus
from engine.orders.journal import STOP_TYPES

log = logging.getLogger("avin.tinvest")


class OrderExecution(StopOrders):
    """PostOrder, GetOrderState/GetOrders, CancelOrder and the order-state stream."""

    async def post_order(self, order: Order) -> Order:
        """Send ``order`` under its key. The engine's router has journalled the intent already
        (:mod:`engine.orders.journal`); the adapter resolves the key in that journal."""
        try:
            inst = await self._instrument_by_code(order.instrument)
        except BrokerError:
            self.journal.resolve(order.id, None)  # refused before anything was sent
            raise
        self._tracked[order.id] = (order.account, inst)
        self.orders.add_account(order.account)
        if order.type in STOP_TYPES:
            return await self._post_stop(order, inst)
        request = post_request(order, inst)
        hint = step_hint(order, inst)
        try:
            resp = await self._call("OrdersService", "PostOrder", request, retry=Retry.WRITE)
        except DEFINITE_REJECTIONS as exc:
            if exc.api_code == "30057":
                return await self._resolve(order, inst, request, exc)
            self.journal.resolve(order.id, None)
            self._tracked.pop(order.id, None)
            raise TInvestOrderRejected(order.id, with_hint(exc, hint)) from None
        except (RateLimited, AuthenticationError):
            self.journal.resolve(order.id, None)  # refused before execution
            self._tracked.pop(order.id, None)
            raise
        except Unavailable as exc:
            return await self._resolve(order, inst, request, exc)
        result = order_from_state(resp, instrument=inst, account=order.account, key=order.id)
        estimate = from_money(resp.initial_commission)
        if estimate > 0 and resp.lots_requested > 0:
            self._estimates[order.id] = (estimate, int(resp.lots_requested))
        return self._accepted(result, order)

    def _accepted(self, result: Order, sent: Order) -> Order:
        """The broker's answer to a post (or a lookup of its key): journalled, and the lots it
        says were executed are booked now (the order stream may be down; the stream's trades
        for the same lots are not booked again)."""
        # what the broker says, with what only the engine knows (the journal replays it)
        result = replace(
            result, strategy=sent.strategy, created_ts=result.created_ts or sent.created_ts
        )
        # the journal learns that the broker has the key; its fills go to the journal as fills
        # (a replay that took the lots from here would find no room for the fills)
        self.journal.resolve(result.id, without_fills(result))
        if result.broker_id:
            self._exchange_key[result.broker_id] = result.id
        self._publish(result, [], result.commission, complete=True)
        return result

    async def _resolve(
        self, order: Order, inst: Instrument, request: pb.PostOrderRequest, first: TInvestError
    ) -> Order:
        """An ambiguous PostOrder: look the key up; re-send only the same key, never a new one."""
        log.warning(
            "order %s: ambiguous outcome (%s); looking it up by its key", order.id, first.status
        )
        last: TInvestError = first
        for attempt in range(self.resolve_attempts):
            try:
                found = await self.get_order(order.account, order.id)
            except TInvestError as exc:
                last = exc
                found = None
            else:
                if found is not None:
                    log.info("order %s found at the broker: %s", order.id, found.status.value)
                    return self._accepted(found, order)
                # The broker has never seen this key: sending the same request is safe.
                try:
                    resp = await self._call(
                        "OrdersService", "PostOrder", request, retry=Retry.WRITE
                    )
                except DEFINITE_REJECTIONS as exc:
                    if exc.api_code != "30057":
                        self.journal.resolve(order.id, None)
                        self._tracked.pop(order.id, None)
                        raise TInvestOrderRejected(
                            order.id, with_hint(exc, step_hint(order, inst))
                        ) from None
                    last = exc  # the order exists but its report is not ready: look again
                except TInvestError as exc:
                    last = exc
                else:
                    result = order_from_state(
                        resp, instrument=inst, account=order.account, key=order.id
                    )
                    return self._accepted(result, order)
            await asyncio.sleep(backoff_delay(attempt, self.config.backoff_base, 2.0))
        raise OrderOutcomeUnknown(
            f"order {order.id}: the outcome is unknown after {self.resolve_attempts} lookups",
            status=last.status,
            api_code=last.api_code,
            tracking_id=last.tracking_id,
            explanation="the broker may or may not have the order",
            action="it stays in flight under its key; avin looks it up again, never re-sends it "
            "with a new key",
        )

    async def get_order(self, account: str, order_id: str) -> Order | None:
        if self._stop(order_id) is not None:
            return await self._get_stop(account, order_id)
        inst_hint = self._tracked.get(order_id)
        try:
            state = await self._order_state(account, order_id, exchange=False)
        except NotFound:
            state = None
        if state is None:
            orders = await self._call(
                "OrdersService", "GetOrders", pb.GetOrdersRequest(account_id=account)
            )
            matches = [o for o in orders.orders if o.order_request_id == order_id]
            if not matches:
                return None
            state = matches[0]
        inst = await self._instrument_by_uid(state.instrument_uid, state.figi)
        if inst is None:
            inst = inst_hint[1] if inst_hint else None
        if inst is None:
            return None
        return order_from_state(state, instrument=inst, account=account, key=order_id)

    async def _get_stop(self, account: str, key: str) -> Order | None:
        """A stop order by its key; once triggered, the state of the order it became (status,
        fills, average price, commission) under the stop order's key, type and prices."""
        stop = self._stop(key)
        assert stop is not None
        if stop.local:
            return await self._local_stop_state(stop, account)
        resp = await self._call(
            "StopOrdersService",
            "GetStopOrders",
            pb.GetStopOrdersRequest(account_id=account, status=pb.STOP_ORDER_STATUS_ALL),
        )
        found = next((s for s in resp.stop_orders if s.stop_order_id == stop.stop_id), None)
        if found is None:
            return None
        inst = await self._instrument_by_uid(found.instrument_uid, found.figi)
        if inst is None:
            return None
        model = stop_order_to_model(found, instrument=inst, account=account, key=key)
        if stop.order is None:
            stop.order = model
        model = replace(model, strategy=stop.order.strategy)
        if found.status == pb.STOP_ORDER_STATUS_ACTIVE:
            self._tracked.setdefault(key, (account, inst))
            self._watch_stops()
            return model
        if found.status != pb.STOP_ORDER_STATUS_EXECUTED:
            stop.finished = True
            self._tracked.pop(key, None)
            return model
        if not (found.HasField("exchange_order_id") and found.exchange_order_id):
            return replace(model, status=OrderStatus.ACCEPTED)  # its order is not there yet
        self._link(stop, found.exchange_order_id, inst)
        try:
            state = await self._order_state(account, found.exchange_order_id, exchange=True)
        except NotFound:
            return replace(model, status=OrderStatus.ACCEPTED)
        view = self._stop_view(
            stop, order_from_state(state, instrument=inst, account=account, key=key)
        )
        if not view.is_open:
            stop.finished = True
            self._tracked.pop(key, None)
        return view

    async def cancel_order(self, account: str, order_id: str) -> Order:
        stop = self._stop(order_id)
        if stop is not None:
            await self._cancel_stop(account, stop)
        else:
            request = pb.CancelOrderRequest(
                account_id=account, order_id=order_id, order_id_type=pb.ORDER_ID_TYPE_REQUEST
            )
            for attempt in range(self.resolve_attempts):
                try:
                    await self._call("OrdersService", "CancelOrder", request, retry=Retry.WRITE)
                    break
                except Unavailable:
                    # cancelling is safe to repeat: check whether it is still open first
                    current = await self.get_order(account, order_id)
                    if current is not None and not current.is_open:
                        break
                    await asyncio.sleep(backoff_delay(attempt, self.config.backoff_base, 2.0))
        result = await self.get_order(account, order_id)
        if result is None:
            raise BrokerError(f"order {order_id} not found after cancelling", code="50005")
        return result

    async def _cancel_stop(self, account: str, stop: TrackedStop) -> None:
        """Cancel a waiting stop order, or the order it became if it triggered meanwhile."""
        if stop.local:
            if stop.trigger is not None and not stop.trigger.done():
                await asyncio.shield(stop.trigger)  # it is being sent: cancel what it became
            if stop.waiting:
                stop.finished = True
                if stop.order is None:
                    stop.order = self._journal_stop_order(stop.key)
                if stop.order is not None:
                    cancelled = replace(
                        stop.order, status=OrderStatus.CANCELLED, reason="cancelled (local stop)"
                    )
                    stop.order = cancelled
                    self.journal.resolve(stop.key, cancelled)
                return
        if not stop.child:
            try:
                await self._call(
                    "StopOrdersService",
                    "CancelStopOrder",
                    pb.CancelStopOrderRequest(account_id=account, stop_order_id=stop.stop_id),
                    retry=Retry.WRITE,
                )
                return
            except (RequestRejected, NotFound):
                await self._get_stop(account, stop.key)  # triggered meanwhile? links its order
            if not stop.child:
                return
        if stop.finished:
            return
        with contextlib.suppress(RequestRejected):  # already filled or cancelled
            await self._call(
                "OrdersService",
                "CancelOrder",
                pb.CancelOrderRequest(
                    account_id=account,
                    order_id=stop.child,
                    order_id_type=pb.ORDER_ID_TYPE_EXCHANGE,
                ),
                retry=Retry.WRITE,
            )

    async def open_orders(self, account: str) -> list[Order]:
        resp = await self._call(
            "OrdersService", "GetOrders", pb.GetOrdersRequest(account_id=account)
        )
        out: list[Order] = []
        for state in resp.orders:
            inst = await self._instrument_by_uid(state.instrument_uid, state.figi)
            if inst is None:
                continue
            key = state.order_request_id or self._exchange_key.get(state.order_id, state.order_id)
            key = self._alias.get(key, key)
            order = order_from_state(state, instrument=inst, account=account, key=key)
            stop = self._stops.get(key)
            out.append(self._stop_view(stop, order) if stop is not None else order)
        for key, (acc, _) in self._journal_stops().items():
            stop = self._stop(key)
            if stop is not None and stop.local and acc == account and stop.order is None:
                stop.order = self._journal_stop_order(key)
        out.extend(
            s.order
            for s in self._stops.values()
            if s.local
            and s.armed
            and s.waiting
            and s.account == account
            and s.order is not None
            and s.order.is_open
        )
        if self.local_stops:
            return out  # no stop-order service to ask (the sandbox)
        try:
            stops = await self._call(
                "StopOrdersService",
                "GetStopOrders",
                pb.GetStopOrdersRequest(account_id=account, status=pb.STOP_ORDER_STATUS_ACTIVE),
            )
        except TInvestError as exc:
            raise StopOrdersUnavailable(
                f"the stop orders of account {account} cannot be listed: {exc}",
                out,
                code=exc.api_code or exc.status,
                tracking_id=exc.tracking_id,
                hint="the regular orders were listed; stop orders avin placed are checked one by "
                "one, and any it cannot verify halts trading. Check the stop orders in the "
                "T-Invest app; if the service stays down, cancel them there and place them again",
            ) from exc
        keys = {stop_id: key for key, (_, stop_id) in self._journal_stops().items()}
        keys.update({s.stop_id: key for key, s in self._stops.items()})
        for stop_state in stops.stop_orders:
            inst = await self._instrument_by_uid(stop_state.instrument_uid, stop_state.figi)
            if inst is None:
                continue
            key = keys.get(stop_state.stop_order_id, stop_state.stop_order_id)
            out.append(stop_order_to_model(stop_state, instrument=inst, account=account, key=key))
        return out

    async def _on_stream_state(self, state: pb.OrderStateStreamResponse.OrderState) -> None:
        inst = self._by_uid.get(state.instrument_uid) or await self._instrument_by_uid(
            state.instrument_uid
        )
        if inst is None:
            log.warning("order state for an unknown instrument %s", state.instrument_uid)
            return
        key = state.order_request_id or self._exchange_key.get(state.order_id, "")
        stop: TrackedStop | None = None
        if key in self._alias:  # the order a local stop became (maybe before its answer)
            key = self._alias[key]
            known = self._stops.get(key)
            if known is not None and not known.child:
                self._link(known, state.order_id, inst)
        if key:
            known = self._stops.get(key)
            stop = known if known is not None and known.child == state.order_id else None
        else:
            # No key: the order a stop order became when it triggered (GetStopOrders links it).
            stop = await self._stop_for_child(state.account_id, state.order_id)
            key = stop.key if stop is not None else state.order_id
        order = order_from_stream(state, instrument=inst, key=key)
        if stop is not None:
            order = self._stop_view(stop, order)
        lot = max(1, state.lot_size or inst.lot)
        fills = [
            Fill(
                order_id=key,
                instrument=inst.code,
                side=order.side,
                lots=int(t.quantity) // lot,  # OrderTrade.quantity is in pieces
                price=from_quotation(t.price),
                commission=Decimal(0),  # not in the stream: see _executed_commission
                ts=t.date_time.ToDatetime(tzinfo=UTC),
                fill_id=t.trade_id,
                account=state.account_id,
            )
            for t in state.trades
        ]
        commission = None
        if any(f.fill_id not in self._trade_ids for f in fills):
            commission = await self._stream_commission(
                key, state.account_id, state.order_id, int(state.lots_executed)
            )
        self._publish(order, fills, commission)

    async def _poll_orders(self) -> None:
        """The order stream is down (or just back): stop orders that may have triggered, then
        the state of every tracked open order (fills from ``stages``, by trade id)."""
        with contextlib.suppress(TInvestError):
            await self._poll_stops(follow=False)
        for key, (account, inst) in list(self._tracked.items()):
            stop = self._stops.get(key)
            if stop is not None and not stop.child:
                continue  # still waiting for its price (see _poll_stops)
            await self._poll_key(key, account, inst)
