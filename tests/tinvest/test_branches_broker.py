"""The adapter's less travelled paths against the fake server: targets per mode, an account whose
cash cannot be read, instrument lookups that miss, a trading status that cannot be read, a post
refused before execution (80002, 40003), a resend that is itself lost, a journal without (or
failing at) stop-order links, positions that are not whole lots, an order state for an unknown
instrument, and the commission when the exact lookup is not possible."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from engine.broker.base import (
    UNKNOWN_STATUS,
    BrokerError,
    FillEvent,
    OrderUpdate,
    UnknownInstrument,
)
from engine.broker.fake_tinvest import FakeExchange, FakeTInvestServer
from engine.broker.tinvest.broker import TInvestBroker, default_target
from engine.broker.tinvest.channel import PROD_TARGET, SANDBOX_TARGET
from engine.broker.tinvest.errors import AuthenticationError, RateLimited
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.model import Mode, Order, OrderStatus, OrderType, Side
from tests.tinvest.helpers import START, EventSink, post_journalled

ACCOUNT = "fake-account-1"
SBER = "MOEX_SHARE_SBER"


def market_buy(lots: int = 1) -> Order:
    return Order(SBER, Side.BUY, OrderType.MARKET, lots, ACCOUNT)


def test_default_target_per_mode() -> None:
    assert default_target(Mode.LIVE) == PROD_TARGET
    assert default_target(Mode.SANDBOX) == SANDBOX_TARGET
    with pytest.raises(ValueError, match="simulated market"):
        default_target(Mode.SIM)


async def test_an_account_whose_cash_cannot_be_read_is_listed_with_zero_cash(
    broker: TInvestBroker, server: FakeTInvestServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.faults.unavailable_calls = 10
    server.faults.only_methods = {"GetPositions"}
    with caplog.at_level(logging.WARNING, logger="avin.tinvest"):
        accounts = await broker.accounts()
    assert [(a.id, a.cash) for a in accounts] == [(ACCOUNT, Decimal(0))]
    assert f"cash of account {ACCOUNT}" in caplog.text
    server.faults.reset()
    (again,) = await broker.accounts()
    assert again.cash > 0


async def test_instrument_lookups_by_uid_figi_code_and_misses(
    broker: TInvestBroker, server: FakeTInvestServer
) -> None:
    with pytest.raises(UnknownInstrument, match="empty"):
        await broker.find_instrument("   ")
    sber = await broker.find_instrument("SBER")
    calls = len(server.calls)
    assert await broker.find_instrument(sber.uid) is sber
    assert await broker.find_instrument(sber.figi.lower()) is sber
    assert await broker.find_instrument(SBER) is sber
    assert len(server.calls) == calls  # all three from the cache, no call
    with pytest.raises(UnknownInstrument, match="not found"):
        await broker.find_instrument("MOEX_BOND_NOSUCH")  # not a share: FindInstrument only
    assert "ShareBy" not in server.calls[calls:] and "FindInstrument" in server.calls[calls:]
    # an order state of an instrument with no id, or one the service does not know
    assert await broker._instrument_by_uid("", "") is None
    assert await broker._instrument_by_uid("no-such-uid") is None


async def test_a_trading_status_that_cannot_be_read_leaves_the_subscription_in_place(
    broker: TInvestBroker, server: FakeTInvestServer
) -> None:
    sber = await broker.find_instrument("SBER")
    server.faults.unavailable_calls = 10
    server.faults.only_methods = {"GetTradingStatus"}
    await broker.subscribe_prices(sber)
    assert sber.uid in broker.market.prices
    assert sber.uid not in broker._status  # nothing cached from a failed read
    server.faults.reset()
    assert await broker.trading_status(sber) == "NORMAL_TRADING"
    assert await broker.last_trade_time(sber) is not None


@pytest.mark.parametrize("fault", ["rate_limit", "unauthenticated"])
async def test_a_post_refused_before_execution_is_resolved_as_never_sent(
    broker: TInvestBroker, server: FakeTInvestServer, fault: str
) -> None:
    if fault == "rate_limit":
        server.faults.rate_limit_calls = 10
        server.faults.rate_limit_reset = 0.01
        server.faults.only_methods = {"PostOrder"}
        expected: type[Exception] = RateLimited
    else:
        server.faults.unauthenticated = True
        expected = AuthenticationError
    order = market_buy()
    with pytest.raises(expected):
        await post_journalled(broker, order)
    assert server.exchange.orders == {}
    assert broker.journal.unresolved() == []  # resolved as "never reached the broker"
    assert order.id not in broker._tracked


async def test_a_lost_resend_is_looked_up_again_and_sent_once_more_with_the_same_key(
    broker: TInvestBroker, server: FakeTInvestServer
) -> None:
    server.faults.unavailable_calls = 2  # the post and its first resend never arrive
    server.faults.only_methods = {"PostOrder"}
    order = market_buy()
    placed = await post_journalled(broker, order)
    assert placed.id == order.id and placed.broker_id
    assert server.post_order_keys == [order.id]  # only the third send reached the service
    assert server.calls.count("GetOrderState") >= 2  # looked up before each resend
    (record,) = server.exchange.orders.values()
    assert record.key == order.id
    assert broker.journal.unresolved() == []


class _PlainJournal:
    """A journal without stop-order links (the protocol's optional part)."""

    def __init__(self) -> None:
        self.resolved: dict[str, Order | None] = {}

    def record(self, key: str, order: Order) -> None:
        pass

    def resolve(self, key: str, order: Order | None) -> None:
        self.resolved[key] = order

    def unresolved(self) -> list[tuple[str, Order]]:
        return []


class _BrokenJournal(_PlainJournal):
    def stop_orders(self) -> dict[str, tuple[str, str]]:
        raise OSError("disk gone")

    def stop_order(self, key: str) -> Order | None:
        raise OSError("disk gone")


@pytest.mark.parametrize("journal", [_PlainJournal, _BrokenJournal])
async def test_a_journal_without_or_failing_at_stop_links_does_not_stop_a_cancel(
    broker: TInvestBroker,
    server: FakeTInvestServer,
    journal: type[_PlainJournal],
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker.use_journal(journal())  # type: ignore[arg-type]
    sber = await broker.find_instrument("SBER")
    low = sber.round_price(server.exchange.last_price(sber) * Decimal("0.8"))
    order = Order(SBER, Side.BUY, OrderType.LIMIT, 1, ACCOUNT, price=low)
    await post_journalled(broker, order)
    with caplog.at_level(logging.WARNING, logger="avin.tinvest"):
        cancelled = await broker.cancel_order(ACCOUNT, order.id)
        assert broker._journal_stop_order(order.id) is None
    assert cancelled.status is OrderStatus.CANCELLED
    broken = journal is _BrokenJournal
    assert ("the journal cannot list stop orders" in caplog.text) is broken
    assert ("the journal cannot give stop order" in caplog.text) is broken


async def test_cancelling_an_order_the_broker_never_had_is_a_clear_error(
    broker: TInvestBroker,
) -> None:
    with pytest.raises(BrokerError, match="order no-such-key not found"):
        await broker.cancel_order(ACCOUNT, "no-such-key")


async def test_positions_that_are_not_whole_lots_are_rounded_down_and_logged(
    broker: TInvestBroker, server: FakeTInvestServer, caplog: pytest.LogCaptureFixture
) -> None:
    sber = await broker.find_instrument("SBER")
    acc = server.exchange.account(ACCOUNT)
    acc.positions[sber.uid] = sber.lot * 2 + 1
    with caplog.at_level(logging.WARNING, logger="avin.tinvest"):
        (pos,) = await broker.positions(ACCOUNT)
    assert pos.instrument == SBER and pos.lots == 2
    assert "is not a whole number of lots" in caplog.text


async def test_an_order_state_for_an_unknown_instrument_is_skipped(
    broker: TInvestBroker, sink: EventSink, caplog: pytest.LogCaptureFixture
) -> None:
    state = pb.OrderStateStreamResponse.OrderState(
        order_id="X1", order_request_id="k1", instrument_uid="no-such-uid", account_id=ACCOUNT
    )
    with caplog.at_level(logging.WARNING, logger="avin.tinvest"):
        await broker._on_stream_state(state)
    assert "order state for an unknown instrument no-such-uid" in caplog.text
    assert not sink.of(OrderUpdate) and not sink.of(FillEvent)
    assert "k1" not in broker._seen


async def test_stream_commission_without_a_lookup_is_the_estimate_prorated(
    broker: TInvestBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(broker._lookups, "try_acquire", lambda: False)  # budget spent
    assert await broker._stream_commission("k", ACCOUNT, "X1", 2) is None  # nothing known
    broker._estimates["k"] = (Decimal("10.00"), 3)
    assert await broker._stream_commission("k", ACCOUNT, "X1", 2) == Decimal("6.67")
    assert await broker._stream_commission("k", ACCOUNT, "X1", 5) == Decimal("10.00")


async def test_stream_commission_falls_back_to_the_estimate_when_the_lookup_fails(
    broker: TInvestBroker, caplog: pytest.LogCaptureFixture
) -> None:
    broker._estimates["k"] = (Decimal("3.00"), 3)
    with caplog.at_level(logging.WARNING, logger="avin.tinvest"):
        got = await broker._stream_commission("k", ACCOUNT, "no-such-order", 1)
    assert got == Decimal("1.00")
    assert "commission of order no-such-order" in caplog.text


def test_a_broker_without_a_token_is_refused_with_a_hint() -> None:
    with pytest.raises(BrokerError, match="no T-Invest token") as info:
        TInvestBroker("")
    assert "AVIN_TOKEN" in str(info.value)


async def test_a_tqbr_listing_wins_the_code_whatever_the_order_it_is_seen_in(
    broker: TInvestBroker,
) -> None:
    from dataclasses import replace

    sber = await broker.find_instrument("SBER")
    other = replace(sber, uid="uid-smal", figi="FIGI-SMAL", class_code="SMAL")
    broker._remember(other)
    assert broker._by_code[sber.code] is sber  # a second board does not take the code
    assert broker._by_uid["uid-smal"] is other and broker._by_figi["FIGI-SMAL"] is other
    broker._by_code.pop(sber.code)
    broker._remember(other)
    broker._remember(sber)
    assert broker._by_code[sber.code] is sber  # the main board takes it back


async def test_a_malformed_code_is_taken_as_a_moex_ticker(
    broker: TInvestBroker, server: FakeTInvestServer
) -> None:
    with pytest.raises(UnknownInstrument, match="MOEX_SHARE"):
        await broker.find_instrument("MOEX_SHARE")  # not EXCHANGE_CATEGORY_TICKER
    assert "ShareBy" in server.calls  # looked up as the ticker "MOEX_SHARE"


async def test_market_status_from_a_stream_that_is_down_and_refreshes_that_fail(
    broker: TInvestBroker, server: FakeTInvestServer, caplog: pytest.LogCaptureFixture
) -> None:
    sber = await broker.find_instrument("SBER")
    broker.market.trading_flags[sber.uid] = (
        pb.SECURITY_TRADING_STATUS_BREAK_IN_TRADING,
        True,
        False,
    )
    server.faults.unavailable_calls = 1_000
    server.faults.only_methods = {"GetTradingStatus"}
    with caplog.at_level(logging.INFO, logger="avin.tinvest"):
        status = broker.market_status(sber.code)
        task = broker._status_tasks[sber.uid]
        assert broker.market_status(sber.code) == status  # asked once while the first runs
        assert broker._status_tasks[sber.uid] is task
        await task
    assert status.source == "stream (disconnected)"
    assert status.status == "BREAK_IN_TRADING" and status.limit and not status.market
    assert f"trading status of {sber.code}" in caplog.text
    assert sber.uid not in broker._status


def test_market_status_outside_the_event_loop_does_not_schedule_a_refresh() -> None:
    b = TInvestBroker("t.x", target="127.0.0.1:1")
    inst = FakeExchange(start=START).instrument("SBER")
    b._remember(inst)
    assert b.market_status(inst.code) == UNKNOWN_STATUS  # nothing known, nothing scheduled
    assert b._status_tasks == {}


async def test_a_cancel_that_never_gets_through_returns_the_order_still_open(
    broker: TInvestBroker, server: FakeTInvestServer
) -> None:
    broker.resolve_attempts = 2
    sber = await broker.find_instrument("SBER")
    low = sber.round_price(server.exchange.last_price(sber) * Decimal("0.95"))
    order = await post_journalled(
        broker, Order(SBER, Side.BUY, OrderType.LIMIT, 1, ACCOUNT, price=low)
    )
    server.faults.unavailable_calls = 1_000
    server.faults.only_methods = {"CancelOrder"}
    result = await broker.cancel_order(ACCOUNT, order.id)
    assert result.is_open and result.id == order.id  # the caller sees it is still working
    assert server.faults.unavailable_calls == 1_000 - 2  # tried resolve_attempts times


def test_only_the_newest_lots_beyond_those_booked_are_taken() -> None:
    from datetime import UTC, datetime

    from engine.broker.tinvest.fills import _newest_lots
    from engine.model import Fill

    ts = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)
    fills = [
        Fill("k", SBER, Side.BUY, 2, Decimal("100"), Decimal(0), ts, "t1", ACCOUNT),
        Fill("k", SBER, Side.BUY, 3, Decimal("101"), Decimal(0), ts, "t2", ACCOUNT),
    ]
    taken = _newest_lots(fills, 4)
    assert [(f.fill_id, f.lots) for f in taken] == [("t1", 1), ("t2", 3)]
    assert fills[0].lots == 2  # the caller's fill is not changed
    assert _newest_lots(fills, 0) == []


async def test_a_rejected_short_candle_window_is_not_split(
    broker: TInvestBroker, server: FakeTInvestServer
) -> None:
    from datetime import timedelta

    from engine.broker.tinvest.errors import RequestRejected
    from engine.model import TimeFrame

    sber = await broker.find_instrument("SBER")
    end = START
    with pytest.raises(RequestRejected):
        await broker._candle_chunk(sber, TimeFrame.M1, end, end - timedelta(minutes=1))
    assert server.calls.count("GetCandles") == 1  # one window, refused as it is


async def test_a_first_post_answered_30057_is_looked_up_and_sent_again_with_its_key(
    broker: TInvestBroker, server: FakeTInvestServer
) -> None:
    server.faults.reject_next = ["30057"]  # "the order exists, its report is not ready"
    order = market_buy()
    placed = await post_journalled(broker, order)
    assert placed.id == order.id and placed.broker_id
    assert server.post_order_keys == [order.id, order.id]  # never a new key
    assert len(server.exchange.orders) == 1
    assert broker.journal.unresolved() == []
