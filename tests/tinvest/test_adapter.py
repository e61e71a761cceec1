"""TInvestBroker against the fake T-Invest server: the happy paths."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from engine.broker.base import Broker, FillEvent, OrderUpdate, UnknownInstrument
from engine.broker.fake_tinvest import FakeExchange, FakeTInvestServer
from engine.broker.tinvest.broker import TInvestBroker
from engine.broker.tinvest.errors import TInvestError, TInvestOrderRejected
from engine.model import Order, OrderStatus, OrderType, Side, TimeFrame
from tests.tinvest.helpers import START, EventSink, make_broker

ACCOUNT = "fake-account-1"


async def test_is_a_broker(broker: TInvestBroker, server: FakeTInvestServer) -> None:
    assert isinstance(broker, Broker)
    assert server.app_names == {"avin"}  # x-app-name next to the bearer token


async def test_accounts_and_instruments(broker: TInvestBroker) -> None:
    accounts = await broker.accounts()
    assert [a.id for a in accounts] == [ACCOUNT]
    assert accounts[0].cash == Decimal(1_000_000)
    shares = await broker.instruments()
    sber = next(i for i in shares if i.ticker == "SBER")
    assert sber.code == "MOEX_SHARE_SBER" and sber.lot == 10 and sber.step == Decimal("0.01")


SBER_UID = "6970c872-767d-596d-acb8-ab6739b781a1"  # the fake's, derived from the code


@pytest.mark.parametrize("query", ["MOEX_SHARE_SBER", "sber", SBER_UID, "BBG21RCG3ZX9"])
async def test_find_instrument(broker: TInvestBroker, query: str) -> None:
    inst = await broker.find_instrument(query)
    assert inst.code == "MOEX_SHARE_SBER" and inst.uid == SBER_UID


async def test_instrument_ids_are_shaped_like_the_real_ones(server: FakeTInvestServer) -> None:
    """A uid is a UUID; a FIGI is BBG, eight consonants or digits and a valid check digit."""
    import re
    import uuid

    from engine.broker.fake_tinvest.identity import figi_check_digit

    for inst in server.exchange.instruments:
        assert str(uuid.UUID(inst.uid)) == inst.uid
        assert re.fullmatch(r"BBG[B-DF-HJ-NP-TV-Z0-9]{8}[0-9]", inst.figi), inst.figi
        assert figi_check_digit(inst.figi[:11]) == inst.figi[11]
    assert figi_check_digit("BBG004730N8") == "8"  # SBER's real FIGI is BBG004730N88


async def test_unknown_instrument(broker: TInvestBroker) -> None:
    with pytest.raises(UnknownInstrument):
        await broker.find_instrument("MOEX_SHARE_NOPE")


async def test_candles_are_chunked_and_complete(
    broker: TInvestBroker, server: FakeTInvestServer
) -> None:
    sber = await broker.find_instrument("SBER")
    server.advance(5)
    server.step()  # the 6th minute is in progress: its candle is incomplete
    begin = START - timedelta(days=3)
    before = server.calls.count("GetCandles")
    bars = await broker.candles(sber, TimeFrame.M1, begin, START + timedelta(hours=1))
    assert server.calls.count("GetCandles") - before == 4  # 1-minute windows are one day
    expected = server.exchange.market.generator.bar_list(sber, begin, START + timedelta(minutes=5))
    assert [b.ts for b in bars] == [b.ts for b in expected]
    assert bars[-1].ts == START + timedelta(minutes=4)
    assert len({b.ts for b in bars}) == len(bars)
    hourly = await broker.candles(sber, TimeFrame.H1, begin, START)
    assert all(b.ts.minute == 0 for b in hourly) and hourly


async def test_market_order_fills_through_the_order_stream(
    broker: TInvestBroker, server: FakeTInvestServer, sink: EventSink
) -> None:
    server.exchange.fill_market_on_post = False  # NEW in the answer, the fill comes later
    order = Order("MOEX_SHARE_SBER", Side.BUY, OrderType.MARKET, 2, ACCOUNT)
    placed = await broker.post_order(order)
    assert placed.id == order.id and placed.broker_id and placed.status is OrderStatus.ACCEPTED
    await broker.orders.connected.wait()
    server.step()
    await sink.wait(lambda ev: any(isinstance(e, FillEvent) for e in ev))
    fill = sink.of(FillEvent)[0].fill
    assert fill.order_id == order.id and fill.lots == 2 and fill.side is Side.BUY
    await sink.wait(
        lambda ev: any(
            isinstance(e, OrderUpdate) and e.order.status is OrderStatus.FILLED for e in ev
        )
    )
    got = await broker.get_order(ACCOUNT, order.id)
    assert got is not None and got.status is OrderStatus.FILLED and got.filled_lots == 2
    positions = await broker.positions(ACCOUNT)
    assert [(p.instrument, p.lots, p.lot_size) for p in positions] == [("MOEX_SHARE_SBER", 2, 10)]


async def test_limit_order_cancel_and_open_orders(
    broker: TInvestBroker, server: FakeTInvestServer
) -> None:
    sber = await broker.find_instrument("SBER")
    last = server.exchange.last_price(sber)
    price = sber.round_price(last * Decimal("0.9"))
    order = Order("MOEX_SHARE_SBER", Side.BUY, OrderType.LIMIT, 1, ACCOUNT, price=price)
    placed = await broker.post_order(order)
    assert placed.status is OrderStatus.ACCEPTED and placed.price == price
    assert [o.id for o in await broker.open_orders(ACCOUNT)] == [order.id]
    cancelled = await broker.cancel_order(ACCOUNT, order.id)
    assert cancelled.status is OrderStatus.CANCELLED
    assert await broker.open_orders(ACCOUNT) == []
    assert await broker.get_order(ACCOUNT, "00000000-0000-4000-8000-000000000000") is None


async def test_stop_orders(broker: TInvestBroker, server: FakeTInvestServer) -> None:
    sber = await broker.find_instrument("SBER")
    stop = sber.round_price(server.exchange.last_price(sber) * Decimal("0.95"))
    order = Order("MOEX_SHARE_SBER", Side.SELL, OrderType.STOP, 1, ACCOUNT, stop_price=stop)
    placed = await broker.post_order(order)
    assert placed.status is OrderStatus.ACCEPTED and placed.broker_id.startswith("stop-")
    assert [o.id for o in await broker.open_orders(ACCOUNT)] == [order.id]
    cancelled = await broker.cancel_order(ACCOUNT, order.id)
    assert cancelled.status is OrderStatus.CANCELLED and cancelled.stop_price == stop


async def test_rejections_name_the_reason(broker: TInvestBroker, server: FakeTInvestServer) -> None:
    sber = await broker.find_instrument("SBER")
    last = server.exchange.last_price(sber)
    off_step = Order(
        "MOEX_SHARE_SBER", Side.BUY, OrderType.LIMIT, 1, ACCOUNT, price=last + Decimal("0.005")
    )
    with pytest.raises(TInvestOrderRejected) as info:
        await broker.post_order(off_step)
    assert info.value.api_code == "30078" and "0.01" in str(info.value)
    assert "multiple" in str(info.value)
    far = Order("MOEX_SHARE_SBER", Side.BUY, OrderType.LIMIT, 1, ACCOUNT, price=last * 2)
    with pytest.raises(TInvestOrderRejected) as info:
        await broker.post_order(far)
    assert info.value.api_code == "30099"
    huge = Order("MOEX_SHARE_SBER", Side.BUY, OrderType.MARKET, 100_000, ACCOUNT)
    with pytest.raises(TInvestOrderRejected) as info:
        await broker.post_order(huge)
    assert info.value.api_code == "30034" and "money" in str(info.value)
    assert server.exchange.orders == {}


async def test_sandbox_helpers() -> None:
    async with FakeTInvestServer(exchange=FakeExchange(start=START), profile="sandbox") as server:
        broker = make_broker(server.target, local_stops=None)
        try:
            account = await broker.open_sandbox_account("second")
            assert await broker.sandbox_pay_in(account, Decimal("1234.56")) == Decimal("1234.56")
            assert account in {a.id for a in await broker.accounts()}
            assert account in await broker.sandbox_accounts()
            await broker.close_sandbox_account(account)
            assert account not in await broker.sandbox_accounts()
            assert account not in {a.id for a in await broker.accounts()}
        finally:
            await broker.close()


async def test_the_production_profile_has_no_sandbox_service(broker: TInvestBroker) -> None:
    with pytest.raises(TInvestError) as caught:
        await broker.open_sandbox_account("second")
    assert caught.value.status == "UNIMPLEMENTED"


async def test_a_window_the_server_calls_too_long_is_split(
    broker: TInvestBroker, server: FakeTInvestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server whose window is shorter than the client's table answers 30014: the client asks
    again for halves until the server takes them, and the bars are the same."""
    from engine.broker.fake_tinvest import services as fake_services

    sber = await broker.find_instrument("SBER")
    begin, end = START - timedelta(days=3), START - timedelta(days=2)
    expected = await broker.candles(sber, TimeFrame.M1, begin, end)
    monkeypatch.setitem(fake_services.CANDLE_WINDOW, TimeFrame.M1, timedelta(hours=6))
    errors = len(server.errors)
    bars = await broker.candles(sber, TimeFrame.M1, begin, end)
    assert [e[0] for e in server.errors[errors:]] == ["30014", "30014", "30014"]
    assert bars == expected and bars


async def test_weekly_candles_fit_the_contract_window(
    broker: TInvestBroker, server: FakeTInvestServer
) -> None:
    """Weeks: up to 5 years a request (the contract); 6 years is refused with 30014."""
    from engine.broker.tinvest.convert import CANDLE_WINDOW
    from engine.broker.tinvest.errors import RequestRejected

    assert CANDLE_WINDOW[TimeFrame.W] <= timedelta(days=5 * 365)
    sber = await broker.find_instrument("SBER")
    from engine.broker.tinvest.numbers import timestamp
    from engine.broker.tinvest.proto import investapi_pb2 as pb

    request = pb.GetCandlesRequest(
        instrument_id=sber.uid,
        interval=pb.CANDLE_INTERVAL_WEEK,
        to=timestamp(START),
        **{"from": timestamp(START - timedelta(days=6 * 365))},
    )
    with pytest.raises(RequestRejected) as caught:
        await broker.transport.call("MarketDataService", "GetCandles", request)
    assert caught.value.api_code == "30014"
