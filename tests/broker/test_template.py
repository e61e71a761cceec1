"""The broker template's own behaviour beyond the contract: the service's fills reach the engine
as events and a position, a foreign order is listed, market orders are refused."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from engine.broker.base import FillEvent, OrderRejected, OrderUpdate
from engine.broker.template import PaperService, TemplateBroker
from engine.model import Order, OrderStatus, OrderType, Side

SBER = {"ticker": "SBER", "uid": "paper-sber", "lot": "10", "step": "0.01"}


async def test_a_fill_from_the_service_is_an_event_and_a_position() -> None:
    service = PaperService(instruments=[SBER])
    broker = TemplateBroker(service)
    await broker.connect()
    try:
        order = Order("MOEX_SHARE_SBER", Side.BUY, OrderType.LIMIT, 2, "paper-1",
                      price=Decimal("100.00"))  # fmt: skip
        await broker.post_order(order)
        events = broker.events()
        service.trade("SBER", "99.99")
        seen = []
        while not any(isinstance(e, OrderUpdate) and e.order.status is OrderStatus.FILLED
                      for e in seen):  # fmt: skip
            seen.append(await asyncio.wait_for(anext(events), 5))
        [fill] = [e.fill for e in seen if isinstance(e, FillEvent)]
        assert (fill.lots, fill.price) == (2, Decimal("100.00"))
        [position] = await broker.positions("paper-1")
        assert position.lots == 2 and position.lot_size == 10
        assert (await broker.get_order("paper-1", order.id)).status is OrderStatus.FILLED  # type: ignore[union-attr]
        assert await broker.open_orders("paper-1") == []
    finally:
        await broker.close()


async def test_an_order_of_another_session_is_listed_and_market_orders_are_refused() -> None:
    service = PaperService(instruments=[SBER])
    service.place({"client_key": "k-1", "ticker": "SBER", "side": "sell", "lots": "1",
                   "price": "300"})  # fmt: skip
    broker = TemplateBroker(service)
    [foreign] = await broker.open_orders("paper-1")
    assert (foreign.id, foreign.side, foreign.price) == ("k-1", Side.SELL, Decimal("300"))
    with pytest.raises(OrderRejected):
        await broker.post_order(Order("MOEX_SHARE_SBER", Side.BUY, OrderType.MARKET, 1, "paper-1"))
