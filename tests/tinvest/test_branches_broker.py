"""The adapter's less travelled paths against the fake server: targets per mode, an account whose
cash cannot be read, instrument lookups that miss, a trading status that cannot be read, a post
refused before execution (80002, 40003), a resend that is itself lost, a journal without (or
failing at) stop-order links, positions that are not whole lots, an order state for an unknown
instrument, and the commission when the exact lookup is not possible."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from engine.broker.base import BrokerError, FillEvent, OrderUpdate, UnknownInstrument
from engine.broker.fake_tinvest import FakeTInvestServer
from engine.broker.tinvest.broker import TInvestBroker, default_target
from engine.broker.tinvest.channel import PROD_TARGET, SANDBOX_TARGET
from engine.broker.tinvest.errors import AuthenticationError, RateLimited
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.model import Mode, Order, OrderStatus, OrderType, Side
from tests.tinvest.helpers import EventSink

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
        await broker.post_order(order)
    assert server.exchange.orders == {}
    assert broker.journal.unresolved() == []  # resolved as "never reached the broker"
    assert order.id not in broker._tracked


async def test_a_lost_resend_is_looked_up_again_and_sent_once_more_with_the_same_key(
    broker: TInvestBroker, server: FakeTInvestServer
) -> None:
    server.faults.unavailable_calls = 2  # the post and its first resend never arrive
    server.faults.only_methods = {"PostOrder"}
    order = market_buy()
    placed = await broker.post_order(order)
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
    await broker.post_order(order)
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
