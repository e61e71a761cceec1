"""The contract every broker adapter keeps (engine.broker.base.Broker).

One suite, parametrised over the adapters: SimBroker, TInvestBroker against the fake T-Invest
server, and the template (engine.broker.template). A new adapter adds a case to ``CASES``
(docs/adapters.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from engine.broker.base import Broker, BrokerError, OrderUpdate, TradingStatus, UnknownInstrument
from engine.model import Mode, Order, OrderStatus, OrderType, Side, TimeFrame

WAIT = 10.0  # seconds: the bound of every wait for an event


@dataclass
class Case:
    broker: Any
    ticker: str
    begin: datetime  # a range with 1-minute candles
    end: datetime


@contextlib.asynccontextmanager
async def sim() -> AsyncIterator[Case]:
    from engine.broker.sim import SimBroker
    from tests.broker.simdata import TUESDAY_OPEN

    broker = SimBroker(seed=7, start=TUESDAY_OPEN, realtime=False)
    broker.advance(30)
    yield Case(broker, "SBER", TUESDAY_OPEN, TUESDAY_OPEN + timedelta(minutes=20))


@contextlib.asynccontextmanager
async def tinvest_fake_server() -> AsyncIterator[Case]:
    from engine.broker.fake_tinvest import FakeExchange, FakeTInvestServer
    from tests.tinvest.helpers import START, make_broker

    server = FakeTInvestServer(exchange=FakeExchange(start=START))
    await server.start()
    try:
        friday = START - timedelta(days=3)
        yield Case(make_broker(server.target), "SBER", friday, friday + timedelta(hours=2))
    finally:
        await asyncio.wait_for(server.stop(), WAIT)


@contextlib.asynccontextmanager
async def template() -> AsyncIterator[Case]:
    from engine.broker.template import PaperService, TemplateBroker

    begin = datetime(2025, 3, 3, 7, tzinfo=UTC)
    rows = [
        {"time": (begin + timedelta(minutes=m)).isoformat(), "open": "100", "high": "101",
         "low": "99.5", "close": "100.5", "lots": str(m + 1)}
        for m in range(30)
    ]  # fmt: skip
    service = PaperService(
        instruments=[{"ticker": "SBER", "uid": "paper-sber", "lot": "10", "step": "0.01"}],
        candles={"SBER": rows},
    )
    yield Case(TemplateBroker(service), "SBER", begin, begin + timedelta(minutes=20))


CASES: dict[str, Callable[[], Any]] = {
    "sim": sim,
    "tinvest-fake-server": tinvest_fake_server,
    "template": template,
}


@pytest.fixture(params=sorted(CASES))
async def case(request: pytest.FixtureRequest) -> AsyncIterator[Case]:
    async with CASES[request.param]() as made:
        await made.broker.connect()
        try:
            yield made
        finally:
            await asyncio.wait_for(made.broker.close(), WAIT)


async def _account(broker: Any) -> str:
    accounts = await broker.accounts()
    assert accounts
    return str(accounts[0].id)


async def _resting_buy(case: Case) -> Order:
    """A limit buy well below the market (it rests), on the price step."""
    inst = await case.broker.find_instrument(case.ticker)
    bars = await case.broker.candles(inst, TimeFrame.M1, case.begin, case.end)
    price = (Decimal(str(bars[-1].close)) * Decimal("0.95") / inst.step).quantize(Decimal(1))
    return Order(
        inst.code, Side.BUY, OrderType.LIMIT, 1, await _account(case.broker),
        price=price * inst.step,
    )  # fmt: skip


async def test_it_is_a_broker(case: Case) -> None:
    assert isinstance(case.broker, Broker)
    assert case.broker.name and isinstance(case.broker.mode, Mode)


async def test_accounts_and_instruments(case: Case) -> None:
    accounts = await case.broker.accounts()
    assert accounts and len({a.id for a in accounts}) == len(accounts)
    items = await case.broker.instruments()
    assert items and all(i.lot >= 1 and i.step > 0 for i in items)
    found = await case.broker.find_instrument(case.ticker)
    assert found.ticker == case.ticker
    assert (await case.broker.find_instrument(found.code)).code == found.code


async def test_an_unknown_instrument_is_unknown_instrument(case: Case) -> None:
    with pytest.raises(UnknownInstrument):
        await case.broker.find_instrument("NOSUCHTICKER")


async def test_candles_are_complete_sorted_and_inside_the_range(case: Case) -> None:
    inst = await case.broker.find_instrument(case.ticker)
    bars = await case.broker.candles(inst, TimeFrame.M1, case.begin, case.end)
    assert bars
    stamps = [b.ts for b in bars]
    assert stamps == sorted(set(stamps))
    assert case.begin <= stamps[0] and stamps[-1] < case.end
    assert all(b.validate() is None for b in bars)


async def test_market_status_never_blocks_and_is_a_trading_status(case: Case) -> None:
    inst = await case.broker.find_instrument(case.ticker)
    assert isinstance(case.broker.market_status(inst.code), TradingStatus)


async def test_a_resting_order_is_idempotent_readable_and_cancellable(case: Case) -> None:
    order = await _resting_buy(case)
    account = order.account
    posted = await case.broker.post_order(order)
    assert posted.id == order.id and posted.is_open
    again = await case.broker.post_order(order)  # the same key: no second order
    assert again.id == order.id
    assert [o.id for o in await case.broker.open_orders(account)].count(order.id) == 1
    read = await case.broker.get_order(account, order.id)
    assert read is not None and read.id == order.id
    cancelled = await case.broker.cancel_order(account, order.id)
    assert cancelled.status is OrderStatus.CANCELLED or not cancelled.is_open
    after = await case.broker.get_order(account, order.id)
    assert after is not None and after.status is OrderStatus.CANCELLED
    assert order.id not in [o.id for o in await case.broker.open_orders(account)]
    assert await case.broker.get_order(account, "never-posted-key") is None


async def test_cancelling_an_unknown_order_is_a_broker_error(case: Case) -> None:
    with pytest.raises(BrokerError):
        await case.broker.cancel_order(await _account(case.broker), "never-posted-key")


async def test_order_updates_arrive_as_events(case: Case) -> None:
    order = await _resting_buy(case)
    seen: list[OrderStatus] = []

    async def watch() -> None:
        async for event in case.broker.events():
            if isinstance(event, OrderUpdate) and event.order.id == order.id:
                seen.append(event.order.status)
                if event.order.status is OrderStatus.CANCELLED:
                    return

    watcher = asyncio.create_task(watch())
    await case.broker.post_order(order)
    await case.broker.cancel_order(order.account, order.id)
    await asyncio.wait_for(watcher, WAIT)
    assert seen[-1] is OrderStatus.CANCELLED


async def test_positions_are_a_list(case: Case) -> None:
    assert isinstance(await case.broker.positions(await _account(case.broker)), list)
