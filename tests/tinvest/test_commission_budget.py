"""Commission of stream fills under order flow: exact lookups stay within a budget of OrdersService
calls, the rest take the PostOrder estimate, and no fill waits for a rate limit."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from engine.broker.base import FillEvent
from engine.broker.fake_tinvest import FakeTInvestServer
from engine.broker.tinvest.core import COMMISSION_LOOKUPS_PER_MINUTE
from engine.model import Order, OrderType, Side
from tests.tinvest.helpers import EventSink, make_broker

ACCOUNT = "fake-account-1"
SBER = "MOEX_SHARE_SBER"
ORDERS = 30


async def test_a_burst_of_fills_keeps_the_orders_service_budget(server: FakeTInvestServer) -> None:
    broker = make_broker(server.target)
    sink = EventSink(broker)
    try:
        await broker.connect()
        await asyncio.wait_for(broker.orders.connected.wait(), 5)
        sber = await broker.find_instrument("SBER")
        keys = []
        for k in range(ORDERS):
            side = Side.BUY if k % 2 == 0 else Side.SELL
            placed = await broker.post_order(
                Order(SBER, side, OrderType.MARKET, 1 + k % 3, ACCOUNT)
            )
            keys.append(placed.id)
        server.calls.clear()
        server.step()  # every order fills at this price
        await sink.wait(lambda ev: len(sink.of(FillEvent)) >= ORDERS)
        got = {e.fill.order_id: e.fill for e in sink.of(FillEvent)}
        lookups = server.calls.count("GetOrderState")
        assert lookups <= 5  # the lookup budget's burst; the rest are estimates
        assert lookups < COMMISSION_LOOKUPS_PER_MINUTE
        rate = server.exchange.engine.commission
        for key in keys:
            record = next(o for o in server.exchange.orders.values() if o.key == key)
            fill = got[key]
            exact = rate(sber, record.trades[0].price, record.trades[0].lots)
            assert fill.commission > 0
            # the estimate is priced at the order's initial price: within a cent per lot of it
            assert abs(fill.commission - exact) <= Decimal("0.01") * fill.lots, (key, fill)
        bucket = broker.transport.limiter.bucket("OrdersService", "GetOrderState")
        assert bucket.spare() >= bucket.capacity / 2  # room left for orders and recovery
    finally:
        await sink.stop()
        await broker.close()
