"""The adapter's money-losing paths against the fake server, with the fault made to happen:
a resend after "key not found" answered with a definite rejection or with 30057 (the order shows
up later), a stop order refused or never answered, a cancel retried while the service is
unavailable, a stop that triggers while it is being cancelled, and the commission split over the
fills of one report (a property: the parts always sum to the total)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.broker.fake_tinvest import FakeTInvestServer
from engine.broker.tinvest import fills as adapter
from engine.broker.tinvest.broker import OrderOutcomeUnknown, TInvestBroker
from engine.broker.tinvest.errors import TInvestError, TInvestOrderRejected
from engine.broker.tinvest.streams import StreamPolicy
from engine.model import Fill, Order, OrderStatus, OrderType, Side
from tests.tinvest.helpers import Polls, crossing_level, make_broker, post_journalled

ACCOUNT = "fake-account-1"
SBER = "MOEX_SHARE_SBER"


def market_buy(lots: int = 1) -> Order:
    return Order(SBER, Side.BUY, OrderType.MARKET, lots, ACCOUNT)


async def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "timed out waiting"
        await asyncio.sleep(0.01)


def lost_first_post(server: FakeTInvestServer) -> None:
    """The first PostOrder never reaches the service (UNAVAILABLE): the key is unknown there."""
    server.faults.unavailable_calls = 1
    server.faults.only_methods = {"PostOrder"}


async def test_resend_after_key_not_found_then_a_definite_rejection(
    broker: TInvestBroker, server: FakeTInvestServer
) -> None:
    lost_first_post(server)
    server.faults.reject_next = ["30034"]
    order = market_buy()
    with pytest.raises(TInvestOrderRejected) as info:
        await post_journalled(broker, order)
    assert info.value.api_code == "30034"
    # looked up first, then the same key once more (the fault is not recorded: it never arrived)
    assert server.calls.index("GetOrderState") < server.calls.index("PostOrder")
    assert server.post_order_keys == [order.id]
    assert server.exchange.orders == {}
    assert broker.journal.unresolved() == []


async def test_resend_answered_30057_looks_again_and_takes_the_order_that_appeared(
    broker: TInvestBroker, server: FakeTInvestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    lost_first_post(server)
    server.faults.reject_next = ["30057"]
    order = market_buy()
    real = broker._call
    answers: list[str] = []

    async def call(service: str, method: str, request: Any, **kw: Any) -> Any:
        try:
            return await real(service, method, request, **kw)
        except TInvestError as exc:
            answers.append(f"{method}:{exc.api_code or exc.status}")
            if exc.api_code == "30057":  # the report is late: the order shows up after it
                server.exchange.post_order(
                    account_id=ACCOUNT,
                    key=request.order_id,
                    instrument_id=request.instrument_id,
                    side=Side.BUY,
                    kind=OrderType.MARKET,
                    lots=int(request.quantity),
                    price=None,
                )
            raise

    monkeypatch.setattr(broker, "_call", call)
    placed = await post_journalled(broker, order)
    assert "PostOrder:30057" in answers
    (record,) = server.exchange.orders.values()
    assert placed.id == order.id and placed.broker_id == record.exchange_id
    assert server.post_order_keys == [order.id]  # the 30057 resend; never a new key
    assert broker.journal.unresolved() == []


async def test_a_refused_stop_order_is_rejected_and_forgotten(
    broker: TInvestBroker, server: FakeTInvestServer
) -> None:
    sber = await broker.find_instrument("SBER")
    last = server.exchange.last_price(sber)
    off_step = sber.round_price(last * Decimal("0.9")) + Decimal("0.005")
    order = Order(SBER, Side.SELL, OrderType.STOP, 1, ACCOUNT, stop_price=off_step)
    with pytest.raises(TInvestOrderRejected) as info:
        await post_journalled(broker, order)
    assert info.value.api_code == "30078"
    assert "the nearest valid price" in str(info.value)
    assert [o for o in server.exchange.orders.values() if o.stop] == []
    assert broker.journal.unresolved() == [] and order.id not in broker.journal.stop_orders()


async def test_a_stop_order_never_answered_stays_in_flight_under_its_key(
    broker: TInvestBroker, server: FakeTInvestServer
) -> None:
    broker.resolve_attempts = 2
    server.faults.unavailable_calls = 10
    server.faults.only_methods = {"PostStopOrder"}
    sber = await broker.find_instrument("SBER")
    stop = sber.round_price(server.exchange.last_price(sber) * Decimal("0.9"))
    order = Order(SBER, Side.SELL, OrderType.STOP, 1, ACCOUNT, stop_price=stop)
    with pytest.raises(OrderOutcomeUnknown) as info:
        await post_journalled(broker, order)
    assert "unknown after 2 attempts" in str(info.value)
    assert server.faults.unavailable_calls == 8  # two sends, both with the same key
    assert [k for k, _ in broker.journal.unresolved()] == [order.id]


async def test_cancel_is_retried_while_unavailable(server: FakeTInvestServer) -> None:
    # Only the cancel may ask the server here: the order stream is up (and its catch-up poll,
    # which looks at every tracked order, is over) before the order exists, and a stall of a
    # loaded machine's loop does not count as a stream down (that would poll GetOrderState).
    policy = StreamPolicy(ping_interval=0.1, stall_factor=300, backoff_base=0.05, backoff_max=0.3)
    broker = make_broker(server.target, stream_policy=policy)
    polls = Polls(broker)
    await broker.connect()
    try:
        await wait_until(lambda: broker.orders.connected.is_set() and polls.done >= 1)
        sber = await broker.find_instrument("SBER")
        price = sber.round_price(server.exchange.last_price(sber) * Decimal("0.95"))
        order = Order(SBER, Side.BUY, OrderType.LIMIT, 1, ACCOUNT, price=price)
        await post_journalled(broker, order)
        server.faults.unavailable_calls = 1
        server.faults.only_methods = {"CancelOrder"}
        before = len(server.calls)
        cancelled = await broker.cancel_order(ACCOUNT, order.id)
        assert cancelled.status is OrderStatus.CANCELLED
        calls = server.calls[before:]
        # the lost cancel, a look (still open), the cancel again, the final state
        assert calls == ["GetOrderState", "CancelOrder", "GetOrderState"]
        assert server.faults.unavailable_calls == 0
        assert broker.orders.stats.drops == 0  # the stream never went down: nothing polled
    finally:
        await asyncio.wait_for(broker.close(), 10)


async def test_a_cancel_lost_after_the_order_finished_is_not_sent_again(
    broker: TInvestBroker, server: FakeTInvestServer
) -> None:
    sber = await broker.find_instrument("SBER")
    price = sber.round_price(server.exchange.last_price(sber) * Decimal("0.95"))
    order = Order(SBER, Side.BUY, OrderType.LIMIT, 1, ACCOUNT, price=price)
    await post_journalled(broker, order)
    server.exchange.cancel(ACCOUNT, order.id, by_key=True)  # finished at the broker meanwhile
    server.faults.unavailable_calls = 1
    server.faults.only_methods = {"CancelOrder"}
    before = len(server.calls)
    result = await broker.cancel_order(ACCOUNT, order.id)
    assert result.status is OrderStatus.CANCELLED
    assert "CancelOrder" not in server.calls[before:]


async def test_a_stop_that_triggers_while_being_cancelled_cancels_what_it_became(
    server: FakeTInvestServer,
) -> None:
    # the adapter does not hear of the trigger: no order stream, stops polled rarely
    server.faults.drop_order_streams = 1_000_000
    server.faults.fill_delay_ticks = 1_000  # the order the stop becomes rests
    broker = make_broker(server.target, stop_poll_interval=3600.0, poll_interval=3600.0)
    await broker.connect()
    try:
        sber = await broker.find_instrument("SBER")
        level = crossing_level(server, sber, rising=False)
        order = Order(SBER, Side.SELL, OrderType.STOP, 1, ACCOUNT, stop_price=level)
        placed = await post_journalled(broker, order)
        record = server.exchange.orders[placed.broker_id]
        for _ in range(240):
            if record.child_id:
                break
            server.advance(1)
        assert record.child_id, "the stop never triggered"
        assert not broker._stops[order.id].child  # the adapter has not seen it
        cancelled = await broker.cancel_order(ACCOUNT, order.id)
        assert cancelled.status is OrderStatus.CANCELLED and cancelled.id == order.id
        child = server.exchange.orders[record.child_id].order
        assert child.status is OrderStatus.CANCELLED and child.filled_lots == 0
        assert "CancelStopOrder" in server.calls and "CancelOrder" in server.calls
    finally:
        await asyncio.wait_for(broker.close(), 10)


# --- the commission of one report split over its fills -------------------------------------------

_TS = datetime(2025, 3, 3, 7, tzinfo=UTC)


def _fills(parts: list[tuple[int, int]]) -> list[Fill]:
    return [
        Fill("k", SBER, Side.BUY, lots, Decimal(cents) / 100, Decimal(0), _TS, f"f{i}", ACCOUNT)
        for i, (cents, lots) in enumerate(parts)
    ]


@settings(max_examples=300, deadline=None)
@given(
    total_cents=st.integers(min_value=0, max_value=10_000_000),
    parts=st.lists(
        st.tuples(st.integers(min_value=0, max_value=5_000_000), st.integers(1, 1000)),
        min_size=1,
        max_size=12,
    ),
)
def test_commission_parts_always_sum_to_the_total(
    total_cents: int, parts: list[tuple[int, int]]
) -> None:
    total = Decimal(total_cents) / 100
    shares = adapter._split(total, _fills(parts))
    assert len(shares) == len(parts)
    assert sum(shares, Decimal(0)) == total
    assert all(s >= 0 for s in shares)
    assert all(s == s.quantize(Decimal("0.01")) for s in shares)  # whole kopecks
    values = [Decimal(c) * lots for c, lots in parts]
    whole = sum(values, Decimal(0))
    if whole:  # each near its share by value: off by at most the rounding taken before it
        for i, (share, value) in enumerate(zip(shares[:-1], values[:-1], strict=True)):
            assert abs(share - total * value / whole) <= Decimal("0.005") * (i + 1)


def test_commission_split_worked_example() -> None:
    fills = _fills([(10000, 1), (20000, 1)])  # 100 and 200 RUB: a third and two thirds
    assert adapter._split(Decimal("1.00"), fills) == [Decimal("0.33"), Decimal("0.67")]
    assert adapter._split(Decimal("0.01"), _fills([(100, 1)] * 3)) == [
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.01"),
    ]


@pytest.mark.parametrize("code", ["30034", "30052", "40002", "90003"])
async def test_each_stop_order_refusal_code_is_a_rejection(
    broker: TInvestBroker, server: FakeTInvestServer, code: str
) -> None:
    server.faults.reject_stop_next = [code]
    sber = await broker.find_instrument("SBER")
    stop = sber.round_price(server.exchange.last_price(sber) * Decimal("0.9"))
    order = Order(SBER, Side.SELL, OrderType.STOP, 1, ACCOUNT, stop_price=stop)
    with pytest.raises(TInvestOrderRejected) as info:
        await post_journalled(broker, order)
    assert info.value.api_code == code
    assert server.calls.count("PostStopOrder") == 1  # a definite answer: never sent again
    assert broker.journal.unresolved() == []
