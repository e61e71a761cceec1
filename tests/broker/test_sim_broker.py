"""SimBroker: the Broker protocol on the simulated market."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import polars as pl
import pytest

from engine.broker import (
    BarEvent,
    Broker,
    BrokerError,
    ConnectionEvent,
    FillEvent,
    OrderRejected,
    OrderUpdate,
    PriceEvent,
    UnknownInstrument,
)
from engine.broker.sim import SimBroker, generate_bars, tick_path
from engine.model import Instrument, Mode, Order, OrderStatus, OrderType, Side, TimeFrame
from engine.model.aggregation import BarAggregator
from tests.broker.simdata import TUESDAY_OPEN, by_ticker

D = Decimal
S = OrderStatus


def _market(side: Side, lots: int = 1, ticker: str = "SBER", **kw: object) -> Order:
    return Order(f"MOEX_SHARE_{ticker}", side, OrderType.MARKET, lots, "sim-1", **kw)  # type: ignore[arg-type]


def _limit(side: Side, price: str, lots: int = 1, ticker: str = "SBER") -> Order:
    return Order(f"MOEX_SHARE_{ticker}", side, OrderType.LIMIT, lots, "sim-1", price=D(price))


def _fee(value: Decimal) -> Decimal:
    return (value * D("0.0005")).quantize(D("0.01"), rounding=ROUND_HALF_UP)


async def test_is_a_broker_with_one_account_and_the_catalog(broker: SimBroker) -> None:
    assert isinstance(broker, Broker)
    assert (broker.name, broker.mode) == ("sim", Mode.SIM)
    (account,) = await broker.accounts()
    assert (account.id, account.mode, account.cash) == ("sim-1", Mode.SIM, D(1_000_000))
    assert {i.ticker for i in await broker.instruments()} == {
        "SBER", "GAZP", "LKOH", "ROSN", "GMKN", "YDEX",
    }  # fmt: skip


@pytest.mark.parametrize(
    "query", ["MOEX_SHARE_SBER", "moex_share_sber", "sber", " SBER ", "sim-sber-0001"]
)
async def test_find_instrument(broker: SimBroker, query: str) -> None:
    assert (await broker.find_instrument(query)).ticker == "SBER"
    sber = await broker.find_instrument("sber")
    assert (await broker.find_instrument(sber.figi.lower())) == sber


async def test_unknown_instrument_lists_the_known_tickers(broker: SimBroker) -> None:
    with pytest.raises(UnknownInstrument) as info:
        await broker.find_instrument("AAPL")
    text = str(info.value)
    assert "AAPL" in text and "SBER" in text and "YDEX" in text


async def test_connect_emits_connection_and_drop_reconnects(broker: SimBroker) -> None:
    await broker.connect()
    await broker.drop_connection()
    events = broker.drain()
    assert [(type(e), getattr(e, "connected", None)) for e in events] == [
        (ConnectionEvent, True),
        (ConnectionEvent, False),
        (ConnectionEvent, True),
    ]
    await broker.close()


async def test_market_order_fills_at_the_next_tick_with_events_in_order(
    broker: SimBroker, sber: Instrument
) -> None:
    broker.market.advance_to(TUESDAY_OPEN + timedelta(seconds=20))  # ticks :00, :10, :20 seen
    path = tick_path(sber, broker.market.minute_bar(sber, TUESDAY_OPEN))
    assert path[3] != path[2]  # the next tick differs from the last one seen
    broker.drain()
    order = _market(Side.BUY, 2)
    posted = await broker.post_order(order)
    assert posted.status is S.ACCEPTED and posted.id == order.id and posted.broker_id
    assert order.status is S.NEW  # the caller's object is not touched
    broker.step()
    events = broker.drain()
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["OrderUpdate", "OrderUpdate", "FillEvent", "OrderUpdate"]
    statuses = [e.order.status for e in events if isinstance(e, OrderUpdate)]
    assert statuses == [S.SUBMITTED, S.ACCEPTED, S.FILLED]
    fill = next(e.fill for e in events if isinstance(e, FillEvent))
    assert fill.price == path[3] and fill.lots == 2
    assert fill.ts == TUESDAY_OPEN + timedelta(seconds=30)
    assert fill.commission == _fee(path[3] * 20)
    final = await broker.get_order("sim-1", order.id)
    assert final is not None and final.status is S.FILLED and final.avg_fill_price == path[3]
    assert [s for _, s in final.history] == [S.NEW, S.SUBMITTED, S.ACCEPTED, S.FILLED]


async def test_round_trip_cash_and_position_match_a_hand_computation(
    broker: SimBroker, sber: Instrument
) -> None:
    # buy 3 lots before the open: fills at the first tick (the 07:00 open)
    await broker.post_order(_market(Side.BUY, 3))
    broker.advance(5)
    # sell 3 lots at 07:05:00 between slots: fills at the 07:05 open tick
    await broker.post_order(_market(Side.SELL, 3))
    broker.step()
    buy_price = tick_path(sber, broker.market.minute_bar(sber, TUESDAY_OPEN))[0]
    sell_minute = TUESDAY_OPEN + timedelta(minutes=5)
    sell_price = tick_path(sber, broker.market.minute_bar(sber, sell_minute))[0]
    buy_value, sell_value = buy_price * 30, sell_price * 30
    expected_cash = D(1_000_000) - buy_value - _fee(buy_value) + sell_value - _fee(sell_value)
    assert broker.cash == expected_cash
    (account,) = await broker.accounts()
    assert account.cash == expected_cash
    (position,) = await broker.positions("sim-1")
    assert position.instrument == "MOEX_SHARE_SBER" and position.lot_size == 10
    assert position.lots == 0
    assert position.realized == sell_value - buy_value
    assert position.commission == _fee(buy_value) + _fee(sell_value)
    (trade,) = position.trades
    assert trade.closed and trade.result == expected_cash - D(1_000_000)
    assert await broker.open_orders("sim-1") == []


async def test_position_last_price_follows_the_ticks(broker: SimBroker, sber: Instrument) -> None:
    await broker.post_order(_market(Side.BUY, 1))
    broker.advance(2)
    (position,) = await broker.positions("sim-1")
    bar = broker.market.minute_bar(sber, TUESDAY_OPEN + timedelta(minutes=1))
    assert position.lots == 1 and position.last_price == D(repr(bar.close))
    assert position.unrealized() == (position.last_price - position.avg_price) * 10


async def test_same_key_twice_is_one_order_and_one_fill(broker: SimBroker) -> None:
    order = _market(Side.BUY, 1)
    first = await broker.post_order(order)
    again = await broker.post_order(order)
    assert again.id == first.id and again.broker_id == first.broker_id
    assert len(await broker.open_orders("sim-1")) == 1
    broker.advance(1)
    await broker.post_order(order)  # after the fill: still the same, filled, order
    fills = [e for e in broker.drain() if isinstance(e, FillEvent)]
    assert len(fills) == 1
    (position,) = await broker.positions("sim-1")
    assert position.lots == 1


async def _rejected(broker: SimBroker, order: Order) -> str:
    broker.drain()
    with pytest.raises(OrderRejected) as info:
        await broker.post_order(order)
    events = broker.drain()
    assert isinstance(events[-1], OrderUpdate) and events[-1].order.status is S.REJECTED
    assert events[-1].order.reason == info.value.reason
    stored = await broker.get_order(order.account, order.id)
    assert stored is not None and stored.status is S.REJECTED
    return info.value.reason


async def test_rejections_have_reasons(broker: SimBroker) -> None:
    reason = await _rejected(broker, _limit(Side.BUY, "300.005"))
    assert "price step 0.01" in reason
    reason = await _rejected(broker, _limit(Side.BUY, "7000.2", ticker="LKOH"))
    assert "price step 0.5" in reason
    assert "positive" in await _rejected(broker, _limit(Side.BUY, "-5.00"))
    zero = _market(Side.BUY)
    zero.lots = 0
    assert "lots" in await _rejected(broker, zero)
    assert "unknown instrument" in await _rejected(broker, _market(Side.BUY, ticker="AAPL"))
    foreign = Order("MOEX_SHARE_SBER", Side.BUY, OrderType.MARKET, 1, "other")
    assert "unknown account" in await _rejected(broker, foreign)
    reason = await _rejected(broker, _market(Side.BUY, 10_000))  # ~3 million RUB of SBER
    assert "not enough cash" in reason
    assert await broker.open_orders("sim-1") == []
    assert broker.cash == D(1_000_000)
    # posting a rejected key again returns the rejected order: no second order, no new events
    bad = _limit(Side.BUY, "300.005")
    await _rejected(broker, bad)
    again = await broker.post_order(bad)
    assert again.status is S.REJECTED and "0.01" in again.reason
    assert broker.drain() == []


async def test_cash_held_by_open_buy_orders_is_reserved(broker: SimBroker) -> None:
    await broker.post_order(_limit(Side.BUY, "100.00", lots=600))  # 600,000 RUB + fee
    assert "not enough cash" in await _rejected(broker, _limit(Side.BUY, "100.00", lots=400))
    await broker.post_order(_limit(Side.BUY, "100.00", lots=390))


async def test_market_closed_rejects_market_orders_and_rests_limits(sber: Instrument) -> None:
    saturday = datetime(2026, 11, 21, 12, tzinfo=UTC)
    broker = SimBroker(start=saturday, realtime=False)
    assert await _rejected(broker, _market(Side.BUY)) == "market closed"
    far = await broker.post_order(_limit(Side.SELL, "1.00"))  # will fill at the Monday open
    assert far.status is S.ACCEPTED
    broker.step()
    final = await broker.get_order("sim-1", far.id)
    monday_open = broker.market.minute_bar(sber, datetime(2026, 11, 23, 7, tzinfo=UTC)).open
    assert final is not None and final.status is S.FILLED
    assert final.avg_fill_price == D(repr(monday_open))  # gapped through: at the open


async def test_limit_order_fills_at_its_price_when_crossed(
    broker: SimBroker, sber: Instrument
) -> None:
    broker.step()  # the 07:00 open tick
    open_price = broker.matching.last_price(sber.code)
    assert open_price is not None
    target = open_price - D("0.50")
    order = await broker.post_order(_limit(Side.BUY, str(target), lots=1))
    for _ in range(200):
        broker.step()
        got = await broker.get_order("sim-1", order.id)
        assert got is not None
        if got.status is S.FILLED:
            break
    else:
        pytest.fail("the price never came down 0.50 in 200 slots")
    assert got.avg_fill_price == target


async def test_cancel(broker: SimBroker) -> None:
    order = await broker.post_order(_limit(Side.BUY, "1.00"))
    broker.drain()
    cancelled = await broker.cancel_order("sim-1", order.id)
    assert cancelled.status is S.CANCELLED
    (update,) = broker.drain()
    assert isinstance(update, OrderUpdate) and update.order.status is S.CANCELLED
    assert await broker.open_orders("sim-1") == []
    assert broker.available_cash == D(1_000_000)
    broker.advance(1)
    got = await broker.get_order("sim-1", order.id)
    assert got is not None and got.status is S.CANCELLED and got.filled_lots == 0
    assert (await broker.cancel_order("sim-1", order.id)).status is S.CANCELLED  # no-op
    with pytest.raises(BrokerError):
        await broker.cancel_order("sim-1", "no-such-order")
    assert await broker.get_order("sim-1", "no-such-order") is None


async def test_commission_is_configurable(sber: Instrument) -> None:
    broker = SimBroker(start=TUESDAY_OPEN, realtime=False, commission=D("0.001"))
    await broker.post_order(_market(Side.BUY, 1))
    broker.step()
    (fill,) = [e.fill for e in broker.drain() if isinstance(e, FillEvent)]
    assert fill.commission == (fill.price * 10 * D("0.001")).quantize(D("0.01"), ROUND_HALF_UP)


async def test_candles_are_complete_bars_only(broker: SimBroker, sber: Instrument) -> None:
    broker.market.advance_to(TUESDAY_OPEN + timedelta(minutes=65, seconds=30))  # now 08:05:30
    begin = TUESDAY_OPEN - timedelta(days=1)
    end = TUESDAY_OPEN + timedelta(days=1)
    minutes = await broker.candles(sber, TimeFrame.M1, begin, end)
    assert minutes[-1].ts == datetime(2026, 11, 24, 8, 4, tzinfo=UTC)
    assert len(minutes) == 520 + 65
    fives = await broker.candles(sber, TimeFrame.M5, begin, end)
    assert fives[-1].ts == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    hours = await broker.candles(sber, TimeFrame.H1, begin, end)
    assert hours[-1].ts == datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
    # the hourly bars agree with an independent aggregation of the generator's output
    frame = generate_bars(sber, begin, datetime(2026, 11, 24, 8, tzinfo=UTC), seed=7)
    expected = (
        frame.group_by_dynamic("ts", every="1h")
        .agg(
            pl.col("open").first(),
            pl.col("high").max(),
            pl.col("low").min(),
            pl.col("close").last(),
            pl.col("volume").sum(),
        )
        .rows()
    )
    got = [(b.ts, b.open, b.high, b.low, b.close, b.volume) for b in hours]
    assert got == [tuple(r) for r in expected]
    days = await broker.candles(sber, TimeFrame.D, begin - timedelta(days=7), end)
    assert days[-1].ts == datetime(2026, 11, 23, tzinfo=UTC)  # today's is still in progress
    assert all(d.ts.weekday() < 5 for d in days)


async def test_subscriptions_stream_only_what_was_asked(
    broker: SimBroker, sber: Instrument
) -> None:
    gazp = by_ticker("GAZP")
    await broker.subscribe_prices(sber)
    await broker.subscribe_bars(sber, TimeFrame.M1)
    await broker.subscribe_bars(gazp, TimeFrame.M5)
    broker.advance(5)
    events = broker.drain()
    prices = [e for e in events if isinstance(e, PriceEvent)]
    assert len(prices) == 5 * 6 and {e.instrument for e in prices} == {sber.code}
    sber_bars = [e for e in events if isinstance(e, BarEvent) and e.instrument == sber.code]
    assert {e.timeframe for e in sber_bars} == {TimeFrame.M1}
    closed = [e.bar for e in sber_bars if e.closed]
    assert closed == broker.history(sber, TimeFrame.M1, TUESDAY_OPEN, broker.market.now)
    gazp_bars = [e for e in events if isinstance(e, BarEvent) and e.instrument == gazp.code]
    assert {e.timeframe for e in gazp_bars} == {TimeFrame.M5}
    gazp_closed = [e.bar for e in gazp_bars if e.closed]
    assert gazp_closed == broker.history(gazp, TimeFrame.M5, TUESDAY_OPEN, broker.market.now)
    assert len(gazp_closed) == 1 and gazp_bars[-1].closed
    provisional = [e.bar for e in gazp_bars if not e.closed]
    assert provisional[0].ts == TUESDAY_OPEN and provisional[-1].ts == TUESDAY_OPEN
    await broker.unsubscribe(sber)
    await broker.unsubscribe(gazp)
    broker.advance(1)
    assert broker.drain() == []


async def test_late_subscription_starts_from_the_frame_so_far(broker: SimBroker) -> None:
    gazp = by_ticker("GAZP")
    broker.advance(3)  # 07:00..07:02 closed
    await broker.subscribe_bars(gazp, TimeFrame.M5)
    broker.advance(2)
    (closed,) = [e.bar for e in broker.drain() if isinstance(e, BarEvent) and e.closed]
    assert closed == broker.history(gazp, TimeFrame.M5, TUESDAY_OPEN, broker.market.now)[0]


async def test_realtime_events_arrive_within_a_second() -> None:
    broker = SimBroker(start=TUESDAY_OPEN, speed=2400.0)  # 40 simulated minutes per second
    sber = await broker.find_instrument("SBER")
    await broker.subscribe_prices(sber)
    await broker.connect()
    got: list[object] = []

    async def consume() -> None:
        async for event in broker.events():
            got.append(event)
            if sum(isinstance(e, PriceEvent) for e in got) >= 12:
                return

    await asyncio.wait_for(consume(), timeout=1.0)
    await broker.close()
    assert isinstance(got[0], ConnectionEvent) and got[0].connected
    assert broker.market.now > TUESDAY_OPEN


@pytest.mark.parametrize("timeframe", [tf for tf in TimeFrame if tf is not TimeFrame.M1])
async def test_candles_agree_with_the_live_bar_aggregator(timeframe: TimeFrame) -> None:
    now = datetime(2026, 11, 24, 9, 17, tzinfo=UTC)  # mid-session: the current frames are open
    broker = SimBroker(seed=7, start=now, realtime=False)
    sber = by_ticker("SBER")
    long = timeframe in (TimeFrame.W, TimeFrame.MONTH)
    begin = datetime(2026, 10, 1, tzinfo=UTC) if long else datetime(2026, 11, 18, tzinfo=UTC)
    end = datetime(2026, 12, 1, tzinfo=UTC)
    aggregator = BarAggregator(timeframe)
    expected = []
    for bar in broker.history(sber, TimeFrame.M1, timeframe.floor(begin), end):
        closed = aggregator.update(bar).closed
        if closed is not None and closed.ts >= begin:
            expected.append(closed)
    assert expected  # the in-progress frame (never closed here) is left out
    got = await broker.candles(sber, timeframe, begin, end)
    assert got == expected


async def test_a_year_of_daily_candles(broker: SimBroker, sber: Instrument) -> None:
    # its speed is measured in bench/sim_candles.py, not asserted here
    days = await broker.candles(sber, TimeFrame.D, TUESDAY_OPEN - timedelta(days=365), TUESDAY_OPEN)
    assert 255 <= len(days) <= 262
    assert all(a.ts < b.ts for a, b in itertools.pairwise(days))


async def test_a_market_failure_is_reported_as_a_disconnect(broker: SimBroker) -> None:
    broker.realtime = True

    def boom(ticks: object) -> None:
        raise RuntimeError("generator broke")

    broker.market.add_listener(boom)
    await broker.connect()
    for _ in range(50):
        await asyncio.sleep(0.01)
        if not broker.connected:
            break
    events = broker.drain()
    assert isinstance(events[-1], ConnectionEvent) and not events[-1].connected
    assert "generator broke" in events[-1].reason
    await broker.close()
