"""TInvestBroker against the fake server with each injected fault."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from engine.broker.base import BarEvent, ConnectionEvent, FillEvent, OrderUpdate, PriceEvent
from engine.broker.fake_tinvest import FakeTInvestServer
from engine.broker.tinvest.broker import OrderOutcomeUnknown, TInvestBroker
from engine.broker.tinvest.errors import AuthenticationError, TInvestOrderRejected
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.model import Order, OrderStatus, OrderType, Side, TimeFrame
from tests.tinvest.helpers import START, EventSink, Polls, make_broker, post_journalled

ACCOUNT = "fake-account-1"


def market_buy(lots: int = 1) -> Order:
    return Order("MOEX_SHARE_SBER", Side.BUY, OrderType.MARKET, lots, ACCOUNT)


async def test_ambiguous_70002_after_placement_is_resolved_by_lookup(
    broker: TInvestBroker, server: FakeTInvestServer
) -> None:
    server.faults.internal_after_place = 1
    order = market_buy()
    placed = await post_journalled(broker, order)
    assert server.post_order_keys == [order.id]  # looked up, never sent again
    assert len(server.exchange.orders) == 1
    (record,) = server.exchange.orders.values()
    assert placed.broker_id == record.exchange_id and placed.id == order.id
    assert "GetOrderState" in server.calls


async def test_unavailable_on_connect_resends_the_same_key_only(
    broker: TInvestBroker, server: FakeTInvestServer
) -> None:
    server.faults.unavailable_calls = 1
    server.faults.only_methods = {"PostOrder"}
    order = market_buy()
    placed = await post_journalled(broker, order)
    assert placed.status is OrderStatus.FILLED and placed.filled_lots == order.lots
    assert server.post_order_keys == [order.id]
    assert len(server.exchange.orders) == 1


async def test_posting_the_same_key_twice_gives_one_order(
    broker: TInvestBroker, server: FakeTInvestServer
) -> None:
    order = market_buy()
    first = await post_journalled(broker, order)
    second = await post_journalled(broker, order)
    assert first.broker_id == second.broker_id
    assert len(server.exchange.orders) == 1
    assert set(server.post_order_keys) == {order.id}


async def test_rate_limit_80002_waits_for_the_reset(
    broker: TInvestBroker, server: FakeTInvestServer
) -> None:
    sber = await broker.find_instrument("SBER")
    server.faults.rate_limit_calls = 1
    server.faults.rate_limit_reset = 0.5
    server.faults.only_methods = {"GetCandles", "PostOrder"}
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    bars = await broker.candles(
        sber, TimeFrame.M1, START - timedelta(days=3), START - timedelta(days=2)
    )
    assert loop.time() - t0 >= 0.5
    assert bars and server.calls.count("GetCandles") == 2
    server.faults.rate_limit_calls = 1
    order = market_buy()
    t0 = loop.time()
    await post_journalled(broker, order)
    assert loop.time() - t0 >= 0.5
    assert len(server.exchange.orders) == 1  # the refused request was sent again, same key
    assert set(server.post_order_keys) == {order.id}


async def test_reads_are_retried_on_unavailable(
    broker: TInvestBroker, server: FakeTInvestServer
) -> None:
    server.faults.unavailable_calls = 2
    server.faults.only_methods = {"GetOrders"}
    assert await broker.open_orders(ACCOUNT) == []


@pytest.mark.parametrize(
    ("code", "words"), [("30078", "step"), ("30099", "band"), ("30034", "money")]
)
async def test_injected_rejections(
    broker: TInvestBroker, server: FakeTInvestServer, code: str, words: str
) -> None:
    server.faults.reject_next = [code]
    with pytest.raises(TInvestOrderRejected) as info:
        await post_journalled(broker, market_buy())
    assert info.value.api_code == code and words in str(info.value)
    assert info.value.tracking_id
    assert server.exchange.orders == {}


TOKEN = "t.WRONGwrongWRONGwrongWRONG123456789"


async def test_40003_is_clear_and_never_shows_the_token(
    server: FakeTInvestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bad = make_broker(server.target, token=TOKEN)
    try:
        with pytest.raises(AuthenticationError) as info:
            await bad.connect()
        with pytest.raises(AuthenticationError) as info2:
            await bad.post_order(market_buy())
    finally:
        await bad.close()
    for err in (info.value, info2.value):
        text = f"{err} {err!r} {err.args} {err.hint} {err.server_message}"
        assert TOKEN not in text
        assert err.api_code == "40003" and err.status == "UNAUTHENTICATED"
        assert "AVIN_TOKEN" in str(err) and err.tracking_id
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(bad) and TOKEN not in repr(bad.config)


async def test_token_expiring_mid_session(broker: TInvestBroker, server: FakeTInvestServer) -> None:
    server.faults.unauthenticated = True
    with pytest.raises(AuthenticationError):
        await broker.accounts()
    server.faults.unauthenticated = False
    assert await broker.accounts()


def closed_bars(sink: EventSink) -> list[BarEvent]:
    return [e for e in sink.of(BarEvent) if e.closed]


def assert_consecutive(
    bars: list[BarEvent], server: FakeTInvestServer, start: datetime = START
) -> None:
    stamps = [e.bar.ts for e in bars]
    assert len(stamps) == len(set(stamps)), "a closed bar was emitted twice"
    assert stamps == [start + timedelta(minutes=i) for i in range(len(stamps))], "a bar is missing"
    sber = server.exchange.instrument("SBER")
    expected = server.exchange.market.generator.bar_list(
        sber, start, stamps[-1] + timedelta(minutes=1)
    )
    for got, want in zip(bars, expected, strict=True):
        assert (
            got.bar.open,
            got.bar.high,
            got.bar.low,
            got.bar.close,
            got.bar.volume,
        ) == pytest.approx((want.open, want.high, want.low, want.close, want.volume))


async def drive(server: FakeTInvestServer, minutes: int, pause: float = 0.05) -> None:
    for _ in range(minutes):
        server.advance(1)
        await asyncio.sleep(pause)


async def test_stream_drop_reconnects_resubscribes_and_backfills(
    broker: TInvestBroker, server: FakeTInvestServer, sink: EventSink
) -> None:
    server.faults.drop_streams = 1
    server.faults.drop_after = 10  # in the second minute
    sber = await broker.find_instrument("SBER")
    await broker.subscribe_bars(sber, TimeFrame.M1)
    await broker.market.connected.wait()
    await drive(server, 12, pause=0.04)
    server.step()  # the 13th minute starts: minute 12 closes
    await sink.wait(lambda ev: len([e for e in ev if isinstance(e, BarEvent) and e.closed]) >= 12)
    assert broker.market.stats.drops >= 1 and broker.market.stats.connects >= 2
    connections = [e.connected for e in sink.of(ConnectionEvent)]
    assert False in connections and connections[-1] is True
    assert any("GOAWAY" in r for r in broker.market.stats.reasons)
    assert broker.market.stats.backfilled >= 1
    assert_consecutive(closed_bars(sink), server)
    provisional = [e for e in sink.of(BarEvent) if not e.closed]
    assert provisional and all(e.timeframe is TimeFrame.M1 for e in provisional)


async def test_stalled_pings_reconnect(
    broker: TInvestBroker, server: FakeTInvestServer, sink: EventSink
) -> None:
    server.faults.stall_streams = 1
    sber = await broker.find_instrument("SBER")
    await broker.subscribe_bars(sber, TimeFrame.M1)
    await broker.subscribe_prices(sber)
    await broker.market.connected.wait()
    await drive(server, 3, pause=0.05)
    await sink.wait(
        lambda ev: broker.market.stats.stalls >= 1 and broker.market.stats.connects >= 2
    )
    await drive(server, 4, pause=0.05)
    server.step()
    # Nothing was delivered before the stall (the engine loads history with candles()); from the
    # first bar on, none is missing and none is repeated.
    await sink.wait(lambda ev: len([e for e in ev if isinstance(e, BarEvent) and e.closed]) >= 4)
    bars = closed_bars(sink)
    assert_consecutive(bars, server, start=bars[0].bar.ts)
    assert any("stalled" in r for r in broker.market.stats.reasons)


async def test_order_stream_down_falls_back_to_polling(server: FakeTInvestServer) -> None:
    server.faults.drop_order_streams = 1_000_000
    broker = make_broker(server.target)
    polls = Polls(broker)
    sink = EventSink(broker)
    try:
        await broker.connect()
        order = market_buy(3)
        await post_journalled(broker, order)
        server.step()
        await sink.wait(lambda ev: any(isinstance(e, FillEvent) for e in ev))
        await sink.wait(
            lambda ev: any(
                isinstance(e, OrderUpdate) and e.order.status is OrderStatus.FILLED for e in ev
            )
        )
        assert broker.orders.polls >= 1 and not broker.orders.connected.is_set()
        done = polls.done
        server.faults.drop_order_streams = 0  # the stream comes back; no duplicate fills
        await asyncio.wait_for(broker.orders.connected.wait(), 5)
        await polls.next(after=done)  # its catch-up poll ran (and repeated nothing)
        fills = sink.of(FillEvent)
        assert len(fills) == 1 and fills[0].fill.lots == 3 and fills[0].fill.order_id == order.id
    finally:
        await sink.stop()
        await broker.close()


async def test_delayed_fills_arrive_once(
    broker: TInvestBroker, server: FakeTInvestServer, sink: EventSink
) -> None:
    server.faults.fill_delay_ticks = 4
    polls = Polls(broker)
    await broker.orders.connected.wait()
    order = market_buy(2)
    placed = await post_journalled(broker, order)
    for _ in range(3):
        server.step()
    await polls.run()  # look now: nothing has filled at the server, nothing is reported
    assert server.exchange.orders[placed.broker_id].trades == []
    assert sink.of(FillEvent) == []
    for _ in range(3):
        server.step()
    await sink.wait(lambda ev: any(isinstance(e, FillEvent) for e in ev))
    await polls.run()  # a poll after the stream's fill repeats nothing
    assert len(sink.of(FillEvent)) == 1
    got = await broker.get_order(ACCOUNT, order.id)
    assert got is not None and got.status is OrderStatus.FILLED
    assert got.avg_fill_price is not None and got.avg_fill_price > Decimal(0)


async def test_deadline_on_post_order_is_resolved_by_lookup(
    broker: TInvestBroker, server: FakeTInvestServer
) -> None:
    broker.config.deadline_scale = 0.2  # PostOrder: 0.3 s
    server.faults.slow_after_place = 0.6
    order = market_buy()
    placed = await post_journalled(broker, order)
    assert placed.broker_id
    assert server.post_order_keys == [order.id]
    assert len(server.exchange.orders) == 1


async def test_slow_reads_are_retried_after_the_deadline(
    broker: TInvestBroker, server: FakeTInvestServer
) -> None:
    broker.config.deadline_scale = 1.0  # GetAccounts: 0.3 s
    server.faults.slow_calls = 1
    server.faults.slow_seconds = 0.6
    server.faults.only_methods = {"GetAccounts"}
    accounts = await broker.accounts()
    assert accounts and server.calls.count("GetAccounts") >= 2


async def test_unavailable_stream_open_is_retried(
    broker: TInvestBroker, server: FakeTInvestServer, sink: EventSink
) -> None:
    server.faults.unavailable_calls = 2
    server.faults.only_methods = {"MarketDataStream"}
    sber = await broker.find_instrument("SBER")
    await broker.subscribe_prices(sber)
    await asyncio.wait_for(broker.market.connected.wait(), 5)
    assert broker.market.stats.drops == 2
    server.step()
    await sink.wait(lambda ev: any(isinstance(e, PriceEvent) for e in ev))
    price = sink.of(PriceEvent)[0]
    assert price.instrument == "MOEX_SHARE_SBER" and price.price > 0
    assert broker.market.trading_status[sber.uid] == pb.SECURITY_TRADING_STATUS_NORMAL_TRADING


async def test_unresolvable_order_stays_in_flight_under_its_key(
    broker: TInvestBroker, server: FakeTInvestServer
) -> None:
    broker.resolve_attempts = 2
    server.faults.internal_after_place = 1
    server.faults.only_methods = {"GetOrderState", "GetOrders", "PostOrder"}
    order = market_buy()

    async def break_lookups() -> None:  # PostOrder gets through, every lookup after it fails
        while not server.post_order_keys:
            await asyncio.sleep(0.001)
        server.faults.unavailable_calls = 1_000

    breaker = asyncio.create_task(break_lookups())
    with pytest.raises(OrderOutcomeUnknown) as info:
        await post_journalled(broker, order)
    await breaker
    assert server.post_order_keys == [order.id]  # never sent with another key
    assert len(server.exchange.orders) == 1
    assert "in flight" in str(info.value)
    assert [k for k, _ in broker.journal.unresolved()] == [order.id]
